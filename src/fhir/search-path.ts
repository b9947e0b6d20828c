import {
  type Atom,
  type FhirPathAtom,
  type TypedValue,
  AsAtom,
  DotAtom,
  EqualsAtom,
  FunctionAtom,
  IsAtom,
  LiteralAtom,
  SymbolAtom,
  UnionAtom,
  capitalize,
  getElementDefinition,
  getTypedPropertyValue,
  removeDuplicates,
  toTypedValue,
} from '@medplum/core';

/**
 * Compiled search paths: the few FHIRPath shapes that nearly all R4 SearchParameter expressions
 * are made of (https://hl7.org/fhir/R4/searchparameter.html#expression), turned once into closures
 * over the resource JSON. Each closure returns exactly what @medplum/core's `evalFhirPathTyped`
 * returns for the same expression, because the index rows are built from those `TypedValue`s by
 * Medplum's `convertToSearchable*` and must not change with the evaluator. Medplum's interpreter
 * spends most of a write's CPU re-resolving element definitions and choice types on every step;
 * here that is done once per (type, element).
 *
 * Compiled: property paths (choice types, arrays flattened), `as X`, `.as(X)`, `ofType(X)`,
 * `where(resolve() is X)`, `where(path = 'literal')`, and unions of these. Anything else gets
 * `undefined` from `compileSearchPath`, and the caller evaluates it with Medplum.
 */

/** Evaluates one search parameter's expression on a resource, like `evalFhirPathTyped`. */
export type SearchPath = (resource: TypedValue) => TypedValue[];

/** A compiled atom: the collection it yields from an input collection, as `Atom.eval` would. */
type Step = (input: TypedValue[]) => TypedValue[];

/**
 * The compiled form of a parsed search parameter expression (`getSearchParameterDetails(…)
 * .parsedExpression`), or `undefined` when it has a shape left to Medplum.
 */
export function compileSearchPath(expression: FhirPathAtom): SearchPath | undefined {
  const body = compileAtom(expression.child);
  if (!body) return undefined;
  // evalFhirPathTyped unwraps every result with valueOf(): a primitive that Medplum merged with
  // its `_element` extensions (a String object) comes out as the plain string.
  return (resource) => {
    const values = body([resource]);
    return values.length === 0 ? values : values.map((v) => ({ type: v.type, value: v.value?.valueOf() }));
  };
}

function compileAtom(atom: Atom): Step | undefined {
  if (atom instanceof SymbolAtom || atom instanceof DotAtom) return compileChain(chainOf(atom));
  if (atom instanceof UnionAtom) {
    const left = compileAtom(atom.left);
    const right = left && compileAtom(atom.right);
    // Medplum removes duplicates at every union, by FHIRPath equality (https://hl7.org/fhirpath/#union-collections);
    // most unions of a resource have one side empty and at most one value, with nothing to compare.
    return (
      right &&
      ((input) => {
        const first = left(input);
        const second = right(input);
        const values = second.length === 0 ? first : first.length === 0 ? second : [...first, ...second];
        return values.length < 2 ? values : removeDuplicates(values);
      })
    );
  }
  if (atom instanceof AsAtom) {
    // `x as T` keeps the items of type T (Medplum evaluates it as ofType).
    const type = typeName(atom.right);
    const left = type === undefined ? undefined : compileAtom(atom.left);
    return left && ((input) => left(input).filter((v) => v.type === type));
  }
  if (atom instanceof FunctionAtom) return compileFunction(atom);
  return undefined;
}

function typeName(atom: Atom | undefined): string | undefined {
  return atom instanceof SymbolAtom ? atom.name : undefined;
}

function compileFunction(atom: FunctionAtom): Step | undefined {
  if (atom.args.length !== 1) return undefined;
  const [arg] = atom.args;
  switch (atom.name) {
    case 'as':
      // Medplum's as() function returns its input whatever the type: `abatement.as(Age)` also
      // yields a Range; only the `as` operator filters.
      return (input) => input;
    case 'ofType': {
      const type = typeName(arg);
      return type === undefined ? undefined : (input) => input.filter((v) => v.type === type);
    }
    case 'where': {
      const keep = compileCondition(arg);
      return keep && ((input) => input.filter(keep));
    }
    default:
      return undefined;
  }
}

