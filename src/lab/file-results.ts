import { randomUUID } from 'node:crypto';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { badRequest, preconditionFailed } from '../fhir/outcome.js';
import { assertValid } from '../fhir/validate.js';
import type { Repository, StoredResource } from '../store/repository.js';

/**
 * Writes the conditional updates of a results Bundle (src/lab/oru-to-fhir.ts) through `repo`, as
 * its caller, in one SQL transaction: each entry's criteria locked and matched (one match is
 * updated, a new version kept in its history; none is created), `urn:uuid` references resolved to
 * the ids so chosen (https://hl7.org/fhir/R4/http.html#trules). Every resource passes the same
 * validator as the REST API's writes first. A FhirError (the lab may not record for the patient,
 * say) rolls all of it back.
 */
export function fileResults(repo: Repository, bundle: Bundle): Promise<StoredResource[]> {
  return repo.transaction(async (tx) => {
    const planned: { resource: Resource; id: string; exists: boolean }[] = [];
    const ids = new Map<string, string>();
    for (const entry of bundle.entry ?? []) {
      const [resourceType, query] = (entry.request?.url ?? '').split('?', 2);
      if (entry.request?.method !== 'PUT' || !entry.resource || entry.resource.resourceType !== resourceType || !query) {
        throw badRequest(`A results entry must be a conditional update of its resource`, 'Bundle.entry.request');
      }
      const criteria = new URLSearchParams(query);
      await tx.lockCriteria(resourceType, criteria);
      const matches = await tx.matchIds(resourceType, criteria);
      if (matches.length > 1) throw preconditionFailed(`${resourceType}?${query} matches more than one resource`);
      const id = matches[0] ?? randomUUID();
      planned.push({ resource: entry.resource, id, exists: matches.length === 1 });
      if (entry.fullUrl) ids.set(entry.fullUrl, `${resourceType}/${id}`);
    }
    const stored: StoredResource[] = [];
    for (const { resource, id, exists } of planned) {
      const resolved = resolveReferences(resource, ids);
      assertValid(resolved);
      stored.push(exists ? (await tx.update({ ...resolved, id })).stored : await tx.create(resolved, id));
    }
    return stored;
  });
}

/** A copy of `resource` with every `reference` naming a Bundle entry's fullUrl pointing at its resource. */
function resolveReferences<T extends Resource>(resource: T, ids: ReadonlyMap<string, string>): T {
  return JSON.parse(JSON.stringify(resource), (key, value: unknown) => (key === 'reference' && typeof value === 'string' ? (ids.get(value) ?? value) : value)) as T;
}
