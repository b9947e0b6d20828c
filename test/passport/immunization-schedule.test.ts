import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Immunization, ImmunizationRecommendationRecommendation } from '@medplum/fhirtypes';
import { codeDisplay } from '../../src/fhir/terminology/display.js';
import { LOCALES } from '../../src/fhir/locale.js';
import { validateResource } from '../../src/fhir/validate.js';
import { DOSE_STATE_SYSTEM, type DoseState, immunizationForecast } from '../../src/passport/immunization-forecast.js';
import { addAge, dayNumber, isoDay, NATIONAL_CALENDAR, VACCINES, type VaccineKey, vaccineOf } from '../../src/passport/immunization-schedule.js';
import { populationResources } from '../../src/synth/population.js';

const CVX = 'http://hl7.org/fhir/sid/cvx';
const ATC = 'http://www.whocc.no/atc';
const LOINC = { earliest: '30981-5', due: '30980-7', overdue: '59778-1', latest: '59777-3' } as const;

let counter = 0;
/** A completed dose of a calendar vaccine, coded with CVX only as the generator would write it. */
function dose(vaccine: VaccineKey, date: string, extra: Partial<Immunization> = {}): Immunization {
  return {
    resourceType: 'Immunization',
    id: `imm-${++counter}`,
    status: 'completed',
    vaccineCode: { coding: [{ system: CVX, code: VACCINES[vaccine].cvx }] },
    patient: { reference: 'Patient/child' },
    occurrenceDateTime: `${date}T10:00:00+05:00`,
    ...extra,
  };
}

function forecast(birthDate: string, assessmentDate: string, immunizations: Immunization[], gender = 'male') {
  return immunizationForecast({ patient: { reference: { reference: 'Patient/child' }, birthDate, gender }, immunizations, assessmentDate, locale: 'en' });
}

type Row = { state: DoseState; due?: string; overdue?: string; earliest?: string; latest?: string; given?: string; vaccine?: string };

/** The forecast as `series dose` → its state, dates and the vaccine named, which is what the app shows. */
function table(recommendations: readonly ImmunizationRecommendationRecommendation[]): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const r of recommendations) {
    const date = (code: string) => r.dateCriterion?.find((c) => c.code.coding?.[0]?.code === code)?.value.slice(0, 10);
    const state = r.forecastStatus.coding!.find((c) => c.system === DOSE_STATE_SYSTEM)!.code as DoseState;
    const row: Row = { state, vaccine: r.vaccineCode?.[0]?.coding?.find((c) => c.system === CVX)?.code };
    for (const [name, code] of Object.entries(LOINC)) {
      const value = date(code);
      if (value) row[name as keyof typeof LOINC] = value;
    }
    const given = r.supportingImmunization?.[0]?.display;
    if (given) row.given = given;
    rows.set(`${r.series} ${r.doseNumberPositiveInt}`, row);
  }
  return rows;
}

describe('Age arithmetic', () => {
  test('a month after the 31st is the shorter month\'s last day, a year after 29 February is 28 February', () => {
    assert.equal(isoDay(addAge(dayNumber('2024-01-31'), { months: 1 })), '2024-02-29');
    assert.equal(isoDay(addAge(dayNumber('2023-01-31'), { months: 1 })), '2023-02-28');
    assert.equal(isoDay(addAge(dayNumber('2020-02-29'), { years: 1 })), '2021-02-28');
    assert.equal(isoDay(addAge(dayNumber('2025-11-20'), { months: 18 })), '2027-05-20');
    assert.equal(isoDay(addAge(dayNumber('2025-12-30'), { days: 5 })), '2026-01-04');
  });
});

