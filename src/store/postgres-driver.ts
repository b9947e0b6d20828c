import pg from 'pg';
import { type Database, type QueryOptions, type SqlClient, MAX_TRANSACTION_ATTEMPTS, isRetryable } from './driver.js';

/**
 * A pool of connections to a PostgreSQL 15+ server. `setupSession` runs on each new connection
 * before the pool hands it out (session settings such as the audit key outlive transactions but
 * not connections; a transaction-mode pooler in between would lose them).
 */
export async function openPostgres(
  connectionString: string,
  setupSession: (session: SqlClient) => Promise<void>,
  poolSize = 16,
): Promise<Database> {
  const wrap = (client: pg.Pool | pg.ClientBase): SqlClient => ({
    async query<T>(sql: string, params?: readonly unknown[], options?: QueryOptions) {
      const values = params as unknown[] | undefined;
      const result = options?.prepare ? await client.query({ name: options.prepare, text: sql, values }) : await client.query(sql, values);
      return result.rows as T[];
    },
  });
  const pool = new pg.Pool({ connectionString, max: poolSize, onConnect: (client) => setupSession(wrap(client)) });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it. Nothing to log about the data.
  });
  const plain = wrap(pool);
  return {
    kind: 'postgres',
    query: plain.query,
    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const result = await work(wrap(client));
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          if (attempt >= MAX_TRANSACTION_ATTEMPTS || !isRetryable(error)) throw error;
        } finally {
          client.release();
        }
      }
    },
    close: () => pool.end(),
  };
}
