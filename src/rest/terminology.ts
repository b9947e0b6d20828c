import { randomUUID } from 'node:crypto';
import type { Coding, ConceptMap, Parameters, ParametersParameter, ValueSet, ValueSetExpansionParameter } from '@medplum/fhirtypes';
import { isJsonObject } from '../fhir/json.js';
import { type ErrorCode, fhirError } from '../fhir/outcome.js';
import { assertValid, type Locale, negotiateLocale } from '../fhir/validate.js';
import { fillTemplate, LOCALES } from '../fhir/locale.js';
import { codeSystemByUrl, bundledConcept, designations } from '../fhir/terminology/code-systems.js';
import { conceptMapQuery, translate, translated } from '../fhir/terminology/concept-maps.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import { parseStored } from '../store/stored-json.js';
import { conceptsOf, expansion, type ExpansionConcept, VALUE_SETS, valueSetConcepts } from '../fhir/terminology/value-sets.js';
import { parametersBody } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';

/**
 * The terminology operations over the bundled code systems (src/fhir/terminology): codes shown in
 * the reader's language; and `$translate` over the ConceptMaps held, read through the door like any resource.
 */

type Params = Readonly<{ type: string; id?: string }>;

/** What the caller sent: texts, Codings and (for $expand) a ValueSet, each with where it was. */
interface Input {
  name: string;
  text?: string;
  coding?: Coding;
  resource?: unknown;
  /** The element path an error about it points at. */
  expression: string;
}

const TEXT = {
  notParameters: { kk: '{operation} Parameters ресурсын қабылдайды', ru: '{operation} принимает ресурс Parameters', en: '{operation} takes a Parameters resource' },
  unknownParameter: { kk: '{operation} операциясында «{name}» параметрі жоқ', ru: 'У операции {operation} нет параметра «{name}»', en: '{operation} has no parameter "{name}"' },
  repeated: { kk: '«{name}» параметрі бір рет қана беріледі', ru: 'Параметр «{name}» передаётся не более одного раза', en: 'The parameter "{name}" is given at most once' },
  missing: { kk: '{operation} үшін «{name}» параметрі қажет', ru: 'Для {operation} нужен параметр «{name}»', en: '{operation} needs the parameter "{name}"' },
  badValue: { kk: '«{name}» параметрінің мәні дұрыс емес: {expected} күтілген', ru: 'Недопустимое значение параметра «{name}»: ожидается {expected}', en: 'The parameter "{name}" is not valid: expected {expected}' },
  contradicts: { kk: '«{name}» мен «{other}» әртүрлі нәрсені көрсетеді', ru: '«{name}» и «{other}» указывают на разное', en: '"{name}" and "{other}" say different things' },
  unknownSystem: { kk: '«{system}» кодтар жүйесі бұл серверде жоқ', ru: 'Система кодов «{system}» на этом сервере отсутствует', en: 'The code system {system} is not held by this server' },
  unknownCode: { kk: '«{system}» жүйесінде «{code}» коды табылмады', ru: 'Код «{code}» не найден в системе «{system}»', en: 'The code "{code}" is not known in {system}' },
  unknownVersion: { kk: '«{system}» жүйесінің {version} нұсқасы жоқ; серверде {held} нұсқасы бар', ru: 'Версии {version} системы «{system}» нет; на сервере версия {held}', en: 'Version {version} of {system} is not held; this server holds {held}' },
  unknownValueSet: { kk: '«{url}» мәндер жиыны бұл серверде жоқ немесе оны ашу мүмкін емес', ru: 'Набор значений «{url}» на этом сервере отсутствует или не может быть развёрнут', en: 'The value set {url} is not known to this server or cannot be expanded' },
  unknownValueSetId: { kk: 'Бұл серверде «{id}» мәндер жиыны жоқ', ru: 'На этом сервере нет набора значений «{id}»', en: 'No ValueSet "{id}" on this server' },
  unknownConceptMap: { kk: 'Бұл серверде «{url}» ConceptMap жоқ', ru: 'На этом сервере нет ConceptMap «{url}»', en: 'No ConceptMap {url} on this server' },
  noTranslation: { kk: '«{system}|{code}» кодының сәйкес баламасы табылмады', ru: 'Соответствие для кода «{system}|{code}» не найдено', en: 'No equivalent of {system}|{code} is known' },
  notEnumerated: { kk: 'Жіберілген ValueSet кодтарын compose.include.concept ішінде тізуі керек', ru: 'Переданный ValueSet должен перечислять коды в compose.include.concept', en: 'A ValueSet sent to $expand must list its codes in compose.include.concept' },
} as const satisfies Record<string, Record<Locale, string>>;

