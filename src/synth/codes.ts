import type { CodeableConcept, Coding, Dosage, Quantity } from '@medplum/fhirtypes';

/**
 * Terminology the generator writes, built once as shared frozen-by-convention
 * objects: resources reference them instead of allocating a concept each time.
 */

export const SYSTEM = {
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
  icd10: 'http://hl7.org/fhir/sid/icd-10',
  atc: 'http://www.whocc.no/atc',
  cvx: 'http://hl7.org/fhir/sid/cvx',
  snomed: 'http://snomed.info/sct',
  dicom: 'http://dicom.nema.org/resources/ontology/DCM',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  /** Placeholder national code system for facility kinds, like the IIN identifier system. */
  facilityType: 'http://densaulyq.kz/fhir/CodeSystem/facility-type',
  /** Placeholder national code system for positions that HL7's practitioner-role codes lack (feldsher). */
  position: 'http://densaulyq.kz/fhir/CodeSystem/practitioner-position',
  /** Placeholder national identifier system for business identification numbers. */
  bin: 'http://densaulyq.kz/fhir/sid/bin',
} as const;

export function concept(system: string, code: string, display: string, text?: string): CodeableConcept {
  const coding: Coding = { system, code, display };
  return text === undefined ? { coding: [coding] } : { coding: [coding], text };
}

export function quantity(value: number, unit: string): Quantity {
  return { value, unit, system: SYSTEM.ucum, code: unit };
}

export const ENCOUNTER_CLASS = {
  AMB: { system: SYSTEM.actCode, code: 'AMB', display: 'ambulatory' },
  IMP: { system: SYSTEM.actCode, code: 'IMP', display: 'inpatient encounter' },
  EMER: { system: SYSTEM.actCode, code: 'EMER', display: 'emergency' },
  VR: { system: SYSTEM.actCode, code: 'VR', display: 'virtual' },
} satisfies Record<string, Coding>;

const snomed = (code: string, display: string): CodeableConcept[] => [concept(SYSTEM.snomed, code, display)];

export const ENCOUNTER_TYPE = {
  checkup: snomed('185349003', 'Encounter for check up'),
  problem: snomed('185347001', 'Encounter for problem'),
  followUp: snomed('390906007', 'Follow-up encounter'),
  emergency: snomed('50849002', 'Emergency room admission'),
  admission: snomed('32485007', 'Hospital admission'),
  telemedicine: snomed('448337001', 'Telemedicine consultation with patient'),
  prenatal: snomed('424619006', 'Prenatal visit'),
  vaccination: snomed('33879002', 'Administration of vaccine to produce active immunity'),
};

export const CATEGORY = {
  vitalSigns: [concept('http://terminology.hl7.org/CodeSystem/observation-category', 'vital-signs', 'Vital Signs')],
  laboratory: [concept('http://terminology.hl7.org/CodeSystem/observation-category', 'laboratory', 'Laboratory')],
  labReport: [concept('http://terminology.hl7.org/CodeSystem/v2-0074', 'LAB', 'Laboratory')],
  encounterDiagnosis: [
    concept('http://terminology.hl7.org/CodeSystem/condition-category', 'encounter-diagnosis', 'Encounter Diagnosis'),
  ],
  problemListItem: [
    concept('http://terminology.hl7.org/CodeSystem/condition-category', 'problem-list-item', 'Problem List Item'),
  ],
};

export const CONDITION_STATUS = {
  active: concept('http://terminology.hl7.org/CodeSystem/condition-clinical', 'active', 'Active'),
  resolved: concept('http://terminology.hl7.org/CodeSystem/condition-clinical', 'resolved', 'Resolved'),
  remission: concept('http://terminology.hl7.org/CodeSystem/condition-clinical', 'remission', 'Remission'),
  confirmed: concept('http://terminology.hl7.org/CodeSystem/condition-ver-status', 'confirmed', 'Confirmed'),
};

