import { dateRange } from '../fhir/dates.js';
import { normalizeString } from '../fhir/normalize.js';
import { badRequest } from '../fhir/outcome.js';
import { type ValueFilter, splitPrefix } from '../fhir/search-request.js';
import type { SqlParams } from './sql-params.js';

/** The index table that holds the rows of a parameter type. */
export function tableOf(filter: ValueFilter): string {
  switch (filter.parameter.type) {
    case 'token':
      return 'search_token';
    case 'string':
      return 'search_string';
    case 'date':
      return 'search_date';
    case 'number':
    case 'quantity':
      return 'search_number';
    case 'uri':
      return 'search_uri';
    case 'reference':
      return 'search_reference';
    default:
      throw badRequest(`Search parameter "${filter.code}" of type ${filter.parameter.type} is not supported yet`, filter.code);
  }
}

/**
 * The condition one search value puts on an index row `s` of the filter's table
 * (https://hl7.org/fhir/R4/search.html#ptypes).
 */
export function valueCondition(filter: ValueFilter, value: string, params: SqlParams): string {
  const { code, modifier } = filter;
  const expression = modifier ? `${code}:${modifier}` : code;
  switch (filter.parameter.type) {
    case 'token':
      return tokenCondition(value, modifier, params, expression);
    case 'string': {
      const normalized = normalizeString(value);
      if (modifier === 'exact') return `s.value = ${params.add(value)}`;
      if (modifier === 'contains') return `s.normalized LIKE ${params.add('%' + escapeLike(normalized) + '%')}`;
      if (modifier) throw unsupportedModifier(expression);
      return `s.normalized LIKE ${params.add(escapeLike(normalized) + '%')}`;
    }
    case 'date':
      if (modifier) throw unsupportedModifier(expression);
      return dateComparison(value, 's.low', 's.high', params, expression);
    case 'number':
    case 'quantity':
      if (modifier) throw unsupportedModifier(expression);
      return numberCondition(value, filter.parameter.type === 'quantity', params, expression);
    case 'uri':
      if (modifier) throw unsupportedModifier(expression);
      return `s.value = ${params.add(value)}`;
    case 'reference':
      return referenceCondition(value, modifier, params, expression);
    default:
      throw unsupportedModifier(expression);
  }
}

function tokenCondition(value: string, modifier: string | undefined, params: SqlParams, expression: string): string {
  if (modifier === 'text') return `s.text_value LIKE ${params.add(escapeLike(normalizeString(value)) + '%')}`;
  if (modifier && modifier !== 'not') throw unsupportedModifier(expression);
  const bar = value.indexOf('|');
  if (bar < 0) return `s.value = ${params.add(value)}`;
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  if (system === '') return `(s.value = ${params.add(code)} AND s.system IS NULL)`;
  if (code === '') return `s.system = ${params.add(system)}`;
  return `(s.value = ${params.add(code)} AND s.system = ${params.add(system)})`;
}

function referenceCondition(value: string, modifier: string | undefined, params: SqlParams, expression: string): string {
  if (modifier === 'identifier') throw unsupportedModifier(expression);
  const typeModifier = modifier && /^[A-Z]/.test(modifier) ? modifier : undefined;
  if (modifier && !typeModifier) throw unsupportedModifier(expression);
  if (/^(https?:|urn:)/.test(value)) {
    const local = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(value);
    const byUrl = `s.reference = ${params.add(value)}`;
    return local ? `(${byUrl} OR (s.target_type = ${params.add(local[1])} AND s.target_id = ${params.add(local[2])}))` : byUrl;
  }
  const parts = value.split('/');
  const [type, id] = parts.length >= 2 ? [parts[0], parts[1]] : [typeModifier, parts[0]];
  if (typeModifier && type !== typeModifier) throw badRequest(`Reference "${value}" does not match the :${typeModifier} modifier`, expression);
  const byId = `s.target_id = ${params.add(id)}`;
  return type ? `(${byId} AND s.target_type = ${params.add(type)})` : byId;
}

