import type { StructureDefinition } from '@medplum/fhirtypes';
import { isResourceType } from '../definitions.js';
import { numberText } from '../json.js';
import { bindingCheck } from './bindings.js';
import { type Invariant, checkInvariants, compileInvariants } from './invariants.js';
import { jsonEqual, jsonIncludes } from './json-compare.js';
import { narrativeFault } from './narrative.js';
import { PRIMITIVE_CHECKS, describeJson, isPrimitiveType } from './primitives.js';
// profiles.ts compiles profiles with this module's functions, and this module asks it for the
// profiles elements and resources name: a cycle of calls made only while validating.
import { checkClaimedProfiles, conforms, profileCheck } from './profiles.js';
import { checkReference, noteLocalUri } from './references.js';
import { sliceMatcher } from './slicing.js';
import { type ElementModel, type TypeModel, coreDefinition, coreTree, coreTypeName } from './structure.js';
import { heldDefinition } from './structure-registry.js';
import { type JsonObject, type RootFrame, Walk } from './walk.js';

/**
 * Checks one JSON value against what compiled it, reporting into the walk. The walk's path
 * already ends at the value.
 */
export type Check = (value: unknown, walk: Walk) => void;

/**
 * The validators of the R4 types, compiled from their StructureDefinitions the way
 * search-path.ts compiles search expressions: once per type, on first use, into closures over
 * the JSON that look nothing up while they run (https://hl7.org/fhir/R4/validation.html).
 *
 * An object's check visits each of its properties once: a Map lookup finds the element (choice
 * types expanded, `valueQuantity`; primitive extensions, `_birthDate`), an unknown name is an
 * error, and the element's own check follows: its JSON shape (array or single, no null, no empty
 * array), its type (primitive value, data type, backbone element, resource), its binding, its
 * reference targets and its invariants. Missing required elements and choice conflicts are
 * checked after the visit, from what it saw.
 */
export function typeCheck(type: string): Check {
  let check = typeChecks.get(type);
  if (check) return check;
  let compiled: Check | undefined;
  check = (value, walk) => (compiled ??= compileType(type))(value, walk);
  typeChecks.set(type, check);
  return check;
}

const typeChecks = new Map<string, Check>();

/** A resource at the root of what is validated, or in `Bundle.entry.resource` and the like. */
export const resourceCheck: Check = (value, walk) => walkResource(value, walk, false);

/** A resource in `contained` (https://hl7.org/fhir/R4/references.html#contained). */
const containedCheck: Check = (value, walk) => walkResource(value, walk, true);

function walkResource(value: unknown, walk: Walk, contained: boolean): void {
  if (!isObject(value)) {
    walk.error('structure', 'notObject', { type: 'Resource', found: describeJson(value) });
    return;
  }
  const type = value.resourceType;
  if (typeof type !== 'string' || !isResourceType(type)) {
    if (type === undefined) walk.error('structure', 'noResourceType');
    else walk.errorAt('resourceType', 'not-supported', 'unknownResourceType', { value: JSON.stringify(type) });
    return;
  }
  const outer = walk.frame;
  if (contained && outer) {
    const index = walk.path[walk.path.length - 1];
    walk.frame = { resource: value, root: outer.root, containedIndex: typeof index === 'number' ? index : 0 };
    containedRules(value, walk);
    typeCheck(type)(value, walk);
  } else {
    const root: RootFrame = { resource: value };
    walk.frame = { resource: value, root, containedIndex: -1 };
    typeCheck(type)(value, walk);
    unreferencedContained(root, walk);
  }
  if (isObject(value.meta) && value.meta.profile !== undefined) checkClaimedProfiles(value, type, walk);
  walk.frame = outer;
}

/** dom-2, dom-4, dom-5 (https://hl7.org/fhir/R4/domainresource.html#invs). */
function containedRules(resource: JsonObject, walk: Walk): void {
  if (resource.contained !== undefined) walk.errorAt('contained', 'invariant', 'nestedContained');
  const meta = resource.meta;
  if (!isObject(meta)) return;
  if (meta.versionId !== undefined || meta.lastUpdated !== undefined) walk.errorAt('meta', 'invariant', 'containedVersion');
  if (meta.security !== undefined) walk.errorAt('meta', 'invariant', 'containedSecurity');
}