const icd = (code: string, display: string): CodeableConcept => concept(SYSTEM.icd10, code, display);

/** ICD-10 (WHO) diagnoses, as Kazakhstan codes them. */
export const ICD10 = {
  hypertension: icd('I10', 'Essential (primary) hypertension'),
  diabetes: icd('E11.9', 'Type 2 diabetes mellitus without complications'),
  ischaemicHeart: icd('I25.1', 'Atherosclerotic heart disease'),
  anaemia: icd('D50.9', 'Iron deficiency anaemia, unspecified'),
  asthma: icd('J45.9', 'Asthma, unspecified'),
  tbSmearPositive: icd('A15.0', 'Tuberculosis of lung, confirmed by sputum microscopy with or without culture'),
  tbUnconfirmed: icd('A16.2', 'Tuberculosis of lung, without mention of bacteriological or histological confirmation'),
  tbBone: icd('A18.0', 'Tuberculosis of bones and joints'),
  tbMiliary: icd('A19.9', 'Miliary tuberculosis, unspecified'),
  breastCancer: icd('C50.9', 'Malignant neoplasm: Breast, unspecified'),
  lungCancer: icd('C34.1', 'Malignant neoplasm: Upper lobe, bronchus or lung'),
  stomachCancer: icd('C16.9', 'Malignant neoplasm: Stomach, unspecified'),
  colonCancer: icd('C18.9', 'Malignant neoplasm: Colon, unspecified'),
  covidConfirmed: icd('U07.1', 'COVID-19, virus identified'),
  covidClinical: icd('U07.2', 'COVID-19, virus not identified'),
  firstPregnancy: icd('Z34.0', 'Supervision of normal first pregnancy'),
  laterPregnancy: icd('Z34.8', 'Supervision of other normal pregnancy'),
  spontaneousDelivery: icd('O80', 'Single spontaneous delivery'),
  caesareanDelivery: icd('O82', 'Single delivery by caesarean section'),
  upperRespiratory: icd('J06.9', 'Acute upper respiratory infection, unspecified'),
  pharyngitis: icd('J02.9', 'Acute pharyngitis, unspecified'),
  bronchitis: icd('J20.9', 'Acute bronchitis, unspecified'),
  pneumonia: icd('J18.9', 'Pneumonia, unspecified'),
  gastroenteritis: icd('A09.9', 'Gastroenteritis and colitis of unspecified origin'),
  otitis: icd('H66.9', 'Otitis media, unspecified'),
  backPain: icd('M54.5', 'Low back pain'),
  gastritis: icd('K29.7', 'Gastritis, unspecified'),
  adultExamination: icd('Z00.0', 'General medical examination'),
  childExamination: icd('Z00.1', 'Routine child health examination'),
};

const loinc = (code: string, display: string): CodeableConcept => concept(SYSTEM.loinc, code, display);

/** Vital signs as the R4 vital-signs profile codes them. */
export const VITAL = {
  bloodPressure: loinc('85354-9', 'Blood pressure panel with all children optional'),
  systolic: loinc('8480-6', 'Systolic blood pressure'),
  diastolic: loinc('8462-4', 'Diastolic blood pressure'),
  heartRate: loinc('8867-4', 'Heart rate'),
  weight: loinc('29463-7', 'Body weight'),
  height: loinc('8302-2', 'Body height'),
  bmi: loinc('39156-5', 'Body mass index (BMI) [Ratio]'),
  temperature: loinc('8310-5', 'Body temperature'),
};

/**
 * Laboratory tests in the units Kazakhstan's laboratories report (SI).
 * Molar results take LOINC's [Moles/volume] codes: 2345-7, 2160-0 and 2093-3
 * are the [Mass/volume] (mg/dL) variants and would mislabel mmol/L values.
 */
