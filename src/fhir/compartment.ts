import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { readSpecFile } from './definitions.js';
import { referenceTargets } from './search-parameters.js';

/**
 * The patient-compartment key of a resource: the id of the Patient whose compartment it belongs
 * to (https://hl7.org/fhir/R4/compartmentdefinition-patient.html), or undefined. Where several
 * compartment parameters point at patients, the first that does wins, in the definition's order.
 */
export function patientCompartmentKey(resource: Resource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id;
  const params = compartmentParams().get(resource.resourceType);
  if (!params) return firstPatientReference(resource);
  for (const code of params) {
    for (const target of referenceTargets(resource, code)) {
      if (target.type === 'Patient' && target.id) return target.id;
    }
  }
  return undefined;
}

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * A type outside the compartment definition that still names a patient (Device.patient,
 * Contract.subject, GuidanceResponse.subject, MessageHeader.focus…) holds that patient's data:
 * its first Patient reference makes it theirs, so the access rules, $everything and the
 * distribution key treat it like the compartment's own. Contained resources are not looked into.
 */
function firstPatientReference(value: unknown, top = true): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = firstPatientReference(item, false);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'reference' && typeof child === 'string') {
      const match = PATIENT_REFERENCE.exec(child);
      if (match) return match[1];
    } else if (!(top && key === 'contained') && typeof child === 'object') {
      const found = firstPatientReference(child, false);
      if (found) return found;
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
    const definition = readSpecFile<CompartmentDefinition>('fhir/r4/compartmentdefinition-patient.json');
    byType = new Map((definition.resource ?? []).flatMap(({ code, param }) => (param?.length ? [[code, param]] : [])));
  }
  return byType;
}
