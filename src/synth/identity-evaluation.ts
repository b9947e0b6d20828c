import type { PersonAddress, PersonRecord } from '../identity/person-record.js';
import { personRecordFromPatient } from '../identity/person-record.js';
import { KYRGYZ_PIN_SYSTEM, PASSPORT_SYSTEM_PREFIX, SNILS_SYSTEM, TAJIK_INN_SYSTEM, UZBEK_PINFL_SYSTEM } from '../fhir/identifier-systems.js';
import { snilsCheckNumber } from '../identity/foreign-identifiers.js';
import { icao9303Latin, kazakhLatin2021, withoutKazakhLetters } from '../identity/transliteration.js';
import { buildFacilityNetwork } from './facilities.js';
import { STREETS } from './geography.js';
import { buildPatient, IinRegistry } from './people.js';
import { Random } from './random.js';

/**
 * A labelled evaluation set for patient matching: the generator's patients
 * (the same ones `populationResources` makes for this seed), some of their
 * relatives, and duplicate registrations of both with the noise real
 * registrations carry. Every record knows which true person it belongs to,
 * so precision and recall are exact.
 *
 * Hard non-duplicates are built on purpose: twins (same family name, birth
 * date, address and patronymic; another given name and IIN), siblings, and
 * parent–child pairs (the child's patronymic is the parent's given name).
 */

export type Relation = 'twin' | 'sibling' | 'child';

/** Each kind of noise on a duplicate registration, drawn independently at these rates. */
export interface NoiseRates {
  /** True persons who get a duplicate registration… */
  duplicate: number;
  /** …and, of those, who get a second one. */
  secondDuplicate: number;
  /** Name spelled in Russian Cyrillic: Kazakh letters dropped (Ә→А, Қ→К, Ұ→У, І→И…). */
  russianCyrillic: number;
  /** Name in ICAO 9303 Latin only (passport). */
  icaoLatin: number;
  /** Name in the Kazakh Latin alphabet of 2021 only. */
  kazakhLatin: number;
  familyTypo: number;
  givenTypo: number;
  patronymicDropped: number;
  /** «Асқарұлы» registered as «Аскарович», or back. */
  patronymicStyleSwitched: number;
  /** Only when the day is 12 or less, so the swapped date is a real one. */
  dayMonthSwapped: number;
  birthYearOffByOne: number;
  birthDayTypo: number;
  birthDateMissing: number;
  /** Women 18–60: a new family name after marriage. */
  marriedName: number;
  /** No IIN: a foreign registration, with the passport's Latin name and no phone. */
  foreignRegistration: number;
  iinMissing: number;
  iinTypo: number;
  phoneChanged: number;
  phoneMissing: number;
  moved: number;
  /** Address written in the other language: «Абай даңғылы, 12-үй» ↔ «проспект Абая, д. 12». */
  addressOtherLanguage: number;
  addressMissing: number;
  sexMissing: number;
}

export const DEFAULT_NOISE: NoiseRates = {
  duplicate: 0.3,
  secondDuplicate: 0.15,
  russianCyrillic: 0.3,
  icaoLatin: 0.15,
  kazakhLatin: 0.1,
  familyTypo: 0.1,
  givenTypo: 0.1,
  patronymicDropped: 0.25,
  patronymicStyleSwitched: 0.1,
  dayMonthSwapped: 0.05,
  birthYearOffByOne: 0.02,
  birthDayTypo: 0.02,
  birthDateMissing: 0.01,
  marriedName: 0.15,
  foreignRegistration: 0.03,
  iinMissing: 0.12,
  iinTypo: 0.02,
  phoneChanged: 0.15,
  phoneMissing: 0.15,
  moved: 0.1,
  addressOtherLanguage: 0.2,
  addressMissing: 0.1,
  sexMissing: 0.02,
};

/** Shares of base persons who get a relative in the set. */
export interface RelativeRates {
  twin: number;
  sibling: number;
  child: number;
}

export const DEFAULT_RELATIVES: RelativeRates = { twin: 0.03, sibling: 0.06, child: 0.05 };

