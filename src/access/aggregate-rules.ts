import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError, outcome } from '../fhir/outcome.js';
import { type SearchFilter, type SearchRequest, splitPrefix } from '../fhir/search-request.js';
import { fillTemplate } from '../fhir/locale.js';

/**
 * What an analyst (aggregate counts only) may ask, so that no count names a person and no two
 * counts subtract to one (issue 10, item 4). The counts themselves are perturbed and small ones
 * withheld by the store (src/store/aggregate-count.ts); these rules keep the questions coarse:
 *
 * - counts only (`_summary=count` or `_count=0`), without `_include` or `_revinclude`;
 * - nothing narrowed to one person or one record: no compartment search (`Patient/[id]/…`,
 *   `$everything`), no `_id`, identifier, reference parameter, chain or `_has`;
 * - only the non-identifying parameters of AGGREGATE_PARAMETERS;
 * - no complement (`:not`, `:not-in`, the `ne` prefix) and no `:missing`: a count and its
 *   complement, subtracted from the total, single out the few records between them;
 * - dates bounded to the month (`YYYY` or `YYYY-MM`), with eq, gt, ge, lt, le, sa or eb. A day
 *   is too fine: two counts one day apart differ by that day's visits, and the day of a visit
 *   or a birthday is what an analyst may know of a neighbour; a month mixes each bound with
 *   thirty days of everyone. `ap` is refused because its range moves with today's date, so the
 *   same question asked on two days is two adjacent ranges.
 */
export const AGGREGATE_PARAMETERS: ReadonlySet<string> = new Set([
  'code', 'category', 'status', 'clinical-status', 'verification-status', 'gender', 'birthdate', 'date', 'onset-date', 'recorded-date',
  'address-state', 'address-city', 'address-district', 'vaccine-code', 'class', 'type', 'value-quantity', '_lastUpdated',
]);

/** Modifiers that ask for a complement or for absence: each makes differencing one subtraction. */
const COMPLEMENT_MODIFIERS = new Set(['not', 'not-in', 'missing']);
/** Date comparisons an analyst may use (https://hl7.org/fhir/R4/search.html#prefix). */
const DATE_PREFIXES = new Set(['eq', 'gt', 'ge', 'lt', 'le', 'sa', 'eb']);
/** A year or a month: https://hl7.org/fhir/R4/search.html#date at its two coarsest precisions. */
const MONTH_OR_COARSER = /^\d{4}(-\d{2})?$/;

type Translated = Readonly<Record<'kk' | 'ru' | 'en', string>>;

/** The refusals, in Kazakh, Russian and English; `{…}` is filled from the request. */
const REFUSALS = {
  countsOnly: {
    kk: 'Талдаушы тек жиынтық санақтарды көреді: _summary=count арқылы іздеңіз',
    ru: 'Аналитик видит только агрегированные счёты: используйте _summary=count',
    en: 'An analyst sees aggregate counts only: search with _summary=count',
  },
  includes: {
    kk: 'Талдаушы тек жиынтық санақтарды көреді: _include және _revinclude рұқсат етілмейді',
    ru: 'Аналитик видит только агрегированные счёты: _include и _revinclude не допускаются',
    en: 'An analyst sees aggregate counts only: no _include or _revinclude',
  },
  compartment: {
    kk: 'Талдаушы бір адамның жазбаларын емес, топтарды санайды: пациент компартментіндегі іздеу мен $everything рұқсат етілмейді',
    ru: 'Аналитик считает группы, а не записи одного человека: поиск в компартменте пациента и $everything не допускаются',
    en: "An analyst counts groups, never one person's record: compartment searches and $everything are refused",
  },
  narrowing: {
    kk: 'Талдаушы бір адамды немесе бір жазбаны емес, топтарды санайды: {parameter} параметріне рұқсат жоқ',
    ru: 'Аналитик считает группы, а не одного человека или одну запись: параметр {parameter} не допускается',
    en: 'An analyst counts groups, never one person or one record: {parameter} is refused',
  },
  notAllowed: {
    kk: 'Талдаушы тек {allowed} бойынша санай алады, {parameter} бойынша емес',
    ru: 'Аналитик может считать только по {allowed}, а не по {parameter}',
    en: 'An analyst may count by {allowed} only, not by {parameter}',
  },
  complement: {
    kk: 'Талдаушыға {parameter} қолжетімсіз: санақ пен оның толықтауышының айырмасы жекелеген жазбаларды бөліп көрсетеді',
    ru: 'Аналитику недоступен {parameter}: разность счёта и его дополнения выделяет отдельные записи',
    en: 'An analyst may not use {parameter}: a count and its complement, subtracted, single out a few records',
  },
  datePrefix: {
    kk: 'Талдаушы күндерді eq, gt, ge, lt, le, sa немесе eb арқылы салыстырады, {value} емес',
    ru: 'Аналитик сравнивает даты через eq, gt, ge, lt, le, sa или eb, а не {value}',
    en: 'An analyst compares dates with eq, gt, ge, lt, le, sa or eb, not {value}',
  },
  datePrecision: {
    kk: 'Талдаушы күн шектерін жылға немесе айға дейін береді (ЖЖЖЖ немесе ЖЖЖЖ-АА), {value} емес: бір күн айырмасы бар екі санақтың айырмасы бір қабылдауды бөліп көрсете алады',
    ru: 'Аналитик задаёт границы дат с точностью до года или месяца (ГГГГ или ГГГГ-ММ), а не {value}: разность двух счётов с разницей в день может выделить одно посещение',
    en: 'An analyst bounds dates by the year or the month (YYYY or YYYY-MM), not {value}: two counts a day apart, subtracted, can single out one visit',
  },
} as const satisfies Record<string, Translated>;

