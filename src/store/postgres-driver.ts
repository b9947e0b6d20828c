import pg from 'pg';
import { type Database, type QueryOptions, type SqlClient, MAX_TRANSACTION_ATTEMPTS, isRetryable } from './driver.js';

/** A pool of connections to a PostgreSQL 15+ server. */
export async function openPostgres(connectionString: string, poolSize = 16): Promise<Database> {
  const wrap = (client: pg.Pool | pg.ClientBase): SqlClient => ({
    async query<T>(sql: string, params?: readonly unknown[], options?: QueryOptions) {
      const values = params as unknown[] | undefined;
      const result = options?.prepare ? await client.query({ name: options.prepare, text: sql, values }) : await client.query(sql, values);
      return result.rows as T[];
    },
  });
  const pool = new pg.Pool({ connectionString, max: poolSize });
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
        // The pool listens for errors on idle connections only: a connection lost while checked
        // out reports on the client, and unheard that would end the process. The work's next
        // query fails on its own, so there is nothing more to do with the event.
        const ignoreLost = () => undefined;
        client.on('error', ignoreLost);
        let broken: Error | undefined;
        try {
          await client.query('BEGIN');
          const result = await work(wrap(client));
          await client.query('COMMIT');
          return result;
        } catch (error) {
          broken = await client.query('ROLLBACK').then(
            () => undefined,
            (rollbackFailed: Error) => rollbackFailed,
          );
          if (attempt >= MAX_TRANSACTION_ATTEMPTS || !isRetryable(error)) throw error;
        } finally {
          client.off('error', ignoreLost);
          // A connection whose ROLLBACK failed is in an unknown state: the pool destroys it.
          client.release(broken);
        }
      }
    },
    close: () => pool.end(),
  };
}