describe('The national calendar', () => {
  test('every series and vaccine is named in Kazakh, Russian and English, and every vaccine code is in the bundled terminology', () => {
    for (const series of NATIONAL_CALENDAR) for (const locale of LOCALES) assert.ok(series.name[locale].length > 1, `${series.id} ${locale}`);
    for (const [key, vaccine] of Object.entries(VACCINES)) {
      for (const locale of LOCALES) assert.ok(vaccine.abbreviation[locale], `${key} ${locale}`);
      assert.ok(codeDisplay(CVX, vaccine.cvx, 'kk'), `CVX ${vaccine.cvx} has a Kazakh display`);
      if ('atc' in vaccine) assert.ok(codeDisplay(ATC, vaccine.atc, 'ru'), `ATC ${vaccine.atc} has a Russian display`);
    }
  });

  test('the product the calendar gives each dose with counts for that dose\'s series', () => {
    for (const series of NATIONAL_CALENDAR) {
      for (const [i, scheduled] of series.doses.entries()) {
        assert.ok((VACCINES[scheduled.vaccine].series as readonly string[]).includes(series.id), `${series.id} dose ${i + 1}: ${scheduled.vaccine}`);
        assert.ok(addAge(0, scheduled.minimumAge) <= addAge(0, scheduled.age) && addAge(0, scheduled.age) < addAge(0, scheduled.overdueAge), `${series.id} dose ${i + 1} ages in order`);
      }
    }
  });

  test('a vaccine is recognised by its ATC code alone, as the formulary codes it', () => {
    assert.equal(vaccineOf({ coding: [{ system: ATC, code: 'J07CA09' }] }), VACCINES.hexavalent);
    assert.equal(vaccineOf({ coding: [{ system: CVX, code: '213' }] }), undefined, 'COVID-19 vaccines are outside the calendar');
  });

  test('every childhood vaccine the generator writes is one the calendar counts', () => {
    const codes = new Set<string>();
    for (const resource of populationResources({ patients: 40, seed: 15 })) {
      if (resource.resourceType !== 'Immunization') continue;
      const cvx = resource.vaccineCode.coding?.find((c) => c.system === CVX)?.code;
      if (cvx && !['213', '141'].includes(cvx)) codes.add(cvx);
      if (cvx && !['213', '141'].includes(cvx)) assert.ok(vaccineOf(resource.vaccineCode), `CVX ${cvx} is a calendar vaccine`);
    }
    assert.ok(codes.size >= 5, `the generator wrote ${[...codes].join(', ')}`);
  });
});

