import type { JsonObject } from './walk.js';

/**
 * FHIRPath equality of two JSON elements (https://hl7.org/fhirpath/#equality), which is also
 * what `fixed[x]` demands (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.fixed_x_):
 * the same properties with equal values, in any order.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => jsonEqual((a as JsonObject)[k], (b as JsonObject)[k]));
}

/**
 * Whether a value holds a `pattern[x]` (https://hl7.org/fhir/R4/elementdefinition-definitions.html#ElementDefinition.pattern_x_):
 * every property of the pattern is in the value with a value that holds it, and each item of a
 * pattern's array is held by some item of the value's.
 */
export function jsonIncludes(value: unknown, pattern: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object') return value === pattern;
  if (Array.isArray(pattern)) {
    const items = Array.isArray(value) ? value : [value];
    return pattern.every((p) => items.some((v) => jsonIncludes(v, p)));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key of Object.keys(pattern)) {
    if (!jsonIncludes((value as JsonObject)[key], (pattern as JsonObject)[key])) return false;
  }
  return true;
}
