import { badRequest } from '../fhir/outcome.js';
import type { SearchRequest } from '../fhir/search-request.js';
import { storedRows } from '../fhir/derived-index.js';
import { rowsIn } from './search-values.js';
import type { SqlParams } from './sql-params.js';

/** One key of a search's order, as an SQL expression over `resource r`. */
export interface SortKey {
  expression: string;
  type: 'timestamptz' | 'text' | 'numeric';
  descending: boolean;
  /** Resources without a value for the parameter sort last, whichever the direction. */
  nullable: boolean;
}

/** Which index column a parameter sorts by, ascending and descending (a Period sorts by its start going up, by its end going down). */
const SORT_COLUMNS: Record<string, { table: string; ascending: string; descending: string; type: SortKey['type'] }> = {
  string: { table: 'search_string', ascending: 'min(s.normalized)', descending: 'max(s.normalized)', type: 'text' },
  token: { table: 'search_token', ascending: 'min(s.value)', descending: 'max(s.value)', type: 'text' },
  date: { table: 'search_date', ascending: 'min(s.low)', descending: 'max(s.high)', type: 'timestamptz' },
  number: { table: 'search_number', ascending: 'min(s.low)', descending: 'max(s.high)', type: 'numeric' },
  quantity: { table: 'search_number', ascending: 'min(s.low)', descending: 'max(s.high)', type: 'numeric' },
  uri: { table: 'search_uri', ascending: 'min(s.value)', descending: 'max(s.value)', type: 'text' },
  reference: { table: 'search_reference', ascending: 'min(s.reference)', descending: 'max(s.reference)', type: 'text' },
};

/**
 * The order of a search (https://hl7.org/fhir/R4/search.html#sort): the `_sort` keys, then the
 * id, so the order is total and a keyset cursor is exact. Without `_sort`, oldest change first.
 */
export function sortKeys(request: SearchRequest, params: SqlParams): SortKey[] {
  const keys: SortKey[] = request.sort.map((rule) => {
    if (rule.code === '_id') return { expression: 'r.id', type: 'text', descending: rule.descending, nullable: false };
    if (rule.code === '_lastUpdated') return { expression: 'r.last_updated', type: 'timestamptz', descending: rule.descending, nullable: false };
    const column = SORT_COLUMNS[rule.parameter?.type ?? ''];
    if (!column) throw badRequest(`Cannot sort by "${rule.code}"`, '_sort');
    const aggregate = rule.descending ? column.descending : column.ascending;
    return {
      expression: `(SELECT ${aggregate} FROM ${column.table} s WHERE s.resource_type = r.resource_type AND s.id = r.id AND ${rowsIn('s', storedRows(request.resourceType, rule.code), params)})`,
      type: column.type,
      descending: rule.descending,
      nullable: true,
    };
  });
  if (keys.length === 0) keys.push({ expression: 'r.last_updated', type: 'timestamptz', descending: false, nullable: false });
  if (!keys.some((k) => k.expression === 'r.id')) keys.push({ expression: 'r.id', type: 'text', descending: false, nullable: false });
  return keys;
}

export function orderBy(keys: SortKey[]): string {
  return keys.map((k) => `${k.expression} ${k.descending ? 'DESC' : 'ASC'} NULLS LAST`).join(', ');
}

/** The sort values of each row, selected as text so they can go into a cursor. */
export function sortColumns(keys: SortKey[]): string {
  return keys.map((k, i) => `(${k.expression})::text AS sort_${i}`).join(', ');
}

/**
 * Rows strictly after the cursor's row in the sort order: keyset paging, so a deep page costs
 * what the first does, and rows added or removed meanwhile shift nothing.
 */
export function keysetCondition(keys: SortKey[], values: (string | null)[], params: SqlParams): string {
  // Same direction and never null: one row comparison, which an index on the keys reads as a range.
  if (keys.every((k) => !k.nullable && k.descending === keys[0].descending) && values.every((v) => v !== null)) {
    const bounds = keys.map((k, i) => `${params.add(values[i])}::${k.type}`);
    return `(${keys.map((k) => k.expression).join(', ')}) ${keys[0].descending ? '<' : '>'} (${bounds.join(', ')})`;
  }
  const bound = keys.map((k, i) => (values[i] === null ? null : `${params.add(values[i])}::${k.type}`));
  const equal = (i: number) => (bound[i] === null ? `${keys[i].expression} IS NULL` : `${keys[i].expression} = ${bound[i]}`);
  const alternatives: string[] = [];
  keys.forEach((key, i) => {
    // After a missing value come only other missing values, which the later keys order.
    if (bound[i] === null) return;
    const after = `${key.expression} ${key.descending ? '<' : '>'} ${bound[i]}${key.nullable ? ` OR ${key.expression} IS NULL` : ''}`;
    alternatives.push([...keys.slice(0, i).map((_, j) => equal(j)), `(${after})`].join(' AND '));
  });
  return alternatives.length ? `(${alternatives.map((a) => `(${a})`).join(' OR ')})` : 'false';
}

export function encodeCursor(values: (string | null)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, length: number): (string | null)[] {
  try {
    const values: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.length === length && values.every((v) => typeof v === 'string' || v === null)) return values;
  } catch {
    // fall through to the error below
  }
  throw badRequest(`Invalid paging cursor`, '_cursor');
}
