import { badRequest } from '../fhir/outcome.js';
import type { HasFilter, SearchFilter, SearchRequest, ValueFilter } from '../fhir/search-request.js';
import { textQuery } from '../fhir/text-index.js';
import { dateComparison, tableOf, valueCondition } from './search-values.js';
import type { SqlParams } from './sql-params.js';

export { SqlParams } from './sql-params.js';

/**
 * SQL conditions over `resource r` for the filters of a search. Each filter is a semi-join
 * (`r.id IN (SELECT id FROM search_x …)`) so the planner can drive the query from the most
 * selective index; comma-separated values are ORed inside one sub-query; chains and `_has`
 * nest the same shape over the reference table.
 */
export function filterConditions(request: SearchRequest, params: SqlParams): string[] {
  return request.filters.map((filter) => filterCondition(filter, 'r', params, 0));
}

function filterCondition(filter: SearchFilter, alias: string, params: SqlParams, depth: number): string {
  if (depth > MAX_CHAIN_DEPTH) throw badRequest(`Chains and _has nest at most ${MAX_CHAIN_DEPTH} levels`, filter.kind === 'value' ? filter.code : '_has');
  switch (filter.kind) {
    case 'value':
      return valueFilterCondition(filter, alias, params);
    case 'chain': {
      const inner = `r${depth + 1}`;
      const targets = filter.targets.map(
        (target) =>
          `(s.target_type = ${params.add(target.resourceType)} AND s.target_id IN (SELECT ${inner}.id FROM resource ${inner}
            WHERE ${inner}.resource_type = ${params.add(target.resourceType)} AND NOT ${inner}.deleted AND ${filterCondition(target.next, inner, params, depth + 1)}))`,
      );
      return `${alias}.id IN (SELECT s.id FROM search_reference s WHERE s.resource_type = ${params.add(filter.resourceType)}
        AND s.code = ${params.add(filter.code)} AND (${targets.join(' OR ')}))`;
    }
    case 'has':
      return hasCondition(filter, alias, params, depth);
  }
}

/** Chains and reverse chains nest this deep at most: each level is one more semi-join. */
const MAX_CHAIN_DEPTH = 4;

function hasCondition(filter: HasFilter, alias: string, params: SqlParams, depth: number): string {
  const inner = `r${depth + 1}`;
  return `${alias}.id IN (SELECT s.target_id FROM search_reference s WHERE s.resource_type = ${params.add(filter.referrerType)}
    AND s.code = ${params.add(filter.referenceCode)} AND s.target_type = ${params.add(filter.resourceType)}
    AND s.id IN (SELECT ${inner}.id FROM resource ${inner} WHERE ${inner}.resource_type = ${params.add(filter.referrerType)}
      AND NOT ${inner}.deleted AND ${filterCondition(filter.next, inner, params, depth + 1)}))`;
}

function valueFilterCondition(filter: ValueFilter, alias: string, params: SqlParams): string {
  const { code, modifier } = filter;
  if (code === '_id') return idCondition(filter, alias, params);
  if (code === '_text' || code === '_content') return textCondition(filter, alias, params);
  if (code === '_list') {
    if (filter.values.some((v) => v.startsWith('$'))) throw badRequest(`Functional lists ($current-…) are not supported`, '_list');
    return `${alias}.id IN (SELECT s.target_id FROM search_reference s WHERE s.resource_type = 'List' AND s.code = 'item'
      AND s.target_type = ${params.add(filter.resourceType)} AND s.id = ANY(${params.add(filter.values)}::text[]))`;
  }
  if (code === '_lastUpdated') {
    if (modifier) throw badRequest(`Modifier :${modifier} is not supported on _lastUpdated`, `_lastUpdated:${modifier}`);
    return `(${filter.values.map((v) => dateComparison(v, `${alias}.last_updated`, `${alias}.last_updated`, params, code)).join(' OR ')})`;
  }
  const table = tableOf(filter);
  const owner = `SELECT s.id FROM ${table} s WHERE s.resource_type = ${params.add(filter.resourceType)} AND s.code = ${params.add(code)}`;
  if (modifier === 'missing') {
    if (filter.values.length !== 1 || !['true', 'false'].includes(filter.values[0]!)) throw badRequest(`:missing takes true or false`, `${code}:missing`);
    return filter.values[0] === 'true' ? `${alias}.id NOT IN (${owner})` : `${alias}.id IN (${owner})`;
  }
  const negate = modifier === 'not';
  const alternatives = filter.values.map((value) => valueCondition(filter, value, params)).join(' OR ');
  return `${alias}.id ${negate ? 'NOT IN' : 'IN'} (${owner} AND (${alternatives}))`;
}

/**
 * `_text` (narrative) and `_content` (all text): every word of one of the alternatives must
 * occur (https://hl7.org/fhir/R4/search.html#text), answered by the GIN index on the word arrays.
 */
function textCondition(filter: ValueFilter, alias: string, params: SqlParams): string {
  if (filter.modifier) throw badRequest(`${filter.code} takes no modifier`, `${filter.code}:${filter.modifier}`);
  const column = filter.code === '_text' ? 'narrative' : 'content';
  const alternatives = filter.values.flatMap(textQuery);
  if (alternatives.length === 0) throw badRequest(`${filter.code} needs at least one word`, filter.code);
  const matches = alternatives.map((words) => `s.${column} @> ${params.add(words)}::text[]`).join(' OR ');
  return `${alias}.id IN (SELECT s.id FROM search_text s WHERE s.resource_type = ${params.add(filter.resourceType)} AND (${matches}))`;
}

function idCondition(filter: ValueFilter, alias: string, params: SqlParams): string {
  if (filter.modifier && filter.modifier !== 'not') throw badRequest(`Modifier :${filter.modifier} is not supported on _id`, `_id:${filter.modifier}`);
  return `${filter.modifier === 'not' ? 'NOT ' : ''}${alias}.id = ANY(${params.add(filter.values)}::text[])`;
}
