import { isResourceType } from '../definitions.js';
import { bindingCheck } from './bindings.js';
import { type Invariant, checkInvariants, compileInvariants } from './invariants.js';
import { narrativeFault } from './narrative.js';
import { PRIMITIVE_CHECKS, describeJson, isPrimitiveType } from './primitives.js';
import { checkReference, noteLocalUri } from './references.js';
import { type ElementModel, type TypeModel, coreDefinition, coreTypeName, elementTree } from './structure.js';
import type { JsonObject, RootFrame, Walk } from './walk.js';

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
  // Every type an R4 element names has a definition; a name without one has nothing to check.
  if (!definition) return () => undefined;
  const root = elementTree(definition);
  const scope = new Scope(root);
  const owner: Owner = { type, resource: definition.kind === 'resource', emptyAllowed: false };
  const object = compileObject(root.children, owner, scope, compileInvariants(root.constraints, type));
  return type === 'Extension' ? extensionCheck(object) : object;
}

/** ext-1: an extension has either nested extensions or a value[x], not both, not neither. */
function extensionCheck(object: Check): Check {
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
  for (const element of children) {
    const group = element.choice ? groups.push([]) - 1 : -1;
    const keys: string[] = [];
    for (const type of typesOf(element, scope)) {
      const key = element.choice ? element.name + type.code[0]!.toUpperCase() + type.code.slice(1) : element.name;
      const primitive = isPrimitiveType(type.code);
      const property: Property = { key, extensionKey: '_' + key, primitive, array: element.array, max: element.max, group, check: valueCheck(element, type, scope) };
      entries.set(key, { property, extension: false });
      keys.push(key);
      if (primitive) {
        entries.set(property.extensionKey, { property, extension: true });
        keys.push(property.extensionKey);
      }
      if (group >= 0) groups[group]!.push(key);
    }
    if (element.min > 0) requirements.push({ name: element.name, min: element.min, keys, choice: element.choice });
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
      if (property.primitive) primitiveProperty(property, value[property.key], value[property.extensionKey], walk);
      else complexProperty(property, value[key], walk);
      walk.path.pop();
    }
    if (children === 0 && !owner.resource && !owner.emptyAllowed) walk.error('invariant', 'elementEmpty');
    if (conflicts !== 0) {
      for (let g = 0; g < groups.length; g++) {
        if (conflicts & (1 << g)) walk.error('structure', 'choiceConflict', { keys: groups[g]!.filter((k) => value[k] !== undefined || value['_' + k] !== undefined).join(', ') });
      }
    }
    for (const requirement of requirements) {
      const count = countOf(value, requirement);
      if (count < requirement.min) walk.errorAt(requirement.name, 'required', 'required', { name: requirement.name, min: requirement.min, count });
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

function primitiveProperty(property: Property, value: unknown, extension: unknown, walk: Walk): void {
  if (!property.array) {
    if (Array.isArray(value) || Array.isArray(extension)) {
      walk.error('structure', 'expectedSingle', { name: property.key });
      return;
    }
    if (property.max === 0) walk.error('structure', 'tooMany', { name: property.key, max: 0, count: 1 });
    const hasValue = value !== undefined && value !== null;
    if (value === null) walk.error('structure', 'nullValue');
    else if (hasValue) property.check(value, walk);
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
    if (hasValue) property.check(item, walk);
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
    property.check(value, walk);
    return;
  }
  if (!Array.isArray(value)) {
    walk.error('structure', 'expectedArray', { name: property.key });
    return;
  }
  if (value.length === 0) walk.error('structure', 'emptyArray');
  if (value.length > property.max) walk.error('structure', 'tooMany', { name: property.key, max: property.max, count: value.length });
  for (let i = 0; i < value.length; i++) {
    walk.path.push(i);
    const item = value[i];
    if (item === null) walk.error('structure', 'nullValue');
    else property.check(item, walk);
    walk.path.pop();
  }
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
  const root = elementTree(coreDefinition('Element')!);
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
  return sequence(checks);
}

/**
 * A primitive's value, then its binding and invariants only when the value itself is valid: a
 * code with a stray space is one fault, not also one of terminology.
 */
function primitiveValueCheck(element: ElementModel, code: string): Check {
  const value = primitiveCheck(code);
  const binding = bindingCheck(element.binding, code);
  const invariants = compileInvariants(element.constraints, element.path);
  if (!binding && invariants.length === 0) return value;
  return (item, walk) => {
    const before = walk.issues.length;
    value(item, walk);
    if (walk.issues.length !== before) return;
    binding?.(item, walk);
    if (invariants.length !== 0) checkInvariants(invariants, item, walk);
  };
}

function sequence(checks: readonly Check[]): Check {
  if (checks.length === 1) return checks[0]!;
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

function primitiveCheck(code: string): Check {
  let check = primitiveChecks.get(code);
  if (check) return check;
  const fault = PRIMITIVE_CHECKS[code]!;
  const points = code === 'canonical' || code === 'uri' || code === 'url';
  check = (value, walk) => {
    const found = fault(value);
    if (found) walk.error(found.key === 'jsonType' ? 'structure' : 'value', found.key, found.params);
    else if (points) noteLocalUri(value, walk);
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

/** Resource types a Reference may point to, or undefined for any (`Reference(Any)`, or targets named by profiles). */
function targetTypes(type: TypeModel): ReadonlySet<string> | undefined {
  const profiles = type.targetProfile ?? [];
  const names = profiles.map(coreTypeName);
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
