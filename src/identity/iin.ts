/**
 * Kazakhstan's individual identification number (ЖСН / ИИН): 12 digits that
 * every resident carries from birth and that every medical information system
 * keys its patient on.
 *
 * Layout: `YYMMDD` birth date, one digit for century and sex, a 4-digit serial
 * and a check digit. The same check-digit rule protects the business
 * identification number (BIN) of organizations, which is why
 * {@link iinCheckDigit} is exported on its own.
 */

/** The identifier system for IINs in `Patient.identifier` and `Practitioner.identifier`. */
export { IIN_SYSTEM } from '../fhir/identifier-systems.js';

export type IinSex = 'male' | 'female';

export interface IinHolder {
  /** `YYYY-MM-DD` */
  birthDate: string;
  sex: IinSex;
}

export type IinValidation = ({ valid: true } & IinHolder) | { valid: false; reason: string };

const FIRST_PASS_WEIGHTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND_PASS_WEIGHTS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/**
 * The 12th digit for the first 11, or null when both weighting passes give 10:
 * such a number cannot be issued, and the registry moves on to another serial.
 */
export function iinCheckDigit(first11: string): number | null {
  if (!/^\d{11}$/.test(first11)) {
    throw new RangeError(`IIN check digit needs exactly 11 digits, got "${first11}"`);
  }
  const first = weightedSum(first11, FIRST_PASS_WEIGHTS) % 11;
  if (first !== 10) {
    return first;
  }
  const second = weightedSum(first11, SECOND_PASS_WEIGHTS) % 11;
  return second === 10 ? null : second;
}

function weightedSum(digits: string, weights: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += (digits.charCodeAt(i) - 48) * weights[i];
  }
  return sum;
}

/**
 * The IIN for a birth date, sex and serial, or null when that serial's check
 * digit is impossible (the caller must pick another serial).
 */
export function buildIin(person: { birthDate: string; sex: IinSex; serial: number }): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(person.birthDate);
  if (!match || !isCalendarDate(+match[1], +match[2], +match[3])) {
    throw new RangeError(`birthDate must be a real YYYY-MM-DD date, got "${person.birthDate}"`);
  }
  const year = +match[1];
  const centuryBase = centuryDigitBase(year);
  if (centuryBase === null) {
    throw new RangeError(`IINs encode births from 1800 to 2099, got ${year}`);
  }
  if (!Number.isInteger(person.serial) || person.serial < 0 || person.serial > 9999) {
    throw new RangeError(`IIN serial must be an integer 0..9999, got ${person.serial}`);
  }
  const centurySex = centuryBase + (person.sex === 'male' ? 0 : 1);
  const first11 =
    match[1].slice(2) + match[2] + match[3] + centurySex + String(person.serial).padStart(4, '0');
  const check = iinCheckDigit(first11);
  return check === null ? null : first11 + check;
}

/** Birth date and sex read from an IIN, or null if it does not validate. */
export function parseIin(iin: string): IinHolder | null {
  const result = validateIin(iin);
  return result.valid ? { birthDate: result.birthDate, sex: result.sex } : null;
}

/** Checks shape, century/sex digit, birth date and check digit, in that order. */
export function validateIin(iin: string): IinValidation {
  if (typeof iin !== 'string' || !/^\d{12}$/.test(iin)) {
    return { valid: false, reason: 'an IIN is exactly 12 digits' };
  }
  const centurySex = iin.charCodeAt(6) - 48;
  if (centurySex < 1 || centurySex > 6) {
    return { valid: false, reason: `century/sex digit ${centurySex} is not 1-6` };
  }
  const century = 1800 + 100 * Math.floor((centurySex - 1) / 2);
  const year = century + +iin.slice(0, 2);
  const month = +iin.slice(2, 4);
  const day = +iin.slice(4, 6);
  if (!isCalendarDate(year, month, day)) {
    return { valid: false, reason: `birth date ${iin.slice(0, 6)} is not a calendar date` };
  }
  const check = iinCheckDigit(iin.slice(0, 11));
  if (check === null) {
    return { valid: false, reason: 'no check digit exists for these 11 digits' };
  }
  if (check !== iin.charCodeAt(11) - 48) {
    return { valid: false, reason: `check digit should be ${check}` };
  }
  return {
    valid: true,
    birthDate: `${year}-${iin.slice(2, 4)}-${iin.slice(4, 6)}`,
    sex: centurySex % 2 === 1 ? 'male' : 'female',
  };
}

/** 1 for the 1800s, 3 for the 1900s, 5 for the 2000s: the male digit; female is one more. */
function centuryDigitBase(year: number): number | null {
  if (year < 1800 || year > 2099) {
    return null;
  }
  return 1 + 2 * Math.floor((year - 1800) / 100);
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) {
    return false;
  }
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day <= daysInMonth;
}
