import {
  OperationOutcomeError,
  tryGetDataType,
  validateResource as validateStructure,
  type InternalSchemaElement,
} from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { expandValueSet, isResourceType, loadDefinitions, type ValueSetCodes } from './definitions.js';
import { badRequest, unprocessable } from './outcome.js';

/**
 * Validates a resource against the R4 base definitions, or against `opts.profile` as well.
 *
 * Medplum's validator checks element names, types, cardinality, primitive formats and invariants.
 * On top of it this checks what Medplum leaves out and a national record cannot:
 * codes of required bindings (https://hl7.org/fhir/R4/terminologies.html#required),
 * the form of `Reference.reference` and its target type (https://hl7.org/fhir/R4/references.html#Reference),
 * and the form of `Resource.id` (https://hl7.org/fhir/R4/datatypes.html#id) — in the resource,
 * its contained resources and the resources of Bundle entries alike.
 *
 * Never throws: input of any shape yields issues. The resource is valid when no issue has
 * severity `error` or `fatal` (warnings from Medplum, e.g. conflicting choice-type properties,
 * are passed on). Expressions name JSON properties with indexes, `Observation.valueQuantity.code`,
 * `Claim.contained[0].status`.
 */
export function validateResource(resource: unknown, opts?: { profile?: StructureDefinition }): OperationOutcomeIssue[] {
  const shape = shapeIssue(resource);
  if (shape) return [shape];
  loadDefinitions();
  const typed = resource as ResourceObject;
  const issues = structureIssues(typed, opts?.profile);
  try {
    jsonFormatIssues(typed, [typed.resourceType], issues);
    new BaseRulesWalker(typed.resourceType, issues).resource(typed);
  } catch (e) {
    // Only a pathological input reaches here: a cyclic object or extensions nested thousands deep.
    issues.push(processingIssue(e));
  }
  return issues;
}

/**
 * Throws unless the resource is valid. A body that is not even a JSON object with a known R4
 * `resourceType` is a malformed request (400); a resource that breaks the definitions is
 * unprocessable (422), as FHIR servers answer "violated applicable FHIR profiles or server
 * business rules". https://hl7.org/fhir/R4/http.html#create
 */
export function assertValid(resource: unknown): asserts resource is Resource {
  const shape = shapeIssue(resource);
  if (shape) throw badRequest(shape.details?.text ?? 'Not a FHIR resource', undefined, shape.code);
  const issues = validateResource(resource);
  if (issues.some(isError)) throw unprocessable(issues);
}

/**
 * `$validate` against a profile the caller supplies: Medplum applies the profile's constraints
 * (cardinality, fixed values, patterns, slicing), and the base rules above still apply, since a
 * profile can only narrow the base. Profile bindings that narrow a base binding are not checked
 * beyond what Medplum does. https://hl7.org/fhir/R4/resource-operation-validate.html
 */
export function validateAgainstProfile(resource: unknown, profile: StructureDefinition): OperationOutcomeIssue[] {
  if (profile?.resourceType !== 'StructureDefinition' || !profile.snapshot?.element?.length) {
    throw badRequest('The profile must be a StructureDefinition with a snapshot', 'profile');
  }
  const shape = shapeIssue(resource);
  if (shape) return [shape];
  const resourceType = (resource as ResourceObject).resourceType;
  if (profile.type !== resourceType) {
    return [issue('invalid', `Profile ${profile.url} constrains ${profile.type}, not ${resourceType}`, resourceType)];
  }
  return validateResource(resource, { profile });
}

type ResourceObject = Record<string, unknown> & { resourceType: string };

/** Why the input is not even a resource: not a JSON object, or no R4 resourceType. */
function shapeIssue(resource: unknown): OperationOutcomeIssue | undefined {
  if (!isObject(resource)) return issue('structure', 'A resource must be a JSON object');
  const resourceType = resource.resourceType;
  if (resourceType === undefined) return issue('structure', 'The resource has no resourceType');
  if (!isResourceType(resourceType)) {
    return issue('not-supported', `${JSON.stringify(resourceType)} is not an R4 resource type`, 'resourceType');
  }
  return undefined;
}

function structureIssues(resource: ResourceObject, profile: StructureDefinition | undefined): OperationOutcomeIssue[] {
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateStructure(resource as unknown as Resource, { profile });
  } catch (e) {
    if (!(e instanceof OperationOutcomeError)) return [processingIssue(e)];
    issues = e.outcome.issue ?? [];
  }
  // Medplum warns on every reference whose type it cannot read (urn:uuid, absolute, conditional);
  // the reference check below replaces that warning with an exact one.
  return issues.filter((i) => !(i.severity === 'warning' && i.details?.text?.startsWith('Invalid reference: got')));
}

/**
 * Rules of the JSON format that Medplum's walker lets through (https://hl7.org/fhir/R4/json.html):
 * an array is never empty, and a property name is an element name, never a member of
 * Object.prototype (`constructor`, `valueOf`, `__proto__`) that a lookup in a plain object
 * would "find". Both would otherwise reach the store or crash the indexer.
 */
