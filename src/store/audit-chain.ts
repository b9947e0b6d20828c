/**
 * The audit trail is a hash chain: each record's hash is sha256(previous hash || its payload as
 * UTF-8), so changing, removing or reordering a record breaks every later link. There are
 * AUDIT_CHAINS chains and a database session appends to chain `pg_backend_pid() % AUDIT_CHAINS`:
 * one global chain would make every audited request in the country wait for one row lock.
 */
export const AUDIT_CHAINS = 64;

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
 * something to append.
 */
export function auditSteps(source: string): string[] {
  return [
    `audit_items AS (SELECT row_number() OVER () AS n, s.patient, s.recorded, s.payload FROM (${source}) s)`,
    `audit_head_row AS (SELECT h.chain, h.seq, h.hash FROM audit_head h
      WHERE h.chain = pg_backend_pid() % ${AUDIT_CHAINS} AND EXISTS (SELECT 1 FROM audit_items) FOR UPDATE)`,
    `audit_links (n, seq, hash) AS (SELECT 0::bigint, seq, hash FROM audit_head_row
      UNION ALL SELECT i.n, l.seq + 1, sha256(l.hash || convert_to(i.payload, 'UTF8')) FROM audit_links l JOIN audit_items i ON i.n = l.n + 1)`,
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
