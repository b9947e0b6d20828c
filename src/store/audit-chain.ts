import type { SqlClient } from './driver.js';
import type { AuditKey } from './audit-key.js';

/**
 * The audit trail is a keyed hash chain: each record's hash is HMAC-SHA256(key, previous hash ||
 * the record's message), so changing, removing or reordering a record breaks every later link,
 * and without the key (src/store/audit-key.ts, kept outside the database) no one can compute
 * new links. The links are computed in this process (src/store/audit-append.ts), so the key
 * never reaches the database server.
 *
 * Chains 0..TRANSACTION_CHAINS-1 take the records that commit inside a write's transaction (the
 * session's chain `pg_backend_pid() % TRANSACTION_CHAINS`, its head row locked until commit);
 * the chains above are the batched appenders' (one per lane, claimed optimistically), so reads
 * never wait behind a write's lock.
 *
 * Records written before the key existed are linked by plain sha256. `audit_keyed_from` holds,
 * per chain, the link from which the chain is keyed, sealed with the key, so the verifier learns
 * where plain links end without trusting a column an administrator could edit, and the plain
 * links before it stay bound to the first keyed one.
 */
export const TRANSACTION_CHAINS = 64;
/** The appenders' chains: [first, first + count). */
export const APPENDER_CHAINS = { first: 64, count: 64 } as const;

/** The padded key forms a migration that seals chains reads (`withMigrationKey`), never a table or statement text. */
const INNER_PAD = `decode(current_setting('densaulyq.audit_inner'), 'hex')`;
const OUTER_PAD = `decode(current_setting('densaulyq.audit_outer'), 'hex')`;

/**
 * SQL sealing each `audit_head` row matching `where` as a keyed start (`AuditKey.seal` computes
 * the same): migrations only, inside `withMigrationKey`.
 */
export function sealChainsSql(where: string): string {
  return `INSERT INTO audit_keyed_from (chain, seq, hash, seal)
    SELECT chain, seq, hash, sha256(${OUTER_PAD} || sha256(${INNER_PAD}
      || convert_to('densaulyq-audit-keyed-from:' || chain || ':' || seq || ':', 'UTF8') || hash))
    FROM audit_head WHERE ${where} FOR UPDATE`;
}

/** Gives the migration transaction the key's padded forms, for that transaction only. */
export async function withMigrationKey(tx: SqlClient, key: AuditKey): Promise<void> {
  await tx.query(`SELECT set_config('densaulyq.audit_inner', $1, true), set_config('densaulyq.audit_outer', $2, true)`, key.sessionPads());
}

/** Thrown on open when the chains were sealed with another key: records appended now could not be verified. */
export class AuditKeyMismatch extends Error {}

/** Checks every chain's keyed start against `key`; see `AuditKeyMismatch`. */
export async function assertAuditKey(db: SqlClient, key: AuditKey): Promise<void> {
  const starts = await db.query<{ chain: number; seq: string; hash: string; seal: string }>(
    `SELECT chain, seq::text AS seq, encode(hash, 'hex') AS hash, encode(seal, 'hex') AS seal FROM audit_keyed_from`,
  );
  const foreign = starts.filter((s) => key.seal(Number(s.chain), Number(s.seq), s.hash) !== s.seal).length;
  if (foreign > 0) {
    throw new AuditKeyMismatch(
      `the audit key (fingerprint ${key.fingerprint()}) did not seal ${foreign} of the ${starts.length} audit chains: ` +
        'AUDIT_KEY_FILE names another key than the one these chains were written with, or the seals were changed',
    );
  }
}

/** The hash a chain starts from (seq 0), as the migration seeds it. */
export const GENESIS_PREFIX = 'densaulyq-audit-chain:';

/**
 * A compact record (src/access/audit-event.ts `compactAuditRecord`) starts so; a record whose
 * payload is a whole AuditEvent was written before records were compact.
 */
const COMPACT_PREFIX = '{"v":2,';

export function isCompactRecord(payload: string): boolean {
  return payload.startsWith(COMPACT_PREFIX);
}

/** An ISO instant to the microsecond, as the verifier reads the `recorded` column back (digits past the sixth are PostgreSQL's to round: refused). */
export function microsecondInstant(iso: string): string {
  const utc = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (utc) return `${utc[1]}.${(utc[2] ?? '').padEnd(6, '0')}Z`;
  const at = new Date(iso);
  if (Number.isNaN(at.getTime()) || /\.\d{7,}/.test(iso)) throw new Error(`an audit record's instant must be ISO 8601 to the microsecond at most, not ${iso}`);
  return `${at.toISOString().slice(0, 23)}000Z`;
}

/**
 * What a record's link hashes. A compact record leaves the patient and the instant to the row's
 * columns, so its link covers them too; a whole AuditEvent carries both in its payload.
 */
export function linkMessage(row: { recorded: string; patient: string | null; payload: string }): string {
  return isCompactRecord(row.payload) ? `${row.recorded}|${row.patient ?? ''}|${row.payload}` : row.payload;
}
