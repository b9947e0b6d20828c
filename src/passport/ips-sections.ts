import type {
  AllergyIntolerance,
  CarePlan,
  ClinicalImpression,
  CodeableConcept,
  Condition,
  Consent,
  Device,
  DeviceUseStatement,
  DiagnosticReport,
  Dosage,
  Immunization,
  Medication,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Procedure,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import type { Locale } from '../fhir/validate.js';
import {
  conceptText,
  conceptsText,
  paragraphNarrative,
  periodText,
  quantityText,
  rangeText,
  statusText,
  tableNarrative,
  valueText,
  whenText,
} from './ips-narrative.js';
import { targetOf } from './ips-references.js';
import { codeWord, formatDate, text, type TextKey } from './ips-text.js';

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
/** IPS STU1's code system for absent and unknown data, replaced by SNOMED CT codes since (both are read). */
const ABSENT_UNKNOWN = 'http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips';
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** Which entries a summary lists at most per kind (latest first): a summary, not the record. */
export const MAX_ENTRIES = 50;

/**
 * The sections of the IPS Composition (https://hl7.org/fhir/uv/ips/StructureDefinition-Composition-uv-ips.html),
 * in the order the document shows them: the section's LOINC code, whether IPS requires it (a
 * required section is present even without data, with an emptyReason), its title and its columns.
 */
export const SECTIONS = [
  { key: 'problems', code: '11450-4', display: 'Problem list - Reported', required: true, headings: ['problem', 'status', 'onset'] },
  { key: 'allergies', code: '48765-2', display: 'Allergies and adverse reactions Document', required: true, headings: ['substance', 'category', 'criticality', 'reaction', 'status'] },
  { key: 'medications', code: '10160-0', display: 'History of Medication use Narrative', required: true, headings: ['medication', 'dosage', 'status', 'date'] },
  { key: 'immunizations', code: '11369-6', display: 'History of Immunization Narrative', required: false, headings: ['vaccine', 'date', 'doseNumber', 'status'] },
  { key: 'results', code: '30954-2', display: 'Relevant diagnostic tests/laboratory data Narrative', required: false, headings: ['test', 'result', 'referenceRange', 'interpretation', 'date'] },
  { key: 'procedures', code: '47519-4', display: 'History of Procedures Document', required: false, headings: ['procedure', 'date', 'status'] },
  { key: 'devices', code: '46264-8', display: 'History of medical device use', required: false, headings: ['device', 'status', 'date'] },
  { key: 'vitalSigns', code: '8716-3', display: 'Vital signs', required: false, headings: ['measurement', 'value', 'date'] },
  { key: 'pastIllness', code: '11348-0', display: 'History of Past illness Narrative', required: false, headings: ['condition', 'onset', 'resolved', 'status'] },
  { key: 'pregnancy', code: '10162-6', display: 'History of pregnancies Narrative', required: false, headings: ['observation', 'value', 'date'] },
  { key: 'planOfCare', code: '18776-5', display: 'Plan of care note', required: false, headings: ['plan', 'period', 'status'] },
  { key: 'functionalStatus', code: '47420-5', display: 'Functional status assessment note', required: false, headings: ['assessment', 'date', 'status'] },
  { key: 'advanceDirectives', code: '42348-3', display: 'Advance directives', required: false, headings: ['directive', 'date', 'status'] },
] as const satisfies readonly { key: TextKey; code: string; display: string; required: boolean; headings: readonly TextKey[] }[];

export type SectionKey = (typeof SECTIONS)[number]['key'];

/** What the summary read of the patient's record, per type; Observations and DiagnosticReports newest first. */
export interface RecordPools {
  Condition: Condition[];
  AllergyIntolerance: AllergyIntolerance[];
  MedicationStatement: MedicationStatement[];
  MedicationRequest: MedicationRequest[];
  Immunization: Immunization[];
  Procedure: Procedure[];
  Device: Device[];
  DeviceUseStatement: DeviceUseStatement[];
  CarePlan: CarePlan[];
  ClinicalImpression: ClinicalImpression[];
  Consent: Consent[];
  Observation: Observation[];
  DiagnosticReport: DiagnosticReport[];
}

/**
 * Codes by which a record says there is nothing to list ("no known allergy"), or that nothing is
 * known: the IPS absence mappings (https://hl7.org/fhir/uv/ips/ConceptMap-absence-to-snomed-uv-ips.html).
 * Such an entry is shown as the record states it, unless the section has real entries.
 */
const ABSENCE_CODES = new Set([
  `${SNOMED}|716186003`,
  `${SNOMED}|409137002`,
  `${SNOMED}|428607008`,
  `${SNOMED}|429625007`,
  `${SNOMED}|787483001`,
  `${SNOMED}|787482006`,
  `${SNOMED}|787481004`,
  `${SNOMED}|160245001`,
  `${SNOMED}|787480003`,
  ...[
    'no-allergy-info',
    'no-known-allergies',
    'no-known-medication-allergies',
    'no-known-environmental-allergies',
    'no-known-food-allergies',
    'no-medication-info',
    'no-known-medications',
    'no-problem-info',
    'no-known-problems',
    'no-procedure-info',
    'no-known-procedures',
    'no-device-info',
    'no-known-devices',
    'no-immunization-info',
    'no-known-immunizations',
  ].map((code) => `${ABSENT_UNKNOWN}|${code}`),
]);

function statesAbsence(concept: CodeableConcept | undefined): boolean {
  return !!concept?.coding?.some((c) => ABSENCE_CODES.has(`${c.system}|${c.code}`));
}

/** Real entries when there are any, else the record's statements that there is nothing (or nothing known). */
function realOrAbsence<T>(items: readonly T[], concept: (item: T) => CodeableConcept | undefined): T[] {
  const real = items.filter((item) => !statesAbsence(concept(item)));
  return real.length > 0 ? real : items.filter((item) => statesAbsence(concept(item)));
}

function firstCode(concept: CodeableConcept | undefined): string | undefined {
  return concept?.coding?.find((c) => c.code)?.code;
}

const ERROR_STATUSES = new Set(['entered-in-error', 'refuted']);
const ACTIVE_CONDITION = new Set(['active', 'recurrence', 'relapse']);
const ACTIVE_MEDICATION = new Set(['active', 'intended', 'on-hold']);
/** LOINC codes of the IPS pregnancy status, expected delivery date and outcome observations. */
const PREGNANCY_CODES = new Set(['82810-3', '11449-6', '11778-8', '11779-6', '11780-4', '11636-8', '11637-6', '11638-4', '11639-2', '11640-0', '11612-9', '11613-7', '11614-5', '33065-4']);
/** Consents that are advance directives: scope `adr`, or an advance-directive category. */
const ADVANCE_DIRECTIVE_CODES = new Set(['adr', 'acd', 'dnr', '42348-3', '75320-2', '64298-3']);

function isError(concept: CodeableConcept | undefined): boolean {
  const code = firstCode(concept);
  return code !== undefined && ERROR_STATUSES.has(code);
}

/** An unresolved problem (IPS problem list), as opposed to one of the past (IPS history of past illness). */
function isCurrent(condition: Condition): boolean {
  const status = firstCode(condition.clinicalStatus);
  if (status !== undefined) return ACTIVE_CONDITION.has(status);
  return condition.abatementDateTime === undefined && condition.abatementPeriod === undefined && condition.abatementString === undefined && condition.abatementAge === undefined;
}

function hasCategory(observation: Observation, codes: readonly string[]): boolean {
  return !!observation.category?.some((c) => c.coding?.some((coding) => coding.system === OBSERVATION_CATEGORY && codes.includes(coding.code ?? '')));
}

/**
 * The concept's identity for "latest per code": its first coding and its text, since a general
 * code with a text of its own ("Laboratory report": a chemistry panel, a sputum test) names
 * several kinds of result.
 */
function codeKey(concept: CodeableConcept | undefined): string {
  const coding = concept?.coding?.find((c) => c.code);
  return `${coding ? `${coding.system}|${coding.code}` : ''}|${concept?.text ?? ''}`;
}

/** The newest of each code, of items already newest first; at most MAX_ENTRIES. */
function latestPerCode<T extends { code?: CodeableConcept }>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  const latest: T[] = [];
  for (const item of items) {
    const key = codeKey(item.code);
    if (seen.has(key)) continue;
    seen.add(key);
    latest.push(item);
    if (latest.length >= MAX_ENTRIES) break;
  }
  return latest;
}