function error(code: ErrorCode, locale: Locale, key: keyof typeof TEXT, values: Record<string, string>, expression?: string) {
  return fhirError(code, fillTemplate(TEXT[key][locale], values), expression);
}

/** Parameters every GET takes besides the operation's own: the response format. */
const FORMAT_PARAMETERS = new Set(['_format', '_pretty']);

/**
 * The inputs of an operation, from the query of a GET or the Parameters body of a POST
 * (https://hl7.org/fhir/R4/operations.html#request). Unknown names are a 400 naming them. In a
 * GET a Coding is written `system|code`.
 */
function readInputs(request: FhirRequest, operation: string, known: ReadonlySet<string>, locale: Locale): Input[] {
  if (request.method === 'POST') {
    const body = parametersBody(request, fillTemplate(TEXT.notParameters[locale], { operation }), 'Parameters');
    // Valid against R4 (a 422 otherwise), so each parameter has the shape its type says.
    assertValid(body, { locale });
    return (body.parameter ?? []).map((parameter) => postInput(parameter, operation, known, locale));
  }
  return request.query
    .filter(([name]) => !FORMAT_PARAMETERS.has(name))
    .map(([name, value]): Input => {
      if (!known.has(name)) throw error('invalid-request', locale, 'unknownParameter', { operation, name }, name);
      if (name !== 'coding') return { name, text: value, expression: name };
      const bar = value.lastIndexOf('|');
      return { name, coding: bar < 0 ? { code: value } : { system: value.slice(0, bar) || undefined, code: value.slice(bar + 1) }, expression: name };
    });
}

function postInput(parameter: ParametersParameter, operation: string, known: ReadonlySet<string>, locale: Locale): Input {
  const name = typeof parameter.name === 'string' ? parameter.name : '';
  const expression = `Parameters.parameter.where(name='${name}')`;
  if (!known.has(name)) throw error('invalid-request', locale, 'unknownParameter', { operation, name }, expression);
  const primitive = parameter.valueCode ?? parameter.valueUri ?? parameter.valueCanonical ?? parameter.valueString ?? parameter.valueInteger ?? parameter.valueBoolean;
  return {
    name,
    ...(primitive !== undefined ? { text: String(primitive) } : {}),
    ...(isJsonObject(parameter.valueCoding) ? { coding: parameter.valueCoding } : {}),
    ...(parameter.resource !== undefined ? { resource: parameter.resource } : {}),
    expression,
  };
}

/** The one input named `name` (a 400 if given twice). */
function single(inputs: Input[], name: string, locale: Locale): Input | undefined {
  const found = inputs.filter((input) => input.name === name);
  if (found.length > 1) throw error('invalid-request', locale, 'repeated', { name }, found[1].expression);
  return found[0];
}

/** The input's value as text; a 400 naming it when it has none. */
function text(input: Input, locale: Locale, expected = 'text'): string {
  if (input.text === undefined || input.text === '') throw error('invalid-request', locale, 'badValue', { name: input.name, expected }, input.expression);
  return input.text;
}

/**
 * The language of displays: `displayLanguage` when given (a language other than kk, ru and en
 * gets the code system's English display), else the first of kk, ru, en in Accept-Language,
 * else English.
 */
function displayLocale(inputs: Input[], request: FhirRequest, locale: Locale): { language: Locale; asked?: string } {
  const input = single(inputs, 'displayLanguage', locale);
  if (input === undefined) return { language: negotiateLocale(request.headers.acceptLanguage) };
  const asked = text(input, locale, 'a BCP-47 language tag');
  if (!/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(asked)) throw error('invalid-request', locale, 'badValue', { name: 'displayLanguage', expected: 'a BCP-47 language tag' }, input.expression);
  // One tag read as an Accept-Language of one: its primary subtag if kk, ru or en, else English.
  return { language: negotiateLocale(asked), asked };
}

