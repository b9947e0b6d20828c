import { createHash, randomInt } from 'node:crypto';
import { accessFacts } from './access-facts.js';
import type { SqlClient } from './driver.js';
import { decodeCursor, encodeCursor } from './search-order.js';
import { parseStored } from './stored-json.js';

/**
 * Self-declared care relationships after the fact: the patient's one-time codes that corroborate
 * them, their confirmation, and the review work list of the organization's data-protection
 * officer and the ministry. A declaration outlives its evidence: deleting the Encounter ends the
 * access, never the record that it was claimed.
 */

/** How long a one-time code from the patient's app stays usable. */
export const CARE_CODE_MINUTES = 10;

export interface CareDeclarationRow {
  id: string;
  patient: string;
  party: string;
  kind: string;
  evidence: string;
  declaredBy: string;
  clientId: string;
  declaredAt: string;
  expiresAt: string;
  status: 'open' | 'confirmed' | 'expired' | 'disputed';
  /** The Organization's name, for the patient's list. */
  partyName?: string;
  confirmedAt?: string;
  confirmedBy?: string;
  disputedAt?: string;
  disputedBy?: string;
  reviewedAt?: string;
  reviewedBy?: string;
  reviewOutcome?: string;
  reviewNote?: string;
}

const INSTANT = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const hashCode = (patient: string, code: string) => createHash('sha256').update(`${patient}:${code}`).digest('hex');

/** A fresh six-digit code for `patient`, kept only as its hash. */
export async function issueCareCode(client: SqlClient, patient: string, createdBy: string): Promise<{ code: string; expires: string }> {
  for (;;) {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const rows = await client.query<{ expires: string }>(
      `INSERT INTO care_code (code_hash, patient, created_by, expires_at) VALUES ($1, $2, $3, now() + make_interval(mins => $4))
       ON CONFLICT (code_hash) DO NOTHING RETURNING ${INSTANT('expires_at')} AS expires`,
      [hashCode(patient, code), patient, createdBy, CARE_CODE_MINUTES],
    );
    if (rows[0]) return { code, expires: rows[0].expires };
  }
}

/** Uses up `code` if it is an unused, unexpired code of `patient`'s; true when it was. */
export async function redeemCareCode(client: SqlClient, patient: string, code: string, usedBy: string): Promise<boolean> {
  const rows = await client.query(
    `UPDATE care_code SET used_at = now(), used_by = $3 WHERE code_hash = $1 AND patient = $2 AND used_at IS NULL AND expires_at > now() RETURNING 1`,
    [hashCode(patient, code), patient, usedBy],
  );
  return rows.length > 0;
}

/**
 * Marks `party`'s declarations about `patient` confirmed and makes the relationships they opened
 * verified, each lasting again as long as its evidence says (no longer the declaration's day).
 * Returns how many declarations were confirmed.
 */
export async function confirmDeclarations(client: SqlClient, patient: string, party: string, confirmedBy: string): Promise<number> {
  const confirmed = await client.query(
    `UPDATE care_declaration SET confirmed_at = now(), confirmed_by = $3 WHERE patient = $1 AND party = $2 AND confirmed_at IS NULL RETURNING 1`,
    [patient, party, confirmedBy],
  );
  const rows = await client.query<{ resource_type: string; id: string; kind: string; json: string }>(
    `SELECT c.resource_type, c.id, c.kind, r.content AS json FROM care_relationship c JOIN resource r ON r.resource_type = c.resource_type AND r.id = c.id
      WHERE c.patient = $1 AND c.party = $2 AND NOT c.verified`,
    [patient, party],
  );
  for (const row of rows) {
    const claim = accessFacts(parseStored(row)).care.find((c) => c.patient === patient && c.party === party && c.kind === row.kind);
    await client.query(
      `UPDATE care_relationship SET verified = true, valid_until = $5 WHERE resource_type = $1 AND id = $2 AND patient = $3 AND party = $4 AND kind = $6`,
      [row.resource_type, row.id, patient, party, claim?.validUntil ?? null, row.kind],
    );
  }
  return confirmed.length;
}

/**
 * The patient disputes `party`'s self-declared care: each of its declarations about `patient` not
 * yet disputed is marked so (it stays on the review list), and the relationships their evidence
 * opened end now, verified or not (a confirmation the patient now withdraws). Relationships from
 * other evidence (attachment, referrals) stay. Returns how many declarations were disputed.
 */
export async function disputeDeclarations(client: SqlClient, patient: string, party: string, disputedBy: string): Promise<number> {
  const disputed = await client.query<{ evidence: string }>(
    `UPDATE care_declaration SET disputed_at = now(), disputed_by = $3 WHERE patient = $1 AND party = $2 AND disputed_at IS NULL RETURNING evidence`,
    [patient, party, disputedBy],
  );
  if (disputed.length === 0) return 0;
  await client.query(
    // No longer verified either: an update of its evidence then keeps the end it has now (a verified row would take the evidence's).
    `UPDATE care_relationship SET valid_until = now(), verified = false WHERE patient = $1 AND party = $2 AND (resource_type || '/' || id) = ANY($3::text[])
       AND (valid_until IS NULL OR valid_until > now())`,
    [patient, party, [...new Set(disputed.map((d) => d.evidence))]],
  );
  return disputed.length;
}

