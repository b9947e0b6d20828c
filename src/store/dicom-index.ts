import { forbidden, notFound } from '../fhir/outcome.js';
import type { AccessPolicy, AuditBasis, AuditNote } from './access-policy.js';
import type { SqlClient } from './driver.js';
import { SqlParams, statementName } from './sql-params.js';

/**
 * The index of stored DICOM instances (src/imaging/): one row per study, series and instance
 * with the attributes QIDO-RS matches on (PS3.4 C.6.1.1, PS3.18 10.6) and what it returns, the
 * instance's metadata as DICOM JSON, and where its bytes are in the object store. A study is
 * seen through its ImagingStudy: the door's condition on that resource's row is folded into
 * every query here, and every study disclosed is audited like a read of its ImagingStudy. A
 * study without one (its patient not yet identified) waits for review, seen only by callers
 * who see every record. Reached through `Repository.dicom`.
 */
export const DICOM_INDEX_MIGRATION = `
  CREATE TABLE dicom_study (
    study_uid text PRIMARY KEY,
    imaging_study text,
    patient text,
    review_reason text,
    received_at timestamptz NOT NULL DEFAULT now(),
    patient_id text,
    patient_name text,
    patient_birth_date text,
    patient_sex text,
    study_date text,
    study_time text,
    accession_number text,
    study_id text,
    study_description text,
    referring_physician_name text,
    attributes text NOT NULL
  );
  CREATE INDEX dicom_study_patient_id ON dicom_study (patient_id);
  CREATE INDEX dicom_study_name ON dicom_study (lower(patient_name) text_pattern_ops);
  CREATE INDEX dicom_study_accession ON dicom_study (accession_number);
  CREATE INDEX dicom_study_date ON dicom_study (study_date);
  CREATE INDEX dicom_study_imaging_study ON dicom_study (imaging_study);
  CREATE INDEX dicom_study_review ON dicom_study (received_at) WHERE imaging_study IS NULL;
  CREATE TABLE dicom_series (
    series_uid text PRIMARY KEY,
    study_uid text NOT NULL REFERENCES dicom_study (study_uid),
    modality text,
    series_number integer,
    series_description text,
    performed_start_date text,
    performed_start_time text,
    attributes text NOT NULL
  );
  CREATE INDEX dicom_series_study ON dicom_series (study_uid);
  CREATE TABLE dicom_instance (
    sop_instance_uid text PRIMARY KEY,
    series_uid text NOT NULL REFERENCES dicom_series (series_uid),
    study_uid text NOT NULL,
    sop_class_uid text NOT NULL,
    instance_number integer,
    number_of_frames integer,
    transfer_syntax_uid text NOT NULL,
    object_key text NOT NULL,
    size bigint NOT NULL,
    sha256 text NOT NULL,
    metadata text NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX dicom_instance_series ON dicom_instance (series_uid, instance_number);
  CREATE INDEX dicom_instance_study ON dicom_instance (study_uid);
`;

export type DicomLevel = 'study' | 'series' | 'instance';

/** How a matching key compares (PS3.4 C.2.2.2): single value or wildcard, UID list, range. */
export type MatchKind = 'text' | 'name' | 'uid' | 'date' | 'time' | 'number' | 'modalities';

/** An attribute QIDO-RS matches on: the level it belongs to and its column. */
export interface MatchingAttribute {
  level: DicomLevel;
  column: string;
  kind: MatchKind;
}

