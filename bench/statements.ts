/**
 * What a request costs inside PostgreSQL: statement by statement from pg_stat_statements
 * (https://www.postgresql.org/docs/15/pgstatstatements.html): calls, execution time (lock waits
 * included; the commit's WAL flush comes after the statement and is not) and WAL bytes, per
 * request — available only when the server preloads the module
 * (`shared_preload_libraries=pg_stat_statements`); and what the sessions wait for, sampled
 * from pg_stat_activity.
 */
import type pg from 'pg';

export interface StatementCost {
  /** What the statement is, by its shape (see `kind`), or its first words. */
  kind: string;
  callsPerRequest: number;
  /** Mean execution time of one call. */
  usPerCall: number;
  /** Mean planning time of one call (0 unless the server sets pg_stat_statements.track_planning). */
  planUsPerCall: number;
  usPerRequest: number;
  walBytesPerRequest: number;
}

/** True when pg_stat_statements can be used in this database (the server preloads it). */
export async function enableStatements(client: pg.Client): Promise<boolean> {
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await client.query('SELECT pg_stat_statements_reset()');
    return true;
  } catch {
    return false;
  }
}

export async function resetStatements(client: pg.Client): Promise<void> {
  await client.query('SELECT pg_stat_statements_reset()');
}

/** The shapes of the platform's statements a request runs; anything else is named by its first words. */
function kind(query: string): string {
  const sql = query.replace(/\s+/g, ' ').trim();
  if (/^BEGIN/i.test(sql)) return 'BEGIN';
  if (/^COMMIT/i.test(sql)) return 'COMMIT';
  if (/FROM oauth_payload/.test(sql)) return 'token revocation check (oauth_payload)';
  if (/FROM app_user/.test(sql)) return 'account look-up (clinical access grant)';
  const conditioned = /care_relationship/.test(sql) ? ' + access condition' : '';
  if (/INTO audit_event/.test(sql)) return 'audit append';
  if (/FROM audit_head/.test(sql)) return 'audit head (locked)';
  if (/pg_advisory_xact_lock/.test(sql)) return 'conditional criteria lock';
  if (/FROM subscription s/.test(sql)) return 'subscriptions matching the write';
  if (/hl7v2_message/.test(sql)) return `HL7 v2 message log: ${sql.split(' ')[0]}`;
  if (/INSERT INTO resource /.test(sql)) return 'write (resource, history, index rows)';
  if (/^SELECT p\.patient/.test(sql)) return 'judgement or audit basis of patients';
  if (/AS compartment, .* AS resource_type/.test(sql)) return "door's check of a write";
  if (/FROM resource r/.test(sql)) return `select${conditioned}`;
  return sql.slice(0, 60);
}

/** The statements of this database since the last reset, most expensive first, per request of `requests`. */
export async function readStatements(client: pg.Client, requests: number): Promise<StatementCost[]> {
  const { rows } = await client.query<{ query: string; calls: string; total: number; plan: number; wal: string }>(
    `SELECT query, calls::text, total_exec_time AS total, total_plan_time AS plan, wal_bytes::text AS wal FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_stat_activity%'`,
  );
  const byKind = new Map<string, { calls: number; ms: number; planMs: number; wal: number }>();
  for (const row of rows) {
    const k = kind(row.query);
    const sum = byKind.get(k) ?? { calls: 0, ms: 0, planMs: 0, wal: 0 };
    sum.calls += Number(row.calls);
    sum.ms += row.total;
    sum.planMs += row.plan;
    sum.wal += Number(row.wal);
    byKind.set(k, sum);
  }
  const per = Math.max(1, requests);
  return [...byKind]
    .map(([k, s]) => ({ kind: k, callsPerRequest: s.calls / per, usPerCall: (1000 * s.ms) / Math.max(1, s.calls), planUsPerCall: (1000 * s.planMs) / Math.max(1, s.calls), usPerRequest: (1000 * s.ms) / per, walBytesPerRequest: s.wal / per }))
    .filter((s) => s.callsPerRequest >= 0.01)
    .sort((a, b) => b.usPerRequest - a.usPerRequest);
}

/**
 * Samples what this database's sessions are doing until `done` settles: per sample, each
 * session that is running a statement (on CPU, or waiting for a lock, the WAL, I/O) or is idle
 * inside a transaction (waiting for the application's next statement, its locks held).
 * Returns the share of session-samples per state and the mean number of such sessions.
 */
export async function sampleWaits(client: pg.Client, done: Promise<unknown>, intervalMs = 20): Promise<{ shares: Record<string, number>; busy: number }> {
  let finished = false;
  void done.finally(() => (finished = true));
  const counts = new Map<string, number>();
  let samples = 0;
  let sessions = 0;
  while (!finished) {
    const { rows } = await client.query<{ what: string; n: number }>(
      `SELECT CASE WHEN state = 'idle in transaction' THEN 'idle in transaction'
                   ELSE coalesce(wait_event_type || ':' || wait_event, 'CPU') END AS what, count(*)::int AS n
       FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')
       GROUP BY 1`,
    );
    samples++;
    for (const row of rows) {
      counts.set(row.what, (counts.get(row.what) ?? 0) + row.n);
      sessions += row.n;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const shares = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([what, n]) => [what, n / Math.max(1, sessions)]));
  return { shares, busy: sessions / Math.max(1, samples) };
}
