import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Database } from '../../src/store/driver.js';
import { openDatabase } from '../../src/store/open.js';
import { shareAuditKey } from '../../src/store/audit-append.js';

/** A database the storage, API, bulk, access and CLI suites run on, once each. */
export interface TestDriver {
  readonly name: Database['kind'];
  /** Why this run leaves the driver out (node:test's `skip` reason), or false when it runs. */
  readonly skip: string | false;
  /**
   * A fresh, migrated database for one suite. On PostgreSQL each gets a database of its own
   * (created here, dropped on close), so files run in parallel without seeing each other.
   */
  open(): Promise<Database>;
  /**
   * A new empty database for a process that opens it itself (the CLI, a started server): the
   * environment that points it there (none on PGlite, where the process's DATA_DIR holds it).
   */
  createForProcess(): Promise<ProcessDatabase>;
}

/** A database that a process of its own opens: the environment pointing it there, and its removal. */
export interface ProcessDatabase {
  env: Record<string, string>;
  drop(): Promise<void>;
}

const pglite: TestDriver = {
  name: 'pglite',
  skip: false,
  open: () => openDatabase({}),
  createForProcess: async () => ({ env: {}, drop: async () => undefined }),
};

/**
 * Every driver, PGlite always and PostgreSQL when TEST_DATABASE_URL names a server (a superuser
 * connection: each suite creates and drops its own database); without one PostgreSQL is listed
 * as skipped, so the output says what did not run.
 */
export function testDrivers(): TestDriver[] {
  const serverUrl = process.env.TEST_DATABASE_URL;
  return [pglite, serverUrl ? postgresDriver(serverUrl) : { ...postgresDriver(''), skip: 'TEST_DATABASE_URL is not set (README, "Test it")' }];
}

function postgresDriver(serverUrl: string): TestDriver {
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const create = async () => {
    const name = `densaulyq_test_${randomBytes(6).toString('hex')}`;
    await admin(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
  };
  return {
    name: 'postgres',
    skip: false,
    async createForProcess() {
      const { url, drop } = await create();
      return { env: { DATABASE_URL: url }, drop };
    },
    async open() {
      const { url, drop } = await create();
      const db = await openDatabase({ databaseUrl: url }).catch(async (error: unknown) => {
        await drop();
        throw error;
      });
      return shareAuditKey(db, {
        ...db,
        async close() {
          await db.close();
          await drop();
        },
      });
    },
  };
}
