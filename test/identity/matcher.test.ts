import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { blockingKeys, forEachCandidatePair } from '../../src/identity/blocking.js';
import {
  compare,
  compareAddress,
  compareBirthDate,
  compareIin,
  compareNames,
  FIELD_NAMES,
  jaroWinkler,
  preparePerson,
} from '../../src/identity/comparison.js';
import { IIN_SYSTEM } from '../../src/identity/iin.js';
import { chooseThresholds, qualityAt } from '../../src/identity/match-quality.js';
import {
  ComparisonPatterns,
  decide,
  DEFAULT_THRESHOLDS,
  DEFAULT_WEIGHTS,
  estimateWeights,
  findDuplicateCandidates,
  PRIOR_WEIGHTS,
  scoreLevels,
} from '../../src/identity/matcher.js';
import { normalizePhone, type PersonRecord, personRecordFromPatient } from '../../src/identity/person-record.js';
import { icao9303Latin, kazakhLatin2021, matchKey, withoutKazakhLetters } from '../../src/identity/transliteration.js';

const nurlan: PersonRecord = {
  id: 'a',
  iin: '900515300018',
  family: ['Әбенов', 'Abenov'],
  given: ['Нұрлан', 'Nurlan'],
  patronymic: 'Асқарұлы',
  birthDate: '1990-05-15',
  sex: 'male',
  phone: '+77011234567',
  address: { city: 'Алматы', line: 'Абай даңғылы, 12-үй, 5-пәтер', postalCode: '050000' },
};

const level = (field: string, a: PersonRecord, b: PersonRecord): number =>
  compare(preparePerson(a), preparePerson(b))[FIELD_NAMES.indexOf(field as never)];

describe('personRecordFromPatient', () => {
  const patient: Patient = {
    resourceType: 'Patient',
    id: 'p1',
    identifier: [{ system: 'urn:other', value: 'X1' }, { system: IIN_SYSTEM, value: '900515300018' }],
    name: [
      { family: 'Әбенов', given: ['Нұрлан', 'Асқарұлы'] },
      { family: 'Abenov', given: ['Nurlan'] },
    ],
    telecom: [{ system: 'email', value: 'n@example.kz' }, { system: 'phone', value: '8 (701) 123-45-67' }],
    gender: 'male',
    birthDate: '1990-05-15',
    address: [{ use: 'work', city: 'Астана' }, { use: 'home', city: 'Алматы', line: ['Абай даңғылы, 12-үй'], postalCode: '050000' }],
  };

  it('reads the IIN by its system, every script of the name, the patronymic from given, the phone and home address', () => {
    assert.deepEqual(personRecordFromPatient(patient), {
      id: 'p1',
      iin: '900515300018',
      family: ['Әбенов', 'Abenov'],
      given: ['Нұрлан', 'Nurlan'],
      patronymic: 'Асқарұлы',
      birthDate: '1990-05-15',
      sex: 'male',
      phone: '+77011234567',
      address: { postalCode: '050000', city: 'Алматы', line: 'Абай даңғылы, 12-үй' },
    });
  });

  it('keeps a second given name that is not a patronymic as a given name', () => {
    const record = personRecordFromPatient({ resourceType: 'Patient', name: [{ family: 'Ким', given: ['Анна', 'Мария'] }] });
    assert.deepEqual(record.given, ['Анна', 'Мария']);
    assert.equal(record.patronymic, undefined);
  });

  it('splits a text-only name in document order: family, given, patronymic', () => {
    const record = personRecordFromPatient({ resourceType: 'Patient', name: [{ text: 'Әбенов Нұрлан Асқарұлы' }] });
    assert.deepEqual([record.family, record.given, record.patronymic], [['Әбенов'], ['Нұрлан'], 'Асқарұлы']);
  });
});

describe('normalizePhone', () => {
  it('brings Kazakhstan numbers to +7 and ten digits however they were typed', () => {
    for (const typed of ['8 701 123 45 67', '+7 (701) 123-45-67', '87011234567', '7011234567', '77011234567']) {
      assert.equal(normalizePhone(typed), '+77011234567', typed);
    }
    assert.equal(normalizePhone('—'), undefined);
  });
});

