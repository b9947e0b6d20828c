import type { Bundle, BundleLink } from '@medplum/fhirtypes';
import { auditEventOf } from '../access/audit-event.js';
import { badRequest } from '../fhir/outcome.js';
import { DEFAULT_COUNT, MAX_COUNT } from '../fhir/search-request.js';
import { withQuery } from './history.js';
import type { FhirRequest, FhirResponse, InteractionContext, InstanceParams } from './interaction.js';

const ACCESS_LOG_PARAMETERS = new Set(['_count', '_cursor', '_since', '_format', '_pretty']);

/**
 * `GET Patient/[id]/$access-log?_count=&_cursor=&_since=`: the AuditEvents recording who
 * accessed the patient's record, newest first, as a `searchset` Bundle with a keyset `next` link.
 *
 * The door decides (Repository.accessLog): a Patient the caller may not see is a 404; of those
 * who may, the log is for the person and their legal representatives, an administrator granted
 * clinical access, and the platform; a clinician seeing the record does not thereby see who else did.
 */
export async function accessLogOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const query = new Map<string, string>();
  for (const [key, value] of request.query) {
    if (!ACCESS_LOG_PARAMETERS.has(key)) throw badRequest(`Unknown $access-log parameter "${key}"`, key);
    query.set(key, value);
  }
  const countText = query.get('_count');
  const count = countText === undefined ? DEFAULT_COUNT : Number(countText);
  if (!Number.isInteger(count) || count < 1) throw badRequest(`_count must be a positive integer`, '_count');

  const patient = params.id;
  const page = await context.repo.accessLog(patient, {
    count: Math.min(count, MAX_COUNT),
    cursor: query.get('_cursor'),
    since: query.get('_since'),
  });
  const base = `${context.baseUrl}/Patient/${patient}/$access-log`;
  const link: BundleLink[] = [{ relation: 'self', url: withQuery(base, request.query) }];
  if (page.nextCursor) {
    link.push({ relation: 'next', url: withQuery(base, [...[...query].filter(([k]) => k !== '_cursor'), ['_cursor', page.nextCursor]]) });
  }
  // The records are not resources of the store: their fullUrl is their UUID, not a readable URL.
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    link,
    entry: page.records.map(auditEventOf).map((event) => ({ fullUrl: `urn:uuid:${event.id}`, resource: event, search: { mode: 'match' } })),
  };
  return { status: 200, resource: bundle };
}
