import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import type { Locale, Translated } from '../fhir/locale.js';
import { codeDisplay } from '../fhir/terminology/display.js';

/**
 * Kazakhstan's national calendar of preventive vaccinations: the schedule of Resolution No. 612 of
 * the Government of the Republic of Kazakhstan of 24 September 2020 ("the list of diseases against
 * which mandatory preventive vaccinations are made within the guaranteed volume of free medical
 * care, the rules and terms of vaccination and the groups subject to it",
 * https://adilet.zan.kz/rus/docs/P2000000612, as amended by Resolution No. 173 of 30 March 2021),
 * with vaccination of 11-year-old girls against HPV, two doses six months apart, from September 2024.
 * The official table was not retrievable here: the ages below are the calendar as the Ministry's
 * public pages and the platform's generator (src/synth/care.ts) state it, and where the calendar
 * gives no minimum age or interval they are WHO's (https://www.who.int/teams/immunization-vaccines-and-biologicals/policies/who-recommendations-for-routine-immunization---summary-tables,
 * Table 3, interrupted or delayed immunization). Doses the calendar gives only on a condition the
 * record does not hold (BCG revaccination after a negative tuberculin test, risk groups) are not
 * forecast.
 *
 * The calendar names a product per visit (the hexavalent АбКДС-ВГВ-Hib-ИПВ at 2 and 4 months, the
 * pentavalent АбКДС-Hib-ИПВ at 3 and 18 months…); doses are counted per antigen series, as the
 * HL7 ImmDS forecast counts them (https://hl7.org/fhir/us/immds/), so a pentavalent given instead
 * of a hexavalent still counts for diphtheria, pertussis, tetanus, polio and Hib, not hepatitis B.
 */

/** An age, or an interval, as the calendar writes it: whole years, months and days. */
export interface Age {
  readonly years?: number;
  readonly months?: number;
  readonly days?: number;
}

/** One dose of a series as the calendar schedules it. */
export interface ScheduledDose {
  /** The calendar's age for the dose: it is due from then. */
  readonly age: Age;
  /** The age from which the dose is overdue: the end of the calendar's window ("1–4 days", "12–15 months"), else a month after a month's age and a year after a year's. */
  readonly overdueAge: Age;
  /** The youngest age at which a dose counts. */
  readonly minimumAge: Age;
  /** The least time after the series' previous valid dose for this one to count. */
  readonly minimumInterval?: Age;
  /** The time after the previous dose the calendar gives this one at, when it states one (HPV: six months); else the minimum. */
  readonly interval?: Age;
  /** The product the calendar gives this dose with (a key of VACCINES). */
  readonly vaccine: VaccineKey;
}

/** A series of doses against one disease (or a group always given together). */
export interface Series {
  /** A stable name for the series, the ImmunizationRecommendation's `series`. */
  readonly id: SeriesId;
  readonly name: Translated;
  /** The diseases it prevents, SNOMED CT (the IPS and ImmDS target-disease value sets use these). */
  readonly targetDisease: readonly Coding[];
  readonly doses: readonly ScheduledDose[];
  /** The age from which the calendar no longer gives a missing dose: it is not applicable any more. */
  readonly maximumAge?: Age;
  /** Only for this sex (HPV: girls). */
  readonly gender?: 'female';
  /** A booster repeated for life at this interval after the series' last dose (Td every ten years). */
  readonly repeatEvery?: Age;
}

export type SeriesId = 'hepb' | 'bcg' | 'dtp' | 'polio' | 'hib' | 'pcv' | 'mmr' | 'hepa' | 'hpv' | 'td';

const CVX = 'http://hl7.org/fhir/sid/cvx';
const ATC = 'http://www.whocc.no/atc';
const SNOMED = 'http://snomed.info/sct';

/**
 * A vaccine the record may hold: its CVX code (what immunization registries exchange and the
 * generator writes), its ATC J07 code (how the formulary lists it), the abbreviation Kazakhstan's
 * documents use and the series each dose of it counts for.
 */
export interface Vaccine {
  readonly cvx: string;
  readonly atc?: string;
  readonly abbreviation: Translated;
  readonly series: readonly SeriesId[];
}