export interface DeclarationQuery {
  /** One party's declarations, or every party's. */
  party?: string;
  /** One patient's declarations, or every patient's. */
  patient?: string;
  status?: CareDeclarationRow['status'];
  unreviewed?: boolean;
  count: number;
  cursor?: string;
}

/** One page of the review work list, newest first, by keyset on (declared_at, id). */
export async function listDeclarations(client: SqlClient, query: DeclarationQuery): Promise<{ rows: CareDeclarationRow[]; nextCursor?: string }> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (value: unknown) => `$${params.push(value)}`;
  if (query.party) where.push(`party = ${add(query.party)}`);
  if (query.patient) where.push(`patient = ${add(query.patient)}`);
  if (query.status === 'disputed') where.push('disputed_at IS NOT NULL');
  if (query.status === 'confirmed') where.push('disputed_at IS NULL AND confirmed_at IS NOT NULL');
  if (query.status === 'open') where.push('disputed_at IS NULL AND confirmed_at IS NULL AND expires_at > now()');
  if (query.status === 'expired') where.push('disputed_at IS NULL AND confirmed_at IS NULL AND expires_at <= now()');
  if (query.unreviewed) where.push('reviewed_at IS NULL');
  if (query.cursor) {
    const [at, id] = decodeCursor(query.cursor, 2);
    where.push(`(declared_at, id) < (${add(at)}::timestamptz, ${add(id)})`);
  }
  // The Organization's name rides along (a directory entry, outside any record) for the patient's list.
  const rows = await client.query<DeclarationRecord>(
    `SELECT id, patient, party, kind, evidence, declared_by, client_id, ${INSTANT('declared_at')} AS declared_at, ${INSTANT('expires_at')} AS expires_at,
       ${INSTANT('confirmed_at')} AS confirmed_at, confirmed_by, ${INSTANT('reviewed_at')} AS reviewed_at, reviewed_by, review_outcome, review_note,
       ${INSTANT('disputed_at')} AS disputed_at, disputed_by,
       CASE WHEN disputed_at IS NOT NULL THEN 'disputed' WHEN confirmed_at IS NOT NULL THEN 'confirmed' WHEN expires_at > now() THEN 'open' ELSE 'expired' END AS status,
       (SELECT o.content::jsonb->>'name' FROM resource o WHERE o.resource_type = 'Organization' AND o.id = substr(d.party, length('Organization/') + 1) AND NOT o.deleted) AS party_name
     FROM care_declaration d ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY declared_at DESC, id DESC LIMIT ${query.count + 1}`,
    params,
  );
  const page = rows.slice(0, query.count).map(toDeclaration);
  const last = page[page.length - 1];
  return { rows: page, ...(rows.length > query.count && last ? { nextCursor: encodeCursor([last.declaredAt, last.id]) } : {}) };
}

/** Records a reviewer's finding on a declaration of `party` (any party's when undefined); false when there is none such. */
export async function reviewDeclaration(
  client: SqlClient,
  review: { id: string; party?: string; reviewer: string; outcome: string; note?: string },
): Promise<boolean> {
  const rows = await client.query(
    `UPDATE care_declaration SET reviewed_at = now(), reviewed_by = $2, review_outcome = $3, review_note = $4
      WHERE id = $1 AND ($5::text IS NULL OR party = $5) RETURNING 1`,
    [review.id, review.reviewer, review.outcome, review.note ?? null, review.party ?? null],
  );
  return rows.length > 0;
}

/** A care_declaration row as listDeclarations selects it. */
interface DeclarationRecord {
  id: string;
  patient: string;
  party: string;
  kind: string;
  evidence: string;
  declared_by: string;
  client_id: string;
  declared_at: string;
  expires_at: string;
  status: CareDeclarationRow['status'];
  confirmed_at: string | null;
  confirmed_by: string | null;
  reviewed_at: string | null;
  reviewed_by: string | null;
  review_outcome: string | null;
  review_note: string | null;
  disputed_at: string | null;
  disputed_by: string | null;
  party_name: string | null;
}

function toDeclaration(row: DeclarationRecord): CareDeclarationRow {
  return {
    id: row.id,
    patient: row.patient,
    party: row.party,
    kind: row.kind,
    evidence: row.evidence,
    declaredBy: row.declared_by,
    clientId: row.client_id,
    declaredAt: row.declared_at,
    expiresAt: row.expires_at,
    status: row.status,
    ...(row.party_name ? { partyName: row.party_name } : {}),
    ...(row.confirmed_at ? { confirmedAt: row.confirmed_at } : {}),
    ...(row.disputed_at ? { disputedAt: row.disputed_at } : {}),
    ...(row.disputed_by ? { disputedBy: row.disputed_by } : {}),
    ...(row.confirmed_by ? { confirmedBy: row.confirmed_by } : {}),
    ...(row.reviewed_at ? { reviewedAt: row.reviewed_at } : {}),
    ...(row.reviewed_by ? { reviewedBy: row.reviewed_by } : {}),
    ...(row.review_outcome ? { reviewOutcome: row.review_outcome } : {}),
    ...(row.review_note ? { reviewNote: row.review_note } : {}),
  };
}
