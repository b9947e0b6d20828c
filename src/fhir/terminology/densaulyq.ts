import { type BundledCodeSystem, c } from './model.js';

/**
 * Densaulyq's own placeholder code systems (src/synth/codes.ts), whole. Their codes are written
 * with the Russian name as display, as Kazakhstan's registries print them; the English display
 * here is this server's.
 */
export const DENSAULYQ_CODE_SYSTEMS: readonly BundledCodeSystem[] = [
  {
    id: 'facility-type',
    url: 'http://densaulyq.kz/fhir/CodeSystem/facility-type',
    name: 'FacilityType',
    title: 'Kinds of health facility in Kazakhstan',
    publisher: 'Densaulyq',
    caseSensitive: true,
    complete: true,
    concepts: [
      c('ministry', undefined, 'Ministry of Health', 'Министерство здравоохранения', 'Денсаулық сақтау министрлігі'),
      c('health-department', undefined, 'Regional health department', 'Управление здравоохранения', 'Денсаулық сақтау басқармасы'),
      c('polyclinic', undefined, 'Polyclinic', 'Поликлиника', 'Емхана'),
      c('hospital', undefined, 'Hospital', 'Больница', 'Аурухана'),
      c('tb-dispensary', undefined, 'Phthisiopulmonology centre', 'Центр фтизиопульмонологии', 'Фтизиопульмонология орталығы'),
      c('oncology-centre', undefined, 'Oncology centre', 'Онкологический центр', 'Онкологиялық орталық'),
      c('perinatal-centre', undefined, 'Perinatal centre', 'Перинатальный центр', 'Перинаталдық орталық'),
      c('fap', undefined, 'Feldsher-midwife post', 'Фельдшерско-акушерский пункт', 'Фельдшерлік-акушерлік пункт'),
      c('laboratory', undefined, 'Laboratory', 'Лаборатория', 'Зертхана'),
      c('imaging-centre', undefined, 'Diagnostic imaging centre', 'Центр лучевой диагностики', 'Сәулелік диагностика орталығы'),
      c('pharmacy', undefined, 'Pharmacy', 'Аптека', 'Дәріхана'),
    ],
  },
  {
    id: 'practitioner-position',
    url: 'http://densaulyq.kz/fhir/CodeSystem/practitioner-position',
    name: 'PractitionerPosition',
    title: 'Positions of health workers that HL7 practitioner roles lack',
    publisher: 'Densaulyq',
    caseSensitive: true,
    complete: true,
    concepts: [c('feldsher', undefined, 'Feldsher', 'Фельдшер', 'Фельдшер')],
  },
];
