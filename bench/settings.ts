/** Where benchmarks write their JSON results (ignored by git). */
export const OUT_DIR = '.bench';

/** A non-negative integer setting from the environment, or its default. */
export function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not "${text}"`);
  return value;
}

/**
 * The environment of a `densaulyq serve` a bench drives under load: its own data folder and audit
 * key, loopback ports (MLLP off unless given), no demo population, quiet logs, and no rate limits:
 * the load comes from one address, far above any one client's rate, and the limits would refuse it.
 */
export function servedEnv(server: { database: Record<string, string | undefined>; dir: string; keyFile: string; port: number; mllpPort?: number; origin: string }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...server.database,
    DATA_DIR: server.dir,
    AUDIT_KEY_FILE: server.keyFile,
    PORT: String(server.port),
    HOST: '127.0.0.1',
    MLLP_PORT: String(server.mllpPort ?? 0),
    DEMO_PATIENTS: '0',
    LOG_LEVEL: 'warn',
    PUBLIC_ORIGIN: server.origin,
    RATE_LIMIT_PER_MINUTE_IP: '0',
    RATE_LIMIT_PER_MINUTE_CLIENT: '0',
  };
}
