import { resolve } from 'node:path';

export interface Config {
  port: number;
  host: string;
  /** PGlite's data folder (ignored when databaseUrl is set). */
  dataDir: string;
  databaseUrl?: string;
  /** Largest request body in bytes; the default takes 50 MB transaction Bundles. */
  bodyLimit: number;
  maxBundleEntries: number;
  logLevel: string;
  /** The public base URL of the FHIR API, when it differs from what requests show (behind a proxy). */
  publicBaseUrl?: string;
  /** Where the platform is reached from outside: the OAuth issuer is `{origin}/auth`. */
  origin: string;
  /** Bootstrap secret of the client registry's admin API (DENSAULYQ_ADMIN_SECRET). */
  adminSecret?: string;
  /** The audit chain's key, outside the database (AUDIT_KEY_FILE; DATA_DIR/audit/chain.key). */
  auditKeyFile: string;
  /** The folder the server writes audit anchors to (AUDIT_ANCHOR_DIR; DATA_DIR/audit/anchors). */
  auditAnchorDir: string;
  /** Seconds between audit anchors (AUDIT_ANCHOR_SECONDS; 0: only at start and stop). */
  auditAnchorSeconds: number;
}

function integer(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not "${value}"`);
  return n;
}

/** Settings from the environment (PORT, HOST, DATA_DIR, DATABASE_URL, BODY_LIMIT_MB, PUBLIC_ORIGIN, AUDIT_KEY_FILE, …). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: integer(env.PORT, 8080, 'PORT'),
    host: env.HOST ?? '0.0.0.0',
    dataDir: resolve(env.DATA_DIR ?? 'data'),
    databaseUrl: env.DATABASE_URL || undefined,
    bodyLimit: integer(env.BODY_LIMIT_MB, 64, 'BODY_LIMIT_MB') * 1024 * 1024,
    maxBundleEntries: integer(env.MAX_BUNDLE_ENTRIES, 20_000, 'MAX_BUNDLE_ENTRIES'),
    logLevel: env.LOG_LEVEL ?? 'info',
    publicBaseUrl: env.PUBLIC_BASE_URL || undefined,
    origin: (env.PUBLIC_ORIGIN || `http://localhost:${integer(env.PORT, 8080, 'PORT')}`).replace(/\/$/, ''),
    adminSecret: env.DENSAULYQ_ADMIN_SECRET || undefined,
    auditKeyFile: resolve(env.AUDIT_KEY_FILE || resolve(env.DATA_DIR ?? 'data', 'audit', 'chain.key')),
    auditAnchorDir: resolve(env.AUDIT_ANCHOR_DIR || resolve(env.DATA_DIR ?? 'data', 'audit', 'anchors')),
    auditAnchorSeconds: integer(env.AUDIT_ANCHOR_SECONDS, 60, 'AUDIT_ANCHOR_SECONDS'),
  };
}
