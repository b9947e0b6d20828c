import type { InvariantTest } from './invariants.js';
import { jsonEqual } from './json-compare.js';
import type { JsonObject } from './walk.js';

/**
 * R4 invariants met on nearly every write, compiled by hand over the JSON and found by their
 * exact expression: fhirpath.js takes 5–30 µs for each evaluation, these well under one. Each
 * agrees with fhirpath.js on the Synthea data, the generated population and hand-made cases
 * (test/fhir/validator-invariants.test.ts), except per-1, which compares the boundaries of the
 * two values as R5 does (see `periodInOrder`).
 *
 * `x.exists()` in FHIRPath is true for a primitive that has only an extension (`_x`), so both
 * JSON names are looked at; a choice element (`value`) exists when any of its types does.
 */
export const CORE_INVARIANTS: ReadonlyMap<string, InvariantTest> = new Map<string, InvariantTest>([
  // Quantity and its profiles (qty-3), Duration and Age (drt-1/age-1 are left to fhirpath.js)
  ['code.empty() or system.exists()', (q) => !has(q, 'code') || has(q, 'system')],
  ['comparator.empty()', (q) => !has(q, 'comparator')],
  // ContactPoint cpt-2
  ['value.empty() or system.exists()', (c) => !has(c, 'value') || has(c, 'system')],
  // Period per-1
  ['start.hasValue().not() or end.hasValue().not() or (start <= end)', (p) => periodInOrder(p)],
  // Attachment att-1
  ['data.empty() or contentType.exists()', (a) => !has(a, 'data') || has(a, 'contentType')],
  // Observation obs-6, obs-7, obs-3
  ['dataAbsentReason.empty() or value.empty()', (o) => !has(o, 'dataAbsentReason') || !hasChoice(o, 'value')],
  ['value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()', (o, walk) => componentCodesDiffer(o, walk.frame?.resource)],
  ['low.exists() or high.exists() or text.exists()', (r) => has(r, 'low') || has(r, 'high') || has(r, 'text')],
  // Condition con-4, con-5
  [
    "abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()",
    (c) => !hasChoice(c, 'abatement') || hasCoding(field(c, 'clinicalStatus'), CONDITION_CLINICAL, ['resolved', 'remission', 'inactive']),
  ],
  [
    "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()",
    (c) => !hasCoding(field(c, 'verificationStatus'), CONDITION_VER_STATUS, ['entered-in-error']) || !has(c, 'clinicalStatus'),
  ],
  // AllergyIntolerance ait-1, ait-2
  [
    "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').exists() or clinicalStatus.exists()",
    (a) => hasCoding(field(a, 'verificationStatus'), ALLERGY_VERIFICATION, ['entered-in-error']) || has(a, 'clinicalStatus'),
  ],
  [
    "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').empty() or clinicalStatus.empty()",
    (a) => !hasCoding(field(a, 'verificationStatus'), ALLERGY_VERIFICATION, ['entered-in-error']) || !has(a, 'clinicalStatus'),
  ],
  // Organization org-1, org-2, org-3; Patient pat-1
  ['(identifier.count() + name.count()) > 0', (o) => has(o, 'identifier') || has(o, 'name')],
  ["where(use = 'home').empty()", (x) => field(x, 'use') !== 'home'],
  ['name.exists() or telecom.exists() or address.exists() or organization.exists()', (c) => has(c, 'name') || has(c, 'telecom') || has(c, 'address') || has(c, 'organization')],
  // ServiceRequest prr-1, CarePlan.activity cpl-3
  ['orderDetail.empty() or code.exists()', (s) => !has(s, 'orderDetail') || has(s, 'code')],
  ['detail.empty() or reference.empty()', (a) => !has(a, 'detail') || !has(a, 'reference')],
  // Timing.repeat tim-1, tim-2, tim-4 to tim-10
  ['duration.empty() or durationUnit.exists()', (r) => !has(r, 'duration') || has(r, 'durationUnit')],
  ['period.empty() or periodUnit.exists()', (r) => !has(r, 'period') || has(r, 'periodUnit')],
  ['duration.exists() implies duration >= 0', (r) => notNegative(r, 'duration')],
  ['period.exists() implies period >= 0', (r) => notNegative(r, 'period')],
  ['periodMax.empty() or period.exists()', (r) => !has(r, 'periodMax') || has(r, 'period')],
  ['durationMax.empty() or duration.exists()', (r) => !has(r, 'durationMax') || has(r, 'duration')],
  ['countMax.empty() or count.exists()', (r) => !has(r, 'countMax') || has(r, 'count')],
  ["offset.empty() or (when.exists() and when.select($this in ('C' | 'CM' | 'CD' | 'CV')).allFalse())", (r) => offsetWithEvent(r)],
  ['timeOfDay.empty() or when.empty()', (r) => !has(r, 'timeOfDay') || !has(r, 'when')],
  // Immunization.education imm-1, Goal.target gol-1, Appointment.participant app-1
  ['documentType.exists() or reference.exists()', (e) => has(e, 'documentType') || has(e, 'reference')],
  ['(detail.exists() and measure.exists()) or detail.exists().not()', (t) => !hasChoice(t, 'detail') || has(t, 'measure')],
  ['type.exists() or actor.exists()', (p) => has(p, 'type') || has(p, 'actor')],
  // Consent ppc-1
  ['policy.exists() or policyRule.exists()', (c) => has(c, 'policy') || has(c, 'policyRule')],
]);