/** The code an operation is about: `code` and `system`, or `coding`, which must agree; a 400 naming what is missing. */
function sourceCoding(inputs: Input[], operation: string, locale: Locale): { code: string; system: string } {
  const codeInput = single(inputs, 'code', locale);
  const systemInput = single(inputs, 'system', locale);
  const codingInput = single(inputs, 'coding', locale);
  let code = codeInput && text(codeInput, locale, 'a code');
  let system = systemInput && text(systemInput, locale, 'a code system URL');
  if (codingInput) {
    const coding = codingInput.coding;
    if (!coding?.code) throw error('invalid-request', locale, 'badValue', { name: 'coding', expected: 'a Coding with a code' }, codingInput.expression);
    if (code !== undefined && code !== coding.code) throw error('invalid-request', locale, 'contradicts', { name: 'coding', other: 'code' }, codingInput.expression);
    if (system !== undefined && coding.system !== undefined && system !== coding.system) throw error('invalid-request', locale, 'contradicts', { name: 'coding', other: 'system' }, codingInput.expression);
    code = coding.code;
    system ??= coding.system;
  }
  if (code === undefined) throw error('invalid-request', locale, 'missing', { operation, name: 'code' }, 'code');
  if (system === undefined) throw error('invalid-request', locale, 'missing', { operation, name: 'system' }, 'system');
  return { code, system };
}

/** The inputs `$lookup` takes (its served OperationDefinition lists these). */
export const LOOKUP_PARAMETERS: ReadonlySet<string> = new Set(['code', 'system', 'version', 'coding', 'displayLanguage', 'property']);

/**
 * `CodeSystem/$lookup` (https://hl7.org/fhir/R4/codesystem-operation-lookup.html, type level only as R4 defines it):
 * the name and version of the code system, the concept's display in the reader's language, and
 * its designations in Kazakh, Russian and English. `property` narrows what is returned to
 * `version`, `designation` and `lang.X` (the designation in language X); `name` and `display`
 * always come, as the operation requires them. An unknown code is a 404.
 */
export async function lookupOperation(request: FhirRequest, _params: Params, _context: InteractionContext): Promise<FhirResponse> {
  const locale = negotiateLocale(request.headers.acceptLanguage);
  const inputs = readInputs(request, '$lookup', LOOKUP_PARAMETERS, locale);

  const { code, system } = sourceCoding(inputs, '$lookup', locale);
  const codeSystem = codeSystemByUrl(system);
  if (!codeSystem) throw error('not-found', locale, 'unknownSystem', { system });
  const versionInput = single(inputs, 'version', locale);
  const version = versionInput && text(versionInput, locale, 'a version');
  if (version !== undefined && version !== codeSystem.version) {
    throw error('not-found', locale, 'unknownVersion', { system, version, held: codeSystem.version ?? '—' });
  }
  const concept = bundledConcept(system, code);
  if (!concept) throw error('not-found', locale, 'unknownCode', { system, code });
  const { language } = displayLocale(inputs, request, locale);

  const properties = inputs.filter((input) => input.name === 'property').map((input) => text(input, locale, 'a property code'));
  const wants = (property: string) => properties.length === 0 || properties.includes(property);
  const languages = properties.length === 0 || properties.includes('designation') ? LOCALES : LOCALES.filter((l) => properties.includes(`lang.${l}`));
  const parameter: ParametersParameter[] = [
    { name: 'name', valueString: codeSystem.title },
    ...(codeSystem.version && wants('version') ? [{ name: 'version', valueString: codeSystem.version }] : []),
    { name: 'display', valueString: concept[language] },
    ...designations(concept, languages).map((designation) => ({
      name: 'designation',
      part: [
        { name: 'language', valueCode: designation.language },
        { name: 'use', valueCoding: designation.use },
        { name: 'value', valueString: designation.value },
      ],
    })),
  ];
  const result: Parameters = { resourceType: 'Parameters', parameter };
  return { status: 200, resource: result };
}

