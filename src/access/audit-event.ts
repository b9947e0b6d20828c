import { createHash } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { AuditBasis } from '../store/access-policy.js';
import type { AuditRecordRow } from '../store/access-log.js';
import type { AuditAgent } from '../store/audit-append.js';
import { isCompactRecord } from '../store/audit-chain.js';
import type { AccessContext } from './context.js';
import { ACCESS_BASIS_DISPLAY, ACCESS_BASIS_SYSTEM, ACCESS_ROLE_DISPLAY, ACCESS_ROLE_SYSTEM, ACT_REASON_SYSTEM, ASSERTED_EXTENSION, PURPOSE_OF_USE_DISPLAY } from './audit-vocabulary.js';

/**
 * The AuditEvent of one audited interaction for one patient, following IHE Basic Audit Log
 * Patterns (BALP, https://profiles.ihe.net/ITI/BALP/content.html): who asked (the user, their
 * role and organization, the client app, the network address), what they did (action and
 * RESTful interaction), to whom (the Patient entity) and to what (data entities, the query),
 * why (purpose of use), when, and with which outcome. It holds references and codes only: no
 * names, no resource contents.
 *
 * Break-glass: `meta.security` carries v3-ActReason `BTG` ("break the glass"), and the user's
 * purposeOfUse becomes `ETREAT` plus `BTG` (whose text is the stated reason). BTG is an
 * ActReason purpose-of-use code, not an ActCode; the FHIR security labels
 * (https://hl7.org/fhir/R4/security-labels.html) admit purpose-of-use codes in `meta.security`,
 * so one `_security` test finds every break-glass record without walking the agents, and the
 * agent's purposeOfUse is where BALP puts the purpose.
 *
 * Self-declared care (the organization reached the patient only through what it stated about
 * itself) is flagged the same way, with the access-basis code `self-declared`. What a system only
 * asserts (the person it acts for, `X-On-Behalf-Of`; a purpose it states, `X-Purpose-Of-Use`) is
 * marked on the user agent with the `asserted-by-client` extension, so the access log can show
 * it as asserted rather than verified.
 *
 * A SMART Health Link's use (https://build.fhir.org/ig/HL7/smart-health-cards-and-links/links-specification.html)
 * is a disclosure the patient directed: the user agent is the recipient as their manifest request
 * named themself (`who.display`, marked asserted), identified by the link's id; the purpose is
 * `PATRQT`; `meta.security` carries the access-basis code `shared-link`; the link and its label
 * are an entity of the record.
 *
 * A refused attempt (an organization the patient's Consent denies asked for their data, and was
 * answered as if there were none) has outcome 4 and the access-basis code `consent-refused`,
 * so the patient sees who tried.
 */
export interface AuditInput {
  action: 'C' | 'R' | 'U' | 'D' | 'E';
  /**
   * The FHIR restful-interaction code (`read`, `vread`, `search-type`, `search-system`,
   * `history-instance`, `create`, `update`, `patch`, `delete`…) or an operation name
   * (`$everything`, `$export`, `$break-glass`).
   */
  interaction: string;
  /** ISO 8601 instant. */
  recorded: string;
  /** audit-event-outcome: 0 success, 4 minor failure (refused), 8 serious failure, 12 major failure. */
  outcome: '0' | '4' | '8' | '12';
  context: AccessContext;
  /** How the caller reached the patient, when not by an ordinary verified relationship. */
  basis?: AuditBasis;
  /** The Patient id; omitted when no patient is concerned. */
  patient?: string;
  /** What was touched: `Observation/1`, `Patient/2/_history/3`. */
  entities?: readonly string[];
  /** The search query string as received (recorded base64, as BALP asks). */
  query?: string;
  /** The reason stated for break-glass. */
  reason?: string;
  /** The recording server (its FHIR base URL or host name); default `densaulyq`. */
  observer?: string;
  /** The SMART Health Link acted on or through, and its label. */
  link?: { id: string; label?: string };
}

