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
import { splitOutside } from './fhirpath-split.js';
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
 *   token component is `<key>` (`system|code`, `|code` without a system, and `code` alone),
 *   for composites over elements below the resource (Observation.component); one over the
 *   resource itself is answered by its components' own rows (CompositeBranch);
 * and under the parameter's own code, in a table its type does not otherwise use:
 * - a reference parameter's Reference.identifier in search_token (`:identifier`);
 * - a composite's token component in search_token (the rows `:missing` and the owner see);
 * - Location `near` as one search_number row, `low` the latitude and `high` the longitude.
 * A parameter whose rows would repeat other parameters' (`combo-code`, `patient`) has none: `storedRows`.
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

/**
 * Where one base branch of a composite keeps its rows (https://hl7.org/fhir/R4/search.html#composite):
 * - `stored`: as keyed rows, the key component's token under `code` and the others under
 *   `<code>$<key>` (the branch's own parameter, or another composite with this branch alone);
 * - `derived`: the resource itself is the element (`Observation` for code-value-quantity), so the
 *   components co-occur by being on one resource, and each is answered by the rows of the
 *   parameters in `codes` (by component) that every resource has anyway.
 */
export type CompositeBranch = { kind: 'stored'; code: string } | { kind: 'derived'; codes: (readonly string[])[] };

/** The codes of a branch's key rows: the composite's own (stored), or its key component's parameter's (derived). */
export function branchKeyCodes(branch: CompositeBranch, keyIndex: number): readonly string[] {
  return branch.kind === 'stored' ? [branch.code] : branch.codes[keyIndex];
}

export interface CompositeDefinition {
  /** The elements of the branches stored under the parameter's own code, if any. */
  elements?: Evaluate;
  branches: CompositeBranch[];
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
    definition = buildComposite(resourceType, parameter, parameters) ?? null;
    composites.set(cacheKey, definition);
  }
  return definition ?? undefined;
}

function buildComposite(resourceType: string, parameter: SearchParameter, parameters: Record<string, SearchParameter>): CompositeDefinition | undefined {
  const errata = COMPONENT_EXPRESSION_ERRATA[parameter.url ?? ''];
  const expressions = (parameter.component ?? []).map((component, index) => errata?.[index] ?? component.expression);
  const components = (parameter.component ?? []).map((component, index) => {
    const own = Object.values(parameters).find((p) => p.url === component.definition);
    const expression = expressions[index];
    return own && expression ? { parameter: own, values: evaluator(parseFhirPath(asOperators(expression))) } : undefined;
  });
  const keyIndex = components.findIndex((c) => c?.parameter.type === 'token');
  const bases = typeBranches(resourceType, parameter.expression ?? '');
  if (bases.length === 0 || keyIndex < 0 || !components.every((c): c is CompositeComponent => c !== undefined)) return undefined;
  const own: string[] = [];
  const branches = bases.map((base): CompositeBranch => {
    const codes = base === resourceType ? derivedComponentCodes(resourceType, components, expressions, parameters) : undefined;
    if (codes) return { kind: 'derived', codes };
    const other = bases.length > 1 ? storingComposite(resourceType, parameter, components, base, parameters) : undefined;
    if (other) return { kind: 'stored', code: other };
    own.push(base);
    return { kind: 'stored', code: parameter.code };
  });
  const elements = own.length > 0 ? evaluator(parseFhirPath(own.join(' | '))) : undefined;
  return { elements, branches, components, keyIndex };
}

/**
 * The parameters whose rows answer each component of a composite on the resource itself, when
 * every component's expression is exactly its parameter's (`code` is Observation-code's
 * `Observation.code`); undefined when one differs and the branch needs keyed rows.
 */