const same = (text: string): Translated => ({ kk: text, ru: text, en: text });

/** The vaccines of the calendar, and the other products of the same antigens a record may hold instead. */
export const VACCINES = {
  hepB: { cvx: '08', atc: 'J07BC01', abbreviation: { kk: 'ВГВ', ru: 'ВГВ', en: 'HepB' }, series: ['hepb'] },
  hepBAdult: { cvx: '43', abbreviation: { kk: 'ВГВ', ru: 'ВГВ', en: 'HepB' }, series: ['hepb'] },
  bcg: { cvx: '19', atc: 'J07AN01', abbreviation: { kk: 'БЦЖ', ru: 'БЦЖ', en: 'BCG' }, series: ['bcg'] },
  hexavalent: { cvx: '146', atc: 'J07CA09', abbreviation: { kk: 'АбКДС-ВГВ-Hib-ИПВ', ru: 'АбКДС-ВГВ-Hib-ИПВ', en: 'DTaP-HepB-Hib-IPV' }, series: ['dtp', 'polio', 'hib', 'hepb'] },
  pentavalent: { cvx: '120', atc: 'J07CA06', abbreviation: { kk: 'АбКДС-Hib-ИПВ', ru: 'АбКДС-Hib-ИПВ', en: 'DTaP-Hib-IPV' }, series: ['dtp', 'polio', 'hib'] },
  dtapIpv: { cvx: '130', atc: 'J07CA02', abbreviation: { kk: 'АбКДС-ИПВ', ru: 'АбКДС-ИПВ', en: 'DTaP-IPV' }, series: ['dtp', 'polio'] },
  dtap: { cvx: '20', abbreviation: { kk: 'АбКДС', ru: 'АбКДС', en: 'DTaP' }, series: ['dtp'] },
  ipv: { cvx: '10', abbreviation: { kk: 'ИПВ', ru: 'ИПВ', en: 'IPV' }, series: ['polio'] },
  hib: { cvx: '49', abbreviation: same('Hib'), series: ['hib'] },
  pcv13: { cvx: '133', atc: 'J07AL02', abbreviation: { kk: 'ПКВ', ru: 'ПКВ', en: 'PCV13' }, series: ['pcv'] },
  mmr: { cvx: '03', atc: 'J07BD52', abbreviation: { kk: 'ҚҚП', ru: 'ККП', en: 'MMR' }, series: ['mmr'] },
  hepA: { cvx: '83', atc: 'J07BC02', abbreviation: { kk: 'ВГА', ru: 'ВГА', en: 'HepA' }, series: ['hepa'] },
  hepAAdult: { cvx: '52', abbreviation: { kk: 'ВГА', ru: 'ВГА', en: 'HepA' }, series: ['hepa'] },
  hpv: { cvx: '62', atc: 'J07BM01', abbreviation: { kk: 'АПВ', ru: 'ВПЧ', en: 'HPV' }, series: ['hpv'] },
  td: { cvx: '09', atc: 'J07AM51', abbreviation: { kk: 'АДС-М', ru: 'АДС-М', en: 'Td' }, series: ['td'] },
  tdPreservativeFree: { cvx: '113', abbreviation: { kk: 'АДС-М', ru: 'АДС-М', en: 'Td' }, series: ['td'] },
} as const satisfies Record<string, Vaccine>;

export type VaccineKey = keyof typeof VACCINES;

const disease = (code: string, display: string): Coding => ({ system: SNOMED, code, display });

const days = (n: number): Age => ({ days: n });
const weeks = (n: number): Age => ({ days: 7 * n });
const months = (n: number): Age => ({ months: n });
const years = (n: number): Age => ({ years: n });

/** A dose at `age` months, overdue a month later. */
function atMonths(age: number, vaccine: VaccineKey, minimumAge: Age, minimumInterval?: Age): ScheduledDose {
  return { age: months(age), overdueAge: months(age + 1), minimumAge, vaccine, ...(minimumInterval ? { minimumInterval } : {}) };
}

