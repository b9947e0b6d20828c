import type { StructureDefinition } from '@medplum/fhirtypes';
import { type Check, compileDefinition, typeCheck, withoutErrors } from './compile.js';
import { profileTree } from './profile-tree.js';
import { coreDefinition, coreTypeName } from './structure.js';
import { heldDefinition, registryVersion } from './structure-registry.js';
import type { JsonObject, Walk } from './walk.js';

/**
 * Profiles (https://hl7.org/fhir/R4/profiling.html): the StructureDefinitions the server holds,
 * and R4's own constraints on types (SimpleQuantity, MoneyQuantity), compiled like the base
 * types — over the base type's tree, so the base's rules hold too — once per registration.
 */
export function profileCheck(url: string): Check | undefined {
  if (compiledFor !== registryVersion()) {
    compiled.clear();
    compiledFor = registryVersion();
  }
  const canonical = url.split('|')[0];
  if (compiled.has(canonical)) return compiled.get(canonical);
  const check = resolve(canonical);
  compiled.set(canonical, check);
  return check;
}

const compiled = new Map<string, Check | undefined>();
let compiledFor = -1;

function resolve(url: string): Check | undefined {
  const definition = heldDefinition(url) ?? coreDefinition(url);
  if (!definition) return undefined;
  if (definition.derivation !== 'constraint') return typeCheck(definition.type!);
  // Compiled on first use, so that a profile may name itself (an extension with extensions of its kind).
  let check: Check | null | undefined;
  return (value, walk) => {
    if (check === undefined) check = definitionCheck(definition) ?? null;
    check?.(value, walk);
  };
}

/**
 * The check of one profile: its tree laid over its base type's, then the profile it is derived
 * from when the server holds that one too (a national profile of a regional one).
 */
export function definitionCheck(definition: StructureDefinition): Check | undefined {
  const tree = profileTree(definition);
  if (!tree) return undefined;
  const own = compileDefinition(tree, definition, false);
  const parent = definition.baseDefinition && heldDefinition(definition.baseDefinition) ? definition.baseDefinition : undefined;
  return (value, walk) => {
    walk.profiled = true;
    own(value, walk);
    if (parent) profileCheck(parent)?.(value, walk);
  };
}

/** Slicing by `profile`: whether a value conforms to the profile, tried without reporting. */
export function conforms(url: string, value: unknown, walk: Walk): boolean {
  const check = profileCheck(url);
  return check !== undefined && withoutErrors(check, value, walk);
}

/**
 * The profiles a resource claims in `meta.profile` (https://hl7.org/fhir/R4/resource.html#profile)
 * that the server holds are enforced on it; one it does not hold is noted and not checked, and
 * one made for another type is an error.
 */
export function checkClaimedProfiles(resource: JsonObject, type: string, walk: Walk): void {
  const claims = (resource.meta as JsonObject).profile;
  if (!Array.isArray(claims)) return;
  const checks: Check[] = [];
  walk.path.push('meta', 'profile');
  for (let i = 0; i < claims.length; i++) {
    const url = claims[i];
    if (typeof url !== 'string') continue;
    const canonical = url.split('|')[0];
    // Claiming the base definition of the resource's own type says nothing more.
    if (coreTypeName(canonical) === type) continue;
    const definition = heldDefinition(canonical) ?? coreDefinition(canonical);
    walk.path.push(i);
    if (!definition) walk.report('information', 'not-found', 'profileUnknown', { url });
    else if (definition.type !== type) walk.error('invalid', 'profileWrongType', { url, type: String(definition.type), actual: type });
    else {
      const check = profileCheck(canonical);
      if (check) checks.push(check);
    }
    walk.path.pop();
  }
  walk.path.pop();
  walk.path.pop();
  for (const check of checks) check(resource, walk);
}