/** The inputs `$expand` takes (its served OperationDefinition lists these). */
export const EXPAND_PARAMETERS: ReadonlySet<string> = new Set(['url', 'valueSet', 'filter', 'count', 'offset', 'displayLanguage', 'includeDesignations']);
/** Entries per expansion page when `count` asks for none or for more. */
const MAX_EXPANSION = 1000;

function nonNegative(input: Input | undefined, locale: Locale): number | undefined {
  if (input === undefined) return undefined;
  const value = text(input, locale, 'a non-negative integer');
  if (!/^\d{1,9}$/.test(value)) throw error('invalid-request', locale, 'badValue', { name: input.name, expected: 'a non-negative integer' }, input.expression);
  return Number(value);
}

/** The ValueSet sent in `valueSet`, valid against R4 (a 422 otherwise). */
function sentValueSet(input: Input, locale: Locale): ValueSet {
  const sent: unknown = input.resource;
  // Not a ValueSet at all is the caller's mistake in the parameter (400), before validation (422).
  if (isJsonObject(sent) && sent.resourceType === 'ValueSet') {
    assertValid(sent, { locale });
    if (sent.resourceType === 'ValueSet') return sent;
  }
  throw error('invalid-request', locale, 'badValue', { name: 'valueSet', expected: 'a ValueSet resource' }, input.expression);
}

/**
 * `ValueSet/$expand` and `ValueSet/[id]/$expand` (https://hl7.org/fhir/R4/valueset-operation-expand.html):
 * a value set over the bundled terminology, one shipped with R4 that the validator expands (by
 * `url`), or one sent in `valueSet` that lists its codes. `filter` keeps the concepts whose code
 * or display in the chosen language contains it (ignoring case); `offset` and `count` page them
 * (at most 1000 a page); `includeDesignations` adds the Kazakh, Russian and English designations.
 */
export async function expandOperation(request: FhirRequest, params: Params, _context: InteractionContext): Promise<FhirResponse> {
  const locale = negotiateLocale(request.headers.acceptLanguage);
  const inputs = readInputs(request, '$expand', EXPAND_PARAMETERS, locale);
  const urlInput = single(inputs, 'url', locale);
  const url = urlInput && text(urlInput, locale, 'a value set URL');
  const sentInput = single(inputs, 'valueSet', locale);

  let found: { valueSet: ValueSet; concepts: ExpansionConcept[] } | undefined;
  if (params.id !== undefined) {
    const valueSet = VALUE_SETS.get(params.id);
    if (!valueSet) throw error('not-found', locale, 'unknownValueSetId', { id: params.id });
    if (url !== undefined && url.split('|')[0] !== valueSet.url) throw error('invalid-request', locale, 'contradicts', { name: 'url', other: `ValueSet/${params.id}` }, urlInput?.expression);
    found = valueSetConcepts(valueSet.url ?? '');
  } else if (sentInput) {
    if (url !== undefined) throw error('invalid-request', locale, 'contradicts', { name: 'valueSet', other: 'url' }, sentInput.expression);
    const valueSet = sentValueSet(sentInput, locale);
    const include = valueSet.compose?.include ?? [];
    if (include.length === 0 || !include.every((part) => part.system !== undefined && part.concept !== undefined)) {
      throw error('invalid-request', locale, 'notEnumerated', {}, sentInput.expression);
    }
    found = { valueSet, concepts: conceptsOf(include) };
  } else {
    if (url === undefined) throw error('invalid-request', locale, 'missing', { operation: '$expand', name: 'url' }, 'url');
    found = valueSetConcepts(url);
  }
  if (!found) throw error('not-found', locale, 'unknownValueSet', { url: url ?? '' });

  const filterInput = single(inputs, 'filter', locale);
  const filter = filterInput && text(filterInput, locale);
  const offset = nonNegative(single(inputs, 'offset', locale), locale);
  const count = nonNegative(single(inputs, 'count', locale), locale);
  const designationsInput = single(inputs, 'includeDesignations', locale);
  const includeDesignations = designationsInput && text(designationsInput, locale, 'true or false');
  if (includeDesignations !== undefined && includeDesignations !== 'true' && includeDesignations !== 'false') {
    throw error('invalid-request', locale, 'badValue', { name: 'includeDesignations', expected: 'true or false' }, designationsInput?.expression);
  }
  const { language, asked } = displayLocale(inputs, request, locale);

  const parameter: ValueSetExpansionParameter[] = [
    { name: 'displayLanguage', valueCode: asked ?? language },
    ...(filter !== undefined ? [{ name: 'filter', valueString: filter }] : []),
    ...(offset !== undefined ? [{ name: 'offset', valueInteger: offset }] : []),
    ...(count !== undefined ? [{ name: 'count', valueInteger: count }] : []),
    ...(includeDesignations !== undefined ? [{ name: 'includeDesignations', valueBoolean: includeDesignations === 'true' }] : []),
  ];
  const resource = expansion(found.valueSet, found.concepts, {
    filter,
    offset: offset ?? 0,
    count: Math.min(count ?? MAX_EXPANSION, MAX_EXPANSION),
    language,
    includeDesignations: includeDesignations === 'true',
    parameter,
    identifier: `urn:uuid:${randomUUID()}`,
    timestamp: new Date().toISOString(),
  });
  return { status: 200, resource };
}

