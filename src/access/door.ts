import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { normalizeString } from '../fhir/normalize.js';
import { forbidden, notFound, tooManyRequests } from '../fhir/outcome.js';
import type { SearchRequest } from '../fhir/search-request.js';
import type { DocumentReference, Patient, RelatedPerson, Task } from '@medplum/fhirtypes';
import { representsLegally } from '../store/access-facts.js';
import type { AccessPolicy, AuditBasis, AuditNote, CareEvidence, PatientJudgement, Permission, WriteCheck, WriteVerdict } from '../store/access-policy.js';
import type { AuditAgent } from '../store/audit-append.js';
import type { SqlClient } from '../store/driver.js';
import { PREPARED_LIST_MAX, SqlParams, statementName, valueList } from '../store/sql-params.js';
import { checkAggregateSearch } from './aggregate-rules.js';
import { auditAgent, compactAuditRecord } from './audit-event.js';
import { type Writer, decideCare } from './care-decisions.js';
import { checkReferralTask, isReferralTask, takesPartIn } from './referral-tasks.js';
import { checkDocumentWrite } from './document-references.js';
import { attachmentNotice } from './patient-notices.js';
import { assertRegistryElementsKept, attachedOrganizations } from './registry-elements.js';
import type { AccessContext } from './context.js';
import { NOTIFIABLE_ICD10_PREFIXES, NOTIFIABLE_SNOMED_CODES } from './notifiable.js';
import { type ResourceScope, parseScopes, resourceScopes, scopesAllowing } from './scopes.js';

/**
 * The one door: the access rules of one caller, as the SQL the Repository folds into every
 * query and the checks it makes before every write (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 * for scopes; roles, care relationships, consent and break-glass as docs/architecture.md says).
 *
 * - citizen: their own compartment, and that of children (under 18) whose RelatedPerson (from
 *   the registry) names the citizen's IIN as parent or guardian; writes only of what citizens
 *   record (consents, questionnaires, messages, self-measurements, appointments);
 * - clinician and organization system: patients with a care relationship to their organization
 *   that the patient has not denied by Consent, without the categories the patient hid (unless
 *   they wrote the item), or any patient under break-glass. Relationships come from evidence
 *   (src/access/care-decisions.ts): what an organization states about itself without a verified
 *   relationship is self-declared, flagged in the audit, time-limited, told and reviewed;
 * - registry: identity and legal representation (Patients, RelatedPersons), which only it changes
 *   (src/access/registry-elements.ts);
 * - organization administrator: no clinical data; reviews its organization's self-declared care;
 * - public-health officer: notifiable Conditions, and their patients, in the officer's region;
 * - analyst: counts only, over a few non-identifying parameters, small ones withheld;
 * - administrator: configuration (resources outside any patient compartment), or everything
 *   when granted clinical access;
 * - platform: the platform's own jobs (seeding, import, export to files, the duplicate scan,
 *   maintenance), each by its own capability below, never reachable by a token.
 *
 * What the caller may not see is absent to them: a 404, not a 403, so existence is not disclosed.
 */
export function accessPolicy(context: AccessContext): AccessPolicy {
  // Otherwise any code could mint the platform's unrestricted access without a grep finding it.
  if (context.role === 'platform') throw new Error('The platform acts only through the named capabilities of src/access/door.ts');
  return new Door(context);
}

/**
 * The platform itself: unrestricted and not audited per resource. Never exported: each job that
 * acts as the platform asks for its own capability below, so a grep finds every one of them.
 */
const PLATFORM_CONTEXT: AccessContext = Object.freeze({
  role: 'platform',
  subject: 'densaulyq',
  clientId: 'densaulyq-platform',
  scopes: [],
  purposeOfUse: 'HOPERAT',
});

/** Seeding synthetic demo data (and test fixtures): written under the ids the generator chose, which no caller may choose. */
export function seedingAccess(): AccessPolicy {
  return new Door(PLATFORM_CONTEXT);
}

/** `densaulyq import`: the operator's files loaded as they are, ids kept; whoever runs the CLI already holds the database. */
export function importAccess(): AccessPolicy {
  return new Door(PLATFORM_CONTEXT);
}

/** `densaulyq export`: every resource to files on the operator's disk, for the same reason. */
export function directoryExportAccess(): AccessPolicy {
  return new Door(PLATFORM_CONTEXT);
}