function jsonFormatIssues(value: unknown, path: (string | number)[], issues: OperationOutcomeIssue[]): void {
  if (Array.isArray(value)) {
    if (value.length === 0) issues.push(issue('structure', 'An array must not be empty: leave the element out instead', formatPath(path)));
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      jsonFormatIssues(value[i], path, issues);
      path.pop();
    }
    return;
  }
  if (!isObject(value)) return;
  for (const key of Object.keys(value)) {
    path.push(key);
    if (key in Object.prototype || key === '__proto__') issues.push(issue('structure', `Invalid additional property "${key}"`, formatPath(path)));
    jsonFormatIssues(value[key], path, issues);
    path.pop();
  }
}

/** How the walker treats one JSON property. */
const CODE = 0; // a bound `code`
const COMPLEX = 1; // a data type or backbone element, walked further
const RESOURCE = 2; // contained, Bundle.entry.resource, Parameters.parameter.resource
const PRIMITIVE_EXTENSION = 3; // `_birthDate`: the id and extensions of a primitive

interface Field {
  readonly kind: number;
  readonly type: string;
  /** Expansion of the required binding, when it could be expanded. */
  readonly valueSet?: ValueSetCodes;
  /** Allowed target resource types of a Reference; absent means any. */
  readonly targets?: ReadonlySet<string>;
  plan?: TypePlan;
}

/**
 * The properties of a type that can hold something to check, by JSON name (choice types
 * expanded: `valueQuantity`, `valueCodeableConcept`). Unbound primitives are left out, so the walk
 * costs a Map miss for them.
 */
type TypePlan = Map<string, Field>;

const plans = new Map<string, TypePlan>();

function planFor(typeName: string): TypePlan {
  let plan = plans.get(typeName);
  if (plan) return plan;
  plan = new Map();
  plans.set(typeName, plan);
  const schema = tryGetDataType(typeName);
  for (const [name, element] of Object.entries(schema?.elements ?? {})) {
    const choice = name.endsWith('[x]');
    for (const { code } of element.type) {
      const key = choice ? name.slice(0, -3) + code[0].toUpperCase() + code.slice(1) : name;
      addField(plan, key, code, element);
    }
  }
  return plan;
}

function addField(plan: TypePlan, key: string, type: string, element: InternalSchemaElement): void {
  const valueSet = requiredValueSet(element);
  if (type === 'Resource') {
    plan.set(key, { kind: RESOURCE, type });
  } else if (isPrimitive(type)) {
    plan.set('_' + key, { kind: PRIMITIVE_EXTENSION, type: 'Element' });
    if (valueSet && type === 'code') plan.set(key, { kind: CODE, type, valueSet });
  } else {
    const coded = type === 'CodeableConcept' || type === 'Coding' || type === 'Quantity';
    const targets = type === 'Reference' ? referenceTargets(element) : undefined;
    plan.set(key, { kind: COMPLEX, type, valueSet: coded ? valueSet : undefined, targets });
  }
}

/** FHIR names primitive types in lower case (`code`, `dateTime`) and complex types in upper case. */
function isPrimitive(type: string): boolean {
  const first = type.charCodeAt(0);
  return first >= 0x61 && first <= 0x7a;
}

function requiredValueSet(element: InternalSchemaElement): ValueSetCodes | undefined {
  const binding = element.binding;
  if (binding?.strength !== 'required' || !binding.valueSet) return undefined;
  return expandValueSet(binding.valueSet);
}

const CORE_PROFILE = 'http://hl7.org/fhir/StructureDefinition/';

