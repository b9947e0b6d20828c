import type { CodeableConcept, Observation, ObservationReferenceRange, Parameters, ParametersParameter, Quantity } from '@medplum/fhirtypes';

/** How a result reads against its range, in words (never by colour alone). */
export type Flag = 'normal' | 'high' | 'low' | 'abnormal' | 'criticalHigh' | 'criticalLow' | 'critical';

/**
 * The flag of a result from its first interpretation (v3 ObservationInterpretation,
 * https://hl7.org/fhir/R4/valueset-observation-interpretation.html); without one, undefined.
 */
export function resultFlag(observation: Observation): Flag | undefined {
  return interpretationFlag(observation.interpretation?.[0]);
}

/** The flag an interpretation (v3 ObservationInterpretation) says. */
function interpretationFlag(interpretation: CodeableConcept | undefined): Flag | undefined {
  const code = interpretation?.coding?.find((c) => c.code)?.code;
  switch (code) {
    case 'N':
      return 'normal';
    case 'H':
    case 'HU':
    case '>':
      return 'high';
    case 'L':
    case 'LU':
    case '<':
      return 'low';
    case 'HH':
      return 'criticalHigh';
    case 'LL':
      return 'criticalLow';
    case 'AA':
      return 'critical';
    case 'A':
      return 'abnormal';
    default:
      return undefined;
  }
}

/** Whether the flag asks for attention (anything but normal). */
export function isAbnormal(flag: Flag | undefined): boolean {
  return flag !== undefined && flag !== 'normal';
}

/** When the result was taken: the effective time, else when it was issued. */
export function resultDate(observation: Observation): string | undefined {
  return observation.effectiveDateTime ?? observation.effectivePeriod?.start ?? observation.effectiveInstant ?? observation.issued;
}

/** The token to search a test's results by (`system|code`, or the code alone without a system); none for a test known only by its text. */
export function testCode(observation: Observation): string | undefined {
  const coding = observation.code?.coding?.find((c) => c.code);
  if (!coding) return undefined;
  return coding.system ? `${coding.system}|${coding.code}` : coding.code;
}

/** The test's key (its code, else its text), shared by a test's results over time. */
export function testKey(observation: Observation): string {
  return testCode(observation) ?? `text:${observation.code?.text ?? ''}`;
}

export interface TestGroup {
  key: string;
  /** Newest first. */
  results: Observation[];
  latest: Observation;
}

/** Results grouped by test, each group newest first, groups ordered by their latest result (newest first). */
export function groupByTest(observations: readonly Observation[]): TestGroup[] {
  const groups = new Map<string, Observation[]>();
  for (const observation of observations) {
    const key = testKey(observation);
    groups.set(key, [...(groups.get(key) ?? []), observation]);
  }
  const newestFirst = (a: Observation, b: Observation) => (resultDate(b) ?? '').localeCompare(resultDate(a) ?? '');
  return [...groups.entries()]
    .map(([key, results]) => {
      const sorted = [...results].sort(newestFirst);
      return { key, results: sorted, latest: sorted[0]! };
    })
    .sort((a, b) => newestFirst(a.latest, b.latest));
}

/** The unit as written: the human unit, else the UCUM code. */
export function unitText(quantity: Pick<Quantity, 'unit' | 'code'> | undefined): string {
  return quantity?.unit ?? quantity?.code ?? '';
}

/** The numeric bounds of a reference range, when it has any. */
export function rangeBounds(range: ObservationReferenceRange | undefined): { low?: number; high?: number } {
  return { ...(range?.low?.value !== undefined ? { low: range.low.value } : {}), ...(range?.high?.value !== undefined ? { high: range.high.value } : {}) };
}

/** Which wording a range takes: both bounds, only a lower or upper one, or only its text. */
export type RangeShape = { kind: 'between'; low: number; high: number } | { kind: 'atLeast'; low: number } | { kind: 'atMost'; high: number } | { kind: 'text'; text: string } | { kind: 'none' };

export function rangeShape(range: ObservationReferenceRange | undefined): RangeShape {
  const { low, high } = rangeBounds(range);
  if (low !== undefined && high !== undefined) return { kind: 'between', low, high };
  if (low !== undefined) return { kind: 'atLeast', low };
  if (high !== undefined) return { kind: 'atMost', high };
  if (range?.text) return { kind: 'text', text: range.text };
  return { kind: 'none' };
}

/** A point of a test's trend: results with a numeric value and a readable date, oldest first. */
export interface TrendPoint {
  date: string;
  time: number;
  value: number;
  flag?: Flag;
}

/** A test's trend as `Observation/$series` gives it: every value in one unit, and the newest result's range in it. */
export interface Trend {
  unit?: string;
  points: TrendPoint[];
  low?: number;
  high?: number;
}

const partOf = (point: ParametersParameter, name: string) => point.part?.find((p) => p.name === name);

/** The chartable points of a `$series` answer: numeric values in the series unit with a readable date (a value that does not convert is left out). */
export function trendOf(series: Parameters): Trend {
  const points: TrendPoint[] = [];
  let range: { low?: number; high?: number } = {};
  for (const point of series.parameter ?? []) {
    if (point.name !== 'point' || partOf(point, 'comparable')?.valueBoolean === false) continue;
    const value = partOf(point, 'value')?.valueQuantity?.value;
    const date = partOf(point, 'effective')?.valueDateTime;
    const time = date ? Date.parse(date) : Number.NaN;
    if (value === undefined || !date || Number.isNaN(time)) continue;
    const flag = interpretationFlag(partOf(point, 'interpretation')?.valueCodeableConcept);
    points.push({ date, time, value, ...(flag ? { flag } : {}) });
    const [low, high] = [partOf(point, 'low')?.valueQuantity?.value, partOf(point, 'high')?.valueQuantity?.value];
    range = { ...(low !== undefined ? { low } : {}), ...(high !== undefined ? { high } : {}) };
  }
  const unit = series.parameter?.find((p) => p.name === 'unit')?.valueCode;
  return { ...(unit ? { unit } : {}), points: points.sort((a, b) => a.time - b.time), ...range };
}
