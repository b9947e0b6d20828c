import { randomUUID } from 'node:crypto';
import type { Patient, Resource, SearchParameter } from '@medplum/fhirtypes';
import { dateRange } from '../fhir/dates.js';
import { type FhirError, badRequest, fhirError, forbidden, gone, notFound, preconditionFailed, tooCostly } from '../fhir/outcome.js';
import { lastN } from '../fhir/last-n.js';
import { registerSearchParameters, unregisterSearchParameters } from '../fhir/search-parameters.js';
import { registerStructureDefinitions } from '../fhir/validate.js';
import { type SearchRequest, parseSearchRequest } from '../fhir/search-request.js';
import { TOPIC_RESOURCE_TYPES } from '../fhir/subscription-topics.js';
import { type AccessLogOptions, type AccessLogPage, accessLog } from './access-log.js';
import type { AccessPolicy, AuditBasis, AuditNote, PatientJudgement, Permission, WriteVerdict } from './access-policy.js';
import { securityContextCompartments } from './security-context.js';
import { perturbedCount } from './aggregate-count.js';
import { lockKeys } from './advisory-locks.js';
import { appendInTransaction, auditAppender } from './audit-append.js';
import { careEvidence, heldCare, resolveParties } from './care-evidence.js';
import {
  type CareDeclarationRow,
  type DeclarationQuery,
  confirmDeclarations,
  disputeDeclarations,
  issueCareCode,
  listDeclarations,
  redeemCareCode,
  reviewDeclaration,
} from './care-declarations.js';
import { ExportJobs } from './bulk-jobs.js';
import { DicomIndex } from './dicom-index.js';
import { Hl7v2Messages } from './hl7v2-messages.js';
import { ShareLinks } from './share-links.js';
import { Subscriptions, announceSubscriptionEvents, recordSubscriptionEvents } from './subscriptions.js';
import { parseStored } from './stored-json.js';
import type { Database, SqlClient } from './driver.js';
import { DuplicateWorkList } from './duplicate-candidates.js';
import { type IdentifierClaim, conflictingClaims, duplicateIdentifier } from './identifier-claims.js';
import { DERIVED_TABLES, INDEX_DELETES, REINDEXED_TABLES, copyAll, derivedCopies, indexInserts, versionCopies } from './derived-rows.js';
import { buildDeferredIndexes, deferIndexes } from './initial-load.js';
import { type PreparedResource, derivedIndex, prepareResource, sameContent, versionJson, withMeta } from './prepared-resource.js';
import { includeCondition } from './search-include.js';
import { compartmentPatients, narrowedPatients } from './search-narrowing.js';
import { decodeCursor, encodeCursor, keysetCondition, orderBy, sortColumns, sortKeys } from './search-order.js';
import { SqlParams, filterConditions, indexOnlyMatches, isLookup } from './search-sql.js';
import { PREPARED_LIST_MAX, statementName, valueList } from './sql-params.js';

/** One version of a resource as stored. */
export interface StoredResource {
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  deleted: boolean;
  /** The JSON text as served (with id and meta); empty for a deleted version. */
  json: string;
  /** For history: the interaction that made this version. */
  method?: 'create' | 'update' | 'delete';
  /** The patient-compartment key, when read from the store. */
  compartment?: string | null;
}

export interface WriteResult {
  stored: StoredResource;
  /** True when the write made the resource exist (201), false when it changed or found one (200). */
  created: boolean;
}

export interface WriteManyResult {
  stored: StoredResource[];
  /** Resources whose content was already stored (upsert): no new version. */
  unchanged: number;
  /** Items not written (upsert only): an identifier they claim belongs to another resource. */
  refused: { item: number; error: FhirError }[];
}

export interface HistoryOptions {
  resourceType?: string;
  id?: string;
  since?: string;
  at?: string;
  count: number;
  cursor?: string;
}

/** A page of a search has at most this many included resources, and `:iterate` goes this many rounds deep. */
const MAX_INCLUDED = 1000;
const MAX_INCLUDE_ROUNDS = 4;

export interface SearchResult {
  entries: StoredResource[];
  /** Resources added by `_include` and `_revinclude`. */
  included: StoredResource[];
  total?: number;
  /** The total was withheld: fewer than MIN_AGGREGATE_COUNT, shown to a caller allowed aggregates only. */
  suppressed?: boolean;
  nextCursor?: string;
}

/** $lastn groups at most this many matching Observations in memory; a request matching more is asked to narrow. */
const MAX_LAST_N_CANDIDATES = 50_000;

/** Counts below this are withheld from aggregate-only callers: a small cell can name a person. */
export const MIN_AGGREGATE_COUNT = 10;

/** The columns of a StoredRow, from the table aliased `alias`. */
function qualified(alias: string): string {
  const a = `${alias}.`;
  return `${a}resource_type, ${a}id, ${a}version_id::text AS version_id, ${a}deleted, ${a}content, ${a}compartment,
  to_char(${a}last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_updated`;
}

const STORED_COLUMNS = qualified('r');

/** A row read with the basis on which the caller reaches its patient (see `auditBasis`), for its audit record. */
interface Audited {
  audit_basis?: AuditBasis | null;
}

/** One patient's record to write: what was touched, and how the caller reached them. */
interface PatientAccess {
  patient: string;
  entities: string[];
  basis?: AuditBasis | null;
}

interface StoredRow {
  resource_type: string;
  id: string;
  version_id: string;
  deleted: boolean;
  content: string;
  last_updated: string;
  compartment: string | null;
  method?: 'create' | 'update' | 'delete';
}

/** The current version of a resource as a write sees it, under the write's lock. */
interface CurrentVersion extends StoredResource {
  compartment: string | null;
  author: string | null;
  /** Whether the caller may see it. */
  visible: boolean;
}

/** Types whose writes may claim care relationships (src/store/access-facts.ts) and so record declarations or notices. */
const CARE_TYPES = new Set(['Patient', 'Encounter', 'EpisodeOfCare', 'ServiceRequest', 'Task', 'Appointment', 'RelatedPerson']);
/**
 * From this many new resources in one write on, their rows go in by COPY (where the driver has
 * it): a COPY per table costs a round trip each, which only pays off over many rows.
 */
const COPY_MIN_RESOURCES = 100;
const DELETE_INDEX_SQL = `WITH ${INDEX_DELETES.join(', ')} SELECT 1`;

/** An open SQL transaction Repositories share, and what is to happen in the process once it commits. */
interface OpenTransaction {
  client: SqlClient;
  committed: (() => void)[];
  /**
   * Per caller, whether the door found it reaches each patient, asked once per transaction (seven
   * results of one lab report are one question): the answer holds until the transaction writes
   * what it depends on (REACH_TYPES, break-glass, a confirmed or disputed declaration).
   */
  reached: Map<AccessPolicy, Map<string, boolean>>;
}

/** Types whose writes can change whom a caller reaches: the care relationships they hold, and Consents. */
const REACH_TYPES = new Set([...CARE_TYPES, 'Consent']);

/**
 * The store of FHIR resources, bound to the access rules of one caller (the "one door"): every
 * read and write of resource tables goes through here, every query carries the caller's access
 * condition, and every access to a patient's data appends its audit record in the same
 * statement or transaction. A write is one SQL transaction (or part of the caller's, inside
 * `transaction`). The database handle never leaves it: the work list, export jobs and access
 * log are reached through it too, under the same caller's access.
 */
export class Repository {
  /** The transaction this repository's statements belong to; none outside `transaction`. */
  private tx: OpenTransaction | undefined;

  constructor(
    private readonly db: Database,
    readonly access: AccessPolicy,
  ) {}

  private get client(): SqlClient {
    return this.tx?.client ?? this.db;
  }

  /** A repository for `access` on this one's connection, in its transaction. */
  private joined(access: AccessPolicy, tx = this.tx): Repository {
    const repo = new Repository(this.db, access);
    repo.tx = tx;
    return repo;
  }

  /** Runs `work` in one SQL transaction; nested calls join the outer one. */
  transaction<T>(work: (repo: Repository) => Promise<T>): Promise<T> {
    if (this.tx) return work(this);
    let tx: OpenTransaction | undefined;
    return this.db
      .transaction((client) => {
        // A retried attempt starts afresh: what an abandoned one meant to do after commit is dropped.
        tx = { client, committed: [], reached: new Map() };
        return work(this.joined(this.access, tx));
      })
      .then(
        (result) => {
          for (const effect of tx!.committed) effect();
          return result;
        },
        async (error: unknown) => {
          // The write rolled back, but its answer still tells the caller the person is registered:
          // that answer is audited for the person, committed before it is given.
          const probed = (error as { probed?: string }).probed;
          if (probed) await this.auditMany({ action: 'E', interaction: 'identifier-conflict', recorded: new Date().toISOString() }, [], [probed]);
          throw error;
        },
      );
  }

  /** This caller's answers of the door's reach in the current transaction (none outside one). */
  private get reached(): Map<string, boolean> | undefined {
    if (!this.tx) return undefined;
    let reached = this.tx.reached.get(this.access);
    if (!reached) this.tx.reached.set(this.access, (reached = new Map()));
    return reached;
  }