/**
 * Prefix semantics on ranges (https://hl7.org/fhir/R4/search.html#prefix): the target's range
 * [low, high] is compared with the search value's implicit range.
 */
export function dateComparison(value: string, low: string, high: string, params: SqlParams, expression: string): string {
  const { prefix, rest } = splitPrefix(value);
  const range = dateRange(rest, expression);
  // Bind only the bounds the comparison uses: an unused parameter has no type PostgreSQL can infer.
  let lowBound: string | undefined;
  let highBound: string | undefined;
  const bounds = {
    get ql() {
      return (lowBound ??= `${params.add(range.low)}::timestamptz`);
    },
    get qh() {
      return (highBound ??= `${params.add(range.high)}::timestamptz`);
    },
  };
  return rangeComparison(prefix, low, high, bounds);
}

function rangeComparison(prefix: string, low: string, high: string, bounds: { readonly ql: string; readonly qh: string }): string {
  switch (prefix) {
    case 'eq':
      return `(${low} >= ${bounds.ql} AND ${high} <= ${bounds.qh})`;
    case 'ne':
      return `NOT (${low} >= ${bounds.ql} AND ${high} <= ${bounds.qh})`;
    case 'gt':
      return `${high} > ${bounds.qh}`;
    case 'lt':
      return `${low} < ${bounds.ql}`;
    case 'ge':
      return `${high} >= ${bounds.ql}`;
    case 'le':
      return `${low} <= ${bounds.qh}`;
    case 'sa':
      return `${low} > ${bounds.qh}`;
    case 'eb':
      return `${high} < ${bounds.ql}`;
    default:
      // ap: the ranges overlap.
      return `(${high} >= ${bounds.ql} AND ${low} <= ${bounds.qh})`;
  }
}

const NUMBER_PATTERN = /^[+-]?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?$/;

/** Implicit precision: `5.4` stands for [5.35, 5.45] (https://hl7.org/fhir/R4/search.html#number). */
function numberCondition(value: string, quantity: boolean, params: SqlParams, expression: string): string {
  const { prefix, rest } = splitPrefix(value);
  const [number, system, unit] = quantity ? rest.split('|') : [rest];
  if (!number || !NUMBER_PATTERN.test(number)) throw badRequest(`Invalid number "${value}"`, expression);
  const decimals = number.includes('.') && !/[eE]/.test(number) ? number.split('.')[1]!.length : 0;
  const half = 0.5 * 10 ** -decimals;
  const n = Number(number);
  const lowest = () => `${params.add(prefix === 'ap' ? n - Math.abs(n) * 0.1 : n - half)}::numeric`;
  const highest = () => `${params.add(prefix === 'ap' ? n + Math.abs(n) * 0.1 : n + half)}::numeric`;
  const exact = () => `${params.add(n)}::numeric`;
  let condition: string;
  switch (prefix) {
    case 'eq':
    case 'ap':
      condition = `(s.low >= ${lowest()} AND s.high <= ${highest()})`;
      break;
    case 'ne':
      condition = `NOT (s.low >= ${lowest()} AND s.high <= ${highest()})`;
      break;
    case 'gt':
    case 'sa':
      condition = `s.high > ${exact()}`;
      break;
    case 'lt':
    case 'eb':
      condition = `s.low < ${exact()}`;
      break;
    case 'ge':
      condition = `s.high >= ${exact()}`;
      break;
    default:
      condition = `s.low <= ${exact()}`;
  }
  if (system) condition += ` AND s.system = ${params.add(system)}`;
  if (unit) condition += ` AND s.unit = ${params.add(unit)}`;
  return `(${condition})`;
}

function unsupportedModifier(expression: string) {
  return badRequest(`Modifier in "${expression}" is not supported for this parameter`, expression);
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => '\\' + c);
}
