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
  /**
   * `COPY table (columns) FROM STDIN` of rows in COPY's text format (src/store/copy-text.ts): the
   * fastest way in for many rows. Only on a transaction's client, so the rows commit with the rest.
   */
  copyFrom?(table: string, columns: readonly string[], text: string): Promise<void>;
  /**
   * The server process a transaction's statements run in (its `pg_backend_pid()`), where the
   * driver knows it without asking: only on a transaction's client, only on PostgreSQL.
   */
  readonly session?: number;
}

/** Receives the notifications of one channel (PostgreSQL LISTEN/NOTIFY). */
export interface ChangeListener {
  notify(payload: string): void;
  /**
   * Whether notifications now arrive: false when the listening connection was lost (some may be
   * missed until it is back), true once it listens again. Called at each change, first with true.
   */
  live(listening: boolean): void;
}

export interface Database extends SqlClient {
  readonly kind: 'pglite' | 'postgres';
  /** Delivers `channel`'s notifications to `listener` until the database is closed; reconnects when the connection is lost. */
  listen(channel: string, listener: ChangeListener): Promise<void>;
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