describe('The forecast', () => {
  test('a newborn: hepatitis B and BCG due at once, overdue after the fourth day; the 2-month doses upcoming', () => {
    const day1 = table(forecast('2026-11-20', '2026-11-21', []).recommendation.recommendation);
    assert.deepEqual(day1.get('hepb 1'), { state: 'due', vaccine: '08', earliest: '2026-11-20', due: '2026-11-20', overdue: '2026-11-25', latest: '2044-11-19' });
    assert.equal(day1.get('bcg 1')?.state, 'due');
    assert.equal(day1.get('bcg 1')?.latest, '2027-11-19');
    assert.deepEqual(day1.get('dtp 1'), { state: 'upcoming', vaccine: '146', earliest: '2027-01-01', due: '2027-01-20', overdue: '2027-02-20', latest: '2033-11-19' });
    assert.equal(day1.get('pcv 1')?.due, '2027-01-20');
    assert.equal(day1.get('mmr 1')?.due, '2027-11-20');
    assert.equal(day1.get('td 1')?.due, '2042-11-20');
    assert.equal(day1.has('hpv 1'), false, 'HPV is for girls');
    assert.ok([...day1.values()].every((row) => row.state === 'due' || row.state === 'upcoming'));

    const day10 = table(forecast('2026-11-20', '2026-11-30', [dose('bcg', '2026-11-22')]).recommendation.recommendation);
    assert.equal(day10.get('hepb 1')?.state, 'overdue');
    assert.deepEqual(day10.get('bcg 1'), { state: 'given', vaccine: '19', given: '2026-11-22' });
  });

  test('a girl has the two HPV doses at 11, six months apart, the second six months after a late first', () => {
    const rows = table(forecast('2026-11-20', '2026-11-21', [], 'female').recommendation.recommendation);
    assert.equal(rows.get('hpv 1')?.due, '2037-11-20');
    assert.equal(rows.get('hpv 2')?.due, '2038-05-20');
    const late = table(forecast('2012-03-01', '2025-06-01', [dose('hpv', '2025-03-10')], 'female').recommendation.recommendation);
    assert.deepEqual(late.get('hpv 2'), { state: 'upcoming', vaccine: '62', earliest: '2025-08-10', due: '2025-09-10', overdue: '2026-09-10', latest: '2026-02-28' });
  });

  test('a one-year-old who missed the 4-month visit: its doses overdue, the next ones moved after it', () => {
    const history = [
      dose('hepB', '2025-10-02'),
      dose('bcg', '2025-10-03'),
      dose('hexavalent', '2025-12-01'),
      dose('pcv13', '2025-12-01'),
      dose('pentavalent', '2026-01-02'),
    ];
    const result = forecast('2025-10-01', '2026-10-15', history);
    const rows = table(result.recommendation.recommendation);
    for (const key of ['dtp 3', 'polio 3', 'hib 3']) {
      assert.deepEqual(rows.get(key), { state: 'overdue', vaccine: '146', earliest: '2026-01-30', due: '2026-02-01', overdue: '2026-03-01', latest: rows.get(key)!.latest }, key);
    }
    // Hepatitis B's second dose was the 2-month one, so its third may come four weeks after it.
    assert.deepEqual(rows.get('hepb 3'), { state: 'overdue', vaccine: '146', earliest: '2026-01-07', due: '2026-02-01', overdue: '2026-03-01', latest: '2043-09-30' });
    assert.equal(rows.get('pcv 2')?.state, 'overdue');
    assert.deepEqual(
      { state: rows.get('pcv 3')?.state, due: rows.get('pcv 3')?.due },
      { state: 'upcoming', due: '2026-12-10' },
      'the booster waits eight weeks after the missed dose, given today',
    );
    assert.equal(rows.get('dtp 4')?.due, '2027-04-15', 'six months after the missed dose, not at 18 months');
    assert.equal(rows.get('mmr 1')?.state, 'due');
    assert.deepEqual(rows.get('hepb 2'), { state: 'given', vaccine: '146', given: '2025-12-01' });
    assert.deepEqual(rows.get('dtp 2'), { state: 'given', vaccine: '120', given: '2026-01-02' });
    const standard = result.recommendation.recommendation.find((r) => r.series === 'dtp' && r.doseNumberPositiveInt === 3)!;
    assert.deepEqual(standard.forecastStatus.coding?.[0], { system: 'http://terminology.hl7.org/CodeSystem/immunization-recommendation-status', code: 'overdue', display: 'Overdue' });
    assert.equal(standard.seriesDosesPositiveInt, 5);
    assert.equal(result.evaluations.filter((e) => e.doseStatus.coding?.[0]?.code === 'valid').length, 1 + 1 + 4 + 1 + 3, 'each dose once per series it counts for');
  });

  test('a seven-year-old with the whole calendar: every childhood dose given, only the Td booster at 16 ahead', () => {
    const birth = '2019-06-10';
    const at = (age: { years?: number; months?: number; days?: number }) => isoDay(addAge(dayNumber(birth), age));
    const history = [
      dose('hepB', at({ days: 1 })),
      dose('bcg', at({ days: 2 })),
      dose('hexavalent', at({ months: 2 })),
      dose('pcv13', at({ months: 2 })),
      dose('pentavalent', at({ months: 3, days: 3 })),
      dose('hexavalent', at({ months: 4, days: 5 })),
      dose('pcv13', at({ months: 4, days: 5 })),
      dose('mmr', at({ months: 12 })),
      dose('pcv13', at({ months: 12 })),
      dose('pentavalent', at({ months: 18 })),
      dose('hepA', at({ months: 24 })),
      dose('hepA', at({ months: 30 })),
      dose('mmr', at({ years: 6 })),
      dose('dtapIpv', at({ years: 6 })),
    ];
    const result = forecast(birth, '2026-09-01', history);
    const rows = table(result.recommendation.recommendation);
    const ahead = [...rows].filter(([, row]) => row.state !== 'given');
    assert.deepEqual(ahead, [['td 1', { state: 'upcoming', vaccine: '09', earliest: '2035-06-10', due: '2035-06-10', overdue: '2036-06-10' }]]);
    assert.equal([...rows.values()].filter((row) => row.state === 'given').length, 3 + 1 + 5 + 5 + 4 + 3 + 2 + 2);
    assert.ok(result.evaluations.every((e) => e.doseStatus.coding?.[0]?.code === 'valid'));
    for (const resource of [result.recommendation, ...result.evaluations]) {
      assert.deepEqual(validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal'), [], `${resource.resourceType} is valid R4`);
    }
  });

  test('doses given too early do not count and are evaluated not valid; a late start moves the next dose by the minimum interval', () => {
    const early = [
      dose('hexavalent', '2024-02-10'), // 26 days old: under the minimum six weeks
      dose('hexavalent', '2024-03-20'),
      dose('pentavalent', '2024-04-01'), // 12 days after the previous: under four weeks
      dose('mmr', '2024-11-15'), // ten months: under the calendar's twelve
    ];
    const result = forecast('2024-01-15', '2024-12-01', early);
    const rows = table(result.recommendation.recommendation);
    assert.equal(rows.get('dtp 1')?.given, '2024-03-20');
    assert.deepEqual({ state: rows.get('dtp 2')?.state, earliest: rows.get('dtp 2')?.earliest }, { state: 'overdue', earliest: '2024-04-17' });
    assert.equal(rows.get('mmr 1')?.state, 'upcoming');
    assert.equal(rows.get('mmr 1')?.due, '2025-01-15');
    const notValid = result.evaluations.filter((e) => e.doseStatus.coding?.[0]?.code === 'notvalid');
    const reasons = notValid.map((e) => `${e.series} ${e.immunizationEvent.reference} ${e.doseStatusReason?.[0]?.text}`).sort();
    // The day-26 hexavalent counts for hepatitis B, whose first dose is given from birth.
    assert.deepEqual(reasons, [
      `dtp Immunization/${early[0]!.id} Given before the minimum age`,
      `dtp Immunization/${early[2]!.id} Given too soon after the previous dose`,
      `hib Immunization/${early[0]!.id} Given before the minimum age`,
      `hib Immunization/${early[2]!.id} Given too soon after the previous dose`,
      `mmr Immunization/${early[3]!.id} Given before the minimum age`,
      `polio Immunization/${early[0]!.id} Given before the minimum age`,
      `polio Immunization/${early[2]!.id} Given too soon after the previous dose`,
    ].sort());
    assert.ok(notValid.every((e) => e.doseStatusReason?.[0]?.coding?.[0]?.code === 'outsidesched'));

    const late = table(forecast('2023-01-01', '2023-07-10', [dose('hexavalent', '2023-07-01')]).recommendation.recommendation);
    assert.equal(late.get('dtp 1')?.given, '2023-07-01');
    assert.deepEqual({ state: late.get('dtp 2')?.state, due: late.get('dtp 2')?.due }, { state: 'upcoming', due: '2023-07-29' }, 'four weeks after a late first dose');
  });

  test('only completed doses with a date on or before the assessment count; a subpotent one does not', () => {
    const rows = table(
      forecast('2026-11-20', '2026-11-21', [
        dose('bcg', '2026-11-20', { status: 'not-done' }),
        dose('hepB', '2026-11-25'),
        dose('hepB', '2026-11-20', { isSubpotent: true }),
      ]).recommendation.recommendation,
    );
    assert.equal(rows.get('bcg 1')?.state, 'due');
    assert.equal(rows.get('hepb 1')?.state, 'due');
  });

  test('an adult: missing childhood doses are no longer given, the Td booster follows the last one by ten years', () => {
    const result = forecast('1990-05-05', '2026-06-01', [dose('td', '2006-05-20'), dose('td', '2016-06-01')]);
    const rows = table(result.recommendation.recommendation);
    assert.deepEqual(rows.get('td 3'), { state: 'due', vaccine: '09', earliest: '2026-06-01', due: '2026-06-01', overdue: '2027-06-01' });
    assert.equal(rows.get('mmr 1')?.state, 'aged-out');
    assert.equal(rows.get('mmr 1')?.due, undefined, 'no dates to give it by');
    const agedOut = result.recommendation.recommendation.find((r) => r.series === 'mmr')!;
    assert.deepEqual(agedOut.forecastStatus.coding?.map((c) => c.code), ['agedOut', 'aged-out']);
  });

  test('texts are in the language asked for', () => {
    const ru = immunizationForecast({ patient: { reference: { reference: 'Patient/x' }, birthDate: '2026-01-10' }, immunizations: [], assessmentDate: '2026-06-01', locale: 'ru' });
    const dtp1 = ru.recommendation.recommendation.find((r) => r.series === 'dtp' && r.doseNumberPositiveInt === 1)!;
    assert.equal(dtp1.targetDisease?.text, 'Дифтерия, коклюш, столбняк');
    assert.equal(dtp1.vaccineCode?.[0]?.text, 'АбКДС-ВГВ-Hib-ИПВ');
    assert.equal(dtp1.forecastStatus.text, 'Просрочена');
    assert.equal(dtp1.description, 'Просрочена с 10.04.2026');
  });
});
