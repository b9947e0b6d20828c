import {
  type TypedValue,
  convertToSearchableDates,
  convertToSearchableNumbers,
  convertToSearchableQuantities,
  convertToSearchableReferences,
  convertToSearchableStrings,
  convertToSearchableTokens,
  convertToSearchableUris,
  evalFhirPathTyped,
  getSearchParameterDetails,
  getSearchParameters,
  globalSchema,
  indexSearchParameter,
  indexSearchParameterBundle,
  toTypedValue,
} from '@medplum/core';
import type { Bundle, CodeableConcept, Coding, Resource, SearchParameter } from '@medplum/fhirtypes';
import { loadDefinitions, readSpecFile } from './definitions.js';
import { canonicalQuantityRows, compositeAndPositionRows, forgetComposites, identifierTypeRows, isDerived, referenceIdentifierRows } from './derived-index.js';
import { isJsonObject } from './json.js';
import { normalizeString } from './normalize.js';
import { compileSearchPath } from './search-path.js';

/** Search parameters answered from the resource table itself rather than from index rows. */
const COLUMN_PARAMETERS = new Set(['_id', '_lastUpdated']);
export const TEXT_SYSTEM = '\u0000text';

let loaded = false;

function ensureLoaded(): void {
  if (loaded) return;
  loadDefinitions();
  indexSearchParameterBundle(readSpecFile<Bundle<SearchParameter>>('fhir/r4/search-parameters.json'));
  loaded = true;
}

/** The R4 search parameters of a resource type by code, including the ones every resource has. */
export function searchParameters(resourceType: string): Record<string, SearchParameter> {
  ensureLoaded();
  const own = getSearchParameters(resourceType) ?? {};
  // Binary, Bundle and Parameters are Resources but not DomainResources: the registry lists only
  // their own parameters, so the ones every Resource has (_id, _lastUpdated, _tag…) are added.
  if (resourceType === 'Resource' || '_lastUpdated' in own) return own;
  const common = Object.entries(getSearchParameters('Resource') ?? {}).filter(([, parameter]) => parameter.expression);
  return { ...Object.fromEntries(common), ...own };
}

/**
 * Adds SearchParameter resources held by the server to the definitions, so their values are
 * indexed from then on (and, after `densaulyq reindex`, for what was stored before).
 * https://hl7.org/fhir/R4/searchparameter.html
 */
export function registerSearchParameters(parameters: readonly SearchParameter[]): void {
  ensureLoaded();
  for (const parameter of parameters) {
    if (parameter.status === 'retired' || !parameter.code || !parameter.expression || !parameter.base?.length) continue;
    for (const resourceType of parameter.base) {
      const key = `${resourceType}|${parameter.code}`;
      // The R4 definition a custom one shadows comes back when the custom one goes.
      let entry = registered.get(key);
      if (!entry) {
        entry = { shadowed: getSearchParameters(resourceType)?.[parameter.code] };
        registered.set(key, entry);
      }
      entry.id = parameter.id;
      entry.parameter = parameter;
      forgetDetails(resourceType, parameter.code);
    }
    indexSearchParameter(parameter);
  }
  forgetCompiled();
}

/**
 * Removes SearchParameter resources the server no longer holds (deleted, or changed to another
 * code or base): values are no longer indexed by them, and an R4 parameter they shadowed is
 * back. A definition registered since by another resource stays.
 */
export function unregisterSearchParameters(parameters: readonly SearchParameter[]): void {
  ensureLoaded();
  for (const parameter of parameters) {
    if (!parameter.code) continue;
    for (const resourceType of parameter.base ?? []) {
      const key = `${resourceType}|${parameter.code}`;
      const entry = registered.get(key);
      const own = getSearchParameters(resourceType);
      if (!entry || entry.id !== parameter.id || !own) continue;
      if (entry.shadowed) own[parameter.code] = entry.shadowed;
      else delete own[parameter.code];
      registered.delete(key);
      forgetDetails(resourceType, parameter.code);
    }
  }
  forgetCompiled();
}