/** Throws 403, naming the offending parameter, when an analyst's search is not one the rules above allow. */
export function checkAggregateSearch(request: SearchRequest): void {
  if (request.summary !== 'count' && request.count !== 0) throw refusal('countsOnly', '_summary');
  if (request.includes.length > 0) throw refusal('includes', request.includes[0].reverse ? '_revinclude' : '_include');
  if (request.compartments !== undefined) throw refusal('compartment', 'Patient/[id]');
  const filters = request.types ? request.types.flatMap((t) => t.filters) : request.filters;
  for (const filter of filters) checkFilter(filter);
}

function checkFilter(filter: SearchFilter): void {
  if (filter.kind === 'has') throw refusal('narrowing', `_has:${filter.referrerType}:${filter.referenceCode}`);
  if (filter.kind === 'chain') throw refusal('narrowing', `${filter.code}.${chainedCode(filter.targets[0]?.next)}`);
  const { code, modifier, parameter } = filter;
  const name = modifier ? `${code}:${modifier}` : code;
  if (code === '_id' || code === 'identifier' || parameter.type === 'reference') throw refusal('narrowing', name);
  if (!AGGREGATE_PARAMETERS.has(code)) throw refusal('notAllowed', name, { allowed: [...AGGREGATE_PARAMETERS].join(', ') });
  if (modifier && COMPLEMENT_MODIFIERS.has(modifier)) throw refusal('complement', name);
  if (parameter.type !== 'date') return;
  for (const value of filter.values) {
    const { prefix, rest } = splitPrefix(value);
    if (!DATE_PREFIXES.has(prefix)) throw refusal(prefix === 'ne' ? 'complement' : 'datePrefix', name, { parameter: `${name}=${prefix}`, value: prefix });
    if (!MONTH_OR_COARSER.test(rest)) throw refusal('datePrecision', name, { value: rest });
  }
}

/** The parameter a chain applies at its end, for the refusal's wording. */
function chainedCode(next: SearchFilter | undefined): string {
  if (!next) return '';
  if (next.kind === 'has') return '_has';
  return next.kind === 'chain' ? `${next.code}.${chainedCode(next.targets[0]?.next)}` : next.code;
}

/**
 * A 403 whose issue names the parameter (`expression`) and says why in English, with Kazakh and
 * Russian translations (https://hl7.org/fhir/R4/extension-translation.html).
 */
function refusal(key: keyof typeof REFUSALS, parameter: string, values: Record<string, string> = {}): FhirError {
  const fill = (text: string) => fillTemplate(text, { ...values, parameter: values.parameter ?? parameter });
  const text = REFUSALS[key];
  const translation = (lang: 'kk' | 'ru') => ({
    url: 'http://hl7.org/fhir/StructureDefinition/translation',
    extension: [
      { url: 'lang', valueCode: lang },
      { url: 'content', valueString: fill(text[lang]) },
    ],
  });
  // Medplum's CodeableConcept has no `_text` (the extensions of the primitive).
  const issue = {
    severity: 'error',
    code: 'forbidden',
    details: { text: fill(text.en), _text: { extension: [translation('kk'), translation('ru')] } },
    expression: [parameter],
  } as OperationOutcomeIssue;
  return new FhirError(403, outcome([issue]));
}
