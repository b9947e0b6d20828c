import type { MessageKey } from './messages.js';

/**
 * The R4 primitive types (https://hl7.org/fhir/R4/datatypes.html#primitive): each value is
 * checked against the regular expression the spec gives for its type AND for what the expression
 * cannot say — that the date is on the calendar (leap years, days per month), that a leap second
 * is one, that an integer fits in 32 bits, that base64 padding is only at the end, that a string
 * holds no control characters. A check returns the message key of the first fault, or undefined.
 */
type PrimitiveCheck = (value: unknown) => Fault | undefined;

export interface Fault {
  readonly key: MessageKey;
  readonly params?: Record<string, string | number>;
}

/** JSON representation of each primitive (https://hl7.org/fhir/R4/json.html#primitive). */
const PRIMITIVE_JSON_TYPE: Readonly<Record<string, 'string' | 'number' | 'boolean'>> = {
  base64Binary: 'string',
  boolean: 'boolean',
  canonical: 'string',
  code: 'string',
  date: 'string',
  dateTime: 'string',
  decimal: 'number',
  id: 'string',
  instant: 'string',
  integer: 'number',
  markdown: 'string',
  oid: 'string',
  positiveInt: 'number',
  string: 'string',
  time: 'string',
  unsignedInt: 'number',
  uri: 'string',
  url: 'string',
  uuid: 'string',
  xhtml: 'string',
};

export function isPrimitiveType(type: string): boolean {
  return Object.hasOwn(PRIMITIVE_JSON_TYPE, type);
}

// The spec's expressions, from the `regex` extension of each type's `value` element in
// profiles-types.json, anchored.
const DATE = /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$/;
const DATE_TIME =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const INSTANT =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$/;
const TIME = /^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$/;
const CODE = /^[^\s]+(\s[^\s]+)*$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const OID = /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/;
const UUID = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NO_WHITESPACE = /^\S*$/;
/** Characters below U+0020 other than tab, LF and CR: "SHOULD not" in the spec, refused here because no system can render or index them. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
const NON_WHITESPACE = /\S/;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** https://hl7.org/fhir/R4/datatypes.html#string: "strings SHALL NOT exceed 1MB". */
const STRING_MAX = 1024 * 1024;

const fault = (key: MessageKey, params?: Record<string, string | number>): Fault => (params ? { key, params } : { key });

function typeFault(type: string, value: unknown): Fault | undefined {
  const json = PRIMITIVE_JSON_TYPE[type];
  if (typeof value === json) return undefined;
  return fault('jsonType', { type, json, found: describeJson(value) });
}

