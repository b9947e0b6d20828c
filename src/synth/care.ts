import type {
  AllergyIntolerance,
  CodeableConcept,
  Condition,
  DiagnosticReport,
  Encounter,
  ImagingStudy,
  Immunization,
  MedicationRequest,
  Observation,
  ObservationReferenceRange,
  Procedure,
  Resource,
} from '@medplum/fhirtypes';
import {
  BODY_SITE,
  CATEGORY,
  concept,
  CONDITION_STATUS,
  DRUG,
  ENCOUNTER_CLASS,
  ENCOUNTER_TYPE,
  FINDING,
  ICD10,
  INTERPRETATION,
  LAB,
  LAB_PANEL,
  MODALITY,
  PROCEDURE,
  quantity,
  SYSTEM,
  vaccine,
  VITAL,
  type Drug,
} from './codes.js';
import { addYears, ageOn, CARE_START_DAY, dayOf, isoDate, localDateTime, REFERENCE_DAY, yearOf } from './dates.js';
import type { Facility, Staff } from './facilities.js';
import type { Person } from './people.js';
import type { Random } from './random.js';

/**
 * One patient's care from 2019 to the reference day: attachment-polyclinic
 * check-ups and screening, acute illness, dispensary follow-up of chronic
 * disease, tuberculosis and cancer pathways, COVID-19 waves, pregnancies and
 * the national immunization calendar.
 *
 * Care is planned as visits, each a self-contained group of resources around
 * one Encounter. A patient's history is capped at {@link MAX_RESOURCES_PER_PATIENT}
 * by dropping whole optional visits, so no reference is ever left dangling.
 */

export const MAX_RESOURCES_PER_PATIENT = 150;

/** 0: must stay (holds a Condition others point to); 1: keep if there is room; 2: dropped first. */
type Priority = 0 | 1 | 2;

interface Visit {
  day: number;
  priority: Priority;
  resources: Resource[];
}

