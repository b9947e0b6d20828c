import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type Driver = 'pglite' | 'postgres';

/** A database that exists for one bench run: the env the FHIR target needs, and its removal. */
export interface BenchDatabase {
  driver: Driver;
  /** What the table's title says about it. */
  description: string;
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** PGlite on disk in a temp folder, as `npm start` runs it. */
async function pgliteDatabase(): Promise<BenchDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'densaulyq-bench-'));
  return {
    driver: 'pglite',
    description: `PGlite on disk (${dir}), one connection`,
    env: { BENCH_DATA_DIR: dir, DATABASE_URL: '' },
    drop: async () => {
      if (process.env.BENCH_KEEP_DATABASE) return console.error(`kept ${dir} (BENCH_KEEP_DATABASE)`);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh `bench_<random>` database on the server DATABASE_URL points at, dropped afterwards. */
async function postgresDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  let version: string;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    driver: 'postgres',
    description: `PostgreSQL ${version} (${url.host}/${name}), pool of 16`,
    env: { DATABASE_URL: url.toString(), BENCH_DATA_DIR: '' },
    async drop() {
      if (process.env.BENCH_KEEP_DATABASE) return console.error(`kept ${url} (BENCH_KEEP_DATABASE)`);
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export function openBenchDatabase(driver: Driver, serverUrl?: string): Promise<BenchDatabase> {
  if (driver === 'pglite') return pgliteDatabase();
  if (!serverUrl) throw new Error('The postgres driver needs DATABASE_URL');
  return postgresDatabase(serverUrl);
}

/**
 * After a preload: a checkpoint and fresh statistics on PostgreSQL, so the first scenario is
 * measured in the steady state rather than during the write-back of the load.
 */
export async function settle(database: BenchDatabase): Promise<void> {
  if (database.driver !== 'postgres') return;
  const client = new pg.Client({ connectionString: database.env.DATABASE_URL });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
}

/** Runs `work` on a connection of its own to the server's maintenance database (CREATE/DROP DATABASE, settings). */
export async function admin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