/** The date a resource is about, for ordering a section newest first. */
function clinicalDate(resource: Resource): string {
  switch (resource.resourceType) {
    case 'Condition':
      return resource.onsetDateTime ?? resource.onsetPeriod?.start ?? resource.recordedDate ?? '';
    case 'AllergyIntolerance':
      return resource.onsetDateTime ?? resource.recordedDate ?? '';
    case 'MedicationStatement':
      return resource.effectiveDateTime ?? resource.effectivePeriod?.start ?? resource.dateAsserted ?? '';
    case 'MedicationRequest':
      return resource.authoredOn ?? '';
    case 'Immunization':
      return resource.occurrenceDateTime ?? resource.recorded ?? '';
    case 'Procedure':
      return resource.performedDateTime ?? resource.performedPeriod?.start ?? '';
    case 'DeviceUseStatement':
      return resource.timingDateTime ?? resource.timingPeriod?.start ?? resource.recordedOn ?? '';
    case 'CarePlan':
      return resource.period?.start ?? resource.created ?? '';
    case 'ClinicalImpression':
      return resource.effectiveDateTime ?? resource.effectivePeriod?.start ?? resource.date ?? '';
    case 'Consent':
      return resource.dateTime ?? '';
    default:
      return '';
  }
}

function newestFirst<T extends Resource>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => clinicalDate(b).localeCompare(clinicalDate(a)));
}

