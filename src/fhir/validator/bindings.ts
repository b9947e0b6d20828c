import { type ValueSetCodes, expandValueSet } from '../definitions.js';
import type { Check } from './compile.js';
import type { JsonObject } from './walk.js';

/**
 * Terminology bindings (https://hl7.org/fhir/R4/terminologies.html#strength): a code of a
 * `required` binding must be in the value set (an error), one of an `extensible` binding should
 * be (a warning: extensible allows other codes where the value set has none that fits, which only
 * a person can judge). Value sets are expanded from the R4 files by `expandValueSet`; those it
 * cannot expand completely — defined by filters, or over code systems R4 does not enumerate
 * (SNOMED CT, LOINC, UCUM, BCP-47, BCP-13 mime types, ISO 4217) — are skipped, since checking a
 * partial expansion would refuse valid codes.
 */
export function bindingCheck(binding: { strength: string; valueSet: string } | undefined, type: string): Check | undefined {
  if (!binding || (binding.strength !== 'required' && binding.strength !== 'extensible')) return undefined;
  const valueSet = expandValueSet(binding.valueSet);
  if (!valueSet) return undefined;
  const required = binding.strength === 'required';
  switch (type) {
    case 'code':
    case 'string':
    case 'uri':
      return (value, walk) => {
        if (typeof value !== 'string' || valueSet.codes.has(value)) return;
        if (required) walk.error('code-invalid', 'codeNotInValueSet', { code: value, url: valueSet.url });
        else walk.report('warning', 'code-invalid', 'extensibleNotInValueSet', { coding: `"${value}"`, url: valueSet.url });
      };
    case 'Coding':
    case 'Quantity':
      return (value, walk) => {
        if (!isObject(value) || typeof value.code !== 'string' || inValueSet(value, valueSet)) return;
        if (required) walk.error('code-invalid', 'codingNotInValueSet', { coding: systemAndCode(value), url: valueSet.url });
        else walk.report('warning', 'code-invalid', 'extensibleNotInValueSet', { coding: systemAndCode(value), url: valueSet.url });
      };
    case 'CodeableConcept':
      return (value, walk) => {
        if (!isObject(value)) return;
        const codings = Array.isArray(value.coding) ? value.coding.filter(isObject) : [];
        for (const coding of codings) if (inValueSet(coding, valueSet)) return;
        if (required) {
          // A CodeableConcept of extensions only (e.g. data-absent-reason) states no concept to check.
          if (codings.length === 0 && value.text === undefined) return;
          const given = codings.length ? codings.map(systemAndCode).join(', ') : 'text';
          walk.error('code-invalid', 'conceptNotInValueSet', { codings: given, url: valueSet.url });
        } else if (codings.length > 0) {
          // Extensible bindings accept text alone: https://hl7.org/fhir/R4/terminologies.html#extensible
          walk.report('warning', 'code-invalid', 'extensibleNotInValueSet', { coding: codings.map(systemAndCode).join(', '), url: valueSet.url });
        }
      };
    default:
      return undefined;
  }
}

function inValueSet(coding: JsonObject, valueSet: ValueSetCodes): boolean {
  const { system, code } = coding;
  return typeof system === 'string' && typeof code === 'string' && valueSet.bySystem.get(system)?.has(code) === true;
}

function systemAndCode(coding: JsonObject): string {
  return `${typeof coding.system === 'string' ? coding.system : '(no system)'}|${String(coding.code)}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}


