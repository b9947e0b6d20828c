import { foreignIdentifierSystem } from '../fhir/identifier-systems.js';
import { validateIin } from './iin.js';
import type { PersonRecord } from './person-record.js';
import { matchKey, parsePatronymic, phoneticKey } from './transliteration.js';

/**
 * Field comparisons of the Fellegi–Sunter model: each field of a record pair
 * falls into one of a few agreement levels, and each level carries its own
 * m/u weight (see matcher.ts). Levels are ordered from strongest agreement to
 * disagreement; the level one past the last means "missing on either side",
 * which weighs nothing.
 *
 * Fellegi, I. P. & Sunter, A. B. (1969). A theory for record linkage.
 * Journal of the American Statistical Association 64(328), 1183–1210.
 */
export const COMPARISON_FIELDS = {
  /** The IIN; between records that do not both have one, another state's personal number or a passport. */
  iin: ['exact', 'typo', 'different'],
  family: ['exact', 'close', 'similar', 'different'],
  given: ['exact', 'close', 'similar', 'different'],
  patronymic: ['exact', 'close', 'different'],
  birthDate: ['exact', 'dayMonthSwapped', 'oneComponentOff', 'different'],
  sex: ['same', 'different'],
  contact: ['phoneAndDwelling', 'phone', 'dwelling', 'streetOrLocality', 'different'],
} as const satisfies Record<string, readonly string[]>;

export type ComparisonField = keyof typeof COMPARISON_FIELDS;
export function isComparisonField(name: string): name is ComparisonField {
  return Object.hasOwn(COMPARISON_FIELDS, name);
}

export const FIELD_NAMES: readonly ComparisonField[] = Object.keys(COMPARISON_FIELDS).filter(isComparisonField);

/** A table with one entry per comparison field, in FIELD_NAMES order; `value` is given each field and its index there. */
export function perField<T>(value: (field: ComparisonField, index: number) => T): Record<ComparisonField, T> {
  const at = (field: ComparisonField) => value(field, FIELD_NAMES.indexOf(field));
  return {
    iin: at('iin'),
    family: at('family'),
    given: at('given'),
    patronymic: at('patronymic'),
    birthDate: at('birthDate'),
    sex: at('sex'),
    contact: at('contact'),
  };
}
export const FIELD_LEVEL_COUNTS = FIELD_NAMES.map((field) => COMPARISON_FIELDS[field].length);

/** Jaro–Winkler cut-offs on {@link matchKey} skeletons; "close" survives one typo in a 6-letter name. */
const CLOSE_NAME = 0.92;
const SIMILAR_NAME = 0.84;

/**
 * A record with everything comparison and blocking need computed once:
 * matching a million records compares each many times.
 */
export interface PreparedPerson {
  record: PersonRecord;
  iin?: string;
  /** Whether {@link iin} passes the check digit: a mistyped one almost never does. */
  iinValid?: boolean;
  /** Foreign personal numbers and passports, `system|value` (see {@link compareForeignIds}). */
  foreignIds?: readonly string[];
  familyKeys: string[];
  givenKeys: string[];
  familySounds: string[];
  givenSounds: string[];
  patronymicRoot?: string;
  year?: number;
  month?: number;
  day?: number;
  sex?: 'male' | 'female';
  phone?: string;
  cityKey?: string;
  postalCode?: string;
  streetKey?: string;
  /** House and flat numbers: «12/5». */
  dwellingNumbers?: string;
}

/**
 * Words of an address line that say what kind of street or building it is,
 * not which one, in Kazakh and Russian (as {@link matchKey} skeletons):
 * «көшесі», «даңғылы», «улица», «проспект», «үй», «пәтер», «д.», «кв.»…
 */
const ADDRESS_KIND_WORDS = new Set(
  [
    'көшесі', 'көше', 'даңғылы', 'шағын', 'ауданы', 'ықшамаудан', 'үй', 'пәтер', 'тұйық', 'алаңы', 'жолы',
    'улица', 'ул', 'проспект', 'пр', 'просп', 'переулок', 'пер', 'микрорайон', 'мкр', 'дом', 'д', 'квартира',
    'кв', 'корпус', 'корп', 'бульвар', 'б-р', 'шоссе', 'площадь', 'пл',
    'street', 'st', 'avenue', 'ave', 'prospekt', 'ulitsa', 'koshesi', 'dangyly', 'apt', 'house',
  ].map(matchKey),
);

