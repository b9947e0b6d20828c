import {
  type FhirPathAtom,
  type TypedValue,
  convertToSearchableQuantities,
  convertToSearchableTokens,
  evalFhirPathTyped,
  parseFhirPath,
} from '@medplum/core';
import type { Identifier, Reference, Resource, SearchParameter } from '@medplum/fhirtypes';
import { type IndexRows, TEXT_SYSTEM, searchParameters, valueRows } from './search-parameters.js';
import { compileSearchPath } from './search-path.js';
import { UCUM_SYSTEM, canonicalQuantity } from './ucum.js';

/*
 * Index rows beyond the plain values of each parameter: what the UCUM comparison, `:of-type`,
 * `:identifier`, composite parameters and `near` read (https://hl7.org/fhir/R4/search.html).
 *
 * They go to the same six tables as every other row (the repository writes IndexRows as they
 * are, so no new table or column is needed), under codes no SearchParameter has (they hold `:`
 * or `$`), so `:missing` and `_sort` of the parameter never see them:
 * - `<code>:canonical` (search_number): a UCUM quantity in base units, `unit` its dimension;
 * - `<code>:of-type` (search_token): an Identifier, `system` holding its type as `system|code`;
 * - `<composite>$<key>` (the component's table): the other components of the elements whose
 *   token component is `<key>` (`system|code`, `|code` without a system, and `code` alone);
 * and under the parameter's own code, in a table its type does not otherwise use:
 * - a reference parameter's Reference.identifier in search_token (`:identifier`);
 * - a composite's token component in search_token (the rows `:missing` and the owner see);
 * - Location `near` as one search_number row, `low` the latitude and `high` the longitude.
 * Resources stored before these rows existed get them from `densaulyq reindex`.
 */

/** A quantity parameter's values in UCUM base units (https://hl7.org/fhir/R4/search.html#quantity). */
export const canonicalCode = (code: string) => `${code}:canonical`;
/** Identifiers with their type, for `:of-type` (https://hl7.org/fhir/R4/search.html#token). */
export const ofTypeCode = (code: string) => `${code}:of-type`;
/** The non-token components of a composite's elements whose token is `key` (https://hl7.org/fhir/R4/search.html#composite). */
export const compositeCode = (code: string, key: string) => `${code}$${key}`;

/** The Location parameter answered from the position rows. */
export const NEAR = 'near';

/** Canonical rows for the UCUM quantities among a quantity parameter's values. */
export function canonicalQuantityRows(code: string, values: TypedValue[], rows: IndexRows): void {
  for (const q of convertToSearchableQuantities(values)) {
    if (q.system !== UCUM_SYSTEM || q.value === undefined || !q.code) continue;
    const canonical = canonicalQuantity(q.value, q.code);
    if (canonical) rows.number.push([canonicalCode(code), canonical.value, canonical.value, UCUM_SYSTEM, canonical.unit]);
  }
}

/** The FHIR data types this file reads from typed values. */
interface DataTypes {
  Identifier: Identifier;
  Reference: Reference;
}

/** The values of one data type: Medplum types `TypedValue.value` as `any`, and its `type` says which it holds. */
function valuesOfType<Type extends keyof DataTypes>(values: TypedValue[], type: Type): DataTypes[Type][] {
  return values.filter((value) => value.type === type).map((value) => value.value as DataTypes[Type]);
}

/** `:of-type` rows for the typed Identifiers among a token parameter's values. */
export function identifierTypeRows(code: string, values: TypedValue[], rows: IndexRows): void {
  for (const identifier of valuesOfType(values, 'Identifier')) {
    if (!identifier.value) continue;
    for (const coding of identifier.type?.coding ?? []) {
      if (coding.code) rows.token.push([ofTypeCode(code), `${coding.system ?? ''}|${coding.code}`, identifier.value, null]);
    }
  }
}

/** `:identifier` rows: the logical identifiers of a reference parameter's values. */
export function referenceIdentifierRows(code: string, values: TypedValue[], rows: IndexRows): void {
  for (const { identifier } of valuesOfType(values, 'Reference')) {
    if (identifier?.value) rows.token.push([code, identifier.system ?? null, identifier.value, null]);
  }
}

/** `near` rows: Location.position, where both coordinates are present. */
function positionRows(resource: Resource, rows: IndexRows): void {
  if (resource.resourceType !== 'Location') return;
  const position = resource.position;
  if (typeof position?.latitude === 'number' && typeof position.longitude === 'number') {
    rows.number.push([NEAR, position.latitude, position.longitude, null, null]);
  }
}

type Evaluate = (input: TypedValue, resource: TypedValue) => TypedValue[];

export interface CompositeComponent {
  /** The component's own parameter: its type decides the table and the comparison. */
  parameter: SearchParameter;
  values: Evaluate;
}

export interface CompositeDefinition {
  elements: Evaluate;
  components: CompositeComponent[];
  /** The token component whose value keys the rows of the others. */
  keyIndex: number;
}

const composites = new Map<string, CompositeDefinition | null>();