export interface EvaluationOptions {
  /** Base persons drawn from the generator. */
  persons: number;
  seed: number;
  noise?: Partial<NoiseRates>;
  relatives?: Partial<RelativeRates>;
  /** Share of base persons who are citizens of another CIS state, without an IIN; default {@link DEFAULT_FOREIGN_NATIONALS}. */
  foreignNationals?: number;
}

/**
 * Citizens of Russia, Uzbekistan, Kyrgyzstan and Tajikistan living in Kazakhstan: registered
 * with their own state's personal number and passport, not an IIN. A duplicate registration
 * repeats the personal number {@link FOREIGN_NUMBER_KEPT} of the time and the passport
 * {@link FOREIGN_PASSPORT_KEPT} of the time.
 */
export const DEFAULT_FOREIGN_NATIONALS = 0.02;
const FOREIGN_NUMBER_KEPT = 0.8;
const FOREIGN_PASSPORT_KEPT = 0.6;

export interface IdentityEvaluationSet {
  records: PersonRecord[];
  /** The true person of each record (same index as `records`): equal numbers are one person. */
  personOf: Int32Array;
  /** How many record pairs are true duplicates. */
  truePairCount: number;
  /** Pairs of records of different but related people, the hard non-duplicates. */
  relatives: { a: string; b: string; relation: Relation }[];
  /** How many duplicate registrations carry each kind of noise (`duplicate`, `secondDuplicate`: how many true persons got one, two). */
  noise: Record<keyof NoiseRates, number>;
  /** How many base persons are foreign nationals. */
  foreignNationals: number;
}

/** Separate random streams so adding a noise kind does not reshuffle the population. */
const NETWORK_STREAM = 0;
const PATIENT_STREAM = 1;
const EVALUATION_STREAM = 9;
const FOREIGN_STREAM = 10;
const REFERENCE_YEAR = 2026;

interface TruePerson {
  family: string;
  given: string;
  patronymic?: string;
  language: 'kk' | 'ru';
  iin: string;
  birthDate: string;
  sex: 'male' | 'female';
  phone?: string;
  address?: PersonAddress;
}