  /** After a write that may change whom callers reach (of `types`, when given), the transaction asks the door again. */
  private reachMayHaveChanged(types?: Iterable<string>): void {
    if (this.tx && (!types || [...types].some((type) => REACH_TYPES.has(type)))) this.tx.reached.clear();
  }

  /** Runs `effect` in this process once the current transaction commits (at once outside one): never for a rollback. */
  private afterCommit(effect: () => void): void {
    if (this.tx) this.tx.committed.push(effect);
    else effect();
  }

  /**
   * The duplicates work list, in this repository's transaction (a merge and the list's update
   * commit together); a 403 unless the door lets the caller administer identity.
   */
  get duplicates(): DuplicateWorkList {
    return new DuplicateWorkList(this.client, this.access);
  }

  /** The caller's own export jobs and their files, in this repository's transaction. */
  get exportJobs(): ExportJobs {
    return new ExportJobs(this.client, this.access);
  }

  /** The HL7 v2 messages systems sent over MLLP, in this repository's transaction; a 403 unless the caller sees every record. */
  get hl7v2Messages(): Hl7v2Messages {
    return new Hl7v2Messages(this.client, this.access);
  }

  /**
   * The SMART Health Links of patients, in this repository's transaction: their owners manage
   * them as the door allows; a link's holder opens one, each use audited for its patient.
   */
  get shareLinks(): ShareLinks {
    return new ShareLinks(this.client, this.access, {
      transaction: (work) => this.transaction((repo) => work(repo.shareLinks)),
      visible: (patient) => this.visible('Patient', patient),
      record: (note, patient, basis) => this.record(note, [{ patient, entities: [`Patient/${patient}`], basis }]),
    });
  }

  /** The index of stored DICOM instances (src/store/dicom-index.ts), each study seen through its ImagingStudy and audited as its read. */
  get dicom(): DicomIndex {
    return new DicomIndex(this.client, this.access, {
      transaction: (work) => this.transaction((repo) => work(repo.dicom)),
      record: (note, accesses) => this.record(note, accesses),
    });
  }

  /**
   * The topic-based Subscriptions of the caller's organization and their outbox, in this
   * repository's transaction (a Subscription resource and its registration commit together).
   */
  get subscriptions(): Subscriptions {
    return new Subscriptions(this.client, this.access);
  }

  /**
   * One page of the AuditEvents recording who accessed `patient`'s record. A Patient the caller
   * may not see is a 404; of those who may, the door says who reads the log (a clinician seeing
   * the record does not thereby see who else did). Seen, not read: opening one's own access log
   * is not itself an access to the record.
   */
  async accessLog(patient: string, options: AccessLogOptions): Promise<AccessLogPage> {
    if (!(await this.visible('Patient', patient))) throw notFound(`Patient/${patient} is not known`);
    if (!this.access.readsAccessLogs) throw forbidden(`Only the patient, their representative or an administrator with clinical access may read this access log`);
    return accessLog(this.client, [patient], options);
  }

  /** The 409 for an identifier another resource holds; for a caller with limits, rate-limited and marked for its audit record. */
  private identifierConflict(taken: IdentifierClaim & { holder: string }): FhirError {
    if (this.access.unrestricted) return duplicateIdentifier(taken, true);
    this.access.noteIdentifierProbe();
    const error = duplicateIdentifier(taken, false);
    return taken.resourceType === 'Patient' ? Object.assign(error, { probed: taken.holder }) : error;
  }

  async read(resourceType: string, id: string): Promise<StoredResource> {
    this.access.require('r', resourceType);
    const row = await this.readOne('resource', 'read', resourceType, id);
    if (!row) throw notFound(`${resourceType}/${id} is not known`);
    if (row.deleted) throw gone(`${resourceType}/${id} was deleted`);
    return toStored(row);
  }

  /**
   * Whether the caller may see the current `resourceType/id`, without reading or auditing it:
   * for operations about a record rather than of it (its access log), which decide on sight.
   */
  async visible(resourceType: string, id: string, options: { deleted?: boolean } = {}): Promise<boolean> {
    if (this.access.aggregateOnly) throw forbidden(`This caller sees aggregate counts only`);
    const params = new SqlParams();
    const condition = this.access.visible('r', params, resourceType);
    const rows = await this.client.query(
      `SELECT 1 FROM resource r WHERE r.resource_type = ${params.add(resourceType)} AND r.id = ${params.add(id)}${options.deleted ? '' : ' AND NOT r.deleted'}${
        condition ? ` AND ${condition}` : ''
      }`,
      params.values,
    );
    return rows.length > 0;
  }

  async vread(resourceType: string, id: string, versionId: string): Promise<StoredResource> {
    this.access.require('r', resourceType);
    if (!/^\d{1,18}$/.test(versionId)) throw notFound(`${resourceType}/${id}/_history/${versionId} is not known`);
    const row = await this.readOne('resource_version', 'vread', resourceType, id, versionId);
    if (!row) throw notFound(`${resourceType}/${id}/_history/${versionId} is not known`);
    if (row.deleted) throw gone(`${resourceType}/${id}/_history/${versionId} is a deletion`);
    return toStored(row);
  }

  /**
   * One row by primary key, if the caller may see it, with the basis of the caller's access for
   * its audit record, which is committed before the row is returned. What the caller may not see
   * is answered like what does not exist (404), by the same query, so timing does not tell them apart.
   */
  private async readOne(table: 'resource' | 'resource_version', interaction: 'read' | 'vread', resourceType: string, id: string, versionId?: string) {
    const params = new SqlParams();
    const conditions = [`r.resource_type = ${params.add(resourceType)}`, `r.id = ${params.add(id)}`];
    if (versionId !== undefined) conditions.push(`r.version_id = ${params.add(versionId)}`);
    const past = table === 'resource_version';
    const visible = this.access.visible('r', params, resourceType, past);
    if (visible) conditions.push(visible);
    if (past) {
      const current = this.currentVisible('r', params, resourceType);
      if (current) conditions.push(current);
    }
    const sql = `SELECT ${STORED_COLUMNS}${this.basisColumn('r', params)} FROM ${table} r WHERE ${conditions.join(' AND ')}`;
    const recorded = new Date().toISOString();
    const rows = await this.client.query<StoredRow & Audited>(sql, params.values, { prepare: statementName(interaction, sql) });
    const row = rows[0];
    const entity = versionId === undefined ? `${resourceType}/${id}` : `${resourceType}/${id}/_history/${versionId}`;
    if (row?.compartment && !row.deleted) {
      await this.record({ action: 'R', interaction, recorded }, [{ patient: row.compartment, entities: [entity], basis: row.audit_basis }]);
    } else if (!row) {
      await this.recordRefusal(table, resourceType, id, versionId, { action: 'R', interaction, recorded, entity });
    }
    return row;
  }

  /**
   * After a read found nothing: when the row is in the compartment of a patient whose Consent
   * denies the caller's organization, the attempt is recorded for the patient as refused (the
   * caller's answer stays a 404). One index look-up, on a miss only, for callers acting for a party.
   */
  private async recordRefusal(
    table: 'resource' | 'resource_version',
    resourceType: string,
    id: string,
    versionId: string | undefined,
    note: Omit<AuditNote, 'entities'> & { entity: string },
  ): Promise<void> {
    const params = new SqlParams();
    const refused = this.access.refusal('r.compartment', params);
    if (!refused) return;
    const conditions = [`r.resource_type = ${params.add(resourceType)}`, `r.id = ${params.add(id)}`, 'NOT r.deleted', 'r.compartment IS NOT NULL', refused];
    if (versionId !== undefined) conditions.push(`r.version_id = ${params.add(versionId)}`);
    const [denied] = await this.client.query<{ compartment: string }>(`SELECT r.compartment FROM ${table} r WHERE ${conditions.join(' AND ')}`, params.values);
    const { entity, ...recorded } = note;
    if (denied) await this.record(recorded, [{ patient: denied.compartment, entities: [entity], basis: 'consent-refused' }]);
  }

  /**
   * `, <basis> AS audit_basis` for rows aliased `alias` when the caller is audited and may reach
   * patients on a flagged basis; from the door's judgement when the rows are of patients it judged.
   */
  private basisColumn(alias: string, params: SqlParams, judged?: PatientJudgement): string {
    const basis = !this.access.audits ? undefined : judged ? judged.auditBasis(alias, params) : this.access.auditBasis(`${alias}.compartment`, params);
    return basis ? `, ${basis} AS audit_basis` : '';
  }

  /**
   * A past version is served only if the resource as it is now may be seen too: a label or a
   * Consent added later hides every earlier version with it.
   */
  private currentVisible(versionAlias: string, params: SqlParams, resourceType?: string): string | undefined {
    const condition = this.access.visible('cur', params, resourceType);
    return condition ? `EXISTS (SELECT 1 FROM resource cur WHERE cur.resource_type = ${versionAlias}.resource_type AND cur.id = ${versionAlias}.id AND ${condition})` : undefined;
  }

