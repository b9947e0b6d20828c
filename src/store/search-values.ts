import { dateRange } from '../fhir/dates.js';
import { type CompositeComponent, NEAR, type StoredRows, branchKeyCodes, canonicalCode, compositeCode, compositeDefinition, ofTypeCode, storedRows } from '../fhir/derived-index.js';
import { normalizeString } from '../fhir/normalize.js';
import { badRequest } from '../fhir/outcome.js';
import { searchParameters } from '../fhir/search-parameters.js';
import { type Prefix, type ValueFilter, splitPrefix } from '../fhir/search-request.js';
import { UCUM_SYSTEM, canonicalQuantity } from '../fhir/ucum.js';
import type { SqlParams } from './sql-params.js';
import { hierarchyCodes, valueSetMembers } from './value-sets.js';

/**
 * Where the rows of a filter live (see src/fhir/derived-index.ts for the rows beyond plain
 * values): `:identifier` reads a reference parameter's identifiers from search_token, a composite
 * its token component from search_token, and `near` the positions from search_number.
 */
export function tableOf(filter: ValueFilter): string {
  switch (filter.parameter.type) {
    case 'token':
    case 'composite':
      return 'search_token';
    case 'string':
      return 'search_string';
    case 'date':
      return 'search_date';
    case 'number':
    case 'quantity':
      return 'search_number';
    case 'uri':
      return 'search_uri';
    case 'reference':
      return filter.modifier === 'identifier' ? 'search_token' : 'search_reference';
    case 'special':
      if (filter.code === NEAR) return 'search_number';
      break;
  }
  throw badRequest(`Search parameter "${filter.code}" of type ${filter.parameter.type} is not supported`, filter.code);
}

/**
 * The index rows a filter reads (src/fhir/derived-index.ts): its parameter's, those of the
 * parameters it is the union of (`combo-code`) or an alias of (`patient`), or for a composite the
 * key rows of each of its bases. `:identifier` reads a reference parameter's own token rows.
 */
export function filterRows(filter: ValueFilter): StoredRows {
  const { resourceType, code, parameter } = filter;
  if (parameter.type === 'composite') {
    const definition = compositeDefinition(resourceType, parameter, searchParameters(resourceType));
    if (!definition) return { codes: [code] };
    return { codes: [...new Set(definition.branches.flatMap((b) => branchKeyCodes(b, definition.keyIndex)))] };
  }
  return parameter.type === 'special' || filter.modifier === 'identifier' ? { codes: [code] } : storedRows(resourceType, code);
}

/**
 * For `:missing`, the condition on a key row `s` of a composite that its resource has a value for
 * it: on an element below the resource, a keyed row, written only where every component has a
 * value (src/fhir/derived-index.ts); on the resource itself, a code and a row of every other component.
 */
export function compositePresence(filter: ValueFilter, params: SqlParams): string {
  const definition = compositeDefinition(filter.resourceType, filter.parameter, searchParameters(filter.resourceType));
  if (!definition) return codeIs('s', [filter.code], params);
  const branches = definition.branches.map((branch) => {
    const key = codeIs('s', branchKeyCodes(branch, definition.keyIndex), params);
    if (branch.kind === 'stored') return key;
    const others = definition.components.flatMap((component, index) =>
      index === definition.keyIndex
        ? []
        : [`s.id IN (SELECT c.id FROM ${componentTable(filter, component)} c
            WHERE c.resource_type = ${params.add(filter.resourceType)} AND ${codeIs('c', branch.codes[index], params)})`],
    );
    return `(${[key, 's.value IS NOT NULL', ...others].join(' AND ')})`;
  });
  return branches.length === 1 ? branches[0] : `(${branches.join(' OR ')})`;
}

/** The table of a composite component's rows: its own parameter's type decides. */
function componentTable(filter: ValueFilter, component: CompositeComponent): string {
  return tableOf({ ...filter, parameter: component.parameter, modifier: undefined });
}

/** `row` is one of the rows `rows` names. */
export function rowsIn(row: string, rows: StoredRows, params: SqlParams): string {
  const codes = codeIs(row, rows.codes, params);
  return rows.targetType ? `${codes} AND ${row}.target_type = ${params.add(rows.targetType)}` : codes;
}

function codeIs(row: string, codes: readonly string[], params: SqlParams): string {
  return codes.length === 1 ? `${row}.code = ${params.add(codes[0])}` : `${row}.code IN (${codes.map((c) => params.add(c)).join(', ')})`;
}

