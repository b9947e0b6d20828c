import type {
  CodeableConcept,
  Coding,
  Immunization,
  ImmunizationEvaluation,
  Patient,
  ImmunizationRecommendation,
  ImmunizationRecommendationRecommendation,
  Reference,
} from '@medplum/fhirtypes';
import { fillTemplate, type Locale, type Translated } from '../fhir/locale.js';
import { addAge, type Age, dayNumber, isoDay, NATIONAL_CALENDAR, type ScheduledDose, type Series, vaccineCode, vaccineOf, VACCINES } from './immunization-schedule.js';
import { formatDate } from './ips-text.js';

/**
 * The forecast of HL7's Immunization Decision Support Forecast IG (ImmDS,
 * https://hl7.org/fhir/us/immds/): the doses on record evaluated against Kazakhstan's national
 * calendar (src/passport/immunization-schedule.ts), and every dose of the calendar with its state
 * on the assessment date: given, due, overdue, upcoming, or no longer applicable.
 */

const IMMDS_RECOMMENDATION_PROFILE = 'http://hl7.org/fhir/us/immds/StructureDefinition/immds-immunizationrecommendation';
const RECOMMENDATION_STATUS = 'http://terminology.hl7.org/CodeSystem/immunization-recommendation-status';
const IMMDS_FORECAST_STATUS = 'http://hl7.org/fhir/us/immds/CodeSystem/ForecastStatus';
/** Densaulyq's state of one dose, which the app shows: the standard codes do not tell a due dose from a later one. */
export const DOSE_STATE_SYSTEM = 'http://densaulyq.kz/fhir/CodeSystem/immunization-dose-state';
const DOSE_STATUS = 'http://terminology.hl7.org/CodeSystem/immunization-evaluation-dose-status';
const DOSE_STATUS_REASON = 'http://terminology.hl7.org/CodeSystem/immunization-evaluation-dose-status-reason';
const LOINC = 'http://loinc.org';

/** The state of one scheduled dose on the assessment date. */
export type DoseState = 'given' | 'due' | 'overdue' | 'upcoming' | 'aged-out';

const TEXT = {
  given: { kk: 'Салынды', ru: 'Сделана', en: 'Given' },
  due: { kk: 'Салу уақыты келді', ru: 'Пора сделать', en: 'Due now' },
  overdue: { kk: 'Мерзімі өтіп кетті', ru: 'Просрочена', en: 'Overdue' },
  upcoming: { kk: 'Алдағы', ru: 'Предстоит', en: 'Upcoming' },
  'aged-out': { kk: 'Жасы бойынша салынбайды', ru: 'По возрасту не проводится', en: 'No longer given at this age' },
  givenOn: { kk: '{date} салынды', ru: 'Сделана {date}', en: 'Given on {date}' },
  dueSince: { kk: '{date} бастап салу керек', ru: 'Нужно сделать с {date}', en: 'Due since {date}' },
  overdueSince: { kk: '{date} бастап мерзімі өткен', ru: 'Просрочена с {date}', en: 'Overdue since {date}' },
  dueOn: { kk: '{date} салынады', ru: 'Запланирована на {date}', en: 'Due on {date}' },
  agedOutOn: { kk: 'Күнтізбе бойынша {date} кейін салынбайды', ru: 'По календарю не проводится после {date}', en: 'The calendar gives it no later than {date}' },
  valid: { kk: 'Есепке алынды', ru: 'Засчитана', en: 'Counts' },
  notValid: { kk: 'Есепке алынбады', ru: 'Не засчитана', en: 'Does not count' },
  tooYoung: { kk: 'Ең кіші жасқа дейін салынған', ru: 'Сделана раньше минимального возраста', en: 'Given before the minimum age' },
  tooSoon: { kk: 'Алдыңғы екпеден кейін ең аз аралық өтпей салынған', ru: 'Сделана раньше минимального интервала после предыдущей', en: 'Given too soon after the previous dose' },
  subpotent: { kk: 'Доза толық емес деп белгіленген', ru: 'Доза отмечена как неполноценная', en: 'Recorded as subpotent' },
} as const satisfies Record<string, Translated>;

