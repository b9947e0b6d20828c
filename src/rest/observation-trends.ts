import type { Bundle, Observation, ParametersParameter, Quantity } from '@medplum/fhirtypes';
import { badRequest, tooCostly } from '../fhir/outcome.js';
import { type SearchRequest, parseSearchRequest } from '../fhir/search-request.js';
import { molarMassOf } from '../fhir/molar-masses.js';
import { UCUM_SYSTEM, canonicalQuantity, convertUnit } from '../fhir/ucum.js';
import { parseStored } from '../store/stored-json.js';
import { withQuery } from './history.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';
import { isLenient, queryOf, searchEntry } from './search.js';

/** The search parameters that name the subject of an Observation. */
const SUBJECT_PARAMETERS = new Set(['patient', 'subject']);
/** Result parameters that mean nothing for a per-code selection: refused rather than silently ignored. */
const NOT_FOR_LASTN = new Set(['_count', '_sort', '_total', '_cursor', '_include', '_revinclude', '_include:iterate', '_revinclude:iterate']);

/** The query (and a POST's form body) without the format parameters every interaction takes. */
const operationQuery = (request: FhirRequest) => queryOf(request).filter(([key]) => key !== '_format' && key !== '_pretty');

function positiveInt(name: string, value: string, limit: number): number {
  if (!/^[1-9]\d{0,8}$/.test(value) || Number(value) > limit) throw badRequest(`${name} must be a whole number from 1 to ${limit}`, name);
  return Number(value);
}

/** The parameter names of a search's filters (a `_has` filter names none). */
const filterCodes = (request: SearchRequest) => request.filters.flatMap((f) => (f.kind === 'has' ? [] : [f.code]));

/** The subject parameter a trend request must have: `patient` or `subject`. */
function requireSubject(request: SearchRequest): void {
  if (!filterCodes(request).some((code) => SUBJECT_PARAMETERS.has(code))) throw badRequest(`Name the patient: patient=[id] or subject=Patient/[id]`, 'patient');
}

/**
 * Observation/$lastn (https://hl7.org/fhir/R4/operation-observation-lastn.html): the `max` (default
 * 1) most recent Observations of each code among those the search parameters match, which must
 * name the subject and a category or a code. A searchset Bundle, groups in order of their newest.
 */
export async function lastnOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const query = operationQuery(request);
  const refused = query.find(([key]) => NOT_FOR_LASTN.has(key));
  if (refused) throw badRequest(`$lastn returns the most recent per code; ${refused[0]} does not apply to it`, refused[0]);
  const maxValues = query.filter(([key]) => key === 'max');
  if (maxValues.length > 1) throw badRequest(`Give max once`, 'max');
  const max = maxValues[0] ? positiveInt('max', maxValues[0][1], 1000) : 1;
  const search = parseSearchRequest('Observation', query.filter(([key]) => key !== 'max'), isLenient(request));
  requireSubject(search);
  if (!filterCodes(search).some((code) => code === 'category' || code.includes('code'))) {
    throw badRequest(`Give a category or a code parameter (code, code-value-quantity…) to group by`, 'category');
  }
  const chosen = await context.repo.lastN(search, max);
  const applied: [string, string][] = [...search.applied, ...(maxValues[0] ? [maxValues[0]] : [])];
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: chosen.length,
    link: [{ relation: 'self', url: withQuery(`${context.baseUrl}/Observation/$lastn`, applied) }],
    entry: chosen.map((stored) => searchEntry(stored, 'match', search, context.baseUrl)),
  };
  return { status: 200, resource: bundle };
}

/** What `$series` takes besides the unit; anything else is refused. */
const SERIES_FILTERS = new Set(['patient', 'subject', 'code', 'date', 'status']);
/** Points a series holds at most; a longer one is asked to narrow by date. */
const MAX_POINTS = 5000;
const PAGE = 1000;
const LOINC = 'http://loinc.org';

/**
 * Observation/$series (Densaulyq): one test's results for one patient over time, oldest first, as
 * points ready to draw: numeric values and reference ranges in one UCUM unit (the `unit` asked
 * for, else the newest result's), so results of labs that report in different units line up.
 * A value whose unit does not convert keeps its own and is marked `comparable: false`.
 */