/** The modifiers each parameter type takes besides `:missing` (https://hl7.org/fhir/R4/search.html#modifiers). */
const MODIFIERS: Record<string, ReadonlySet<string | undefined>> = {
  token: new Set([undefined, 'not', 'text', 'in', 'not-in', 'above', 'below', 'of-type']),
  string: new Set([undefined, 'exact', 'contains']),
  uri: new Set([undefined, 'above', 'below']),
};
const NO_MODIFIER: ReadonlySet<string | undefined> = new Set([undefined]);

/**
 * The condition one search value puts on the index row `s` of the filter's table
 * (https://hl7.org/fhir/R4/search.html#ptypes). Comma-separated values are ORed by the caller,
 * which also applies `:missing` and the resource-level negation of `:not`.
 */
export function valueCondition(filter: ValueFilter, value: string, params: SqlParams): string {
  const { code, modifier, resourceType } = filter;
  const expression = modifier ? `${code}:${modifier}` : code;
  const type = filter.parameter.type;
  if (type === 'reference') return referenceCondition('s', value, modifier, params, expression);
  if (!(MODIFIERS[type] ?? NO_MODIFIER).has(modifier)) throw unsupportedModifier(expression);
  switch (type) {
    case 'token':
      return tokenCondition('s', resourceType, filterRows(filter).codes, value, modifier, params, expression);
    case 'string':
      return stringCondition('s', value, modifier, params);
    case 'date':
      return dateComparison(value, 's.low', 's.high', params, expression);
    case 'number':
      return numberCondition('s', value, params, expression);
    case 'quantity':
      return quantityCondition('s', resourceType, filterRows(filter).codes, value, params, expression);
    case 'uri':
      return uriCondition('s', value, modifier, params);
    case 'composite':
      return compositeCondition(filter, value, params, expression);
    default:
      return nearCondition(value, params, expression);
  }
}

/**
 * Splits a value on a separator not escaped with `\`, and unescapes `\|`, `\$`, `\,` and `\\`
 * in the parts (https://hl7.org/fhir/R4/search.html#escaping).
 */
function splitEscaped(value: string, separator: '|' | '$'): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const next = value[i + 1];
    if (ch === '\\' && next !== undefined && '|$,\\'.includes(next)) {
      // Escapes of the other separator stay until that part is split in turn.
      current += next === separator || next === ',' ? next : ch + next;
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\([|$,\\])/g, '$1');
}

/** A token search value: `[system]|[code]`, `|[code]` (no system), `[system]|` or `[code]`. */
interface TokenValue {
  /** `undefined`: any system; `''`: no system. */
  system?: string;
  code?: string;
}

function parseToken(value: string): TokenValue {
  const parts = splitEscaped(value, '|').map(unescape);
  if (parts.length === 1) return { code: parts[0] };
  if (parts.length === 2) return { system: parts[0], code: parts[1] === '' ? undefined : parts[1] };
  throw badRequest(`Token "${value}" has more than one unescaped "|"`, 'token');
}

function tokenMatch(row: string, token: TokenValue, params: SqlParams): string {
  const conditions: string[] = [];
  if (token.code !== undefined) conditions.push(`${row}.value = ${params.add(token.code)}`);
  if (token.system === '') conditions.push(`${row}.system IS NULL`);
  else if (token.system !== undefined) conditions.push(`${row}.system = ${params.add(token.system)}`);
  return `(${conditions.join(' AND ')})`;
}

/** https://hl7.org/fhir/R4/search.html#token */
function tokenCondition(
  row: string,
  resourceType: string,
  codes: readonly string[],
  value: string,
  modifier: string | undefined,
  params: SqlParams,
  expression: string,
): string {
  switch (modifier) {
    case 'text':
      // Rows of CodeableConcept.text and Coding.display carry only text_value.
      return `${row}.text_value LIKE ${params.add(escapeLike(normalizeString(unescape(value))) + '%')}`;
    case 'in':
      return `(${row}.system, ${row}.value) IN (${valueSetMembers(unescape(value), params)})`;
    case 'not-in':
      // Resource level, like :not: none of the resource's codes of the parameter is in the value set.
      return `${row}.id NOT IN (SELECT t.id FROM search_token t WHERE t.resource_type = ${params.add(resourceType)}
        AND ${codeIs('t', codes, params)} AND (t.system, t.value) IN (${valueSetMembers(unescape(value), params)}))`;
    case 'above':
    case 'below': {
      const token = parseToken(value);
      if (!token.system || token.code === undefined) throw badRequest(`:${modifier} takes system|code`, expression);
      return `(${row}.system = ${params.add(token.system)} AND ${row}.value IN (${hierarchyCodes(modifier, token.system, token.code, params)}))`;
    }
    case 'of-type': {
      // identifier:of-type=[type system]|[type code]|[identifier value]
      const parts = splitEscaped(value, '|').map(unescape);
      if (parts.length !== 3 || !parts[1] || !parts[2]) throw badRequest(`:of-type takes system|code|value`, expression);
      return `${row}.id IN (SELECT t.id FROM search_token t WHERE t.resource_type = ${params.add(resourceType)}
        AND ${codeIs('t', codes.map(ofTypeCode), params)} AND t.value = ${params.add(parts[2])} AND t.system = ${params.add(`${parts[0]}|${parts[1]}`)})`;
    }
    default: {
      const token = parseToken(value);
      if (token.code === undefined && token.system === undefined) throw badRequest(`Empty token "${value}"`, expression);
      return tokenMatch(row, token, params);
    }
  }
}