const STANDARD_STATUS: Record<DoseState, { code: string; display: string } | undefined> = {
  given: { code: 'complete', display: 'Complete' },
  due: { code: 'due', display: 'Due' },
  overdue: { code: 'overdue', display: 'Overdue' },
  upcoming: { code: 'due', display: 'Due' },
  'aged-out': undefined,
};
const IMMDS_STATUS: Record<DoseState, { code: string; display: string }> = {
  given: { code: 'complete', display: 'Complete' },
  due: { code: 'notComplete', display: 'Not Complete' },
  overdue: { code: 'notComplete', display: 'Not Complete' },
  upcoming: { code: 'notComplete', display: 'Not Complete' },
  'aged-out': { code: 'agedOut', display: 'Aged Out' },
};

/** What the forecast reads of the patient: ImmDS's Patient profile requires the birth date and sex. */
export interface ForecastPatient {
  /** `Patient/[id]`, or how the request otherwise names the patient. */
  reference: Reference<Patient>;
  /** A full date, `YYYY-MM-DD`, not after the assessment date (the caller checks both). */
  birthDate: string;
  gender?: string;
}

export interface ForecastInput {
  patient: ForecastPatient;
  /** The immunization history; only completed doses with a full date on or before the assessment date count. */
  immunizations: readonly Immunization[];
  /** `YYYY-MM-DD`. */
  assessmentDate: string;
  locale: Locale;
}

export interface Forecast {
  recommendation: ImmunizationRecommendation;
  /** One per dose on record of a calendar vaccine: whether it counts for each series it belongs to. */
  evaluations: ImmunizationEvaluation[];
}

interface Dose {
  immunization: Immunization;
  day: number;
}

/** A dose of a series the record has, counted. */
interface Given {
  number: number;
  dose: Dose;
}

/**
 * The ImmunizationRecommendation (ImmDS profile: one `recommendation` per dose of each series,
 * https://hl7.org/fhir/us/immds/StructureDefinition-immds-immunizationrecommendation.html) and the
 * ImmunizationEvaluations of the doses on record. A dose counts when given at or after its minimum
 * age and at least its minimum interval after the series' previous counted dose; one that does
 * not is evaluated `notvalid` and the dose is still to give. The dates of doses still to give are
 * projected from the last one counted, or from the assessment date for a dose already due.
 */
export function immunizationForecast(input: ForecastInput): Forecast {
  const { patient, assessmentDate, locale } = input;
  const birth = dayNumber(patient.birthDate);
  const today = dayNumber(assessmentDate);
  const doses = input.immunizations
    .flatMap((immunization): Dose[] => {
      const date = immunization.status === 'completed' ? fullDate(immunization.occurrenceDateTime) : undefined;
      return date === undefined || dayNumber(date) > today ? [] : [{ immunization, day: dayNumber(date) }];
    })
    .sort((a, b) => a.day - b.day);

  const recommendation: ImmunizationRecommendationRecommendation[] = [];
  const evaluations: ImmunizationEvaluation[] = [];
  for (const series of NATIONAL_CALENDAR) {
    if (series.gender !== undefined && patient.gender !== series.gender) continue;
    const mine = doses.filter((dose) => vaccineOf(dose.immunization.vaccineCode)?.series.includes(series.id));
    const { given, evaluated } = evaluate(series, mine, birth, input);
    evaluations.push(...evaluated);
    for (const { number, dose } of given) {
      recommendation.push({
        ...common(series, number, 'given', dose.immunization.vaccineCode ?? scheduledVaccine(series, number, locale), locale),
        description: fillTemplate(TEXT.givenOn[locale], { date: formatDate(isoDay(dose.day), locale) }),
        supportingImmunization: [{ ...eventReference(dose.immunization), display: isoDay(dose.day) }],
      });
    }
    recommendation.push(...toGive(series, given, birth, today, locale));
  }
  return {
    recommendation: {
      resourceType: 'ImmunizationRecommendation',
      meta: { profile: [IMMDS_RECOMMENDATION_PROFILE] },
      patient: patient.reference,
      date: assessmentDate,
      recommendation,
    },
    evaluations,
  };
}