/** The inputs `$translate` takes (its served OperationDefinition lists these). */
export const TRANSLATE_PARAMETERS: ReadonlySet<string> = new Set(['url', 'code', 'system', 'coding', 'targetsystem']);

/**
 * `ConceptMap/$translate` and `ConceptMap/[id]/$translate` (https://hl7.org/fhir/R4/conceptmap-operation-translate.html):
 * what the ConceptMaps held translate a code to: that one, the one named by `url`, else every
 * active map whose group maps from the code's system and lists the code, optionally only into
 * `targetsystem`. Laboratories keep their local test codes' LOINC equivalents this way. `result`
 * is true when some match means the same (not `unmatched` or `disjoint`).
 */
export async function translateOperation(request: FhirRequest, params: Params, context: InteractionContext): Promise<FhirResponse> {
  const locale = negotiateLocale(request.headers.acceptLanguage);
  const inputs = readInputs(request, '$translate', TRANSLATE_PARAMETERS, locale);
  const coding = sourceCoding(inputs, '$translate', locale);
  const urlInput = single(inputs, 'url', locale);
  const url = urlInput && text(urlInput, locale, 'a ConceptMap URL');
  const targetInput = single(inputs, 'targetsystem', locale);
  const targetSystem = targetInput && text(targetInput, locale, 'a code system URL');
  let maps: ConceptMap[];
  if (params.id !== undefined) {
    const map = parseStored<ConceptMap>(await context.repo.read('ConceptMap', params.id));
    if (url !== undefined && url !== map.url) throw error('invalid-request', locale, 'contradicts', { name: 'url', other: `ConceptMap/${params.id}` }, urlInput?.expression);
    maps = [map];
  } else {
    const found = await context.repo.search(parseSearchRequest('ConceptMap', [...conceptMapQuery(coding, { ...(url ? { url } : {}), ...(targetSystem ? { targetSystem } : {}) }), ['_count', '100']]));
    if (url && found.entries.length === 0) throw error('not-found', locale, 'unknownConceptMap', { url });
    maps = found.entries.map((stored) => parseStored<ConceptMap>(stored));
  }
  const matches = translate(maps, coding, targetSystem);
  const result = translated(matches);
  const parameter: ParametersParameter[] = [
    { name: 'result', valueBoolean: result },
    ...(result ? [] : [{ name: 'message', valueString: fillTemplate(TEXT.noTranslation[locale], coding) }]),
    ...matches.map((match) => ({
      name: 'match',
      part: [
        { name: 'equivalence', valueCode: match.equivalence },
        { name: 'concept', valueCoding: match.concept },
        ...(match.source ? [{ name: 'source', valueUri: match.source }] : []),
      ],
    })),
  ];
  return { status: 200, resource: { resourceType: 'Parameters', parameter } };
}
