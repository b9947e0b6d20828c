import type { ResourceType, SearchParameter } from '@medplum/fhirtypes';
import { isResourceType } from './definitions.js';
import { badRequest } from './outcome.js';
import { searchParameter } from './search-parameters.js';

/** Comparison prefixes of number, date and quantity values (https://hl7.org/fhir/R4/search.html#prefix). */
export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type Prefix = (typeof PREFIXES)[number];

/** A condition on one parameter of `resourceType`; comma-separated values are alternatives (OR). */
export interface ValueFilter {
  kind: 'value';
  resourceType: string;
  code: string;
  parameter: SearchParameter;
  /** The text after `:` (https://hl7.org/fhir/R4/search.html#modifiers), if any. */
  modifier?: string;
  values: string[];
}

/**
 * A chained parameter (https://hl7.org/fhir/R4/search.html#chaining): `subject:Patient.name=x`
 * follows the reference `subject` to each target type and applies the rest there.
 */
export interface ChainFilter {
  kind: 'chain';
  resourceType: string;
  code: string;
  parameter: SearchParameter;
  targets: { resourceType: string; next: SearchFilter }[];
}

/**
 * Reverse chaining (https://hl7.org/fhir/R4/search.html#has): `_has:Observation:patient:code=x`
 * keeps resources that an Observation matching `code=x` refers to through `patient`.
 */
export interface HasFilter {
  kind: 'has';
  resourceType: string;
  /** The type whose resources refer to the searched one. */
  referrerType: string;
  /** The reference parameter of the referrer that points back. */
  referenceCode: string;
  next: SearchFilter;
}

export type SearchFilter = ValueFilter | ChainFilter | HasFilter;

/** `_include` / `_revinclude` (https://hl7.org/fhir/R4/search.html#include). */
export interface IncludeRequest {
  reverse: boolean;
  iterate: boolean;
  sourceType: string;
  /** The reference parameter, or `*` for all of the source type's reference parameters. */
  code: string;
  targetType?: string;
}

export interface SortRule {
  code: string;
  descending: boolean;
  /** Absent for `_id` and `_lastUpdated`, which sort by the resource table's own columns. */
  parameter?: SearchParameter;
}