describe('field comparisons', () => {
  it('IIN: exact, a typo that breaks the check digit, different, missing', () => {
    assert.equal(compareIin('900515300018', '900515300018'), 0);
    assert.equal(compareIin('900515300018', '900515300019'), 1);
    assert.equal(compareIin('900515300018', '900515300081'), 1, 'neighbouring digits swapped');
    assert.equal(compareIin('900515300018', '851201400123'), 2);
    assert.equal(compareIin(undefined, '900515300018'), 3);
  });

  it('IIN: two valid IINs one digit apart are twins, not a typo', () => {
    const twinA = { ...nurlan, iin: '900515300018' };
    const twinB = { ...nurlan, iin: '900515300028' };
    assert.equal(level('iin', twinA, twinB), 2);
  });

  it('names: best agreement over every script, with Jaro–Winkler levels for typos', () => {
    assert.equal(compareNames([matchKey('Әбенов')], [matchKey('Abenov'), matchKey('Абенов')]), 0);
    assert.equal(compareNames([matchKey('Әбенов')], [matchKey('Әбеноф')]), 1);
    assert.equal(compareNames([matchKey('Иванов')], [matchKey('Омаров')]), 3);
    assert.equal(compareNames([], [matchKey('Омаров')]), 4);
    assert.ok(Math.abs(jaroWinkler('martha', 'marhta') - 0.9611) < 1e-3, 'Winkler’s textbook example');
  });

  it('patronymic: Kazakh and Russian forms of one father agree', () => {
    assert.equal(level('patronymic', nurlan, { ...nurlan, patronymic: 'Аскарович' }), 0);
    assert.equal(level('patronymic', nurlan, { ...nurlan, patronymic: 'Askaruly' }), 0);
    assert.equal(level('patronymic', nurlan, { ...nurlan, patronymic: 'Серікұлы' }), 2);
    assert.equal(level('patronymic', nurlan, { ...nurlan, patronymic: undefined }), 3);
  });

  it('birth date: exact, day/month swapped, one component off, different, missing', () => {
    const d = (year: number, month: number, day: number) => ({ year, month, day });
    assert.equal(compareBirthDate(d(1990, 5, 11), d(1990, 5, 11)), 0);
    assert.equal(compareBirthDate(d(1990, 5, 11), d(1990, 11, 5)), 1);
    assert.equal(compareBirthDate(d(1990, 5, 11), d(1991, 5, 11)), 2);
    assert.equal(compareBirthDate(d(1990, 5, 11), d(1990, 5, 12)), 2);
    assert.equal(compareBirthDate(d(1990, 5, 11), d(1985, 2, 1)), 3);
    assert.equal(compareBirthDate({}, d(1985, 2, 1)), 4);
  });

  it('sex: same, different, missing', () => {
    assert.equal(level('sex', nurlan, nurlan), 0);
    assert.equal(level('sex', nurlan, { ...nurlan, sex: 'female' }), 1);
    assert.equal(level('sex', nurlan, { ...nurlan, sex: undefined }), 2);
  });

  it('address: the Kazakh and Russian forms of one flat are one dwelling', () => {
    const kk = preparePerson(nurlan);
    const ru = preparePerson({ ...nurlan, address: { city: 'Алматы', line: 'проспект Абая, д. 12, кв. 5' } });
    const otherFlat = preparePerson({ ...nurlan, address: { city: 'Алматы', line: 'проспект Абая, д. 12, кв. 7' } });
    const otherStreet = preparePerson({ ...nurlan, address: { city: 'Алматы', line: 'улица Жамбыла, д. 3' } });
    const otherCity = preparePerson({ ...nurlan, address: { city: 'Шымкент', line: 'проспект Абая, д. 12, кв. 5' } });
    assert.equal(compareAddress(kk, ru), 0);
    assert.equal(compareAddress(kk, otherFlat), 1);
    assert.equal(compareAddress(kk, otherStreet), 2);
    assert.equal(compareAddress(kk, otherCity), 3);
  });

  it('contact: phone and dwelling count once together, not twice', () => {
    assert.equal(level('contact', nurlan, nurlan), 0);
    assert.equal(level('contact', nurlan, { ...nurlan, address: undefined }), 1);
    assert.equal(level('contact', nurlan, { ...nurlan, phone: '+77770000000' }), 2);
    assert.equal(level('contact', nurlan, { ...nurlan, phone: undefined, address: { city: 'Тараз' } }), 4);
    assert.equal(level('contact', nurlan, { ...nurlan, phone: undefined, address: undefined }), 5);
  });
});

