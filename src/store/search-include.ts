import { storedRows } from '../fhir/derived-index.js';
import type { IncludeRequest } from '../fhir/search-request.js';
import { rowsIn } from './search-values.js';
import type { SqlParams } from './sql-params.js';

/**
 * The WHERE condition over `resource r` selecting what one `_include` or `_revinclude` adds
 * for the resources `ids` of type `resourceType`, through the reference index
 * (https://hl7.org/fhir/R4/search.html#include). Undefined when it cannot apply to that type.
 */
export function includeCondition(include: IncludeRequest, resourceType: string, ids: string[], params: SqlParams): string | undefined {
  const anyCode = include.code === '*';
  if (!include.reverse) {
    if (include.sourceType !== resourceType) return undefined;
    const conditions = [`s.resource_type = ${params.add(resourceType)}`, `s.id = ANY(${params.add(ids)}::text[])`, 's.target_id IS NOT NULL'];
    if (!anyCode) conditions.push(rowsIn('s', storedRows(resourceType, include.code), params));
    if (include.targetType) conditions.push(`s.target_type = ${params.add(include.targetType)}`);
    return `(r.resource_type, r.id) IN (SELECT s.target_type, s.target_id FROM search_reference s WHERE ${conditions.join(' AND ')})`;
  }
  if (include.targetType && include.targetType !== resourceType) return undefined;
  const conditions = [`s.target_type = ${params.add(resourceType)}`, `s.target_id = ANY(${params.add(ids)}::text[])`];
  // `_revinclude=*`: whatever refers to the matches, through any parameter.
  if (!anyCode) conditions.push(`s.resource_type = ${params.add(include.sourceType)}`, rowsIn('s', storedRows(include.sourceType, include.code), params));
  return `(r.resource_type, r.id) IN (SELECT s.resource_type, s.id FROM search_reference s WHERE ${conditions.join(' AND ')})`;
}
