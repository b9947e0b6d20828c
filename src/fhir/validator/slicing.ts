import { expandValueSet } from '../definitions.js';
import { splitOutside } from '../fhirpath-split.js';
import { jsonEqual, jsonIncludes } from './json-compare.js';
import { type ElementModel, type SlicingModel, coreTree } from './structure.js';
import type { JsonObject, Walk } from './walk.js';

/** Whether a value conforms to the profile with that URL, validated on the side without reporting. */
type Conforms = (profile: string, value: unknown, walk: Walk) => boolean;
type Matcher = (item: unknown, walk: Walk) => boolean;

/**
 * Which slice an item of a sliced element belongs to, by the slicing's discriminators
 * (https://hl7.org/fhir/R4/profiling.html#discriminator): `value` and `pattern` compare what is
 * at the discriminator's path with the slice's fixed or pattern value there (or, for an
 * extension's url, the URL of the extension definition the slice names; or the codes of a
 * required binding); `type` compares its type, `profile` validates it against the profile the
 * slice names, `exists` asks whether it is there at all. An item belongs to a slice when every
 * discriminator says so. Without discriminators, an item belongs to the first slice it is valid
 * against (`fits`). Paths are the restricted FHIRPath of discriminators: names, `$this`,
 * `extension('url')` and `ofType(T)`; `resolve()` reads other resources, which validation does
 * not, so a discriminator through it matches nothing.
 */
export function sliceMatcher(slicing: SlicingModel, slice: ElementModel, conforms: Conforms, fits: Matcher): Matcher {
  if (slicing.discriminator.length === 0) return fits;
  const tests = slicing.discriminator.map((d) => discriminatorTest(d.type, parsePath(d.path), slice, conforms));
  return (item, walk) => tests.every((test) => test(item, walk));
}

type Step = { kind: 'this' } | { kind: 'child'; name: string } | { kind: 'extension'; url: string } | { kind: 'ofType'; type: string } | { kind: 'resolve' };

interface Typed {
  readonly value: unknown;
  /** The type a choice element's JSON name gives (`valueQuantity` → Quantity), when it gives one. */
  readonly type?: string;
}

function discriminatorTest(kind: string, steps: readonly Step[], slice: ElementModel, conforms: Conforms): Matcher {
  const never = (): boolean => false;
  const target = elementAt(slice, steps);
  if (!target || steps.some((s) => s.kind === 'resolve')) return never;
  switch (kind) {
    case 'value':
    case 'pattern': {
      const fixed = target.element.fixed ?? target.implied;
      const pattern = target.element.pattern;
      if (fixed !== undefined) return (item) => valuesAt(item, steps).some((v) => jsonEqual(v.value, fixed));
      if (pattern !== undefined) return (item) => valuesAt(item, steps).some((v) => jsonIncludes(v.value, pattern));
      const binding = target.element.binding;
      const codes = binding?.strength === 'required' ? expandValueSet(binding.valueSet) : undefined;
      if (!codes) return never;
      return (item) => valuesAt(item, steps).some(({ value }) => codesOf(value).some(([system, code]) => (system === undefined ? codes.codes.has(code) : codes.bySystem.get(system)?.has(code) === true)));
    }
    case 'type': {
      const types = new Set(target.element.types.map((t) => t.code));
      return (item) => valuesAt(item, steps).some((v) => types.has(v.type ?? String((v.value as JsonObject | null)?.resourceType)));
    }
    case 'profile': {
      const profiles = target.element.types.flatMap((t) => t.profile ?? []);
      if (profiles.length === 0) return never;
      return (item, walk) => valuesAt(item, steps).some((v) => profiles.some((p) => conforms(p, v.value, walk)));
    }
    case 'exists': {
      const { min, max } = target.element;
      if (min > 0) return (item) => valuesAt(item, steps).length > 0;
      if (max === 0) return (item) => valuesAt(item, steps).length === 0;
      return () => true;
    }
    default:
      return never;
  }
}