/** The matching keys of PS3.18 tables 10.6.1-5 (study), -6 (series) and -7 (instance), by tag. */
export const MATCHING_ATTRIBUTES: Readonly<Record<string, MatchingAttribute>> = {
  '00080020': { level: 'study', column: 's.study_date', kind: 'date' },
  '00080030': { level: 'study', column: 's.study_time', kind: 'time' },
  '00080050': { level: 'study', column: 's.accession_number', kind: 'text' },
  '00080061': { level: 'study', column: 's.study_uid', kind: 'modalities' },
  '00080090': { level: 'study', column: 's.referring_physician_name', kind: 'name' },
  '00081030': { level: 'study', column: 's.study_description', kind: 'text' },
  '00100010': { level: 'study', column: 's.patient_name', kind: 'name' },
  '00100020': { level: 'study', column: 's.patient_id', kind: 'text' },
  '00100030': { level: 'study', column: 's.patient_birth_date', kind: 'date' },
  '00100040': { level: 'study', column: 's.patient_sex', kind: 'text' },
  '0020000D': { level: 'study', column: 's.study_uid', kind: 'uid' },
  '00200010': { level: 'study', column: 's.study_id', kind: 'text' },
  '00080060': { level: 'series', column: 'se.modality', kind: 'text' },
  '0008103E': { level: 'series', column: 'se.series_description', kind: 'text' },
  '0020000E': { level: 'series', column: 'se.series_uid', kind: 'uid' },
  '00200011': { level: 'series', column: 'se.series_number', kind: 'number' },
  '00400244': { level: 'series', column: 'se.performed_start_date', kind: 'date' },
  '00400245': { level: 'series', column: 'se.performed_start_time', kind: 'time' },
  '00080016': { level: 'instance', column: 'i.sop_class_uid', kind: 'uid' },
  '00080018': { level: 'instance', column: 'i.sop_instance_uid', kind: 'uid' },
  '00200013': { level: 'instance', column: 'i.instance_number', kind: 'number' },
};

export interface DicomMatch {
  tag: string;
  /** The value as the query gave it, decoded: `Иван*`, `20260101-20261231`, `1.2.3,1.2.4`. */
  value: string;
}

export interface DicomQuery {
  level: DicomLevel;
  study?: string;
  series?: string;
  matches: DicomMatch[];
  limit: number;
  offset: number;
}

export interface StudyRow {
  study_uid: string;
  imaging_study: string | null;
  patient: string | null;
  review_reason: string | null;
  attributes: string;
  series_count: number;
  instance_count: number;
  modalities: string[];
}

export interface SeriesRow {
  series_uid: string;
  attributes: string;
  instance_count: number;
}

export interface InstanceRow {
  sop_instance_uid: string;
  series_uid: string;
  study_uid: string;
  sop_class_uid: string;
  transfer_syntax_uid: string;
  object_key: string;
  size: number;
  number_of_frames: number | null;
  metadata: string;
}

/** An instance as a retrieve needs it: where its bytes are, not its metadata. */
export type InstanceFile = Omit<InstanceRow, 'metadata'>;

/** A study, one of its series, or one instance. */
export interface InstanceTarget {
  study: string;
  series?: string;
  instance?: string;
}

export interface QueryRow {
  study: StudyRow;
  series?: SeriesRow;
  instance?: InstanceRow;
}

/** One instance to index, with the study and series it belongs to (their index values from this instance). */
export interface NewInstance {
  study: {
    uid: string;
    patientId?: string;
    patientName?: string;
    patientBirthDate?: string;
    patientSex?: string;
    studyDate?: string;
    studyTime?: string;
    accessionNumber?: string;
    studyId?: string;
    studyDescription?: string;
    referringPhysicianName?: string;
    attributes: string;
  };
  series: {
    uid: string;
    modality?: string;
    seriesNumber?: number;
    seriesDescription?: string;
    performedStartDate?: string;
    performedStartTime?: string;
    attributes: string;
  };
  instance: {
    sopInstanceUid: string;
    sopClassUid: string;
    instanceNumber?: number;
    numberOfFrames?: number;
    transferSyntaxUid: string;
    objectKey: string;
    size: number;
    metadata: string;
  };
}

/** What a study holds, for its ImagingStudy: its series and their instances, in number order. */
export interface StudyContents {
  study: StudyRow & { received_at: string };
  series: (SeriesRow & { modality: string | null; series_number: number | null; series_description: string | null })[];
  instances: { series_uid: string; sop_instance_uid: string; sop_class_uid: string; instance_number: number | null }[];
}

/**
 * Why an instance was not indexed: its UID is stored already (under this object key, in this
 * study; also when an earlier entry of the same batch is that instance), or its series belongs to
 * another study.
 */
export type IndexedAlready = { objectKey: string; studyUid: string } | { seriesOfStudy: string };