export interface SearchRequest {
  resourceType: string;
  filters: SearchFilter[];
  /**
   * A search across types (https://hl7.org/fhir/R4/http.html#search, system level): each type
   * with its own filters, parsed against its own parameters; replaces resourceType and filters.
   */
  types?: { resourceType: string; filters: SearchFilter[] }[];
  count: number;
  sort: SortRule[];
  total: 'none' | 'estimate' | 'accurate';
  includes: IncludeRequest[];
  /** Opaque keyset position of the page to return. */
  cursor?: string;
  summary?: string;
  elements?: string[];
  /**
   * Restricts the search to patient compartments: `any` for resources in some patient's
   * compartment (Patient-level export), or the listed Patient ids (compartment search, Group export).
   */
  compartments?: 'any' | string[];
  /** The parameters that were applied, for the Bundle's `self` link. */
  applied: [string, string][];
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

/** Result parameters (https://hl7.org/fhir/R4/search.html#return): they shape the answer, not the match. */
const RESULT_PARAMETERS = new Set(['_count', '_sort', '_total', '_summary', '_elements', '_cursor', '_include', '_revinclude', '_include:iterate', '_revinclude:iterate']);
/** Parameters refused with a clear message rather than ignored. */
const UNSUPPORTED = new Set(['_query', '_filter', '_containedType', '_contained']);
/**
 * Parameters that R4 defines in prose (https://hl7.org/fhir/R4/search.html#all) and that the
 * search engine answers from its own tables: `_list` from List items, `_text` and `_content`
 * from the full-text words.
 */
export const SPECIAL_PARAMETERS: Readonly<Record<string, SearchParameter>> = Object.fromEntries(
  [
    ['_list', 'Resources that are items of a List', 'http://hl7.org/fhir/SearchParameter/Resource-list'],
    ['_text', 'Search on the narrative of the resource', 'http://hl7.org/fhir/SearchParameter/DomainResource-text'],
    ['_content', 'Search on the entire content of the resource', 'http://hl7.org/fhir/SearchParameter/Resource-content'],
  ].map(([code, description, url]): [string, SearchParameter] => [
    code,
    // R4 allows `Resource` as a base; Medplum's ResourceType lists only the concrete types.
    { resourceType: 'SearchParameter', url, name: code, code, status: 'active', description, base: ['Resource' as ResourceType], type: 'special' },
  ]),
);

/** Whether a reference parameter with these targets may point at a `type`: named, or any resource (`Resource`). */
export function mayReferTo(targets: readonly string[] | undefined, type: string): boolean {
  return !!targets && (targets.includes(type) || targets.includes('Resource'));
}
const SORTABLE_TYPES = new Set(['string', 'token', 'date', 'number', 'quantity', 'uri', 'reference']);

/**
 * Parses the query of a type-level search. Unknown parameters and malformed values are a 400,
 * unless `lenient` (Prefer: handling=lenient), where they are dropped and left out of `applied`.
 */
export function parseSearchRequest(resourceType: string, query: Iterable<[string, string]>, lenient = false): SearchRequest {
  const request: SearchRequest = { resourceType, filters: [], count: DEFAULT_COUNT, sort: [], total: 'none', includes: [], applied: [] };
  for (const [key, value] of query) {
    if (key === '_format' || key === '_pretty') continue;
    try {
      applyParameter(request, key, value);
      if (key !== '_cursor') request.applied.push([key, value]);
    } catch (error) {
      if (!lenient) throw error;
    }
  }
  return request;
}

function applyParameter(request: SearchRequest, key: string, value: string): void {
  if (RESULT_PARAMETERS.has(key)) return applyResultParameter(request, key, value);
  if (value === '') throw badRequest(`Empty value for search parameter "${key}"`, key);
  request.filters.push(parseFilter(request.resourceType, key, value));
}

/** Parameters that need no resource type: they filter on the resource table's own columns. */
const UNTYPED = new Set(['_id', '_lastUpdated']);
const untyped = ([key]: [string, string]) => RESULT_PARAMETERS.has(key) || UNTYPED.has(key.split(':')[0]) || key === '_format' || key === '_pretty';

/**
 * The query of a search across types (https://hl7.org/fhir/R4/http.html#search, system level):
 * `_type` lists the types, and every other filter must exist on each of them; without `_type`
 * every type is searched and only `_id` and `_lastUpdated` may filter. Sorting is by those two.
 */
export function parseMultiTypeSearch(query: [string, string][], lenient: boolean): SearchRequest {
  const typeValue = query.find(([k]) => k === '_type')?.[1];
  const rest = query.filter(([k]) => k !== '_type');
  let request: SearchRequest;
  if (typeValue) {
    const types = typeValue.split(',');
    for (const type of types) if (!isResourceType(type)) throw badRequest(`Unknown resource type "${type}" in _type`, '_type');
    const parsed = types.map((resourceType) => parseSearchRequest(resourceType, rest, lenient));
    request = { ...parsed[0], resourceType: '*', types: parsed.map(({ resourceType, filters }) => ({ resourceType, filters })) };
  } else {
    const typed = rest.find((pair) => !untyped(pair));
    if (typed && !lenient) throw badRequest(`Without _type only _id and _lastUpdated can filter; name the types to use "${typed[0]}"`, typed[0]);
    request = { ...parseSearchRequest('Resource', rest.filter(untyped), lenient), resourceType: '*' };
  }
  if (request.sort.some((rule) => rule.parameter)) throw badRequest(`A search across types sorts by _id or _lastUpdated only`, '_sort');
  if (typeValue) request.applied.unshift(['_type', typeValue]);
  return request;
}

/** One `key=value` as a filter on `resourceType`: plain, chained or reverse-chained. */
export function parseFilter(resourceType: string, key: string, value: string): SearchFilter {
  if (key.startsWith('_has:')) return parseHas(resourceType, key, value);
  const dot = key.indexOf('.');
  const head = dot < 0 ? key : key.slice(0, dot);
  const colon = head.indexOf(':');
  const code = colon < 0 ? head : head.slice(0, colon);
  const modifier = colon < 0 ? undefined : head.slice(colon + 1);
  if (UNSUPPORTED.has(code)) throw badRequest(`Search parameter "${code}" is not supported`, key);
  const special = SPECIAL_PARAMETERS[code];
  if (special) {
    if (modifier !== undefined || dot >= 0) throw badRequest(`${code} takes no modifiers or chains`, key);
    return { kind: 'value', resourceType, code, parameter: special, values: splitValues(value) };
  }
  const parameter = searchParameter(resourceType, code);
  if (!parameter || code === '_compartment') throw badRequest(`Unknown search parameter "${code}" for ${resourceType}`, key);
  if (dot < 0) return { kind: 'value', resourceType, code, parameter, modifier, values: splitValues(value) };
  if (parameter.type !== 'reference') throw badRequest(`"${code}" is not a reference parameter, so it cannot be chained`, key);
  if (modifier !== undefined && !isResourceType(modifier)) throw badRequest(`Chained "${code}" takes a resource type modifier, not "${modifier}"`, key);
  const rest = key.slice(dot + 1);
  const candidates = modifier ? [modifier] : (parameter.target ?? []);
  const targets: ChainFilter['targets'] = [];
  let lastError: unknown;
  for (const target of candidates) {
    if (modifier && !mayReferTo(parameter.target, target)) {
      throw badRequest(`"${code}" cannot refer to a ${target}`, key);
    }
    try {
      targets.push({ resourceType: target, next: parseFilter(target, rest, value) });
    } catch (error) {
      lastError = error;
    }
  }
  if (targets.length === 0) throw lastError ?? badRequest(`"${code}" has no target type for "${rest}"`, key);
  return { kind: 'chain', resourceType, code, parameter, targets };
}

function parseHas(resourceType: string, key: string, value: string): HasFilter {
  const [, referrerType, referenceCode, ...rest] = key.split(':');
  const next = rest.join(':');
  if (!referrerType || !referenceCode || !next) throw badRequest(`_has takes the form _has:Type:reference:parameter`, key);
  if (!isResourceType(referrerType)) throw badRequest(`Unknown resource type "${referrerType}" in _has`, key);
  const reference = searchParameter(referrerType, referenceCode);
  if (reference?.type !== 'reference') throw badRequest(`"${referenceCode}" is not a reference parameter of ${referrerType}`, key);
  if (!mayReferTo(reference.target, resourceType)) {
    throw badRequest(`${referrerType}.${referenceCode} never refers to a ${resourceType}`, key);
  }
  return { kind: 'has', resourceType, referrerType, referenceCode, next: parseFilter(referrerType, next, value) };
}

function applyResultParameter(request: SearchRequest, key: string, value: string): void {
  switch (key) {
    case '_count': {
      const count = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) throw badRequest(`_count must be a non-negative integer`, key);
      request.count = Math.min(count, MAX_COUNT);
      return;
    }
    case '_sort':
      for (const item of value.split(',')) {
        const descending = item.startsWith('-');
        const code = descending ? item.slice(1) : item;
        if (code === '_id' || code === '_lastUpdated') {
          request.sort.push({ code, descending });
          continue;
        }
        const parameter = searchParameter(request.resourceType, code);
        if (!parameter || !SORTABLE_TYPES.has(parameter.type)) throw badRequest(`Cannot sort ${request.resourceType} by "${code}"`, key);
        request.sort.push({ code, descending, parameter });
      }
      return;
    case '_total':
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate') throw badRequest(`_total must be none, estimate or accurate`, key);
      request.total = value;
      return;
    case '_summary':
      if (!['true', 'false', 'text', 'data', 'count'].includes(value)) throw badRequest(`Invalid _summary "${value}"`, key);
      request.summary = value;
      return;
    case '_elements':
      request.elements = value.split(',').map((e) => e.trim()).filter(Boolean);
      return;
    case '_cursor':
      request.cursor = value;
      return;
    default:
      for (const item of value.split(',')) request.includes.push(parseInclude(request.resourceType, key, item));
  }
}