/**
 * Which of the record's resources go into which section, as IPS describes each
 * (https://hl7.org/fhir/uv/ips/ipsStructure.html): unresolved problems, and resolved ones as past
 * illness; allergies except those entered in error or refuted; the medications in use (statements
 * and requests); immunizations given; procedures; devices in use; the latest result and vital
 * sign of each code, and lab reports; pregnancy observations; active care plans; functional
 * assessments; advance-directive Consents. Each list is newest first and bounded.
 */
export function selectSections(pools: RecordPools): Record<SectionKey, Resource[]> {
  const conditions = pools.Condition.filter((c) => !isError(c.verificationStatus));
  const bounded = <T extends Resource>(items: readonly T[]) => newestFirst(items).slice(0, MAX_ENTRIES);
  const observations = pools.Observation.filter((o) => o.status !== 'entered-in-error' && o.status !== 'cancelled');
  const reports = pools.DiagnosticReport.filter((r) => r.status !== 'entered-in-error' && r.status !== 'cancelled' && (r.result?.length ?? 0) > 0);
  return {
    problems: bounded(realOrAbsence(conditions.filter((c) => statesAbsence(c.code) || isCurrent(c)), (c) => c.code)),
    allergies: bounded(realOrAbsence(pools.AllergyIntolerance.filter((a) => !isError(a.verificationStatus)), (a) => a.code)),
    medications: bounded(
      realOrAbsence<MedicationStatement | MedicationRequest>(
        [
          ...pools.MedicationStatement.filter((m) => ACTIVE_MEDICATION.has(m.status) || (statesAbsence(m.medicationCodeableConcept) && m.status !== 'entered-in-error')),
          ...pools.MedicationRequest.filter((m) => m.status === 'active' || m.status === 'on-hold'),
        ],
        (m) => m.medicationCodeableConcept,
      ),
    ),
    immunizations: bounded(realOrAbsence(pools.Immunization.filter((i) => i.status === 'completed' || statesAbsence(i.vaccineCode)), (i) => i.vaccineCode)),
    results: [...latestPerCode(reports), ...latestPerCode(observations.filter((o) => hasCategory(o, ['laboratory', 'imaging'])))],
    procedures: bounded(realOrAbsence(pools.Procedure.filter((p) => p.status !== 'entered-in-error' && p.status !== 'not-done'), (p) => p.code)),
    devices: bounded(pools.DeviceUseStatement.filter((d) => d.status !== 'entered-in-error')),
    vitalSigns: latestPerCode(observations.filter((o) => hasCategory(o, ['vital-signs']))),
    pastIllness: bounded(conditions.filter((c) => !statesAbsence(c.code) && !isCurrent(c))),
    pregnancy: latestPerCode(observations.filter((o) => o.code.coding?.some((c) => c.system === LOINC && PREGNANCY_CODES.has(c.code ?? '')))),
    planOfCare: bounded(pools.CarePlan.filter((p) => p.status === 'active')),
    functionalStatus: bounded(pools.ClinicalImpression.filter((c) => c.status !== 'entered-in-error')),
    advanceDirectives: bounded(
      pools.Consent.filter(
        (c) => c.status === 'active' && [c.scope, ...(c.category ?? [])].some((concept) => concept?.coding?.some((coding) => ADVANCE_DIRECTIVE_CODES.has(coding.code ?? ''))),
      ),
    ),
  };
}