/** The rows of new instances, and of their studies and series on first sight: one statement per table, whatever the count. */
async function insertInstances(client: SqlClient, entries: readonly NewInstance[]): Promise<void> {
  const firstOf = <T>(key: (e: NewInstance) => string, value: (e: NewInstance) => T): T[] => {
    const first = new Map<string, T>();
    for (const entry of entries) if (!first.has(key(entry))) first.set(key(entry), value(entry));
    return [...first.values()];
  };
  const studies = firstOf((e) => e.study.uid, (e) => e.study);
  const series = firstOf((e) => e.series.uid, (e) => ({ ...e.series, studyUid: e.study.uid }));
  // One array per column, as unnest() takes them.
  const columns = <T>(rows: readonly T[], ...values: ((row: T) => unknown)[]) => values.map((value) => rows.map((row) => value(row) ?? null));
  await client.query(
    `INSERT INTO dicom_study (study_uid, patient_id, patient_name, patient_birth_date, patient_sex, study_date, study_time, accession_number, study_id,
       study_description, referring_physician_name, attributes)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
     ON CONFLICT (study_uid) DO NOTHING`,
    columns(
      studies,
      (s) => s.uid, (s) => s.patientId, (s) => s.patientName, (s) => s.patientBirthDate, (s) => s.patientSex, (s) => s.studyDate, (s) => s.studyTime,
      (s) => s.accessionNumber, (s) => s.studyId, (s) => s.studyDescription, (s) => s.referringPhysicianName, (s) => s.attributes,
    ),
  );
  await client.query(
    `INSERT INTO dicom_series (series_uid, study_uid, modality, series_number, series_description, performed_start_date, performed_start_time, attributes)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[])
     ON CONFLICT (series_uid) DO NOTHING`,
    columns(series, (s) => s.uid, (s) => s.studyUid, (s) => s.modality, (s) => s.seriesNumber, (s) => s.seriesDescription, (s) => s.performedStartDate, (s) => s.performedStartTime, (s) => s.attributes),
  );
  await client.query(
    `INSERT INTO dicom_instance (sop_instance_uid, series_uid, study_uid, sop_class_uid, instance_number, number_of_frames, transfer_syntax_uid, object_key, size, metadata)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::text[], $8::text[], $9::bigint[], $10::text[])`,
    columns(
      entries,
      (e) => e.instance.sopInstanceUid, (e) => e.series.uid, (e) => e.study.uid, (e) => e.instance.sopClassUid, (e) => e.instance.instanceNumber,
      (e) => e.instance.numberOfFrames, (e) => e.instance.transferSyntaxUid, (e) => e.instance.objectKey, (e) => e.instance.size,
      (e) => e.instance.metadata,
    ),
  );
}

/** The repository's part: its transaction, and the audit append. */
export interface DicomIndexHooks {
  transaction<T>(work: (index: DicomIndex) => Promise<T>): Promise<T>;
  record(note: Omit<AuditNote, 'entities'>, accesses: readonly { patient: string; entities: string[]; basis?: AuditBasis | null }[]): Promise<void>;
}

const STUDY_COLUMNS = `s.study_uid, s.imaging_study, s.patient, s.review_reason, s.attributes,
  (SELECT count(*)::int FROM dicom_series x WHERE x.study_uid = s.study_uid) AS series_count,
  (SELECT count(*)::int FROM dicom_instance x WHERE x.study_uid = s.study_uid) AS instance_count,
  ARRAY(SELECT DISTINCT x.modality FROM dicom_series x WHERE x.study_uid = s.study_uid AND x.modality IS NOT NULL ORDER BY 1) AS modalities`;
/** The series columns, its attributes and instance count named as the query reading them wants. */
const seriesColumns = (attributes: string, count: string) =>
  `se.series_uid, se.attributes AS ${attributes}, (SELECT count(*)::int FROM dicom_instance x WHERE x.series_uid = se.series_uid) AS ${count}`;
const INSTANCE_FILE_COLUMNS = `i.sop_instance_uid, i.series_uid, i.study_uid, i.sop_class_uid, i.transfer_syntax_uid, i.object_key, i.size::float8 AS size, i.number_of_frames`;
const INSTANCE_COLUMNS = `${INSTANCE_FILE_COLUMNS}, i.metadata`;

type JoinedRow = StudyRow &
  Partial<{ series_uid: string; series_attributes: string; series_instance_count: number }> &
  Partial<InstanceRow> & { audit_basis?: AuditBasis | null; compartment?: string | null };

