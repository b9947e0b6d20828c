import type { Resource } from '@medplum/fhirtypes';
import type { AuditAgent } from './audit-append.js';
import type { CareClaim, CareKind } from './access-facts.js';
import type { SearchRequest } from '../fhir/search-request.js';
import type { SqlClient } from './driver.js';
import type { SqlParams } from './sql-params.js';

/** SMART v2 permission letters: create, read, update, delete, search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** What an audit record says was done (https://profiles.ihe.net/ITI/BALP/). */
export interface AuditNote {
  /** AuditEvent.action: C, R, U, D or E (execute, for operations). */
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  /** The FHIR restful interaction (`read`, `search-type`…) or operation (`$everything`). */
  interaction: string;
  /** When it was done (ISO instant): AuditEvent.recorded and the audit row's own column. */
  recorded: string;
  /** What was touched, as `Type/id` references. */
  entities?: string[];
  /** A search's query string. */
  query?: string;
  /** The reason stated for break-glass. */
  reason?: string;
  /** The SMART Health Link acted on or through: its id and the label its patient gave it. */
  link?: { id: string; label?: string };
}

/** A write the door is asked about: the resource as it will be stored, and the version it replaces. */
export interface WriteCheck {
  resourceType: string;
  id: string;
  /** The new version's patient-compartment key. */
  compartment: string | null;
  resource: Resource;
  /** The current version, when the write replaces or deletes one. */
  current?: {
    compartment: string | null;
    author: string | null;
    resource: () => Resource;
    /** Whether the caller may see it. */
    visible: boolean;
  };
  /** The care relationships the written resource claims (src/store/access-facts.ts). */
  claims: CareClaim[];
  /** The relationships this resource's current version holds, as stored. */
  held: readonly CareRow[];
  /** The write deletes the current version (`resource` is that version). */
  deletion?: boolean;
  /** `Type/id` of the write that entails this one (an EntailedChange the door asked for), when it does. */
  entailedBy?: string;
}

/**
 * A change of another resource that a write entails (a replaced document marked superseded):
 * the store makes it in the write's transaction, as the same caller, through the door again.
 */
export interface EntailedChange {
  resourceType: string;
  id: string;
  /** The element of the entailing write that names the changed resource, for errors. */
  expression: string;
  /** The next version of the current one; throws a FhirError when it may not change so. */
  change(current: Resource): Resource;
}

/** A care relationship as stored: the claim, whether it is verified, and who asserted it. */
export interface CareRow {
  patient: string;
  party: string;
  kind: CareKind;
  validUntil: string | null;
  verified: boolean;
  assertedBy: string | null;
}

/** A relationship an organization declared about itself, to record for review and tell the patient about. */
export interface CareDeclaration {
  patient: string;
  party: string;
  kind: CareKind;
  expiresAt: string;
  declaredBy: string;
  clientId: string;
  /** The notice the patient's record receives (a Communication), written by the server. */
  notice: Resource;
}

/** What the door decides about a write it allows: the relationships it holds, and what was self-declared. */
export interface WriteVerdict {
  care: CareRow[];
  declarations: CareDeclaration[];
  /** Notices the patient is owed besides declarations (a change of primary-care attachment). */
  notices: Resource[];
  /** Changes of other resources the write entails. */
  changes?: EntailedChange[];
}

/** What the store knows about the evidence of a care relationship, for the door's decisions. */
export interface CareEvidence {
  /** True when `party` holds a verified, unexpired relationship with `patient` (besides break-glass). */
  verifiedRelationship(patient: string, party: string): Promise<boolean>;
  /** The expiry of `party`'s open (unconfirmed, unexpired) declaration about `patient`, if any. */
  openDeclaration(patient: string, party: string): Promise<string | undefined>;
  /** The referral (a current ServiceRequest): its patient, its performers and its author. */
  referral(reference: string): Promise<{ patient: string | null; performers: string[]; author: string | null } | undefined>;
  /** True when `practitioner` (Practitioner/x or PractitionerRole/x) has an active role in `organization`. */
  servesOrganization(practitioner: string, organization: string): Promise<boolean>;
}

/**
 * Why an audited access reached the patient, when it was not an ordinary verified relationship;
 * `consent-refused`: it did not, the patient's Consent denies the caller's organization (a refused attempt).
 */
export type AuditBasis = 'break-glass' | 'self-declared' | 'shared-link' | 'consent-refused';

/** What the door decided about a few patients (AccessPolicy.judgePatients), as conditions on their rows. */
export interface PatientJudgement {
  /** The condition on rows aliased `alias` of `resourceType`, all of the judged patients: what `visible` gives for them. */
  visible(alias: string, params: SqlParams, resourceType: string): string;
  /** The audit basis of such rows, as `auditBasis` gives it; undefined when every one is ordinary. */
  auditBasis(alias: string, params: SqlParams): string | undefined;
}