/** dom-3: each contained resource is referenced from elsewhere in the resource, or refers to it with `#`. */
function unreferencedContained(root: RootFrame, walk: Walk): void {
  const contained = root.resource.contained;
  if (!Array.isArray(contained)) return;
  walk.path.push('contained');
  for (let i = 0; i < contained.length; i++) {
    const id = (contained[i] as JsonObject | null)?.id;
    if ((typeof id === 'string' && root.localReferences?.has('#' + id)) || root.referToContainer?.has(i)) continue;
    walk.errorAt(i, 'invariant', 'containedUnreferenced', { id: typeof id === 'string' ? id : '' });
  }
  walk.path.pop();
}

function compileType(type: string): Check {
  if (type === 'Resource') return resourceCheck;
  const definition = coreDefinition(type);
  const tree = coreTree(type);
  // Every type an R4 element names has a definition; a name without one has nothing to check.
  if (!definition || !tree) return () => undefined;
  return compileDefinition(tree, definition, true);
}

/**
 * The check of a definition's element tree: of an R4 type, or of a profile laid over one.
 * An extension checks ext-1, and, when `held` is set, also the definition the server holds for
 * its URL (https://hl7.org/fhir/R4/extensibility.html#Extension).
 */
export function compileDefinition(tree: ElementModel, definition: StructureDefinition, held: boolean): Check {
  const type = definition.type ?? tree.path;
  const owner: Owner = { type, resource: definition.kind === 'resource', emptyAllowed: false };
  const object = compileObject(tree.children, owner, new Scope(tree), compileInvariants(tree.constraints, type));
  return type === 'Extension' ? extensionCheck(object, held) : object;
}

/** ext-1: an extension has either nested extensions or a value[x], not both, not neither. */
function extensionCheck(object: Check, held: boolean): Check {
  return (value, walk) => {
    object(value, walk);
    if (!isObject(value)) return;
    let hasValue = false;
    for (const key in value) {
      if (key.startsWith('value') || key.startsWith('_value')) {
        hasValue = true;
        break;
      }
    }
    if ((value.extension !== undefined) === hasValue) walk.error('invariant', 'extensionValueAndChildren');
    if (held && typeof value.url === 'string' && heldDefinition(value.url)) profileCheck(value.url)?.(value, walk);
  };
}

interface Owner {
  /** The type or element path named in messages about unknown elements. */
  readonly type: string;
  readonly resource: boolean;
  /** An object that may hold nothing but an id: the `_x` of a primitive that has its value. */
  readonly emptyAllowed: boolean;
}

/** One JSON property an object may have: an element, or one type of a choice element. */
interface Property {
  readonly key: string;
  readonly extensionKey: string;
  readonly primitive: boolean;
  readonly array: boolean;
  readonly max: number;
  /** Index of its choice element among the object's choice elements, or -1. */
  readonly group: number;
  readonly check: Check;
  /** The slices of a sliced element, which choose each item's check. */
  readonly slicing?: Slicing;
}

/** A sliced element, compiled: https://hl7.org/fhir/R4/profiling.html#slicing */
interface Slicing {
  readonly name: string;
  readonly rules: 'closed' | 'open' | 'openAtEnd';
  readonly ordered: boolean;
  readonly slices: readonly Slice[];
}

interface Slice {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly matches: (item: unknown, walk: Walk) => boolean;
  readonly check: Check;
}

interface Entry {
  readonly property: Property;
  /** The entry is the `_key` of a primitive property. */
  readonly extension: boolean;
}

interface Requirement {
  readonly name: string;
  readonly min: number;
  readonly keys: readonly string[];
  readonly choice: boolean;
}

/** Element lookups by id for contentReference (`#Questionnaire.item`), and compiled backbone elements. */
class Scope {
  private byId?: Map<string, ElementModel>;
  readonly nodes = new Map<ElementModel, Check>();

  constructor(private readonly root: ElementModel) {}