const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const CONDITION_VER_STATUS = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const ALLERGY_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(node: unknown, name: string): unknown {
  return isObject(node) ? node[name] : undefined;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
}

/** `name.exists()`: the element, or only the extension of a primitive (`_name`). */
function has(node: unknown, name: string): boolean {
  return isObject(node) && (present(node[name]) || present(node['_' + name]));
}

/** `value.exists()` for `value[x]`: any `valueQuantity`, `valueString`, `_valueString`… */
function hasChoice(node: unknown, name: string): boolean {
  if (!isObject(node)) return false;
  for (const key in node) {
    const start = key.charCodeAt(0) === 0x5f ? 1 : 0;
    if (key.startsWith(name, start) && isUpper(key.charCodeAt(start + name.length)) && present(node[key])) return true;
  }
  return false;
}

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

function hasCoding(concept: unknown, system: string, codes: readonly string[]): boolean {
  const codings = field(concept, 'coding');
  if (!Array.isArray(codings)) return false;
  return codings.some((c) => isObject(c) && c.system === system && typeof c.code === 'string' && codes.includes(c.code));
}

function notNegative(node: unknown, name: string): boolean {
  const value = field(node, name);
  return typeof value !== 'number' || value >= 0;
}

function offsetWithEvent(repeat: unknown): boolean {
  if (!has(repeat, 'offset')) return true;
  const when = field(repeat, 'when');
  if (!Array.isArray(when) || when.length === 0) return false;
  return when.every((w) => w !== 'C' && w !== 'CM' && w !== 'CD' && w !== 'CV');
}

/** obs-7: with a value, no component's code shares a coding with the Observation's code. */
function componentCodesDiffer(observation: unknown, resource: JsonObject | undefined): boolean {
  if (!hasChoice(observation, 'value')) return true;
  const components = field(observation, 'component');
  const own = field(field(resource, 'code'), 'coding');
  if (!Array.isArray(components) || !Array.isArray(own) || own.length === 0) return true;
  for (const component of components) {
    const codings = field(field(component, 'code'), 'coding');
    if (Array.isArray(codings) && codings.some((c) => own.some((o) => jsonEqual(c, o)))) return false;
  }
  return true;
}

/**
 * per-1, "if present, start SHALL have a lower value than end", as R5 writes it:
 * `start.lowBoundary() <= end.highBoundary()`. R4's `start <= end` is empty, and so fails, for
 * values of different precision (`2020` to `2020-05-01`) or whose order the precision leaves
 * open — periods that are plainly in order. Here a period fails only when the earliest instant
 * its start can mean is after the latest its end can mean. Two values without a time zone (dates)
 * are read in the same zone; one without a zone next to one with a zone can be in any zone from
 * −14:00 to +14:00.
 */
function periodInOrder(period: unknown): boolean {
  const start = field(period, 'start');
  const end = field(period, 'end');
  if (typeof start !== 'string' || typeof end !== 'string') return true;
  const from = instantRange(start);
  const to = instantRange(end);
  if (from === undefined || to === undefined) return true;
  const slack = from[2] === to[2] ? 0 : FOURTEEN_HOURS;
  return from[0] < to[1] + slack;
}

const FOURTEEN_HOURS = 14 * 3600 * 1000;
const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

/**
 * The first instant a date or dateTime can mean and the first after the last (ms since 1970,
 * read as UTC when it has no zone), and whether it has a zone.
 */
function instantRange(value: string): [number, number, boolean] | undefined {
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  if (m[4] === undefined) {
    const month = m[2] === undefined ? undefined : Number(m[2]) - 1;
    const day = m[3] === undefined ? undefined : Number(m[3]);
    const low = utc(year, month ?? 0, day ?? 1);
    const high = day !== undefined ? utc(year, month!, day + 1) : month !== undefined ? utc(year, month + 1, 1) : utc(year + 1, 0, 1);
    return [low, high, false];
  }
  const fraction = m[7] ?? '';
  const zone = m[8];
  const offset = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60000;
  const low = utc(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) + Number(`0.${fraction || '0'}`) * 1000 - offset;
  return [low, low + 1000 / 10 ** fraction.length, true];
}

/** Date.UTC, also for the years 1–99 that Date.UTC reads as 1901–1999. */
function utc(year: number, month: number, day: number, hours = 0, minutes = 0, seconds = 0): number {
  if (year >= 100) return Date.UTC(year, month, day, hours, minutes, seconds);
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hours, minutes, seconds, 0);
  return date.getTime();
}