/** `densaulyq duplicates scan`: reads every active Patient to fill the work list; no person sees what it reads. */
export function duplicateScanAccess(): AccessPolicy {
  return new Door(PLATFORM_CONTEXT);
}

/** Reindexing, planner statistics and loading SearchParameters at start-up: reads and rewrites everything, discloses nothing. */
export function maintenanceAccess(): AccessPolicy {
  return new Door(PLATFORM_CONTEXT);
}

/**
 * The HL7 v2 intake (src/hl7v2/intake.ts): keeps every message received and its ACK before any
 * sender is known, and reads the Endpoints that say which system a sender is; it writes clinical
 * data only as the sender's own system caller, never under this.
 */
export function hl7v2IntakeAccess(): AccessPolicy {
  return new Door(PLATFORM_CONTEXT);
}

/**
 * The Subscription delivery worker (src/exchange/delivery.ts): leases and settles every
 * subscription's outbox; what a notification carries is read as its subscriber, never as this.
 */
export function subscriptionDeliveryAccess(): AccessPolicy {
  return new Door(PLATFORM_CONTEXT);
}

/**
 * Whoever presents a citizen's SMART Health Link (src/passport/share-links.ts): the link is their
 * only credential, it reaches no resource through the door (its content was encrypted when the
 * patient made it), and each use is audited as a disclosure the patient directed, under the link's
 * id and the recipient they name (self-asserted).
 */
export function shareLinkAccess(use: { link: string; recipient?: string; address?: string }): AccessPolicy {
  return new Door({
    role: 'link-recipient',
    subject: use.link,
    clientId: 'smart-health-link',
    scopes: [],
    purposeOfUse: DEFAULT_PURPOSE['link-recipient'],
    ...(use.recipient ? { recipient: use.recipient } : {}),
    ...(use.address ? { address: use.address } : {}),
  });
}

/** The author the server's notices to patients are recorded under (src/access/patient-notices.ts). */
const NOTICE_AUTHOR = 'densaulyq-notice';

/** The server writing what it owes a patient: unrestricted, not audited, its notices recorded as its own. */
const NOTICE_CONTEXT: AccessContext = Object.freeze({ ...PLATFORM_CONTEXT, subject: NOTICE_AUTHOR });

/**
 * How often a caller with limits may be told an identifier is taken (each answer says a person
 * is registered): enough for a registration desk's honest mistakes, too few to walk IINs.
 * Counted per process; behind a load balancer the bound is per process.
 */
const MAX_PROBES = 10;
const PROBE_WINDOW_MS = 10 * 60_000;
const identifierProbes = new Map<string, number[]>();

/** Resource types citizens record themselves. */
const CITIZEN_WRITABLE = new Set(['Consent', 'QuestionnaireResponse', 'Communication', 'Observation', 'DocumentReference', 'Appointment']);

/** What the national registries record: identity and legal representation. */
const REGISTRY_TYPES = ['Patient', 'RelatedPerson'];

/**
 * Types outside the patient compartment that can still carry personal data (a Binary of a
 * document, a Bundle, a Group of patients, a List, a Subscription whose filter names a patient):
 * seen only by their author. A Binary whose securityContext names a resource of a patient's
 * record, and a Bundle that names a patient (a FHIR document), carry that patient's compartment
 * key (src/store/security-context.ts) and are seen like the rest of the record.
 */
const PRIVATE_TYPES = ['Binary', 'Bundle', 'Group', 'List', 'AuditEvent', 'Basic', 'Parameters', 'Subscription'];


/** The types a referral opens to the organization it is addressed to before it accepts (`addressedTo`). */
const REFERRAL_TYPES = new Set(['Task', 'ServiceRequest']);

/** The ActReason (purpose of use) a role's requests carry unless they state another. */
const DEFAULT_PURPOSE: Record<AccessContext['role'], string> = {
  citizen: 'PATRQT',
  clinician: 'TREAT',
  system: 'TREAT',
  'public-health': 'PUBHLTH',
  analyst: 'HRESCH',
  administrator: 'HOPERAT',
  'organization-administrator': 'HOPERAT',
  registry: 'HOPERAT',
  platform: 'HOPERAT',
  'link-recipient': 'PATRQT',
};

export function defaultPurposeOfUse(role: AccessContext['role']): string {
  return DEFAULT_PURPOSE[role];
}

const NOT_EXPIRED = (alias: string) => `(${alias}.valid_until IS NULL OR ${alias}.valid_until > now())`;