const LAST_DAY = REFERENCE_DAY - 1;
const PRIMARY_PERFORMER = [
  concept('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'PPRF', 'primary performer'),
];
const ADMIT_FROM_GP = concept('http://terminology.hl7.org/CodeSystem/admit-source', 'gp', "General Practitioner referral");
const ADMIT_FROM_EMERGENCY = concept('http://terminology.hl7.org/CodeSystem/admit-source', 'emd', 'From accident/emergency department');
const DISCHARGED_HOME = concept('http://terminology.hl7.org/CodeSystem/discharge-disposition', 'home', 'Home');
const ALLERGY_ACTIVE = concept('http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', 'active', 'Active');
const ALLERGY_CONFIRMED = concept(
  'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
  'confirmed',
  'Confirmed',
);

const range = (low: number, high: number, unit: string, appliesTo?: string): ObservationReferenceRange[] => [
  {
    low: quantity(low, unit),
    high: quantity(high, unit),
    ...(appliesTo ? { text: appliesTo } : {}),
  },
];

/** Reference intervals as Kazakhstan's laboratories print them (SI units). */
export const REFERENCE = {
  glucose: range(3.9, 6.1, 'mmol/L'),
  hba1c: range(4, 6, '%'),
  creatinineMale: range(62, 106, 'umol/L', 'мужчины'),
  creatinineFemale: range(44, 80, 'umol/L', 'женщины'),
  haemoglobinMale: range(130, 170, 'g/L', 'мужчины'),
  haemoglobinFemale: range(120, 150, 'g/L', 'женщины'),
  leukocytes: range(4, 9, '10*9/L'),
  cholesterol: [{ high: quantity(5.2, 'mmol/L') }],
} satisfies Record<string, ObservationReferenceRange[]>;

/** A measured laboratory result with its reference interval and the flag the interval gives it. */
export function measuredResult(
  code: CodeableConcept,
  value: number,
  unit: string,
  referenceRange: ObservationReferenceRange[],
): Pick<Observation, 'code' | 'valueQuantity' | 'referenceRange' | 'interpretation'> {
  const low = referenceRange[0].low?.value;
  const high = referenceRange[0].high?.value;
  const interpretation =
    high !== undefined && value > high ? INTERPRETATION.high : low !== undefined && value < low ? INTERPRETATION.low : INTERPRETATION.normal;
  return { code, valueQuantity: quantity(value, unit), referenceRange, interpretation };
}

interface Dose {
  ageDays: number;
  vaccine: CodeableConcept;
  dose: number;
  onlyFemale?: boolean;
  notBefore?: number;
}

const BCG = vaccine('J07AN01', 'tuberculosis, live attenuated', '19', 'BCG', 'БЦЖ');
const HEP_B = vaccine('J07BC01', 'hepatitis B, purified antigen', '08', 'Hep B, adolescent or pediatric', 'ВГВ');
const HEXAVALENT = vaccine(
  'J07CA09',
  'diphtheria-hemophilus influenzae B-pertussis-poliomyelitis-tetanus-hepatitis B',
  '146',
  'DTaP,IPV,Hib,HepB',
  'АбКДС-ВГВ-Хиб-ИПВ',
);
const PENTAVALENT = vaccine(
  'J07CA06',
  'diphtheria-hemophilus influenzae B-pertussis-poliomyelitis-tetanus',
  '120',
  'DTaP-Hib-IPV',
  'АбКДС-Хиб-ИПВ',
);
const PNEUMOCOCCAL = vaccine('J07AL02', 'pneumococcus, purified polysaccharides antigen conjugated', '133', 'Pneumococcal conjugate PCV 13', 'ПКВ');
const MMR = vaccine('J07BD52', 'measles, combinations with mumps and rubella, live attenuated', '03', 'MMR', 'ККП');
const HEP_A = vaccine('J07BC02', 'hepatitis A, inactivated, whole virus', '83', 'Hep A, ped/adol, 2 dose', 'ВГА');
const DTAP_IPV = vaccine('J07CA02', 'diphtheria-pertussis-poliomyelitis-tetanus', '130', 'DTaP-IPV', 'АбКДС-ИПВ');
const TD = vaccine('J07AM51', 'tetanus toxoid, combinations with diphtheria toxoid', '09', 'Td (adult), adsorbed', 'АДС-М');
const HPV = vaccine('J07BM01', 'papillomavirus (human types 6, 11, 16, 18)', '62', 'HPV, quadrivalent', 'ВПЧ');
const COVID_VACCINE = vaccine('J07BX03', 'covid-19 vaccines', '213', 'SARS-COV-2 (COVID-19) vaccine, UNSPECIFIED', 'Вакцина против COVID-19');
export const INFLUENZA = vaccine('J07BB02', 'influenza, inactivated, split virus or surface antigen', '141', 'Influenza, seasonal, injectable', 'Грипп');

/** Kazakhstan's national immunization calendar for children, as of the 2020s. */
const CHILDHOOD_CALENDAR: Dose[] = [
  { ageDays: 1, vaccine: HEP_B, dose: 1 },
  { ageDays: 2, vaccine: BCG, dose: 1 },
  { ageDays: 60, vaccine: HEXAVALENT, dose: 1 },
  { ageDays: 60, vaccine: PNEUMOCOCCAL, dose: 1 },
  { ageDays: 90, vaccine: PENTAVALENT, dose: 2 },
  { ageDays: 120, vaccine: HEXAVALENT, dose: 3 },
  { ageDays: 120, vaccine: PNEUMOCOCCAL, dose: 2 },
  { ageDays: 365, vaccine: MMR, dose: 1 },
  { ageDays: 365, vaccine: PNEUMOCOCCAL, dose: 3 },
  { ageDays: 548, vaccine: PENTAVALENT, dose: 4 },
  { ageDays: 730, vaccine: HEP_A, dose: 1 },
  { ageDays: 913, vaccine: HEP_A, dose: 2 },
  { ageDays: 2192, vaccine: MMR, dose: 2 },
  { ageDays: 2192, vaccine: DTAP_IPV, dose: 5 },
  // HPV for 11-year-old girls since the programme began in September 2024.
  { ageDays: 4018, vaccine: HPV, dose: 1, onlyFemale: true, notBefore: dayOf('2024-09-01') },
  { ageDays: 5844, vaccine: TD, dose: 1 },
];

/** The national immunization registry holds doses from its start in 2008. */
const REGISTRY_START_DAY = dayOf('2008-01-01');

/** COVID-19 waves in Kazakhstan: start, end, share of people with a recorded case. */
const COVID_WAVES: [number, number, number][] = [
  [dayOf('2020-06-10'), dayOf('2020-08-20'), 0.03],
  [dayOf('2020-10-15'), dayOf('2021-01-20'), 0.015],
  [dayOf('2021-06-15'), dayOf('2021-09-20'), 0.04],
  [dayOf('2022-01-05'), dayOf('2022-02-20'), 0.05],
  [dayOf('2022-07-01'), dayOf('2022-08-31'), 0.01],
];
const COVID_VACCINATION_START = dayOf('2021-02-01');

const ACUTE_CHILD: [CodeableConcept, number][] = [
  [ICD10.upperRespiratory, 45], [ICD10.pharyngitis, 15], [ICD10.bronchitis, 10],
  [ICD10.otitis, 10], [ICD10.gastroenteritis, 12], [ICD10.pneumonia, 8],
];
const ACUTE_ADULT: [CodeableConcept, number][] = [
  [ICD10.upperRespiratory, 35], [ICD10.pharyngitis, 12], [ICD10.bronchitis, 12], [ICD10.gastroenteritis, 8],
  [ICD10.pneumonia, 5], [ICD10.backPain, 15], [ICD10.gastritis, 13],
];
const FEBRILE = new Set<CodeableConcept>([
  ICD10.upperRespiratory, ICD10.pharyngitis, ICD10.bronchitis, ICD10.otitis, ICD10.pneumonia, ICD10.gastroenteritis,
]);
const NEEDS_ANTIBIOTIC = new Set<CodeableConcept>([ICD10.pneumonia, ICD10.otitis, ICD10.pharyngitis]);

const ALLERGENS: [CodeableConcept, 'medication' | 'food' | 'environment'][] = [
  [concept(SYSTEM.snomed, '373270004', 'Penicillin -class of antibiotic-'), 'medication'],
  [concept(SYSTEM.snomed, '387207008', 'Ibuprofen'), 'medication'],
  [concept(SYSTEM.snomed, '256259004', 'Pollen'), 'environment'],
  [concept(SYSTEM.snomed, '260147004', 'House dust mite'), 'environment'],
  [concept(SYSTEM.snomed, '762952008', 'Peanut'), 'food'],
  [concept(SYSTEM.snomed, '102263004', 'Eggs (edible)'), 'food'],
];
const REACTIONS = [
  [concept(SYSTEM.snomed, '247472004', 'Hives')],
  [concept(SYSTEM.snomed, '271807003', 'Eruption of skin')],
  [concept(SYSTEM.snomed, '267036007', 'Dyspnea')],
  [concept(SYSTEM.snomed, '418290006', 'Itching')],
];

const APPENDICITIS = concept(SYSTEM.icd10, 'K35.8', 'Acute appendicitis, other and unspecified');
const GALLSTONES = concept(SYSTEM.icd10, 'K80.2', 'Calculus of gallbladder without cholecystitis');

interface ChronicCondition {
  reference: string;
  onsetDay: number;
  drugs: Drug[];
  code: CodeableConcept;
}

/** Resources of one patient's care, after the Patient itself, in visit order. */
export function careHistory(person: Person, random: Random): Resource[] {
  return new CareHistory(person, random).build();
}

class CareHistory {
  private readonly visits: Visit[] = [];
  private readonly western: boolean;
  private readonly patient: { reference: string };
  private readonly firstDay: number;
  private readonly adultHeight: number;
  private readonly bmi: number;
  private readonly chronic: ChronicCondition[] = [];
  private hypertensive = false;
  private diabetic = false;

  constructor(
    private readonly person: Person,
    private readonly random: Random,
  ) {
    this.western = person.region.region.westernZone;
    this.patient = { reference: person.reference };
    this.firstDay = Math.max(CARE_START_DAY, person.birthDay);
    this.adultHeight = person.sex === 'male' ? random.normal(175, 7) : random.normal(162, 6);
    this.bmi = Math.min(42, Math.max(17.5, random.normal(26, 4.2)));
  }

  build(): Resource[] {
    this.planAllergy();
    this.planImmunizations();
    this.planChronicDisease();
    this.planCheckups();
    this.planAcuteIllness();
    this.planCovid();
    this.planPregnancies();
    this.planTuberculosis();
    this.planCancer();
    this.planSurgery();
    this.trim();
    this.visits.sort((a, b) => a.day - b.day);
    const out: Resource[] = [];
    for (const visit of this.visits) {
      for (const resource of visit.resources) {
        out.push(resource);
      }
    }
    return out;
  }

  /** Drops optional visits, least important first, until the history fits the cap. */
  private trim(): void {
    let total = 1;
    for (const visit of this.visits) total += visit.resources.length;
    for (const priority of [2, 1] as const) {
      while (total > MAX_RESOURCES_PER_PATIENT) {
        const candidates = this.visits.filter((v) => v.priority === priority);
        if (candidates.length === 0) break;
        const victim = this.random.pick(candidates);
        this.visits.splice(this.visits.indexOf(victim), 1);
        total -= victim.resources.length;
      }
    }
  }

  private age(day: number): number {
    return ageOn(this.person.birthDay, day);
  }

  private visit(day: number, priority: Priority): Resource[] {
    const resources: Resource[] = [];
    this.visits.push({ day, priority, resources });
    return resources;
  }

  private minute(): number {
    return this.random.between(8 * 60, 17 * 60 + 30);
  }

  private encounter(
    visit: Resource[],
    day: number,
    minute: number,
    cls: keyof typeof ENCOUNTER_CLASS,
    type: CodeableConcept[],
    facility: Facility,
    performer: Staff | undefined,
    reasons: { code?: CodeableConcept; conditions?: string[]; diagnosis?: string },
    stayDays = 0,
    fromEmergency = false,
  ): string {
    const id = this.random.uuid();
    const start = localDateTime(day, minute, this.western);
    const end =
      cls === 'IMP'
        ? localDateTime(Math.min(day + stayDays, LAST_DAY), 11 * 60, this.western)
        : localDateTime(day, Math.min(minute + 15 + this.random.int(30), 23 * 60 + 59), this.western);
    const encounter: Encounter = {
      resourceType: 'Encounter',
      id,
      status: 'finished',
      class: ENCOUNTER_CLASS[cls],
      type,
      subject: this.patient,
      ...(performer ? { participant: [{ type: PRIMARY_PERFORMER, individual: { reference: performer.practitioner } }] } : {}),
      period: { start, end },
      ...(cls === 'IMP' ? { length: { value: stayDays, unit: 'd', system: SYSTEM.ucum, code: 'd' } } : {}),
      ...(reasons.code ? { reasonCode: [reasons.code] } : {}),
      ...(reasons.conditions ? { reasonReference: reasons.conditions.map((reference) => ({ reference })) } : {}),
      ...(reasons.diagnosis ? { diagnosis: [{ condition: { reference: reasons.diagnosis }, rank: 1 }] } : {}),
      ...(cls === 'IMP'
        ? { hospitalization: { admitSource: fromEmergency ? ADMIT_FROM_EMERGENCY : ADMIT_FROM_GP, dischargeDisposition: DISCHARGED_HOME } }
        : {}),
      ...(cls === 'VR' ? {} : { location: [{ location: { reference: facility.location } }] }),
      serviceProvider: { reference: facility.organization },
    };
    visit.push(encounter);
    return `Encounter/${id}`;
  }

  private condition(
    visit: Resource[],
    id: string,
    code: CodeableConcept,
    onsetDay: number,
    recordedDay: number,
    encounter: string | undefined,
    abatementDay?: number,
    chronic = false,
  ): void {
    const abated = abatementDay !== undefined && abatementDay <= LAST_DAY;
    const condition: Condition = {
      resourceType: 'Condition',
      id,
      clinicalStatus: abated ? CONDITION_STATUS.resolved : CONDITION_STATUS.active,
      verificationStatus: CONDITION_STATUS.confirmed,
      category: chronic ? CATEGORY.problemListItem : CATEGORY.encounterDiagnosis,
      code,
      subject: this.patient,
      ...(encounter ? { encounter: { reference: encounter } } : {}),
      onsetDateTime: isoDate(onsetDay),
      ...(abated ? { abatementDateTime: isoDate(abatementDay) } : {}),
      recordedDate: isoDate(recordedDay),
    };
    visit.push(condition);
  }

  private vitals(visit: Resource[], encounter: string, day: number, minute: number, which: { bp?: boolean; body?: boolean; temperature?: number }): void {
    const effectiveDateTime = localDateTime(day, minute, this.western);
    const base = { resourceType: 'Observation', status: 'final', category: CATEGORY.vitalSigns, subject: this.patient, encounter: { reference: encounter }, effectiveDateTime } as const;
    const age = (day - this.person.birthDay) / 365.25;
    if (which.bp) {
      const treatedExcess = this.hypertensive ? this.random.normal(18, 10) : 0;
      const systolic = Math.round(this.random.normal(112 + 0.45 * Math.max(0, age - 20), 9) + treatedExcess);
      const diastolic = Math.round(systolic * 0.62 + this.random.normal(4, 5));
      visit.push({
        ...base,
        id: this.random.uuid(),
        code: VITAL.bloodPressure,
        component: [
          { code: VITAL.systolic, valueQuantity: quantity(systolic, 'mm[Hg]') },
          { code: VITAL.diastolic, valueQuantity: quantity(diastolic, 'mm[Hg]') },
        ],
      } satisfies Observation);
      const rate = age < 1 ? 130 : age < 5 ? 105 : age < 12 ? 90 : 74;
      visit.push({ ...base, id: this.random.uuid(), code: VITAL.heartRate, valueQuantity: quantity(Math.round(this.random.normal(rate, 8)), '/min') } satisfies Observation);
    }
    if (which.body) {
      const height = heightAt(age, this.adultHeight);
      const bmi = bmiAt(age, this.bmi) + this.random.normal(0, 0.4);
      const weight = age < 1 ? 3.4 + 6.6 * age : (bmi * height * height) / 10_000;
      visit.push({ ...base, id: this.random.uuid(), code: VITAL.weight, valueQuantity: quantity(round1(weight), 'kg') } satisfies Observation);
      visit.push({ ...base, id: this.random.uuid(), code: VITAL.height, valueQuantity: quantity(round1(height), 'cm') } satisfies Observation);
      if (age >= 2) {
        visit.push({ ...base, id: this.random.uuid(), code: VITAL.bmi, valueQuantity: quantity(round1((weight * 10_000) / (height * height)), 'kg/m2') } satisfies Observation);
      }
    }
    if (which.temperature !== undefined) {
      visit.push({ ...base, id: this.random.uuid(), code: VITAL.temperature, valueQuantity: quantity(round1(which.temperature), 'Cel') } satisfies Observation);
    }
  }

  /** A laboratory order: its results and the DiagnosticReport grouping them. */
  private labReport(
    visit: Resource[],
    encounter: string,
    day: number,
    panel: CodeableConcept,
    results: Array<Pick<Observation, 'code' | 'valueQuantity' | 'valueCodeableConcept' | 'referenceRange' | 'interpretation'>>,
  ): void {
    const lab = this.random.pick(this.person.region.laboratories);
    const effectiveDateTime = localDateTime(day, this.random.between(8 * 60, 10 * 60), this.western);
    const issued = localDateTime(Math.min(day + 1, LAST_DAY), this.random.between(12 * 60, 17 * 60), this.western);
    const performer = [{ reference: lab.organization }];
    const refs = [];
    for (const result of results) {
      const id = this.random.uuid();
      visit.push({
        resourceType: 'Observation',
        id,
        status: 'final',
        category: CATEGORY.laboratory,
        subject: this.patient,
        encounter: { reference: encounter },
        effectiveDateTime,
        issued,
        performer,
        ...result,
      } satisfies Observation);
      refs.push({ reference: `Observation/${id}` });
    }
    visit.push({
      resourceType: 'DiagnosticReport',
      id: this.random.uuid(),
      status: 'final',
      category: CATEGORY.labReport,
      code: panel,
      subject: this.patient,
      encounter: { reference: encounter },
      effectiveDateTime,
      issued,
      performer,
      resultsInterpreter: [{ reference: lab.staff[0].practitioner }],
      result: refs,
    } satisfies DiagnosticReport);
  }

  private measured(code: CodeableConcept, value: number, unit: string, referenceRange: ObservationReferenceRange[]): Pick<Observation, 'code' | 'valueQuantity' | 'referenceRange' | 'interpretation'> {
    return measuredResult(code, value, unit, referenceRange);
  }

  private bloodCount(anaemic = false): Pick<Observation, 'code' | 'valueQuantity' | 'referenceRange' | 'interpretation'>[] {
    const male = this.person.sex === 'male';
    const hb = anaemic ? this.random.normal(100, 7) : male ? this.random.normal(148, 10) : this.random.normal(132, 9);
    return [
      this.measured(LAB.haemoglobin, Math.round(hb), 'g/L', male ? REFERENCE.haemoglobinMale : REFERENCE.haemoglobinFemale),
      this.measured(LAB.leukocytes, round1(Math.max(2.5, this.random.normal(6.5, 1.5))), '10*9/L', REFERENCE.leukocytes),
    ];
  }

  private chemistry(day: number): Pick<Observation, 'code' | 'valueQuantity' | 'referenceRange' | 'interpretation'>[] {
    const age = this.age(day);
    const male = this.person.sex === 'male';
    const glucose = this.diabetic ? this.random.normal(8.2, 1.8) : this.random.normal(5, 0.5);
    const out = [
      this.measured(LAB.glucose, round1(Math.max(3, glucose)), 'mmol/L', REFERENCE.glucose),
      this.measured(LAB.cholesterol, round1(Math.max(2.5, this.random.normal(4.4 + 0.02 * Math.max(0, age - 25), 0.8))), 'mmol/L', REFERENCE.cholesterol),
    ];
    if (age >= 40 || this.diabetic || this.hypertensive) {
      const creatinine = this.random.normal(male ? 88 : 68, male ? 12 : 10) + Math.max(0, age - 60) * 0.6;
      out.push(this.measured(LAB.creatinine, Math.round(creatinine), 'umol/L', male ? REFERENCE.creatinineMale : REFERENCE.creatinineFemale));
    }
    return out;
  }

  private prescribe(visit: Resource[], encounter: string, day: number, drug: Drug, reason: string, requester: Staff, validDays: number): void {
    const end = day + validDays;
    const pharmacy = this.random.pick(this.person.region.pharmacies);
    visit.push({
      resourceType: 'MedicationRequest',
      id: this.random.uuid(),
      status: end < REFERENCE_DAY ? 'completed' : 'active',
      intent: 'order',
      medicationCodeableConcept: drug.code,
      subject: this.patient,
      encounter: { reference: encounter },
      authoredOn: localDateTime(day, this.minute(), this.western),
      requester: { reference: requester.practitioner },
      reasonReference: [{ reference: reason }],
      dosageInstruction: drug.dosage,
      dispenseRequest: { validityPeriod: { start: isoDate(day), end: isoDate(end) }, performer: { reference: pharmacy.organization } },
    } satisfies MedicationRequest);
  }

  private procedure(visit: Resource[], encounter: string, day: number, code: CodeableConcept, performer: Staff, facility: Facility, reason?: string): string {
    const id = this.random.uuid();
    visit.push({
      resourceType: 'Procedure',
      id,
      status: 'completed',
      code,
      subject: this.patient,
      encounter: { reference: encounter },
      performedDateTime: localDateTime(day, this.minute(), this.western),
      performer: [{ actor: { reference: performer.practitioner } }],
      location: { reference: facility.location },
      ...(reason ? { reasonReference: [{ reference: reason }] } : {}),
    } satisfies Procedure);
    return `Procedure/${id}`;
  }

  /** An imaging procedure and the DICOM study it produced, read by the centre's radiologist. */
  private imaging(
    visit: Resource[],
    encounter: string,
    day: number,
    code: CodeableConcept,
    modality: (typeof MODALITY)[keyof typeof MODALITY],
    bodySite: (typeof BODY_SITE)[keyof typeof BODY_SITE],
    centre: Facility,
    reason?: string,
  ): void {
    const radiologist = centre.staff.find((s) => s.post === 'radiologist') ?? centre.staff[0];
    const procedure = this.procedure(visit, encounter, day, code, radiologist, centre, reason);
    const instances = modality.code === 'CT' ? this.random.between(120, 400) : modality.code === 'US' ? this.random.between(4, 12) : modality.code === 'MG' ? 4 : this.random.between(1, 2);
    visit.push({
      resourceType: 'ImagingStudy',
      id: this.random.uuid(),
      identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:2.25.${this.random.digits(38)}` }],
      status: 'available',
      modality: [modality],
      subject: this.patient,
      encounter: { reference: encounter },
      started: localDateTime(day, this.minute(), this.western),
      referrer: { reference: this.person.doctor.practitioner },
      interpreter: [{ reference: radiologist.practitioner }],
      numberOfSeries: 1,
      numberOfInstances: instances,
      procedureReference: { reference: procedure },
      procedureCode: [code],
      location: { reference: centre.location },
      series: [{ uid: `2.25.${this.random.digits(38)}`, number: 1, modality, numberOfInstances: instances, bodySite }],
    } satisfies ImagingStudy);
  }

  private planAllergy(): void {
    if (!this.random.chance(0.1)) return;
    const [code, category] = this.random.pick(ALLERGENS);
    const onset = Math.max(this.person.birthDay + 365, this.firstDay - this.random.int(3650));
    const visit = this.visit(this.firstDay, 0);
    visit.push({
      resourceType: 'AllergyIntolerance',
      id: this.random.uuid(),
      clinicalStatus: ALLERGY_ACTIVE,
      verificationStatus: ALLERGY_CONFIRMED,
      type: 'allergy',
      category: [category],
      criticality: this.random.chance(0.15) ? 'high' : 'low',
      code,
      patient: this.patient,
      onsetDateTime: isoDate(Math.min(onset, LAST_DAY)),
      recordedDate: isoDate(this.firstDay),
      recorder: { reference: this.person.doctor.practitioner },
      reaction: [{ manifestation: this.random.pick(REACTIONS), severity: this.random.chance(0.2) ? 'moderate' : 'mild' }],
    } satisfies AllergyIntolerance);
  }

  private immunizationVisit(day: number, doses: { vaccine: CodeableConcept; dose: number }[]): void {
    const visit = this.visit(day, 1);
    const minute = this.minute();
    const encounter = this.encounter(visit, day, minute, 'AMB', ENCOUNTER_TYPE.vaccination, this.person.polyclinic, this.person.nurse, {});
    for (const { vaccine: vaccineCode, dose } of doses) {
      visit.push({
        resourceType: 'Immunization',
        id: this.random.uuid(),
        status: 'completed',
        vaccineCode,
        patient: this.patient,
        encounter: { reference: encounter },
        occurrenceDateTime: localDateTime(day, minute, this.western),
        primarySource: true,
        location: { reference: this.person.polyclinic.location },
        performer: [{ actor: { reference: this.person.nurse.practitioner } }],
        protocolApplied: [{ doseNumberPositiveInt: dose }],
      } satisfies Immunization);
    }
  }

  private planImmunizations(): void {
    const birth = this.person.birthDay;
    const byDay = new Map<number, { vaccine: CodeableConcept; dose: number }[]>();
    for (const dose of CHILDHOOD_CALENDAR) {
      if (dose.onlyFemale && this.person.sex !== 'female') continue;
      const day = birth + dose.ageDays + (dose.ageDays > 7 ? this.random.int(21) : 0);
      if (day < REGISTRY_START_DAY || day > LAST_DAY || (dose.notBefore && day < dose.notBefore)) continue;
      const list = byDay.get(day) ?? [];
      list.push(dose);
      byDay.set(day, list);
    }
    for (const [day, doses] of byDay) this.immunizationVisit(day, doses);

    // Adult diphtheria-tetanus boosters every ten years after 16.
    for (let years = 26; years <= 86; years += 10) {
      const day = addYears(birth, years) + this.random.int(60);
      if (day >= this.firstDay && day <= LAST_DAY && this.random.chance(0.6)) this.immunizationVisit(day, [{ vaccine: TD, dose: (years - 16) / 10 + 1 }]);
    }
    if (this.age(COVID_VACCINATION_START) >= 18 && this.random.chance(0.55)) {
      const first = COVID_VACCINATION_START + this.random.int(240);
      this.immunizationVisit(first, [{ vaccine: COVID_VACCINE, dose: 1 }]);
      this.immunizationVisit(first + 21, [{ vaccine: COVID_VACCINE, dose: 2 }]);
      if (this.random.chance(0.35)) this.immunizationVisit(first + 180 + this.random.int(120), [{ vaccine: COVID_VACCINE, dose: 3 }]);
    }
    for (let year = yearOf(this.firstDay); year <= yearOf(LAST_DAY); year++) {
      const day = dayOf(`${year}-10-01`) + this.random.int(60);
      if (day >= this.firstDay && day <= LAST_DAY && this.age(day) >= 60 && this.random.chance(0.3)) {
        this.immunizationVisit(day, [{ vaccine: INFLUENZA, dose: 1 }]);
      }
    }
  }

  /** Onset day of a chronic disease whose prevalence at the end of the window is `prevalence`, or null. */
  private chronicOnset(prevalence: number, earliestAge: number): number | null {
    if (!this.random.chance(prevalence)) return null;
    const earliest = Math.max(addYears(this.person.birthDay, earliestAge), LAST_DAY - 15 * 365);
    if (earliest >= LAST_DAY) return null;
    return earliest + this.random.int(LAST_DAY - earliest);
  }

  private planChronicDisease(): void {
    const age = this.age(LAST_DAY);
    const hypertension = this.chronicOnset(age < 18 ? 0 : age < 30 ? 0.02 : age < 40 ? 0.07 : age < 50 ? 0.18 : age < 60 ? 0.33 : age < 70 ? 0.48 : 0.58, 18);
    const diabetes = this.chronicOnset(age < 30 ? 0.002 : age < 40 ? 0.015 : age < 50 ? 0.04 : age < 60 ? 0.09 : 0.13, 25);
    const ischaemic = this.chronicOnset(age < 50 ? 0.005 : age < 60 ? 0.04 : age < 70 ? 0.1 : 0.18, 40);
    const asthma = this.chronicOnset(0.02, 5);
    const random = this.random;
    if (hypertension !== null) {
      this.hypertensive = true;
      this.addChronic(ICD10.hypertension, hypertension, [DRUG.enalapril, ...(random.chance(0.5) ? [DRUG.amlodipine] : []), ...(random.chance(0.3) ? [DRUG.indapamide] : [])]);
    }
    if (diabetes !== null) {
      this.diabetic = true;
      this.addChronic(ICD10.diabetes, diabetes, [DRUG.metformin, ...(random.chance(0.4) ? [DRUG.gliclazide] : [])]);
    }
    if (ischaemic !== null) this.addChronic(ICD10.ischaemicHeart, ischaemic, [DRUG.aspirin, DRUG.atorvastatin, DRUG.bisoprolol]);
    if (asthma !== null) this.addChronic(ICD10.asthma, asthma, [DRUG.salbutamol]);
    if (this.chronic.length === 0) return;

    // Dispensary observation: a diagnosis (or, for older disease, registration) visit, then every six months.
    const doctor = this.person.doctor;
    const firstOnset = Math.min(...this.chronic.map((c) => c.onsetDay));
    const registered = new Set<ChronicCondition>();
    const lastPrescribed = new Map<ChronicCondition, number>();
    for (let day = Math.max(firstOnset, this.firstDay); day <= LAST_DAY; day += 150 + this.random.int(60)) {
      const due = this.chronic.filter((c) => c.onsetDay <= day);
      const newOnes = due.filter((c) => !registered.has(c));
      const visit = this.visit(day, newOnes.length > 0 ? 0 : 1);
      const minute = this.minute();
      const encounter = this.encounter(visit, day, minute, 'AMB', newOnes.length > 0 ? ENCOUNTER_TYPE.problem : ENCOUNTER_TYPE.followUp, this.person.polyclinic, doctor, {
        conditions: due.map((c) => c.reference),
      });
      for (const c of newOnes) {
        registered.add(c);
        this.condition(visit, c.reference.slice('Condition/'.length), c.code, c.onsetDay, day, c.onsetDay >= this.firstDay ? encounter : undefined, undefined, true);
      }
      this.vitals(visit, encounter, day, minute, { bp: this.hypertensive || due.some((c) => c.code === ICD10.ischaemicHeart) || this.age(day) >= 40 });
      if (this.diabetic && due.some((c) => c.code === ICD10.diabetes)) {
        const glucose = this.chemistry(day)[0];
        const results = [glucose];
        if (newOnes.length > 0 || this.random.chance(0.5)) {
          results.push(this.measured(LAB.hba1c, round1(Math.max(5.8, this.random.normal(7.6, 1))), '%', REFERENCE.hba1c));
        }
        this.labReport(visit, encounter, day, LAB_PANEL.chemistry, results);
      }
      if (newOnes.some((c) => c.code === ICD10.ischaemicHeart)) {
        this.procedure(visit, encounter, day, PROCEDURE.ecg, doctor, this.person.polyclinic);
      }
      for (const c of due) {
        // Free outpatient medicines are prescribed for up to a year at a time.
        if ((lastPrescribed.get(c) ?? -Infinity) + 330 <= day) {
          for (const drug of c.drugs) this.prescribe(visit, encounter, day, drug, c.reference, doctor, 365);
          lastPrescribed.set(c, day);
        }
      }
    }
  }

  private addChronic(code: CodeableConcept, onsetDay: number, drugs: Drug[]): void {
    this.chronic.push({ reference: `Condition/${this.random.uuid()}`, onsetDay, drugs, code });
  }

  private planCheckups(): void {
    const person = this.person;
    for (let year = yearOf(this.firstDay); year <= yearOf(LAST_DAY); year++) {
      const day = Math.max(this.firstDay, dayOf(`${year}-01-15`) + this.random.int(320));
      if (day > LAST_DAY) continue;
      const age = this.age(day);
      const attends = age < 7 ? 0.9 : age < 18 ? 0.6 : age < 40 ? 0.45 : 0.65;
      if (!this.random.chance(attends)) continue;
      const visit = this.visit(day, 2);
      const minute = this.minute();
      const child = age < 18;
      const encounter = this.encounter(visit, day, minute, 'AMB', ENCOUNTER_TYPE.checkup, person.polyclinic, person.doctor, {
        code: child ? ICD10.childExamination : ICD10.adultExamination,
      });
      this.vitals(visit, encounter, day, minute, { body: true, bp: age >= 12 });
      if (age >= 18 && this.random.chance(0.5)) {
        this.labReport(visit, encounter, day, LAB_PANEL.bloodCount, this.bloodCount());
        this.labReport(visit, encounter, day, LAB_PANEL.chemistry, this.chemistry(day));
      }
      if (age >= 40 && this.random.chance(0.4)) this.procedure(visit, encounter, day, PROCEDURE.ecg, person.doctor, person.polyclinic);
      if (age >= 18 && this.random.chance(0.3)) {
        this.imaging(visit, encounter, day, PROCEDURE.chestXray, MODALITY.DX, BODY_SITE.chest, this.random.pick(person.region.imagingCentres));
      }
    }
    // Newborns: the pediatrician sees them at one, six and nine months besides vaccination visits.
    for (const months of [1, 6, 9]) {
      const day = person.birthDay + Math.round(months * 30.4);
      if (day < this.firstDay || day > LAST_DAY) continue;
      const visit = this.visit(day, 1);
      const minute = this.minute();
      const encounter = this.encounter(visit, day, minute, 'AMB', ENCOUNTER_TYPE.checkup, person.polyclinic, person.doctor, { code: ICD10.childExamination });
      this.vitals(visit, encounter, day, minute, { body: true });
    }
    // Breast cancer screening: women 40-70 every two years.
    for (let day = Math.max(this.firstDay, addYears(person.birthDay, 40)); day <= Math.min(LAST_DAY, addYears(person.birthDay, 70)); day += 730) {
      if (person.sex !== 'female' || !this.random.chance(0.5)) continue;
      const visitDay = day + this.random.int(200);
      if (visitDay > LAST_DAY) continue;
      const visit = this.visit(visitDay, 2);
      const centre = this.random.pick(person.region.imagingCentres);
      const encounter = this.encounter(visit, visitDay, this.minute(), 'AMB', ENCOUNTER_TYPE.checkup, centre, centre.staff[0], { code: ICD10.adultExamination });
      this.imaging(visit, encounter, visitDay, PROCEDURE.mammography, MODALITY.MG, BODY_SITE.breast, centre);
    }
  }

  private planAcuteIllness(): void {
    const person = this.person;
    for (let day = this.firstDay + this.random.int(200); day <= LAST_DAY; ) {
      const age = this.age(day);
      const child = age < 18;
      const [code] = weightedPick(this.random, child ? ACUTE_CHILD : ACUTE_ADULT);
      const severe = code === ICD10.pneumonia && (age < 2 || age >= 65) && this.random.chance(0.4);
      const roll = this.random.next();
      const cls = severe ? 'IMP' : roll < 0.15 ? 'VR' : roll < 0.27 ? 'EMER' : 'AMB';
      const visit = this.visit(day, severe ? 1 : 2);
      const minute = this.minute();
      const conditionId = this.random.uuid();
      const hospital = this.random.pick(person.region.hospitals);
      const atPost = cls === 'AMB' && person.post !== undefined && this.random.chance(0.5);
      const facility = cls === 'IMP' || cls === 'EMER' ? hospital : atPost ? person.post! : person.polyclinic;
      const clinician = cls === 'IMP' || cls === 'EMER' ? hospital.staff[0] : atPost ? person.post!.staff[0] : person.doctor;
      const stay = severe ? this.random.between(5, 12) : 0;
      const type = cls === 'IMP' ? ENCOUNTER_TYPE.admission : cls === 'EMER' ? ENCOUNTER_TYPE.emergency : cls === 'VR' ? ENCOUNTER_TYPE.telemedicine : ENCOUNTER_TYPE.problem;
      const encounter = this.encounter(visit, day, minute, cls, type, facility, clinician, { diagnosis: `Condition/${conditionId}` }, stay, cls === 'IMP');
      this.condition(visit, conditionId, code, day - this.random.int(3), day, encounter, day + 7 + this.random.int(10));
      if (FEBRILE.has(code) && cls !== 'VR' && this.random.chance(0.8)) {
        this.vitals(visit, encounter, day, minute, { temperature: this.random.normal(38.1, 0.6) });
      }
      if (severe) this.labReport(visit, encounter, day, LAB_PANEL.bloodCount, this.bloodCount());
      if (NEEDS_ANTIBIOTIC.has(code) ? this.random.chance(0.7) : FEBRILE.has(code) && this.random.chance(0.4)) {
        this.prescribe(visit, encounter, day, NEEDS_ANTIBIOTIC.has(code) ? DRUG.amoxicillin : DRUG.paracetamol, `Condition/${conditionId}`, clinician, 10);
      }
      const perYear = age < 5 ? 2.5 : age < 18 ? 1.5 : age < 65 ? 0.8 : 1;
      day += 1 + Math.round(-Math.log(1 - this.random.next()) * (365 / perYear));
    }
    // Women of child-bearing age: iron deficiency anaemia, treated for three months.
    const anaemiaDay = this.firstDay + this.random.int(LAST_DAY - this.firstDay + 1);
    const anaemiaAge = this.age(anaemiaDay);
    if (person.sex === 'female' && anaemiaAge >= 15 && anaemiaAge < 50 && this.random.chance(0.15)) {
      const visit = this.visit(anaemiaDay, 1);
      const conditionId = this.random.uuid();
      const encounter = this.encounter(visit, anaemiaDay, this.minute(), 'AMB', ENCOUNTER_TYPE.problem, person.polyclinic, person.doctor, { diagnosis: `Condition/${conditionId}` });
      this.labReport(visit, encounter, anaemiaDay, LAB_PANEL.bloodCount, this.bloodCount(true));
      this.condition(visit, conditionId, ICD10.anaemia, anaemiaDay, anaemiaDay, encounter, anaemiaDay + 90 + this.random.int(90));
      this.prescribe(visit, encounter, anaemiaDay, DRUG.ferrousSulfate, `Condition/${conditionId}`, person.doctor, 90);
    }
  }

  private planCovid(): void {
    const person = this.person;
    for (const [start, end, share] of COVID_WAVES) {
      if (end < this.firstDay || !this.random.chance(share)) continue;
      const day = Math.max(start, this.firstDay) + this.random.int(end - Math.max(start, this.firstDay) + 1);
      const age = this.age(day);
      const admitted = this.random.chance(age >= 60 ? 0.3 : age >= 40 ? 0.1 : 0.03);
      const cls = admitted ? 'IMP' : this.random.chance(0.45) ? 'VR' : 'AMB';
      const confirmed = this.random.chance(0.8);
      const hospital = this.random.pick(person.region.hospitals);
      const clinician = admitted ? hospital.staff[0] : person.doctor;
      const visit = this.visit(day, 1);
      const minute = this.minute();
      const conditionId = this.random.uuid();
      const stay = admitted ? this.random.between(7, 16) : 0;
      const encounter = this.encounter(
        visit,
        day,
        minute,
        cls,
        admitted ? ENCOUNTER_TYPE.admission : cls === 'VR' ? ENCOUNTER_TYPE.telemedicine : ENCOUNTER_TYPE.problem,
        admitted ? hospital : person.polyclinic,
        clinician,
        { diagnosis: `Condition/${conditionId}` },
        stay,
        admitted,
      );
      this.condition(visit, conditionId, confirmed ? ICD10.covidConfirmed : ICD10.covidClinical, day - this.random.int(4), day, encounter, day + 14 + this.random.int(14));
      if (confirmed) {
        this.labReport(visit, encounter, day, LAB.sarsCov2Rna, [{ code: LAB.sarsCov2Rna, valueCodeableConcept: FINDING.detected }]);
      }
      if (cls !== 'VR') this.vitals(visit, encounter, day, minute, { temperature: this.random.normal(38.2, 0.6), bp: admitted });
      this.prescribe(visit, encounter, day, DRUG.paracetamol, `Condition/${conditionId}`, clinician, 10);
      if (admitted) {
        this.prescribe(visit, encounter, day, DRUG.dexamethasone, `Condition/${conditionId}`, clinician, 10);
        this.prescribe(visit, encounter, day, DRUG.enoxaparin, `Condition/${conditionId}`, clinician, stay);
        this.imaging(visit, encounter, day, PROCEDURE.chestCt, MODALITY.CT, BODY_SITE.chest, this.random.pick(person.region.imagingCentres), `Condition/${conditionId}`);
      }
    }
  }

  private planPregnancies(): void {
    const person = this.person;
    if (person.sex !== 'female') return;
    let pregnancies = 0;
    for (let day = this.firstDay; day <= LAST_DAY; ) {
      const age = this.age(day);
      if (age > 44) break;
      const yearlyRate = age < 18 ? 0 : age < 25 ? 0.12 : age < 35 ? 0.14 : 0.05;
      if (!this.random.chance(yearlyRate)) {
        day += 365;
        continue;
      }
      const conception = day + this.random.int(365);
      const delivery = conception + 266 + this.random.int(21);
      const first = pregnancies === 0 && (age < 23 || this.random.chance(0.3));
      pregnancies++;
      this.pregnancy(conception, delivery, first);
      day = delivery + 365;
    }
  }

  private pregnancy(conception: number, delivery: number, first: boolean): void {
    const person = this.person;
    const registration = conception + 56 + this.random.int(28);
    if (registration > LAST_DAY) return;
    const pregnancyRef = `Condition/${this.random.uuid()}`;
    const pregnancyId = pregnancyRef.slice('Condition/'.length);
    const ob = person.obstetrician;
    {
      const visit = this.visit(registration, 0);
      const minute = this.minute();
      const encounter = this.encounter(visit, registration, minute, 'AMB', ENCOUNTER_TYPE.prenatal, person.polyclinic, ob, { diagnosis: pregnancyRef });
      this.condition(visit, pregnancyId, first ? ICD10.firstPregnancy : ICD10.laterPregnancy, conception + 14, registration, encounter, delivery);
      this.vitals(visit, encounter, registration, minute, { bp: true, body: true });
      this.labReport(visit, encounter, registration, LAB_PANEL.bloodCount, this.bloodCount(this.random.chance(0.25)));
      this.prescribe(visit, encounter, registration, DRUG.folicAcid, pregnancyRef, ob, 90);
    }
    for (const week of [12, 20, 26, 30, 34, 37]) {
      const day = conception + week * 7 + this.random.int(7);
      if (day > LAST_DAY || day >= delivery || day <= registration) continue;
      const visit = this.visit(day, 1);
      const minute = this.minute();
      const encounter = this.encounter(visit, day, minute, 'AMB', ENCOUNTER_TYPE.prenatal, person.polyclinic, ob, { conditions: [pregnancyRef] });
      this.vitals(visit, encounter, day, minute, { bp: true });
      if (week === 12 || week === 20) {
        this.imaging(visit, encounter, day, PROCEDURE.obstetricUltrasound, MODALITY.US, BODY_SITE.uterus, this.random.pick(person.region.imagingCentres), pregnancyRef);
      }
    }
    if (delivery > LAST_DAY) return;
    const centre = person.region.perinatalCentre;
    const caesarean = this.random.chance(0.22);
    const visit = this.visit(delivery, 0);
    const conditionId = this.random.uuid();
    const stay = caesarean ? this.random.between(4, 6) : this.random.between(2, 3);
    const obstetrician = centre.staff[0];
    const encounter = this.encounter(visit, delivery, this.minute(), 'IMP', ENCOUNTER_TYPE.admission, centre, obstetrician, { diagnosis: `Condition/${conditionId}` }, stay, true);
    this.condition(visit, conditionId, caesarean ? ICD10.caesareanDelivery : ICD10.spontaneousDelivery, delivery, delivery, encounter, delivery);
    this.procedure(visit, encounter, delivery, caesarean ? PROCEDURE.caesarean : PROCEDURE.delivery, obstetrician, centre, `Condition/${conditionId}`);
  }

  /** Tuberculosis: about 50 new cases per 100,000 a year, treated at the regional TB centre. */
  private planTuberculosis(): void {
    const person = this.person;
    const years = (LAST_DAY - this.firstDay) / 365.25;
    const age = this.age(LAST_DAY);
    if (!this.random.chance(years * (age >= 15 && age < 65 ? 0.0006 : 0.0003))) return;
    const day = this.firstDay + this.random.int(LAST_DAY - this.firstDay + 1);
    const centre = person.region.tbDispensary;
    const phthisiatrician = centre.staff[0];
    const smearPositive = this.random.chance(0.6);
    const form = smearPositive ? ICD10.tbSmearPositive : weightedPick<CodeableConcept>(this.random, [[ICD10.tbUnconfirmed, 85], [ICD10.tbBone, 9], [ICD10.tbMiliary, 6]])[0];
    const conditionRef = `Condition/${this.random.uuid()}`;
    const cured = day + 180;
    const diagnosis = this.visit(day, 0);
    const encounter = this.encounter(diagnosis, day, this.minute(), 'AMB', ENCOUNTER_TYPE.problem, centre, phthisiatrician, { diagnosis: conditionRef });
    this.condition(diagnosis, conditionRef.slice('Condition/'.length), form, day - this.random.int(60), day, encounter, cured);
    this.labReport(diagnosis, encounter, day, LAB_PANEL.tuberculosis, [
      { code: LAB.sputumSmear, valueCodeableConcept: smearPositive ? FINDING.positive : FINDING.negative },
      { code: LAB.mtbDna, valueCodeableConcept: smearPositive || this.random.chance(0.5) ? FINDING.detected : FINDING.notDetected },
    ]);
    this.imaging(diagnosis, encounter, day, PROCEDURE.chestXray, MODALITY.DX, BODY_SITE.chest, this.random.pick(person.region.imagingCentres), conditionRef);

    // Intensive phase in hospital, then continuation phase as an outpatient.
    const admission = day + this.random.between(1, 5);
    if (admission > LAST_DAY) return;
    const inpatient = this.visit(admission, 0);
    const stay = this.random.between(45, 60);
    const stayEncounter = this.encounter(inpatient, admission, this.minute(), 'IMP', ENCOUNTER_TYPE.admission, centre, phthisiatrician, { conditions: [conditionRef] }, stay);
    this.prescribe(inpatient, stayEncounter, admission, DRUG.tbIntensive, conditionRef, phthisiatrician, 60);
    for (const month of [2, 5, 6]) {
      const followUp = day + month * 30;
      if (followUp > LAST_DAY) break;
      const visit = this.visit(followUp, 1);
      const encounter = this.encounter(visit, followUp, this.minute(), 'AMB', ENCOUNTER_TYPE.followUp, centre, phthisiatrician, { conditions: [conditionRef] });
      this.labReport(visit, encounter, followUp, LAB_PANEL.tuberculosis, [{ code: LAB.sputumSmear, valueCodeableConcept: FINDING.negative }]);
      if (month === 2) this.prescribe(visit, encounter, followUp, DRUG.tbContinuation, conditionRef, phthisiatrician, 120);
    }
  }

  private planCancer(): void {
    const person = this.person;
    const age = this.age(LAST_DAY);
    const years = (LAST_DAY - this.firstDay) / 365.25;
    if (!this.random.chance(years * (age < 40 ? 0.0002 : age < 60 ? 0.002 : 0.005))) return;
    const female = person.sex === 'female';
    const [code] = weightedPick(
      this.random,
      female
        ? [[ICD10.breastCancer, 45], [ICD10.colonCancer, 20], [ICD10.stomachCancer, 15], [ICD10.lungCancer, 10]]
        : [[ICD10.lungCancer, 40], [ICD10.stomachCancer, 30], [ICD10.colonCancer, 30]],
    );
    const day = this.firstDay + this.random.int(LAST_DAY - this.firstDay + 1);
    const centre = person.region.oncologyCentre;
    const oncologist = centre.staff[0];
    const conditionRef = `Condition/${this.random.uuid()}`;
    const visit = this.visit(day, 0);
    const encounter = this.encounter(visit, day, this.minute(), 'AMB', ENCOUNTER_TYPE.problem, centre, oncologist, { diagnosis: conditionRef });
    this.condition(visit, conditionRef.slice('Condition/'.length), code, day - this.random.int(30), day, encounter, undefined, true);
    if (code === ICD10.breastCancer) {
      this.imaging(visit, encounter, day, PROCEDURE.mammography, MODALITY.MG, BODY_SITE.breast, centre, conditionRef);
    } else {
      this.imaging(visit, encounter, day, PROCEDURE.chestCt, MODALITY.CT, BODY_SITE.chest, centre, conditionRef);
      if (code === ICD10.colonCancer) this.procedure(visit, encounter, day, PROCEDURE.colonoscopy, oncologist, centre, conditionRef);
    }
    this.labReport(visit, encounter, day, LAB_PANEL.bloodCount, this.bloodCount());
    const treatment = day + this.random.between(10, 30);
    if (treatment > LAST_DAY) return;
    const stayVisit = this.visit(treatment, 0);
    const stay = this.random.between(7, 14);
    const stayEncounter = this.encounter(stayVisit, treatment, this.minute(), 'IMP', ENCOUNTER_TYPE.admission, centre, oncologist, { conditions: [conditionRef] }, stay);
    const drug = code === ICD10.breastCancer ? DRUG.tamoxifen : code === ICD10.lungCancer ? DRUG.carboplatin : DRUG.capecitabine;
    this.prescribe(stayVisit, stayEncounter, treatment, drug, conditionRef, oncologist, 180);
    for (let followUp = treatment + 90; followUp <= LAST_DAY && followUp < treatment + 720; followUp += 90 + this.random.int(60)) {
      const visit = this.visit(followUp, 1);
      const encounter = this.encounter(visit, followUp, this.minute(), 'AMB', ENCOUNTER_TYPE.followUp, centre, oncologist, { conditions: [conditionRef] });
      this.labReport(visit, encounter, followUp, LAB_PANEL.bloodCount, this.bloodCount());
    }
  }

  /** Appendectomy (young people) and cholecystectomy (older women), the commonest emergency and planned operations. */
  private planSurgery(): void {
    const person = this.person;
    const years = (LAST_DAY - this.firstDay) / 365.25;
    const age = this.age(LAST_DAY);
    const appendicitis = age >= 8 && age < 45 && this.random.chance(years * 0.001);
    const gallstones = person.sex === 'female' && age >= 40 && this.random.chance(years * 0.002);
    if (!appendicitis && !gallstones) return;
    const day = this.firstDay + this.random.int(LAST_DAY - this.firstDay + 1);
    const hospital = this.random.pick(person.region.hospitals);
    const surgeon = hospital.staff.find((s) => s.post === 'surgeon') ?? hospital.staff[0];
    const conditionId = this.random.uuid();
    const visit = this.visit(day, 0);
    const stay = this.random.between(3, 7);
    const encounter = this.encounter(visit, day, this.minute(), 'IMP', ENCOUNTER_TYPE.admission, hospital, surgeon, { diagnosis: `Condition/${conditionId}` }, stay, appendicitis);
    this.condition(visit, conditionId, appendicitis ? APPENDICITIS : GALLSTONES, day - (appendicitis ? 1 : 200), day, encounter, day + stay);
    this.procedure(visit, encounter, day, appendicitis ? PROCEDURE.appendectomy : PROCEDURE.cholecystectomy, surgeon, hospital, `Condition/${conditionId}`);
    this.labReport(visit, encounter, day, LAB_PANEL.bloodCount, this.bloodCount());
  }
}

function weightedPick<T>(random: Random, options: [T, number][]): [T, number] {
  let total = 0;
  for (const [, weight] of options) total += weight;
  let x = random.next() * total;
  for (const option of options) {
    x -= option[1];
    if (x < 0) return option;
  }
  return options[options.length - 1];
}

/** Height by age: WHO-like growth to the adult height by 17. */
function heightAt(age: number, adultHeight: number): number {
  if (age < 1) return 50 + 25 * age;
  if (age < 2) return 75 + 12 * (age - 1);
  if (age < 17) return 87 + ((adultHeight - 87) * (age - 2)) / 15;
  return adultHeight;
}

/** BMI by age: about 16 in childhood, rising to the adult value by 25 and a little after 40. */
function bmiAt(age: number, adultBmi: number): number {
  if (age < 10) return 16;
  if (age < 25) return 16 + ((adultBmi - 3 - 16) * (age - 10)) / 15;
  if (age < 45) return adultBmi - 3 + (3 * (age - 25)) / 20;
  return adultBmi;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