export class DicomIndex {
  constructor(
    private readonly client: SqlClient,
    private readonly access: AccessPolicy,
    private readonly hooks: DicomIndexHooks,
  ) {}

  /** Storing instances: creating ImagingStudies, which the door decides (role and scopes) before any byte is kept. */
  assertMayStore(): void {
    this.access.require('c', 'ImagingStudy');
  }

  /**
   * Indexes instances in one transaction (their studies and series rows made on first sight,
   * from the first instance of each), all but those whose SOP Instance UID is indexed already or
   * whose series belongs to another study. The UIDs are locked until the transaction ends, so two
   * senders of one instance do not both write; `beforeCommit` gets the instances that are new.
   * Returns, per entry, undefined when it was written, else why not.
   */
  async addMany(entries: readonly NewInstance[], beforeCommit: (fresh: readonly NewInstance[]) => Promise<void>): Promise<(IndexedAlready | undefined)[]> {
    this.assertMayStore();
    return this.hooks.transaction(async (index) => {
      const sops = entries.map((e) => e.instance.sopInstanceUid);
      // In one order everywhere (by the lock's key), so two batches sharing UIDs do not deadlock.
      await index.client.query(
        `SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended('dicom/' || u, 0) AS k FROM unnest($1::text[]) u ORDER BY 1) locks`,
        [sops],
      );
      const found = await index.client.query<{ sop_instance_uid: string; object_key: string; study_uid: string }>(
        `SELECT sop_instance_uid, object_key, study_uid FROM dicom_instance WHERE sop_instance_uid = ANY($1::text[])`,
        [sops],
      );
      const owners = await index.client.query<{ series_uid: string; study_uid: string }>(`SELECT series_uid, study_uid FROM dicom_series WHERE series_uid = ANY($1::text[])`, [
        [...new Set(entries.map((e) => e.series.uid))],
      ]);
      const seriesStudy = new Map(owners.map((o) => [o.series_uid, o.study_uid]));
      const stored = new Map(found.map((f) => [f.sop_instance_uid, { objectKey: f.object_key, studyUid: f.study_uid }]));
      const fresh = new Map<string, NewInstance>();
      const outcomes = entries.map((entry): IndexedAlready | undefined => {
        const sop = entry.instance.sopInstanceUid;
        // The same instance twice in one batch: the later one is a resend of the earlier.
        const earlier = stored.get(sop) ?? fresh.get(sop);
        if (earlier) return 'objectKey' in earlier ? earlier : { objectKey: earlier.instance.objectKey, studyUid: earlier.study.uid };
        const owner = seriesStudy.get(entry.series.uid);
        if (owner !== undefined && owner !== entry.study.uid) return { seriesOfStudy: owner };
        seriesStudy.set(entry.series.uid, entry.study.uid);
        fresh.set(sop, entry);
        return undefined;
      });
      if (fresh.size > 0) await insertInstances(index.client, [...fresh.values()]);
      // The bytes go to their place while the UIDs are locked: a failure there rolls the rows back.
      await beforeCommit([...fresh.values()]);
      return outcomes;
    });
  }

  /**
   * Takes back instances this caller just stored (their ImagingStudy was refused): their rows,
   * and their series and study when nothing else is in them. Returns the object keys to delete.
   */
  async remove(sopInstanceUids: readonly string[]): Promise<string[]> {
    this.assertMayStore();
    return this.hooks.transaction(async (index) => {
      const removed = await index.client.query<{ object_key: string; series_uid: string; study_uid: string }>(
        `DELETE FROM dicom_instance WHERE sop_instance_uid = ANY($1::text[]) RETURNING object_key, series_uid, study_uid`,
        [sopInstanceUids],
      );
      await index.client.query(
        `DELETE FROM dicom_series se WHERE se.series_uid = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM dicom_instance i WHERE i.series_uid = se.series_uid)`,
        [removed.map((r) => r.series_uid)],
      );
      await index.client.query(
        `DELETE FROM dicom_study s WHERE s.study_uid = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM dicom_series se WHERE se.study_uid = s.study_uid)`,
        [removed.map((r) => r.study_uid)],
      );
      return removed.map((r) => r.object_key);
    });
  }