/** Custom parameters in the definitions by `type|code`: the resource holding it, and the R4 one it shadows. */
const registered = new Map<string, { id?: string; parameter?: SearchParameter; shadowed?: SearchParameter }>();

/** The SearchParameter resources registered in this process, to register them in another (a worker thread) alike. */
export function registeredSearchParameters(): SearchParameter[] {
  return [...new Set([...registered.values()].flatMap((entry) => (entry.parameter ? [entry.parameter] : [])))];
}

/** Medplum caches a parameter's parsed expression by type and code: a new definition under the code must not reuse it. */
function forgetDetails(resourceType: string, code: string): void {
  delete globalSchema.types[resourceType]?.searchParamsDetails?.[code];
}

function forgetCompiled(): void {
  typeParameters.clear();
  forgetComposites();
  definitionsVersion++;
}

let definitionsVersion = 0;

/** Changes whenever a SearchParameter is registered or unregistered, so what is built from the definitions knows to build again. */
export function searchParametersVersion(): number {
  return definitionsVersion;
}

export function searchParameter(resourceType: string, code: string): SearchParameter | undefined {
  return searchParameters(resourceType)[code];
}

export interface IndexRows {
  token: [code: string, system: string | null, value: string | null, text: string | null][];
  string: [code: string, value: string, normalized: string][];
  date: [code: string, low: string | null, high: string | null][];
  number: [code: string, low: number | null, high: number | null, system: string | null, unit: string | null][];
  uri: [code: string, value: string][];
  reference: [code: string, targetType: string | null, targetId: string | null, reference: string][];
}

export interface ReferenceTarget {
  type?: string;
  id?: string;
  reference: string;
}

const REFERENCE_PATTERN = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

export function parseReference(reference: string): ReferenceTarget {
  const match = REFERENCE_PATTERN.exec(reference);
  return match ? { type: match[1], id: match[2], reference } : { reference };
}

type Evaluator = (resource: TypedValue) => TypedValue[];

/** A search parameter as applied to one resource type, with its expression ready to evaluate. */
interface TypeParameter {
  readonly parameter: SearchParameter;
  /** The compiled expression, or Medplum's FHIRPath engine where it does not compile. */
  readonly values: Evaluator;
  /** Medplum's FHIRPath engine: the reference that the compiled expressions are held to. */
  readonly fhirPathValues: Evaluator;
  /** A reference parameter whose reference rows are another's (`patient`, src/fhir/derived-index.ts): it writes only its `:identifier` rows. */
  readonly aliased: boolean;
}

interface TypeParameters {
  /** Every parameter with an expression, by code. */
  readonly byCode: ReadonlyMap<string, TypeParameter>;
  /** The ones that become index rows, in the order of `searchParameters`. */
  readonly indexed: readonly TypeParameter[];
}

/**
 * Parameter types whose values become rows; composite and special parameters are answered by the
 * search engine from other rows, and `_id`, `_lastUpdated` and `_compartment` from columns.
 */
const INDEXED_TYPES = new Set(['token', 'string', 'date', 'number', 'quantity', 'uri', 'reference']);
const NOT_INDEXED = new Set([...COLUMN_PARAMETERS, '_compartment']);

const typeParameters = new Map<string, TypeParameters>();

/**
 * The search parameters of a resource type, each with the part of its FHIRPath that applies to
 * that type, compiled once.
 */
function parametersOf(resourceType: string): TypeParameters {
  let parameters = typeParameters.get(resourceType);
  if (parameters) return parameters;
  const byCode = new Map<string, TypeParameter>();
  for (const parameter of Object.values(searchParameters(resourceType))) {
    if (!parameter.expression) continue;
    const expression = getSearchParameterDetails(resourceType, parameter).parsedExpression;
    const fhirPathValues: Evaluator = (typed) => evalFhirPathTyped(expression, [typed], { '%resource': typed });
    const aliased = parameter.type === 'reference' && isDerived(resourceType, parameter.code);
    byCode.set(parameter.code, { parameter, values: compileSearchPath(expression) ?? fhirPathValues, fhirPathValues, aliased });
  }
  // A union (`combo-code`) writes nothing: its rows are its parts'.
  const indexed = [...byCode.values()].filter(
    ({ parameter, aliased }) => INDEXED_TYPES.has(parameter.type) && !NOT_INDEXED.has(parameter.code) && (aliased || !isDerived(resourceType, parameter.code)),
  );
  parameters = { byCode, indexed };
  // A name that is no resource type has no parameters; not remembering it keeps the cache bounded.
  if (byCode.size > 0) typeParameters.set(resourceType, parameters);
  return parameters;
}