/** A dose at `age` years ("in the first grade", "at 16"), overdue once that year of age is over. */
function atYears(age: number, vaccine: VaccineKey, minimumAge: Age, minimumInterval?: Age): ScheduledDose {
  return { age: years(age), overdueAge: years(age + 1), minimumAge, vaccine, ...(minimumInterval ? { minimumInterval } : {}) };
}

/** The first dose of a newborn, "1–4 days" of life: due at birth, overdue from the fifth day. */
const newborn = (vaccine: VaccineKey): ScheduledDose => ({ age: days(0), overdueAge: days(5), minimumAge: days(0), vaccine });

/**
 * The diphtheria-pertussis-tetanus and polio series share the calendar's five visits: the
 * hexavalent and pentavalent vaccines at 2, 3, 4 and 18 months, АбКДС-ИПВ in the first grade.
 * Pertussis-containing vaccines are not given from 7 years (WHO); the Td booster at 16 follows.
 */
const DTP_POLIO_DOSES: readonly ScheduledDose[] = [
  atMonths(2, 'hexavalent', weeks(6)),
  atMonths(3, 'pentavalent', weeks(10), weeks(4)),
  atMonths(4, 'hexavalent', weeks(14), weeks(4)),
  atMonths(18, 'pentavalent', months(12), months(6)),
  atYears(6, 'dtapIpv', years(4), months(6)),
];

/** The calendar's series, in the order the app lists them: by the age of their first dose. */
export const NATIONAL_CALENDAR: readonly Series[] = [
  {
    id: 'hepb',
    name: { kk: 'В вирусты гепатиті', ru: 'Вирусный гепатит B', en: 'Hepatitis B' },
    targetDisease: [disease('66071002', 'Viral hepatitis type B')],
    doses: [newborn('hepB'), atMonths(2, 'hexavalent', weeks(6), weeks(4)), atMonths(4, 'hexavalent', weeks(14), weeks(4))],
    maximumAge: years(18),
  },
  {
    id: 'bcg',
    name: { kk: 'Туберкулез', ru: 'Туберкулёз', en: 'Tuberculosis' },
    targetDisease: [disease('56717001', 'Tuberculosis')],
    doses: [newborn('bcg')],
    // Past infancy BCG is given only after a negative tuberculin test, which the forecast cannot know.
    maximumAge: years(1),
  },
  {
    id: 'dtp',
    name: { kk: 'Дифтерия, көкжөтел, сіреспе', ru: 'Дифтерия, коклюш, столбняк', en: 'Diphtheria, pertussis, tetanus' },
    targetDisease: [disease('397430003', 'Diphtheria caused by Corynebacterium diphtheriae'), disease('27836007', 'Pertussis'), disease('76902006', 'Tetanus')],
    doses: DTP_POLIO_DOSES,
    maximumAge: years(7),
  },
  {
    id: 'polio',
    name: { kk: 'Полиомиелит', ru: 'Полиомиелит', en: 'Poliomyelitis' },
    targetDisease: [disease('398102009', 'Acute poliomyelitis')],
    doses: DTP_POLIO_DOSES,
    maximumAge: years(18),
  },
  {
    id: 'hib',
    name: { kk: 'b типті гемофилдік инфекция', ru: 'Гемофильная инфекция типа b', en: 'Haemophilus influenzae type b' },
    targetDisease: [disease('709410003', 'Haemophilus influenzae type b infection')],
    doses: DTP_POLIO_DOSES.slice(0, 4),
    // WHO: healthy children over five need no Hib catch-up.
    maximumAge: years(5),
  },
  {
    id: 'pcv',
    name: { kk: 'Пневмококк инфекциясы', ru: 'Пневмококковая инфекция', en: 'Pneumococcal disease' },
    targetDisease: [disease('16814004', 'Pneumococcal infectious disease')],
    doses: [
      atMonths(2, 'pcv13', weeks(6)),
      atMonths(4, 'pcv13', weeks(14), weeks(8)),
      { age: months(12), overdueAge: months(16), minimumAge: months(9), minimumInterval: weeks(8), vaccine: 'pcv13' },
    ],
    maximumAge: years(5),
  },
  {
    id: 'mmr',
    name: { kk: 'Қызылша, қызамық, эпидемиялық паротит', ru: 'Корь, краснуха, эпидемический паротит', en: 'Measles, mumps, rubella' },
    targetDisease: [disease('14189004', 'Measles'), disease('36989005', 'Mumps'), disease('36653000', 'Rubella')],
    doses: [{ age: months(12), overdueAge: months(16), minimumAge: months(12), vaccine: 'mmr' }, atYears(6, 'mmr', months(13), weeks(4))],
    maximumAge: years(18),
  },
  {
    id: 'hepa',
    name: { kk: 'А вирусты гепатиті', ru: 'Вирусный гепатит A', en: 'Hepatitis A' },
    targetDisease: [disease('40468003', 'Viral hepatitis, type A')],
    doses: [atMonths(24, 'hepA', months(12)), atMonths(30, 'hepA', months(18), months(6))],
    maximumAge: years(18),
  },
  {
    id: 'hpv',
    name: { kk: 'Адам папилломасы вирусы', ru: 'Вирус папилломы человека', en: 'Human papillomavirus' },
    targetDisease: [disease('240532009', 'Human papilloma virus infection')],
    // Two doses six months apart (WHO: at least five months) from 11; catch-up to 13 years 11 months.
    doses: [
      atYears(11, 'hpv', years(9)),
      { age: { years: 11, months: 6 }, overdueAge: { years: 12, months: 6 }, minimumAge: { years: 9, months: 5 }, minimumInterval: months(5), interval: months(6), vaccine: 'hpv' },
    ],
    maximumAge: years(14),
    gender: 'female',
  },
  {
    id: 'td',
    name: { kk: 'Дифтерия, сіреспе (ересектер)', ru: 'Дифтерия, столбняк (взрослые)', en: 'Diphtheria, tetanus (adults)' },
    targetDisease: [disease('397430003', 'Diphtheria caused by Corynebacterium diphtheriae'), disease('76902006', 'Tetanus')],
    // Counted from 16: before that, pertussis-containing vaccines cover diphtheria and tetanus.
    doses: [atYears(16, 'td', years(16))],
    repeatEvery: years(10),
  },
];

