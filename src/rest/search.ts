import type { Bundle, BundleEntry, BundleLink } from '@medplum/fhirtypes';
import { parseSearchRequest } from '../fhir/search-request.js';
import { summarize } from '../fhir/summary.js';
import { withQuery } from './history.js';
import type { StoredResource } from '../store/repository.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';
import { RAW_RESOURCE } from './raw.js';

/**
 * search-type (https://hl7.org/fhir/R4/http.html#search), by GET or POST `_search`. The `self`
 * link shows the parameters applied; `next` carries a keyset cursor, so deep pages cost no OFFSET.
 */
export async function search(request: FhirRequest, params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const lenient = /handling=lenient/.test(request.headers.prefer ?? '');
  const query = [...request.query, ...formParameters(request)];
  const searchRequest = parseSearchRequest(params.type!, query, lenient);
  const result = await context.repo.search(searchRequest);
  const base = `${context.baseUrl}/${params.type}`;
  const link: BundleLink[] = [{ relation: 'self', url: withQuery(base, searchRequest.applied) }];
  if (result.nextCursor) link.push({ relation: 'next', url: withQuery(base, [...searchRequest.applied, ['_cursor', result.nextCursor]]) });
  const subsetting = searchRequest.summary !== undefined && searchRequest.summary !== 'false' || searchRequest.elements !== undefined;
  const toEntry =
    (mode: 'match' | 'include') =>
    (stored: StoredResource): BundleEntry => {
      const item: BundleEntry & { [RAW_RESOURCE]?: string } = { fullUrl: `${context.baseUrl}/${stored.resourceType}/${stored.id}`, search: { mode } };
      if (subsetting) item.resource = summarize(JSON.parse(stored.json), searchRequest.summary, searchRequest.elements);
      else item[RAW_RESOURCE] = stored.json;
      return item;
    };
  const entry = [...result.entries.map(toEntry('match')), ...result.included.map(toEntry('include'))];
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', ...(result.total === undefined ? {} : { total: result.total }), link, entry };
  return { status: 200, resource: bundle };
}

/** POST `_search` sends its parameters as an application/x-www-form-urlencoded body. */
function formParameters(request: FhirRequest): [string, string][] {
  return request.method === 'POST' && typeof request.body === 'string' ? [...new URLSearchParams(request.body)] : [];
}
