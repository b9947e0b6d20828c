import { forbidden } from '../fhir/outcome.js';
import type { AccessPolicy } from './access-policy.js';
import type { SqlClient } from './driver.js';

/**
 * The duplicates work list: pairs of Patients the batch duplicate finder scored at or above the
 * review threshold, with the evidence for each field, waiting for a registrar to confirm (merge)
 * or reject them. A pair is stored once, its ids in code-unit order (`patient_a < patient_b`,
 * "C" collation, as JavaScript compares them). A rejected pair stays rejected: re-scans update
 * open pairs only, so it is never suggested again.
 *
 * Evidence holds agreement levels and weights, never names or numbers: the rows say why two
 * records look alike without copying what they say.
 */
export const IDENTITY_MIGRATION = `
  CREATE TABLE duplicate_candidate (
    patient_a text NOT NULL,
    patient_b text NOT NULL,
    score double precision NOT NULL,
    evidence jsonb NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'rejected')),
    found_at timestamptz NOT NULL,
    decided_by text,
    decided_at timestamptz,
    PRIMARY KEY (patient_a, patient_b),
    CHECK (patient_a < patient_b COLLATE "C")
  );
  CREATE INDEX duplicate_candidate_open ON duplicate_candidate (score DESC, patient_a, patient_b) WHERE status = 'open';
  CREATE INDEX duplicate_candidate_b ON duplicate_candidate (patient_b);
`;

/**
 * The evidence field of a pair an organization's system said is one person (an HL7 v2 A40 merge of
 * two of its records that are two Patients here): the registry reviews it like a pair the scan found.
 */
export const SENDER_MERGE = 'sender-merge';

export type CandidateStatus = 'open' | 'confirmed' | 'rejected';

/** One field's part in a pair's score (matcher.ts `explainScore`). */
export interface FieldEvidence {
  field: string;
  level: string;
  /** log₂(m/u) of the level: how much it raised (or lowered) the score. */
  weight: number;
}

export interface DuplicateCandidate {
  patientA: string;
  patientB: string;
  score: number;
  evidence: FieldEvidence[];
  status: CandidateStatus;
  foundAt: string;
  decidedBy?: string;
  decidedAt?: string;
}

/** A pair as stored: ids ordered as the table requires. */
export function orderedPair(x: string, y: string): [string, string] {
  return x < y ? [x, y] : [y, x];
}

interface CandidateRow {
  patient_a: string;
  patient_b: string;
  score: number;
  evidence: FieldEvidence[] | string;
  status: CandidateStatus;
  found_at: string;
  decided_by: string | null;
  decided_at: string | null;
}

const COLUMNS = `patient_a, patient_b, score, evidence, status,
  to_char(found_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS found_at, decided_by,
  to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS decided_at`;

function toCandidate(row: CandidateRow): DuplicateCandidate {
  return {
    patientA: row.patient_a,
    patientB: row.patient_b,
    score: Number(row.score),
    evidence: typeof row.evidence === 'string' ? (JSON.parse(row.evidence) as FieldEvidence[]) : row.evidence,
    status: row.status,
    foundAt: row.found_at,
    ...(row.decided_by ? { decidedBy: row.decided_by } : {}),
    ...(row.decided_at ? { decidedAt: row.decided_at } : {}),
  };
}

/**
 * The work list as one caller uses it, through its Repository (so a merge and the list's update
 * commit in one transaction): only a caller the door lets administer identity.
 */
export class DuplicateWorkList {
  constructor(
    private readonly client: SqlClient,
    access: AccessPolicy,
  ) {
    if (!access.administersIdentity) throw forbidden(`The duplicates work list needs access to every record: an administrator with clinical access`);
  }

  /**
   * Adds the pairs a scan found, or refreshes their score and evidence while they are open (a
   * sender's merge, {@link SENDER_MERGE}, stays among the evidence); pairs already confirmed or
   * rejected are left as decided. One statement per call.
   */
  async save(pairs: readonly { a: string; b: string; score: number; evidence: FieldEvidence[] }[], foundAt: string): Promise<void> {
    if (pairs.length === 0) return;
    const ordered = pairs.map((p) => ({ ...p, pair: orderedPair(p.a, p.b) }));
    await this.client.query(
      `INSERT INTO duplicate_candidate (patient_a, patient_b, score, evidence, found_at)
       SELECT a, b, score, evidence::jsonb, $5::timestamptz FROM unnest($1::text[], $2::text[], $3::float8[], $4::text[]) AS t(a, b, score, evidence)
       ON CONFLICT (patient_a, patient_b) DO UPDATE SET score = EXCLUDED.score, found_at = EXCLUDED.found_at,
         evidence = (SELECT coalesce(jsonb_agg(e), '[]'::jsonb) FROM jsonb_array_elements(duplicate_candidate.evidence) e
           WHERE e->>'field' = '${SENDER_MERGE}' AND NOT EXCLUDED.evidence @> jsonb_build_array(e)) || EXCLUDED.evidence
       WHERE duplicate_candidate.status = 'open'`,
      [ordered.map((p) => p.pair[0]), ordered.map((p) => p.pair[1]), ordered.map((p) => p.score), ordered.map((p) => JSON.stringify(p.evidence)), foundAt],
    );
  }