/**
 * Devices assigned to the patient (`Device.patient`) that no DeviceUseStatement the summary read
 * speaks of: IPS lists devices through statements of their use, so each is stated as in use by the
 * patient, as the Device record says. The caller gives each an id; having no RESTful fullUrl of
 * its own, a statement refers by absolute URLs on `baseUrl`.
 */
export function deviceStatements(pools: RecordPools, patientId: string, baseUrl: string): Omit<DeviceUseStatement, 'id'>[] {
  // Compared as targets, not strings: a statement may name its device by an absolute or versioned URL.
  const stated = new Set(pools.DeviceUseStatement.map((s) => targetOf(s.device.reference ?? '', baseUrl)?.key));
  return pools.Device.filter((d) => d.patient && d.status !== 'inactive' && d.status !== 'entered-in-error' && !stated.has(`Device/${d.id}`)).map((device) => ({
    resourceType: 'DeviceUseStatement',
    status: 'active',
    subject: { reference: `${baseUrl}/Patient/${patientId}` },
    device: { reference: `${baseUrl}/Device/${device.id}` },
  }));
}

/** Finds a resource of the document by a reference found in another. */
export type Resolve = (reference: Reference | undefined) => Resource | undefined;

/** The section's narrative: its table in the reader's language, or the sentence saying there is no information. */
export function sectionNarrative(key: SectionKey, entries: readonly Resource[], locale: Locale, resolve: Resolve) {
  const section = SECTIONS.find((s) => s.key === key)!;
  if (entries.length === 0) return paragraphNarrative(text('noInformation', locale));
  const headings = section.headings.map((heading) => text(heading, locale));
  return tableNarrative(
    headings,
    entries.map((entry) => row(key, entry, locale, resolve)),
  );
}

function dosageText(dosage: readonly Dosage[] | undefined): string {
  return (dosage ?? [])
    .map((d) => d.text ?? d.doseAndRate?.map((r) => quantityText(r.doseQuantity)).filter(Boolean).join(', ') ?? '')
    .filter(Boolean)
    .join('; ');
}

function medicationText(resource: MedicationStatement | MedicationRequest, locale: Locale, resolve: Resolve): string {
  if (resource.medicationCodeableConcept) return conceptText(resource.medicationCodeableConcept, locale);
  const medication = resolve(resource.medicationReference);
  if (medication?.resourceType === 'Medication') return conceptText((medication as Medication).code, locale);
  return resource.medicationReference?.display ?? '';
}

function observationValue(observation: Observation, locale: Locale): string {
  const parts: string[] = [];
  const own = valueText(observation, locale);
  if (own) parts.push(own);
  for (const component of observation.component ?? []) {
    const value = valueText(component, locale);
    if (value) parts.push(`${conceptText(component.code, locale)}: ${value}`);
  }
  return parts.join('; ');
}

function observationDate(observation: Observation | DiagnosticReport, locale: Locale): string {
  return whenText({ dateTime: observation.effectiveDateTime ?? observation.issued, period: observation.effectivePeriod }, locale);
}

