import type { Resource } from '@medplum/fhirtypes';

/**
 * The resource a stored version holds. The store wrote that text itself from a resource that
 * passed validation (src/fhir/validate.ts), so it is parsed, not validated again; the type is
 * the caller's knowledge of what it read (`repo.read('Patient', id)` holds a Patient).
 */
export function parseStored<T extends Resource = Resource>(stored: { readonly json: string }): T {
  return JSON.parse(stored.json) as T;
}
