import { isJsonObject } from '../fhir/json.js';
import { parseReference } from '../fhir/search-parameters.js';

/**
 * Moving a resource from one Patient to another during a merge, and back during an unmerge.
 * A reference counts as pointing at a Patient when the search index would resolve it to that
 * Patient — relative, absolute or versioned (https://hl7.org/fhir/R4/references.html#literal) —
 * so that what search and the compartment see is exactly what gets moved.
 */

function pointsAt(reference: unknown, patientId: string): boolean {
  if (typeof reference !== 'string') return false;
  const target = parseReference(reference);
  return target.type === 'Patient' && target.id === patientId;
}

/**
 * Rewrites in place every `reference` to Patient/`from` inside `node` (contained resources
 * included) as `Patient/{to}`, and returns how many it rewrote. A version of the old Patient
 * means nothing for the new one, so the new reference is unversioned.
 */
export function repointReferences(node: unknown, from: string, to: string): number {
  if (Array.isArray(node)) return node.reduce((n: number, item) => n + repointReferences(item, from, to), 0);
  if (!isJsonObject(node)) return 0;
  let count = 0;
  if (pointsAt(node.reference, from)) {
    node.reference = `Patient/${to}`;
    count++;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'reference') count += repointReferences(value, from, to);
  }
  return count;
}

/**
 * The inverse of {@link repointReferences} for one resource: where `current` points at
 * Patient/`to` and `prior` (the version before the merge) pointed at Patient/`from` in the same
 * place, the prior reference is put back. References added after the merge, or whose place
 * has since changed, stay with `to`: an unmerge never guesses.
 */
export function restoreReferences(current: unknown, prior: unknown, from: string, to: string): number {
  if (Array.isArray(current)) {
    if (!Array.isArray(prior)) return 0;
    return current.reduce((n: number, item, i) => n + restoreReferences(item, prior[i], from, to), 0);
  }
  // An array before in the place of an object now restores nothing: it has no `reference`, nor the object's keys.
  if (!isJsonObject(current) || !isJsonObject(prior)) return 0;
  const now = current;
  const before = prior;
  let count = 0;
  if (pointsAt(now.reference, to) && pointsAt(before.reference, from)) {
    now.reference = before.reference;
    count++;
  }
  for (const [key, value] of Object.entries(now)) {
    if (key !== 'reference') count += restoreReferences(value, before[key], from, to);
  }
  return count;
}
