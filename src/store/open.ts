import { bindAuditKey } from './audit-append.js';
import { assertAuditKey } from './audit-chain.js';
import { type AuditKey, processAuditKey } from './audit-key.js';
import type { Database } from './driver.js';
import { migrate } from './migrations.js';
import { openPglite } from './pglite-driver.js';
import { openPostgres } from './postgres-driver.js';

export interface StorageOptions {
  /** postgres://… selects a PostgreSQL server; otherwise the embedded PGlite database is used. */
  databaseUrl?: string;
  /** PGlite's data folder; undefined keeps it in memory (tests). */
  dataDir?: string;
  /**
   * The audit chain's key (AUDIT_KEY_FILE), checked against the chains' seals on open. Without
   * one, the process's own unsaved key (`processAuditKey`): for tests and benches only.
   */
  auditKey?: AuditKey;
  /** Connections in the PostgreSQL pool (Config.dbPoolSize). */
  poolSize?: number;
}

/** Opens the configured database, bound to its audit key, and brings its schema up to date. */
export async function openDatabase(options: StorageOptions): Promise<Database> {
  const key = options.auditKey ?? processAuditKey();
  const db = options.databaseUrl ? await openPostgres(options.databaseUrl, options.poolSize) : await openPglite(options.dataDir);
  bindAuditKey(db, key);
  try {
    await migrate(db, key);
    if (options.auditKey) await assertAuditKey(db, options.auditKey);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}
