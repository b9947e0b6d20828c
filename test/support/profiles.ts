import type { ElementDefinition, StructureDefinition } from '@medplum/fhirtypes';

/** A constraint profile on Patient, as a national registry would hold it: `url` and `name` given, `snapshot` or `differential` elements. */
export function patientProfile(url: string, name: string, elements: { snapshot?: ElementDefinition[]; differential?: ElementDefinition[] }): StructureDefinition {
  return {
    resourceType: 'StructureDefinition',
    url,
    name,
    status: 'active',
    kind: 'resource',
    abstract: false,
    type: 'Patient',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
    derivation: 'constraint',
    ...(elements.snapshot ? { snapshot: { element: elements.snapshot } } : {}),
    ...(elements.differential ? { differential: { element: elements.differential } } : {}),
  };
}
