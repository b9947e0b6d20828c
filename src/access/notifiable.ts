/**
 * Notifiable conditions a public-health officer sees, by code: ICD-10 categories (prefixes, so
 * `A15` covers `A15.0`) and the SNOMED CT concepts Synthea-style records use. The list follows
 * the infectious threats the Ministry names (COVID-19, tuberculosis) and the usual mandatory
 * reporting set (measles, viral hepatitis, plague, cholera, anthrax, brucellosis, diphtheria,
 * meningococcal disease, poliomyelitis, rabies, typhoid, tularemia, Crimean-Congo fever).
 */
export const NOTIFIABLE_ICD10_PREFIXES: readonly string[] = [
  'U07', // COVID-19
  'A15', 'A16', 'A17', 'A18', 'A19', // tuberculosis
  'B05', // measles
  'B15', 'B16', 'B17', // viral hepatitis A, B, other acute
  'A20', // plague
  'A00', // cholera
  'A22', // anthrax
  'A23', // brucellosis
  'A36', // diphtheria
  'A39', // meningococcal infection
  'A80', // acute poliomyelitis
  'A82', // rabies
  'A01', // typhoid and paratyphoid
  'A21', // tularemia
  'A98', // Crimean-Congo haemorrhagic fever and other viral haemorrhagic fevers
];

export const NOTIFIABLE_SNOMED_CODES: readonly string[] = [
  '840539006', // COVID-19
  '56717001', // tuberculosis
  '154283005', // pulmonary tuberculosis
  '14189004', // measles
  '66071002', // viral hepatitis type B
  '40468003', // viral hepatitis type A
];