/** SQL true when the patient `patientSql`'s Consent denies the party `partySql` (index consent_rule_patient). */
const deniedParty = (patientSql: string, partySql: string) =>
  `EXISTS (SELECT 1 FROM consent_rule x WHERE x.patient = ${patientSql} AND x.kind = 'deny-party' AND x.value = ${partySql} AND ${NOT_EXPIRED('x')})`;

class Door implements AccessPolicy {
  readonly unrestricted: boolean;
  readonly aggregateOnly: boolean;
  readonly audits: boolean;
  readonly author: string | null;
  /** The party care relationships and consents name: `Organization/x`. */
  private readonly organization: string | undefined;
  /** A citizen's own Patient id. */
  private readonly self: string | undefined;

  constructor(private readonly context: AccessContext) {
    const { role } = context;
    this.unrestricted = role === 'platform' || (role === 'administrator' && context.clinicalAccess === true);
    this.aggregateOnly = role === 'analyst';
    this.audits = role !== 'platform' && !context.auditOff;
    this.organization = context.organization ? `Organization/${context.organization}` : undefined;
    this.self = role === 'citizen' && context.fhirUser?.startsWith('Patient/') ? context.fhirUser.slice('Patient/'.length) : undefined;
    this.author =
      role === 'citizen' ? (this.self ? `Patient/${this.self}` : null)
      : role === 'clinician' || role === 'system' ? (this.organization ?? null)
      : role === 'registry' ? 'registry'
      : context === NOTICE_CONTEXT ? NOTICE_AUTHOR
      : null;
    // Breaking the glass is for treating: a token that may record clinical data, not only read it.
    this.mayBreakGlass = (role === 'clinician' || role === 'system') && this.context.scopes.some(
      (s) => s.query.length === 0 && s.resourceType !== 'Patient' && s.permissions.some((p) => p === 'c' || p === 'u'),
    );
  }

  readonly mayBreakGlass: boolean;

  /** The patient and their representatives (a citizen reaches only those), the platform, and an administrator with clinical access. */
  get readsAccessLogs(): boolean {
    const { role } = this.context;
    return role === 'citizen' || role === 'platform' || (role === 'administrator' && this.context.clinicalAccess === true);
  }

  /** A citizen shares what is theirs (their own record and their children's): nobody shares a record for another. */
  get sharesRecords(): boolean {
    return this.context.role === 'citizen' && this.self !== undefined;
  }

  /** Only a caller who sees every record: anyone narrower would leave what they cannot see behind on a merged source. */
  get administersIdentity(): boolean {
    return this.unrestricted;
  }

  get jobOwner(): string {
    return `${this.context.clientId}|${this.context.subject}`;
  }

  get notices(): AccessPolicy {
    return new Door(NOTICE_CONTEXT);
  }

  get attachment(): AccessPolicy | undefined {
    const { role } = this.context;
    if (role === 'registry') return this;
    if (role !== 'citizen' || !this.self) return undefined;
    // The registry's hand, moved by the citizen's request: audited under the citizen's account.
    return new Door({ ...this.context, role: 'registry', scopes: resourceScopes(parseScopes('system/Patient.ru')), purposeOfUse: 'PATRQT' });
  }

  noteIdentifierProbe(): void {
    if (this.unrestricted) return;
    const now = Date.now();
    // Expired entries go as they are met, so the map holds only accounts probing now.
    for (const [subject, times] of identifierProbes) if (times.every((t) => t <= now - PROBE_WINDOW_MS)) identifierProbes.delete(subject);
    const recent = (identifierProbes.get(this.context.subject) ?? []).filter((t) => t > now - PROBE_WINDOW_MS);
    if (recent.length >= MAX_PROBES) throw tooManyRequests(`Too many identifier conflicts: registering people whose identifiers are taken is limited to ${MAX_PROBES} per ${PROBE_WINDOW_MS / 60_000} minutes`);
    identifierProbes.set(this.context.subject, [...recent, now]);
  }

  get declarationReview(): 'all' | string | undefined {
    if (this.unrestricted) return 'all';
    return this.context.role === 'organization-administrator' ? this.organization : undefined;
  }

