import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { badRequest, notFound } from '../fhir/outcome.js';
import { DEFAULT_COUNT, MAX_COUNT } from '../fhir/search-request.js';
import type { StoredResource } from '../store/repository.js';
import type { FhirRequest, FhirResponse, InteractionContext, AnyLevelParams } from './interaction.js';
import { RAW_RESOURCE } from './raw.js';

const HISTORY_PARAMETERS = new Set(['_since', '_at', '_count', '_cursor', '_format', '_pretty', '_list']);

/**
 * history at instance, type and system level (https://hl7.org/fhir/R4/http.html#history), newest
 * first, paged by keyset with a `next` link.
 */
export async function history(request: FhirRequest, params: AnyLevelParams, context: InteractionContext): Promise<FhirResponse> {
  const query = new Map<string, string>();
  for (const [key, value] of request.query) {
    if (!HISTORY_PARAMETERS.has(key)) throw badRequest(`Unknown history parameter "${key}"`, key);
    if (key === '_list') throw badRequest(`_list is not supported on history`, key);
    query.set(key, value);
  }
  const countText = query.get('_count');
  const count = countText === undefined ? DEFAULT_COUNT : Number(countText);
  if (!Number.isInteger(count) || count < 1) throw badRequest(`_count must be a positive integer`, '_count');
  // A deleted resource still has a history; only an unknown (or unseen) one is a 404.
  if (params.type && params.id && !(await context.repo.visible(params.type, params.id, { deleted: true }))) {
    throw notFound(`${params.type}/${params.id} is not known`);
  }
  const { entries, nextCursor } = await context.repo.history({
    resourceType: params.type,
    id: params.id,
    since: query.get('_since'),
    at: query.get('_at'),
    count: Math.min(count, MAX_COUNT),
    cursor: query.get('_cursor'),
  });
  const base = `${context.baseUrl}/${request.path}`;
  const linkQuery = [...query].filter(([k]) => k !== '_cursor');
  const link = [{ relation: 'self', url: withQuery(base, request.query) }];
  if (nextCursor) link.push({ relation: 'next', url: withQuery(base, [...linkQuery, ['_cursor', nextCursor]]) });
  const bundle: Bundle = { resourceType: 'Bundle', type: 'history', link, entry: entries.map((e) => historyEntry(e, context.baseUrl)) };
  return { status: 200, resource: bundle };
}

function historyEntry(stored: StoredResource, baseUrl: string): BundleEntry {
  const url = `${stored.resourceType}/${stored.id}`;
  const method = stored.method === 'delete' ? 'DELETE' : stored.method === 'update' ? 'PUT' : 'POST';
  const entry: BundleEntry & { [RAW_RESOURCE]?: string } = {
    fullUrl: `${baseUrl}/${url}`,
    request: { method, url: method === 'POST' ? stored.resourceType : url },
    response: {
      status: method === 'DELETE' ? '204' : method === 'POST' ? '201' : '200',
      etag: `W/"${stored.versionId}"`,
      lastModified: stored.lastUpdated,
    },
  };
  if (!stored.deleted) entry[RAW_RESOURCE] = stored.json;
  return entry;
}

export function withQuery(base: string, query: Iterable<[string, string]>): string {
  const search = new URLSearchParams([...query]).toString();
  return search ? `${base}?${search}` : base;
}