/** The series' doses on record, each checked against the dose it would be; those that count, numbered. */
function evaluate(series: Series, doses: readonly Dose[], birth: number, input: ForecastInput): { given: Given[]; evaluated: ImmunizationEvaluation[] } {
  const given: Given[] = [];
  const evaluated: ImmunizationEvaluation[] = [];
  for (const dose of doses) {
    const number = given.length + 1;
    const scheduled = scheduledDose(series, number);
    // A dose beyond a finished series is neither needed nor wrong: it is not evaluated.
    if (!scheduled) continue;
    const previous = given[given.length - 1]?.dose.day;
    const problem = dose.immunization.isSubpotent
      ? TEXT.subpotent
      : dose.day < addAge(birth, scheduled.minimumAge)
        ? TEXT.tooYoung
        : previous !== undefined && scheduled.minimumInterval && dose.day < addAge(previous, scheduled.minimumInterval)
          ? TEXT.tooSoon
          : undefined;
    if (!problem) given.push({ number, dose });
    evaluated.push(evaluation(series, dose, problem ? undefined : number, problem, input));
  }
  return { given, evaluated };
}

/** The scheduled dose `number` of a series (1-based); for a repeated booster, any number past the schedule. */
function scheduledDose(series: Series, number: number): ScheduledDose | undefined {
  const last = series.doses[series.doses.length - 1]!;
  if (number <= series.doses.length) return series.doses[number - 1];
  return series.repeatEvery ? { ...last, minimumInterval: undefined } : undefined;
}

/**
 * The doses still to give, each with its earliest, due and overdue dates (and the latest, when the
 * calendar stops giving it at an age): every remaining dose of the series, or the next booster of
 * a repeated one.
 */
function toGive(series: Series, given: readonly Given[], birth: number, today: number, locale: Locale): ImmunizationRecommendationRecommendation[] {
  const out: ImmunizationRecommendationRecommendation[] = [];
  const last = series.maximumAge ? addAge(birth, series.maximumAge) - 1 : undefined;
  let previous = given[given.length - 1]?.dose.day;
  const count = series.repeatEvery ? given.length + 1 : series.doses.length;
  for (let number = given.length + 1; number <= count; number++) {
    const scheduled = scheduledDose(series, number)!;
    const repeated = number > series.doses.length;
    const due = repeated ? addAge(previous!, series.repeatEvery!) : Math.max(addAge(birth, scheduled.age), after(previous, scheduled.interval ?? scheduled.minimumInterval));
    const earliest = repeated ? due : Math.max(addAge(birth, scheduled.minimumAge), after(previous, scheduled.minimumInterval));
    // A dose due late keeps the calendar's window: overdue as long after its due date as on schedule.
    const overdue = repeated ? addAge(due, { years: 1 }) : Math.max(addAge(birth, scheduled.overdueAge), addAge(due, window(scheduled)));
    const state: DoseState =
      last !== undefined && Math.max(earliest, today) > last ? 'aged-out' : today >= overdue ? 'overdue' : today >= due ? 'due' : 'upcoming';
    const dates: [string, string, number][] =
      state === 'aged-out'
        ? []
        : [
            ['30981-5', 'Earliest date to give', earliest],
            ['30980-7', 'Date vaccine due', due],
            ['59778-1', 'Date when overdue for immunization', overdue],
          ];
    if (last !== undefined) dates.push(['59777-3', 'Latest date to give immunization', last]);
    const description =
      state === 'aged-out'
        ? fillTemplate(TEXT.agedOutOn[locale], { date: formatDate(isoDay(last!), locale) })
        : fillTemplate(TEXT[state === 'due' ? 'dueSince' : state === 'overdue' ? 'overdueSince' : 'dueOn'][locale], {
            date: formatDate(isoDay(state === 'overdue' ? overdue : due), locale),
          });
    out.push({
      ...common(series, number, state, scheduledVaccine(series, number, locale), locale),
      dateCriterion: dates.map(([code, display, day]) => ({ code: { coding: [{ system: LOINC, code, display }] }, value: isoDay(day) })),
      description,
    });
    // The next dose follows this one as if it were given when due, or today if that is past.
    previous = Math.max(due, today);
  }
  return out;
}

