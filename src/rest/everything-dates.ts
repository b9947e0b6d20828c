import { dateRange } from '../fhir/dates.js';
import { patientCompartmentTypes } from '../fhir/compartment.js';
import { resourceTypes } from '../fhir/definitions.js';
import { searchParameter, searchParameters } from '../fhir/search-parameters.js';
import { type SearchFilter, mayReferTo, parseFilter } from '../fhir/search-request.js';

/**
 * The care date of each type holding patient data, as its date search parameters in order of
 * preference: the first one a resource has decides whether it falls in `$everything`'s
 * `start`/`end` (https://hl7.org/fhir/R4/patient-operation-everything.html: "care dates, not
 * record currency dates"). Most are the R4 `clinical-date` parameter (code `date`); the others
 * are the type's own date of care: a Condition's onset, a prescription's authoring, a dispense's
 * hand-over. Types not listed (Patient, RelatedPerson, Coverage, Organization, Medication…) have
 * no care date and are always in.
 */
const CARE_DATES: Readonly<Record<string, readonly string[]>> = {
  Account: ['period'],
  AdverseEvent: ['date'],
  AllergyIntolerance: ['onset', 'date'],
  Appointment: ['date'],
  AuditEvent: ['date'],
  Basic: ['created'],
  CarePlan: ['date'],
  CareTeam: ['date'],
  ChargeItem: ['occurrence', 'entered-date'],
  Claim: ['created'],
  ClaimResponse: ['created'],
  ClinicalImpression: ['date'],
  Communication: ['sent', 'received'],
  CommunicationRequest: ['occurrence', 'authored'],
  Composition: ['period', 'date'],
  Condition: ['onset-date', 'recorded-date'],
  Consent: ['date'],
  CoverageEligibilityRequest: ['created'],
  CoverageEligibilityResponse: ['created'],
  DetectedIssue: ['identified'],
  DeviceRequest: ['event-date', 'authored-on'],
  DiagnosticReport: ['date', 'issued'],
  DocumentManifest: ['created'],
  DocumentReference: ['period', 'date'],
  Encounter: ['date'],
  EpisodeOfCare: ['date'],
  ExplanationOfBenefit: ['created'],
  FamilyMemberHistory: ['date'],
  Flag: ['date'],
  Goal: ['start-date', 'target-date'],
  ImagingStudy: ['started'],
  Immunization: ['date'],
  ImmunizationEvaluation: ['date'],
  ImmunizationRecommendation: ['date'],
  Invoice: ['date'],
  List: ['date'],
  MeasureReport: ['period'],
  Media: ['created'],
  MedicationAdministration: ['effective-time'],
  MedicationDispense: ['whenhandedover', 'whenprepared'],
  MedicationRequest: ['authoredon'],
  MedicationStatement: ['effective'],
  NutritionOrder: ['datetime'],
  Observation: ['date'],
  Procedure: ['date'],
  Provenance: ['when', 'recorded'],
  QuestionnaireResponse: ['authored'],
  RequestGroup: ['authored'],
  ResearchSubject: ['date'],
  RiskAssessment: ['date'],
  Schedule: ['date'],
  ServiceRequest: ['occurrence', 'authored'],
  Specimen: ['collected'],
  SupplyRequest: ['date'],
  Task: ['period', 'authored-on'],
  VisionPrescription: ['datewritten'],
};

/** The date parameters of CARE_DATES that are not date search parameters of their type: none, or the table is wrong. */
export function unknownCareDates(): string[] {
  return Object.entries(CARE_DATES).flatMap(([type, codes]) => codes.filter((code) => searchParameter(type, code)?.type !== 'date').map((code) => `${type}.${code}`));
}

/** One alternative of a type's share of the search: its filters, all of which must hold. */
export interface TypeAlternative {
  resourceType: string;
  filters: SearchFilter[];
}

/**
 * The alternatives (ORed) under which a resource of `resourceType` is in [start, end]: its first
 * care date present overlaps the range, or it has none (it cannot be placed outside it).
 * Overlap per https://hl7.org/fhir/R4/search.html#date: the resource's period ends at or after
 * the start (`gt` the instant before it) and begins at or before the end (`lt` the instant after).
 */
export function careDateAlternatives(resourceType: string, range: { start?: string; end?: string }, common: SearchFilter[]): TypeAlternative[] {
  const codes = CARE_DATES[resourceType];
  if (!codes || (range.start === undefined && range.end === undefined)) return [{ resourceType, filters: common }];
  const missing = (code: string) => parseFilter(resourceType, `${code}:missing`, 'true');
  const overlap = (code: string): SearchFilter[] => [
    ...(range.start === undefined ? [] : [parseFilter(resourceType, code, `gt${shift(dateRange(range.start, 'start').low, -1)}`)]),
    ...(range.end === undefined ? [] : [parseFilter(resourceType, code, `lt${shift(dateRange(range.end, 'end').high, 1)}`)]),
  ];
  const alternatives = codes.map((code, i) => ({ resourceType, filters: [...common, ...codes.slice(0, i).map(missing), ...overlap(code)] }));
  alternatives.push({ resourceType, filters: [...common, ...codes.map(missing)] });
  return alternatives;
}

let patientTypes: readonly string[] | undefined;

/**
 * The types a patient's data comes in when care dates narrow `$everything`: the compartment's,
 * and those with a search parameter that can refer to a Patient (Device, Contract…). Each is a
 * branch of the search with the door's condition of its own, so not all 146 types are listed.
 */
export function patientDataTypes(): readonly string[] {
  patientTypes ??= [
    ...new Set([
      ...patientCompartmentTypes(),
      ...resourceTypes.filter((type) => Object.values(searchParameters(type)).some((p) => p.type === 'reference' && mayReferTo(p.target, 'Patient'))),
    ]),
  ];
  return patientTypes;
}

function shift(instant: string, ms: number): string {
  return new Date(Date.parse(instant) + ms).toISOString();
}