  /**
   * Appends one record per access: inside the transaction when there is one (a write and its record
   * commit together), otherwise through the batched appender, which returns once the records are
   * committed, so nothing is served before its record is durable.
   */
  private async record(note: Omit<AuditNote, 'entities'>, accesses: readonly PatientAccess[]): Promise<void> {
    if (!this.access.audits || accesses.length === 0) return;
    const records = accesses.map((a) => {
      const drafted = this.access.auditRecord({ ...note, entities: a.entities }, a.patient, a.basis ?? undefined);
      if (!drafted) throw new Error('an audited caller drafted no audit record');
      return { patient: a.patient, recorded: note.recorded, payload: drafted.payload, agent: drafted.agent };
    });
    if (this.tx) await appendInTransaction(this.tx.client, this.db, records, (effect) => this.afterCommit(effect));
    else await auditAppender(this.db).append(records);
  }

  /**
   * The basis of the caller's access to each of `patients` (one statement), for records no earlier
   * statement gave it to. `named`: the patients a search named, of whom only registered Patients
   * are returned (an unknown id has no one to tell).
   */
  private async bases(patients: readonly string[], named = false): Promise<Map<string, AuditBasis | null>> {
    const params = new SqlParams();
    const reached = this.access.auditBasis('p.patient', params) ?? 'NULL';
    // A named patient whose Consent denies the caller's organization: the search was refused for them.
    const refused = named ? this.access.refusal('p.patient', params) : undefined;
    const basis = refused ? `CASE WHEN ${refused} THEN 'consent-refused' ELSE ${reached} END` : reached;
    if (basis === 'NULL' && !named) return new Map(patients.map((patient) => [patient, null]));
    const list = valueList(params, patients);
    const source = named ? `(SELECT n.id AS patient FROM resource n WHERE n.resource_type = 'Patient' AND n.id IN ${list})` : list;
    const sql = `SELECT p.patient, ${basis} AS basis FROM ${source} AS p(patient)`;
    const prepare = patients.length <= PREPARED_LIST_MAX ? { prepare: statementName('audit-bases', sql) } : undefined;
    const rows = await this.client.query<{ patient: string; basis: AuditBasis | null }>(sql, params.values, prepare);
    return new Map(rows.map((r) => [r.patient, r.basis]));
  }

  /** One record per patient among `resources`, naming what of theirs was touched, and one per registered patient of `named`. */
  private async auditMany(note: Omit<AuditNote, 'entities'>, resources: readonly StoredResource[], named: readonly string[] = []): Promise<void> {
    if (!this.access.audits) return;
    const byPatient = new Map<string, string[]>();
    for (const r of resources) if (r.compartment) byPatient.set(r.compartment, [...(byPatient.get(r.compartment) ?? []), `${r.resourceType}/${r.id}`]);
    const bases = byPatient.size > 0 ? await this.bases([...byPatient.keys()]) : new Map<string, AuditBasis | null>();
    const accesses: PatientAccess[] = [...byPatient].map(([patient, entities]) => ({ patient, entities, basis: bases.get(patient) }));
    const unseen = named.filter((patient) => !byPatient.has(patient));
    if (unseen.length > 0) for (const [patient, basis] of await this.bases(unseen, true)) accesses.push({ patient, entities: [`Patient/${patient}`], basis });
    await this.record(note, accesses);
  }

  /** One record per patient among a page's rows (with their basis column) and per registered patient the search named. */
  private async auditPage(note: AuditNote, rows: readonly (Audited & { compartment: string | null })[], named: readonly string[] = []): Promise<void> {
    if (!this.access.audits) return;
    const shown = new Map<string, AuditBasis | null | undefined>();
    for (const row of rows) if (row.compartment && !shown.has(row.compartment)) shown.set(row.compartment, row.audit_basis);
    const unseen = named.filter((patient) => !shown.has(patient));
    if (unseen.length > 0) for (const [patient, basis] of await this.bases(unseen, true)) shown.set(patient, basis);
    await this.record(note, [...shown].map(([patient, basis]) => ({ patient, entities: [], basis })));
  }

  /**
   * Records a break-glass grant: for `minutes`, the grantee reaches `patient`'s record whatever
   * the care relationships and consents say, every access flagged in the audit. The grant itself
   * is audited, with its reason, in the same transaction. The door decides who may ask (it names
   * the grantee's condition); a patient that does not exist is a 404.
   */
  async recordBreakGlass(grant: { patient: string; reason: string; minutes: number; subject: string; organization?: string }, notice: Resource): Promise<string> {
    if (!this.access.mayBreakGlass) throw forbidden(`Only clinicians and organization systems whose token may record clinical data may break the glass`);
    return this.transaction(async (repo) => {
      const [found] = await repo.client.query(`SELECT 1 FROM resource WHERE resource_type = 'Patient' AND id = $1 AND NOT deleted`, [grant.patient]);
      if (!found) throw notFound(`Patient/${grant.patient} is not known`);
      const rows = await repo.client.query<{ expires: string }>(
        `INSERT INTO break_glass (id, patient, subject, organization, reason, expires_at) VALUES ($1, $2, $3, $4, $5, now() + make_interval(mins => $6))
         RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS expires`,
        [randomUUID(), grant.patient, grant.subject, grant.organization ?? null, grant.reason, grant.minutes],
      );
      repo.reachMayHaveChanged();
      const note = { action: 'E', interaction: '$break-glass', reason: grant.reason, recorded: new Date().toISOString() } as const;
      await repo.record(note, [{ patient: grant.patient, entities: [`Patient/${grant.patient}`], basis: 'break-glass' }]);
      await repo.tellPatient([notice]);
      return rows[0]!.expires;
    });
  }

  /**
   * Creates a resource under a server-assigned id: any id in the body is ignored, as R4 says;
   * a transaction passes the id it assigned ahead of time to resolve urn:uuid references.
   */
  create(resource: Resource, id: string = randomUUID()): Promise<StoredResource> {
    this.access.require('c', resource.resourceType);
    return this.writeVersion(resource, id, undefined);
  }

  /**
   * Update, or update-as-create when the id is new (https://hl7.org/fhir/R4/http.html#upsert).
   * `ifMatch` is the expected current versionId; a mismatch is a 412 so no update is lost.
   */
  update(resource: Resource & { id: string }, ifMatch?: string): Promise<WriteResult> {
    return this.transaction(async (repo) => {
      const current = await repo.lockCurrent(resource.resourceType, resource.id);
      const exists = current && !current.deleted && current.visible;
      this.access.require(exists ? 'u' : 'c', resource.resourceType);
      // A caller with limits may not choose ids: an update-as-create would tell a taken id (one
      // it may not see) from a free one.
      if (!this.access.unrestricted && !exists) throw notFound(`${resource.resourceType}/${resource.id} is not known`);
      if (ifMatch !== undefined && (!current || current.deleted || current.versionId !== ifMatch)) {
        throw preconditionFailed(`If-Match version ${ifMatch} does not match the current version of ${resource.resourceType}/${resource.id}`);
      }
      const stored = await repo.writeVersion(resource, resource.id, current);
      return { stored, created: !current || current.deleted };
    });
  }

  /** Versioned delete: a deletion version is recorded; deleting what is absent changes nothing. */
  delete(resourceType: string, id: string, ifMatch?: string): Promise<StoredResource | undefined> {
    this.access.require('d', resourceType);
    return this.transaction(async (repo) => {
      const locked = await repo.lockCurrent(resourceType, id);
      // What the caller may not see is, to them, absent: deleting it changes nothing.
      const current = locked?.visible ? locked : undefined;
      if (ifMatch !== undefined && (!current || current.versionId !== ifMatch)) {
        throw preconditionFailed(`If-Match version ${ifMatch} does not match the current version of ${resourceType}/${id}`);
      }
      if (!current || current.deleted) return undefined;
      const resource = parseStored(current);
      // A deletion claims no relationship: it ends those the resource held (never the record of a declaration).
      await this.access.checkWrite(
        repo.client,
        { resourceType, id, compartment: current.compartment, resource, current: { ...current, resource: () => resource }, claims: [], held: [], deletion: true },
        careEvidence(repo.client),
        repo.reached,
      );
      const versionId = String(Number(current.versionId) + 1);
      const lastUpdated = new Date().toISOString();
      await repo.client.query(
        `UPDATE resource SET version_id = $3, last_updated = $4, deleted = true, content = '' WHERE resource_type = $1 AND id = $2`,
        [resourceType, id, versionId, lastUpdated],
      );
      await repo.client.query(
        `INSERT INTO resource_version (resource_type, id, version_id, last_updated, deleted, compartment, method, content, author, security)
         SELECT resource_type, id, $3, $4, true, compartment, 'delete', '', author, security FROM resource WHERE resource_type = $1 AND id = $2`,
        [resourceType, id, versionId, lastUpdated],
      );
      await repo.client.query(DELETE_INDEX_SQL, [resourceType, id]);
      repo.reachMayHaveChanged([resourceType]);
      if (resourceType === 'SearchParameter') repo.afterCommit(() => unregisterSearchParameters([resource as SearchParameter]));
      const deleted = { resourceType, id, versionId, lastUpdated, deleted: true, json: '', compartment: current.compartment };
      await repo.auditMany({ action: 'D', interaction: 'delete', recorded: lastUpdated }, [deleted]);
      return deleted;
    });
  }