/** https://hl7.org/fhir/R4/search.html#string: starts with, ignoring case, accents and Kazakh letter variants. */
function stringCondition(row: string, value: string, modifier: string | undefined, params: SqlParams): string {
  const text = unescape(value);
  if (modifier === 'exact') return `${row}.value = ${params.add(text)}`;
  const normalized = escapeLike(normalizeString(text));
  return `${row}.normalized LIKE ${params.add((modifier === 'contains' ? '%' : '') + normalized + '%')}`;
}

/**
 * https://hl7.org/fhir/R4/search.html#uri: equality; `:below` finds URLs under the given one and
 * `:above` the ones it is under, both by whole path segments.
 */
function uriCondition(row: string, value: string, modifier: string | undefined, params: SqlParams): string {
  const uri = unescape(value);
  const stem = uri.replace(/\/+$/, '');
  if (modifier === 'below') return `(${row}.value = ${params.add(uri)} OR ${row}.value LIKE ${params.add(escapeLike(stem) + '/%')})`;
  if (modifier === 'above') {
    const given = params.add(uri);
    return `(${row}.value = ${given} OR starts_with(${given}::text, rtrim(${row}.value, '/') || '/'))`;
  }
  return `${row}.value = ${params.add(uri)}`;
}

/**
 * https://hl7.org/fhir/R4/search.html#reference: `[type]/[id]`, `[id]` (with `:[type]` or any
 * type), an absolute URL, or with `:identifier` a token on Reference.identifier.
 */
function referenceCondition(row: string, value: string, modifier: string | undefined, params: SqlParams, expression: string): string {
  if (modifier === 'identifier') {
    const token = parseToken(value);
    if (token.code === undefined) throw badRequest(`:identifier takes [system]|value`, expression);
    return tokenMatch(row, token, params);
  }
  const typeModifier = modifier && /^[A-Z]/.test(modifier) ? modifier : undefined;
  if (modifier && !typeModifier) throw unsupportedModifier(expression);
  const reference = unescape(value);
  if (/^(https?:|urn:)/.test(reference)) {
    const local = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
    const byUrl = `${row}.reference = ${params.add(reference)}`;
    return local ? `(${byUrl} OR (${row}.target_type = ${params.add(local[1])} AND ${row}.target_id = ${params.add(local[2])}))` : byUrl;
  }
  const parts = reference.split('/');
  if (parts.length !== 1 && parts.length !== 2 && !(parts.length === 4 && parts[2] === '_history')) {
    throw badRequest(`Invalid reference "${value}"`, expression);
  }
  const [type, id] = parts.length >= 2 ? [parts[0], parts[1]] : [typeModifier, parts[0]];
  if (typeModifier && type !== typeModifier) throw badRequest(`Reference "${value}" does not match the :${typeModifier} modifier`, expression);
  const byId = `${row}.target_id = ${params.add(id)}`;
  return type ? `(${byId} AND ${row}.target_type = ${params.add(type)})` : byId;
}

/** The bounds of a search value as SQL expressions, each built on first use: an unused parameter has no type PostgreSQL can infer. */
interface Bounds {
  /** The low and high ends of the value's implicit range. */
  readonly low: string;
  readonly high: string;
  /** The range `ap` accepts. */
  readonly approximateLow: string;
  readonly approximateHigh: string;
}