  resolve(id: string): ElementModel | undefined {
    if (!this.byId) {
      this.byId = new Map();
      const index = (element: ElementModel): void => {
        this.byId!.set(element.id, element);
        for (const child of element.children) index(child);
      };
      index(this.root);
    }
    return this.byId.get(id);
  }
}

function compileObject(children: readonly ElementModel[], owner: Owner, scope: Scope, invariants: readonly Invariant[]): Check {
  const entries = new Map<string, Entry>();
  const requirements: Requirement[] = [];
  const groups: string[][] = [];
  // Sliced elements with a required slice, whose absence misses that slice too.
  const absentSlices: [string, Slicing][] = [];
  for (const element of children) {
    const group = element.choice ? groups.push([]) - 1 : -1;
    const keys: string[] = [];
    const types = typesOf(element, scope);
    for (const type of types) {
      const key = element.choice ? element.name + capitalize(type.code) : element.name;
      const primitive = isPrimitiveType(type.code);
      // A profile narrows one type of a choice with a slice named for it (`value[x]:valueQuantity`).
      const narrowed = element.choice ? element.slices.find((s) => s.sliceName === key || (s.types.length === 1 && s.types[0].code === type.code)) : undefined;
      const defining = narrowed ?? element;
      const slicing = !element.choice && !primitive && element.slices.length > 0 ? compileSlicing(element, type, scope) : undefined;
      const property: Property = { key, extensionKey: '_' + key, primitive, array: element.array, max: defining.max, group, check: valueCheck(defining, type, scope), slicing };
      entries.set(key, { property, extension: false });
      keys.push(key);
      if (primitive) {
        entries.set(property.extensionKey, { property, extension: true });
        keys.push(property.extensionKey);
      }
      if (group >= 0) groups[group].push(key);
      if (narrowed && narrowed.min > 0) requirements.push({ name: key, min: narrowed.min, keys: primitive ? [key, '_' + key] : [key], choice: false });
    }
    if (element.choice) {
      const allowed = types.map((t) => element.name + capitalize(t.code)).join(', ');
      for (const removed of element.removedTypes) {
        const key = element.name + capitalize(removed.code);
        const refuse: Check = (_value, walk) => walk.error('structure', 'typeNotAllowed', { type: removed.code, allowed });
        const property: Property = { key, extensionKey: '_' + key, primitive: false, array: false, max: 1, group, check: refuse };
        entries.set(key, { property, extension: false });
        entries.set(property.extensionKey, { property, extension: true });
      }
    }
    if (element.min > 0) requirements.push({ name: element.name, min: element.min, keys, choice: element.choice });
    const sliced = entries.get(element.name)?.property.slicing;
    if (sliced?.slices.some((s) => s.min > 0)) absentSlices.push([element.name, sliced]);
  }
  return (value, walk) => {
    if (!isObject(value)) {
      walk.error('structure', 'notObject', { type: owner.type, found: describeJson(value) });
      return;
    }
    let children = 0;
    let seen = 0;
    let conflicts = 0;
    for (const key in value) {
      // JSON has no undefined; objects built in code may, and mean the element is absent.
      if (value[key] === undefined) continue;
      const entry = entries.get(key);
      if (entry === undefined) {
        if (!(owner.resource && key === 'resourceType')) {
          walk.errorAt(key, 'structure', 'unknownElement', { name: key, type: owner.type });
          children++;
        }
        continue;
      }
      const property = entry.property;
      // `_birthDate` next to `birthDate` is checked with it.
      if (entry.extension && value[property.key] !== undefined) continue;
      if (key !== 'id') children++;
      if (property.group >= 0) {
        const bit = 1 << property.group;
        if (seen & bit) conflicts |= bit;
        seen |= bit;
      }
      walk.path.push(property.key);
      if (property.primitive) primitiveProperty(property, value, walk);
      else complexProperty(property, value[key], walk);
      walk.path.pop();
    }
    if (children === 0 && !owner.resource && !owner.emptyAllowed) walk.error('invariant', 'elementEmpty');
    if (conflicts !== 0) {
      for (let g = 0; g < groups.length; g++) {
        if (conflicts & (1 << g)) walk.error('structure', 'choiceConflict', { keys: groups[g].filter((k) => value[k] !== undefined || value['_' + k] !== undefined).join(', ') });
      }
    }
    for (const requirement of requirements) {
      const count = countOf(value, requirement);
      if (count < requirement.min) walk.errorAt(requirement.name, 'required', 'required', { name: requirement.name, min: requirement.min, count });
    }
    for (const [name, slicing] of absentSlices) {
      if (value[name] === undefined) {
        walk.path.push(name);
        slicedItems(slicing, () => undefined, [], false, walk);
        walk.path.pop();
      }
    }
    if (invariants.length !== 0) checkInvariants(invariants, value, walk);
  };
}

