import { resolve } from 'node:path';

/** Requests per minute; 0 switches a limit off (src/http/rate-limits.ts). */
export interface RateLimitSettings {
  perIp: number;
  perClient: number;
  login: number;
}

/** The limits when RATE_LIMIT_PER_MINUTE_* are not set. */
export const DEFAULT_RATE_LIMITS: RateLimitSettings = { perIp: 1200, perClient: 6000, login: 60 };

/** How the Subscription delivery worker (src/exchange/delivery.ts) retries (config: SUBSCRIPTION_*). */
export interface DeliverySettings {
  /** Milliseconds between looks at the outbox when idle. */
  pollMs: number;
  /**
   * The least time between the starts of two rounds while events keep coming: a round then carries
   * the events of that many milliseconds in one notification per subscription, rather than one
   * notification, POST and settle per write.
   */
  batchMs: number;
  /** Tries of one event before it goes to the dead-letter list. */
  maxAttempts: number;
  /** The first retry's delay; each further failure doubles it, up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a subscriber has to answer a POST. */
  timeoutMs: number;
}

export const DEFAULT_DELIVERY: DeliverySettings = { pollMs: 200, batchMs: 50, maxAttempts: 8, retryBaseMs: 1000, retryMaxMs: 300_000, timeoutMs: 10_000 };

export interface Config {
  port: number;
  host: string;
  /** PGlite's data folder (ignored when databaseUrl is set); the CLI's socket to a running server lives here too. */
  dataDir: string;
  databaseUrl?: string;
  /** Connections in the PostgreSQL pool (DB_POOL_SIZE, 16). */
  dbPoolSize: number;
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
  /** Synthetic patients seeded into an empty embedded database by `serve` (DEMO_PATIENTS, 500; 0: none). */
  demoPatients: number;
  /** Subscription notifications: SUBSCRIPTION_POLL_MS, _MAX_ATTEMPTS, _RETRY_BASE_MS, _RETRY_MAX_MS, _TIMEOUT_MS. */
  subscriptionDelivery: DeliverySettings;
  /** Rate limits (RATE_LIMIT_PER_MINUTE_IP, _CLIENT, _LOGIN) and the origins allowed across origins (CORS_ORIGINS). */
  hardening: { rateLimits: RateLimitSettings; corsOrigins: string[] };
  /** The HL7 v2 listener for labs and hospitals' systems (src/hl7v2/mllp-server.ts). */
  mllp: MllpSettings;
}

export interface MllpSettings {
  /** MLLP_HOST, 127.0.0.1: labs reach it through a VPN or TLS terminator unless set otherwise. */
  host: string;
  /** MLLP_PORT, 2575 (the port IANA registered for HL7 over MLLP); 0 takes a free port. */
  port: number;
  /** MLLP_TLS_CERT and MLLP_TLS_KEY, PEM files: both or neither. */
  tls?: { certFile: string; keyFile: string };
  /** MLLP_MAX_MESSAGE_MB, 10: a result may carry an embedded PDF report. */
  maxMessageBytes: number;
}

