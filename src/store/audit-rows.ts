import type { SqlClient } from './driver.js';

/**
 * The audit chain as stored, read row by row for `densaulyq audit verify` and the anchors of
 * its heads (src/access/audit-verify.ts): hashes as hex, instants to the microsecond, the
 * bytes the verifier recomputes. Nothing here is served to a caller.
 */

/** The chains' current heads, ordered by chain. */
export function auditHeadRows(client: SqlClient): Promise<{ chain: number; seq: string; hash: string }[]> {
  return client.query(`SELECT chain, seq::text AS seq, encode(hash, 'hex') AS hash FROM audit_head ORDER BY chain`);
}

/** Where each chain's keyed links start, with the seal over that start. */
export function auditKeyedStarts(client: SqlClient): Promise<{ chain: number; seq: string; hash: string; seal: string }[]> {
  return client.query(`SELECT chain, seq::text AS seq, encode(hash, 'hex') AS hash, encode(seal, 'hex') AS seal FROM audit_keyed_from`);
}

/** Every chain that holds records, by a skip scan of the index (a chain may hold millions). */
export function auditChains(client: SqlClient): Promise<{ chain: number }[]> {
  return client.query(
    `WITH RECURSIVE c (chain) AS (
       SELECT min(chain) FROM audit_event
       UNION ALL SELECT (SELECT min(e.chain) FROM audit_event e WHERE e.chain > c.chain) FROM c WHERE c.chain IS NOT NULL)
     SELECT chain FROM c WHERE chain IS NOT NULL`,
  );
}

/** Up to `limit` records of `chain` after seq `after` (and up to `upTo`), in seq order. */
export function auditRowsAfter(
  client: SqlClient,
  chain: number,
  after: string,
  limit: number,
  upTo?: number,
): Promise<{ seq: string; recorded: string; patient: string | null; hash: string; payload: string }[]> {
  const bound = upTo === undefined ? '' : 'AND e.seq <= $4';
  const params: unknown[] = [chain, after, limit];
  if (upTo !== undefined) params.push(upTo);
  return client.query(
    // Ordered by the column, not by the text alias of the same name.
    `SELECT e.seq::text AS seq, to_char(e.recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded,
            e.patient, encode(e.hash, 'hex') AS hash, e.payload
       FROM audit_event e WHERE e.chain = $1 AND e.seq > $2::bigint ${bound} ORDER BY e.seq LIMIT $3`,
    params,
  );
}

/** The agent rows of `ids`. */
export function auditAgentRows(client: SqlClient, ids: readonly string[]): Promise<{ id: string; agent: string }[]> {
  return client.query(`SELECT id, agent FROM audit_agent WHERE id = ANY($1::text[])`, [ids]);
}
