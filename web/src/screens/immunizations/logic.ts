import type { Immunization, ImmunizationRecommendation, ImmunizationRecommendationRecommendation, Parameters } from '@medplum/fhirtypes';
import { conceptText } from '../../fhir/text.js';

/** The platform's dose states in the forecast (src/passport/immunization-forecast.ts). */
export const DOSE_STATE_SYSTEM = 'http://densaulyq.kz/fhir/CodeSystem/immunization-dose-state';
export const DOSE_STATES = ['overdue', 'due', 'upcoming', 'given', 'aged-out'] as const;
export type DoseState = (typeof DOSE_STATES)[number];

/** ImmDS date criteria (LOINC): https://hl7.org/fhir/us/immds/ */
const DATE_CODES = { earliest: '30981-5', due: '30980-7', overdue: '59778-1', latest: '59777-3' } as const;

export function doseState(recommendation: ImmunizationRecommendationRecommendation): DoseState | undefined {
  const code = recommendation.forecastStatus?.coding?.find((c) => c.system === DOSE_STATE_SYSTEM)?.code;
  return (DOSE_STATES as readonly string[]).includes(code ?? '') ? (code as DoseState) : undefined;
}

export function criterionDate(recommendation: ImmunizationRecommendationRecommendation, which: keyof typeof DATE_CODES): string | undefined {
  return recommendation.dateCriterion?.find((d) => d.code?.coding?.some((c) => c.code === DATE_CODES[which]))?.value;
}

/** The ImmunizationRecommendation in `$immds-forecast`'s output Parameters. */
export function forecastRecommendation(output: Parameters): ImmunizationRecommendation | undefined {
  const resource = output.parameter?.find((p) => p.name === 'recommendation')?.resource;
  return resource?.resourceType === 'ImmunizationRecommendation' ? resource : undefined;
}

/** One shot to have: a product on a date, with every series dose it covers (a hexavalent shot covers six diseases). */
export interface Shot {
  state: 'overdue' | 'due' | 'upcoming';
  vaccine: string;
  due?: string;
  overdue?: string;
  latest?: string;
  diseases: string[];
  /** Series doses it covers: "dose 2 of 3" each. */
  doses: { number?: number; of?: number; series?: string }[];
  /** The server's own words for the first dose covered, in the reader's language. */
  statusText?: string;
  description?: string;
}

const STATE_ORDER: Record<Shot['state'], number> = { overdue: 0, due: 1, upcoming: 2 };

/**
 * What is still to be given, one entry per product and due date (the recommendations sharing
 * them are one injection), overdue first, then due now, then upcoming; each by due date.
 */
export function shotsToGive(recommendation: ImmunizationRecommendation | undefined): Shot[] {
  const shots = new Map<string, Shot>();
  for (const r of recommendation?.recommendation ?? []) {
    const state = doseState(r);
    if (state !== 'overdue' && state !== 'due' && state !== 'upcoming') continue;
    const vaccine = r.vaccineCode?.map(conceptText).find(Boolean) ?? '';
    const due = criterionDate(r, 'due');
    const key = `${vaccine}|${due ?? ''}`;
    const shot = shots.get(key) ?? { state, vaccine, diseases: [], doses: [], ...optional({ due, overdue: criterionDate(r, 'overdue'), latest: criterionDate(r, 'latest'), statusText: r.forecastStatus?.text, description: r.description }) };
    // The shot is as late as its latest dose.
    if (STATE_ORDER[state] < STATE_ORDER[shot.state]) shot.state = state;
    const disease = conceptText(r.targetDisease);
    if (disease && !shot.diseases.includes(disease)) shot.diseases.push(disease);
    shot.doses.push(optional({ number: r.doseNumberPositiveInt, of: r.seriesDosesPositiveInt, series: r.series }));
    shots.set(key, shot);
  }
  return [...shots.values()].sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || (a.due ?? '').localeCompare(b.due ?? ''));
}

/** Doses given, newest first; ones recorded in error are not doses. */
export function givenDoses(immunizations: readonly Immunization[]): Immunization[] {
  return immunizations.filter((i) => i.status !== 'entered-in-error').sort((a, b) => (b.occurrenceDateTime ?? b.occurrenceString ?? '').localeCompare(a.occurrenceDateTime ?? a.occurrenceString ?? ''));
}

/** The fields of `values` that are defined (strict optional properties). */
function optional<T extends Record<string, unknown>>(values: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** The sentence saying when a shot is to be given: an `immunizations` text key and the date it names. */
export function whenToGive(shot: Shot): { key: 'overdueSince' | 'dueSince' | 'dueOn' | 'noDate'; date?: string } {
  const date = shot.state === 'overdue' ? (shot.overdue ?? shot.due) : shot.due;
  if (!date) return { key: 'noDate' };
  return { key: shot.state === 'overdue' ? 'overdueSince' : shot.state === 'due' ? 'dueSince' : 'dueOn', date };
}
