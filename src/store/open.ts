import type { Database } from './driver.js';
import { migrate } from './migrations.js';
import { openPglite } from './pglite-driver.js';
import { openPostgres } from './postgres-driver.js';

export interface StorageOptions {
  /** postgres://… selects a PostgreSQL server; otherwise the embedded PGlite database is used. */
  databaseUrl?: string;
  /** PGlite's data folder; undefined keeps it in memory (tests). */
  dataDir?: string;
}

/** Opens the configured database and brings its schema up to date. */
export async function openDatabase(options: StorageOptions): Promise<Database> {
  const db = options.databaseUrl ? await openPostgres(options.databaseUrl) : await openPglite(options.dataDir);
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