/** `[system, code]` pairs of a code, Coding or CodeableConcept. */
function codesOf(value: unknown): [string | undefined, string][] {
  if (typeof value === 'string') return [[undefined, value]];
  if (typeof value !== 'object' || value === null) return [];
  const object = value as JsonObject;
  if (Array.isArray(object.coding)) return object.coding.flatMap(codesOf);
  return typeof object.code === 'string' ? [[typeof object.system === 'string' ? object.system : '', object.code]] : [];
}

/** `extension('http://x').value.ofType(Coding)` → steps, splitting on dots outside quotes and parentheses. */
function parsePath(path: string): Step[] {
  const parts = splitOutside(path, '.');
  return parts.map((part): Step => {
    if (part === '$this') return { kind: 'this' };
    if (part === 'resolve()') return { kind: 'resolve' };
    const call = /^(extension|ofType)\(\s*'?([^')]*)'?\s*\)$/.exec(part);
    if (call) return call[1] === 'extension' ? { kind: 'extension', url: call[2] } : { kind: 'ofType', type: call[2] };
    return { kind: 'child', name: part.endsWith('[x]') ? part.slice(0, -3) : part };
  });
}

/** The values at a discriminator's path in an item, arrays flattened. */
function valuesAt(item: unknown, steps: readonly Step[]): Typed[] {
  let current: Typed[] = [{ value: item }];
  for (const step of steps) {
    const next: Typed[] = [];
    for (const typed of current) {
      const value = typed.value;
      switch (step.kind) {
        case 'this':
          next.push(typed);
          break;
        case 'child':
          if (isObject(value)) childValues(value, step.name, next);
          break;
        case 'extension':
          if (isObject(value) && Array.isArray(value.extension)) {
            for (const extension of value.extension) if (isObject(extension) && extension.url === step.url) next.push({ value: extension });
          }
          break;
        case 'ofType':
          if ((typed.type ?? (value as JsonObject | null)?.resourceType) === step.type) next.push(typed);
          break;
        case 'resolve':
          break;
      }
    }
    current = next;
  }
  return current;
}

function childValues(object: JsonObject, name: string, out: Typed[]): void {
  const direct = object[name];
  if (direct !== undefined) {
    for (const value of Array.isArray(direct) ? direct : [direct]) out.push({ value });
    return;
  }
  for (const key in object) {
    if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length])) {
      const suffix = key.slice(name.length);
      // `valueDateTime` is a dateTime, `valueQuantity` a Quantity: primitive type names start in lower case.
      const type = PRIMITIVE_NAMES.get(suffix) ?? suffix;
      out.push({ value: object[key], type });
    }
  }
}

const PRIMITIVE_NAMES: ReadonlyMap<string, string> = new Map(
  ['base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer', 'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid'].map((t) => [
    t[0].toUpperCase() + t.slice(1),
    t,
  ]),
);

/**
 * The element of a slice a discriminator's path reaches, and for an extension's `url` the URL the
 * slice's extension definition implies when the snapshot does not fix it.
 */
function elementAt(slice: ElementModel, steps: readonly Step[]): { element: ElementModel; implied?: unknown } | undefined {
  let element: ElementModel | undefined = slice;
  let implied: unknown;
  for (const step of steps) {
    if (!element) return undefined;
    implied = undefined;
    switch (step.kind) {
      case 'child': {
        const parent: ElementModel = element;
        element = parent.children.find((c) => c.name === step.name);
        if (step.name === 'url' && parent.types[0]?.code === 'Extension' && element?.fixed === undefined) {
          // A slice of extensions whose snapshot leaves out their children names the definition in its type.
          element ??= coreTree('Extension')?.children.find((c) => c.name === 'url');
          implied = parent.types[0].profile?.[0];
        }
        break;
      }
      case 'extension': {
        const extension = element.children.find((c) => c.name === 'extension');
        element = extension?.slices.find((s) => s.types.some((t) => t.profile?.includes(step.url)) || s.children.some((c) => c.name === 'url' && c.fixed === step.url));
        break;
      }
      case 'ofType':
        element = { ...element, types: element.types.filter((t) => t.code === step.type) };
        break;
      default:
        break;
    }
  }
  return element && { element, implied };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