  require(permission: Permission, resourceType: string): void {
    const { role } = this.context;
    if (role === 'platform') return;
    if (resourceType === 'AuditEvent' && permission !== 'r' && permission !== 's') {
      throw forbidden(`Audit records are written by the server only; read them through Patient/[id]/$access-log`);
    }
    if (role === 'analyst' && permission !== 's') throw forbidden(`An analyst sees aggregate counts only`);
    if (role === 'public-health' && permission !== 'r' && permission !== 's') throw forbidden(`A public-health officer reads notifiable data only`);
    if (this.allowing(permission, resourceType).length === 0) {
      throw forbidden(`No granted scope allows ${PERMISSION_VERBS[permission]} ${resourceType === '*' ? 'resources' : resourceType}`);
    }
  }

  /** An analyst's counts follow src/access/aggregate-rules.ts: nothing narrowed to a person, nothing cheap to subtract. */
  checkSearch(request: SearchRequest): void {
    if (this.aggregateOnly) checkAggregateSearch(request);
  }

  visible(alias: string, params: SqlParams, resourceType?: string, version = false): string | undefined {
    if (this.context.role === 'platform') return undefined;
    if (this.aggregateOnly) return 'false';
    // Where the query spans types (includes, system history), the scopes still say which.
    const readable = resourceType === undefined ? this.readableTypes() : undefined;
    const typed = readable ? `${alias}.resource_type = ANY(${params.add(readable)}::text[])` : undefined;
    if (this.unrestricted) return typed;
    const conditions = typed ? [typed] : [];
    const c = `${alias}.compartment`;
    const nonCompartment = `(${c} IS NULL AND (${alias}.resource_type <> ALL(${params.add(PRIVATE_TYPES)}::text[])${
      this.author ? ` OR ${alias}.author = ${params.add(this.author)}` : ''
    }))`;
    const patient = this.patientCondition(alias, params, resourceType, version);
    conditions.push(patient ? `(${nonCompartment} OR (${c} IS NOT NULL AND ${patient}))` : nonCompartment);
    return conditions.join(' AND ');
  }

  /** When the caller may see the row `alias` of a patient's compartment; undefined when never. */
  private patientCondition(alias: string, params: SqlParams, resourceType: string | undefined, version = false): string | undefined {
    const c = `${alias}.compartment`;
    const inLaunch = this.launchCondition(alias, params, resourceType);
    switch (this.context.role) {
      case 'citizen': {
        if (!this.self) return undefined;
        const self = params.add(this.self);
        return `((${c} = ${self}) OR (${this.dependant(c, self, params)} AND ${this.labelsVisible(alias, params)}))${inLaunch}`;
      }
      case 'clinician':
      case 'system': {
        const breakGlass = this.breakGlassGrant(c, params);
        if (!this.organization) return `${breakGlass}${inLaunch}`;
        const party = params.add(this.organization);
        const related = `EXISTS (SELECT 1 FROM care_relationship cr WHERE cr.party = ${party} AND cr.patient = ${c} AND ${NOT_EXPIRED('cr')})`;
        const denied = deniedParty(c, party);
        // The server's notices to the patient (who looked at their record, and why) are the patient's.
        const notNotice = `${alias}.author IS DISTINCT FROM '${NOTICE_AUTHOR}'`;
        const labels = this.labelsVisible(alias, params);
        const reached = `(${related} OR ${this.addressedTo(alias, params)}) AND NOT ${denied} AND ${labels}`;
        return `((${reached}) OR ${breakGlass}) AND ${notNotice}${inLaunch}`;
      }
      case 'public-health':
        return this.context.region ? `${this.notifiable(alias, params, version)}${inLaunch}` : undefined;
      case 'registry':
        return `${alias}.resource_type = ANY(${params.add(REGISTRY_TYPES)}::text[])`;
      default:
        return undefined;
    }
  }

  /**
   * A referral sent to the caller's organization, before it accepts it: the Task it owns and the
   * ServiceRequest it is to perform (src/access/referral-tasks.ts); the rest of the record opens
   * only when it accepts.
   */
  private addressedTo(alias: string, params: SqlParams): string {
    const organization = params.add(this.context.organization);
    const names = (type: string, code: string) =>
      `(${alias}.resource_type = '${type}' AND EXISTS (SELECT 1 FROM search_reference a WHERE a.resource_type = '${type}' AND a.id = ${alias}.id AND a.code = '${code}'
        AND a.target_type = 'Organization' AND a.target_id = ${organization}))`;
    return `(${names('Task', 'owner')} OR ${names('ServiceRequest', 'performer')})`;
  }