export async function seriesOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const query = operationQuery(request);
  const unknown = query.find(([key]) => key !== 'unit' && !SERIES_FILTERS.has(key.split(':')[0]!));
  if (unknown) throw badRequest(`$series takes patient (or subject), code, date, status and unit, not ${unknown[0]}`, unknown[0]);
  const units = query.filter(([key]) => key === 'unit').map(([, value]) => value);
  if (units.length > 1) throw badRequest(`Give unit once`, 'unit');
  if (units[0] !== undefined && canonicalQuantity(1, units[0]) === undefined) throw badRequest(`"${units[0]}" is not a UCUM unit`, 'unit');
  const search = parseSearchRequest('Observation', [...query.filter(([key]) => key !== 'unit'), ['_sort', 'date'], ['_count', String(PAGE)]]);
  requireSubject(search);
  if (!filterCodes(search).includes('code')) throw badRequest(`Name the test: code=[system]|[code]`, 'code');
  const observations: Observation[] = [];
  for (let cursor: string | undefined; ; ) {
    const page = await context.repo.search(cursor ? { ...search, cursor } : search);
    observations.push(...page.entries.map((stored) => parseStored<Observation>(stored)));
    if (observations.length > MAX_POINTS) throw tooCostly(`More than ${MAX_POINTS} results: narrow the series by date`);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  const unit = units[0] ?? [...observations].reverse().find((o) => o.valueQuantity?.system === UCUM_SYSTEM && o.valueQuantity.code)?.valueQuantity?.code;
  const parameter: ParametersParameter[] = unit ? [{ name: 'unit', valueCode: unit }] : [];
  const molarMass = molarMassOfTest(search);
  for (const observation of observations) parameter.push({ name: 'point', part: pointParts(observation, unit, molarMass) });
  return { status: 200, resource: { resourceType: 'Parameters', parameter } };
}

/** The molar mass of the test asked for (a LOINC code), by which its mass and molar results convert. */
function molarMassOfTest(search: SearchRequest): number | undefined {
  for (const filter of search.filters) {
    if (filter.kind !== 'value' || filter.code !== 'code') continue;
    for (const value of filter.values) {
      const [system, code] = value.includes('|') ? value.split('|') : [undefined, value];
      const mass = (system === LOINC || system === undefined) && code ? molarMassOf(code) : undefined;
      if (mass) return mass;
    }
  }
  return undefined;
}

/** A quantity in `unit` when it converts, rounded to the precision a result carries (6 significant digits). */
function inUnit(quantity: Quantity | undefined, unit: string | undefined, molarMass: number | undefined): { quantity: Quantity; converted: boolean } | undefined {
  if (quantity?.value === undefined) return undefined;
  if (!unit || quantity.system !== UCUM_SYSTEM || !quantity.code) return { quantity, converted: quantity.code === unit };
  const value = convertUnit(quantity.value, quantity.code, unit, molarMass);
  if (value === undefined) return { quantity, converted: false };
  const rounded = Number(value.toPrecision(6));
  return { quantity: { ...(quantity.comparator ? { comparator: quantity.comparator } : {}), value: rounded, unit, system: UCUM_SYSTEM, code: unit }, converted: true };
}

function pointParts(observation: Observation, unit: string | undefined, molarMass: number | undefined): ParametersParameter[] {
  const parts: ParametersParameter[] = [{ name: 'observation', valueReference: { reference: `Observation/${observation.id}` } }];
  const effective = observation.effectiveDateTime ?? observation.effectiveInstant ?? observation.effectivePeriod?.start;
  if (effective) parts.push({ name: 'effective', valueDateTime: effective });
  parts.push({ name: 'status', valueCode: observation.status });
  const value = inUnit(observation.valueQuantity, unit, molarMass);
  if (value) {
    parts.push({ name: 'value', valueQuantity: value.quantity });
    if (!value.converted) parts.push({ name: 'comparable', valueBoolean: false });
    else if (value.quantity !== observation.valueQuantity && observation.valueQuantity?.code !== unit) parts.push({ name: 'recorded', valueQuantity: observation.valueQuantity! });
  } else if (observation.valueString !== undefined) parts.push({ name: 'value', valueString: observation.valueString });
  else if (observation.valueCodeableConcept) parts.push({ name: 'value', valueCodeableConcept: observation.valueCodeableConcept });
  const range = observation.referenceRange?.[0];
  const low = inUnit(range?.low, unit, molarMass);
  const high = inUnit(range?.high, unit, molarMass);
  if (low) parts.push({ name: 'low', valueQuantity: low.quantity });
  if (high) parts.push({ name: 'high', valueQuantity: high.quantity });
  const interpretation = observation.interpretation?.[0];
  if (interpretation) parts.push({ name: 'interpretation', valueCodeableConcept: interpretation });
  return parts;
}
