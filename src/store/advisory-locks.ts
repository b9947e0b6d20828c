import type { SqlClient } from './driver.js';

/**
 * Takes a transaction-scoped advisory lock on each of `keys` in ONE statement, in sorted order, so
 * two transactions locking overlapping sets wait for each other rather than deadlock. Held until
 * the transaction ends.
 */
export async function lockKeys(client: SqlClient, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const sorted = [...new Set(keys)].sort();
  await client.query(`SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest($1::text[]) AS k`, [sorted], { prepare: 'lock-keys' });
}