  /** A child (under 18) whose RelatedPerson names the citizen's IIN as parent or guardian. */
  private dependant(c: string, self: string, params: SqlParams): string {
    const iin = `(SELECT 'iin|' || t.value FROM search_token t WHERE t.resource_type = 'Patient' AND t.id = ${self} AND t.code = 'identifier' AND t.system = ${params.add(IIN_SYSTEM)} LIMIT 1)`;
    return `EXISTS (SELECT 1 FROM care_relationship cr WHERE cr.party = ${iin} AND cr.patient = ${c} AND cr.kind = 'representative' AND ${NOT_EXPIRED('cr')}
      AND EXISTS (SELECT 1 FROM search_date d WHERE d.resource_type = 'Patient' AND d.id = ${c} AND d.code = 'birthdate' AND d.low > now() - interval '18 years'))`;
  }

  /** The row carries no category its patient hid, or the caller wrote it. */
  private labelsVisible(alias: string, params: SqlParams): string {
    const own = this.author ? ` OR ${alias}.author = ${params.add(this.author)}` : '';
    return `(${alias}.security = '{}'${own} OR NOT EXISTS (SELECT 1 FROM consent_rule x WHERE x.patient = ${alias}.compartment AND x.kind = 'hide-label'
      AND x.value = ANY(${alias}.security) AND ${NOT_EXPIRED('x')}))`;
  }

  /** Notifiable Conditions of patients living in the officer's region, and those patients' Patient resources. */
  private notifiable(alias: string, params: SqlParams, version: boolean): string {
    const c = `${alias}.compartment`;
    const codes = params.add(NOTIFIABLE_SNOMED_CODES);
    const prefixes = params.add(NOTIFIABLE_ICD10_PREFIXES.map((p) => `${p}%`));
    const isNotifiable = (value: string) => `(${value} = ANY(${codes}::text[]) OR ${value} LIKE ANY(${prefixes}::text[]))`;
    const inRegion = `EXISTS (SELECT 1 FROM search_string s WHERE s.resource_type = 'Patient' AND s.id = ${c} AND s.code = 'address-state'
      AND s.normalized = ${params.add(normalizeString(this.context.region!))})`;
    // A refuted or mistaken diagnosis is no case.
    const indexed = `(${alias}.resource_type = 'Condition' AND EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = 'Condition'
      AND t.id = ${alias}.id AND t.code = 'code' AND ${isNotifiable('t.value')}) AND NOT EXISTS (SELECT 1 FROM search_token v WHERE v.resource_type = 'Condition'
      AND v.id = ${alias}.id AND v.code = 'verification-status' AND v.value IN ('refuted', 'entered-in-error')))`;
    // A past version is judged by its own codes (the indexes hold the current version's): a
    // diagnosis that became notifiable does not open what it said before.
    const json = `(CASE WHEN ${alias}.content = '' THEN '{}' ELSE ${alias}.content END)::jsonb`;
    const ownCodes = `(${alias}.resource_type = 'Condition' AND EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(${json}->'code'->'coding', '[]'::jsonb)) t(c)
      WHERE ${isNotifiable("(t.c->>'code')")}) AND coalesce(${json}->'verificationStatus'->'coding'->0->>'code', '') NOT IN ('refuted', 'entered-in-error'))`;
    const condition = version ? `(${indexed} AND ${ownCodes})` : indexed;
    const casePatient = `(${alias}.resource_type = 'Patient' AND EXISTS (SELECT 1 FROM resource n JOIN search_token t ON t.resource_type = 'Condition'
      AND t.id = n.id AND t.code = 'code' WHERE n.compartment = ${c} AND n.resource_type = 'Condition' AND NOT n.deleted AND ${isNotifiable('t.value')}
      AND NOT EXISTS (SELECT 1 FROM search_token v WHERE v.resource_type = 'Condition' AND v.id = n.id AND v.code = 'verification-status'
        AND v.value IN ('refuted', 'entered-in-error'))))`;
    return `(${inRegion} AND (${condition} OR ${casePatient}))`;
  }

  /** SQL true when the caller holds an unexpired break-glass grant for the patient `patientSql`. */
  private breakGlassGrant(patientSql: string, params: SqlParams): string {
    return `EXISTS (SELECT 1 FROM break_glass b WHERE b.subject = ${params.add(this.context.subject)} AND b.patient = ${patientSql} AND b.expires_at > now())`;
  }