/** Deterministic for (persons, seed, rates). */
export function identityEvaluationSet(options: EvaluationOptions): IdentityEvaluationSet {
  const rates = { ...DEFAULT_NOISE, ...options.noise };
  const relativeRates = { ...DEFAULT_RELATIVES, ...options.relatives };
  const registry = new IinRegistry();
  const network = buildFacilityNetwork(options.persons, new Random(options.seed, NETWORK_STREAM), registry);
  const random = new Random(options.seed, EVALUATION_STREAM);

  const people: TruePerson[] = [];
  const baseRecords: PersonRecord[] = [];
  for (let i = 0; i < options.persons; i++) {
    const { patient } = buildPatient(new Random(options.seed, PATIENT_STREAM, i), network, registry);
    const record = personRecordFromPatient(patient);
    baseRecords.push(record);
    const cyrillic = patient.name?.[0];
    const language = cyrillic?.extension?.[0]?.valueCode === 'kk' ? 'kk' : 'ru';
    people.push({
      family: cyrillic?.family ?? '',
      given: cyrillic?.given?.[0] ?? '',
      ...(record.patronymic ? { patronymic: record.patronymic } : {}),
      language,
      iin: record.iin ?? '',
      birthDate: record.birthDate ?? '',
      sex: record.sex ?? 'male',
      ...(record.phone ? { phone: record.phone } : {}),
      ...(record.address ? { address: record.address } : {}),
    });
  }

  const givenPool = new Map<string, string[]>();
  for (const person of people) {
    const key = `${person.language}|${person.sex}`;
    const pool = givenPool.get(key) ?? [];
    if (!pool.includes(person.given)) pool.push(person.given);
    givenPool.set(key, pool);
  }
  const otherGiven = (language: 'kk' | 'ru', sex: 'male' | 'female', not: readonly string[]): string => {
    const pool = givenPool.get(`${language}|${sex}`) ?? givenPool.get(`ru|${sex}`) ?? ['Айдос'];
    for (let tries = 0; tries < 20; tries++) {
      const name = random.pick(pool);
      if (!not.includes(name)) return name;
    }
    return pool[0];
  };

  // Relatives: new true people who share family name, address and often patronymic.
  const relativeOf: { index: number; of: number; relation: Relation }[] = [];
  const baseCount = people.length;
  for (let i = 0; i < baseCount; i++) {
    const base = people[i];
    const roll = random.next();
    let relation: Relation | undefined;
    if (roll < relativeRates.twin) relation = 'twin';
    else if (roll < relativeRates.twin + relativeRates.sibling) relation = 'sibling';
    else if (roll < relativeRates.twin + relativeRates.sibling + relativeRates.child) relation = 'child';
    if (!relation) continue;
    const sex: 'male' | 'female' = random.chance(0.5) ? 'male' : 'female';
    let birthDate = base.birthDate;
    let patronymic = base.patronymic ? patronymicForSex(base.patronymic, sex) : undefined;
    if (relation === 'sibling') {
      birthDate = shiftDate(base.birthDate, (random.chance(0.5) ? 1 : -1) * random.between(300, 4000));
    } else if (relation === 'child') {
      birthDate = shiftDate(base.birthDate, random.between(19 * 365, 38 * 365));
      const father = base.sex === 'male' ? base.given : otherGiven(base.language, 'male', [base.given]);
      patronymic = patronymicOf(father, sex, base.language === 'kk' && random.chance(0.7) ? 'kazakh' : 'russian');
    }
    if (+birthDate.slice(0, 4) >= REFERENCE_YEAR) continue;
    const relative: TruePerson = {
      family: familyForSex(base.family, sex),
      given: otherGiven(base.language, sex, [base.given]),
      ...(patronymic ? { patronymic } : {}),
      language: base.language,
      iin: registry.issue(birthDate, sex),
      birthDate,
      sex,
      ...(+birthDate.slice(0, 4) <= REFERENCE_YEAR - 14
        ? { phone: base.phone && random.chance(0.3) ? base.phone : mobile(random) }
        : {}),
      ...(base.address ? { address: base.address } : {}),
    };
    people.push(relative);
    relativeOf.push({ index: people.length - 1, of: i, relation });
  }

  const records: PersonRecord[] = [];
  const owners: number[] = [];
  const noise = Object.fromEntries(Object.keys(rates).map((kind) => [kind, 0])) as Record<keyof NoiseRates, number>;
  const firstRecordOf: number[] = [];
  let serial = 0;
  const nextId = (): string => `${options.seed}-${(serial++).toString(36)}`;

  people.forEach((person, index) => {
    const original: PersonRecord =
      index < baseCount
        ? { ...baseRecords[index], id: nextId() }
        : {
            id: nextId(),
            iin: person.iin,
            family: [person.family, icao9303Latin(person.family)],
            given: [person.given, icao9303Latin(person.given)],
            ...(person.patronymic ? { patronymic: person.patronymic } : {}),
            birthDate: person.birthDate,
            sex: person.sex,
            ...(person.phone ? { phone: person.phone } : {}),
            ...(person.address ? { address: person.address } : {}),
          };
    firstRecordOf.push(records.length);
    records.push(original);
    owners.push(index);
    if (!random.chance(rates.duplicate)) return;
    noise.duplicate++;
    const copies = random.chance(rates.secondDuplicate) ? 2 : 1;
    if (copies === 2) noise.secondDuplicate++;
    for (let c = 0; c < copies; c++) {
      records.push(duplicateRegistration(person, nextId(), rates, random, noise, people));
      owners.push(index);
    }
  });

  const foreignNationals = makeForeignNationals(records, owners, people.slice(0, baseCount), options.foreignNationals ?? DEFAULT_FOREIGN_NATIONALS, new Random(options.seed, FOREIGN_STREAM));

  // Shuffle so record order says nothing about identity.
  const order = records.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const personOf = new Int32Array(records.length);
  const shuffled = order.map((from, to) => {
    personOf[to] = owners[from];
    return records[from];
  });

  const perPerson = new Map<number, number>();
  for (const owner of owners) perPerson.set(owner, (perPerson.get(owner) ?? 0) + 1);
  let truePairCount = 0;
  for (const count of perPerson.values()) truePairCount += (count * (count - 1)) / 2;

  return {
    records: shuffled,
    personOf,
    truePairCount,
    relatives: relativeOf.map(({ index, of, relation }) => ({
      a: records[firstRecordOf[of]].id,
      b: records[firstRecordOf[index]].id,
      relation,
    })),
    noise,
    foreignNationals,
  };
}

