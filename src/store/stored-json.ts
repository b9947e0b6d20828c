import type { Resource } from '@medplum/fhirtypes';
import { parseJsonText } from '../fhir/json.js';

/**
 * The resource a stored version holds. The store wrote that text itself from a resource that
 * passed validation (src/fhir/validate.ts), so it is parsed, not validated again; the type is
 * the caller's knowledge of what it read (`repo.read('Patient', id)` holds a Patient). Decimals
 * keep their text (`1.50`), so a resource read, changed and written again keeps them as sent.
 */
export function parseStored<T extends Resource = Resource>(stored: { readonly json: string }): T {
  return parseJsonText(stored.json) as T;
}
