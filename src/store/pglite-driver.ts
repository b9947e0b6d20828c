import { PGlite } from '@electric-sql/pglite';
import { type Database, type SqlClient, MAX_TRANSACTION_ATTEMPTS, SentStatements, isRetryable } from './driver.js';

/**
 * Embedded PostgreSQL (WebAssembly, in-process). `dataDir` undefined keeps the database in memory.
 * PGlite runs one statement at a time and its `transaction()` holds the instance exclusively,
 * so transactions never interleave here. It is one database session.
 */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  const db = dataDir ? new PGlite(dataDir) : new PGlite();
  await db.waitReady;
  const wrap = (client: Pick<PGlite, 'query'>): SqlClient => ({
    async query<T>(sql: string, params?: readonly unknown[]) {
      const result = await client.query<T>(sql, params as unknown[] | undefined);
      return result.rows;
    },
  });
  const plain = wrap(db);
  // PGlite has no STDIN: COPY reads the rows from a Blob it exposes as /dev/blob.
  // https://pglite.dev/docs/api#query-options (blob)
  const copying = (tx: Pick<PGlite, 'query'>): SqlClient => ({
    ...wrap(tx),
    async copyFrom(table, columns, text) {
      await tx.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`, [], { blob: new Blob([text]) });
    },
  });
  return {
    kind: 'pglite',
    query: plain.query,
    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        const sent = new SentStatements();
        try {
          return await db.transaction(async (tx) => {
            const client = copying(tx);
            const result = await work({ ...client, query: (sql, params, options) => sent.track(client.query(sql, params, options)) });
            // What the work sent without waiting settles before COMMIT: a failure among it is the transaction's.
            await sent.settled();
            return result;
          });
        } catch (failure) {
          const error = sent.cause(failure);
          if (attempt >= MAX_TRANSACTION_ATTEMPTS || !isRetryable(error)) throw error;
        }
      }
    },
    async listen(channel, listener) {
      // In-process: a notification cannot be lost while the instance is open.
      await db.listen(channel, (payload) => listener.notify(payload));
      listener.live(true);
    },
    close: () => db.close(),
  };
}