/**
 * Turns a share of the base persons into foreign nationals, on a stream of its own so the rest
 * of the set stays as it was: every record of theirs loses the IIN; the first carries the
 * personal number and the passport, each later one either or both as registrars copy them.
 */
function makeForeignNationals(records: PersonRecord[], owners: readonly number[], people: readonly TruePerson[], share: number, random: Random): number {
  const recordsOf = new Map<number, number[]>();
  owners.forEach((owner, at) => {
    if (owner < people.length) recordsOf.set(owner, [...(recordsOf.get(owner) ?? []), at]);
  });
  let count = 0;
  people.forEach((person, index) => {
    if (!random.chance(share)) return;
    count++;
    const country = random.pick(['RUS', 'UZB', 'KGZ', 'TJK'] as const);
    const personal = foreignPersonalNumber(country, person, random);
    const passport = `${PASSPORT_SYSTEM_PREFIX}${country}|${String.fromCharCode(65 + random.int(26), 65 + random.int(26))}${digits(random, 7)}`;
    (recordsOf.get(index) ?? []).forEach((at, k) => {
      const { iin: _iin, ...record } = records[at];
      const foreignIds = k === 0 ? [personal, passport] : [...(random.chance(FOREIGN_NUMBER_KEPT) ? [personal] : []), ...(random.chance(FOREIGN_PASSPORT_KEPT) ? [passport] : [])];
      records[at] = { ...record, ...(foreignIds.length ? { foreignIds } : {}) };
    });
  });
  return count;
}

/** A valid personal number of the state, as `system|value`, agreeing with the person's birth date and sex where it encodes them. */
function foreignPersonalNumber(country: 'RUS' | 'UZB' | 'KGZ' | 'TJK', person: TruePerson, random: Random): string {
  const [year, month, day] = person.birthDate.split('-');
  switch (country) {
    case 'RUS': {
      const first9 = String(1 + random.int(9)) + digits(random, 8);
      return `${SNILS_SYSTEM}|${first9}${String(snilsCheckNumber(first9)).padStart(2, '0')}`;
    }
    case 'UZB': {
      const century = (+year < 2000 ? 3 : 5) + (person.sex === 'female' ? 1 : 0);
      return `${UZBEK_PINFL_SYSTEM}|${century}${day}${month}${year.slice(2)}${digits(random, 7)}`;
    }
    case 'KGZ':
      return `${KYRGYZ_PIN_SYSTEM}|${person.sex === 'female' ? 1 : 2}${day}${month}${year}${digits(random, 5)}`;
    case 'TJK':
      return `${TAJIK_INN_SYSTEM}|${digits(random, 9)}`;
  }
}

function digits(random: Random, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(random.int(10));
  return out;
}