  auditBasis(patientSql: string, params: SqlParams): string | undefined {
    const { role } = this.context;
    if (role !== 'clinician' && role !== 'system') return undefined;
    const breakGlass = this.breakGlassGrant(patientSql, params);
    if (!this.organization) return `CASE WHEN ${breakGlass} THEN 'break-glass' END`;
    // Reached only through what the organization declared about itself: flagged like break-glass.
    const party = params.add(this.organization);
    const relation = (verified: boolean) =>
      `EXISTS (SELECT 1 FROM care_relationship cr WHERE cr.party = ${party} AND cr.patient = ${patientSql} AND ${verified ? '' : 'NOT '}cr.verified AND ${NOT_EXPIRED('cr')})`;
    return `CASE WHEN ${breakGlass} THEN 'break-glass' WHEN NOT ${relation(true)} AND ${relation(false)} THEN 'self-declared' END`;
  }

  /**
   * A clinician's or system's rules are per patient but for two row facts (hidden labels, a
   * referral addressed to the organization): each patient is judged here once (break-glass,
   * Consent denial, relationship and its verification, any hidden label), in one prepared
   * statement, and rows need only their patient's verdict. Planning the per-row form costs more
   * than the whole search it guards (issue 11); the verdicts give the same answer for these rows.
   */
  async judgePatients(client: SqlClient, patients: readonly string[]): Promise<PatientJudgement | undefined> {
    const { role } = this.context;
    if ((role !== 'clinician' && role !== 'system') || !this.organization || patients.length === 0) return undefined;
    const params = new SqlParams();
    const list = valueList(params, patients);
    const party = params.add(this.organization);
    const verdicts = await client.query<{ patient: string; glass: boolean; denied: boolean; verified: boolean | null; hides: boolean }>(
      `SELECT p.patient, ${this.breakGlassGrant('p.patient', params)} AS glass, ${deniedParty('p.patient', party)} AS denied,
        (SELECT bool_or(cr.verified) FROM care_relationship cr WHERE cr.party = ${party} AND cr.patient = p.patient AND ${NOT_EXPIRED('cr')}) AS verified,
        EXISTS (SELECT 1 FROM consent_rule x WHERE x.patient = p.patient AND x.kind = 'hide-label' AND ${NOT_EXPIRED('x')}) AS hides
       FROM ${list} AS p(patient)`,
      params.values,
      patients.length <= PREPARED_LIST_MAX ? { prepare: `door-judge-patients-${patients.length}` } : undefined,
    );
    const glass = verdicts.filter((v) => v.glass);
    const open = verdicts.filter((v) => !v.glass && !v.denied);
    const related = open.filter((v) => v.verified !== null);
    const unrelated = open.filter((v) => v.verified === null);
    const selfDeclared = related.filter((v) => v.verified === false);
    const among = (alias: string, rowParams: SqlParams, group: typeof verdicts) =>
      `${alias}.compartment = ANY(${rowParams.add(group.map((v) => v.patient))}::text[])`;
    return {
      visible: (alias, rowParams, resourceType) => {
        const labels = (group: typeof verdicts) => (group.some((v) => v.hides) ? ` AND ${this.labelsVisible(alias, rowParams)}` : '');
        const reached = [
          ...(glass.length > 0 ? [among(alias, rowParams, glass)] : []),
          ...(related.length > 0 ? [`(${among(alias, rowParams, related)}${labels(related)})`] : []),
          ...(unrelated.length > 0 && REFERRAL_TYPES.has(resourceType) ? [`(${among(alias, rowParams, unrelated)} AND ${this.addressedTo(alias, rowParams)}${labels(unrelated)})`] : []),
        ];
        if (reached.length === 0) return 'false';
        return `(${reached.join(' OR ')}) AND ${alias}.author IS DISTINCT FROM '${NOTICE_AUTHOR}'${this.launchCondition(alias, rowParams, resourceType)}`;
      },
      auditBasis: (alias, rowParams) => {
        const cases = [
          ...(glass.length > 0 ? [`WHEN ${among(alias, rowParams, glass)} THEN 'break-glass'`] : []),
          ...(selfDeclared.length > 0 ? [`WHEN ${among(alias, rowParams, selfDeclared)} THEN 'self-declared'`] : []),
        ];
        return cases.length > 0 ? `CASE ${cases.join(' ')} END` : undefined;
      },
    };
  }

  refusal(patientSql: string, params: SqlParams): string | undefined {
    const { role } = this.context;
    if ((role !== 'clinician' && role !== 'system') || !this.organization || !this.audits) return undefined;
    return `(${deniedParty(patientSql, params.add(this.organization))} AND NOT ${this.breakGlassGrant(patientSql, params)})`;
  }

