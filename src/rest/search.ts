import type { Bundle, BundleEntry, BundleLink } from '@medplum/fhirtypes';
import { patientCompartmentTypes } from '../fhir/compartment.js';
import { isResourceType } from '../fhir/definitions.js';
import { notFound, notSupported, outcome } from '../fhir/outcome.js';
import { type SearchRequest, parseMultiTypeSearch, parseSearchRequest } from '../fhir/search-request.js';
import { summarize } from '../fhir/summary.js';
import { parseStored } from '../store/stored-json.js';
import { MIN_AGGREGATE_COUNT, type StoredResource } from '../store/repository.js';
import { withQuery } from './history.js';
import type { FhirRequest, FhirResponse, InteractionContext, RouteParams, TypeParams } from './interaction.js';
import { RAW_RESOURCE } from './raw.js';

/**
 * search-type (https://hl7.org/fhir/R4/http.html#search), by GET or POST `_search`. The `self`
 * link shows the parameters applied; `next` carries a keyset cursor, so deep pages cost no OFFSET.
 */
export async function search(request: FhirRequest, params: TypeParams, context: InteractionContext): Promise<FhirResponse> {
  const searchRequest = parseSearchRequest(params.type, queryOf(request), isLenient(request));
  return searchBundle(searchRequest, `${context.baseUrl}/${params.type}`, context);
}

/** search-system: across the types in `_type` (https://hl7.org/fhir/R4/http.html#search). */
export async function searchSystem(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  return searchBundle(parseMultiTypeSearch(queryOf(request), isLenient(request)), context.baseUrl, context);
}

/**
 * Compartment search (https://hl7.org/fhir/R4/compartmentdefinition.html#search):
 * `Patient/123/Observation?…` searches the patient's compartment by its compartment key;
 * `Patient/123/*` searches every type of it. Only the Patient compartment is defined here.
 */
export async function searchCompartment(request: FhirRequest, params: RouteParams<':type/:id/:compartmentType'>, context: InteractionContext): Promise<FhirResponse> {
  if (params.compartmentType !== '*' && !isResourceType(params.compartmentType)) throw notFound(`Unknown resource type "${params.compartmentType}"`);
  if (params.type !== 'Patient') throw notSupported(`Only the Patient compartment can be searched, not ${params.type}`, 400);
  const query = queryOf(request);
  const searchRequest =
    params.compartmentType === '*'
      ? parseMultiTypeSearch(query.some(([k]) => k === '_type') ? query : [['_type', patientCompartmentTypes().join(',')], ...query], isLenient(request))
      : parseSearchRequest(params.compartmentType, query, isLenient(request));
  searchRequest.compartments = [params.id];
  return searchBundle(searchRequest, `${context.baseUrl}/Patient/${params.id}/${params.compartmentType}`, context);
}

async function searchBundle(searchRequest: SearchRequest, base: string, context: InteractionContext): Promise<FhirResponse> {
  const result = await context.repo.search(searchRequest);
  const link: BundleLink[] = [{ relation: 'self', url: withQuery(base, searchRequest.applied) }];
  if (result.nextCursor) link.push({ relation: 'next', url: withQuery(base, [...searchRequest.applied, ['_cursor', result.nextCursor]]) });
  const toEntry = (mode: 'match' | 'include') => (stored: StoredResource) => searchEntry(stored, mode, searchRequest, context.baseUrl);
  const entry = [...result.entries.map(toEntry('match')), ...result.included.map(toEntry('include'))];
  if (result.suppressed) {
    entry.push({
      search: { mode: 'outcome' },
      resource: outcome([{ severity: 'information', code: 'suppressed', diagnostics: `Counts under ${MIN_AGGREGATE_COUNT} are withheld: a small count can name a person` }]),
    });
  }
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', ...(result.total === undefined ? {} : { total: result.total }), link, entry };
  return { status: 200, resource: bundle };
}

/**
 * A searchset entry of a stored resource: its stored JSON spliced in as is, or summarized by the
 * request's `_summary` / `_elements` (https://hl7.org/fhir/R4/search.html#summary).
 */
export function searchEntry(stored: StoredResource, mode: 'match' | 'include', request: Pick<SearchRequest, 'summary' | 'elements'>, baseUrl: string): BundleEntry {
  const item: BundleEntry & { [RAW_RESOURCE]?: string } = { fullUrl: `${baseUrl}/${stored.resourceType}/${stored.id}`, search: { mode } };
  const subsetting = (request.summary !== undefined && request.summary !== 'false') || request.elements !== undefined;
  if (subsetting) item.resource = summarize(parseStored(stored), request.summary, request.elements);
  else item[RAW_RESOURCE] = stored.json;
  return item;
}

export function isLenient(request: FhirRequest): boolean {
  return /handling=lenient/.test(request.headers.prefer ?? '');
}

/** The query, with POST `_search`'s application/x-www-form-urlencoded body added. */
export function queryOf(request: FhirRequest): [string, string][] {
  const form = request.method === 'POST' && typeof request.body === 'string' ? [...new URLSearchParams(request.body)] : [];
  return [...request.query, ...form];
}
