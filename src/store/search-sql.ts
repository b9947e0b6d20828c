import { badRequest } from '../fhir/outcome.js';
import type { SearchFilter, SearchRequest, ValueFilter } from '../fhir/search-request.js';
import { textQuery } from '../fhir/text-index.js';
import { storedRows } from '../fhir/derived-index.js';
import { compositePresence, dateComparison, filterRows, rowsIn, tableOf, valueCondition } from './search-values.js';
import type { SqlParams } from './sql-params.js';

export { SqlParams } from './sql-params.js';

/**
 * The access condition over a row aliased `alias` of `resource_type`, or undefined for every row:
 * the one door's filter, applied inside chains, `_has` and `_list` too, so a resource the caller
 * may not see can neither match nor be counted through another.
 */
export type AccessCondition = (alias: string, resourceType: string) => string | undefined;

/**
 * SQL conditions over `resource r` for the filters of a search. Each filter is a semi-join
 * (`r.id IN (SELECT id FROM search_x …)`) so the planner can drive the query from the most
 * selective index; comma-separated values are ORed inside one sub-query.
 */
export function filterConditions(request: SearchRequest, params: SqlParams, access?: AccessCondition): string[] {
  return request.filters.map((filter) =>
    filter.kind === 'value' ? valueFilterCondition(filter, 'r', params, access) : `r.id IN (${matchingIds(filter, params, 1, access)})`,
  );
}

/**
 * The ids matching every filter from the index tables alone, when each filter can be answered
 * there (no `_id`, `_lastUpdated`, `:not`, `:missing`): `_total=accurate` counts this, which
 * index-only scans answer without reading the resources.
 */
export function indexOnlyMatches(request: SearchRequest, params: SqlParams): string | undefined {
  if (request.types || request.compartments || request.filters.length === 0) return undefined;
  const parts: string[] = [];
  for (const filter of request.filters) {
    const ids = filter.kind === 'value' ? indexedIds(filter, params) : matchingIds(filter, params, 1, undefined);
    if (!ids) return undefined;
    parts.push(`(${ids})`);
  }
  return parts.join(' INTERSECT ');
}

/** Chains and reverse chains nest this deep at most: each level is one more semi-join. */
const MAX_CHAIN_DEPTH = 4;

/**
 * A sub-query selecting the ids of the current resources of `filter.resourceType` that match.
 * Index rows exist for current versions only (a delete removes them), so a chain or `_has`
 * step goes from index to index without visiting the resource table; each target type of a
 * chain is its own branch, so PostgreSQL can start from whichever value is selective.
 */
function matchingIds(filter: SearchFilter, params: SqlParams, depth: number, access: AccessCondition | undefined): string {
  if (depth > MAX_CHAIN_DEPTH) throw badRequest(`Chains and _has nest at most ${MAX_CHAIN_DEPTH} levels`, filter.kind === 'value' ? filter.code : '_has');
  switch (filter.kind) {
    case 'value': {
      const indexed = indexedIds(filter, params, access);
      if (indexed) return indexed;
      const alias = `r${depth}`;
      return `SELECT ${alias}.id FROM resource ${alias} WHERE ${alias}.resource_type = ${params.add(filter.resourceType)}
        AND NOT ${alias}.deleted AND ${valueFilterCondition(filter, alias, params, access)}`;
    }
    case 'chain':
      return filter.targets
        .map(
          (target) => `SELECT s.id FROM search_reference s WHERE s.resource_type = ${params.add(filter.resourceType)}
            AND ${rowsIn('s', storedRows(filter.resourceType, filter.code), params)} AND s.target_type = ${params.add(target.resourceType)}
            AND s.target_id IN (${visibleIds(target.resourceType, matchingIds(target.next, params, depth + 1, access), params, depth, access)})`,
        )
        .join(' UNION ALL ');
    case 'has':
      return `SELECT s.target_id FROM search_reference s WHERE s.resource_type = ${params.add(filter.referrerType)}
        AND ${rowsIn('s', storedRows(filter.referrerType, filter.referenceCode), params)} AND s.target_type = ${params.add(filter.resourceType)}
        AND s.id IN (${visibleIds(filter.referrerType, matchingIds(filter.next, params, depth + 1, access), params, depth, access)})`;
  }
}

/** The ids of `ids` (a sub-query) the caller may see; the sub-query itself when there is no access condition. */
function visibleIds(resourceType: string, ids: string, params: SqlParams, depth: number, access: AccessCondition | undefined): string {
  const alias = `a${depth}`;
  const condition = access?.(alias, resourceType);
  if (!condition) return ids;
  return `SELECT ${alias}.id FROM resource ${alias} WHERE ${alias}.resource_type = ${params.add(resourceType)} AND ${alias}.id IN (${ids}) AND ${condition}`;
}

/** The ids a positive value filter matches, from its index table alone; undefined where the resource table is needed. */
function indexedIds(filter: ValueFilter, params: SqlParams, access?: AccessCondition): string | undefined {
  const { code, modifier } = filter;
  if (code === '_text' || code === '_content') return textIds(filter, params);
  if (code === '_list') return listIds(filter, params, access);
  if (code === '_id' || code === '_lastUpdated' || modifier === 'not' || modifier === 'missing') return undefined;
  return `${ownerRows(filter, params)} AND (${alternatives(filter, params)})`;
}