const LEAP_SECOND = /(T\d\d:\d\d:)60(?:\.\d+)?/;

/**
 * FHIR allows a leap second (`23:59:60`), JavaScript dates do not: it is indexed as the last
 * millisecond of the minute, which orders it correctly against every other instant.
 */
function leapSecondAsLastMillisecond(value: TypedValue): TypedValue {
  const replace = (text: unknown) => (typeof text === 'string' ? text.replace(LEAP_SECOND, '$159.999') : text);
  if (typeof value.value === 'string') return { ...value, value: replace(value.value) };
  if (value.type === 'Period' && value.value) return { ...value, value: { ...value.value, start: replace(value.value.start), end: replace(value.value.end) } };
  return value;
}

const NAME_PARTS = ['family', 'given', 'prefix', 'suffix', 'text'] as const;
const ADDRESS_PARTS = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'] as const;

/**
 * The parts of a HumanName or Address, each its own string row besides the whole: `name` and
 * `address` match when ANY part starts with the value (https://hl7.org/fhir/R4/search.html#string),
 * so `name=Ғалым` finds «Әлия Ғалым» by her family name.
 */
function nameAndAddressParts(value: TypedValue): string[] {
  const parts = value.type === 'HumanName' ? NAME_PARTS : value.type === 'Address' ? ADDRESS_PARTS : undefined;
  const record: unknown = value.value;
  if (!parts || !isJsonObject(record)) return [];
  return parts.flatMap((part) => {
    const item = record[part];
    return (Array.isArray(item) ? item : [item]).filter((text): text is string => typeof text === 'string' && text !== '');
  });
}

/** The resources a reference search parameter of `resource` points at. */
export function referenceTargets(resource: Resource, code: string): ReferenceTarget[] {
  const entry = parametersOf(resource.resourceType).byCode.get(code);
  if (!entry || entry.parameter.type !== 'reference') return [];
  return convertToSearchableReferences(entry.values(toTypedValue(resource))).map(parseReference);
}

/**
 * The search index rows of a resource, extracted from the R4 SearchParameter expressions
 * (https://hl7.org/fhir/R4/searchparameter.html). Written in the same transaction as the resource.
 */
export function extractSearchIndex(resource: Resource): IndexRows {
  return indexRows(resource, 'values');
}

/**
 * The same rows with every expression evaluated by Medplum's FHIRPath engine, which
 * `extractSearchIndex` must always agree with: the tests compare the two over whole populations.
 */
export function extractSearchIndexByFhirPath(resource: Resource): IndexRows {
  return indexRows(resource, 'fhirPathValues');
}

function indexRows(resource: Resource, evaluator: 'values' | 'fhirPathValues'): IndexRows {
  const rows: IndexRows = { token: [], string: [], date: [], number: [], uri: [], reference: [] };
  const typed = toTypedValue(resource);
  for (const entry of parametersOf(resource.resourceType).indexed) {
    const { parameter } = entry;
    const code = parameter.code;
    const values = entry[evaluator](typed);
    if (values.length === 0) continue;
    if (entry.aliased) referenceIdentifierRows(code, values, rows);
    else valueRows(code, parameter.type, values, rows);
  }
  compositeAndPositionRows(resource, typed, rows);
  return rows;
}

