import { forbidden } from '../fhir/outcome.js';
import type { AccessPolicy } from './access-policy.js';
import type { SqlClient } from './driver.js';

/**
 * Every HL7 v2 message a system sent over MLLP (src/hl7v2/), as received, with the ACK it got: the
 * message control of v2.5.1 section 2.9 (a resent control id is answered as the first time and
 * kept once) and the review queue of what was rejected or could not be filed. The messages name
 * patients, so only a caller who sees every record reaches them, through `Repository.hl7v2Messages`.
 */

/**
 * `received`: accepted and kept; `processed`: its results written to the record; `review`: accepted
 * but parked (no patient found, say) for a person to resolve; `rejected`: answered AE or AR.
 */
export type Hl7v2MessageStatus = 'received' | 'processed' | 'review' | 'rejected';

export interface Hl7v2Message {
  /** `MSH-3|MSH-4` (namespace ids): with the control id, the message's key; null when MSH was unreadable. */
  sender: string | null;
  /** MSH-10. */
  controlId: string | null;
  /** MSH-9.1^MSH-9.2: `ORU^R01`. */
  messageType: string | null;
  /** The sender's Organization id, once the sender is known. */
  organization: string | null;
  status: Hl7v2MessageStatus;
  /** Why it was rejected or parked: the diagnostic the ACK carried (never message content). */
  reason: string | null;
  /** The bytes as received, in the character set the sender declared. */
  content: Buffer;
  /** The acknowledgment's bytes, as sent. */
  ack: Buffer;
}

export interface StoredHl7v2Message extends Hl7v2Message {
  id: string;
  /** ISO instant. */
  received: string;
}

interface Row {
  id: string;
  received: string;
  sender: string | null;
  control_id: string | null;
  message_type: string | null;
  organization: string | null;
  status: Hl7v2MessageStatus;
  reason: string | null;
  content: Uint8Array;
  ack: Uint8Array;
}

const COLUMNS = `id::text AS id, to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS received,
  sender, control_id, message_type, organization, status, reason, content, ack`;

/** A message under its key that was not rejected: a resent one is a duplicate of it (a rejected one may be sent again, mended). */
const KEPT = `status <> 'rejected'`;

export class Hl7v2Messages {
  constructor(
    private readonly client: SqlClient,
    access: AccessPolicy,
  ) {
    if (!access.unrestricted) throw forbidden(`Laboratory messages name patients: they are kept by the laboratory intake and read by an administrator with clinical access`);
  }

  /** The ACK the kept message under this key got, and its status (`received` while its results are being filed), if there is one. */
  async acknowledged(sender: string, controlId: string): Promise<{ ack: Buffer; status: Hl7v2MessageStatus } | undefined> {
    const rows = await this.client.query<{ ack: Uint8Array; status: Hl7v2MessageStatus }>(
      `SELECT ack, status FROM hl7v2_message WHERE sender = $1 AND control_id = $2 AND ${KEPT}`,
      [sender, controlId],
      { prepare: 'hl7v2-acknowledged' },
    );
    return rows[0] ? { ack: Buffer.from(rows[0].ack), status: rows[0].status } : undefined;
  }

  /** Keeps a message; undefined when another under the same key was kept first (two copies sent at once), and this one is not kept. */
  async keep(message: Hl7v2Message): Promise<{ id: string } | undefined> {
    const rows = await this.client.query<{ id: string }>(
      `INSERT INTO hl7v2_message (sender, control_id, message_type, organization, status, reason, content, ack)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (sender, control_id) WHERE ${KEPT} DO NOTHING RETURNING id::text AS id`,
      [message.sender, message.controlId, message.messageType, message.organization, message.status, message.reason, message.content, message.ack],
      { prepare: 'hl7v2-keep' },
    );
    return rows[0];
  }

  /** Sets what became of a kept message once its results were filed, or parked for review, and the ACK it got for it. */
  async settle(id: string, outcome: { status: 'processed' | 'review'; reason: string | null; ack: Buffer }): Promise<void> {
    await this.client.query(`UPDATE hl7v2_message SET status = $2, reason = $3, ack = $4 WHERE id = $1::bigint`, [id, outcome.status, outcome.reason, outcome.ack], {
      prepare: 'hl7v2-settle',
    });
  }

  /**
   * The messages of `messageType` from `organization` parked for review whose bytes contain
   * `mentioning`, oldest first: those another message (an order) may now resolve. A prefilter: the
   * route that runs them again reads each.
   */
  async parked(query: { messageType: string; organization: string; mentioning: string }): Promise<StoredHl7v2Message[]> {
    const rows = await this.client.query<Row>(
      `SELECT ${COLUMNS} FROM hl7v2_message WHERE status = 'review' AND message_type = $1 AND organization = $2 AND position($3::bytea IN content) > 0
       ORDER BY received_at, id LIMIT 100`,
      [query.messageType, query.organization, Buffer.from(query.mentioning)],
    );
    return rows.map(fromRow);
  }

  /** Messages in `statuses` (of `types`, MSH-9.1, when given), newest first: the review queue. */
  async list(statuses: readonly Hl7v2MessageStatus[], limit = 100, types?: readonly string[]): Promise<StoredHl7v2Message[]> {
    const rows = await this.client.query<Row>(
      `SELECT ${COLUMNS} FROM hl7v2_message WHERE status = ANY($1::text[]) AND ($3::text[] IS NULL OR split_part(message_type, '^', 1) = ANY($3::text[]))
       ORDER BY received_at DESC, id DESC LIMIT $2`,
      [statuses, limit, types ?? null],
    );
    return rows.map(fromRow);
  }
}

function fromRow(row: Row): StoredHl7v2Message {
  return {
    id: row.id,
    received: row.received,
    sender: row.sender,
    controlId: row.control_id,
    messageType: row.message_type,
    organization: row.organization,
    status: row.status,
    reason: row.reason,
    content: Buffer.from(row.content),
    ack: Buffer.from(row.ack),
  };
}