export const LAB = {
  glucose: loinc('14749-6', 'Glucose [Moles/volume] in Serum or Plasma'),
  hba1c: loinc('4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood'),
  creatinine: loinc('14682-9', 'Creatinine [Moles/volume] in Serum or Plasma'),
  haemoglobin: loinc('718-7', 'Hemoglobin [Mass/volume] in Blood'),
  leukocytes: loinc('6690-2', 'Leukocytes [#/volume] in Blood by Automated count'),
  cholesterol: loinc('14647-2', 'Cholesterol [Moles/volume] in Serum or Plasma'),
  sputumSmear: loinc('11545-1', 'Microscopic observation [Identifier] in Sputum by Acid fast stain'),
  mtbDna: loinc('38379-4', 'Mycobacterium tuberculosis complex DNA [Presence] in Specimen by NAA with probe detection'),
  sarsCov2Rna: loinc('94500-6', 'SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA with probe detection'),
};

export const LAB_PANEL = {
  bloodCount: loinc('58410-2', 'CBC panel - Blood by Automated count'),
  chemistry: { ...loinc('11502-2', 'Laboratory report'), text: 'Биохимический анализ крови' },
  tuberculosis: { ...loinc('11502-2', 'Laboratory report'), text: 'Исследование мокроты на туберкулёз' },
};

export const FINDING = {
  positive: concept(SYSTEM.snomed, '10828004', 'Positive'),
  negative: concept(SYSTEM.snomed, '260385009', 'Negative'),
  detected: concept(SYSTEM.snomed, '260373001', 'Detected'),
  notDetected: concept(SYSTEM.snomed, '260415000', 'Not detected'),
};

export const INTERPRETATION = {
  high: [concept('http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', 'H', 'High')],
  low: [concept('http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', 'L', 'Low')],
  normal: [concept('http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', 'N', 'Normal')],
};

export const PROCEDURE = {
  chestXray: concept(SYSTEM.snomed, '399208008', 'Plain chest X-ray', 'Флюорография'),
  ecg: concept(SYSTEM.snomed, '29303009', 'Electrocardiographic procedure'),
  mammography: concept(SYSTEM.snomed, '71651007', 'Mammography'),
  colonoscopy: concept(SYSTEM.snomed, '73761001', 'Colonoscopy'),
  appendectomy: concept(SYSTEM.snomed, '80146002', 'Appendectomy'),
  cholecystectomy: concept(SYSTEM.snomed, '38102005', 'Cholecystectomy'),
  caesarean: concept(SYSTEM.snomed, '11466000', 'Cesarean section'),
  delivery: concept(SYSTEM.snomed, '236973005', 'Delivery procedure'),
  chestCt: concept(SYSTEM.snomed, '169069000', 'Computed tomography of chest'),
  obstetricUltrasound: concept(SYSTEM.snomed, '268445003', 'Ultrasound scan - obstetric'),
};

export const MODALITY = {
  DX: { system: SYSTEM.dicom, code: 'DX', display: 'Digital Radiography' },
  MG: { system: SYSTEM.dicom, code: 'MG', display: 'Mammography' },
  CT: { system: SYSTEM.dicom, code: 'CT', display: 'Computed Tomography' },
  US: { system: SYSTEM.dicom, code: 'US', display: 'Ultrasound' },
} satisfies Record<string, Coding>;

export const BODY_SITE = {
  chest: { system: SYSTEM.snomed, code: '51185008', display: 'Thoracic structure' },
  breast: { system: SYSTEM.snomed, code: '76752008', display: 'Breast structure' },
  uterus: { system: SYSTEM.snomed, code: '35039007', display: 'Uterine structure' },
} satisfies Record<string, Coding>;

export interface Drug {
  code: CodeableConcept;
  /** Shared dosage instruction; Russian text as prescriptions in Kazakhstan print it. */
  dosage: Dosage[];
}

const drug = (
  code: string,
  display: string,
  dose: number,
  unit: string,
  perDay: number,
  text: string,
  asNeeded = false,
): Drug => ({
  code: concept(SYSTEM.atc, code, display),
  dosage: [
    {
      sequence: 1,
      text,
      timing: { repeat: { frequency: perDay, period: 1, periodUnit: 'd' } },
      ...(asNeeded ? { asNeededBoolean: true } : {}),
      doseAndRate: [{ doseQuantity: quantity(dose, unit) }],
    },
  ],
});