function lazyBounds(build: { [K in keyof Bounds]: () => string }): Bounds {
  const built = new Map<keyof Bounds, string>();
  const get = (key: keyof Bounds) => {
    let sql = built.get(key);
    if (sql === undefined) built.set(key, (sql = build[key]()));
    return sql;
  };
  return {
    get low() {
      return get('low');
    },
    get high() {
      return get('high');
    },
    get approximateLow() {
      return get('approximateLow');
    },
    get approximateHigh() {
      return get('approximateHigh');
    },
  };
}

/**
 * Prefixes on ranges (https://hl7.org/fhir/R4/search.html#prefix): the target's range
 * [low, high] against the search value's range. A NULL end is open (a Period without an end is
 * ongoing). `ge` and `le` are as the spec words them: the range above (below) the search value
 * meets the target's, or the search value's range contains it.
 */
function rangeComparison(prefix: Prefix, low: string, high: string, q: Bounds, highOperator: '<' | '<='): string {
  // Built only for the prefix at hand: each bound is a parameter, and an unused one breaks the statement.
  // `low <= q.high` follows from the other two (low <= high), but said outright it lets the
  // planner read the date index as one range instead of guessing a fifth of the table matches.
  const contained = () => `(${low} >= ${q.low} AND ${low} ${highOperator} ${q.high} AND ${high} ${highOperator} ${q.high})`;
  const above = () => `(${high} IS NULL OR ${high} > ${q.high})`;
  const below = () => `(${low} IS NULL OR ${low} < ${q.low})`;
  switch (prefix) {
    case 'eq':
      return contained();
    case 'ne':
      return `${contained()} IS NOT TRUE`;
    case 'gt':
      return above();
    case 'lt':
      return below();
    case 'ge':
      return `(${above()} OR ${contained()})`;
    case 'le':
      return `(${below()} OR ${contained()})`;
    case 'sa':
      return `${low} > ${q.high}`;
    case 'eb':
      return `${high} < ${q.low}`;
    case 'ap':
      return `((${high} IS NULL OR ${high} >= ${q.approximateLow}) AND (${low} IS NULL OR ${low} <= ${q.approximateHigh}))`;
  }
}

/**
 * A date search value against the columns `low` and `high` (https://hl7.org/fhir/R4/search.html#date):
 * `2024` stands for the whole year. `ap` widens the value's range on each side by 10% of the time
 * between it and now, the approximation the spec recommends.
 */
export function dateComparison(value: string, low: string, high: string, params: SqlParams, expression: string): string {
  const { prefix, rest } = splitPrefix(value);
  const range = dateRange(rest, expression);
  const margin = () => {
    const low = Date.parse(range.low);
    const high = Date.parse(range.high);
    return 0.1 * Math.abs(Date.now() - (low + high) / 2);
  };
  const instant = (value: string) => `${params.add(value)}::timestamptz`;
  const q = lazyBounds({
    low: () => instant(range.low),
    high: () => instant(range.high),
    approximateLow: () => instant(new Date(Date.parse(range.low) - margin()).toISOString()),
    approximateHigh: () => instant(new Date(Date.parse(range.high) + margin()).toISOString()),
  });
  return rangeComparison(prefix, low, high, q, '<=');
}

const NUMBER_PATTERN = /^([+-]?(?:\d+(?:\.(\d+))?|\.(\d+)))(?:[eE]([+-]?\d+))?$/;

/** A number search value with the half-width of its implicit range, as exact decimal text. */
interface SearchNumber {
  text: string;
  value: number;
  halfWidth: string;
}

/**
 * Implicit precision (https://hl7.org/fhir/R4/search.html#number): `100` stands for [99.5, 100.5)
 * and `100.00` for [99.995, 100.005); in exponential form the spec's example reads `1e2` as
 * [95, 105), half a unit of the digit after the mantissa's last.
 */
function parseNumber(text: string, expression: string): SearchNumber {
  const match = NUMBER_PATTERN.exec(text);
  if (!match) throw badRequest(`Invalid number "${text}"`, expression);
  const decimals = (match[2] ?? match[3] ?? '').length;
  const exponent = match[4] === undefined ? undefined : Number(match[4]);
  const halfWidth = exponent === undefined ? `5e${-decimals - 1}` : `5e${exponent - decimals - 2}`;
  return { text, value: Number(text), halfWidth };
}