/** Types that Medplum's `is` recognises by the shape of the value rather than by its type name. */
const SHAPE_TYPES = new Set(['Boolean', 'Decimal', 'Integer', 'Date', 'DateTime', 'Time', 'Period', 'Quantity']);

/** The two `where` criteria of search parameters: `resolve() is X` and `path = 'literal'`. */
function compileCondition(atom: Atom): ((item: TypedValue) => boolean) | undefined {
  if (atom instanceof IsAtom && atom.left instanceof FunctionAtom && atom.left.name === 'resolve' && atom.left.args.length === 0) {
    const type = typeName(atom.right)?.replace(/^System\./, '').replace(/^FHIR\./, '');
    if (type === undefined || SHAPE_TYPES.has(type)) return undefined;
    return (item) => resolvesTo(item.value, type);
  }
  if (atom instanceof EqualsAtom && atom.right instanceof LiteralAtom && typeof atom.right.value.value === 'string') {
    const literal = atom.right.value.value;
    const left = compileAtom(atom.left);
    // FHIRPath `=` is empty (so false here) for an empty side and false for collections of different sizes.
    return left && ((item) => {
      const values = left([item]);
      return values.length === 1 && values[0].value?.valueOf() === literal;
    });
  }
  return undefined;
}

/**
 * Whether Medplum's `resolve() is X` holds for a value: it does not fetch the target, it reads the
 * type from the reference string (`X/id`, also a relative `X/id/_history/n`, or a conditional `X?…`),
 * from an identifier-only reference's `type`, or from an inline `resource`. An absolute URL yields
 * `http:` and a `urn:uuid:` or `#contained` reference yields nothing, so neither is ever an X.
 */
function resolvesTo(value: unknown, type: string): boolean {
  let reference: string | undefined;
  if (typeof value === 'string') {
    reference = value;
  } else if (typeof value === 'object') {
    const ref = value as { resource?: unknown; reference?: string; type?: string; identifier?: { system?: string; value?: string } };
    if (ref.resource) {
      const resolved = toTypedValue(ref.resource);
      return resolved.type === type || (ref.resource as { resourceType?: unknown }).resourceType === type;
    }
    if (ref.reference) reference = ref.reference;
    else if (ref.type && ref.identifier) reference = `${ref.type}?identifier=${ref.identifier.system}|${ref.identifier.value}`;
  }
  if (reference?.includes('?')) return reference.split('?')[0] === type;
  if (reference?.includes('/')) return reference.split('/')[0] === type;
  return false;
}

/** `a.b.where(…).c` as its atoms in order: each one is evaluated on what the one before it yields. */
function chainOf(atom: Atom): Atom[] {
  return atom instanceof DotAtom ? [...chainOf(atom.left), ...chainOf(atom.right)] : [atom];
}

/** A chain, with each run of names walked as one path so that no collection is built between its steps. */
function compileChain(atoms: Atom[]): Step | undefined {
  const steps: Step[] = [];
  for (let i = 0; i < atoms.length; ) {
    const names: string[] = [];
    for (let atom = atoms[i]; atom instanceof SymbolAtom; atom = atoms[++i]) names.push(atom.name);
    const step = names.length > 0 ? compilePath(names) : compileAtom(atoms[i++]);
    if (!step) return undefined;
    steps.push(step);
  }
  return steps.length === 1 ? steps[0] : (input) => steps.reduce((values, step) => step(values), input);
}

/** How to read one element of one type: the JSON key and the FHIR type of each of its types, in schema order. */
interface ElementPlan {
  readonly keys: readonly string[];
  readonly extensionKeys: readonly string[];
  readonly types: readonly string[];
}