/** A setting the platform cannot start with; the message names the variable. */
export class ConfigError extends Error {}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Every setting from the environment, parsed and checked once: a wrong value stops start-up here. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const setting = (name: string) => (env[name] === '' ? undefined : env[name]);
  const dataDir = resolve(setting('DATA_DIR') ?? 'data');
  const port = integer(setting('PORT'), 8080, 'PORT', { max: 65_535 });
  const databaseUrl = setting('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const logLevel = setting('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);
  const publicBaseUrl = setting('PUBLIC_BASE_URL');
  if (publicBaseUrl !== undefined) httpUrl(publicBaseUrl, 'PUBLIC_BASE_URL');
  const publicOrigin = setting('PUBLIC_ORIGIN');
  if (publicOrigin !== undefined) origin(publicOrigin, 'PUBLIC_ORIGIN');
  return {
    port,
    host: setting('HOST') ?? '0.0.0.0',
    dataDir,
    databaseUrl,
    dbPoolSize: integer(setting('DB_POOL_SIZE'), 16, 'DB_POOL_SIZE', { min: 1 }),
    bodyLimit: integer(setting('BODY_LIMIT_MB'), 64, 'BODY_LIMIT_MB', { min: 1 }) * 1024 * 1024,
    maxBundleEntries: integer(setting('MAX_BUNDLE_ENTRIES'), 20_000, 'MAX_BUNDLE_ENTRIES', { min: 1 }),
    logLevel,
    publicBaseUrl,
    origin: (publicOrigin ?? `http://localhost:${port}`).replace(/\/$/, ''),
    adminSecret: setting('DENSAULYQ_ADMIN_SECRET'),
    auditKeyFile: resolve(setting('AUDIT_KEY_FILE') ?? resolve(dataDir, 'audit', 'chain.key')),
    auditAnchorDir: resolve(setting('AUDIT_ANCHOR_DIR') ?? resolve(dataDir, 'audit', 'anchors')),
    auditAnchorSeconds: integer(setting('AUDIT_ANCHOR_SECONDS'), 60, 'AUDIT_ANCHOR_SECONDS'),
    demoPatients: integer(setting('DEMO_PATIENTS'), 500, 'DEMO_PATIENTS'),
    subscriptionDelivery: {
      pollMs: integer(setting('SUBSCRIPTION_POLL_MS'), DEFAULT_DELIVERY.pollMs, 'SUBSCRIPTION_POLL_MS', { min: 10 }),
      batchMs: integer(setting('SUBSCRIPTION_BATCH_MS'), DEFAULT_DELIVERY.batchMs, 'SUBSCRIPTION_BATCH_MS', { min: 0 }),
      maxAttempts: integer(setting('SUBSCRIPTION_MAX_ATTEMPTS'), DEFAULT_DELIVERY.maxAttempts, 'SUBSCRIPTION_MAX_ATTEMPTS', { min: 1 }),
      retryBaseMs: integer(setting('SUBSCRIPTION_RETRY_BASE_MS'), DEFAULT_DELIVERY.retryBaseMs, 'SUBSCRIPTION_RETRY_BASE_MS', { min: 1 }),
      retryMaxMs: integer(setting('SUBSCRIPTION_RETRY_MAX_MS'), DEFAULT_DELIVERY.retryMaxMs, 'SUBSCRIPTION_RETRY_MAX_MS', { min: 1 }),
      timeoutMs: integer(setting('SUBSCRIPTION_TIMEOUT_MS'), DEFAULT_DELIVERY.timeoutMs, 'SUBSCRIPTION_TIMEOUT_MS', { min: 100 }),
    },
    hardening: {
      rateLimits: {
        perIp: integer(setting('RATE_LIMIT_PER_MINUTE_IP'), DEFAULT_RATE_LIMITS.perIp, 'RATE_LIMIT_PER_MINUTE_IP'),
        perClient: integer(setting('RATE_LIMIT_PER_MINUTE_CLIENT'), DEFAULT_RATE_LIMITS.perClient, 'RATE_LIMIT_PER_MINUTE_CLIENT'),
        login: integer(setting('RATE_LIMIT_PER_MINUTE_LOGIN'), DEFAULT_RATE_LIMITS.login, 'RATE_LIMIT_PER_MINUTE_LOGIN'),
      },
      corsOrigins: origins(setting('CORS_ORIGINS')),
    },
    mllp: mllpSettings(setting),
  };
}

function mllpSettings(setting: (name: string) => string | undefined): MllpSettings {
  const cert = setting('MLLP_TLS_CERT');
  const key = setting('MLLP_TLS_KEY');
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('MLLP_TLS_CERT and MLLP_TLS_KEY go together: set both for TLS, or neither');
  return {
    host: setting('MLLP_HOST') ?? '127.0.0.1',
    port: integer(setting('MLLP_PORT'), 2575, 'MLLP_PORT', { max: 65_535 }),
    ...(cert && key ? { tls: { certFile: resolve(cert), keyFile: resolve(key) } } : {}),
    maxMessageBytes: integer(setting('MLLP_MAX_MESSAGE_MB'), 10, 'MLLP_MAX_MESSAGE_MB', { min: 1 }) * 1024 * 1024,
  };
}

function integer(value: string | undefined, fallback: number, name: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, not "${value}"`);
  }
  return n;
}

function httpUrl(value: string, name: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new ConfigError(`${name} must be an http:// or https:// URL, not "${value}"`);
  return url;
}

/** Exact origins only (`https://app.example`): a mistyped one fails at start rather than allowing nothing. */
function origin(value: string, name: string): string {
  const trimmed = value.trim().replace(/\/$/, '');
  let url: URL | undefined;
  try {
    url = new URL(trimmed);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== trimmed) {
    throw new ConfigError(`${name}: "${value}" is not an origin such as https://app.example`);
  }
  return trimmed;
}

function origins(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => origin(entry, 'CORS_ORIGINS'));
}