/** How long after the calendar's age a dose becomes overdue, in months and days. */
function window({ age, overdueAge }: ScheduledDose): Age {
  const months = (a: Age) => (a.years ?? 0) * 12 + (a.months ?? 0);
  return { months: months(overdueAge) - months(age), days: (overdueAge.days ?? 0) - (age.days ?? 0) };
}

function after(day: number | undefined, interval: Age | undefined): number {
  return day === undefined || interval === undefined ? -Infinity : addAge(day, interval);
}

/** The elements every recommendation has: what, against which diseases, which dose of which series, in which state. */
function common(series: Series, number: number, state: DoseState, vaccine: CodeableConcept, locale: Locale): ImmunizationRecommendationRecommendation {
  const standard = STANDARD_STATUS[state];
  const coding: Coding[] = [
    ...(standard ? [{ system: RECOMMENDATION_STATUS, ...standard }] : []),
    { system: IMMDS_FORECAST_STATUS, ...IMMDS_STATUS[state] },
    { system: DOSE_STATE_SYSTEM, code: state, display: TEXT[state].en },
  ];
  return {
    vaccineCode: [vaccine],
    targetDisease: targetDisease(series, locale),
    forecastStatus: { coding, text: TEXT[state][locale] },
    series: series.id,
    doseNumberPositiveInt: number,
    ...(series.repeatEvery ? {} : { seriesDosesPositiveInt: series.doses.length }),
  };
}

/**
 * The diseases a series prevents. R4 gives a recommendation one targetDisease; a series against
 * several (DTP, MMR) lists each disease's SNOMED CT code in it, named together in the text.
 */
function targetDisease(series: Series, locale: Locale): CodeableConcept {
  return { coding: [...series.targetDisease], text: series.name[locale] };
}

function scheduledVaccine(series: Series, number: number, locale: Locale): CodeableConcept {
  return vaccineCode(VACCINES[scheduledDose(series, number)!.vaccine], locale);
}

function evaluation(series: Series, dose: Dose, number: number | undefined, problem: Translated | undefined, input: ForecastInput): ImmunizationEvaluation {
  const { locale } = input;
  return {
    resourceType: 'ImmunizationEvaluation',
    status: 'completed',
    patient: input.patient.reference,
    date: input.assessmentDate,
    targetDisease: targetDisease(series, locale),
    immunizationEvent: eventReference(dose.immunization),
    doseStatus: problem
      ? { coding: [{ system: DOSE_STATUS, code: 'notvalid', display: 'Not valid' }], text: TEXT.notValid[locale] }
      : { coding: [{ system: DOSE_STATUS, code: 'valid', display: 'Valid' }], text: TEXT.valid[locale] },
    ...(problem ? { doseStatusReason: [{ coding: [{ system: DOSE_STATUS_REASON, code: 'outsidesched', display: 'Administered Outside Schedule' }], text: problem[locale] }] } : {}),
    series: series.id,
    ...(number !== undefined ? { doseNumberPositiveInt: number } : {}),
    ...(series.repeatEvery ? {} : { seriesDosesPositiveInt: series.doses.length }),
  };
}

/** The Immunization as a reference: by id when it has one (stored, or sent with one), else by its first identifier, else by its date. */
function eventReference(immunization: Immunization): Reference<Immunization> {
  if (immunization.id) return { reference: `Immunization/${immunization.id}` };
  const identifier = immunization.identifier?.[0];
  return identifier ? { identifier } : { display: immunization.occurrenceDateTime ?? '' };
}

/** The calendar date of a FHIR date or dateTime when it names a whole day, as written (the place's own date). */
export function fullDate(value: string | undefined): string | undefined {
  return value !== undefined && /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : undefined;
}