function countOf(value: JsonObject, requirement: Requirement): number {
  let count = 0;
  for (const key of requirement.keys) {
    const property = value[key];
    if (property === undefined) continue;
    const n = Array.isArray(property) ? property.length : 1;
    count = requirement.choice ? count + (key.charCodeAt(0) === 0x5f && value[key.slice(1)] !== undefined ? 0 : 1) : Math.max(count, n);
  }
  return count;
}

function primitiveProperty(property: Property, holder: JsonObject, walk: Walk): void {
  const value = holder[property.key];
  const extension = holder[property.extensionKey];
  if (!property.array) {
    if (Array.isArray(value) || Array.isArray(extension)) {
      walk.error('structure', 'expectedSingle', { name: property.key });
      return;
    }
    if (property.max === 0) walk.error('structure', 'tooMany', { name: property.key, max: 0, count: 1 });
    const hasValue = value !== undefined && value !== null;
    if (value === null) walk.error('structure', 'nullValue');
    else if (hasValue) {
      walk.holder = holder;
      property.check(value, walk);
    }
    if (extension === null) walk.error('structure', 'nullValue');
    else if (extension !== undefined) (hasValue ? valuedPrimitiveExtension : primitiveExtension)(extension, walk);
    return;
  }
  if ((value !== undefined && !Array.isArray(value)) || (extension !== undefined && !Array.isArray(extension))) {
    walk.error('structure', 'expectedArray', { name: property.key });
    return;
  }
  const values = value as unknown[] | undefined;
  const extensions = extension as unknown[] | undefined;
  if (values?.length === 0 || extensions?.length === 0) walk.error('structure', 'emptyArray');
  if (values && extensions && values.length !== extensions.length) walk.error('structure', 'extensionLength', { name: property.key });
  const count = Math.max(values?.length ?? 0, extensions?.length ?? 0);
  if (count > property.max) walk.error('structure', 'tooMany', { name: property.key, max: property.max, count });
  for (let i = 0; i < count; i++) {
    const item = values?.[i];
    const itemExtension = extensions?.[i];
    const hasValue = item !== undefined && item !== null;
    const hasExtension = itemExtension !== undefined && itemExtension !== null;
    walk.path.push(i);
    if (hasValue) {
      walk.holder = values;
      property.check(item, walk);
    }
    // JSON arrays of primitives hold null where only the extension has something at that index.
    else if (!hasExtension) walk.error('structure', values && item === null ? 'nullWithoutExtension' : 'nullValue', { name: property.key });
    if (hasExtension) (hasValue ? valuedPrimitiveExtension : primitiveExtension)(itemExtension, walk);
    walk.path.pop();
  }
}

function complexProperty(property: Property, value: unknown, walk: Walk): void {
  if (value === null) {
    walk.error('structure', 'nullValue');
    return;
  }
  if (!property.array) {
    if (Array.isArray(value)) {
      walk.error('structure', 'expectedSingle', { name: property.key });
      return;
    }
    if (property.max === 0) walk.error('structure', 'tooMany', { name: property.key, max: 0, count: 1 });
    if (property.slicing) slicedItems(property.slicing, property.check, [value], false, walk);
    else property.check(value, walk);
    return;
  }
  if (!Array.isArray(value)) {
    walk.error('structure', 'expectedArray', { name: property.key });
    return;
  }
  if (value.length === 0) walk.error('structure', 'emptyArray');
  if (value.length > property.max) walk.error('structure', 'tooMany', { name: property.key, max: property.max, count: value.length });
  if (property.slicing) {
    slicedItems(property.slicing, property.check, value, true, walk);
    return;
  }
  for (let i = 0; i < value.length; i++) {
    walk.path.push(i);
    const item = value[i];
    if (item === null) walk.error('structure', 'nullValue');
    else property.check(item, walk);
    walk.path.pop();
  }
}

