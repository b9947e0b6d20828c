import type { Resource } from '@medplum/fhirtypes';
import { patientCompartmentKey } from '../fhir/compartment.js';
import { stringifyFhir } from '../fhir/json.js';
import { type IndexRows, extractSearchIndex } from '../fhir/search-parameters.js';
import { type TextWords, textWords } from '../fhir/text-index.js';
import { type AccessFacts, accessFacts, securityCodes } from './access-facts.js';
import { type IdentifierClaim, identifierClaims } from './identifier-claims.js';
import { parseStored } from './stored-json.js';

/** The rows derived from a resource's content: search indexes, full-text words and consent rules. */
export interface DerivedIndex {
  index: IndexRows;
  words: TextWords;
  consent: AccessFacts['consent'];
}

/**
 * A resource made ready to write: everything derived from its content alone, computed before any
 * database work, so it can be computed in a worker thread (src/bulk/) and sent back as plain data
 * (structured clone). Only what depends on the stored state (version, time, the door's verdict)
 * is left to the write. Decimals stay as sent: the JSON text is made here, from the parsed resource.
 */
export interface PreparedResource extends DerivedIndex {
  resourceType: string;
  id: string;
  /**
   * The stored JSON in three parts, joined with the server's `meta.versionId` and `meta.lastUpdated`
   * once the write knows them: `{"resourceType":…,"id":…`, the other `meta` elements, the rest.
   */
  json: { head: string; metaRest: string; tail: string };
  compartment: string | null;
  security: string[];
  care: AccessFacts['care'];
  claims: IdentifierClaim[];
}

/** The resource with `id` and the client's meta, less what the server sets on every version. */
export function withMeta(resource: Resource, id: string, versionId?: string, lastUpdated?: string): Resource {
  const { resourceType, id: _ignored, meta, ...content } = resource;
  const { versionId: _v, lastUpdated: _l, ...rest } = meta ?? {};
  const serverMeta = versionId ? { ...rest, versionId, lastUpdated } : rest;
  return { resourceType, id, ...(Object.keys(serverMeta).length ? { meta: serverMeta } : {}), ...content } as Resource;
}

/**
 * The search index rows, words and consent rules of a resource. Server meta (versionId,
 * lastUpdated) is left out: `_lastUpdated` is a column, and a version's time is no word of its content.
 */
export function derivedIndex(resource: Resource, id = resource.id ?? ''): DerivedIndex {
  const content = withMeta(resource, id);
  return { index: extractSearchIndex(content), words: textWords(content), consent: accessFacts(content).consent };
}

export function prepareResource(resource: Resource, id: string): PreparedResource {
  const content = withMeta(resource, id);
  const { resourceType, id: _id, meta, ...rest } = content;
  const head = JSON.stringify({ resourceType, id }).slice(0, -1);
  const tail = stringifyFhir({ resourceType, id, ...rest }).slice(head.length);
  const facts = accessFacts(content);
  return {
    resourceType,
    id,
    json: { head, metaRest: meta ? stringifyFhir(meta).slice(1, -1) : '', tail },
    compartment: patientCompartmentKey(content) ?? null,
    security: securityCodes(content),
    care: facts.care,
    claims: identifierClaims(content, id),
    index: extractSearchIndex(content),
    words: textWords(content),
    consent: facts.consent,
  };
}

/** The JSON text of a version, as `stringifyFhir(withMeta(resource, id, versionId, lastUpdated))` writes it. */
export function versionJson(prepared: PreparedResource, versionId: string, lastUpdated: string): string {
  const { head, metaRest, tail } = prepared.json;
  const server = `"versionId":${JSON.stringify(versionId)},"lastUpdated":${JSON.stringify(lastUpdated)}`;
  return `${head},"meta":{${metaRest ? `${metaRest},` : ''}${server}}${tail}`;
}

/** True when the stored JSON holds the same resource, apart from versionId and lastUpdated. */
export function sameContent(storedJson: string, prepared: PreparedResource): boolean {
  const { head, metaRest, tail } = prepared.json;
  return stringifyFhir(withMeta(parseStored({ json: storedJson }), prepared.id)) === `${head}${metaRest ? `,"meta":{${metaRest}}` : ''}${tail}`;
}
