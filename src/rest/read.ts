import { stringifyFhir } from '../fhir/json.js';
import { summarize } from '../fhir/summary.js';
import { parseStored } from '../store/stored-json.js';
import { type FhirRequest, type FhirResponse, type InteractionContext, parseETag, type InstanceParams } from './interaction.js';

/** read (https://hl7.org/fhir/R4/http.html#read), with If-None-Match / If-Modified-Since (304). */
export async function read(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const stored = await context.repo.read(params.type, params.id);
  if (notModified(request, stored.versionId, stored.lastUpdated)) return { status: 304, stored };
  return subset(request, stored);
}

export function notModified(request: FhirRequest, versionId: string, lastUpdated: string): boolean {
  const { ifNoneMatch, ifModifiedSince } = request.headers;
  if (ifNoneMatch !== undefined) return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || parseETag(tag.trim()) === versionId);
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    // HTTP dates have whole seconds; a version within that second counts as not newer.
    return !Number.isNaN(since) && Math.floor(Date.parse(lastUpdated) / 1000) * 1000 <= since;
  }
  return false;
}

/** Applies `_summary` / `_elements` when asked; otherwise the stored JSON is served as it is. */
export function subset(request: FhirRequest, stored: NonNullable<FhirResponse['stored']>): FhirResponse {
  const summary = request.query.find(([k]) => k === '_summary')?.[1];
  const elements = request.query.find(([k]) => k === '_elements')?.[1];
  if (!summary && !elements) return { status: 200, stored };
  const resource = summarize(parseStored(stored), summary, elements?.split(','));
  return { status: 200, stored: { ...stored, json: stringifyFhir(resource) } };
}