/** The vaccine a coded dose is, by its CVX or ATC coding; undefined for vaccines outside the calendar. */
export function vaccineOf(code: CodeableConcept | undefined): Vaccine | undefined {
  for (const coding of code?.coding ?? []) {
    const found = Object.values(VACCINES).find((v: Vaccine) => (coding.system === CVX && coding.code === v.cvx) || (coding.system === ATC && v.atc !== undefined && coding.code === v.atc));
    if (found) return found;
  }
  return undefined;
}

/** A vaccine as the record codes it: CVX, and ATC when it has one, with each code system's display; the text in `locale`. */
export function vaccineCode(vaccine: Vaccine, locale: Locale): CodeableConcept {
  const coding: Coding[] = [{ system: CVX, code: vaccine.cvx, ...displayOf(CVX, vaccine.cvx) }];
  if (vaccine.atc) coding.push({ system: ATC, code: vaccine.atc, ...displayOf(ATC, vaccine.atc) });
  return { coding, text: vaccine.abbreviation[locale] };
}

function displayOf(system: string, code: string): { display?: string } {
  const display = codeDisplay(system, code, 'en');
  return display === undefined ? {} : { display };
}

/** A calendar date (`YYYY-MM-DD`) as days since 1970-01-01: the forecast counts whole days. */
export function dayNumber(date: string): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / 86_400_000;
}

export function isoDay(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The day `age` after `day`: years and months move the calendar date, a month end held to the
 * shorter month's last day (31 January + 1 month is 28 or 29 February), then days are added.
 */
export function addAge(day: number, age: Age): number {
  const date = new Date(day * 86_400_000);
  const month = date.getUTCFullYear() * 12 + date.getUTCMonth() + (age.years ?? 0) * 12 + (age.months ?? 0);
  const year = Math.floor(month / 12);
  const monthOfYear = month - year * 12;
  const lastDay = new Date(Date.UTC(year, monthOfYear + 1, 0)).getUTCDate();
  const moved = Date.UTC(year, monthOfYear, Math.min(date.getUTCDate(), lastDay)) / 86_400_000;
  return moved + (age.days ?? 0);
}