  /**
   * Removes open pairs a scan started at `scanStarted` did not find again: their records changed.
   * A pair a sender's system merged ({@link SENDER_MERGE}) stays until decided: the scan's scores did not put it there.
   */
  async dropStale(scanStarted: string): Promise<number> {
    const rows = await this.client.query<{ n: string }>(
      `WITH gone AS (DELETE FROM duplicate_candidate WHERE status = 'open' AND found_at < $1::timestamptz
         AND NOT evidence @> jsonb_build_array(jsonb_build_object('field', $2::text)) RETURNING 1) SELECT count(*)::text AS n FROM gone`,
      [scanStarted, SENDER_MERGE],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Open pairs, highest score first, after the keyset position `after` (from the previous page's last pair). */
  async open(options: { count: number; after?: { score: number; a: string; b: string } }): Promise<{ candidates: DuplicateCandidate[]; more: boolean }> {
    const params: unknown[] = [];
    let keyset = '';
    if (options.after) {
      params.push(options.after.score, options.after.a, options.after.b);
      keyset = `AND (score < $1 OR (score = $1 AND (patient_a, patient_b) > ($2, $3)))`;
    }
    const rows = await this.client.query<CandidateRow>(
      `SELECT ${COLUMNS} FROM duplicate_candidate WHERE status = 'open' ${keyset}
       ORDER BY score DESC, patient_a, patient_b LIMIT ${options.count + 1}`,
      params,
    );
    return { candidates: rows.slice(0, options.count).map(toCandidate), more: rows.length > options.count };
  }

  async find(x: string, y: string): Promise<DuplicateCandidate | undefined> {
    const [a, b] = orderedPair(x, y);
    const rows = await this.client.query<CandidateRow>(`SELECT ${COLUMNS} FROM duplicate_candidate WHERE patient_a = $1 AND patient_b = $2`, [a, b]);
    return rows[0] && toCandidate(rows[0]);
  }

  /** Records a registrar's decision on an open pair; false when the pair is not open (unknown or already decided). */
  async decide(x: string, y: string, status: 'confirmed' | 'rejected', decidedBy: string): Promise<boolean> {
    const [a, b] = orderedPair(x, y);
    const rows = await this.client.query(
      `UPDATE duplicate_candidate SET status = $3, decided_by = $4, decided_at = now()
       WHERE patient_a = $1 AND patient_b = $2 AND status = 'open' RETURNING 1`,
      [a, b, status, decidedBy],
    );
    return rows.length === 1;
  }

  /**
   * After Patient/`source` was merged into Patient/`target`: their pair, if listed, is confirmed,
   * and the source's other open pairs are dropped — it is no longer a living record, and the
   * next scan finds the target's own.
   */
  async forgetMergedPatient(source: string, target: string, decidedBy: string): Promise<void> {
    await this.decide(source, target, 'confirmed', decidedBy);
    await this.client.query(`DELETE FROM duplicate_candidate WHERE status = 'open' AND (patient_a = $1 OR patient_b = $1)`, [source]);
  }

  /**
   * After an unmerge the merge is judged wrong: the pair is recorded as rejected (listed before
   * or not), so the finder stops proposing the two as one person.
   */
  async rejectUnmergedPair(source: string, target: string, decidedBy: string): Promise<void> {
    const [a, b] = orderedPair(source, target);
    await this.client.query(
      `INSERT INTO duplicate_candidate (patient_a, patient_b, score, evidence, status, found_at, decided_by, decided_at)
       VALUES ($1, $2, 0, '[]', 'rejected', now(), $3, now())
       ON CONFLICT (patient_a, patient_b) DO UPDATE SET status = 'rejected', decided_by = $3, decided_at = now()`,
      [a, b, decidedBy],
    );
  }
}