  /** The ids of current resources matching a conditional operation's criteria (a type search). */
  async matchIds(resourceType: string, criteria: URLSearchParams, limit = 2): Promise<string[]> {
    const request = parseSearchRequest(resourceType, criteria);
    if (request.filters.length === 0) throw badRequest(`A conditional operation needs search criteria`, 'criteria');
    request.count = limit;
    request.sort = [];
    const result = await this.search(request);
    return result.entries.map((e) => e.id);
  }

  /**
   * Serializes conditional operations on the same criteria until the transaction ends, so 16
   * clients racing the same conditional create make one resource: the second waits, then its
   * search sees the first one's commit (READ COMMITTED takes a new snapshot per statement).
   */
  async lockCriteria(resourceType: string, criteria: URLSearchParams): Promise<void> {
    await this.lockAllCriteria([[resourceType, criteria]]);
  }

  /** `lockCriteria` for many criteria at once (a results Bundle's entries), in one statement. */
  async lockAllCriteria(list: readonly (readonly [resourceType: string, criteria: URLSearchParams])[]): Promise<void> {
    const canonical = (criteria: URLSearchParams) => [...criteria].map(([k, v]) => `${k}=${v}`).sort().join('&');
    await lockKeys(this.client, list.map(([resourceType, criteria]) => `${resourceType}?${canonical(criteria)}`));
  }

  /**
   * A type-level search: one page of matches in the requested order, the resources `_include`
   * and `_revinclude` add to it, and the total when asked for.
   */
  async search(request: SearchRequest): Promise<SearchResult> {
    const params = new SqlParams();
    // Judged only for a search the caller may run at all; searchWhere refuses the others.
    const patients = this.access.aggregateOnly || !this.permits('s', request.resourceType) ? undefined : compartmentPatients(request);
    const judged = patients ? await this.access.judgePatients(this.client, patients) : undefined;
    const { where, types } = this.searchWhere(request, params, judged);
    const note: AuditNote = {
      action: 'E',
      interaction: types || request.resourceType === '*' ? 'search-system' : 'search-type',
      query: new URLSearchParams(request.applied).toString(),
      recorded: new Date().toISOString(),
    };
    // A search naming patients is about them whatever it returns, a count or nothing: each gets
    // its record with the first page (later pages are recorded by the rows they show).
    const named = this.access.audits && !this.access.aggregateOnly && !request.cursor ? narrowedPatients(request) : [];
    const countOnly = request.summary === 'count' || request.count === 0;
    const total = await this.total(request, where.join(' AND '), params, countOnly && named.length > 0 ? { note, patients: named } : undefined);
    if (this.access.aggregateOnly) return total === undefined ? { entries: [], included: [], suppressed: true } : { entries: [], included: [], total };
    if (countOnly) return { entries: [], included: [], total };
    const keys = sortKeys(request, params);
    if (request.cursor) where.push(keysetCondition(keys, decodeCursor(request.cursor, keys.length), params));
    const pageSql = `SELECT ${STORED_COLUMNS}, ${sortColumns(keys)}${this.basisColumn('r', params, judged)} FROM resource r WHERE ${where.join(' AND ')} ORDER BY ${orderBy(keys)} LIMIT ${request.count + 1}`;
    // Not prepared: after five runs PostgreSQL may switch a prepared statement to a generic plan,
    // and for searches (ANY over arrays, token joins) that plan was many times slower. Lookups by
    // identifier are the exception: their plan is the same for any value, and planning the door's
    // filter anew cost more than the lookup.
    const prepare = isLookup(request) ? { prepare: statementName('lookup', pageSql) } : undefined;
    const rows = await this.client.query<StoredRow & Audited & Record<string, string | null>>(pageSql, params.values, prepare);
    const page = rows.slice(0, request.count);
    const entries = page.map(toStored);
    const last = page[page.length - 1];
    const nextCursor = rows.length > request.count && last ? encodeCursor(keys.map((_, i) => last[`sort_${i}`] ?? null)) : undefined;
    if (request.includes.length === 0) {
      await this.auditPage(note, page, named);
      return { entries, total, nextCursor, included: [] };
    }
    const included = await this.included(request, entries);
    await this.auditMany(note, [...entries, ...included], named);
    return { entries, total, nextCursor, included };
  }

  /**
   * Observation/$lastn: of the Observations `request` matches, the `max` most recent per code
   * (src/fhir/last-n.ts). The candidates are read as index rows only (id, effective time,
   * codings); only the chosen ones are read whole, and only they are audited, with each patient
   * the request names.
   */
  async lastN(request: SearchRequest, max: number): Promise<StoredResource[]> {
    const params = new SqlParams();
    const { where } = this.searchWhere(request, params);
    const codings = `SELECT coalesce(t.system, '') || '|' || t.value FROM search_token t WHERE t.resource_type = r.resource_type AND t.id = r.id AND t.code = 'code' AND t.value IS NOT NULL`;
    const candidates = await this.client.query<{ id: string; effective: string | null; codings: string[]; text: string | null }>(
      `SELECT r.id, (SELECT extract(epoch FROM max(d.low)) * 1000 FROM search_date d WHERE d.resource_type = r.resource_type AND d.id = r.id AND d.code = 'date')::text AS effective,
        ARRAY(${codings}) AS codings, CASE WHEN NOT EXISTS (${codings}) THEN r.content::jsonb -> 'code' ->> 'text' END AS text
      FROM resource r WHERE ${where.join(' AND ')} LIMIT ${MAX_LAST_N_CANDIDATES + 1}`,
      params.values,
    );
    if (candidates.length > MAX_LAST_N_CANDIDATES) {
      throw tooCostly(`More than ${MAX_LAST_N_CANDIDATES} Observations match: narrow the request by category, code or date`);
    }
    const chosen = lastN(candidates.map((c) => ({ ...c, effective: c.effective === null ? null : Number(c.effective) })), max);
    const named = this.access.audits && !this.access.aggregateOnly ? narrowedPatients(request) : [];
    const note: AuditNote = { action: 'E', interaction: '$lastn', query: new URLSearchParams(request.applied).toString(), recorded: new Date().toISOString() };
    if (chosen.length === 0) {
      await this.auditPage(note, [], named);
      return [];
    }
    const read = new SqlParams();
    const visible = this.access.visible('r', read, 'Observation');
    const rows = await this.client.query<StoredRow & Audited>(
      `SELECT ${STORED_COLUMNS}${this.basisColumn('r', read)} FROM resource r WHERE r.resource_type = 'Observation' AND r.id = ANY(${read.add(chosen)}::text[]) AND NOT r.deleted${
        visible ? ` AND ${visible}` : ''
      }`,
      read.values,
    );
    const order = new Map(chosen.map((id, i) => [id, i]));
    rows.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    await this.auditPage(note, rows, named);
    return rows.map(toStored);
  }

  /**
   * The conditions of a search: its filters, the types its scopes open, and row access (the
   * door's condition, inside chains and `_has` too); the caller's right to search is checked first.
   */
  private searchWhere(request: SearchRequest, params: SqlParams, judged?: PatientJudgement): { where: string[]; types?: SearchRequest['types'] } {
    this.access.checkSearch(request);
    const types = request.types?.filter(({ resourceType }) => this.permits('s', resourceType));
    if (types?.length === 0) throw forbidden(`No granted scope allows searching ${request.types!.map((t) => t.resourceType).join(', ')}`);
    if (!types && request.resourceType !== '*') this.access.require('s', request.resourceType);
    const where = ['NOT r.deleted'];
    // Aggregates count over every record (by the few parameters the door lets them use); row
    // access applies to everyone else, inside chains and `_has` too, where a type the scopes do
    // not open matches nothing.
    const counting = this.access.aggregateOnly;
    const visible = (alias: string, resourceType?: string) => (counting ? undefined : this.access.visible(alias, params, resourceType));
    const access = (alias: string, resourceType: string) => (counting ? undefined : this.permits('s', resourceType) ? visible(alias, resourceType) : 'false');
    if (types) {
      const perType = types.map(({ resourceType, filters }) =>
        [`r.resource_type = ${params.add(resourceType)}`, ...filterConditions({ ...request, resourceType, filters }, params, access), visible('r', resourceType)]
          .filter((c) => c !== undefined)
          .join(' AND '),
      );
      where.push(`(${perType.map((condition) => `(${condition})`).join(' OR ')})`);
    } else {
      if (request.resourceType !== '*') where.push(`r.resource_type = ${params.add(request.resourceType)}`);
      where.push(...filterConditions(request, params, access));
      const condition = judged && request.resourceType !== '*' ? judged.visible('r', params, request.resourceType) : visible('r', request.resourceType === '*' ? undefined : request.resourceType);
      if (condition) where.push(condition);
    }
    if (request.compartments === 'any') where.push('r.compartment IS NOT NULL');
    else if (request.compartments) where.push(`r.compartment = ANY(${params.add(request.compartments)}::text[])`);
    return { where, ...(types ? { types } : {}) };
  }