/**
 * A number value against a row's [low, high]. With `gt`, `lt`, `ge`, `le`, `sa` and `eb` the
 * implicit precision is ignored, as the spec says; `ap` accepts 10% of the value either side
 * (at least the implicit range).
 *
 * The implicit range is the SEARCH value's ("the precision of the search value determines the
 * range", https://hl7.org/fhir/R4/search.html#number): `1.5` finds [1.45, 1.55), `1.50` finds
 * [1.495, 1.505). A stored decimal is indexed by its number, low = high, whatever text it was
 * sent in (src/fhir/json.ts keeps that text for the resource only), so a stored 1.50 and 1.5 are
 * found by the same searches; beyond a double's 15 to 17 digits the index holds the nearest double.
 */
function numberComparison(row: string, prefix: Prefix, n: SearchNumber, params: SqlParams, toCanonical?: (value: number) => number): string {
  const exact = prefix !== 'eq' && prefix !== 'ne' && prefix !== 'ap';
  const half = Number(n.halfWidth);
  const margin = Math.max(Math.abs(n.value) * 0.1, half);
  const decimal = (value: number) => `${params.add(String(toCanonical ? toCanonical(value) : value))}::numeric`;
  let value: string | undefined;
  // As written, the value is compared in exact decimal arithmetic; after a unit conversion, in floating point.
  const written = () => (value ??= `${params.add(n.text)}::numeric`);
  const q = lazyBounds({
    low: () => (exact ? (toCanonical ? decimal(n.value) : written()) : toCanonical ? decimal(n.value - half) : `(${written()} - ${params.add(n.halfWidth)}::numeric)`),
    high: () => (exact ? (toCanonical ? decimal(n.value) : written()) : toCanonical ? decimal(n.value + half) : `(${written()} + ${params.add(n.halfWidth)}::numeric)`),
    approximateLow: () => decimal(n.value - margin),
    approximateHigh: () => decimal(n.value + margin),
  });
  return rangeComparison(prefix, `${row}.low`, `${row}.high`, q, exact ? '<=' : '<');
}

/** https://hl7.org/fhir/R4/search.html#number */
function numberCondition(row: string, value: string, params: SqlParams, expression: string): string {
  const { prefix, rest } = splitPrefix(value);
  return numberComparison(row, prefix, parseNumber(rest, expression), params);
}

/**
 * https://hl7.org/fhir/R4/search.html#quantity: `[number]`, `[number]|[system]|[code]` or
 * `[number]||[code]` (any system). When the unit is UCUM, the value is also compared in base
 * units with the `:canonical` rows, so 5 mmol/L finds 6000 umol/L.
 */
function quantityCondition(row: string, resourceType: string, codes: readonly string[], value: string, params: SqlParams, expression: string): string {
  const { prefix, rest } = splitPrefix(value);
  const parts = splitEscaped(rest, '|').map(unescape);
  if (parts.length !== 1 && parts.length !== 3) throw badRequest(`Quantity "${value}" takes number|system|code`, expression);
  const [numberText, system, unit] = parts as [string, string?, string?];
  const n = parseNumber(numberText, expression);
  const conditions = [numberComparison(row, prefix, n, params)];
  if (system) conditions.push(`${row}.system = ${params.add(system)}`);
  if (unit) conditions.push(`${row}.unit = ${params.add(unit)}`);
  const same = `(${conditions.join(' AND ')})`;
  const unitOfMeasure = unit && (!system || system === UCUM_SYSTEM) ? canonicalQuantity(1, unit) : undefined;
  if (!unit || !unitOfMeasure) return same;
  // The unit converts (unitOfMeasure above), whatever the number.
  const toCanonical = (v: number) => canonicalQuantity(v, unit)!.value;
  return `(${same} OR ${row}.id IN (SELECT q.id FROM search_number q WHERE q.resource_type = ${params.add(resourceType)}
    AND ${codeIs('q', codes.map(canonicalCode), params)} AND q.unit = ${params.add(unitOfMeasure.unit)} AND ${numberComparison('q', prefix, n, params, toCanonical)}))`;
}

/**
 * https://hl7.org/fhir/R4/search.html#composite: `code-value-quantity=http://loinc.org|2345-7$gt5`.
 * The components must hold on the same element. Below the resource (Observation.component) the
 * rows of the other components are filed under the value of the token component of their element
 * (`<code>$<token>`), so a token matching `system|code`, `|code` or `code` exactly selects them;
 * on the resource itself, any row of each component's parameter is on that element. A composite
 * of several bases matches on any. The token part takes no `system|` form.
 */
