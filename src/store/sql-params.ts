import { createHash } from 'node:crypto';

/** Collects positional parameters while a statement is built. */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** A name for a prepared statement (QueryOptions.prepare), from its text: one name per distinct text (per caller kind). */
export function statementName(prefix: string, sql: string): string {
  // 96 bits: the shapes a server sees (one per access context and search) never collide, where a collision would fail every query of both.
  return `${prefix}-${createHash('sha1').update(sql).digest('base64url').slice(0, 16)}`;
}

/** Up to how many values a list of them (`valueList`) makes a statement worth preparing, one per count: a search or a write names one patient or a few. */
export const PREPARED_LIST_MAX = 16;

/**
 * `(VALUES ($1), ($2), …)`, one parameter per value: the planner sizes a literal array by its
 * length but an array parameter at ten, so a generic plan over an array would never be chosen (and,
 * sized so, would hash whole tables); a list of values is sized alike by both, so a statement over
 * it is planned once per length.
 */
export function valueList(params: SqlParams, values: readonly unknown[]): string {
  return `(VALUES ${values.map((value) => `(${params.add(value)})`).join(', ')})`;
}