/**
 * The items of a sliced element: each is checked against the first slice it belongs to, or
 * against the element when it belongs to none (an error when the slicing is closed); ordered
 * slicing wants the items in slice order, `openAtEnd` the others after them; then each slice's
 * cardinality. https://hl7.org/fhir/R4/profiling.html#slicing
 */
function slicedItems(slicing: Slicing, unsliced: Check, items: readonly unknown[], indexed: boolean, walk: Walk): void {
  const counts = new Array<number>(slicing.slices.length).fill(0);
  let last = -1;
  let unmatched = false;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (indexed) walk.path.push(i);
    if (item === null) walk.error('structure', 'nullValue');
    else {
      const index = slicing.slices.findIndex((slice) => slice.matches(item, walk));
      if (index < 0) {
        if (slicing.rules === 'closed') walk.error('structure', 'sliceClosed', { name: slicing.name });
        unmatched = true;
        unsliced(item, walk);
      } else {
        const slice = slicing.slices[index];
        counts[index]!++;
        if (slicing.ordered && index < last) walk.error('structure', 'sliceOrder', { name: slicing.name, slice: slicing.slices[last].name });
        if (slicing.rules === 'openAtEnd' && unmatched) walk.error('structure', 'sliceOpenAtEnd', { name: slicing.name });
        last = Math.max(last, index);
        slice.check(item, walk);
      }
    }
    if (indexed) walk.path.pop();
  }
  for (let s = 0; s < slicing.slices.length; s++) {
    const { name, min, max } = slicing.slices[s];
    const count = counts[s];
    if (count < min || count > max) walk.error('structure', 'sliceCount', { name: slicing.name, slice: name, min, max: max === Infinity ? '*' : max, count });
  }
}

function compileSlicing(element: ElementModel, type: TypeModel, scope: Scope): Slicing {
  const slicing = element.slicing ?? { discriminator: [], ordered: false, rules: 'open' as const };
  return {
    name: element.name,
    rules: slicing.rules,
    ordered: slicing.ordered,
    slices: element.slices.map((slice): Slice => {
      let check: Check | undefined;
      const lazy: Check = (value, walk) => (check ??= valueCheck(slice, slice.types[0] ?? type, scope))(value, walk);
      const fits = (item: unknown, walk: Walk) => withoutErrors(lazy, item, walk);
      return { name: slice.sliceName ?? slice.id, min: slice.min, max: slice.max, matches: sliceMatcher(slicing, slice, conforms, fits), check: lazy };
    }),
  };
}

/** Whether a value passes a check, tried on the side: nothing is reported. */
export function withoutErrors(check: Check, value: unknown, walk: Walk): boolean {
  const trial = new Walk(walk.locale);
  trial.frame = walk.frame;
  trial.path.push('$');
  check(value, trial);
  return !trial.issues.some((i) => i.severity === 'error' || i.severity === 'fatal');
}

function capitalize(code: string): string {
  return code[0].toUpperCase() + code.slice(1);
}

/**
 * The id and extensions of a primitive (`_birthDate`, https://hl7.org/fhir/R4/json.html#primitive):
 * an Element, which must say something (ele-1) unless the primitive has its value.
 */
const primitiveExtension: Check = (value, walk) => (elementCheck ??= elementObject(false))(value, walk);
const valuedPrimitiveExtension: Check = (value, walk) => (valuedElementCheck ??= elementObject(true))(value, walk);
let elementCheck: Check | undefined;
let valuedElementCheck: Check | undefined;