  /** True when the caller may do `permission` on `resourceType` (the door's require, as a test). */
  permits(permission: Permission, resourceType: string): boolean {
    try {
      this.access.require(permission, resourceType);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * `_total=accurate` counts; `estimate` takes the planner's row estimate, which costs no scan.
   * Aggregate-only callers get the perturbed count, undefined when withheld. With `named`, the
   * search is a count naming patients: their audit records ride in the counting statement.
   */
  private async total(request: SearchRequest, where: string, params: SqlParams, named?: { note: AuditNote; patients: string[] }): Promise<number | undefined> {
    if (this.access.aggregateOnly) {
      // Perturbed and thresholded in the database (src/store/aggregate-count.ts); undefined when
      // withheld. A resource with several matching index rows is one record.
      const keyed = new SqlParams();
      const matches = indexOnlyMatches(request, keyed);
      return matches
        ? perturbedCount(this.client, `SELECT DISTINCT ${keyed.add(request.resourceType)}::text AS resource_type, m.id FROM (${matches}) m`, keyed.values, MIN_AGGREGATE_COUNT)
        : perturbedCount(this.client, `SELECT r.resource_type, r.id FROM resource r WHERE ${where}`, params.values, MIN_AGGREGATE_COUNT);
    }
    const wanted = request.total !== 'none' || request.summary === 'count';
    if (named && this.access.audits) {
      // Narrowed to a few patients, so counted exactly (never estimated); the count is about them, so each gets a record.
      const rows = await this.client.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource r WHERE ${where}`, params.values);
      await this.auditMany(named.note, [], named.patients);
      return wanted ? Number(rows[0]?.n) : undefined;
    }
    if (!wanted) return undefined;
    const values = params.values;
    if (request.total === 'estimate') {
      const plan = await this.client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM resource r WHERE ${where}`, values);
      const json = plan[0]?.['QUERY PLAN'];
      const parsed = (typeof json === 'string' ? JSON.parse(json) : json) as [{ Plan: { 'Plan Rows': number } }];
      return Math.round(parsed[0].Plan['Plan Rows']);
    }
    const counting = new SqlParams();
    // The index-only count knows nothing of the access condition: only for callers without one.
    const matches = this.access.unrestricted ? indexOnlyMatches(request, counting) : undefined;
    // An index can hold several matching rows of one resource (two codings, `code=a,b`): count each resource once.
    const sql = matches ? `SELECT count(DISTINCT m.id)::text AS n FROM (${matches}) m` : `SELECT count(*)::text AS n FROM resource r WHERE ${where}`;
    return Number((await this.client.query<{ n: string }>(sql, matches ? counting.values : values))[0]!.n);
  }

  /**
   * What `_include` and `_revinclude` add to a page; `:iterate` ones apply again to what was
   * added, round after round, until nothing new comes or the limits below are reached.
   */
  private async included(request: SearchRequest, matches: StoredResource[]): Promise<StoredResource[]> {
    const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
    const included: StoredResource[] = [];
    let frontier = matches;
    for (let round = 0; round < MAX_INCLUDE_ROUNDS && frontier.length > 0 && included.length < MAX_INCLUDED; round++) {
      const byType = new Map<string, string[]>();
      for (const resource of frontier) byType.set(resource.resourceType, [...(byType.get(resource.resourceType) ?? []), resource.id]);
      const params = new SqlParams();
      const conditions: string[] = [];
      for (const include of request.includes) {
        if (round > 0 && !include.iterate) continue;
        for (const [resourceType, ids] of byType) {
          const condition = includeCondition(include, resourceType, ids, params);
          if (condition) conditions.push(condition);
        }
      }
      if (conditions.length === 0) break;
      const visible = this.access.visible('r', params);
      const rows = await this.client.query<StoredRow>(
        `SELECT ${STORED_COLUMNS} FROM resource r WHERE NOT r.deleted AND (${conditions.join(' OR ')})${visible ? ` AND ${visible}` : ''} LIMIT ${MAX_INCLUDED - included.length}`,
        params.values,
      );
      frontier = rows.map(toStored).filter((r) => !seen.has(`${r.resourceType}/${r.id}`));
      for (const resource of frontier) seen.add(`${resource.resourceType}/${resource.id}`);
      included.push(...frontier);
    }
    return included;
  }

  /** Instance, type or system history, newest first (https://hl7.org/fhir/R4/http.html#history). */
  async history(options: HistoryOptions): Promise<{ entries: StoredResource[]; nextCursor?: string; total?: number }> {
    if (this.access.aggregateOnly) throw forbidden(`History shows records; this caller sees aggregate counts only`);
    if (options.resourceType) this.access.require(options.id ? 'r' : 's', options.resourceType);
    const params = new SqlParams();
    const scope: string[] = [];
    const visible = this.access.visible('v', params, options.resourceType, true);
    if (visible) scope.push(visible);
    const current = this.currentVisible('v', params, options.resourceType);
    if (current) scope.push(current);
    if (options.resourceType) scope.push(`v.resource_type = ${params.add(options.resourceType)}`);
    if (options.id) scope.push(`v.id = ${params.add(options.id)}`);
    const where: string[] = [];
    if (options.since) where.push(`v.last_updated >= ${params.add(dateRange(options.since, '_since').low)}::timestamptz`);
    let source = `resource_version v`;
    if (options.at) {
      const at = dateRange(options.at, '_at');
      source = `(SELECT v.*, lead(v.last_updated) OVER (PARTITION BY v.resource_type, v.id ORDER BY v.version_id) AS next_updated
        FROM resource_version v ${scope.length ? 'WHERE ' + scope.join(' AND ') : ''}) AS v`;
      where.push(`v.last_updated <= ${params.add(at.high)}::timestamptz AND (v.next_updated IS NULL OR v.next_updated > ${params.add(at.low)}::timestamptz)`);
    } else {
      where.push(...scope);
    }
    if (options.cursor) {
      const [updated, type, id, version] = decodeCursor(options.cursor, 4);
      where.push(
        `(v.last_updated, v.resource_type, v.id, v.version_id) < (${params.add(updated)}::timestamptz, ${params.add(type)}, ${params.add(id)}, ${params.add(version)}::bigint)`,
      );
    }
    const interaction = options.id ? 'history-instance' : options.resourceType ? 'history-type' : 'history-system';
    // Ordered by the table's columns (qualified), not the text aliases of STORED_COLUMNS: the
    // index on last_updated serves it and versions compare as numbers.
    const recorded = new Date().toISOString();
    const rows = await this.client.query<StoredRow & Audited>(
      `SELECT ${qualified('v')}, v.method${this.basisColumn('v', params)} FROM ${source} ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY v.last_updated DESC, v.resource_type DESC, v.id DESC, v.version_id DESC LIMIT ${options.count + 1}`,
      params.values,
    );
    const page = rows.slice(0, options.count);
    await this.auditPage({ action: 'R', interaction, recorded }, page);
    const entries = page.map(toStored);
    const last = entries[entries.length - 1];
    const nextCursor = rows.length > options.count && last ? encodeCursor([last.lastUpdated, last.resourceType, last.id, last.versionId]) : undefined;
    return { entries, nextCursor };
  }

  private async lockCurrent(resourceType: string, id: string): Promise<CurrentVersion | undefined> {
    const params = new SqlParams();
    const where = `r.resource_type = ${params.add(resourceType)} AND r.id = ${params.add(id)}`;
    const visible = this.access.visible('r', params, resourceType) ?? 'true';
    // Sent together: the server takes the lock before it reads, so the read sees the version the lock's last holder committed.
    const [, rows] = await Promise.all([
      this.client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`${resourceType}/${id}`], { prepare: 'lock-resource' }),
      this.client.query<StoredRow & { author: string | null; visible: boolean }>(`SELECT ${STORED_COLUMNS}, r.author, (${visible}) AS visible FROM resource r WHERE ${where}`, params.values),
    ]);
    const row = rows[0];
    return row ? { ...toStored(row), compartment: row.compartment, author: row.author, visible: row.visible } : undefined;
  }

  /** Asks the door whether this version may be written, and which care relationships it holds. */
  private async checkWrite(version: NextVersion, current: CurrentVersion | undefined, entailedBy?: string): Promise<WriteVerdict> {
    const existing = current && !current.deleted ? current : undefined;
    // What the trusted write (the platform, an import) claims holds as it is: nothing to look up.
    const held = existing && !this.access.unrestricted && version.care.length > 0 ? await heldCare(this.client, version.resourceType, version.id) : [];
    return this.access.checkWrite(
      this.client,
      {
        resourceType: version.resourceType,
        id: version.id,
        compartment: version.compartment,
        // Read only if the door asks for it: for a resource prepared in a worker that parses it again.
        get resource() {
          return version.full;
        },
        ...(existing ? { current: { compartment: existing.compartment, author: existing.author, visible: existing.visible, resource: () => parseStored(existing) } } : {}),
        claims: await resolveParties(this.client, version.care),
        held,
        ...(entailedBy ? { entailedBy } : {}),
      },
      careEvidence(this.client),
      this.reached,
    );
  }

  /**
   * Records what the door decided beside a write: the self-declared relationships, kept for
   * review whatever becomes of their evidence, and the notices the patient is owed.
   */
  private async recordVerdicts(verdicts: readonly { evidence: string; verdict: WriteVerdict }[]): Promise<void> {
    const declarations = verdicts.flatMap(({ evidence, verdict }) => verdict.declarations.map((d) => ({ ...d, evidence })));
    if (declarations.length > 0) {
      const column = (pick: (d: (typeof declarations)[number]) => string) => declarations.map(pick);
      await this.client.query(
        `INSERT INTO care_declaration (id, patient, party, kind, evidence, declared_by, client_id, expires_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])`,
        [
          declarations.map(() => randomUUID()),
          column((d) => d.patient),
          column((d) => d.party),
          column((d) => d.kind),
          column((d) => d.evidence),
          column((d) => d.declaredBy),
          column((d) => d.clientId),
          column((d) => d.expiresAt),
        ],
      );
    }
    await this.tellPatient([...declarations.map((d) => d.notice), ...verdicts.flatMap(({ verdict }) => verdict.notices)]);
  }

  /**
   * Makes the changes of other resources the door said the writes entail (a replaced document
   * marked superseded), in this transaction, as this caller: each is a write the door checks again,
   * told which write entails it. What the caller cannot see is, to it, not there.
   */
  private async writeEntailed(verdicts: readonly { evidence: string; verdict: WriteVerdict }[]): Promise<void> {
    for (const { evidence, verdict } of verdicts) {
      for (const entailed of verdict.changes ?? []) {
        const { resourceType, id } = entailed;
        const current = await this.lockCurrent(resourceType, id);
        if (!current || current.deleted || !current.visible) throw fhirError('not-found', `${resourceType}/${id} is not known`, entailed.expression);
        this.access.require('u', resourceType);
        const next = { ...entailed.change(parseStored(current)), id };
        await this.writeVersion(next, id, current, undefined, evidence);
      }
    }
  }

  /** Writes what the server owes patients (notices), under the door's policy for them, in this transaction. */
  private async tellPatient(notices: readonly Resource[]): Promise<void> {
    if (notices.length === 0) return;
    const server = this.joined(this.access.notices);
    for (const notice of notices) await server.create(notice);
  }

  /**
   * Writes the next version of a resource with its search index rows as ONE statement (data-
   * modifying CTEs): atomic on its own, and one round trip to the server instead of eight.
   */
  private async writeVersion(
    resource: Resource,
    id: string,
    current: CurrentVersion | undefined,
    prepared = prepareResource(resource, id),
    entailedBy?: string,
  ): Promise<StoredResource> {
    await securityContextCompartments(this.client, [{ prepared, resource }]);
    const version = nextVersion(prepared, current, this.access.author, resource);
    const restricted = !this.access.unrestricted;
    const claims = prepared.claims;
    const audited = this.access.audits && version.compartment !== null;
    const subscribable = TOPIC_RESOURCE_TYPES.has(version.resourceType);
    if ((claims.length > 0 || restricted || audited || subscribable || version.care.length > 0) && !this.tx) {
      return this.transaction((repo) => repo.writeVersion(resource, id, current, prepared, entailedBy));
    }
    const verdict = await this.checkWrite(version, current, entailedBy);
    if (claims.length > 0) {
      const [taken] = await conflictingClaims(this.client, claims);
      if (taken) throw this.identifierConflict(taken);
    }
    const params = new SqlParams();
    params.values.push(version.resourceType, id, version.versionId, version.lastUpdated, version.compartment, version.json, version.method, version.author, version.security);
    const steps = current
      ? [
          `w AS (UPDATE resource SET version_id = $3, last_updated = $4, deleted = false, compartment = $5, content = $6, author = $8, security = $9 WHERE resource_type = $1 AND id = $2)`,
          ...INDEX_DELETES,
        ]
      : [`w AS (INSERT INTO resource (resource_type, id, version_id, last_updated, compartment, content, author, security) VALUES ($1, $2, $3, $4, $5, $6, $8, $9))`];
    steps.push(
      `v AS (INSERT INTO resource_version (resource_type, id, version_id, last_updated, compartment, content, method, author, security) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))`,
    );
    steps.push(...indexInserts([{ ...prepared, care: verdict.care }], params, ['$1', '$2']));
    // Prepared: planning this statement cost more than running it. Its shape varies only with which tables get rows.
    const sql = `WITH ${steps.join(', ')} SELECT 1`;
    // The audit record goes out behind the write, in the same round trip: the server runs them in
    // order, so a failed write fails the append too, and its own error is the first one heard.
    await Promise.all([
      this.client.query(sql, params.values, { prepare: statementName('write', sql) }),
      this.auditMany({ action: version.method === 'create' ? 'C' : 'U', interaction: version.method, recorded: version.lastUpdated }, [toStoredVersion(version)]),
    ]);
    this.reachMayHaveChanged([version.resourceType]);
    await this.recordVerdicts([{ evidence: `${version.resourceType}/${id}`, verdict }]);
    await this.writeEntailed([{ evidence: `${version.resourceType}/${id}`, verdict }]);
    if (subscribable && (await recordSubscriptionEvents(this.client, [{ resourceType: version.resourceType, id, versionId: version.versionId, index: prepared.index, compartment: version.compartment }]))) {
      this.afterCommit(() => announceSubscriptionEvents(this.db));
    }
    if (version.resourceType === 'SearchParameter') this.searchParametersChanged([{ before: current, after: version.full }]);
    if (version.resourceType === 'StructureDefinition') this.afterCommit(() => registerStructureDefinitions([version.full]));
    return toStoredVersion(version);
  }

  /**
   * Writes many resources together: new ids are created, and with `upsert` existing ones get a new
   * version unless their content is unchanged (so re-running an import writes nothing). Used by
   * bulk import, by the creates of a transaction and by seeding.
   */
  writeMany(items: readonly { resource: Resource; id: string }[], mode: 'create' | 'upsert'): Promise<WriteManyResult> {
    return this.writePrepared(
      items.map(({ resource, id }) => ({ prepared: prepareResource(resource, id), resource })),
      mode,
    );
  }

  /**
   * `writeMany` of resources already prepared (src/store/prepared-resource.ts), possibly in a worker
   * thread: then the resource itself is parsed again only if the door or a definition needs it.
   * The rows of many new resources go in by COPY, one per table; the rest in ONE statement
   * (data-modifying CTEs), in the same transaction as the door's checks and the audit.
   */
  async writePrepared(items: readonly { prepared: PreparedResource; resource?: Resource }[], mode: 'create' | 'upsert'): Promise<WriteManyResult> {
    if (items.length === 0) return { stored: [], unchanged: 0, refused: [] };
    for (const type of new Set(items.map((i) => i.prepared.resourceType))) this.access.require(mode === 'create' ? 'c' : 'u', type);
    const claims = items.flatMap(({ prepared }, item) => prepared.claims.map((claim) => ({ ...claim, item })));
    const needsTransaction =
      claims.length > 0 ||
      !this.access.unrestricted ||
      this.access.audits ||
      items.length >= COPY_MIN_RESOURCES ||
      items.some((i) => CARE_TYPES.has(i.prepared.resourceType) || TOPIC_RESOURCE_TYPES.has(i.prepared.resourceType));
    if (needsTransaction && !this.tx) return this.transaction((repo) => repo.writePrepared(items, mode));
    await securityContextCompartments(this.client, items);
    const refused: WriteManyResult['refused'] = [];
    const refusedItems = new Set<number>();
    for (const taken of await conflictingClaims(this.client, claims)) {
      const error = this.identifierConflict(taken);
      if (mode === 'create') throw Object.assign(error, { item: taken.item });
      if (refusedItems.has(taken.item)) continue;
      refusedItems.add(taken.item);
      refused.push({ item: taken.item, error });
    }
    const current = mode === 'upsert' ? await this.currentVersions(items.map((i) => i.prepared)) : new Map<string, CurrentVersion>();
    const versions: (NextVersion & { existing: boolean; verdict: WriteVerdict })[] = [];
    let unchanged = 0;
    for (const [item, { prepared, resource }] of items.entries()) {
      if (refusedItems.has(item)) continue;
      const { resourceType, id } = prepared;
      const row = current.get(`${resourceType}/${id}`);
      // Before anything is compared: an upsert of an id the caller may not see would overwrite
      // (or, answered "unchanged", confirm the content of) what it cannot know exists; and, as for
      // update, a caller with limits may not choose a new id.
      if (mode === 'upsert' && !this.access.unrestricted && !(row && !row.deleted && row.visible)) {
        throw Object.assign(notFound(`${resourceType}/${id} is not known`), { item });
      }
      if (row && !row.deleted && sameContent(row.json, prepared)) {
        unchanged++;
        continue;
      }
      const version = nextVersion(prepared, row, this.access.author, resource);
      // Object.assign, not a spread: a spread would read `full`, parsing what no one asked for.
      versions.push(Object.assign(version, { existing: !!row, verdict: await this.checkWrite(version, row) }));
    }
    if (versions.length === 0) return { stored: [], unchanged, refused };
    const fresh = versions.filter((v) => !v.existing);
    const copyFrom = this.client.copyFrom;
    const copied = copyFrom && fresh.length >= COPY_MIN_RESOURCES ? fresh : [];
    const stated = copied.length > 0 ? versions.filter((v) => v.existing) : versions;
    if (stated.length > 0) await this.writeStatement(stated);
    if (copyFrom && copied.length > 0) {
      await copyAll({ copyFrom }, [...versionCopies(copied), ...derivedCopies(copied.map((v) => ({ ...v.prepared, care: v.verdict.care })))]);
    }
    this.reachMayHaveChanged(versions.map((v) => v.resourceType));
    await this.recordVerdicts(versions.map((v) => ({ evidence: `${v.resourceType}/${v.id}`, verdict: v.verdict })));
    await this.writeEntailed(versions.map((v) => ({ evidence: `${v.resourceType}/${v.id}`, verdict: v.verdict })));
    if (await recordSubscriptionEvents(this.client, versions.map((v) => ({ resourceType: v.resourceType, id: v.id, versionId: v.versionId, index: v.prepared.index, compartment: v.compartment })))) {
      this.afterCommit(() => announceSubscriptionEvents(this.db));
    }
    this.searchParametersChanged(versions.filter((v) => v.resourceType === 'SearchParameter').map((v) => ({ before: current.get(`SearchParameter/${v.id}`), after: v.full })));
    if (versions.some((v) => v.resourceType === 'StructureDefinition')) {
      const definitions = versions.filter((v) => v.resourceType === 'StructureDefinition').map((v) => v.full);
      this.afterCommit(() => registerStructureDefinitions(definitions));
    }
    const stored = versions.map(toStoredVersion);
    const recorded = versions[0]!.lastUpdated;
    await this.auditMany({ action: 'C', interaction: mode === 'create' ? 'create' : 'update', recorded }, stored.filter((_, i) => versions[i]!.method === 'create'));
    await this.auditMany({ action: 'U', interaction: 'update', recorded }, stored.filter((_, i) => versions[i]!.method === 'update'));
    return { stored, unchanged, refused };
  }

  /** Versions with their derived rows (replacing those of the versions they follow) in one statement. */
  private async writeStatement(versions: readonly (NextVersion & { existing: boolean; verdict: WriteVerdict })[]): Promise<void> {
    const params = new SqlParams();
    const column = (pick: (v: (typeof versions)[number]) => unknown, type: string) => `${params.add(versions.map(pick))}::${type}[]`;
    const input = `SELECT * FROM unnest(${[
      column((v) => v.resourceType, 'text'),
      column((v) => v.id, 'text'),
      column((v) => v.versionId, 'bigint'),
      column((v) => v.lastUpdated, 'timestamptz'),
      column((v) => v.compartment, 'text'),
      column((v) => v.json, 'text'),
      column((v) => v.method, 'text'),
      column((v) => v.existing, 'boolean'),
      column((v) => v.author, 'text'),
      // Label arrays travel space-joined (codes hold no spaces): unnest cannot carry an array per row.
      column((v) => v.security.join(' '), 'text'),
    ].join(', ')}) AS t(resource_type, id, version_id, last_updated, compartment, content, method, existing, author, security_codes)`;
    const steps = [
      `input AS (SELECT t.*, string_to_array(t.security_codes, ' ') AS security FROM (${input}) t)`,
      `w AS (INSERT INTO resource (resource_type, id, version_id, last_updated, compartment, content, author, security)
        SELECT resource_type, id, version_id, last_updated, compartment, content, author, security FROM input WHERE NOT existing)`,
      `u AS (UPDATE resource r SET version_id = i.version_id, last_updated = i.last_updated, deleted = false, compartment = i.compartment, content = i.content,
        author = i.author, security = i.security
        FROM input i WHERE i.existing AND r.resource_type = i.resource_type AND r.id = i.id)`,
      `v AS (INSERT INTO resource_version (resource_type, id, version_id, last_updated, compartment, content, method, author, security)
        SELECT resource_type, id, version_id, last_updated, compartment, content, method, author, security FROM input)`,
      ...DERIVED_TABLES.map((table, i) => `dm${i} AS (DELETE FROM ${table} s USING input i WHERE i.existing AND s.resource_type = i.resource_type AND s.id = i.id)`),
      ...indexInserts(versions.map((v) => ({ ...v.prepared, care: v.verdict.care })), params),
    ];
    // Prepared, as a single write is: every input is an array, so the shape varies only with which tables get rows.
    const sql = `WITH ${steps.join(', ')} SELECT 1`;
    await this.client.query(sql, params.values, { prepare: statementName('write-many', sql) });
  }

  /**
   * Rebuilds the search index rows of one page of current resources, in (type, id) order after
   * `after`; used by `densaulyq reindex` when search parameter definitions change. One
   * statement per page, so a reader never sees a resource half-indexed.
   */
  async reindexPage(options: { after?: [string, string]; limit: number; resourceType?: string }): Promise<{ count: number; last?: [string, string] }> {
    this.requirePlatform('reindex');
    const params = new SqlParams();
    const where = ['NOT r.deleted'];
    if (options.resourceType) where.push(`r.resource_type = ${params.add(options.resourceType)}`);
    if (options.after) where.push(`(r.resource_type, r.id) > (${params.add(options.after[0])}, ${params.add(options.after[1])})`);
    const rows = await this.client.query<{ resource_type: string; id: string; content: string }>(
      `SELECT r.resource_type, r.id, r.content FROM resource r WHERE ${where.join(' AND ')} ORDER BY r.resource_type, r.id LIMIT ${options.limit}`,
      params.values,
    );
    if (rows.length === 0) return { count: 0 };
    const write = new SqlParams();
    const input = `SELECT * FROM unnest(${write.add(rows.map((r) => r.resource_type))}::text[], ${write.add(rows.map((r) => r.id))}::text[]) AS t(resource_type, id)`;
    const steps = [
      `input AS (${input})`,
      ...REINDEXED_TABLES.map((table, i) => `d${i} AS (DELETE FROM ${table} s USING input i WHERE s.resource_type = i.resource_type AND s.id = i.id)`),
      ...indexInserts(rows.map((r) => ({ resourceType: r.resource_type, id: r.id, ...derivedIndex(parseStored({ json: r.content }), r.id) })), write),
    ];
    await this.client.query(`WITH ${steps.join(', ')} SELECT 1`, write.values);
    const last = rows[rows.length - 1]!;
    return { count: rows.length, last: [last.resource_type, last.id] };
  }

  /**
   * Refreshes the planner's statistics after a bulk load: without them PostgreSQL (and PGlite,
   * which has no autovacuum) plans searches over freshly loaded tables as if they were empty.
   */
  async analyze(): Promise<void> {
    this.requirePlatform('analyze');
    await this.client.query('ANALYZE');
  }

  /**
   * Starts an initial load (`densaulyq import --initial`): the indexes no write reads are dropped,
   * to be built once at the end by `buildDeferredIndexes` (src/store/initial-load.ts).
   */
  async deferIndexes(): Promise<void> {
    this.requirePlatform('defer the indexes of');
    await this.transaction((repo) => deferIndexes(repo.client));
  }

  /** Builds the indexes an initial load deferred, also those of one that was interrupted. Returns how many. */
  async buildDeferredIndexes(): Promise<number> {
    this.requirePlatform('index');
    return buildDeferredIndexes(this.client);
  }

  /** How many current resources there are (of one type), for progress reports. */
  async countCurrent(resourceType?: string): Promise<number> {
    this.requirePlatform('count');
    const rows = await this.client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM resource r WHERE NOT r.deleted${resourceType ? ' AND r.resource_type = $1' : ''}`,
      resourceType ? [resourceType] : [],
    );
    return Number(rows[0]!.n);
  }

  private async currentVersions(items: readonly { resourceType: string; id: string }[]): Promise<Map<string, CurrentVersion>> {
    const params = new SqlParams();
    const input = `SELECT * FROM unnest(${params.add(items.map((i) => i.resourceType))}::text[], ${params.add(items.map((i) => i.id))}::text[])`;
    const visible = this.access.visible('r', params) ?? 'true';
    const rows = await this.client.query<StoredRow & { author: string | null; visible: boolean }>(
      `SELECT ${STORED_COLUMNS}, r.author, (${visible}) AS visible FROM resource r WHERE (resource_type, id) IN (${input})`,
      params.values,
    );
    return new Map(rows.map((row) => [`${row.resource_type}/${row.id}`, { ...toStored(row), compartment: row.compartment, author: row.author, visible: row.visible }]));
  }

  /**
   * A one-time code the patient (or their representative) gives an organization so it can confirm
   * its self-declared care relationship; audited, like any act on the record.
   */
  async careCode(patient: string): Promise<{ code: string; expires: string }> {
    if (!this.access.author?.startsWith('Patient/') || !(await this.visible('Patient', patient))) throw notFound(`Patient/${patient} is not known`);
    return this.transaction(async (repo) => {
      const issued = await issueCareCode(repo.client, patient, this.access.author!);
      await repo.auditMany({ action: 'E', interaction: '$care-code', recorded: new Date().toISOString() }, [], [patient]);
      return issued;
    });
  }

  /**
   * Corroborates self-declared care: the patient confirms an organization's claim (`party`), or the
   * organization itself presents a one-time code the patient gave it. Returns the number of
   * declarations confirmed; a wrong or used code is a 403 that confirms nothing.
   */
  async confirmCare(patient: string, confirmation: { party: string } | { code: string }): Promise<number> {
    const author = this.access.author;
    const byPatient = 'party' in confirmation;
    if (byPatient ? !author?.startsWith('Patient/') : !author?.startsWith('Organization/')) {
      throw forbidden(byPatient ? `Only the patient or their representative confirms for an organization` : `An organization confirms its own care with the patient's code`);
    }
    if (byPatient && !(await this.visible('Patient', patient))) throw notFound(`Patient/${patient} is not known`);
    const party = byPatient ? confirmation.party : author!;
    return this.transaction(async (repo) => {
      if (!byPatient && !(await redeemCareCode(repo.client, patient, confirmation.code, author!))) throw forbidden(`The code is not valid for this patient, or was used or expired`);
      const confirmed = await confirmDeclarations(repo.client, patient, party, author!);
      repo.reachMayHaveChanged();
      await repo.auditMany({ action: 'E', interaction: '$confirm-care', recorded: new Date().toISOString() }, [], [patient]);
      return confirmed;
    });
  }

  /**
   * The patient's side of self-declared care: the declarations organizations made about `patient`,
   * newest first, for those who read the patient's access log (the patient, their representatives).
   * Seen, not read, like the access log: not itself an access to the record.
   */
  async patientCareDeclarations(patient: string, query: Omit<DeclarationQuery, 'party' | 'patient' | 'unreviewed'>): Promise<{ rows: CareDeclarationRow[]; nextCursor?: string }> {
    if (!(await this.visible('Patient', patient))) throw notFound(`Patient/${patient} is not known`);
    if (!this.access.readsAccessLogs) throw forbidden(`Only the patient, their representative or an administrator with clinical access lists who declared care for a patient`);
    return listDeclarations(this.client, { ...query, patient });
  }

  /**
   * The patient (or their representative) disputes `party`'s self-declared care: the relationship
   * its declarations opened ends at once, they stay on the review list marked disputed, and the
   * dispute is audited. Returns how many declarations were disputed; none is a 404.
   */
  async disputeCare(patient: string, party: string): Promise<number> {
    const author = this.access.author;
    if (!author?.startsWith('Patient/')) throw forbidden(`Only the patient or their representative disputes an organization's self-declared care`);
    if (!(await this.visible('Patient', patient))) throw notFound(`Patient/${patient} is not known`);
    return this.transaction(async (repo) => {
      const disputed = await disputeDeclarations(repo.client, patient, party, author);
      repo.reachMayHaveChanged();
      if (disputed === 0) throw notFound(`${party} declared no care for Patient/${patient} that is not already disputed`);
      await repo.auditMany({ action: 'E', interaction: '$dispute-care', recorded: new Date().toISOString() }, [], [patient]);
      return disputed;
    });
  }

  /** The self-declared care relationships the caller reviews (its organization's, or all for the ministry). */
  async careDeclarations(query: Omit<DeclarationQuery, 'party'> & { party?: string }): Promise<{ rows: CareDeclarationRow[]; nextCursor?: string }> {
    const party = this.reviewedParty(query.party);
    return listDeclarations(this.client, { ...query, ...(party ? { party } : {}) });
  }

  /** Records a review of a declaration the caller reviews; a declaration it may not review is a 404. */
  async reviewCareDeclaration(review: { id: string; outcome: string; note?: string }): Promise<void> {
    const party = this.reviewedParty(undefined);
    if (!(await reviewDeclaration(this.client, { ...review, reviewer: this.access.author ?? review.id, ...(party ? { party } : {}) }))) {
      throw notFound(`No care declaration ${review.id} to review`);
    }
  }

  /** The party whose declarations the caller reviews (undefined: all); 403 when it reviews none or asks for another's. */
  private reviewedParty(asked: string | undefined): string | undefined {
    const scope = this.access.declarationReview;
    if (scope === undefined) throw forbidden(`Only an organization's administrator or the ministry reviews self-declared care`);
    if (scope === 'all') return asked;
    if (asked !== undefined && asked !== scope) throw forbidden(`An organization's administrator reviews its own organization's declarations only`);
    return scope;
  }

  /**
   * Changes a patient's primary-care attachment to `organization`: the citizen's request (for
   * themself or a child they represent) or the registry's act, written by the registry's policy
   * (the door's `attachment`), which tells the patient. The Patient's other references stay.
   */
  async attach(patient: string, organization: string): Promise<StoredResource> {
    const attachment = this.access.attachment;
    if (!attachment) throw forbidden(`Primary-care attachment changes at the patient's request or by the registry`);
    if (!(await this.visible('Patient', patient))) throw notFound(`Patient/${patient} is not known`);
    return this.transaction(async (repo) => {
      const registry = repo.joined(attachment);
      const [found] = await repo.client.query<{ content: string }>(`SELECT content FROM resource WHERE resource_type = 'Patient' AND id = $1 AND NOT deleted`, [patient]);
      const [target] = await repo.client.query(`SELECT 1 FROM resource WHERE resource_type = 'Organization' AND id = $1 AND NOT deleted`, [organization]);
      if (!found) throw notFound(`Patient/${patient} is not known`);
      if (!target) throw badRequest(`Organization/${organization} is not known`, 'organization');
      const record = parseStored<Patient>({ json: found.content });
      const others = (record.generalPractitioner ?? []).filter((r) => !r.reference?.startsWith('Organization/'));
      const next = { ...record, id: patient, generalPractitioner: [...others, { reference: `Organization/${organization}` }] };
      return (await registry.update(next)).stored;
    });
  }

  /**
   * A SearchParameter written: the process indexes and searches by it once the write commits
   * (a rolled-back one never), in place of what its previous version defined.
   */
  private searchParametersChanged(changes: readonly { before: StoredResource | undefined; after: Resource }[]): void {
    if (changes.length === 0) return;
    const before = changes.flatMap(({ before }) => (before && !before.deleted ? [parseStored<SearchParameter>(before)] : []));
    this.afterCommit(() => {
      unregisterSearchParameters(before);
      registerSearchParameters(changes.map(({ after }) => after as SearchParameter));
    });
  }

  /** Maintenance that reads or rewrites everything: the platform's own jobs only. */
  private requirePlatform(what: string): void {
    if (!this.access.unrestricted) throw forbidden(`Only the platform may ${what} the store`);
  }
}

