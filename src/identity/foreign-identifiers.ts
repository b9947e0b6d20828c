import {
  ARMENIAN_PSN_SYSTEM,
  AZERBAIJANI_FIN_SYSTEM,
  BELARUS_PERSONAL_NUMBER_SYSTEM,
  type ForeignIdentifierSystem,
  foreignIdentifierSystem,
  KYRGYZ_PIN_SYSTEM,
  MOLDOVAN_IDNP_SYSTEM,
  RUSSIAN_PASSPORT_SYSTEM,
  SNILS_SYSTEM,
  TAJIK_INN_SYSTEM,
  UZBEK_PINFL_SYSTEM,
} from '../fhir/identifier-systems.js';

/**
 * The formats of the foreign identifiers Densaulyq accepts (see identifier-systems.ts), and
 * their check digits where the issuing state publishes the rule (SNILS, IDNP). Values are
 * stored in one canonical form — digits and capital Latin letters, no spaces or dashes — so
 * that search, the one-holder rule and matching compare them as written.
 */
export type ForeignIdentifierValidation = { system: ForeignIdentifierSystem } & ({ valid: true } | { valid: false; reason: string });

type Rule = (value: string) => string | undefined;

const RULES: Readonly<Record<string, Rule>> = {
  [SNILS_SYSTEM]: (value) => shape(value, /^\d{11}$/, '11 digits without dashes or spaces') ?? snilsCheck(value),
  [RUSSIAN_PASSPORT_SYSTEM]: (value) => shape(value, /^\d{10}$/, 'the 4-digit series and 6-digit number, 10 digits together'),
  [BELARUS_PERSONAL_NUMBER_SYSTEM]: (value) =>
    shape(value, /^[1-6]\d{6}[ABCHKEM]\d{3}(PB|BA|BI)\d$/, 'a century/sex digit, DDMMYY, a region letter, 3 digits, PB/BA/BI and a digit') ??
    dateCheck(value.slice(1, 3), value.slice(3, 5), value.slice(5, 7), value[0]),
  [KYRGYZ_PIN_SYSTEM]: (value) =>
    shape(value, /^[12]\d{13}$/, 'a sex digit (1 or 2), DDMMYYYY and a 5-digit serial') ??
    dateCheck(value.slice(1, 3), value.slice(3, 5), value.slice(5, 9)),
  [UZBEK_PINFL_SYSTEM]: (value) =>
    shape(value, /^[1-6]\d{13}$/, 'a century/sex digit, DDMMYY and 7 more digits') ??
    dateCheck(value.slice(1, 3), value.slice(3, 5), value.slice(5, 7), value[0]),
  [TAJIK_INN_SYSTEM]: (value) => shape(value, /^\d{9}$/, '9 digits'),
  [ARMENIAN_PSN_SYSTEM]: (value) => shape(value, /^\d{10}$/, '10 digits'),
  [AZERBAIJANI_FIN_SYSTEM]: (value) => shape(value, /^[0-9A-Z]{7}$/, '7 capital Latin letters and digits'),
  [MOLDOVAN_IDNP_SYSTEM]: (value) => shape(value, /^\d{13}$/, '13 digits') ?? idnpCheck(value),
};

/** ICAO Doc 9303 Part 4, 4.2.2: the document number field holds up to 9 letters and digits. */
const passportRule: Rule = (value) => shape(value, /^[0-9A-Z]{1,9}$/, 'up to 9 capital Latin letters and digits (ICAO 9303)');

/**
 * Checks a value of a foreign identifier system; undefined when the system is none of them
 * (other systems' values are not Densaulyq's to judge).
 */
export function validateForeignIdentifier(system: string | undefined, value: string): ForeignIdentifierValidation | undefined {
  const known = foreignIdentifierSystem(system);
  if (!known) return undefined;
  const rule = RULES[known.system] ?? passportRule;
  const reason = rule(value);
  return reason === undefined ? { valid: true, system: known } : { valid: false, system: known, reason };
}

function shape(value: string, pattern: RegExp, expected: string): string | undefined {
  return pattern.test(value) ? undefined : `it must be ${expected}`;
}

/**
 * СНИЛС (Pension Fund of Russia, the individual account number rules): each of the first 9
 * digits times its position counted from the end, summed; below 100 the sum is the check
 * number, 100 and 101 give 00, above that the remainder of division by 101 (100 again being 00).
 * Numbers up to 001-001-998 were issued before the rule and carry no check.
 */
export function snilsCheckNumber(first9: string): number {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (first9.charCodeAt(i) - 48) * (9 - i);
  const check = sum < 100 ? sum : sum % 101;
  return check === 100 ? 0 : check;
}

function snilsCheck(value: string): string | undefined {
  if (Number(value.slice(0, 9)) <= 1_001_998) return undefined;
  const check = snilsCheckNumber(value.slice(0, 9));
  return check === Number(value.slice(9)) ? undefined : `its check number should be ${String(check).padStart(2, '0')}`;
}

/** IDNP (Moldova): the first 12 digits weighted 7, 3, 1 repeating, the sum modulo 10. */
export function idnpCheckDigit(first12: string): number {
  const weights = [7, 3, 1];
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (first12.charCodeAt(i) - 48) * weights[i % 3];
  return sum % 10;
}

function idnpCheck(value: string): string | undefined {
  const check = idnpCheckDigit(value.slice(0, 12));
  return check === Number(value[12]) ? undefined : `its check digit should be ${check}`;
}

/**
 * A birth date inside a personal number must be a real one; with a two-digit year the century
 * comes from the first digit as in the IIN (1–2 the 1800s, 3–4 the 1900s, 5–6 the 2000s).
 */
function dateCheck(day: string, month: string, year: string, centuryDigit?: string): string | undefined {
  const fullYear = year.length === 4 ? Number(year) : 1800 + 100 * Math.floor((Number(centuryDigit) - 1) / 2) + Number(year);
  const date = new Date(Date.UTC(fullYear, Number(month) - 1, Number(day)));
  const real = date.getUTCFullYear() === fullYear && date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day);
  return real ? undefined : `its birth date ${day}.${month}.${year} is not a calendar date`;
}
