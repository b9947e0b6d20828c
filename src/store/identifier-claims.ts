import type { Resource } from '@medplum/fhirtypes';
import { UNIQUE_IDENTIFIER_SYSTEMS } from '../fhir/identifier-systems.js';
import { conflict, type FhirError } from '../fhir/outcome.js';
import { lockKeys } from './advisory-locks.js';
import type { SqlClient } from './driver.js';
import { PREPARED_LIST_MAX, SqlParams } from './sql-params.js';

/** An identifier value an active resource holds in a system that allows one holder. */
export interface IdentifierClaim {
  resourceType: string;
  id: string;
  system: string;
  value: string;
  /** Position in `identifier`, for the error's element path. */
  position: number;
}

/** The unique identifiers a resource claims; an inactive resource (`active: false`) claims none. */
export function identifierClaims(resource: Resource, id: string): IdentifierClaim[] {
  const systems = UNIQUE_IDENTIFIER_SYSTEMS[resource.resourceType];
  const active = 'active' in resource ? resource.active : undefined;
  const identifier = 'identifier' in resource ? resource.identifier : undefined;
  if (!systems || active === false || !Array.isArray(identifier)) return [];
  const claims: IdentifierClaim[] = [];
  identifier.forEach((item, position) => {
    if (item?.system && item.value && systems.includes(item.system)) {
      claims.push({ resourceType: resource.resourceType, id, system: item.system, value: item.value, position });
    }
  });
  return claims;
}

/**
 * Locks the claimed values until the transaction ends, then returns each claim another active
 * resource already holds (stored, or earlier in the same batch). The lock makes two concurrent
 * registrations of one IIN wait for each other, so the second sees the first and is refused.
 */
export async function conflictingClaims<T extends IdentifierClaim>(client: SqlClient, claims: readonly T[]): Promise<(T & { holder: string })[]> {
  if (claims.length === 0) return [];
  const key = (c: IdentifierClaim) => `${c.resourceType}|${c.system}|${c.value}`;
  // A few claims (a single write's): one parameter per value, prepared per count (see valueList),
  // since over arrays the generic plan looked dearer than planning anew, which cost more than
  // running the look-up. Many (a batch's): arrays, planned each time.
  const few = claims.length <= PREPARED_LIST_MAX;
  const params = new SqlParams();
  const claimed = few
    ? claims.map((c) => `(${params.add(c.resourceType)}, ${params.add(c.system)}, ${params.add(c.value)})`).join(', ')
    : `SELECT * FROM unnest(${params.add(claims.map((c) => c.resourceType))}::text[], ${params.add(claims.map((c) => c.system))}::text[], ${params.add(claims.map((c) => c.value))}::text[])`;
  const sql = `SELECT t.resource_type, t.system, t.value, t.id FROM search_token t
     WHERE t.code = 'identifier' AND (t.resource_type, t.system, t.value) IN (${claimed})
       AND NOT EXISTS (SELECT 1 FROM search_token a WHERE a.resource_type = t.resource_type AND a.id = t.id AND a.code = 'active' AND a.value = 'false')`;
  // Sent together: the server takes the locks before it runs the look-up, whose snapshot then
  // holds whatever a registration that held them committed.
  const [, rows] = await Promise.all([
    lockKeys(client, claims.map(key)),
    client.query<{ resource_type: string; system: string; value: string; id: string }>(sql, params.values, few ? { prepare: `identifier-claims-${claims.length}` } : undefined),
  ]);
  const holders = new Map<string, Set<string>>();
  const holdersOf = (k: string) => {
    let ids = holders.get(k);
    if (!ids) holders.set(k, (ids = new Set()));
    return ids;
  };
  for (const row of rows) holdersOf(`${row.resource_type}|${row.system}|${row.value}`).add(row.id);
  const conflicts: (T & { holder: string })[] = [];
  for (const claim of claims) {
    const held = holdersOf(key(claim));
    const other = [...held].find((id) => id !== claim.id);
    if (other) conflicts.push({ ...claim, holder: other });
    held.add(claim.id);
  }
  return conflicts;
}

/**
 * 409 Conflict naming the identifier: the value already belongs to another active resource.
 * The holder is named only to callers who may see every record (`nameHolder`): to others its id
 * would disclose a record they have no access to.
 */
export function duplicateIdentifier(claim: IdentifierClaim & { holder: string }, nameHolder: boolean): FhirError {
  const text = nameHolder
    ? `${claim.value} (${claim.system}) already belongs to ${claim.resourceType}/${claim.holder}`
    : `${claim.value} (${claim.system}) already belongs to another ${claim.resourceType}`;
  return conflict(text, `${claim.resourceType}.identifier[${claim.position}].value`, 'identifier-in-use');
}