type NextVersion = ReturnType<typeof nextVersion>;

/**
 * The next version of a prepared resource: id and meta set by the server. Its author is whoever
 * created the resource (kept across versions): a hidden item stays visible to it. `full`, the
 * resource with that meta, is built only when read: from `resource` when it is at hand, else
 * parsed from the version's JSON (a resource prepared in a worker thread).
 */
function nextVersion(prepared: PreparedResource, current: CurrentVersion | undefined, author: string | null, resource?: Resource) {
  const versionId = current ? String(Number(current.versionId) + 1) : '1';
  const lastUpdated = new Date().toISOString();
  const json = versionJson(prepared, versionId, lastUpdated);
  let full: Resource | undefined;
  return {
    resourceType: prepared.resourceType,
    id: prepared.id,
    versionId,
    lastUpdated,
    json,
    compartment: prepared.compartment,
    method: (current && !current.deleted ? 'update' : 'create') as 'create' | 'update',
    author: current?.author ?? author,
    security: prepared.security,
    care: prepared.care,
    prepared,
    get full(): Resource {
      return (full ??= resource ? withMeta(resource, prepared.id, versionId, lastUpdated) : parseStored({ json }));
    },
  };
}

function toStoredVersion(version: NextVersion): StoredResource {
  const { resourceType, id, versionId, lastUpdated, json, method, compartment } = version;
  return { resourceType, id, versionId, lastUpdated, deleted: false, json, method, compartment };
}

function toStored(row: StoredRow): StoredResource {
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: row.last_updated,
    deleted: row.deleted,
    json: row.content,
    method: row.method,
    compartment: row.compartment,
  };
}

