/**
 * Molar masses (g/mol, PubChem) of the analytes that laboratories report in mass units in one
 * place and molar units in another (glucose in mg/dL or mmol/L), by the LOINC codes of either
 * form, so a series can be put in one unit. UCUM alone cannot convert grams to moles.
 */
const ANALYTES: readonly { molarMass: number; loinc: readonly string[] }[] = [
  // Glucose: blood, serum/plasma and capillary, mass and moles per volume.
  { molarMass: 180.156, loinc: ['2339-0', '2345-7', '41653-7', '1558-6', '15074-8', '14749-6', '14743-9', '14771-0'] },
  // Cholesterol: total, HDL, LDL.
  { molarMass: 386.654, loinc: ['2093-3', '14647-2', '2085-9', '14646-4', '2089-1', '13457-7', '22748-8', '39469-2'] },
  // Triglycerides, as triolein (the conventional 88.5 mg/dL per mmol/L).
  { molarMass: 885.43, loinc: ['2571-8', '14927-8'] },
  // Creatinine, serum/plasma.
  { molarMass: 113.12, loinc: ['2160-0', '14682-9'] },
  // Uric acid.
  { molarMass: 168.11, loinc: ['3084-1', '14933-6'] },
  // Total bilirubin.
  { molarMass: 584.66, loinc: ['1975-2', '14631-6'] },
  // Calcium.
  { molarMass: 40.078, loinc: ['17861-6', '2000-8'] },
];

const BY_CODE = new Map(ANALYTES.flatMap(({ molarMass, loinc }) => loinc.map((code) => [code, molarMass] as const)));

/** The molar mass of the analyte a LOINC code measures, when it is one of those above. */
export function molarMassOf(loincCode: string): number | undefined {
  return BY_CODE.get(loincCode);
}