function referenceTargets(element: InternalSchemaElement): ReadonlySet<string> | undefined {
  const profiles = element.type.find((t) => t.code === 'Reference')?.targetProfile ?? [];
  // Medplum adds its own resource types (Bot, ClientApplication) to a few targets; they are not R4.
  const names = profiles.filter((p) => p.startsWith(CORE_PROFILE)).map((p) => p.slice(CORE_PROFILE.length));
  if (names.length === 0 || names.includes('Resource')) return undefined;
  return new Set(names);
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RELATIVE_REFERENCE = /^([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
// Conditional references are resolved by the transaction processor, which parses the query.
const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?[^\u0000-\u001f]+$/;
const ABSOLUTE_REFERENCE = /^https?:\/\/[^\s/?#]+[^\s]*$/;
const UUID_REFERENCE = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const OID_REFERENCE = /^urn:oid:[0-2](?:\.(?:0|[1-9]\d*))+$/;
// `#` alone points at the containing resource. https://hl7.org/fhir/R4/references.html#contained
const CONTAINED_REFERENCE = /^#[A-Za-z0-9\-.]{0,64}$/;

/**
 * Walks the JSON of a resource along the R4 type schemas, keeping the path as a stack of
 * segments that is joined only when there is something to report.
 */
class BaseRulesWalker {
  private readonly path: (string | number)[];

  constructor(
    root: string,
    private readonly issues: OperationOutcomeIssue[],
  ) {
    this.path = [root];
  }

  resource(resource: ResourceObject): void {
    const id = resource.id;
    if (typeof id === 'string' && !ID.test(id)) {
      this.path.push('id');
      this.report('invalid', `Resource id "${id}" must be 1 to 64 letters, digits, '-' or '.'`);
      this.path.pop();
    }
    this.object(resource, planFor(resource.resourceType));
  }

  private object(value: Record<string, unknown>, plan: TypePlan): void {
    for (const key in value) {
      const field = plan.get(key);
      if (field === undefined) continue;
      const property = value[key];
      this.path.push(key);
      if (Array.isArray(property)) {
        for (let i = 0; i < property.length; i++) {
          this.path.push(i);
          this.element(property[i], field);
          this.path.pop();
        }
      } else {
        this.element(property, field);
      }
      this.path.pop();
    }
  }

  private element(value: unknown, field: Field): void {
    if (field.kind === CODE) {
      if (typeof value === 'string' && !field.valueSet!.codes.has(value)) {
        this.report('code-invalid', `Code "${value}" is not in the required value set ${field.valueSet!.url}`);
      }
      return;
    }
    if (!isObject(value)) return;
    if (field.kind === RESOURCE) {
      if (isResourceType(value.resourceType)) this.resource(value as ResourceObject);
      return;
    }
    if (field.valueSet) this.coded(value, field.type, field.valueSet);
    if (field.type === 'Reference') this.reference(value, field.targets);
    this.object(value, (field.plan ??= planFor(field.type)));
  }

  /** Coding and Quantity must carry a code of the value set; a CodeableConcept at least one such coding. */
  private coded(value: Record<string, unknown>, type: string, valueSet: ValueSetCodes): void {
    if (type !== 'CodeableConcept') {
      if (typeof value.code === 'string' && !inValueSet(value, valueSet)) {
        this.report('code-invalid', `Code ${systemAndCode(value)} is not in the required value set ${valueSet.url}`);
      }
      return;
    }
    const codings = Array.isArray(value.coding) ? value.coding.filter(isObject) : [];
    // A CodeableConcept of extensions only (e.g. data-absent-reason) says nothing to check.
    if (codings.length === 0 && value.text === undefined) return;
    if (codings.some((coding) => inValueSet(coding, valueSet))) return;
    const given = codings.length ? codings.map(systemAndCode).join(', ') : 'only text';
    this.report('code-invalid', `None of the codings (${given}) is from the required value set ${valueSet.url}`);
  }

  private reference(value: Record<string, unknown>, targets: ReadonlySet<string> | undefined): void {
    const reference = value.reference;
    if (typeof reference !== 'string') return;
    let type: string | undefined;
    switch (reference.charCodeAt(0)) {
      case 0x23 /* # */:
        if (CONTAINED_REFERENCE.test(reference)) return;
        break;
      case 0x75 /* u */:
        if (UUID_REFERENCE.test(reference) || OID_REFERENCE.test(reference)) return;
        break;
      case 0x68 /* h */:
        if (ABSOLUTE_REFERENCE.test(reference)) return;
        break;
      default:
        type = (RELATIVE_REFERENCE.exec(reference) ?? CONDITIONAL_REFERENCE.exec(reference))?.[1];
    }
    this.path.push('reference');
    if (type === undefined) {
      this.report(
        'invalid',
        `Reference "${reference}" must be Type/id, Type/id/_history/vid, Type?search, an http(s) URL, urn:uuid:, urn:oid: or #contained`,
      );
    } else if (!isResourceType(type)) {
      this.report('invalid', `Reference "${reference}" names an unknown resource type ${type}`);
    } else if (targets && !targets.has(type)) {
      this.report('invalid', `Reference "${reference}" must point to ${[...targets].join(' or ')}, not ${type}`);
    }
    this.path.pop();
  }

  private report(code: OperationOutcomeIssue['code'], text: string): void {
    this.issues.push(issue(code, text, formatPath(this.path)));
  }
}

/** `['Patient', 'name', 0, 'given']` → `Patient.name[0].given`. */
function formatPath(path: readonly (string | number)[]): string {
  let expression = '';
  for (const segment of path) {
    expression += typeof segment === 'number' ? `[${segment}]` : expression ? `.${segment}` : segment;
  }
  return expression;
}

function inValueSet(coding: Record<string, unknown>, valueSet: ValueSetCodes): boolean {
  const { system, code } = coding;
  return typeof system === 'string' && typeof code === 'string' && valueSet.bySystem.get(system)?.has(code) === true;
}

function systemAndCode(coding: Record<string, unknown>): string {
  return `${typeof coding.system === 'string' ? coding.system : '(no system)'}|${String(coding.code)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isError(i: OperationOutcomeIssue): boolean {
  return i.severity === 'error' || i.severity === 'fatal';
}

function issue(code: OperationOutcomeIssue['code'], text: string, expression?: string): OperationOutcomeIssue {
  return expression === undefined
    ? { severity: 'error', code, details: { text } }
    : { severity: 'error', code, details: { text }, expression: [expression] };
}

function processingIssue(e: unknown): OperationOutcomeIssue {
  const tooDeep = e instanceof RangeError;
  return issue(
    tooDeep ? 'too-costly' : 'processing',
    tooDeep ? 'The resource is nested too deeply to validate' : `The resource could not be validated: ${String(e)}`,
  );
}