export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** "SHALL NOT be empty", "SHOULD always contain non-whitespace content" (https://hl7.org/fhir/R4/datatypes.html#string). */
function text(value: string, type: string): Fault | undefined {
  if (value.length === 0) return fault('emptyString', { type });
  if (!NON_WHITESPACE.test(value)) return fault('blankString', { type });
  if (value.length > STRING_MAX) return fault('stringTooLong', { type, max: STRING_MAX });
  const control = CONTROL.exec(value);
  if (control) return fault('controlCharacter', { type, code: 'U+' + control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0') });
  return undefined;
}

function integer(value: unknown, type: string, min: number): Fault | undefined {
  if (typeof value !== 'number') return typeFault(type, value);
  if (!Number.isInteger(value)) return fault('notInteger', { type, value: String(value) });
  if (value < min || value > INT32_MAX) return fault('integerRange', { type, value: String(value), min, max: INT32_MAX });
  return undefined;
}

function pattern(value: unknown, type: string, regex: RegExp, key: MessageKey = 'format'): Fault | undefined {
  if (typeof value !== 'string') return typeFault(type, value);
  if (value.length === 0) return fault('emptyString', { type });
  return regex.test(value) ? undefined : fault(key, { type, value: clip(value) });
}

/** Quoted values are clipped so that a megabyte of garbage does not come back a thousand times. */
function clip(value: string): string {
  return value.length > 80 ? value.slice(0, 77) + '...' : value;
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysInMonth(year: number, month: number): number {
  return month === 2 ? (isLeapYear(year) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const digits = (s: string, from: number, count: number): number => Number(s.slice(from, from + count));

/**
 * What the regular expression lets through that the calendar does not: 30 February, 31 April,
 * 29 February outside leap years, and a second 60 that is not a leap second. Leap seconds are
 * inserted at the end of a UTC month (ITU-R TF.460-6, §2.2), so `:60` is only valid when the
 * time is 23:59 UTC on the last day of a month. `value` already matched DATE, DATE_TIME or INSTANT.
 */
function calendarFault(value: string, type: string): Fault | undefined {
  if (value.length < 10) return undefined;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const day = digits(value, 8, 2);
  if (day > daysInMonth(year, month)) return fault('noSuchDay', { type, value: clip(value), year, month: value.slice(5, 7), days: daysInMonth(year, month) });
  if (value.length >= 19 && value.charCodeAt(17) === 0x36 /* 6 */ && !isLeapSecond(value, year, month, day)) {
    return fault('noLeapSecond', { type, value: clip(value) });
  }
  return undefined;
}

function isLeapSecond(value: string, year: number, month: number, day: number): boolean {
  let zone = 19;
  while (zone < value.length && value[zone] !== 'Z' && value[zone] !== '+' && value[zone] !== '-') zone++;
  let minutes = digits(value, 11, 2) * 60 + digits(value, 14, 2);
  let dayOffset = 0;
  if (zone < value.length && value[zone] !== 'Z') {
    const sign = value[zone] === '-' ? -1 : 1;
    minutes -= sign * (digits(value, zone + 1, 2) * 60 + digits(value, zone + 4, 2));
  }
  if (minutes < 0) {
    minutes += 24 * 60;
    dayOffset = -1;
  } else if (minutes >= 24 * 60) {
    minutes -= 24 * 60;
    dayOffset = 1;
  }
  if (minutes !== 23 * 60 + 59) return false;
  const utc = new Date(Date.UTC(year, month - 1, day + dayOffset));
  return utc.getUTCDate() === daysInMonth(utc.getUTCFullYear(), utc.getUTCMonth() + 1);
}

function temporal(value: unknown, type: string, regex: RegExp): Fault | undefined {
  return pattern(value, type, regex) ?? calendarFault(value as string, type);
}

/**
 * base64 as https://hl7.org/fhir/R4/datatypes.html#base64Binary: groups of four characters of the
 * base64 alphabet with whitespace allowed between them, and `=` padding only at the very end.
 */
function base64(value: unknown): Fault | undefined {
  if (typeof value !== 'string') return typeFault('base64Binary', value);
  let count = 0;
  let padding = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    const alphabet = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (c === 0x3d /* = */) padding++;
    else if (!alphabet || padding > 0) return fault('base64', {});
    count++;
  }
  return count === 0 || count % 4 !== 0 || padding > 2 ? fault('base64', {}) : undefined;
}

/** The check of every primitive type, by type code. */
export const PRIMITIVE_CHECKS: Readonly<Record<string, PrimitiveCheck>> = {
  base64Binary: base64,
  boolean: (v) => typeFault('boolean', v),
  canonical: (v) => pattern(v, 'canonical', NO_WHITESPACE),
  code: (v) => pattern(v, 'code', CODE, 'codeWhitespace'),
  date: (v) => temporal(v, 'date', DATE),
  dateTime: (v) => temporal(v, 'dateTime', DATE_TIME),
  decimal: (v) => (typeof v !== 'number' ? typeFault('decimal', v) : Number.isFinite(v) ? undefined : fault('format', { type: 'decimal', value: String(v) })),
  id: (v) => pattern(v, 'id', ID),
  instant: (v) => temporal(v, 'instant', INSTANT),
  integer: (v) => integer(v, 'integer', INT32_MIN),
  markdown: (v) => (typeof v !== 'string' ? typeFault('markdown', v) : text(v, 'markdown')),
  oid: (v) => pattern(v, 'oid', OID),
  positiveInt: (v) => integer(v, 'positiveInt', 1),
  string: (v) => (typeof v !== 'string' ? typeFault('string', v) : text(v, 'string')),
  time: (v) => pattern(v, 'time', TIME),
  unsignedInt: (v) => integer(v, 'unsignedInt', 0),
  uri: (v) => pattern(v, 'uri', NO_WHITESPACE),
  url: (v) => pattern(v, 'url', NO_WHITESPACE),
  uuid: (v) => pattern(v, 'uuid', UUID),
  // Narrative.div: its content rules are the invariants txt-1 and txt-2 (narrative.ts).
  xhtml: (v) => (typeof v !== 'string' ? typeFault('xhtml', v) : v.length === 0 ? fault('emptyString', { type: 'xhtml' }) : undefined),
};