/**
 * Token rows (https://hl7.org/fhir/R4/search.html#token): one per distinct system and code, as
 * Medplum's convertToSearchableTokens finds them, with the coding's display (normalized) in
 * `text_value` for `:text`. So a coded concept is one row rather than a code row and a text row.
 * A text that no code row carries (a CodeableConcept.text unlike every display, a second display
 * of a repeated code, Identifier.type.text) gets a row of its own, without a code.
 */
function tokenRows(code: string, values: TypedValue[], rows: IndexRows): void {
  const coded = new Set<string>();
  const carried = new Set<string>();
  const texts: string[] = [];
  const codeRow = (system: string | undefined, value: string | undefined, display: string | undefined) => {
    const key = JSON.stringify([system ?? null, value ?? null]);
    const text = display ? normalizeString(display) : null;
    if (coded.has(key)) {
      if (text) texts.push(text);
      return;
    }
    coded.add(key);
    if (text) carried.add(text);
    rows.token.push([code, system ?? null, value ?? null, text]);
  };
  const coding = (c: Coding) => {
    if (c.system || c.code) codeRow(c.system, c.code, c.display);
    else if (c.display) texts.push(normalizeString(c.display));
  };
  for (const value of values) {
    const item: unknown = value.value;
    if (value.type === 'CodeableConcept' && isJsonObject(item)) {
      const concept = item as CodeableConcept;
      if (concept.text) texts.push(normalizeString(concept.text));
      for (const c of concept.coding ?? []) coding(c);
    } else if (value.type === 'Coding' && isJsonObject(item)) {
      coding(item as Coding);
    } else {
      for (const token of convertToSearchableTokens([value], { textSearchSystem: TEXT_SYSTEM })) {
        if (token.system === TEXT_SYSTEM) {
          if (token.value) texts.push(normalizeString(token.value));
        } else codeRow(token.system, token.value, undefined);
      }
    }
  }
  for (const text of texts) {
    if (carried.has(text)) continue;
    carried.add(text);
    rows.token.push([code, null, null, text]);
  }
}

/**
 * The index rows of a parameter's values, by the parameter's type; composite parameters use it
 * for their components too, under their own codes.
 */
export function valueRows(code: string, type: string, values: TypedValue[], rows: IndexRows): void {
  switch (type) {
    case 'token':
      tokenRows(code, values, rows);
      identifierTypeRows(code, values, rows);
      break;
    case 'string': {
      const strings = new Set<string>();
      for (const value of convertToSearchableStrings(values)) if (typeof value === 'string') strings.add(value);
      for (const value of values) for (const part of nameAndAddressParts(value)) strings.add(part);
      for (const value of strings) rows.string.push([code, value, normalizeString(value)]);
      break;
    }
    case 'date':
      for (const period of convertToSearchableDates(values.map(leapSecondAsLastMillisecond))) rows.date.push([code, period.start ?? null, period.end ?? null]);
      break;
    case 'number':
      for (const [low, high] of convertToSearchableNumbers(values)) rows.number.push([code, low ?? null, high ?? null, null, null]);
      break;
    case 'quantity':
      for (const q of convertToSearchableQuantities(values)) {
        if (q.value !== undefined) rows.number.push([code, q.value, q.value, q.system ?? null, q.code ?? q.unit ?? null]);
      }
      canonicalQuantityRows(code, values, rows);
      break;
    case 'uri':
      for (const value of convertToSearchableUris(values)) rows.uri.push([code, value]);
      break;
    case 'reference': {
      // A reference by identifier alone is to the type its Reference.type says, so `patient` (rows of `subject` to a Patient) finds it.
      const identifierTypes = new Map<string, string>();
      for (const { value } of values) {
        if (isJsonObject(value) && typeof value.type === 'string' && !value.reference && isJsonObject(value.identifier)) {
          identifierTypes.set(`identifier:${value.identifier.system}|${value.identifier.value}`, value.type);
        }
      }
      for (const reference of convertToSearchableReferences(values)) {
        const target = parseReference(reference);
        rows.reference.push([code, target.type ?? identifierTypes.get(reference) ?? null, target.id ?? null, reference]);
      }
      referenceIdentifierRows(code, values, rows);
      break;
    }
  }
}
