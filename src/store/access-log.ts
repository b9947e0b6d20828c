import { dateRange } from '../fhir/dates.js';
import type { SqlClient } from './driver.js';
import { decodeCursor, encodeCursor } from './search-order.js';

/**
 * The citizen's access log: who opened their record, when, from which organization and app, why,
 * and whether by break-glass, newest first. It reads the audit records by their `patient`
 * column (index `audit_event_patient (patient, recorded DESC)`). Served by `Repository.accessLog`,
 * where the door decides who may read whose log.
 */
export interface AccessLogOptions {
  count: number;
  /** The `nextCursor` of the previous page. */
  cursor?: string;
  /** Only records from this instant on (a FHIR date or instant, as `_since`). */
  since?: string;
}

/** A record as stored: `payload` is a compact record naming `agent`, or (written before records were compact) a whole AuditEvent. */
export interface AuditRecordRow {
  /** ISO instant, milliseconds. */
  recorded: string;
  patient: string | null;
  /** The record's link, hex. */
  hash: string;
  payload: string;
  /** The text of the audit_agent row the record names, if any. */
  agent: string | null;
}

export interface AccessLogPage {
  records: AuditRecordRow[];
  /** Present when more records follow: the (recorded, chain, seq) of this page's last. */
  nextCursor?: string;
}

/**
 * One page of the AuditEvents about any of `patientIds` (the person and those they represent),
 * by keyset on (recorded, chain, seq) descending, so a deep page costs what the first does.
 */
export async function accessLog(db: SqlClient, patientIds: readonly string[], options: AccessLogOptions): Promise<AccessLogPage> {
  const params: unknown[] = [[...new Set(patientIds)], options.count + 1];
  const where = [`e.patient = p.id`];
  if (options.since) {
    params.push(dateRange(options.since, '_since').low);
    where.push(`e.recorded >= $${params.length}::timestamptz`);
  }
  if (options.cursor) {
    const [recorded, chain, seq] = decodeCursor(options.cursor, 3);
    params.push(recorded, chain, seq);
    const n = params.length;
    where.push(`(e.recorded, e.chain, e.seq) < ($${n - 2}::timestamptz, $${n - 1}::integer, $${n}::bigint)`);
  }
  // Each patient's newest records come off the index in order, then the few are merged: a
  // plain `patient = ANY(…)` would gather and sort every record of a much-read patient. The
  // instant goes out as text to the microsecond (a Date would round the cursor to milliseconds).
  const rows = await db.query<{ at: string; chain: number; seq: string } & AuditRecordRow>(
    `SELECT to_char(x.recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, x.chain, x.seq::text AS seq,
            to_char(x.recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded, x.patient, encode(x.hash, 'hex') AS hash, x.payload, a.agent
       FROM unnest($1::text[]) AS p(id)
       CROSS JOIN LATERAL (SELECT e.recorded, e.chain, e.seq, e.patient, e.hash, e.payload FROM audit_event e
         WHERE ${where.join(' AND ')} ORDER BY e.recorded DESC, e.chain DESC, e.seq DESC LIMIT $2) x
       ${agentJoin('x', 'a')}
      ORDER BY x.recorded DESC, x.chain DESC, x.seq DESC LIMIT $2`,
    params,
  );
  const page = rows.slice(0, options.count);
  const last = page[page.length - 1];
  return {
    records: page.map(({ recorded, patient, hash, payload, agent }) => ({ recorded, patient, hash, payload, agent })),
    ...(rows.length > options.count && last ? { nextCursor: encodeCursor([last.at, String(last.chain), last.seq]) } : {}),
  };
}

/** `LEFT JOIN audit_agent` as `agentAlias` on the agent the compact record of `alias` names. */
export function agentJoin(alias: string, agentAlias: string): string {
  return `LEFT JOIN audit_agent ${agentAlias} ON ${agentAlias}.id = CASE WHEN ${alias}.payload LIKE '{"v":2,%' THEN ${alias}.payload::jsonb->>'g' END`;
}
