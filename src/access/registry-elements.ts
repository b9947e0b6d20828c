import type { Identifier, Patient } from '@medplum/fhirtypes';
import { FOREIGN_IDENTIFIER_SYSTEMS, IIN_SYSTEM, PASSPORT_SYSTEM_PREFIX } from '../fhir/identifier-systems.js';
import { isJsonObject } from '../fhir/json.js';
import { forbidden } from '../fhir/outcome.js';

/**
 * The elements of a Patient the national registry owns (identity, life events, links to other
 * records, primary-care attachment): organizations and citizens may not change them, only add
 * what is theirs (contact details, an organization's local identifier).
 * https://hl7.org/fhir/R4/patient.html
 */
const REGISTRY_ELEMENTS = [
  'active',
  'name',
  'gender',
  'birthDate',
  'deceasedBoolean',
  'deceasedDateTime',
  'multipleBirthBoolean',
  'multipleBirthInteger',
  'link',
  'generalPractitioner',
  'managingOrganization',
] as const;

const NATIONAL_SYSTEMS = new Set([IIN_SYSTEM, ...FOREIGN_IDENTIFIER_SYSTEMS.map((s) => s.system)]);

/** An identifier the registry issues or records: the IIN, another state's personal number, a passport. */
function isRegistryIdentifier(identifier: Identifier): boolean {
  const system = identifier.system ?? '';
  return NATIONAL_SYSTEMS.has(system) || system.startsWith(PASSPORT_SYSTEM_PREFIX);
}

/** JSON with object keys sorted, so two values compare equal whatever order a client wrote them in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isJsonObject(value)) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Throws 403 naming the element when an update by anyone but the registry drops or changes a
 * registry-owned element: every earlier identifier must stay as it was, but for the writing
 * `organization`'s own (not national, and it the assigner: its record number, retired as `old`
 * when its system merges two records), and a new one may not be of a national system.
 */
export function assertRegistryElementsKept(previous: Patient, next: Patient, organization?: string): void {
  for (const element of REGISTRY_ELEMENTS) {
    if (canonical(previous[element]) !== canonical(next[element])) {
      throw forbidden(`Patient.${element} is kept by the national registry; an organization may not change it`, `Patient.${element}`);
    }
  }
  const kept = new Set((next.identifier ?? []).map(canonical));
  (previous.identifier ?? []).forEach((identifier, i) => {
    const own = organization !== undefined && identifier.assigner?.reference === organization && !isRegistryIdentifier(identifier);
    if (!kept.has(canonical(identifier)) && !own) throw forbidden(`Patient.identifier[${i}] is kept by the national registry; it may not be removed or changed`, `Patient.identifier[${i}]`);
  });
  const before = new Set((previous.identifier ?? []).map(canonical));
  (next.identifier ?? []).forEach((identifier, i) => {
    if (!before.has(canonical(identifier)) && isRegistryIdentifier(identifier)) {
      throw forbidden(`Patient.identifier[${i}]: national identifiers are recorded by the registry`, `Patient.identifier[${i}]`);
    }
  });
}

/** The Organization references of a Patient's primary-care attachment, sorted. */
export function attachedOrganizations(patient: Patient): string[] {
  return [...(patient.generalPractitioner ?? []), ...(patient.managingOrganization ? [patient.managingOrganization] : [])]
    .map((r) => r.reference ?? '')
    .filter((r) => r.startsWith('Organization/'))
    .sort();
}
