import { getElementDefinition } from '@medplum/core';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import { readSpecFile } from './definitions.js';
import { referenceTargets, searchParameter, searchParametersVersion } from './search-parameters.js';

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

/**
 * The search parameters of `resourceType` whose Patient is the resource's compartment key, so a
 * search by them finds only rows of the patients it names: the first compartment parameter, and
 * any other naming the same element (`patient` as `subject.where(resolve() is Patient)`), when
 * that element holds one reference at most (a Group's second member is not its key). For
 * Patient, `_id`.
 */
export function compartmentKeyParameters(resourceType: string): ReadonlySet<string> {
  // A SearchParameter the server takes may redefine a code: what was derived before is dropped.
  if (keyParametersOf !== searchParametersVersion()) {
    keyParameters.clear();
    keyParametersOf = searchParametersVersion();
  }
  const known = keyParameters.get(resourceType);
  if (known) return known;
  const codes = new Set(resourceType === 'Patient' ? ['_id'] : []);
  const first = compartmentParams().get(resourceType)?.[0];
  const element = first === undefined ? undefined : singleElement(resourceType, first);
  if (first !== undefined && element !== undefined) {
    for (const code of [first, 'patient', 'subject']) if (singleElement(resourceType, code) === element) codes.add(code);
  }
  keyParameters.set(resourceType, codes);
  return codes;
}

const keyParameters = new Map<string, ReadonlySet<string>>();
let keyParametersOf = -1;

/** The element `code` searches on `resourceType` (`Observation.subject`), when it is one element of at most one value. */
function singleElement(resourceType: string, code: string): string | undefined {
  const expression = searchParameter(resourceType, code)?.expression;
  const own = expression
    ?.split('|')
    .map((part) => part.trim().replace(/\.where\(resolve\(\) is Patient\)$/, ''))
    .filter((part) => part.startsWith(`${resourceType}.`));
  if (own?.length !== 1) return undefined;
  const path = own[0]!.slice(resourceType.length + 1);
  if (!/^[a-zA-Z]+$/.test(path)) return undefined;
  return getElementDefinition(resourceType, path)?.max === 1 ? own[0] : undefined;
}

let byType: Map<string, readonly string[]> | undefined;

function compartmentParams(): Map<string, readonly string[]> {
  if (!byType) {
    const definition = readSpecFile<CompartmentDefinition>('fhir/r4/compartmentdefinition-patient.json');
    byType = new Map((definition.resource ?? []).flatMap(({ code, param }) => (param?.length ? [[code, param]] : [])));
  }
  return byType;
}