/** Medicines by ATC code (WHO Collaborating Centre), the classification of Kazakhstan's formulary. */
export const DRUG = {
  metformin: drug('A10BA02', 'metformin', 1000, 'mg', 2, 'По 1000 мг 2 раза в день во время еды'),
  gliclazide: drug('A10BB09', 'gliclazide', 60, 'mg', 1, 'По 60 мг 1 раз в день утром'),
  enalapril: drug('C09AA02', 'enalapril', 10, 'mg', 2, 'По 10 мг 2 раза в день'),
  amlodipine: drug('C08CA01', 'amlodipine', 5, 'mg', 1, 'По 5 мг 1 раз в день'),
  indapamide: drug('C03BA11', 'indapamide', 2.5, 'mg', 1, 'По 2,5 мг 1 раз в день утром'),
  atorvastatin: drug('C10AA05', 'atorvastatin', 20, 'mg', 1, 'По 20 мг 1 раз в день вечером'),
  aspirin: drug('B01AC06', 'acetylsalicylic acid', 75, 'mg', 1, 'По 75 мг 1 раз в день после еды'),
  bisoprolol: drug('C07AB07', 'bisoprolol', 5, 'mg', 1, 'По 5 мг 1 раз в день'),
  ferrousSulfate: drug('B03AA07', 'ferrous sulfate', 100, 'mg', 1, 'По 100 мг железа 1 раз в день'),
  folicAcid: drug('B03BB01', 'folic acid', 400, 'ug', 1, 'По 400 мкг 1 раз в день'),
  salbutamol: drug('R03AC02', 'salbutamol', 200, 'ug', 4, 'По 2 вдоха (200 мкг) при приступе', true),
  amoxicillin: drug('J01CA04', 'amoxicillin', 500, 'mg', 3, 'По 500 мг 3 раза в день 7 дней'),
  paracetamol: drug('N02BE01', 'paracetamol', 500, 'mg', 4, 'По 500 мг при температуре выше 38,5 °C', true),
  dexamethasone: drug('H02AB02', 'dexamethasone', 6, 'mg', 1, 'По 6 мг 1 раз в день 10 дней'),
  enoxaparin: drug('B01AB05', 'enoxaparin', 40, 'mg', 1, 'По 40 мг подкожно 1 раз в день'),
  tbIntensive: drug(
    'J04AM06',
    'rifampicin, pyrazinamide, ethambutol and isoniazid',
    4,
    '{tbl}',
    1,
    'По 4 таблетки 1 раз в день натощак, интенсивная фаза 2 месяца',
  ),
  tbContinuation: drug(
    'J04AM02',
    'rifampicin and isoniazid',
    3,
    '{tbl}',
    1,
    'По 3 таблетки 1 раз в день, фаза продолжения 4 месяца',
  ),
  tamoxifen: drug('L02BA01', 'tamoxifen', 20, 'mg', 1, 'По 20 мг 1 раз в день'),
  capecitabine: drug('L01BC06', 'capecitabine', 1500, 'mg', 2, 'По 1500 мг 2 раза в день, 14 дней из 21'),
  carboplatin: drug('L01XA02', 'carboplatin', 450, 'mg', 1, '450 мг внутривенно капельно, 1 раз в 21 день'),
};

/** A vaccine coded both ways: ATC, as the formulary lists it, and CVX, as immunization registries exchange it. */
export function vaccine(atc: string, atcDisplay: string, cvx: string, cvxDisplay: string, text: string): CodeableConcept {
  return {
    coding: [
      { system: SYSTEM.atc, code: atc, display: atcDisplay },
      { system: SYSTEM.cvx, code: cvx, display: cvxDisplay },
    ],
    text,
  };
}