function derivedComponentCodes(
  resourceType: string,
  components: CompositeComponent[],
  expressions: (string | undefined)[],
  parameters: Record<string, SearchParameter>,
): string[][] | undefined {
  const codes: string[][] = [];
  for (const [index, component] of components.entries()) {
    const onResource = splitBranches(expressions[index] ?? '').map((branch) => {
      const operators = asOperators(branch);
      return operators.startsWith('(') ? `(${resourceType}.${operators.slice(1)}` : `${resourceType}.${operators}`;
    });
    // combo-code-value-quantity's `code` component is defined by combo-code, yet on the resource itself it is `code`'s expression.
    const same = [component.parameter, ...Object.values(parameters)].find((p) => {
      const rows = p.type === component.parameter.type ? rowBranches(resourceType, p) : [];
      return rows.length === onResource.length && onResource.every((branch) => rows.includes(branch));
    });
    const rows = same && storedRows(resourceType, same.code);
    if (!rows || rows.targetType) return undefined;
    codes.push([...rows.codes]);
  }
  return codes;
}

/**
 * For a composite of several bases (combo-code-value-quantity), another composite whose only
 * base is `base`, with components of the same expressions and types (so the same rows): it
 * stores that base under its own code. One of a single base never borrows, so the choice does
 * not depend on which definition is built first.
 */
function storingComposite(
  resourceType: string,
  parameter: SearchParameter,
  components: CompositeComponent[],
  base: string,
  parameters: Record<string, SearchParameter>,
): string | undefined {
  const sameComponents = (other: SearchParameter, definition: CompositeDefinition | undefined) =>
    definition?.components.length === components.length &&
    definition.components.every((c, i) => c.parameter.type === components[i].parameter.type && other.component?.[i]?.expression === parameter.component?.[i]?.expression);
  for (const other of Object.values(parameters)) {
    if (other === parameter || other.type !== 'composite') continue;
    const otherBases = typeBranches(resourceType, other.expression ?? '');
    if (otherBases.length !== 1 || otherBases[0] !== base) continue;
    const definition = compositeDefinition(resourceType, other, parameters);
    if (definition?.branches[0]?.kind === 'stored' && sameComponents(other, definition)) return other.code;
  }
  return undefined;
}

/** The top-level `|` branches of an expression. */
function splitBranches(expression: string): string[] {
  return splitOutside(expression, '|').map((branch) => branch.trim()).filter((branch) => branch !== '');
}

/**
 * The branches of a parameter's expression that apply to `resourceType`: `Observation |
 * Observation.component` keeps both (Medplum's per-type split keeps only paths below the type).
 */
function typeBranches(resourceType: string, expression: string): string[] {
  return splitBranches(expression).filter(
    (b) => b === resourceType || b.startsWith(`${resourceType}.`) || b.startsWith(`(${resourceType}.`),
  );
}

/**
 * The branches that can give a parameter rows. A quantity parameter's SampledData branch gives
 * none: only a Quantity has a value to search (Medplum's convertToSearchableQuantities).
 */
function rowBranches(resourceType: string, parameter: SearchParameter): string[] {
  const branches = typeBranches(resourceType, parameter.expression ?? '');
  return parameter.type === 'quantity' ? branches.filter((b) => !/ as SampledData\)$|\.as\(SampledData\)$/.test(b)) : branches;
}

/** Parameter types whose rows a union may be read from (a reference's are by target type: `referenceAlias`). */
const UNION_TYPES = new Set(['token', 'string', 'date', 'number', 'quantity', 'uri']);

/**
 * The index rows that answer a parameter: those under `codes` and, when `targetType` is given, to
 * a target of that type. A parameter's own code, unless
 * - its expression is the union of other parameters' of the same type (`combo-code` is
 *   `Observation.code | Observation.component.code`, the expressions of `code` and
 *   `component-code`): their codes;
 * - it is a reference parameter that is another one to one target type (`patient` is
 *   `Observation.subject.where(resolve() is Patient)`): that one's code and the type.
 * Such a parameter gets no rows of its own in that table: they would repeat the others'
 * (https://hl7.org/fhir/R4/searchparameter.html).
 */
export interface StoredRows {
  readonly codes: readonly string[];
  readonly targetType?: string;
}

const stored = new Map<string, StoredRows>();