function valueFilterCondition(filter: ValueFilter, alias: string, params: SqlParams, access: AccessCondition | undefined): string {
  const { code, modifier } = filter;
  if (code === '_id') return idCondition(filter, alias, params);
  if (code === '_lastUpdated') {
    if (modifier) throw badRequest(`Modifier :${modifier} is not supported on _lastUpdated`, `_lastUpdated:${modifier}`);
    return `(${filter.values.map((v) => dateComparison(v, `${alias}.last_updated`, `${alias}.last_updated`, params, code)).join(' OR ')})`;
  }
  if (modifier === 'missing') {
    if (filter.values.length !== 1 || !['true', 'false'].includes(filter.values[0])) throw badRequest(`:missing takes true or false`, `${code}:missing`);
    const present =
      filter.parameter.type === 'composite'
        ? `SELECT s.id FROM search_token s WHERE s.resource_type = ${params.add(filter.resourceType)} AND ${compositePresence(filter, params)}`
        : ownerRows(filter, params);
    return `${alias}.id ${filter.values[0] === 'true' ? 'NOT IN' : 'IN'} (${present})`;
  }
  if (modifier === 'not') return `${alias}.id NOT IN (${ownerRows(filter, params)} AND (${alternatives(filter, params)}))`;
  if (namesFew(filter)) return `${alias}.id = ANY(ARRAY(${indexedIds(filter, params, access)}))`;
  return `${alias}.id IN (${indexedIds(filter, params, access)})`;
}

/**
 * A search that only looks resources up by identifier (and `_id`): its plan does not depend on the
 * values (index rows first, then the resources by key), so it may be prepared and its plan reused.
 */
export function isLookup(request: SearchRequest): boolean {
  return !request.types && !request.compartments && request.filters.length > 0 && request.filters.every((f) => f.kind === 'value' && (namesFew(f) || (f.code === '_id' && !f.modifier)));
}

/**
 * An identifier with a value names one resource or a few, so its index rows are read first, once,
 * and the resources fetched by key. As a semi-join the planner may instead walk every resource of
 * the type: one table holds every type, so a type that grew since the last ANALYZE looks empty to
 * it, and each lookup (a lab's conditional update, say) then costs as much as the type holds.
 */
function namesFew(filter: ValueFilter): boolean {
  return filter.code === 'identifier' && filter.parameter.type === 'token' && !filter.modifier && filter.values.every((value) => !value.endsWith('|'));
}

/** The index rows of the filter's parameter, as `SELECT s.id … WHERE …` to extend. */
function ownerRows(filter: ValueFilter, params: SqlParams): string {
  return `SELECT s.id FROM ${tableOf(filter)} s WHERE s.resource_type = ${params.add(filter.resourceType)} AND ${rowsIn('s', filterRows(filter), params)}`;
}

function alternatives(filter: ValueFilter, params: SqlParams): string {
  return filter.values.map((value) => valueCondition(filter, value, params)).join(' OR ');
}

/**
 * `_text` (narrative) and `_content` (all text): every word of one of the alternatives must
 * occur (https://hl7.org/fhir/R4/search.html#text), answered by the GIN index on the word arrays.
 */
function textIds(filter: ValueFilter, params: SqlParams): string {
  if (filter.modifier) throw badRequest(`${filter.code} takes no modifier`, `${filter.code}:${filter.modifier}`);
  const column = filter.code === '_text' ? 'narrative' : 'content';
  const groups = filter.values.flatMap(textQuery);
  if (groups.length === 0) throw badRequest(`${filter.code} needs at least one word`, filter.code);
  const matches = groups.map((words) => `s.${column} @> ${params.add(words)}::text[]`).join(' OR ');
  return `SELECT s.id FROM search_text s WHERE s.resource_type = ${params.add(filter.resourceType)} AND (${matches})`;
}

/** `_list`: the items of the named List resources (https://hl7.org/fhir/R4/search.html#list). */
function listIds(filter: ValueFilter, params: SqlParams, access: AccessCondition | undefined): string {
  if (filter.values.some((v) => v.startsWith('$'))) throw badRequest(`Functional lists ($current-…) are not supported`, '_list');
  const lists = visibleIds('List', `SELECT unnest(${params.add(filter.values)}::text[])`, params, 0, access);
  return `SELECT s.target_id FROM search_reference s WHERE s.resource_type = 'List' AND s.code = 'item'
    AND s.target_type = ${params.add(filter.resourceType)} AND s.id IN (${lists})`;
}

function idCondition(filter: ValueFilter, alias: string, params: SqlParams): string {
  if (filter.modifier && filter.modifier !== 'not') throw badRequest(`Modifier :${filter.modifier} is not supported on _id`, `_id:${filter.modifier}`);
  return `${filter.modifier === 'not' ? 'NOT ' : ''}${alias}.id = ANY(${params.add(filter.values)}::text[])`;
}