function compositeCondition(filter: ValueFilter, value: string, params: SqlParams, expression: string): string {
  const definition = compositeDefinition(filter.resourceType, filter.parameter, searchParameters(filter.resourceType));
  if (!definition) throw badRequest(`Composite parameter "${filter.code}" is not supported`, expression);
  const parts = splitEscaped(value, '$');
  if (parts.length !== definition.components.length) {
    throw badRequest(`"${filter.code}" takes ${definition.components.length} values separated by $`, expression);
  }
  const keyText = parts[definition.keyIndex];
  const key = parseToken(keyText);
  if (key.code === undefined) throw badRequest(`The token part of "${filter.code}" needs a code`, expression);
  const keyCode = key.system === undefined ? key.code : `${key.system}|${key.code}`;
  const branches = definition.branches.map((branch) => {
    const conditions = [codeIs('s', branchKeyCodes(branch, definition.keyIndex), params), tokenMatch('s', key, params)];
    definition.components.forEach((component, index) => {
      if (index === definition.keyIndex) return;
      const codes = branch.kind === 'stored' ? [compositeCode(branch.code, keyCode)] : branch.codes[index];
      const type = component.parameter.type;
      const table = componentTable(filter, component);
      const part = parts[index];
      const condition =
        type === 'quantity'
          ? quantityCondition('c', filter.resourceType, codes, part, params, expression)
          : type === 'token'
            ? tokenCondition('c', filter.resourceType, codes, part, undefined, params, expression)
            : type === 'string'
              ? stringCondition('c', part, undefined, params)
              : type === 'date'
                ? dateComparison(part, 'c.low', 'c.high', params, expression)
                : type === 'number'
                  ? numberCondition('c', part, params, expression)
                  : type === 'uri'
                    ? uriCondition('c', part, undefined, params)
                    : referenceCondition('c', part, undefined, params, expression);
      conditions.push(`s.id IN (SELECT c.id FROM ${table} c WHERE c.resource_type = ${params.add(filter.resourceType)}
        AND ${codeIs('c', codes, params)} AND ${condition})`);
    });
    return `(${conditions.join(' AND ')})`;
  });
  return branches.length === 1 ? branches[0] : `(${branches.join(' OR ')})`;
}

/** Mean earth radius in metres, for the great-circle distance. */
const EARTH_RADIUS = 6_371_000;
/** `near` without a distance: the spec leaves "near" to the server. */
const DEFAULT_NEAR_METRES = 10_000;

/**
 * `near=[latitude]|[longitude]|[distance]|[units]` on Location.position (https://hl7.org/fhir/R4/location.html#search):
 * within `distance` (UCUM length units, km when absent) along a great circle, by the haversine
 * formula on a sphere of radius 6371 km. Rows hold the latitude in `low` and the longitude in `high`.
 */
function nearCondition(value: string, params: SqlParams, expression: string): string {
  const [latitudeText, longitudeText, distanceText, units] = splitEscaped(value, '|').map(unescape);
  const latitude = Number(latitudeText);
  const longitude = Number(longitudeText);
  const valid = (text: string | undefined, limit: number, n: number) => !!text && NUMBER_PATTERN.test(text) && Math.abs(n) <= limit;
  if (!valid(latitudeText, 90, latitude) || !valid(longitudeText, 180, longitude)) {
    throw badRequest(`near takes latitude|longitude|distance|units`, expression);
  }
  let metres = DEFAULT_NEAR_METRES;
  if (distanceText) {
    const distance = canonicalQuantity(Number(distanceText), units || 'km');
    if (!NUMBER_PATTERN.test(distanceText) || distance?.unit !== 'm') throw badRequest(`near takes a distance in units of length`, expression);
    metres = distance.value;
  }
  // A latitude band first, which the index on (resource_type, code, low) can serve.
  const degrees = ((metres / EARTH_RADIUS) * 180) / Math.PI;
  const lat = `${params.add(latitude)}::float8`;
  const lon = `${params.add(longitude)}::float8`;
  const haversine = `power(sin(radians(s.low::float8 - ${lat}) / 2), 2) + cos(radians(${lat})) * cos(radians(s.low::float8)) * power(sin(radians(s.high::float8 - ${lon}) / 2), 2)`;
  return `(s.low BETWEEN ${params.add(latitude - degrees)}::numeric AND ${params.add(latitude + degrees)}::numeric
    AND 2 * ${EARTH_RADIUS} * asin(sqrt(least(1, ${haversine}))) <= ${params.add(metres)}::float8)`;
}

function unsupportedModifier(expression: string) {
  return badRequest(`Modifier in "${expression}" is not supported for this parameter`, expression);
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => '\\' + c);
}