  async checkWrite(client: SqlClient, write: WriteCheck, evidence: CareEvidence, reached?: Map<string, boolean>): Promise<WriteVerdict> {
    const verdict = await this.decideWrite(client, write, evidence, reached);
    // The platform's imports keep documents as they were exported; everyone else follows the rules.
    if (this.context.role === 'platform') return verdict;
    const changes = checkDocumentWrite(write);
    return changes.length > 0 ? { ...verdict, changes } : verdict;
  }

  private async decideWrite(client: SqlClient, write: WriteCheck, evidence: CareEvidence, reached: Map<string, boolean> | undefined): Promise<WriteVerdict> {
    const { role } = this.context;
    const { resourceType, compartment, current } = write;
    if (this.unrestricted) return { ...(await decideCare(write, evidence, this.writer('trusted'))), notices: this.attachmentNotices(write) };
    if (role === 'analyst' || role === 'public-health' || role === 'organization-administrator') throw forbidden(`This role does not write`);
    if (role === 'registry') {
      if (!REGISTRY_TYPES.includes(resourceType)) throw forbidden(`The registry records ${REGISTRY_TYPES.join(' and ')} only, not ${resourceType}`);
      return { ...(await decideCare(write, evidence, this.writer('registry'))), notices: this.attachmentNotices(write) };
    }
    if (!this.author && role !== 'administrator') throw forbidden(`A caller acting for no organization and no patient writes nothing`);
    const referral = resourceType === 'Task' && isReferralTask(write.resource as Task) ? { before: current?.resource() as Task | undefined, after: write.resource as Task } : undefined;
    const takesPart = referral?.before !== undefined && takesPartIn(referral.before, this.organization);
    const others = takesPart || this.keepsDocument(write) || this.mayChangeOthers(resourceType, current?.compartment ?? null);
    if (current && (current.author === null || current.author !== this.author) && !others) {
      throw forbidden(`Only the organization or person that created ${resourceType}/${write.id} may change it`);
    }
    if (referral) checkReferralTask(referral.before, referral.after, this.organization);
    if (resourceType === 'RelatedPerson' && representsLegally(write.resource as RelatedPerson)) {
      throw forbidden(`Legal representation (a parent or guardian) is recorded by the civil registry`, 'RelatedPerson.relationship');
    }
    if (resourceType === 'Patient' && current) assertRegistryElementsKept(current.resource() as Patient, write.resource as Patient, this.organization);
    const none: WriteVerdict = { care: [], declarations: [], notices: [] };
    if (compartment === null) {
      if (role === 'citizen') throw forbidden(`A citizen writes only within their own record`);
      return none;
    }
    if (role === 'administrator') throw forbidden(`An administrator without clinical access does not write patient data`);
    if (role === 'citizen') {
      if (!CITIZEN_WRITABLE.has(resourceType)) throw forbidden(`A citizen may record ${[...CITIZEN_WRITABLE].join(', ')}, not ${resourceType}`);
      if (!(await this.reaches(client, compartment, reached))) throw notFound(`Patient/${compartment} is not known`);
      return { ...none, ...(await decideCare(write, evidence, this.writer('patient'))) };
    }
    const verdict = await decideCare(write, evidence, this.writer('organization'));
    // Registering a new person, or a resource by which this organization states that it cares for
    // the patient (verified or self-declared), needs no earlier relationship.
    const establishes = verdict.care.some((c) => c.patient === compartment && c.party === this.organization);
    // The owner of a referral it has not accepted yet sees its Task (addressedTo), and answers it.
    const answersReferral = takesPart && current?.visible === true;
    if (!(resourceType === 'Patient' && !current) && !establishes && !answersReferral && !(await this.reaches(client, compartment, reached))) {
      throw notFound(`Patient/${compartment} is not known`);
    }
    return { ...none, ...verdict };
  }

  /** The organization named as a document's custodian maintains it, as its author does (https://hl7.org/fhir/R4/documentreference-definitions.html#DocumentReference.custodian). */
  private keepsDocument(write: WriteCheck): boolean {
    if (write.resourceType !== 'DocumentReference' || !write.current || !this.organization) return false;
    return (write.current.resource() as DocumentReference).custodian?.reference === this.organization;
  }

  private writer(kind: Writer['kind']): Writer {
    const label = this.author ?? `${this.context.role}/${this.context.subject}`;
    return { kind, label, subject: this.context.subject, clientId: this.context.clientId, ...(this.organization ? { party: this.organization } : {}) };
  }

