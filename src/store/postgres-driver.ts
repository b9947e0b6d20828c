import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { type ChangeListener, type Database, type QueryOptions, type SqlClient, MAX_TRANSACTION_ATTEMPTS, SentStatements, isRetryable } from './driver.js';

/** How long the listening connection waits before connecting again after it was lost. */
const RELISTEN_MS = 1000;

/**
 * One connection of its own that LISTENs on every channel asked for; when it is lost the listeners
 * hear `live(false)`, and `live(true)` once a new one listens again.
 */
function notifications(connectionString: string) {
  const channels = new Map<string, ChangeListener[]>();
  let client: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;
  const each = (f: (listener: ChangeListener) => void) => {
    for (const listeners of channels.values()) listeners.forEach(f);
  };
  const lost = (gone: pg.Client) => {
    if (client !== gone) return;
    client = undefined;
    each((l) => l.live(false));
    if (!closed) setTimeout(() => void connect().catch(() => undefined), RELISTEN_MS).unref();
  };
  const connect = (): Promise<void> =>
    (connecting ??= (async () => {
      const next = new pg.Client({ connectionString });
      next.on('notification', (message) => {
        for (const listener of channels.get(message.channel) ?? []) listener.notify(message.payload ?? '');
      });
      next.on('error', () => lost(next));
      next.on('end', () => lost(next));
      try {
        await next.connect();
        for (const channel of channels.keys()) await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch (error) {
        await next.end().catch(() => undefined);
        if (!closed) setTimeout(() => void connect().catch(() => undefined), RELISTEN_MS).unref();
        throw error;
      } finally {
        connecting = undefined;
      }
      if (closed) {
        await next.end();
        return;
      }
      client = next;
      each((l) => l.live(true));
    })());
  return {
    async listen(channel: string, listener: ChangeListener): Promise<void> {
      const known = channels.get(channel);
      channels.set(channel, [...(known ?? []), listener]);
      if (client && !known) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      if (client) listener.live(true);
      else await connect().catch(() => undefined);
    },
    async close(): Promise<void> {
      closed = true;
      await connecting?.catch(() => undefined);
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
    },
  };
}

/**
 * Whether `client` writes each query at once instead of waiting for the answer to the previous
 * one (node-postgres' pipeline mode: one Sync per query, so each still succeeds or fails alone).
 * Statements a transaction sends without awaiting then share the round trip to the server; the
 * server still runs them in order.
 */
function setPipelined(client: pg.PoolClient, on: boolean): void {
  (client as unknown as { pipeline: boolean }).pipeline = on;
}

/**
 * Holds what is written to `client`'s socket until the end of this turn of the event loop, so the
 * statements a transaction sends together leave in one write: on virtual machines each write to
 * a loopback socket costs about as much as the statement it carries.
 */
function holdWrites(client: pg.PoolClient): void {
  const { stream } = (client as unknown as { connection: { stream: Duplex } }).connection;
  if (stream.writableCorked > 0) return;
  stream.cork();
  setImmediate(() => stream.uncork());
}

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
  const listening = notifications(connectionString);
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
        // Every statement of the transaction goes out as soon as it is asked for: BEGIN shares
        // the first statement's round trip, and statements the work sends together share one.
        setPipelined(client, true);
        const wrapped = wrap(client);
        const sent = new SentStatements();
        const query = <T>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<T[]> => {
          holdWrites(client);
          return sent.track(wrapped.query<T>(sql, params, options));
        };
        try {
          query('BEGIN');
          const { processID } = client as unknown as { processID: number | null };
          const result = await work({
            query,
            ...(processID === null ? {} : { session: processID }),
            async copyFrom(table, columns, text) {
              // COPY keeps the connection for its own exchange, which pipeline mode refuses: it
              // waits for what was sent before it, and runs with the connection to itself.
              await sent.drained();
              setPipelined(client, false);
              try {
                await pipeline([text], client.query(copyFromStdin(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
              } finally {
                setPipelined(client, true);
              }
            },
          });
          // COMMIT goes out behind what the work sent without waiting for it (see Database.transaction).
          // A statement that failed aborted the transaction, and PostgreSQL answers COMMIT with
          // ROLLBACK, not an error: the statement's own error is the one to report.
          holdWrites(client);
          const commit = sent.track(client.query('COMMIT'));
          await sent.settled();
          if ((await commit).command !== 'COMMIT') throw new Error('the transaction was rolled back at COMMIT: one of its statements had failed');
          return result;
        } catch (failure) {
          const error = sent.cause(failure);
          broken = await client.query('ROLLBACK').then(
            () => undefined,
            (rollbackFailed: Error) => rollbackFailed,
          );
          if (attempt >= MAX_TRANSACTION_ATTEMPTS || !isRetryable(error)) throw error;
        } finally {
          setPipelined(client, false);
          client.off('error', ignoreLost);
          // A connection whose ROLLBACK failed is in an unknown state: the pool destroys it.
          client.release(broken);
        }
      }
    },
    listen: listening.listen,
    close: async () => {
      await listening.close();
      await pool.end();
    },
  };
}