function elementObject(emptyAllowed: boolean): Check {
  const root = coreTree('Element')!;
  return compileObject(root.children, { type: 'Element', resource: false, emptyAllowed }, new Scope(root), []);
}

/** One value of an element, of one of its types. */
function valueCheck(element: ElementModel, type: TypeModel, scope: Scope): Check {
  const checks: Check[] = [];
  const code = type.code;
  if (isPrimitiveType(code)) return primitiveValueCheck(element, code);
  else if (code === 'Resource' || isResourceType(code)) checks.push(element.path.endsWith('.contained') ? containedCheck : resourceCheck);
  else if (element.children.length > 0 || element.contentReference !== undefined) checks.push(backboneCheck(element, scope));
  else checks.push(typeCheck(code));
  // A type narrowed to a profile (Quantity to SimpleQuantity, Extension to an extension definition).
  for (const url of type.profile ?? []) {
    checks.push((value, walk) => profileCheck(url)?.(value, walk));
  }
  const binding = bindingCheck(element.binding, code);
  if (binding) checks.push(binding);
  if (code === 'Reference') {
    const targets = targetTypes(type);
    checks.push((value, walk) => checkReference(value, targets, walk));
  }
  // A backbone element's invariants are its node's; a data type's own are its type check's.
  if (element.children.length === 0 && element.contentReference === undefined) {
    const invariants = compileInvariants(element.constraints, element.path, typeInvariantKeys(code));
    if (invariants.length) checks.push((value, walk) => checkInvariants(invariants, value, walk));
  }
  const exact = fixedOrPattern(element);
  if (exact) checks.push(exact);
  return sequence(checks);
}

/**
 * `fixed[x]`: the value must be exactly this; `pattern[x]`: it must hold at least this
 * (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.fixed_x_).
 */
function fixedOrPattern(element: ElementModel): Check | undefined {
  const { fixed, pattern } = element;
  if (fixed !== undefined) {
    const shown = clip(JSON.stringify(fixed));
    return (value, walk) => {
      if (!jsonEqual(value, fixed)) walk.error('value', 'fixedValue', { value: shown });
    };
  }
  if (pattern !== undefined) {
    const shown = clip(JSON.stringify(pattern));
    return (value, walk) => {
      if (!jsonIncludes(value, pattern)) walk.error('value', 'patternValue', { value: shown });
    };
  }
  return undefined;
}

function clip(text: string): string {
  return text.length > 200 ? text.slice(0, 197) + '...' : text;
}

/**
 * A primitive's value, then its binding and invariants only when the value itself is valid: a
 * code with a stray space is one fault, not also one of terminology.
 */
function primitiveValueCheck(element: ElementModel, code: string): Check {
  const value = primitiveCheck(code);
  const exact = fixedOrPattern(element);
  const bounds = boundsCheck(element);
  const binding = bindingCheck(element.binding, code);
  const invariants = compileInvariants(element.constraints, element.path);
  if (!exact && !bounds && !binding && invariants.length === 0) return value;
  return (item, walk) => {
    const before = walk.issues.length;
    value(item, walk);
    if (walk.issues.length !== before) return;
    exact?.(item, walk);
    bounds?.(item, walk);
    binding?.(item, walk);
    if (invariants.length !== 0) checkInvariants(invariants, item, walk);
  };
}

/**
 * A profile's `maxLength` of a string and `minValue[x]`/`maxValue[x]` of a number
 * (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.maxLength). Bounds
 * on dates and quantities are not checked.
 */
function boundsCheck(element: ElementModel): Check | undefined {
  const { maxLength, minValue, maxValue } = element;
  const min = typeof minValue === 'number' ? minValue : undefined;
  const max = typeof maxValue === 'number' ? maxValue : undefined;
  if (maxLength === undefined && min === undefined && max === undefined) return undefined;
  return (value, walk) => {
    if (typeof value === 'string' && maxLength !== undefined && value.length > maxLength) walk.error('value', 'longerThan', { max: maxLength, length: value.length });
    if (typeof value === 'number' && ((min !== undefined && value < min) || (max !== undefined && value > max))) {
      walk.error('value', 'outOfRange', { value, min: min ?? '', max: max ?? '' });
    }
  };
}

