import type { SearchParameter } from '@medplum/fhirtypes';
import { badRequest } from './outcome.js';
import { searchParameter } from './search-parameters.js';

/** Comparison prefixes of number, date and quantity values (https://hl7.org/fhir/R4/search.html#prefix). */
export const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type Prefix = (typeof PREFIXES)[number];

export interface SearchFilter {
  code: string;
  parameter: SearchParameter;
  /** The text after `:` (https://hl7.org/fhir/R4/search.html#modifiers), if any. */
  modifier?: string;
  /** Comma-separated values of one parameter are alternatives (OR). */
  values: string[];
}

export interface SortRule {
  code: string;
  descending: boolean;
}

export interface SearchRequest {
  resourceType: string;
  filters: SearchFilter[];
  count: number;
  sort: SortRule[];
  total: 'none' | 'estimate' | 'accurate';
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

/** Result parameters this server applies; the others are refused rather than silently ignored. */
const RESULT_PARAMETERS = new Set(['_count', '_sort', '_total', '_summary', '_elements', '_cursor', '_format', '_pretty']);
const SORTABLE = new Set(['_id', '_lastUpdated']);

/**
 * Parses the query of a type-level search. Unknown parameters and malformed values are a 400,
 * unless `lenient` (Prefer: handling=lenient), where they are dropped from `applied`.
 */
export function parseSearchRequest(resourceType: string, query: Iterable<[string, string]>, lenient = false): SearchRequest {
  const request: SearchRequest = { resourceType, filters: [], count: DEFAULT_COUNT, sort: [], total: 'none', applied: [] };
  for (const [key, value] of query) {
    try {
      applyParameter(request, key, value);
      if (key !== '_cursor' && key !== '_format' && key !== '_pretty') request.applied.push([key, value]);
    } catch (error) {
      if (!lenient) throw error;
    }
  }
  return request;
}

function applyParameter(request: SearchRequest, key: string, value: string): void {
  if (RESULT_PARAMETERS.has(key)) return applyResultParameter(request, key, value);
  const colon = key.indexOf(':');
  const code = colon < 0 ? key : key.slice(0, colon);
  const modifier = colon < 0 ? undefined : key.slice(colon + 1);
  const parameter = searchParameter(request.resourceType, code);
  if (!parameter) throw badRequest(`Unknown search parameter "${code}" for ${request.resourceType}`, key);
  if (value === '') throw badRequest(`Empty value for search parameter "${key}"`, key);
  request.filters.push({ code, parameter, modifier, values: splitValues(value) });
}

function applyResultParameter(request: SearchRequest, key: string, value: string): void {
  switch (key) {
    case '_count': {
      const count = Number(value);
      if (!Number.isInteger(count) || count < 0) throw badRequest(`_count must be a non-negative integer`, key);
      request.count = Math.min(count, MAX_COUNT);
      return;
    }
    case '_sort':
      for (const item of value.split(',')) {
        const descending = item.startsWith('-');
        const code = descending ? item.slice(1) : item;
        if (!SORTABLE.has(code)) throw badRequest(`Sorting by "${code}" is not supported`, key);
        request.sort.push({ code, descending });
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
      return;
  }
}

/** Splits on commas not escaped with `\` (https://hl7.org/fhir/R4/search.html#escaping). */
export function splitValues(value: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length && ',$|\\'.includes(value[i + 1]!)) {
      current += value[++i];
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
  const head = value.slice(0, 2) as Prefix;
  if (PREFIXES.includes(head) && value.length > 2 && !/^[a-z]/.test(value.slice(2))) return { prefix: head, rest: value.slice(2) };
  return { prefix: 'eq', rest: value };
}