/**
 * The access rules a Repository is bound to (the "one door"): the Repository asks them before
 * every read and write and folds their SQL condition into every query it runs, so no route,
 * operation, include, chain, count, history or export sees a row the caller may not see.
 * Implemented by src/access/door.ts; the store only knows this interface.
 */
export interface AccessPolicy {
  /** No condition and no checks: the platform itself, or an administrator granted clinical access. */
  readonly unrestricted: boolean;
  /** Counts only, small ones suppressed (the analyst role): no resource leaves the store. */
  readonly aggregateOnly: boolean;
  /** True when this caller's accesses are audited. */
  readonly audits: boolean;
  /** The party recorded as the author of what this caller creates (`Organization/x`, `Patient/y`). */
  readonly author: string | null;
  /** Throws 403 when a search is not one this caller may run (the analyst's allowed parameters). */
  checkSearch(request: SearchRequest): void;
  /** Throws 403 when neither the role nor the granted scopes allow `permission` on `resourceType`. */
  require(permission: Permission, resourceType: string): void;
  /**
   * The SQL condition under which the row aliased `alias` (of `resource` or `resource_version`:
   * columns resource_type, id, compartment, author, security) may be seen, or undefined for
   * every row. `resourceType` is given when the query is about one type; `version` when the row is
   * a past version (of `resource_version`), judged by its own content where the rules read it.
   */
  visible(alias: string, params: SqlParams, resourceType?: string, version?: boolean): string | undefined;
  /**
   * Throws (403, or 404 for what the caller may not know exists) when the write is not allowed;
   * otherwise decides which care relationships it claims hold, verified or self-declared.
   * `reached`: whether this caller reaches each patient, as found earlier in the same transaction
   * (read and filled here; the store empties it when a write may change the answer).
   */
  checkWrite(client: SqlClient, write: WriteCheck, evidence: CareEvidence, reached?: Map<string, boolean>): Promise<WriteVerdict>;
  /**
   * The compact audit record of `note` for one patient and the agent row it names, or undefined
   * when this caller is not audited.
   */
  auditRecord(note: AuditNote, patient: string, basis?: AuditBasis): { payload: string; agent: AuditAgent } | undefined;
  /**
   * SQL giving the AuditBasis on which the caller reaches the patient `patientSql` ('break-glass',
   * 'self-declared') or NULL for an ordinary access; undefined when the caller has no such basis.
   */
  auditBasis(patientSql: string, params: SqlParams): string | undefined;
  /**
   * For a search whose rows all belong to `patients` (src/store/search-narrowing.ts): the door's
   * judgement of each of them, made once in one statement, so the search's own condition is
   * simple to plan and run; undefined when the caller's rules are not per patient.
   */
  judgePatients(client: SqlClient, patients: readonly string[]): Promise<PatientJudgement | undefined>;
  /**
   * SQL true when the Consent of the patient `patientSql` denies the party the caller acts for
   * (and no break-glass grant overrides it), or undefined when the caller acts for no party. Asked
   * only when a request naming a patient found nothing, so the attempt is recorded as refused.
   */
  refusal(patientSql: string, params: SqlParams): string | undefined;
  /**
   * Called before the caller is told an identifier is taken (a 409, which discloses that the
   * person is registered); throws 429 when the caller has been told so too often.
   */
  noteIdentifierProbe(): void;
  /** True when the caller may break the glass (a clinician or system with a clinical write scope). */
  readonly mayBreakGlass: boolean;
  /**
   * The registry's policy under which a primary-care attachment is changed for this caller: the
   * citizen's own request (for themself or a child they represent), or the registry's act;
   * undefined for everyone else.
   */
  readonly attachment: AccessPolicy | undefined;
  /**
   * True when the caller may read the access log of a patient it sees (who opened the record):
   * the person and their representatives, not everyone who sees the record.
   */
  readonly readsAccessLogs: boolean;
  /**
   * True when the caller decides on people's identity (merge, unmerge, the duplicates work list):
   * that moves every resource of a person, so only a caller who sees them all.
   */
  readonly administersIdentity: boolean;
  /**
   * The owner the caller's export jobs are recorded under; another owner's jobs and files are,
   * to this caller, not there (they hold that caller's data).
   */
  readonly jobOwner: string;
  /**
   * True when the caller may share the records they see by SMART Health Links, and list and
   * revoke those links: the person and their legal representatives, nobody acting for others.
   */
  readonly sharesRecords: boolean;
  /** Whose self-declared care relationships this caller reviews: 'all', one party (`Organization/x`), or none. */
  readonly declarationReview: 'all' | string | undefined;
  /**
   * The policy under which the server writes what it owes a patient (notices of break-glass,
   * self-declared care, attachment changes), whatever the caller's own scopes allow.
   */
  readonly notices: AccessPolicy;
}
