/** The storage interface both drivers (PGlite, PostgreSQL) implement; one SQL dialect serves both. */
export interface QueryOptions {
  /**
   * Name under which a hot, fixed statement is prepared once per connection, so PostgreSQL
   * skips parsing and planning it on every call (PGlite runs in-process and ignores it).
   */
  prepare?: string;
}

export interface SqlClient {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<T[]>;
}

export interface Database extends SqlClient {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs `work` in one SQL transaction: committed when it resolves, rolled back when it throws.
   * Serialization failures and deadlocks are retried, so `work` must be safe to run again.
   */
  transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** SQLSTATEs after which PostgreSQL asks the client to run the transaction again. */
export const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
export const MAX_TRANSACTION_ATTEMPTS = 5;

export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}