/** `Source:param[:Target]`, or `*` (every reference parameter of the searched type). */
function parseInclude(resourceType: string, key: string, value: string): IncludeRequest {
  const reverse = key.startsWith('_revinclude');
  const iterate = key.endsWith(':iterate');
  // `_include=*`: every reference of the matches; `_revinclude=*`: everything referring to them.
  if (value === '*') return { reverse, iterate, sourceType: resourceType, code: '*' };
  const [sourceType, code, targetType, ...extra] = value.split(':');
  if (!sourceType || !code || extra.length) throw badRequest(`${key} takes Type:parameter[:TargetType]`, key);
  if (!isResourceType(sourceType)) throw badRequest(`Unknown resource type "${sourceType}" in ${key}`, key);
  if (!reverse && !iterate && sourceType !== resourceType) throw badRequest(`_include names the searched type ${resourceType} as its source (or use :iterate)`, key);
  if (code !== '*') {
    const parameter = searchParameter(sourceType, code);
    if (parameter?.type !== 'reference') throw badRequest(`"${code}" is not a reference parameter of ${sourceType}`, key);
  }
  if (targetType !== undefined && !isResourceType(targetType)) throw badRequest(`Unknown resource type "${targetType}" in ${key}`, key);
  return { reverse, iterate, sourceType, code, targetType };
}

/** Splits on commas not escaped with `\` (https://hl7.org/fhir/R4/search.html#escaping). */
export function splitValues(value: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && value[i + 1] === ',') {
      current += ',';
      i++;
    } else if (ch === ',') {
      values.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  values.push(current);
  return values;
}

/** Splits a prefix off a number, date or quantity value. */
export function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const prefix = PREFIXES.find((p) => value.startsWith(p));
  if (prefix && value.length > 2 && !/^[a-z]/.test(value.slice(2))) return { prefix, rest: value.slice(2) };
  return { prefix: 'eq', rest: value };
}

/** A token search value with FHIR's search separators escaped (https://hl7.org/fhir/R4/search.html#escaping). */
export function escapeToken(value: string): string {
  return value.replace(/[\\|,$]/g, '\\$&');
}