/** One more registration of `person` by another clinic, another system, another clerk. */
function duplicateRegistration(
  person: TruePerson,
  id: string,
  rates: NoiseRates,
  random: Random,
  noise: Record<keyof NoiseRates, number>,
  people: readonly TruePerson[],
): PersonRecord {
  const hit = (kind: keyof NoiseRates, applies = true): boolean => {
    if (!applies || !random.chance(rates[kind])) return false;
    noise[kind]++;
    return true;
  };

  let family = person.family;
  const age = REFERENCE_YEAR - +person.birthDate.slice(0, 4);
  if (hit('marriedName', person.sex === 'female' && age >= 18 && age <= 60)) {
    const other = people[random.int(people.length)];
    family = familyForSex(other.family, 'female');
  }
  let patronymic = person.patronymic;
  if (hit('patronymicStyleSwitched', patronymic !== undefined)) {
    patronymic = switchPatronymicStyle(patronymic!);
  }
  if (hit('patronymicDropped', patronymic !== undefined)) patronymic = undefined;

  const foreign = hit('foreignRegistration');
  const scriptRoll = random.next();
  let script: (name: string) => string = (name) => name;
  if (foreign) {
    script = icao9303Latin;
  } else if (scriptRoll < rates.russianCyrillic) {
    noise.russianCyrillic++;
    script = withoutKazakhLetters;
  } else if (scriptRoll < rates.russianCyrillic + rates.icaoLatin) {
    noise.icaoLatin++;
    script = icao9303Latin;
  } else if (scriptRoll < rates.russianCyrillic + rates.icaoLatin + rates.kazakhLatin) {
    noise.kazakhLatin++;
    script = kazakhLatin2021;
  }
  let familySpelled = script(family);
  let givenSpelled = script(person.given);
  if (hit('familyTypo')) familySpelled = typo(familySpelled, random);
  if (hit('givenTypo')) givenSpelled = typo(givenSpelled, random);

  let iin: string | undefined = person.iin;
  if (foreign || hit('iinMissing')) iin = undefined;
  else if (hit('iinTypo')) iin = typoDigit(person.iin, random);

  let birthDate: string | undefined = person.birthDate;
  const [year, month, day] = person.birthDate.split('-');
  if (hit('dayMonthSwapped', +day <= 12 && day !== month)) birthDate = `${year}-${day}-${month}`;
  else if (hit('birthYearOffByOne')) birthDate = `${+year + (random.chance(0.5) ? 1 : -1)}-${month}-${day}`;
  else if (hit('birthDayTypo')) birthDate = shiftDate(person.birthDate, random.chance(0.5) ? 1 : -1, true);
  if (hit('birthDateMissing')) birthDate = undefined;

  let phone = person.phone;
  if (foreign || hit('phoneMissing')) phone = undefined;
  else if (hit('phoneChanged')) phone = mobile(random);

  let address = person.address;
  if (hit('moved')) address = people[random.int(people.length)].address;
  else if (hit('addressOtherLanguage', address?.line !== undefined)) address = otherLanguageAddress(address!);
  if (hit('addressMissing')) address = undefined;

  return {
    id,
    ...(iin ? { iin } : {}),
    family: [familySpelled],
    given: [givenSpelled],
    ...(patronymic ? { patronymic: script(patronymic) } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(hit('sexMissing') ? {} : { sex: person.sex }),
    ...(phone ? { phone } : {}),
    ...(address ? { address } : {}),
  };
}

/** -ов/-ев/-ин surnames take -а for women; «-ұлы» family names become «-қызы». */
function familyForSex(family: string, sex: 'male' | 'female'): string {
  if (sex === 'female') {
    if (/(ов|ев|ин)$/.test(family)) return `${family}а`;
    if (family.endsWith('ұлы')) return `${family.slice(0, -3)}қызы`;
    return family;
  }
  if (/(ова|ева|ина)$/.test(family)) return family.slice(0, -1);
  if (family.endsWith('қызы')) return `${family.slice(0, -4)}ұлы`;
  return family;
}

function patronymicForSex(patronymic: string, sex: 'male' | 'female'): string {
  const father = fatherOf(patronymic);
  return father ? patronymicOf(father.name, sex, father.style) : patronymic;
}

function switchPatronymicStyle(patronymic: string): string {
  const father = fatherOf(patronymic);
  if (!father) return patronymic;
  const sex = /(ұлы|ович|евич)$/.test(patronymic) ? 'male' : 'female';
  return patronymicOf(father.name, sex, father.style === 'kazakh' ? 'russian' : 'kazakh');
}

/** The father's name back from a Cyrillic patronymic (the inverse of {@link patronymicOf}). */
function fatherOf(patronymic: string): { name: string; style: 'kazakh' | 'russian' } | null {
  const kazakh = /^(.+?)(ұлы|қызы)$/.exec(patronymic);
  if (kazakh) return { name: kazakh[1], style: 'kazakh' };
  const russian = /^(.+?)(ьевич|ьевна|евич|евна|ович|овна)$/.exec(patronymic);
  if (!russian) return null;
  const stem = russian[1];
  if (russian[2].startsWith('ье')) return { name: `${stem}ий`, style: 'russian' };
  if (russian[2].startsWith('е') && /[ае]$/.test(stem)) return { name: `${stem}й`, style: 'russian' };
  return { name: stem, style: 'russian' };
}

/** Kazakh «-ұлы/-қызы» or the Russian forms, as names.ts builds them. */
function patronymicOf(father: string, sex: 'male' | 'female', style: 'kazakh' | 'russian'): string {
  if (style === 'kazakh') return father + (sex === 'male' ? 'ұлы' : 'қызы');
  const [son, daughter] = /(ей|ай)$/.test(father)
    ? [`${father.slice(0, -1)}евич`, `${father.slice(0, -1)}евна`]
    : /[шжчщц]$/.test(father)
      ? [`${father}евич`, `${father}евна`]
      : father.endsWith('ий')
        ? [`${father.slice(0, -2)}ьевич`, `${father.slice(0, -2)}ьевна`]
        : [`${father}ович`, `${father}овна`];
  return sex === 'male' ? son : daughter;
}

const CYRILLIC_LETTERS = 'абвгдеёжзийклмнопрстуфхцчшщыьэюяәғқңөұүһі';
const LATIN_LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** One keyboard slip: a wrong, missing, doubled or swapped letter, never the first. */
function typo(name: string, random: Random): string {
  const letters = [...name];
  if (letters.length < 3) return name;
  const at = 1 + random.int(letters.length - 1);
  const alphabet = /[а-яёәғқңөұүһі]/i.test(name) ? CYRILLIC_LETTERS : LATIN_LETTERS;
  switch (random.int(4)) {
    case 0:
      letters[at] = alphabet[random.int(alphabet.length)];
      break;
    case 1:
      letters.splice(at, 1);
      break;
    case 2:
      letters.splice(at, 0, letters[at]);
      break;
    default:
      if (at + 1 < letters.length) [letters[at], letters[at + 1]] = [letters[at + 1], letters[at]];
      else letters.splice(at, 1);
  }
  return letters.join('');
}

function typoDigit(iin: string, random: Random): string {
  const at = random.int(iin.length);
  const digit = (iin.charCodeAt(at) - 48 + 1 + random.int(9)) % 10;
  return iin.slice(0, at) + digit + iin.slice(at + 1);
}

/** A date `days` later (or earlier); `keepMonth` keeps the slip inside the month, as a mistyped day does. */
function shiftDate(isoDate: string, days: number, keepMonth = false): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  const shifted = new Date(date.getTime() + days * 86_400_000);
  if (keepMonth && shifted.getUTCMonth() !== date.getUTCMonth()) {
    return shiftDate(isoDate, -days);
  }
  return shifted.toISOString().slice(0, 10);
}

const MOBILE_PREFIXES = ['700', '701', '702', '705', '707', '708', '747', '771', '775', '776', '777', '778'];

function mobile(random: Random): string {
  return `+7${random.pick(MOBILE_PREFIXES)}${String(random.int(10_000_000)).padStart(7, '0')}`;
}

/** The same dwelling written in the other language, as people.ts writes each. */
function otherLanguageAddress(address: PersonAddress): PersonAddress {
  const line = address.line ?? '';
  const numbers = line.match(/\d+/g) ?? [];
  for (const [kk, ru] of STREETS) {
    if (line.startsWith(kk)) {
      const ruLine = numbers.length > 1 ? `${ru}, д. ${numbers[0]}, кв. ${numbers[1]}` : `${ru}, д. ${numbers[0] ?? ''}`;
      return { ...address, line: ruLine };
    }
    if (line.startsWith(ru)) {
      const kkLine = numbers.length > 1 ? `${kk}, ${numbers[0]}-үй, ${numbers[1]}-пәтер` : `${kk}, ${numbers[0] ?? ''}-үй`;
      return { ...address, line: kkLine };
    }
  }
  return address;
}
