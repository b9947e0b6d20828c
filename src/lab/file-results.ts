import { randomUUID } from 'node:crypto';
import type { Bundle, DiagnosticReport, Observation, Resource, Specimen } from '@medplum/fhirtypes';
import { badRequest, preconditionFailed } from '../fhir/outcome.js';
import { assertValid } from '../fhir/validate.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Repository, StoredResource } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { escapeToken } from './oru-to-fhir.js';

/**
 * Writes the conditional updates of a results Bundle (src/lab/oru-to-fhir.ts) through `repo`, as
 * its caller, in one SQL transaction: each entry's criteria locked, then matched by one search per
 * type (one match is updated, a new version kept in its history; none is created; more are a 412,
 * as for any conditional update), `urn:uuid` references resolved to
 * the ids so chosen (https://hl7.org/fhir/R4/http.html#trules). Every resource passes the same
 * validator as the REST API's writes first. A FhirError (the lab may not record for the patient,
 * say) rolls all of it back.
 */
export function fileResults(repo: Repository, bundle: Bundle): Promise<StoredResource[]> {
  return repo.transaction(async (tx) => {
    const entries = (bundle.entry ?? []).map((entry) => {
      const [resourceType = '', query = ''] = (entry.request?.url ?? '').split('?', 2);
      const token = new URLSearchParams(query).get('identifier');
      if (entry.request?.method !== 'PUT' || !entry.resource || entry.resource.resourceType !== resourceType || !token) {
        throw badRequest(`A results entry must be a conditional update of its resource on its identifier`, 'Bundle.entry.request');
      }
      return { resource: entry.resource, resourceType, token, fullUrl: entry.fullUrl };
    });
    // One search per type for all its identifiers (a report has many results), under each criteria's lock.
    const holders = new Map<string, string[]>();
    for (const resourceType of new Set(entries.map((e) => e.resourceType))) {
      const tokens = entries.filter((e) => e.resourceType === resourceType).map((e) => e.token);
      for (const token of tokens) await tx.lockCriteria(resourceType, new URLSearchParams([['identifier', token]]));
      const found = await tx.search({ ...parseSearchRequest(resourceType, [['identifier', tokens.join(',')]]), count: tokens.length * 2 });
      for (const stored of found.entries) {
        for (const identifier of parseStored<DiagnosticReport | Observation | Specimen>(stored).identifier ?? []) {
          const token = `${identifier.system}|${escapeToken(identifier.value ?? '')}`;
          holders.set(`${resourceType} ${token}`, [...(holders.get(`${resourceType} ${token}`) ?? []), stored.id]);
        }
      }
    }
    const ids = new Map<string, string>();
    const planned = entries.map(({ resource, resourceType, token, fullUrl }) => {
      const matches = holders.get(`${resourceType} ${token}`) ?? [];
      if (matches.length > 1) throw preconditionFailed(`${resourceType}?identifier=${token} matches more than one resource`);
      const id = matches[0] ?? randomUUID();
      if (fullUrl) ids.set(fullUrl, `${resourceType}/${id}`);
      return { resource, id, exists: matches.length === 1 };
    });
    const resolved = planned.map(({ resource, id, exists }) => {
      const written = resolveReferences(resource, ids);
      assertValid(written);
      return { resource: written, id, exists };
    });
    // New results (most messages) go in together, one statement; corrections one by one, each a new version.
    const created = await tx.writeMany(resolved.filter((r) => !r.exists), 'create');
    const updated: StoredResource[] = [];
    for (const { resource, id } of resolved.filter((r) => r.exists)) updated.push((await tx.update({ ...resource, id })).stored);
    return [...created.stored, ...updated];
  });
}

/** A copy of `resource` with every `reference` naming a Bundle entry's fullUrl pointing at its resource. */
function resolveReferences<T extends Resource>(resource: T, ids: ReadonlyMap<string, string>): T {
  return JSON.parse(JSON.stringify(resource), (key, value: unknown) => (key === 'reference' && typeof value === 'string' ? (ids.get(value) ?? value) : value)) as T;
}