/**
 * A path of names (https://hl7.org/fhirpath/#path-selection), walked depth first so that the
 * values come out in the order Medplum's step-by-step evaluation gives. A name equal to the item's
 * `resourceType` selects the item itself, as the leading `Patient` of `Patient.name` does.
 */
function compilePath(names: string[]): Step | undefined {
  // `$this`, `%resource` and names that Medplum would find as context variables (it looks them up
  // on a plain object, so `constructor` counts) are not property paths.
  if (names.some((name) => name.startsWith('$') || name.startsWith('%') || name in Object.prototype)) return undefined;
  // Per step, the plan of the element for each type of item met there, found on first use.
  const plans = names.map(() => new Map<string, ElementPlan | null>());

  const walk = (value: unknown, type: string, depth: number, out: TypedValue[]): void => {
    if (depth === names.length) {
      out.push({ type, value });
      return;
    }
    if (!isObjectValue(value)) return;
    const name = names[depth];
    const next = depth + 1;
    if (value.resourceType === name) {
      walk(value, type, next, out);
      return;
    }
    let plan = plans[depth].get(type);
    if (plan === undefined) {
      plan = elementPlan(type, name);
      plans[depth].set(type, plan);
    }
    if (!plan) {
      readWithMedplum(value, type, name, (v) => walk(v.value, v.type, next, out));
      return;
    }
    const { keys, extensionKeys, types } = plan;
    for (let i = 0; i < keys.length; i++) {
      if (value[extensionKeys[i]] !== undefined) {
        // A primitive with `_element` extensions: Medplum merges the two into one value, left to it.
        readWithMedplum(value, type, name, (v) => walk(v.value, v.type, next, out));
        return;
      }
      const found = value[keys[i]];
      if (found === undefined) continue;
      if (Array.isArray(found)) {
        for (const item of found) if (item !== undefined) walk(item, typeOf(item, types[i]), next, out);
      } else if (!isEmpty(found)) {
        walk(found, typeOf(found, types[i]), next, out);
      }
      return;
    }
  };

  return (input) => {
    const out: TypedValue[] = [];
    for (const item of input) walk(item.value, item.type, 0, out);
    return out;
  };
}

/** Any object, arrays and String objects included: what Medplum reads properties of. */
function isObjectValue(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null;
}

function elementPlan(type: string, name: string): ElementPlan | null {
  const element = getElementDefinition(type, name);
  if (!element?.type?.length) return null;
  // `Observation.value` is the element `value[x]`, stored under `valueQuantity`, `valueString`…;
  // Medplum takes the first type of the definition whose key (or `_key`) is present.
  const last = element.path.substring(element.path.lastIndexOf('.') + 1);
  const keys = element.type.map((t) => last.replace('[x]', capitalize(t.code)));
  return {
    keys,
    extensionKeys: keys.map((key) => '_' + key),
    // A backbone element's values are typed by the definition's first type code, which names the backbone type.
    types: element.type.map((t) => (t.code === 'Element' || t.code === 'BackboneElement' ? element.type[0].code : t.code)),
  };
}

/** The value of a contained or inline resource is typed by its own `resourceType`. */
function typeOf(value: unknown, type: string): string {
  return type === 'Resource' && value && typeof value === 'object' && 'resourceType' in value ? (value.resourceType as string) : type;
}

/** Medplum's `isEmpty` for a value read from JSON: null, '', {} (an empty array never gets here). */
function isEmpty(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value === 'string') return value === '';
  if (typeof value !== 'object') return false;
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return !('length' in value && Number(value.length) > 0);
}

/** Medplum's own property read, for what the plans do not cover (unknown elements, primitive extensions). */
function readWithMedplum(value: unknown, type: string, name: string, visit: (value: TypedValue) => void): void {
  const result = getTypedPropertyValue({ type, value }, name);
  if (Array.isArray(result)) {
    for (const v of result) if (v?.value !== undefined) visit(v);
  } else if (result?.value !== undefined) {
    visit(result);
  }
}