export function preparePerson(record: PersonRecord): PreparedPerson {
  const familyKeys = uniqueKeys(record.family, matchKey);
  const givenKeys = uniqueKeys(record.given, matchKey);
  const prepared: PreparedPerson = {
    record,
    familyKeys,
    givenKeys,
    familySounds: uniqueKeys(record.family, phoneticKey),
    givenSounds: uniqueKeys(record.given, phoneticKey),
  };
  const iin = record.iin?.replace(/\s/g, '');
  if (iin) {
    prepared.iin = iin;
    prepared.iinValid = validateIin(iin).valid;
  }
  if (record.foreignIds?.length) prepared.foreignIds = record.foreignIds;
  if (record.patronymic) {
    const parsed = parsePatronymic(record.patronymic);
    const root = parsed ? parsed.root : matchKey(record.patronymic);
    if (root) prepared.patronymicRoot = root;
  }
  const date = record.birthDate ? /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(record.birthDate) : null;
  if (date) {
    prepared.year = +date[1];
    if (date[2]) prepared.month = +date[2];
    if (date[3]) prepared.day = +date[3];
  }
  if (record.sex) prepared.sex = record.sex;
  if (record.phone) prepared.phone = record.phone.replace(/[^\d+]/g, '');
  const address = record.address;
  if (address) {
    const city = address.city ? matchKey(address.city) : '';
    if (city) prepared.cityKey = city;
    if (address.postalCode) prepared.postalCode = address.postalCode.trim();
    if (address.line) {
      const numbers = address.line.match(/\d+/g);
      if (numbers) prepared.dwellingNumbers = numbers.join('/');
      const words = address.line
        .replace(/\d+/g, ' ')
        .split(/[\s,.;]+/)
        .map(matchKey)
        .filter((word) => word.length > 0 && !ADDRESS_KIND_WORDS.has(word));
      if (words.length > 0) prepared.streetKey = words.join('');
    }
  }
  return prepared;
}

function uniqueKeys(names: readonly string[], key: (name: string) => string): string[] {
  const out: string[] = [];
  for (const name of names) {
    const k = key(name);
    if (k && !out.includes(k)) out.push(k);
  }
  return out;
}

/** Agreement level of every field, in {@link FIELD_NAMES} order, written into `out`. */
export function compareInto(a: PreparedPerson, b: PreparedPerson, out: Uint8Array): Uint8Array {
  out[0] =
    a.iin && b.iin ? compareIin(a.iin, b.iin, a.iinValid === true && b.iinValid === true) : a.foreignIds && b.foreignIds ? compareForeignIds(a.foreignIds, b.foreignIds) : 3;
  out[1] = compareNames(a.familyKeys, b.familyKeys);
  out[2] = compareNames(a.givenKeys, b.givenKeys);
  out[3] = comparePatronymic(a.patronymicRoot, b.patronymicRoot);
  out[4] = compareBirthDate(a, b);
  out[5] = a.sex === undefined || b.sex === undefined ? 2 : a.sex === b.sex ? 0 : 1;
  out[6] = compareContact(a, b);
  return out;
}

/** Same as {@link compareInto}, allocating the result. */
export function compare(a: PreparedPerson, b: PreparedPerson): Uint8Array {
  return compareInto(a, b, new Uint8Array(FIELD_NAMES.length));
}

/**
 * A typo is one wrong digit or two neighbouring digits swapped — and it breaks
 * the check digit ten times in eleven. Two IINs that both validate and differ
 * in one digit are a different person: twins get consecutive serials, and a
 * serial's last digit has weight 11 in the first pass of the check, so their
 * check digits are equal and the IINs differ in exactly one place.
 */
export function compareIin(a: string | undefined, b: string | undefined, bothValid = false): number {
  if (!a || !b) return 3;
  if (a === b) return 0;
  if (bothValid || a.length !== b.length) return 2;
  let first = -1;
  let differences = 0;
  for (let i = 0; i < a.length; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) {
      if (differences === 0) first = i;
      differences++;
      if (differences > 2) return 2;
    }
  }
  if (differences === 1) return 1;
  const swapped = a[first] === b[first + 1] && a[first + 1] === b[first];
  return differences === 2 && swapped ? 1 : 2;
}

/**
 * Foreign identifiers stand in for the IIN where a record has none: one shared value is
 * `exact`; two different personal numbers of the same state are `different`, since a person has
 * one for life; two different passport numbers say nothing, since passports are renewed.
 */
export function compareForeignIds(a: readonly string[], b: readonly string[]): number {
  let conflict = false;
  for (const x of a) {
    const bar = x.indexOf('|');
    for (const y of b) {
      if (x === y) return 0;
      if (!conflict && y.startsWith(x.slice(0, bar + 1)) && foreignIdentifierSystem(x.slice(0, bar))?.kind === 'personal') conflict = true;
    }
  }
  return conflict ? 2 : 3;
}