/** One entry's row, its cells in the order of its section's headings. */
function row(key: SectionKey, resource: Resource, locale: Locale, resolve: Resolve): string[] {
  switch (resource.resourceType) {
    case 'Condition':
      return key === 'problems'
        ? [conceptText(resource.code, locale), statusText(resource.clinicalStatus, locale), onsetText(resource, locale)]
        : [
            conceptText(resource.code, locale),
            onsetText(resource, locale),
            whenText({ dateTime: resource.abatementDateTime, period: resource.abatementPeriod, string: resource.abatementString, age: resource.abatementAge }, locale),
            statusText(resource.clinicalStatus, locale),
          ];
    case 'AllergyIntolerance':
      return [
        conceptText(resource.code, locale),
        [resource.type, ...(resource.category ?? [])].flatMap((c) => (c ? [codeWord(c, locale)] : [])).join(', '),
        resource.criticality ? codeWord(resource.criticality, locale) : '',
        (resource.reaction ?? []).map((r) => conceptsText(r.manifestation, locale)).filter(Boolean).join('; '),
        statusText(resource.clinicalStatus, locale),
      ];
    case 'MedicationStatement':
      return [medicationText(resource, locale, resolve), dosageText(resource.dosage), statusText(resource.status, locale), formatDate(clinicalDate(resource), locale)];
    case 'MedicationRequest':
      return [medicationText(resource, locale, resolve), dosageText(resource.dosageInstruction), statusText(resource.status, locale), formatDate(resource.authoredOn, locale)];
    case 'Immunization': {
      const dose = resource.protocolApplied?.[0];
      return [
        conceptText(resource.vaccineCode, locale),
        whenText({ dateTime: resource.occurrenceDateTime, string: resource.occurrenceString }, locale),
        dose?.doseNumberPositiveInt !== undefined ? `${dose.doseNumberPositiveInt}` : (dose?.doseNumberString ?? ''),
        statusText(resource.status, locale),
      ];
    }
    case 'Observation': {
      if (key === 'results') {
        return [
          conceptText(resource.code, locale),
          observationValue(resource, locale),
          (resource.referenceRange ?? []).map((r) => [rangeText({ low: r.low, high: r.high }), r.text].filter(Boolean).join(' ')).filter(Boolean).join('; '),
          conceptsText(resource.interpretation, locale),
          observationDate(resource, locale),
        ];
      }
      return [conceptText(resource.code, locale), observationValue(resource, locale), observationDate(resource, locale)];
    }
    case 'DiagnosticReport':
      return [conceptText(resource.code, locale), resource.conclusion ?? conceptsText(resource.conclusionCode, locale), '', '', observationDate(resource, locale)];
    case 'Procedure':
      return [conceptText(resource.code, locale), whenText({ dateTime: resource.performedDateTime, period: resource.performedPeriod, string: resource.performedString }, locale), statusText(resource.status, locale)];
    case 'DeviceUseStatement': {
      const device = resolve(resource.device) as Device | undefined;
      const name = device?.deviceName?.[0]?.name || conceptText(device?.type, locale) || resource.device.display || '';
      return [name, statusText(resource.status, locale), whenText({ dateTime: resource.timingDateTime ?? resource.recordedOn, period: resource.timingPeriod }, locale)];
    }
    case 'CarePlan':
      return [resource.title ?? (conceptsText(resource.category, locale) || (resource.description ?? '')), periodText(resource.period, locale), statusText(resource.status, locale)];
    case 'ClinicalImpression':
      return [
        conceptText(resource.code, locale) || resource.description || resource.summary || '',
        whenText({ dateTime: resource.effectiveDateTime ?? resource.date, period: resource.effectivePeriod }, locale),
        statusText(resource.status, locale),
      ];
    case 'Consent':
      return [conceptsText(resource.category, locale) || conceptText(resource.scope, locale), formatDate(resource.dateTime, locale), statusText(resource.status, locale)];
    default:
      return [resource.resourceType];
  }
}

function onsetText(condition: Condition, locale: Locale): string {
  return whenText({ dateTime: condition.onsetDateTime, period: condition.onsetPeriod, string: condition.onsetString, age: condition.onsetAge }, locale);
}
