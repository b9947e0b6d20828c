import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { isResourceType } from './definitions.js';
import { isJsonObject } from './json.js';
import { badRequest, unprocessable } from './outcome.js';
import { resourceCheck } from './validator/compile.js';
import { type Locale, message } from './validator/messages.js';
import { definitionCheck } from './validator/profiles.js';
import { Walk } from './validator/walk.js';

export { type Locale, negotiateLocale } from './validator/messages.js';
export { heldProfiles, heldStructureDefinitions, registerStructureDefinitions, registryVersion } from './validator/structure-registry.js';

export interface ValidateOptions {
  /** A profile the resource must also conform to (`$validate?profile=`). */
  profile?: StructureDefinition;
  /** The language of the issues' texts; their codes and expressions are the same in every one. Default English. */
  locale?: Locale;
}

/**
 * Validates a resource against the R4 base definitions, or against `opts.profile` as well, with
 * the validator compiled from the R4 StructureDefinitions (src/fhir/validator/): element names,
 * cardinality, choice types, primitive values (calendar dates included), required and extensible
 * bindings, references, contained resources and the core invariants — in the resource, its
 * contained resources and the resources of Bundle entries alike — and the profiles they claim
 * in `meta.profile` that the server holds (`registerStructureDefinitions`).
 * https://hl7.org/fhir/R4/validation.html
 *
 * Never throws: input of any shape yields issues. The resource is valid when no issue has
 * severity `error` or `fatal`. Expressions are FHIRPath element paths with indexes, choice
 * elements by their JSON name: `Observation.valueQuantity.code`, `Claim.contained[0].status`.
 */
export function validateResource(resource: unknown, opts?: ValidateOptions): OperationOutcomeIssue[] {
  const locale = opts?.locale ?? 'en';
  if (!isResourceObject(resource)) return [shapeIssue(resource, locale)];
  const typed = resource;
  const walk = new Walk(locale);
  walk.path.push(typed.resourceType);
  try {
    resourceCheck(typed, walk);
    if (opts?.profile) profileIssues(typed, opts.profile, walk);
  } catch (e) {
    // Only a pathological input reaches here: a cyclic object or extensions nested thousands deep.
    walk.path.length = 0;
    walk.issues.push(issue(e instanceof RangeError ? 'too-costly' : 'processing', message(locale, e instanceof RangeError ? 'tooDeep' : 'notValidated')));
  }
  // A profile is checked over its base type, so the base's own faults come twice.
  return walk.profiled ? distinct(walk.issues) : walk.issues;
}

/**
 * Throws unless the resource is valid. A body that is not even a JSON object with a known R4
 * `resourceType` is a malformed request (400); a resource that breaks the definitions is
 * unprocessable (422), as FHIR servers answer "violated applicable FHIR profiles or server
 * business rules". https://hl7.org/fhir/R4/http.html#create
 */
export function assertValid(resource: unknown, opts?: { locale?: Locale }): asserts resource is Resource {
  if (!isResourceObject(resource)) {
    const shape = shapeIssue(resource, opts?.locale ?? 'en');
    throw badRequest(shape.details?.text ?? 'Not a FHIR resource', undefined, shape.code);
  }
  const issues = validateResource(resource, opts);
  if (issues.some(isError)) throw unprocessable(issues);
}

/**
 * `$validate` against a profile the caller supplies: the base rules still apply, since a profile
 * can only narrow the base. https://hl7.org/fhir/R4/resource-operation-validate.html
 */
export function validateAgainstProfile(resource: unknown, profile: StructureDefinition, opts?: { locale?: Locale }): OperationOutcomeIssue[] {
  if (profile?.resourceType !== 'StructureDefinition' || !(profile.snapshot?.element?.length || profile.differential?.element?.length)) {
    throw badRequest('The profile must be a StructureDefinition with a snapshot or a differential', 'profile');
  }
  const locale = opts?.locale ?? 'en';
  if (!isResourceObject(resource)) return [shapeIssue(resource, locale)];
  const resourceType = resource.resourceType;
  if (profile.type !== resourceType) {
    return [issue('invalid', message(locale, 'profileWrongType', { url: profile.url, type: String(profile.type), actual: resourceType }), resourceType)];
  }
  return validateResource(resource, { profile, locale });
}

type ResourceObject = Record<string, unknown> & { resourceType: string };

/** A JSON object with an R4 resourceType: what the validator can walk. */
function isResourceObject(value: unknown): value is ResourceObject {
  return isJsonObject(value) && isResourceType(value.resourceType);
}

/** Why the input, not a ResourceObject, is not even a resource: not a JSON object, or no R4 resourceType. */
function shapeIssue(resource: unknown, locale: Locale): OperationOutcomeIssue {
  if (!isJsonObject(resource)) return issue('structure', message(locale, 'notResource'));
  const resourceType = resource.resourceType;
  if (resourceType === undefined) return issue('structure', message(locale, 'noResourceType'));
  return issue('not-supported', message(locale, 'unknownResourceType', { value: JSON.stringify(resourceType) }), 'resourceType');
}

/** The profile's own rules on the resource, walked from its root like the base rules. */
function profileIssues(resource: ResourceObject, profile: StructureDefinition, walk: Walk): void {
  if (profile.type !== resource.resourceType) {
    walk.error('invalid', 'profileWrongType', { url: String(profile.url), type: String(profile.type), actual: resource.resourceType });
    return;
  }
  const check = definitionCheck(profile);
  if (!check) return;
  walk.frame = { resource, root: { resource }, containedIndex: -1 };
  check(resource, walk);
  walk.frame = undefined;
}

function distinct(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.severity}|${i.code}|${i.expression?.[0]}|${i.details?.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function isError(i: OperationOutcomeIssue): boolean {
  return i.severity === 'error' || i.severity === 'fatal';
}

function issue(code: OperationOutcomeIssue['code'], text: string, expression?: string): OperationOutcomeIssue {
  return expression === undefined
    ? { severity: 'error', code, details: { text } }
    : { severity: 'error', code, details: { text }, expression: [expression] };
}