/** Best agreement over every spelling pair: one matching script is enough. */
export function compareNames(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 4;
  let best = 0;
  for (const x of a) {
    for (const y of b) {
      if (x === y) return 0;
      const similarity = jaroWinkler(x, y);
      if (similarity > best) best = similarity;
    }
  }
  return best >= CLOSE_NAME ? 1 : best >= SIMILAR_NAME ? 2 : 3;
}

export function comparePatronymic(a: string | undefined, b: string | undefined): number {
  if (!a || !b) return 3;
  if (a === b) return 0;
  return jaroWinkler(a, b) >= SIMILAR_NAME ? 1 : 2;
}

/**
 * Day and month swap when a date typed as DD.MM meets one read as MM.DD; a
 * single wrong component (year off by one, day mistyped) is the next most
 * common slip. Partial dates compare on what both have.
 */
export function compareBirthDate(
  a: { year?: number; month?: number; day?: number },
  b: { year?: number; month?: number; day?: number },
): number {
  if (a.year === undefined || b.year === undefined) return 4;
  if (a.month === undefined || b.month === undefined || a.day === undefined || b.day === undefined) {
    if (a.year !== b.year) return Math.abs(a.year - b.year) === 1 ? 2 : 3;
    return a.month === undefined || b.month === undefined || a.month === b.month ? 2 : 3;
  }
  const sameYear = a.year === b.year;
  const sameMonth = a.month === b.month;
  const sameDay = a.day === b.day;
  if (sameYear && sameMonth && sameDay) return 0;
  if (sameYear && a.month === b.day && a.day === b.month) return 1;
  const agreeing = (sameYear ? 1 : 0) + (sameMonth ? 1 : 0) + (sameDay ? 1 : 0);
  return agreeing === 2 ? 2 : 3;
}

/**
 * Phone and home address as one field. Relatives share both — a twin's
 * record has the same phone and flat as the other twin's — so as two
 * independent fields they would count one household twice and lift twins
 * over the auto-link line. Levels: phone and dwelling agree, phone only,
 * dwelling only, street or locality only, nothing; missing when neither can
 * be compared.
 */
export function compareContact(a: PreparedPerson, b: PreparedPerson): number {
  const phone = a.phone === undefined || b.phone === undefined ? 2 : a.phone === b.phone ? 0 : 1;
  const address = compareAddress(a, b);
  if (phone === 0) return address === 0 ? 0 : 1;
  if (address === 0) return 2;
  if (address === 1 || address === 2) return 3;
  if (phone === 2 && address === 4) return 5;
  return 4;
}

/**
 * Kazakh and Russian forms of one address share the street's proper name and
 * the numbers, not the words around them: «Абай даңғылы, 12-үй, 5-пәтер» and
 * «проспект Абая, д. 12, кв. 5» are one dwelling.
 */
export function compareAddress(a: PreparedPerson, b: PreparedPerson): number {
  const aHas = a.cityKey !== undefined || a.streetKey !== undefined;
  const bHas = b.cityKey !== undefined || b.streetKey !== undefined;
  if (!aHas || !bHas) return 4;
  const sameLocality =
    a.cityKey !== undefined && b.cityKey !== undefined
      ? a.cityKey === b.cityKey || jaroWinkler(a.cityKey, b.cityKey) >= CLOSE_NAME
      : a.postalCode !== undefined && a.postalCode === b.postalCode;
  if (!sameLocality) return 3;
  const sameStreet =
    a.streetKey !== undefined &&
    b.streetKey !== undefined &&
    (a.streetKey === b.streetKey || jaroWinkler(a.streetKey, b.streetKey) >= SIMILAR_NAME);
  if (!sameStreet) return 2;
  return a.dwellingNumbers !== undefined && a.dwellingNumbers === b.dwellingNumbers ? 0 : 1;
}

const matchedA = new Uint8Array(256);
const matchedB = new Uint8Array(256);

/**
 * Jaro–Winkler similarity (Winkler 1990, prefix scale 0.1, up to 4 prefix
 * letters): built for names, forgiving of transpositions and of endings.
 */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const la = Math.min(a.length, 256);
  const lb = Math.min(b.length, 256);
  if (la === 0 || lb === 0) return 0;
  const window = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  matchedA.fill(0, 0, la);
  matchedB.fill(0, 0, lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const from = Math.max(0, i - window);
    const to = Math.min(lb - 1, i + window);
    const c = a.charCodeAt(i);
    for (let j = from; j <= to; j++) {
      if (matchedB[j] === 0 && b.charCodeAt(j) === c) {
        matchedA[i] = 1;
        matchedB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (matchedA[i] === 0) continue;
    while (matchedB[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const jaro = (matches / la + matches / lb + (matches - transpositions / 2) / matches) / 3;
  let prefix = 0;
  const limit = Math.min(4, la, lb);
  while (prefix < limit && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}
