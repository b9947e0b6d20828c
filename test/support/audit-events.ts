import type { AuditEvent } from '@medplum/fhirtypes';
import { auditEventOf } from '../../src/access/audit-event.js';
import { type AuditRecordRow, agentJoin } from '../../src/store/access-log.js';
import type { SqlClient } from '../../src/store/driver.js';

/**
 * The stored audit records matching `where` (on `audit_event e`) as the AuditEvents they are
 * served as, in `order`.
 */
export async function storedAuditEvents(db: SqlClient, where = 'true', params: unknown[] = [], order = 'e.recorded, e.chain, e.seq'): Promise<AuditEvent[]> {
  const rows = await db.query<AuditRecordRow>(
    `SELECT to_char(e.recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded, e.patient, encode(e.hash, 'hex') AS hash, e.payload, a.agent
       FROM audit_event e ${agentJoin('e', 'a')} WHERE ${where} ORDER BY ${order}`,
    params,
  );
  return rows.map(auditEventOf);
}
