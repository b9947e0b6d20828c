import type { SqlClient } from './driver.js';
import type { AuditKey } from './audit-key.js';

/**
 * The audit trail is a keyed hash chain: each record's hash is HMAC-SHA256(key, previous hash ||
 * its payload as UTF-8), so changing, removing or reordering a record breaks every later link,
 * and without the key (src/store/audit-key.ts, kept outside the database) no one can compute
 * new links. There are AUDIT_CHAINS chains and a database session appends to chain
 * `pg_backend_pid() % AUDIT_CHAINS`: one global chain would make every audited request in the
 * country wait for one row lock.
 *
 * Records written before the key existed are linked by plain sha256. `audit_keyed_from` holds,
 * per chain, the link from which the chain is keyed, sealed with the key, so the verifier learns
 * where plain links end without trusting a column an administrator could edit, and the plain
 * links before it stay bound to the first keyed one.
 */
export const AUDIT_CHAINS = 64;

/**
 * The key's padded forms live in these settings of each database session (set with bind
 * parameters when the session opens, see `keyAuditSession`), never in a table or statement text.
 */
const INNER_PAD = `decode(current_setting('densaulyq.audit_inner'), 'hex')`;
const OUTER_PAD = `decode(current_setting('densaulyq.audit_outer'), 'hex')`;

/** HMAC-SHA256 of the bytea `message` under the session's audit key (RFC 2104 section 2). */
function keyedHash(message: string): string {
  return `sha256(${OUTER_PAD} || sha256(${INNER_PAD} || ${message}))`;
}

/** Gives a new database session the audit key: once per connection, before its first statement. */
export async function keyAuditSession(session: SqlClient, key: AuditKey): Promise<void> {
  await session.query(`SELECT set_config('densaulyq.audit_inner', $1, false), set_config('densaulyq.audit_outer', $2, false)`, key.sessionPads());
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

/**
 * Stands for the Patient id in an audit payload built before the statement that finds the
 * patient (a read): the statement replaces it with the row's compartment. Patient ids match
 * [A-Za-z0-9.-]{1,64}, so the replacement needs no JSON escaping.
 */
export const PATIENT_PLACEHOLDER = '@@patient@@';

/** The hash a chain starts from (seq 0), as the migration seeds it. */
export const GENESIS_PREFIX = 'densaulyq-audit-chain:';

/**
 * CTE steps appending the rows of `source` (columns `patient text, recorded timestamptz,
 * payload text`) to this session's chain inside the caller's statement, so the record commits
 * or rolls back with the access it records. The statement must begin `WITH RECURSIVE`.
 * The chain's head row is locked (FOR UPDATE returns its newest version) only when there is
 * something to append. The session must hold the audit key (`keyAuditSession`); without it the
 * statement fails rather than append an unkeyed link.
 */
export function auditSteps(source: string): string[] {
  return [
    `audit_items AS (SELECT row_number() OVER () AS n, s.patient, s.recorded, s.payload FROM (${source}) s)`,
    `audit_head_row AS (SELECT h.chain, h.seq, h.hash FROM audit_head h
      WHERE h.chain = pg_backend_pid() % ${AUDIT_CHAINS} AND EXISTS (SELECT 1 FROM audit_items) FOR UPDATE)`,
    `audit_links (n, seq, hash) AS (SELECT 0::bigint, seq, hash FROM audit_head_row
      UNION ALL SELECT i.n, l.seq + 1, ${keyedHash(`l.hash || convert_to(i.payload, 'UTF8')`)} FROM audit_links l JOIN audit_items i ON i.n = l.n + 1)`,
    `audit_insert AS (INSERT INTO audit_event (chain, seq, recorded, patient, hash, payload)
      SELECT h.chain, l.seq, i.recorded, i.patient, l.hash, i.payload FROM audit_links l JOIN audit_items i ON i.n = l.n CROSS JOIN audit_head_row h)`,
    `audit_advance AS (UPDATE audit_head h SET seq = l.seq, hash = l.hash FROM audit_links l, audit_head_row r
      WHERE h.chain = r.chain AND l.n = (SELECT max(n) FROM audit_items))`,
  ];
}

/** Appends records on their own (one statement): operations that read nothing else, such as break-glass. */
export function appendAuditSql(): string {
  return `WITH RECURSIVE ${auditSteps(`SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS t(patient, recorded, payload)`).join(', ')} SELECT 1`;
}
