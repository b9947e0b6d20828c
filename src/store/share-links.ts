import { forbidden, notFound } from '../fhir/outcome.js';
import type { AccessPolicy, AuditBasis, AuditNote } from './access-policy.js';
import type { SqlClient } from './driver.js';

/**
 * The SMART Health Links citizens make of their records (src/passport/share-links.ts): each
 * link's terms (expiry, passcode, single use), its state (revoked, failed passcode attempts,
 * used) and every use of it, with the file the link resolves to, encrypted. The decryption key
 * is not here: it travels inside the link only, so whoever reads this table holds ciphertext.
 * Reached through `Repository.shareLinks`, where the door says who may create, list and revoke.
 */

/** After this many wrong passcodes a link is disabled for good (the manifest answers 404). */
const MAX_PASSCODE_FAILURES = 10;

export interface NewShareLink {
  /** The manifest id: the last segment of the manifest URL, 256 random bits. */
  id: string;
  patient: string;
  label: string | null;
  /** The payload's `flag`: `P`, `U` or none (`''`). */
  flags: string;
  /** argon2id hash of the passcode, for a `P` link. */
  passcodeHash: string | null;
  singleUse: boolean;
  /** ISO instant. */
  expires: string;
  /** The MIME type of the file (`application/fhir+json`). */
  contentType: string;
  /** The file as a compact JWE. */
  content: string;
}

export interface ShareLinkUse {
  /** ISO instant. */
  at: string;
  /** The recipient as the manifest request named them. */
  recipient: string;
}

export type ShareLinkState = 'active' | 'expired' | 'revoked' | 'disabled' | 'used';

export interface ShareLinkSummary {
  id: string;
  patient: string;
  label: string | null;
  flags: string;
  singleUse: boolean;
  passcode: boolean;
  created: string;
  expires: string;
  revoked: string | null;
  failedAttempts: number;
  state: ShareLinkState;
  uses: ShareLinkUse[];
}

/** What a manifest or direct-file request gets. */
export type LinkOpening =
  | { outcome: 'inactive' }
  | { outcome: 'wrong-passcode'; remainingAttempts: number }
  | { outcome: 'served'; contentType: string; content: string; label: string | null };

/** The repository's part in share links: its transaction, the door's sight of a Patient, and the audit. */
export interface ShareLinkHooks {
  transaction<T>(work: (links: ShareLinks) => Promise<T>): Promise<T>;
  visible(patient: string): Promise<boolean>;
  record(note: Omit<AuditNote, 'entities'>, patient: string, basis?: AuditBasis): Promise<void>;
}

const INSTANT = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const STATE_SQL = `CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN failed_attempts >= ${MAX_PASSCODE_FAILURES} THEN 'disabled'
  WHEN single_use AND used_at IS NOT NULL THEN 'used' WHEN expires_at <= now() THEN 'expired' ELSE 'active' END`;

const SUMMARY_COLUMNS = `id, patient, label, flags, single_use, passcode_hash IS NOT NULL AS passcode, ${INSTANT('created_at')} AS created,
  ${INSTANT('expires_at')} AS expires, ${INSTANT('revoked_at')} AS revoked, failed_attempts, ${STATE_SQL} AS state`;

interface SummaryRow {
  id: string;
  patient: string;
  label: string | null;
  flags: string;
  single_use: boolean;
  passcode: boolean;
  created: string;
  expires: string;
  revoked: string | null;
  failed_attempts: number;
  state: ShareLinkState;
}

export class ShareLinks {
  constructor(
    private readonly client: SqlClient,
    private readonly access: AccessPolicy,
    private readonly hooks: ShareLinkHooks,
  ) {}

  /** The door's word on managing `patient`'s links: others than the person (or their representative) are refused. */
  async assertOwner(patient: string): Promise<void> {
    if (!this.access.sharesRecords) throw forbidden(`Only the patient or their legal representative may create, list or revoke the patient's share links`);
    if (!(await this.hooks.visible(patient))) throw notFound(`Patient/${patient} is not known`);
  }

  /** Stores a new link and audits its creation, in one transaction. */
  create(link: NewShareLink): Promise<ShareLinkSummary> {
    return this.hooks.transaction(async (links) => {
      await links.assertOwner(link.patient);
      const [row] = await links.client.query<SummaryRow>(
        `INSERT INTO share_link (id, patient, label, flags, passcode_hash, single_use, expires_at, content_type, content)
         VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8, $9) RETURNING ${SUMMARY_COLUMNS}`,
        [link.id, link.patient, link.label, link.flags, link.passcodeHash, link.singleUse, link.expires, link.contentType, link.content],
      );
      await links.hooks.record({ action: 'C', interaction: '$share-link', recorded: new Date().toISOString(), link: linkNote(link.id, link.label) }, link.patient);
      return toSummary(row!, []);
    });
  }

