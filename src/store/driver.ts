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
   * Statements the work sent and did not wait for are part of it: COMMIT may go out right behind
   * them, and if one of them fails the transaction is rolled back and fails with that error.
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

/**
 * The statements one transaction sent, for what Database.transaction promises about those its
 * work did not wait for. Their answers come in the order they were sent.
 */
export class SentStatements {
  private last: Promise<unknown> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  /** Follows `answer`; a failure is heard here, so one the work has not awaited yet is no unhandled rejection. */
  track<T>(answer: Promise<T>): Promise<T> {
    this.last = answer.then(
      () => undefined,
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    return answer;
  }

  /** Settles once every statement sent so far has its answer. */
  drained(): Promise<unknown> {
    return this.last;
  }

  /** Resolves when every statement sent so far succeeded; otherwise rejects with the first failure. */
  async settled(): Promise<void> {
    await this.last;
    if (this.failure) throw this.failure.error;
  }

  /**
   * What a failed work is reported as: when all it heard was a later statement refused because the
   * transaction was already aborted (25P02), the first statement's own failure, which may be one
   * to run again (a serialization failure).
   */
  cause(error: unknown): unknown {
    return this.failure && (error as { code?: unknown } | null)?.code === '25P02' ? this.failure.error : error;
  }
}