/**
 * Component expressions that R4 publishes wrongly: DocumentReference-relationship pairs its
 * reference component with `code` and its token component with `target`, the other way round.
 */
const COMPONENT_EXPRESSION_ERRATA: Record<string, string[]> = {
  'http://hl7.org/fhir/SearchParameter/DocumentReference-relationship': ['target', 'code'],
};

function evaluator(expression: FhirPathAtom): Evaluate {
  const compiled = compileSearchPath(expression);
  return compiled ? (input) => compiled(input) : (input, resource) => evalFhirPathTyped(expression, [input], { '%resource': resource });
}

/**
 * A composite parameter as applied to one resource type, or `undefined` when it has no token
 * component to key the others by (no R4 composite lacks one).
 */
export function compositeDefinition(
  resourceType: string,
  parameter: SearchParameter,
  parameters: Record<string, SearchParameter>,
): CompositeDefinition | undefined {
  const cacheKey = `${resourceType} ${parameter.code}`;
  let definition = composites.get(cacheKey);
  if (definition === undefined) {
    definition = null;
    const errata = COMPONENT_EXPRESSION_ERRATA[parameter.url ?? ''];
    const components = (parameter.component ?? []).map((component, index) => {
      const own = Object.values(parameters).find((p) => p.url === component.definition);
      const expression = errata?.[index] ?? component.expression;
      return own && expression ? { parameter: own, values: evaluator(parseFhirPath(asOperators(expression))) } : undefined;
    });
    const keyIndex = components.findIndex((c) => c?.parameter.type === 'token');
    const elements = elementsExpression(resourceType, parameter.expression ?? '');
    if (elements && keyIndex >= 0 && components.every((c): c is CompositeComponent => c !== undefined)) {
      definition = { elements: evaluator(parseFhirPath(elements)), components, keyIndex };
    }
    composites.set(cacheKey, definition);
  }
  return definition ?? undefined;
}

/**
 * The branches of a composite's expression that apply to `resourceType`: `Observation |
 * Observation.component` keeps both (Medplum's per-type split keeps only paths below the type).
 */
function elementsExpression(resourceType: string, expression: string): string | undefined {
  const branches = expression.split('|').map((b) => b.trim()).filter((b) => b === resourceType || b.startsWith(`${resourceType}.`));
  return branches.length > 0 ? branches.join(' | ') : undefined;
}

/**
 * `value.as(Quantity)` as `(value as Quantity)`: Medplum's `as()` function keeps values of any
 * type, its `as` operator only those of the type, which is what a component means.
 */
function asOperators(expression: string): string {
  return expression.replace(/([A-Za-z][\w.]*)\.as\((\w+)\)/g, '($1 as $2)');
}

/** The keys a token value of a composite's key component is found by. */
export function compositeKeys(system: string | undefined, code: string): string[] {
  return [`${system ?? ''}|${code}`, code];
}

/**
 * The rows of a resource's composite parameters and of `near`; the per-parameter rows come from
 * `canonicalQuantityRows`, `identifierTypeRows` and `referenceIdentifierRows`.
 */
export function compositeAndPositionRows(resource: Resource, typed: TypedValue, rows: IndexRows): void {
  const parameters = searchParameters(resource.resourceType);
  for (const parameter of compositesOf(resource.resourceType, parameters)) compositeRows(resource.resourceType, parameter, parameters, typed, rows);
  positionRows(resource, rows);
}

const compositeParameters = new Map<string, SearchParameter[]>();

/** Drops what was derived from the search parameters, when SearchParameter resources add to them. */
export function forgetComposites(): void {
  composites.clear();
  compositeParameters.clear();
}

function compositesOf(resourceType: string, parameters: Record<string, SearchParameter>): SearchParameter[] {
  let list = compositeParameters.get(resourceType);
  if (!list) compositeParameters.set(resourceType, (list = Object.values(parameters).filter((p) => p.type === 'composite')));
  return list;
}

/** Rows for one composite parameter: per element, the other components keyed by its token. */
function compositeRows(resourceType: string, parameter: SearchParameter, parameters: Record<string, SearchParameter>, resource: TypedValue, rows: IndexRows): void {
  const definition = compositeDefinition(resourceType, parameter, parameters);
  if (!definition) return;
  const code = parameter.code;
  for (const element of definition.elements(resource, resource)) {
    const keyValues = definition.components[definition.keyIndex].values(element, resource);
    const keys: string[] = [];
    // A composite's token matches codes (https://hl7.org/fhir/R4/search.html#composite): a
    // display or text is no key, and keyed rows by it would make `$Glucose` match as a code.
    for (const token of convertToSearchableTokens(keyValues, { textSearchSystem: TEXT_SYSTEM })) {
      if (!token.value || token.system === TEXT_SYSTEM) continue;
      rows.token.push([code, token.system ?? null, token.value, null]);
      keys.push(...compositeKeys(token.system, token.value));
    }
    if (keys.length === 0) continue;
    definition.components.forEach((component, index) => {
      if (index === definition.keyIndex) return;
      const values = component.values(element, resource);
      for (const key of keys) valueRows(compositeCode(code, key), component.parameter.type, values, rows);
    });
  }
}