  /** `patient`'s links, newest first, each with its uses, newest first. */
  async list(patient: string): Promise<ShareLinkSummary[]> {
    await this.assertOwner(patient);
    const rows = await this.client.query<SummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM share_link WHERE patient = $1 ORDER BY created_at DESC, id`, [patient]);
    if (rows.length === 0) return [];
    const uses = await this.client.query<{ link: string; at: string; recipient: string }>(
      `SELECT link, ${INSTANT('used_at')} AS at, recipient FROM share_link_use WHERE link = ANY($1::text[]) ORDER BY used_at DESC`,
      [rows.map((r) => r.id)],
    );
    return rows.map((row) => toSummary(row, uses.filter((u) => u.link === row.id).map(({ at, recipient }) => ({ at, recipient }))));
  }

  /** Revokes `patient`'s link `id` (revoking it again changes nothing); audited. */
  revoke(patient: string, id: string): Promise<ShareLinkSummary> {
    return this.hooks.transaction(async (links) => {
      await links.assertOwner(patient);
      const [row] = await links.client.query<SummaryRow>(
        `UPDATE share_link SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND patient = $2 RETURNING ${SUMMARY_COLUMNS}`,
        [id, patient],
      );
      if (!row) throw notFound(`Patient/${patient} has no share link ${id}`);
      await links.hooks.record({ action: 'U', interaction: '$revoke-share-link', recorded: new Date().toISOString(), link: linkNote(id, row.label) }, patient);
      return toSummary(row, []);
    });
  }

  /**
   * Opens link `id` for `recipient`: an inactive link (unknown, revoked, expired, disabled, used
   * up) is refused alike; a wrong passcode is counted (the link locked while it is checked, so
   * concurrent guesses each count) and the 10th disables the link. A use is recorded and audited
   * in the transaction that serves it, committed before the file is returned. `direct`: the
   * direct-file GET, which only a `U` link answers. `fileToken` (a
   * digest) makes the file fetchable once more, within `fileMinutes`, at a location URL.
   */
  open(
    id: string,
    request: { recipient: string; interaction: string; passcodeMatches: (hash: string) => Promise<boolean>; direct?: boolean; fileToken?: string; fileMinutes?: number },
  ): Promise<LinkOpening> {
    return this.hooks.transaction(async (links) => {
      const [link] = await links.client.query<{ patient: string; label: string | null; flags: string; passcode_hash: string | null; state: ShareLinkState; content_type: string; content: string }>(
        `SELECT patient, label, flags, passcode_hash, ${STATE_SQL} AS state, content_type, content FROM share_link WHERE id = $1 FOR UPDATE`,
        [id],
      );
      // Only a U link answers the direct-file GET.
      if (!link || link.state !== 'active' || (request.direct && !link.flags.includes('U'))) return { outcome: 'inactive' };
      if (link.passcode_hash !== null && !(await request.passcodeMatches(link.passcode_hash))) {
        const [counted] = await links.client.query<{ failed_attempts: number }>(`UPDATE share_link SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts`, [id]);
        return { outcome: 'wrong-passcode', remainingAttempts: Math.max(0, MAX_PASSCODE_FAILURES - Number(counted!.failed_attempts)) };
      }
      await links.client.query(
        `INSERT INTO share_link_use (link, recipient, file_token, file_expires_at) VALUES ($1, $2, $3, now() + make_interval(mins => $4))`,
        [id, request.recipient, request.fileToken ?? null, request.fileToken ? (request.fileMinutes ?? 1) : 0],
      );
      await links.client.query(`UPDATE share_link SET used_at = now() WHERE id = $1`, [id]);
      await links.hooks.record({ action: 'R', interaction: request.interaction, recorded: new Date().toISOString(), link: linkNote(id, link.label) }, link.patient, 'shared-link');
      return { outcome: 'served', contentType: link.content_type, content: link.content, label: link.label };
    });
  }

  /**
   * The file behind a location URL handed out with a manifest: once, before the URL expires, and
   * while its link was not revoked since. Its disclosure was audited with the manifest.
   */
  async file(id: string, fileToken: string): Promise<{ contentType: string; content: string } | undefined> {
    const [row] = await this.client.query<{ content_type: string; content: string }>(
      `WITH taken AS (UPDATE share_link_use SET file_token = NULL WHERE link = $1 AND file_token = $2 AND file_expires_at > now() RETURNING link)
       SELECT l.content_type, l.content FROM taken t JOIN share_link l ON l.id = t.link WHERE l.revoked_at IS NULL`,
      [id, fileToken],
    );
    return row && { contentType: row.content_type, content: row.content };
  }
}

function linkNote(id: string, label: string | null): { id: string; label?: string } {
  return label ? { id, label } : { id };
}

function toSummary(row: SummaryRow, uses: ShareLinkUse[]): ShareLinkSummary {
  return {
    id: row.id,
    patient: row.patient,
    label: row.label,
    flags: row.flags,
    singleUse: row.single_use,
    passcode: row.passcode,
    created: row.created,
    expires: row.expires,
    revoked: row.revoked,
    failedAttempts: Number(row.failed_attempts),
    state: row.state,
    uses,
  };
}