  /** The patient is told of every change of their primary-care attachment (which only the registry may make). */
  private attachmentNotices(write: WriteCheck): WriteVerdict['notices'] {
    if (write.resourceType !== 'Patient' || !write.current || this.context.role === 'platform') return [];
    const before = attachedOrganizations(write.current.resource() as Patient);
    const after = attachedOrganizations(write.resource as Patient);
    return before.join(' ') === after.join(' ') ? [] : [attachmentNotice(write.id, after)];
  }

  /**
   * What may be changed by others than its author: the Patient's demographics by the
   * organizations caring for them, and a patient's Consents by the patient, whoever recorded them.
   */
  private mayChangeOthers(resourceType: string, compartment: string | null): boolean {
    if (compartment === null) return this.context.role === 'administrator';
    if (resourceType === 'Consent') return this.context.role === 'citizen';
    // An organization caring for the patient adds contact details (the registry's elements stay).
    return resourceType === 'Patient' && this.context.role !== 'citizen';
  }

  /**
   * Whether the caller may see patient `patient`'s record (its Patient resource, by the same rules
   * as any row): as `reached` says when the transaction asked already, else one prepared statement.
   */
  private async reaches(client: SqlClient, patient: string, reached: Map<string, boolean> | undefined): Promise<boolean> {
    const known = reached?.get(patient);
    if (known !== undefined) return known;
    const params = new SqlParams();
    const condition = this.patientCondition('p', params, undefined) ?? 'false';
    const sql = `SELECT 1 FROM (SELECT ${params.add(patient)}::text AS compartment, 'Patient'::text AS resource_type, ${params.add(patient)}::text AS id,
        NULL::text AS author, '{}'::text[] AS security) p WHERE ${condition}`;
    const answer = (await client.query(sql, params.values, { prepare: statementName('door-reaches', sql) })).length > 0;
    reached?.set(patient, answer);
    return answer;
  }

  auditRecord(note: AuditNote, patient: string, basis?: AuditBasis): { payload: string; agent: AuditAgent } | undefined {
    if (!this.audits) return undefined;
    this.agent ??= auditAgent(this.context);
    const outcome = basis === 'consent-refused' ? '4' : '0';
    return { payload: compactAuditRecord({ ...note, outcome, context: this.context, ...(basis ? { basis } : {}), patient }, this.agent), agent: this.agent };
  }

  /** The agent row of this caller, made on the first audited access. */
  private agent: AuditAgent | undefined;

  /** The unconstrained scopes allowing `permission` on `resourceType` (constrained v2 scopes are not honoured: they grant nothing). */
  private allowing(permission: Permission, resourceType: string): ResourceScope[] {
    return scopesAllowing(this.context.scopes, { resourceType, permission }).filter((s) => s.query.length === 0);
  }

  /** The types the caller may read or search, or undefined for all. */
  private readableTypes(): string[] | undefined {
    const types = new Set<string>();
    for (const scope of this.context.scopes) {
      if (scope.query.length > 0 || !scope.permissions.some((p) => p === 'r' || p === 's')) continue;
      if (scope.resourceType === '*') return undefined;
      types.add(scope.resourceType);
    }
    return [...types];
  }

  /**
   * ` AND …` keeping rows that only `patient/` scopes let the caller read to the launch patient;
   * where the query spans types (includes), per row type: the types some other scope opens stay open.
   */
  private launchCondition(alias: string, params: SqlParams, resourceType: string | undefined): string {
    const reading = this.context.scopes.filter(
      (s) => s.query.length === 0 && s.permissions.some((p) => p === 'r' || p === 's') && (resourceType === undefined || s.resourceType === '*' || s.resourceType === resourceType),
    );
    if (!reading.some((s) => s.context === 'patient')) return '';
    const broader = reading.filter((s) => s.context !== 'patient').map((s) => s.resourceType);
    if (broader.includes('*') || (resourceType !== undefined && broader.length > 0)) return '';
    const inLaunch = this.context.launchPatient ? `${alias}.compartment = ${params.add(this.context.launchPatient)}` : 'false';
    return broader.length > 0 ? ` AND (${inLaunch} OR ${alias}.resource_type = ANY(${params.add(broader)}::text[]))` : ` AND ${inLaunch}`;
  }
}

const PERMISSION_VERBS: Record<Permission, string> = { c: 'creating', r: 'reading', u: 'updating', d: 'deleting', s: 'searching' };