function sequence(checks: readonly Check[]): Check {
  if (checks.length === 1) return checks[0];
  if (checks.length === 2) {
    const [first, second] = checks as [Check, Check];
    return (value, walk) => {
      first(value, walk);
      second(value, walk);
    };
  }
  return (value, walk) => {
    for (const check of checks) check(value, walk);
  };
}

/** A backbone element's children, or those of the element its contentReference names. */
function backboneCheck(element: ElementModel, scope: Scope): Check {
  const node = element.contentReference !== undefined ? scope.resolve(element.contentReference) : element;
  if (!node) return () => undefined;
  let check = scope.nodes.get(node);
  if (check) return check;
  let compiled: Check | undefined;
  check = (value, walk) => {
    compiled ??= compileObject(node.children, { type: node.path, resource: false, emptyAllowed: false }, scope, compileInvariants(node.constraints, node.path));
    compiled(value, walk);
  };
  scope.nodes.set(node, check);
  return check;
}

function typesOf(element: ElementModel, scope: Scope): readonly TypeModel[] {
  if (element.types.length > 0) return element.choice ? element.types : element.types.slice(0, 1);
  const referenced = element.contentReference !== undefined ? scope.resolve(element.contentReference) : undefined;
  return referenced?.types.slice(0, 1) ?? [{ code: 'BackboneElement' }];
}

const primitiveChecks = new Map<string, Check>();

/**
 * An integer's JSON form has no fraction or exponent (https://hl7.org/fhir/R4/datatypes.html#integer:
 * `[0]|[-+]?[1-9][0-9]*`): `2.0` and `1e2` are the number 2 to JSON.parse, but the reader kept
 * their text (src/fhir/json.ts), which only such forms leave behind for an integer.
 */
function integerText(value: unknown, type: string, walk: Walk): void {
  const text = numberText(walk.holder, walk.path[walk.path.length - 1]);
  if (text !== undefined && Object.is(Number(text), value)) walk.error('value', 'notInteger', { type, value: text });
}

function primitiveCheck(code: string): Check {
  let check = primitiveChecks.get(code);
  if (check) return check;
  const fault = PRIMITIVE_CHECKS[code];
  const points = code === 'canonical' || code === 'uri' || code === 'url';
  const integer = code === 'integer' || code === 'positiveInt' || code === 'unsignedInt';
  check = (value, walk) => {
    const found = fault(value);
    if (found) walk.error(found.key === 'jsonType' ? 'structure' : 'value', found.key, found.params);
    else if (points) noteLocalUri(value, walk);
    else if (integer) integerText(value, code, walk);
  };
  if (code === 'xhtml') {
    const primitive = check;
    check = (value, walk) => {
      primitive(value, walk);
      const found = typeof value === 'string' && value.length > 0 ? narrativeFault(value) : undefined;
      if (found) walk.error('invariant', found.key, found.params);
    };
  }
  primitiveChecks.set(code, check);
  return check;
}

/**
 * Resource types a Reference may point to, or undefined for any: `Reference(Any)`, or a target
 * profile the server does not hold, whose type it cannot know.
 */
function targetTypes(type: TypeModel): ReadonlySet<string> | undefined {
  const profiles = type.targetProfile ?? [];
  const names = profiles.map((url) => coreTypeName(url) ?? heldDefinition(url)?.type);
  if (names.length === 0 || names.some((name) => name === undefined || name === 'Resource')) return undefined;
  return new Set(names as string[]);
}

const typeInvariants = new Map<string, ReadonlySet<string>>();

/** Keys of the invariants a type checks on itself (Period: per-1), repeated by R4 on elements of that type. */
function typeInvariantKeys(code: string): ReadonlySet<string> {
  let keys = typeInvariants.get(code);
  if (!keys) {
    const definition = isPrimitiveType(code) ? undefined : coreDefinition(code);
    keys = new Set(definition?.snapshot?.element[0]?.constraint?.map((c) => c.key) ?? []);
    typeInvariants.set(code, keys);
  }
  return keys;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