describe('scoring', () => {
  it('scores the four scripts of one man above auto-link and his twin brother below it', () => {
    const scripts = [withoutKazakhLetters, icao9303Latin, kazakhLatin2021];
    for (const script of scripts) {
      const other: PersonRecord = { ...nurlan, id: 'b', family: [script('Әбенов')], given: [script('Нұрлан')], patronymic: script('Асқарұлы') };
      const score = scoreLevels(compare(preparePerson(nurlan), preparePerson(other)), DEFAULT_WEIGHTS);
      assert.equal(decide(score), 'link', `${script.name}: ${score}`);
    }
    const twin: PersonRecord = { ...nurlan, id: 't', iin: '900515300028', given: ['Ерлан', 'Erlan'] };
    const score = scoreLevels(compare(preparePerson(nurlan), preparePerson(twin)), DEFAULT_WEIGHTS);
    assert.notEqual(decide(score), 'link', `twin scored ${score}`);
  });

  it('sends a married woman without IIN to review rather than dropping her', () => {
    const aigul: PersonRecord = {
      id: 'w1', iin: '950101400017', family: ['Омарова'], given: ['Айгүл'], patronymic: 'Серікқызы',
      birthDate: '1995-01-01', sex: 'female', phone: '+77011112233', address: { city: 'Алматы', line: 'Абай даңғылы, 1-үй' },
    };
    const married: PersonRecord = { ...aigul, id: 'w2', iin: undefined, family: ['Ахметова'] };
    const score = scoreLevels(compare(preparePerson(aigul), preparePerson(married)), DEFAULT_WEIGHTS);
    assert.notEqual(decide(score), 'distinct', `scored ${score}`);
  });

  it('EM recovers which level marks matches from unlabelled patterns', () => {
    const patterns = new ComparisonPatterns();
    const matchLike = [0, 0, 0, 0, 0, 0, 0];
    const nonMatchLike = [2, 3, 3, 2, 3, 1, 4];
    for (let i = 0; i < 300; i++) patterns.add(matchLike);
    for (let i = 0; i < 700; i++) patterns.add(nonMatchLike);
    const fitted = estimateWeights(patterns, { prior: PRIOR_WEIGHTS });
    assert.ok(Math.abs(fitted.matchShare - 0.3) < 0.02, `share ${fitted.matchShare}`);
    assert.ok(fitted.m.given[0] > 0.9 && fitted.u.given[0] < 0.1);
  });
});