  /**
   * What a study holds, for writing its ImagingStudy: read by the writer that just stored into it,
   * not disclosed. With `lock`, inside a transaction, the study is held until it ends, so two
   * requests storing into one new study write one ImagingStudy, not two.
   */
  async contents(studyUid: string, options: { lock?: boolean } = {}): Promise<StudyContents | undefined> {
    this.assertMayStore();
    if (options.lock) await this.client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`dicom-study/${studyUid}`]);
    const [study] = await this.client.query<StudyRow & { received_at: string }>(
      `SELECT ${STUDY_COLUMNS}, to_char(s.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS received_at FROM dicom_study s WHERE s.study_uid = $1`,
      [studyUid],
    );
    if (!study) return undefined;
    const series = await this.client.query<StudyContents['series'][number]>(
      `SELECT ${seriesColumns('attributes', 'instance_count')}, se.modality, se.series_number, se.series_description
       FROM dicom_series se WHERE se.study_uid = $1 ORDER BY se.series_number NULLS LAST, se.series_uid`,
      [studyUid],
    );
    const instances = await this.client.query<StudyContents['instances'][number]>(
      `SELECT i.series_uid, i.sop_instance_uid, i.sop_class_uid, i.instance_number FROM dicom_instance i WHERE i.study_uid = $1
       ORDER BY i.series_uid, i.instance_number NULLS LAST, i.sop_instance_uid`,
      [studyUid],
    );
    return { study, series, instances };
  }

  /** Records the study's ImagingStudy and patient once written, or why it waits for review. */
  async link(studyUid: string, outcome: { imagingStudy: string; patient: string } | { reviewReason: string }): Promise<void> {
    this.assertMayStore();
    if ('imagingStudy' in outcome) {
      await this.client.query(`UPDATE dicom_study SET imaging_study = $2, patient = $3, review_reason = NULL WHERE study_uid = $1`, [studyUid, outcome.imagingStudy, outcome.patient]);
    } else {
      await this.client.query(`UPDATE dicom_study SET review_reason = $2 WHERE study_uid = $1 AND imaging_study IS NULL`, [studyUid, outcome.reviewReason]);
    }
  }

  /**
   * The review queue: studies whose patient was not identified, oldest first, for callers who
   * see every record (as the HL7 v2 message log's parked messages).
   */
  async awaitingReview(limit = 100): Promise<StudyRow[]> {
    if (!this.access.unrestricted) throw forbidden(`Studies without an identified patient are reviewed by an administrator with clinical access`);
    return this.client.query<StudyRow>(`SELECT ${STUDY_COLUMNS} FROM dicom_study s WHERE s.imaging_study IS NULL ORDER BY s.received_at, s.study_uid LIMIT $1`, [limit]);
  }

  /** A study awaiting review, for a reviewer assigning its patient; 404 when it is not waiting. */
  async reviewed(studyUid: string): Promise<StudyRow> {
    if (!this.access.unrestricted) throw forbidden(`Studies without an identified patient are reviewed by an administrator with clinical access`);
    const [row] = await this.client.query<StudyRow>(`SELECT ${STUDY_COLUMNS} FROM dicom_study s WHERE s.study_uid = $1 AND s.imaging_study IS NULL`, [studyUid]);
    if (!row) throw notFound(`No study ${studyUid} awaits review`);
    return row;
  }

  /**
   * QIDO-RS: one page of the matches at `query.level` the caller may see (the door's condition on
   * each study's ImagingStudy), in a stable order, and whether more follow; each study shown is
   * audited for its patient, one record per study.
   */
  async query(query: DicomQuery, audit: { query: string }): Promise<{ rows: QueryRow[]; more: boolean }> {
    const params = new SqlParams();
    const where = this.seen(params);
    if (query.study) where.push(`s.study_uid = ${params.add(query.study)}`);
    if (query.series) where.push(`se.series_uid = ${params.add(query.series)}`);
    for (const match of query.matches) where.push(matchCondition(match, params));
    const from = [`dicom_study s`, `LEFT JOIN resource r ON r.resource_type = 'ImagingStudy' AND r.id = s.imaging_study`];
    const columns = [STUDY_COLUMNS, `r.compartment`];
    const order = ['s.study_date DESC NULLS LAST', 's.study_uid'];
    if (query.level !== 'study') {
      from.push(`JOIN dicom_series se ON se.study_uid = s.study_uid`);
      columns.push(seriesColumns('series_attributes', 'series_instance_count'));
      order.push('se.series_number NULLS LAST', 'se.series_uid');
    }
    if (query.level === 'instance') {
      from.push(`JOIN dicom_instance i ON i.series_uid = se.series_uid`);
      columns.push(INSTANCE_COLUMNS);
      order.push('i.instance_number NULLS LAST', 'i.sop_instance_uid');
    }
    const basis = this.access.audits ? this.access.auditBasis('r.compartment', params) : undefined;
    if (basis) columns.push(`${basis} AS audit_basis`);
    const sql = `SELECT ${columns.join(', ')} FROM ${from.join(' ')} WHERE ${where.join(' AND ')} ORDER BY ${order.join(', ')}
      LIMIT ${query.limit + 1} OFFSET ${query.offset}`;
    const rows = await this.client.query<JoinedRow>(sql, params.values);
    const page = rows.slice(0, query.limit);
    await this.audit({ action: 'E', interaction: 'search-type', query: audit.query, recorded: new Date().toISOString() }, page);
    return { rows: page.map(toQueryRow), more: rows.length > query.limit };
  }

  /**
   * WADO-RS: the instances of a study (of one series, or one instance) the caller may see, in
   * order, with their metadata; none when the study is not there for the caller (a 404, whether
   * absent or hidden). The study is audited like a read of its ImagingStudy.
   */
  async instances(target: InstanceTarget): Promise<InstanceRow[]> {
    const { rows, audited } = await this.seenInstances(target, INSTANCE_COLUMNS);
    await audited;
    return rows as InstanceRow[];
  }

  /**
   * `instances` without their metadata, their audit record still being appended: `audited`
   * resolves once the record is committed, and nothing of them may leave the server before it
   * does. Meanwhile the caller can open the files, so a retrieve does not wait for the commit
   * and then for the disk.
   */
  instanceFiles(target: InstanceTarget): Promise<{ rows: InstanceFile[]; audited: Promise<void> }> {
    return this.seenInstances(target, INSTANCE_FILE_COLUMNS);
  }

  private async seenInstances(target: InstanceTarget, columns: string): Promise<{ rows: InstanceFile[]; audited: Promise<void> }> {
    const params = new SqlParams();
    const where = [...this.seen(params), `i.study_uid = ${params.add(target.study)}`];
    if (target.series) where.push(`i.series_uid = ${params.add(target.series)}`);
    if (target.instance) where.push(`i.sop_instance_uid = ${params.add(target.instance)}`);
    const basis = this.access.audits ? this.access.auditBasis('r.compartment', params) : undefined;
    const sql = `SELECT ${columns}, s.imaging_study, r.compartment${basis ? `, ${basis} AS audit_basis` : ''}
       FROM dicom_study s LEFT JOIN resource r ON r.resource_type = 'ImagingStudy' AND r.id = s.imaging_study
       JOIN dicom_series se ON se.study_uid = s.study_uid JOIN dicom_instance i ON i.series_uid = se.series_uid
       WHERE ${where.join(' AND ')} ORDER BY se.series_number NULLS LAST, se.series_uid, i.instance_number NULLS LAST, i.sop_instance_uid`;
    // Prepared: its planning cost as much as running it, before every retrieve's first byte.
    const rows = await this.client.query<JoinedRow>(sql, params.values, { prepare: statementName('dicom-instances', sql) });
    const audited = this.audit({ action: 'R', interaction: 'read', recorded: new Date().toISOString() }, rows.slice(0, 1));
    // Awaited before anything goes out; until then its failure must not count as unhandled.
    audited.catch(() => undefined);
    return { rows: rows.map((row) => toQueryRow(row).instance!), audited };
  }

  /**
   * Studies the caller may see: those whose ImagingStudy the door shows them; a caller without
   * limits sees those awaiting review too.
   */
  private seen(params: SqlParams): string[] {
    if (this.access.aggregateOnly) throw forbidden(`This caller sees aggregate counts only`);
    this.access.require('s', 'ImagingStudy');
    if (this.access.unrestricted) return ['true'];
    const visible = this.access.visible('r', params, 'ImagingStudy');
    return ['r.id IS NOT NULL', 'NOT r.deleted', ...(visible ? [visible] : [])];
  }

  /** One record per study shown, naming its ImagingStudy, for the study's patient. */
  private async audit(note: Omit<AuditNote, 'entities'>, rows: readonly JoinedRow[]): Promise<void> {
    const studies = new Map<string, { patient: string; entities: string[]; basis?: AuditBasis | null }>();
    for (const row of rows) {
      if (!row.imaging_study || !row.compartment || studies.has(row.imaging_study)) continue;
      studies.set(row.imaging_study, { patient: row.compartment, entities: [`ImagingStudy/${row.imaging_study}`], basis: row.audit_basis ?? null });
    }
    await this.hooks.record(note, [...studies.values()]);
  }
}