/** Identifier system of the platform's accounts (`AccessContext.subject` of a user). */
export const ACCOUNT_SYSTEM = 'http://densaulyq.kz/fhir/sid/account';
/** Identifier system of the registered OAuth clients (`AccessContext.clientId`). */
export const CLIENT_SYSTEM = 'http://densaulyq.kz/fhir/sid/oauth-client';
/** Code system of the operations recorded in `AuditEvent.subtype` beside restful-interaction `operation`. */
export const OPERATION_SYSTEM = 'http://densaulyq.kz/fhir/CodeSystem/operation';
/** Identifier system of the SMART Health Links citizens create (src/passport/share-links.ts). */
export const SHARE_LINK_SYSTEM = 'http://densaulyq.kz/fhir/sid/share-link';

const BALP_PROFILE = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const INTERACTION = 'http://hl7.org/fhir/restful-interaction';

const coding = (system: string, code: string, display?: string) =>
  `{"system":"${system}","code":${JSON.stringify(code)}${display ? `,"display":${JSON.stringify(display)}` : ''}}`;
const concept = (system: string, code: string, display?: string) => `{"coding":[${coding(system, code, display)}]}`;

/** The agent types BALP gives client, server and user for each action (DICOM calls the query sender the source). */
const AGENT_TYPES = (() => {
  const source = concept(DCM, '110153', 'Source Role ID');
  const destination = concept(DCM, '110152', 'Destination Role ID');
  const recipient = concept('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'IRCP', 'information recipient');
  const author = concept('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'AUT', 'author (originator)');
  const write = { user: author, client: source, server: destination };
  return {
    R: { user: recipient, client: destination, server: source },
    E: { user: recipient, client: source, server: destination },
    C: write,
    U: write,
    D: {
      user: author,
      client: concept(DCM, '110150', 'Application'),
      server: concept('http://terminology.hl7.org/CodeSystem/provenance-participant-type', 'custodian', 'Custodian'),
    },
  };
})();

const ORGANIZATION_TYPE = concept('http://terminology.hl7.org/CodeSystem/v3-RoleClass', 'PROV', 'healthcare provider');
const ROLE_JSON = Object.fromEntries(
  Object.entries(ACCESS_ROLE_DISPLAY).map(([role, text]) => [role, `[${concept(ACCESS_ROLE_SYSTEM, role, text.en)}]`]),
) as Record<AccessContext['role'], string>;
const REST_TYPE = coding('http://terminology.hl7.org/CodeSystem/audit-event-type', 'rest', 'Restful Operation');
const SECURITY_ALERT_TYPE = coding(DCM, '110113', 'Security Alert');
const EMERGENCY_OVERRIDE = coding(DCM, '110127', 'Emergency Override Started');
const BASIS_LABEL: Record<AuditBasis, string> = {
  'break-glass': `"security":[${coding(ACT_REASON_SYSTEM, 'BTG', PURPOSE_OF_USE_DISPLAY.BTG!.en)}]`,
  'self-declared': `"security":[${coding(ACCESS_BASIS_SYSTEM, 'self-declared', ACCESS_BASIS_DISPLAY['self-declared'].en)}]`,
  'shared-link': `"security":[${coding(ACCESS_BASIS_SYSTEM, 'shared-link', ACCESS_BASIS_DISPLAY['shared-link'].en)}]`,
  'consent-refused': `"security":[${coding(ACCESS_BASIS_SYSTEM, 'consent-refused', ACCESS_BASIS_DISPLAY['consent-refused'].en)}]`,
};
const PATIENT_ENTITY_CODES =
  `"type":${coding('http://terminology.hl7.org/CodeSystem/audit-entity-type', '1', 'Person')},` +
  `"role":${coding('http://terminology.hl7.org/CodeSystem/object-role', '1', 'Patient')}`;
const DATA_ENTITY_CODES =
  `"type":${coding('http://terminology.hl7.org/CodeSystem/audit-entity-type', '2', 'System Object')},` +
  `"role":${coding('http://terminology.hl7.org/CodeSystem/object-role', '4', 'Domain Resource')}`;
const QUERY_ENTITY_CODES =
  `"type":${coding('http://terminology.hl7.org/CodeSystem/audit-entity-type', '2', 'System Object')},` +
  `"role":${coding('http://terminology.hl7.org/CodeSystem/object-role', '24', 'Query')}`;
const LINK_ENTITY_CODES =
  `"type":${coding('http://terminology.hl7.org/CodeSystem/audit-entity-type', '2', 'System Object')},` +
  `"role":${coding('http://terminology.hl7.org/CodeSystem/object-role', '13', 'Security Resource')}`;
const SOURCE_TYPE = coding('http://terminology.hl7.org/CodeSystem/security-source-type', '4', 'Application Server');

/** The BALP profile each plain interaction conforms to when it succeeded (failures are recorded outside them). */
const PROFILE_OF: Readonly<Record<string, readonly [profile: string, action: AuditInput['action']]>> = {
  read: ['Read', 'R'],
  vread: ['Read', 'R'],
  'search-type': ['Query', 'E'],
  'search-system': ['Query', 'E'],
  create: ['Create', 'C'],
  update: ['Update', 'U'],
  patch: ['Update', 'U'],
  delete: ['Delete', 'D'],
};

/**
 * The JSON text of the AuditEvent (https://hl7.org/fhir/R4/auditevent.html). It is built on
 * every audited request, so it is written as a template of pre-encoded parts; every value that
 * comes from the request is JSON-encoded on its own.
 */
export function auditEventPayload(input: AuditInput, id: string): string {
  const { context } = input;
  const types = AGENT_TYPES[input.action];
  const observer = input.observer ?? 'densaulyq';
  const operation = input.interaction.startsWith('$');
  const breakGlassOperation = input.interaction === '$break-glass';

  const meta: string[] = [];
  const profile = balpProfile(input);
  if (profile) meta.push(`"profile":["${profile}"]`);
  if (input.basis) meta.push(BASIS_LABEL[input.basis]);

  const subtype = operation
    ? `${breakGlassOperation ? `${EMERGENCY_OVERRIDE},` : ''}${coding(INTERACTION, 'operation', 'operation')},${coding(OPERATION_SYSTEM, input.interaction)}`
    : coding(INTERACTION, input.interaction, input.interaction);

  const person = context.fhirUser ?? context.onBehalfOf;
  const who = `{${person ? `"reference":${JSON.stringify(person)},` : ''}"identifier":{"system":"${
    context.role === 'system' ? CLIENT_SYSTEM : context.role === 'link-recipient' ? SHARE_LINK_SYSTEM : ACCOUNT_SYSTEM
  }","value":${JSON.stringify(context.subject)}}${context.recipient ? `,"display":${JSON.stringify(context.recipient)}` : ''}}`;
  const asserted = [
    ...(context.onBehalfOf ? ['on-behalf-of'] : []),
    ...(context.purposeAsserted ? ['purpose-of-use'] : []),
    ...(context.recipient ? ['recipient'] : []),
  ];
  const extension = asserted.length ? `"extension":[${asserted.map((code) => `{"url":"${ASSERTED_EXTENSION}","valueCode":"${code}"}`).join(',')}],` : '';
  const agents = [
    `{${extension}"type":${types.user},"role":${ROLE_JSON[context.role]},"who":${who},"requestor":true,"purposeOfUse":[${purposeOfUse(input)}]}`,
  ];
  if (context.organization) agents.push(`{"type":${ORGANIZATION_TYPE},"who":{"reference":${JSON.stringify(`Organization/${context.organization}`)}},"requestor":false}`);
  agents.push(
    `{"type":${types.client},"who":{"identifier":{"system":"${CLIENT_SYSTEM}","value":${JSON.stringify(context.clientId)}}},"requestor":false${
      context.address ? `,"network":{"address":${JSON.stringify(context.address)},"type":"2"}` : ''
    }}`,
    `{"type":${types.server},"who":{"display":${JSON.stringify(observer)}},"requestor":false,"network":{"address":${JSON.stringify(observer)},"type":"${
      observer.includes('://') ? '5' : '1'
    }"}}`,
  );

  const entities: string[] = [];
  if (input.patient !== undefined) entities.push(`{"what":{"reference":${JSON.stringify(`Patient/${input.patient}`)}},${PATIENT_ENTITY_CODES}}`);
  for (const entity of input.entities ?? []) entities.push(`{"what":{"reference":${JSON.stringify(entity)}},${DATA_ENTITY_CODES}}`);
  if (input.link) {
    entities.push(
      `{"what":{"identifier":{"system":"${SHARE_LINK_SYSTEM}","value":${JSON.stringify(input.link.id)}}},${LINK_ENTITY_CODES}${
        input.link.label ? `,"name":${JSON.stringify(input.link.label)}` : ''
      }}`,
    );
  }
  // An empty query (a search without parameters) has nothing to record: FHIR strings are never empty.
  if (input.query) entities.push(`{${QUERY_ENTITY_CODES},"query":"${Buffer.from(input.query, 'utf8').toString('base64')}"}`);

  return (
    `{"resourceType":"AuditEvent","id":"${id}"${meta.length ? `,"meta":{${meta.join(',')}}` : ''}` +
    `,"type":${breakGlassOperation ? SECURITY_ALERT_TYPE : REST_TYPE},"subtype":[${subtype}]` +
    `,"action":"${input.action}","recorded":${JSON.stringify(input.recorded)},"outcome":"${input.outcome}"` +
    (input.basis === 'consent-refused' ? `,"outcomeDesc":${JSON.stringify(ACCESS_BASIS_DISPLAY['consent-refused'].en)}` : '') +
    `,"agent":[${agents.join(',')}]` +
    `,"source":{"site":"Densaulyq","observer":{"display":${JSON.stringify(observer)}},"type":[${SOURCE_TYPE}]}` +
    (entities.length ? `,"entity":[${entities.join(',')}]` : '') +
    '}'
  );
}

/**
 * Under break-glass the purpose is emergency treatment, flagged BTG with the stated reason;
 * otherwise the purpose the request stated (or its role's default).
 */
function purposeOfUse(input: AuditInput): string {
  if (input.basis !== 'break-glass') return purposeConcept(input.context.purposeOfUse);
  const reason = input.reason ? `,"text":${JSON.stringify(input.reason)}` : '';
  return `${purposeConcept('ETREAT')},{"coding":[${coding(ACT_REASON_SYSTEM, 'BTG', PURPOSE_OF_USE_DISPLAY.BTG!.en)}]${reason}}`;
}

function purposeConcept(code: string): string {
  return concept(ACT_REASON_SYSTEM, code, PURPOSE_OF_USE_DISPLAY[code]?.en);
}

/**
 * The BALP profile the event conforms to, claimed only when it does: a successful plain
 * interaction with its action, the client's network address and the entities the profile requires.
 */
function balpProfile(input: AuditInput): string | undefined {
  const [kind, action] = PROFILE_OF[input.interaction] ?? [];
  if (!kind || action !== input.action || input.outcome !== '0' || !input.context.address) return undefined;
  if (kind === 'Query' ? !input.query : !input.entities?.length) return undefined;
  return `${BALP_PROFILE}${input.patient === undefined ? '' : 'Patient'}${kind}`;
}

/**
 * Who acted, as audit_agent stores it: the same for every request of one token from one address,
 * so it is written once and records name it by digest.
 */
interface StoredAgent {
  role: AccessContext['role'];
  sub: string;
  client: string;
  pou: string;
  user?: string;
  obo?: string;
  org?: string;
  addr?: string;
  /** 1 when the purpose of use was stated by the client. */
  pa?: 1;
  /** The recipient a SMART Health Link's user named. */
  rcp?: string;
}

/** A compact record as stored: codes and references only, what the row's columns hold left out. */
interface CompactRecord {
  v: 2;
  /** action */
  a: AuditInput['action'];
  /** interaction */
  i: string;
  /** agent id (audit_agent) */
  g: string;
  /** outcome, when not 0 */
  o?: AuditInput['outcome'];
  /** basis */
  b?: AuditBasis;
  /** entities; `@` is the patient's own Patient resource */
  e?: string[];
  /** the query as sent */
  q?: string;
  /** the break-glass reason */
  r?: string;
  /** the observer, when not the default */
  s?: string;
  /** the SMART Health Link: its id, and its label if it has one */
  l?: [string] | [string, string];
}

const DEFAULT_OBSERVER = 'densaulyq';
const OWN_PATIENT = '@';

/** The agent row of `context`, named by the digest of its text. */
export function auditAgent(context: AccessContext): AuditAgent {
  const agent: StoredAgent = {
    role: context.role,
    sub: context.subject,
    client: context.clientId,
    pou: context.purposeOfUse,
    ...(context.fhirUser ? { user: context.fhirUser } : {}),
    ...(context.onBehalfOf ? { obo: context.onBehalfOf } : {}),
    ...(context.organization ? { org: context.organization } : {}),
    ...(context.address ? { addr: context.address } : {}),
    ...(context.purposeAsserted ? { pa: 1 as const } : {}),
    ...(context.recipient ? { rcp: context.recipient } : {}),
  };
  const text = JSON.stringify(agent);
  return { id: agentId(text), text };
}

/**
 * 96 bits of the text's SHA-256, in 16 characters (every record carries it): an agent row whose
 * text was changed no longer matches its id, and a second text with the same id is out of reach.
 */
export function agentId(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url').slice(0, 16);
}

/**
 * The record of `input` as stored (src/store/audit-append.ts): about 100 bytes where the whole
 * AuditEvent takes 2-3 KB. The patient and the instant are the row's columns (the chain's link
 * covers them), who acted is the agent row, displays come from the vocabulary when served.
 */
export function compactAuditRecord(input: Omit<AuditInput, 'recorded'>, agent: AuditAgent): string {
  const own = input.patient === undefined ? undefined : `Patient/${input.patient}`;
  const record: CompactRecord = {
    v: 2,
    a: input.action,
    i: input.interaction,
    g: agent.id,
    ...(input.outcome !== '0' ? { o: input.outcome } : {}),
    ...(input.basis ? { b: input.basis } : {}),
    ...(input.entities?.length ? { e: input.entities.map((e) => (e === own ? OWN_PATIENT : e)) } : {}),
    ...(input.query ? { q: input.query } : {}),
    ...(input.reason ? { r: input.reason } : {}),
    ...(input.observer && input.observer !== DEFAULT_OBSERVER ? { s: input.observer } : {}),
    ...(input.link ? { l: input.link.label ? [input.link.id, input.link.label] : [input.link.id] } : {}),
  };
  return JSON.stringify(record);
}

/** The AuditEvent a stored record stands for: a compact one expanded, an older whole one as it was written. */
export function auditEventOf(row: AuditRecordRow): AuditEvent {
  if (!isCompactRecord(row.payload)) return JSON.parse(row.payload) as AuditEvent;
  const record = JSON.parse(row.payload) as CompactRecord;
  const agent = (row.agent ? JSON.parse(row.agent) : { role: 'platform', sub: 'unknown', client: 'unknown', pou: 'HOPERAT' }) as StoredAgent;
  const context: AccessContext = {
    role: agent.role,
    subject: agent.sub,
    clientId: agent.client,
    scopes: [],
    purposeOfUse: agent.pou,
    ...(agent.user ? { fhirUser: agent.user } : {}),
    ...(agent.obo ? { onBehalfOf: agent.obo } : {}),
    ...(agent.org ? { organization: agent.org } : {}),
    ...(agent.addr ? { address: agent.addr } : {}),
    ...(agent.pa ? { purposeAsserted: true } : {}),
    ...(agent.rcp ? { recipient: agent.rcp } : {}),
  };
  const own = row.patient === null ? undefined : `Patient/${row.patient}`;
  const input: AuditInput = {
    action: record.a,
    interaction: record.i,
    recorded: row.recorded,
    outcome: record.o ?? '0',
    context,
    ...(record.b ? { basis: record.b } : {}),
    ...(row.patient !== null ? { patient: row.patient } : {}),
    ...(record.e ? { entities: record.e.map((e) => (e === OWN_PATIENT && own ? own : e)) } : {}),
    ...(record.q ? { query: record.q } : {}),
    ...(record.r ? { reason: record.r } : {}),
    ...(record.s ? { observer: record.s } : {}),
    ...(record.l ? { link: { id: record.l[0], ...(record.l[1] ? { label: record.l[1] } : {}) } } : {}),
  };
  return JSON.parse(auditEventPayload(input, uuidOfHash(row.hash))) as AuditEvent;
}

/** A record's link as a UUID (its first 128 bits, version 8 and RFC 4122 variant set): unique and stable. */
function uuidOfHash(hex: string): string {
  const b = hex.slice(0, 32).split('');
  b[12] = '8';
  b[16] = ((parseInt(b[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const h = b.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