export function storedRows(resourceType: string, code: string): StoredRows {
  const key = `${resourceType} ${code}`;
  let rows = stored.get(key);
  if (!rows) {
    const parameters = searchParameters(resourceType);
    const parameter = parameters[code];
    const codes = parameter && unionOf(resourceType, parameter, parameters);
    rows = codes ? { codes } : ((parameter && referenceAlias(resourceType, parameter, parameters)) ?? { codes: [code] });
    stored.set(key, rows);
  }
  return rows;
}

/** Whether a parameter's rows are other parameters' (see storedRows). */
export function isDerived(resourceType: string, code: string): boolean {
  const rows = storedRows(resourceType, code);
  return rows.codes.length !== 1 || rows.codes[0] !== code;
}

const RESOLVED_TO_TYPE = /^(.+)\.where\(resolve\(\) is ([A-Z][A-Za-z]+)\)$/;

/** `patient` as `subject` to a Patient: the other reference parameter whose expression is this one's without the type test. */
function referenceAlias(resourceType: string, parameter: SearchParameter, parameters: Record<string, SearchParameter>): StoredRows | undefined {
  if (parameter.type !== 'reference' || parameter.code.startsWith('_')) return undefined;
  const tested = rowBranches(resourceType, parameter).map((branch) => RESOLVED_TO_TYPE.exec(branch));
  const targetType = tested[0]?.[2];
  if (!targetType || !tested.every((match) => match?.[2] === targetType)) return undefined;
  const untested = tested.map((match) => match![1]);
  const other = Object.values(parameters).find((p) => {
    if (p === parameter || p.type !== 'reference' || p.code.startsWith('_')) return false;
    const branches = rowBranches(resourceType, p);
    return branches.length === untested.length && untested.every((branch) => branches.includes(branch));
  });
  return other ? { codes: [other.code], targetType } : undefined;
}

function unionOf(resourceType: string, parameter: SearchParameter, parameters: Record<string, SearchParameter>): string[] | undefined {
  if (!UNION_TYPES.has(parameter.type) || parameter.code.startsWith('_')) return undefined;
  const own = rowBranches(resourceType, parameter);
  if (own.length < 2) return undefined;
  const parts: string[] = [];
  const covered = new Set<string>();
  for (const other of Object.values(parameters)) {
    if (other === parameter || other.type !== parameter.type || other.code.startsWith('_')) continue;
    const branches = rowBranches(resourceType, other);
    if (branches.length === 0 || branches.length >= own.length || !branches.every((b) => own.includes(b))) continue;
    // A part that is a union itself is covered by its own parts, found in this loop too.
    if (unionOf(resourceType, other, parameters)) continue;
    parts.push(other.code);
    for (const branch of branches) covered.add(branch);
  }
  return own.every((branch) => covered.has(branch)) ? parts : undefined;
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
  stored.clear();
}

function compositesOf(resourceType: string, parameters: Record<string, SearchParameter>): SearchParameter[] {
  let list = compositeParameters.get(resourceType);
  if (!list) compositeParameters.set(resourceType, (list = Object.values(parameters).filter((p) => p.type === 'composite')));
  return list;
}

/** Rows for one composite parameter: per element, the other components keyed by its token. */
function compositeRows(resourceType: string, parameter: SearchParameter, parameters: Record<string, SearchParameter>, resource: TypedValue, rows: IndexRows): void {
  const definition = compositeDefinition(resourceType, parameter, parameters);
  if (!definition?.elements) return;
  const code = parameter.code;
  for (const element of definition.elements(resource, resource)) {
    // An element lacking a component has no value for the composite (`:missing`), and nothing to key.
    const others = definition.components.map((component, index) => (index === definition.keyIndex ? [] : component.values(element, resource)));
    if (others.some((values, index) => index !== definition.keyIndex && values.length === 0)) continue;
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
      for (const key of keys) valueRows(compositeCode(code, key), component.parameter.type, others[index], rows);
    });
  }
}