function toQueryRow(row: JoinedRow): QueryRow {
  const study: StudyRow = {
    study_uid: row.study_uid,
    imaging_study: row.imaging_study,
    patient: row.patient,
    review_reason: row.review_reason,
    attributes: row.attributes,
    series_count: row.series_count,
    instance_count: row.instance_count,
    modalities: row.modalities,
  };
  return {
    study,
    ...(row.series_attributes !== undefined ? { series: { series_uid: row.series_uid!, attributes: row.series_attributes, instance_count: row.series_instance_count! } } : {}),
    ...(row.sop_instance_uid !== undefined
      ? {
          instance: {
            sop_instance_uid: row.sop_instance_uid,
            series_uid: row.series_uid!,
            study_uid: row.study_uid ?? '',
            sop_class_uid: row.sop_class_uid!,
            transfer_syntax_uid: row.transfer_syntax_uid!,
            object_key: row.object_key!,
            size: Number(row.size),
            number_of_frames: row.number_of_frames ?? null,
            metadata: row.metadata!,
          },
        }
      : {}),
  };
}

/** `*` and `?` as LIKE's `%` and `_`, LIKE's own characters escaped (PS3.4 C.2.2.2.4). */
function likePattern(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

/** The SQL condition of one matching key (PS3.4 C.2.2.2): single value, wildcard, UID list, range. */
function matchCondition(match: DicomMatch, params: SqlParams): string {
  const attribute = MATCHING_ATTRIBUTES[match.tag]!;
  const { column, kind } = attribute;
  const value = match.value;
  switch (kind) {
    case 'uid':
      return `${column} = ANY(${params.add(value.split(/[\\,]/).map((v) => v.trim()).filter(Boolean))}::text[])`;
    case 'modalities':
      return `EXISTS (SELECT 1 FROM dicom_series m WHERE m.study_uid = s.study_uid AND m.modality = ANY(${params.add(value.split(/[\\,]/).map((v) => v.trim()))}::text[]))`;
    case 'number':
      return `${column} = ${params.add(Number(value))}::int`;
    case 'date':
    case 'time': {
      const dash = value.indexOf('-');
      if (dash < 0) return kind === 'time' ? `${column} LIKE ${params.add(`${value.replace(/[\\%_]/g, '')}%`)}` : `${column} = ${params.add(value)}`;
      const low = value.slice(0, dash);
      const high = value.slice(dash + 1);
      const conditions = [];
      if (low) conditions.push(`${column} >= ${params.add(low)}`);
      // A time range's upper bound covers its own fractions: 1015 includes 101559.
      if (high) conditions.push(kind === 'time' ? `${column} < ${params.add(`${high}\uffff`)}` : `${column} <= ${params.add(high)}`);
      return conditions.length ? `(${conditions.join(' AND ')})` : 'true';
    }
    case 'name':
      // Person names match case-insensitively (as Orthanc and dcm4chee do, PS3.4 C.2.2.2.1.1).
      return /[*?]/.test(value) ? `lower(${column}) LIKE lower(${params.add(likePattern(value))})` : `lower(${column}) = lower(${params.add(value)})`;
    case 'text':
      return /[*?]/.test(value) ? `${column} LIKE ${params.add(likePattern(value))}` : `${column} = ${params.add(value)}`;
  }
}