describe('blocking', () => {
  it('never compares all pairs, and visits each candidate pair once', () => {
    const keys = [['x', 'y'], ['x', 'y'], ['x'], ['z'], ['y'], ['w']];
    const seen: string[] = [];
    const stats = forEachCandidatePair(keys, (i, j) => seen.push(`${i}-${j}`));
    assert.deepEqual(seen.sort(), ['0-1', '0-2', '0-4', '1-2', '1-4'].sort());
    assert.equal(stats.candidatePairs, 5);
    assert.equal(stats.allPairs, 15);
  });

  it('skips oversized blocks but still pairs their members through other keys', () => {
    const keys = [['big', 'a'], ['big', 'a'], ['big'], ['big']];
    const seen: string[] = [];
    const stats = forEachCandidatePair(keys, (i, j) => seen.push(`${i}-${j}`), { maxBlockSize: 3 });
    assert.deepEqual(seen, ['0-1']);
    assert.equal(stats.skippedBlocks, 1);
  });

  it('puts every script of a name into a shared block, even without IIN, phone or address', () => {
    const names: [family: string, given: string, patronymic: string][] = [
      ['Әбенов', 'Нұрлан', 'Асқарұлы'], ['Жұмабаева', 'Жанна', 'Ғалымқызы'], ['Хасенов', 'Ғалым', 'Серікұлы'],
      ['Иванова', 'Юлия', 'Сергеевна'], ['Құдайбергенов', 'Әлихан', 'Мұхтарұлы'], ['Цой', 'Вячеслав', 'Юрьевич'],
      ['Шәріпова', 'Іңкәр', 'Қайратқызы'], ['Ысқақов', 'Ерасыл', 'Бауыржанұлы'],
    ];
    const scripts = [(s: string) => s, withoutKazakhLetters, icao9303Latin, kazakhLatin2021];
    for (const [family, given, patronymic] of names) {
      const spelled = scripts.map((script, n) =>
        preparePerson({ id: String(n), family: [script(family)], given: [script(given)], patronymic: script(patronymic), birthDate: '1988-04-09', sex: 'male' }),
      );
      for (let i = 0; i < spelled.length; i++) {
        for (let j = i + 1; j < spelled.length; j++) {
          const shared = blockingKeys(spelled[i]).filter((key) => blockingKeys(spelled[j]).includes(key));
          assert.ok(shared.length > 0, `${family} ${given}: scripts ${i} and ${j} share no key`);
        }
      }
    }
  });

  it('keeps a day/month swap in the same date blocks', () => {
    const a = preparePerson({ ...nurlan, iin: undefined, birthDate: '1990-05-11' });
    const b = preparePerson({ ...nurlan, iin: undefined, birthDate: '1990-11-05', family: ['Ахметов'] });
    assert.ok(blockingKeys(a).some((key) => key.startsWith('gd') && blockingKeys(b).includes(key)));
  });
});

describe('thresholds', () => {
  const scores = [
    { score: 40, isMatch: true }, { score: 35, isMatch: true }, { score: 30, isMatch: false },
    { score: 25, isMatch: true }, { score: 10, isMatch: true }, { score: 5, isMatch: false },
  ];

  it('places auto-link above the first false positive and review where recall reaches the target', () => {
    const chosen = chooseThresholds(scores, 5, { autoLinkPrecision: 0.99, reviewRecall: 0.8 });
    assert.deepEqual(chosen, { autoLink: 35, review: 10 });
    assert.deepEqual(
      [qualityAt(scores, 5, 35).precision, qualityAt(scores, 5, 10).recall],
      [1, 0.8],
    );
  });

  it('ships thresholds with review below auto-link', () => {
    assert.ok(DEFAULT_THRESHOLDS.review < DEFAULT_THRESHOLDS.autoLink);
    assert.equal(decide(DEFAULT_THRESHOLDS.autoLink), 'link');
    assert.equal(decide(DEFAULT_THRESHOLDS.review), 'review');
    assert.equal(decide(DEFAULT_THRESHOLDS.review - 0.01), 'distinct');
  });
});

describe('findDuplicateCandidates', () => {
  it('links the four spellings of one man and leaves a stranger alone', () => {
    const records: PersonRecord[] = [
      nurlan,
      { ...nurlan, id: 'b', family: ['Абенов'], given: ['Нурлан'], patronymic: 'Аскарович' },
      { ...nurlan, id: 'c', iin: undefined, family: ['Nūrlan'].map(() => 'Äbenov'), given: ['Nūrlan'] },
      { id: 'x', iin: '850101300011', family: ['Иванов'], given: ['Сергей'], birthDate: '1985-01-01', sex: 'male' },
    ];
    const { pairs } = findDuplicateCandidates(records, { weights: DEFAULT_WEIGHTS });
    const linked = pairs.filter((p) => p.decision === 'link').map((p) => [p.a, p.b].sort().join('-')).sort();
    assert.deepEqual(linked, ['a-b', 'a-c', 'b-c']);
  });
});
