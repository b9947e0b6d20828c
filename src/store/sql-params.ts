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
