import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImmunizationRecommendationRecommendation, Parameters } from '@medplum/fhirtypes';
import { DOSE_STATE_SYSTEM, forecastRecommendation, givenDoses, shotsToGive, whenToGive } from '../../web/src/screens/immunizations/logic.js';

const LOINC = 'http://loinc.org';
const rec = (vaccine: string, disease: string, state: string, due: string, overdue: string, dose: number, of?: number): ImmunizationRecommendationRecommendation => ({
  vaccineCode: [{ text: vaccine }],
  targetDisease: { text: disease },
  forecastStatus: { coding: [{ system: DOSE_STATE_SYSTEM, code: state }], text: state },
  dateCriterion: [
    { code: { coding: [{ system: LOINC, code: '30980-7' }] }, value: due },
    { code: { coding: [{ system: LOINC, code: '59778-1' }] }, value: overdue },
  ],
  doseNumberPositiveInt: dose,
  ...(of ? { seriesDosesPositiveInt: of } : {}),
});

const output = (recommendation: ImmunizationRecommendationRecommendation[]): Parameters => ({
  resourceType: 'Parameters',
  parameter: [{ name: 'recommendation', resource: { resourceType: 'ImmunizationRecommendation', patient: { reference: 'Patient/p' }, date: '2026-12-06', recommendation } }],
});

describe('the immunization forecast', () => {
  it('makes one shot of the series doses one product covers on one date, overdue first, then due, then upcoming', () => {
    const shots = shotsToGive(
      forecastRecommendation(
        output([
          rec('Hexavalent', 'Diphtheria', 'upcoming', '2027-02-01', '2027-03-01', 2, 3),
          rec('Hexavalent', 'Polio', 'upcoming', '2027-02-01', '2027-03-01', 2, 3),
          rec('Hexavalent', 'Hepatitis B', 'upcoming', '2027-02-01', '2027-03-01', 2, 3),
          rec('MMR', 'Measles', 'due', '2026-11-01', '2027-01-01', 1, 2),
          rec('Td', 'Tetanus', 'overdue', '2020-01-01', '2020-06-01', 1),
          rec('BCG', 'Tuberculosis', 'given', '2000-01-01', '2000-02-01', 1, 1),
          rec('HPV', 'HPV', 'aged-out', '2010-01-01', '2010-02-01', 1, 2),
        ]),
      ),
    );
    assert.deepEqual(shots.map((s) => [s.vaccine, s.state]), [['Td', 'overdue'], ['MMR', 'due'], ['Hexavalent', 'upcoming']]);
    assert.deepEqual(shots[2]!.diseases, ['Diphtheria', 'Polio', 'Hepatitis B']);
    assert.equal(shots[2]!.doses.length, 3);
  });

  it('says when: overdue since the overdue date, due since the due date, upcoming on it', () => {
    const [td, mmr, hexa] = shotsToGive(forecastRecommendation(output([rec('Td', 'T', 'overdue', '2020-01-01', '2020-06-01', 1), rec('MMR', 'M', 'due', '2026-11-01', '2027-01-01', 1), rec('Hexa', 'H', 'upcoming', '2027-02-01', '2027-03-01', 2)])));
    assert.deepEqual(whenToGive(td!), { key: 'overdueSince', date: '2020-06-01' });
    assert.deepEqual(whenToGive(mmr!), { key: 'dueSince', date: '2026-11-01' });
    assert.deepEqual(whenToGive(hexa!), { key: 'dueOn', date: '2027-02-01' });
  });

  it('has nothing to give without a recommendation, and counts no dose entered in error', () => {
    assert.deepEqual(shotsToGive(forecastRecommendation({ resourceType: 'Parameters' })), []);
    const doses = givenDoses([
      { resourceType: 'Immunization', id: 'a', status: 'completed', vaccineCode: {}, patient: {}, occurrenceDateTime: '2020-01-01' },
      { resourceType: 'Immunization', id: 'b', status: 'entered-in-error', vaccineCode: {}, patient: {}, occurrenceDateTime: '2021-01-01' },
      { resourceType: 'Immunization', id: 'c', status: 'completed', vaccineCode: {}, patient: {}, occurrenceDateTime: '2022-01-01' },
    ]);
    assert.deepEqual(doses.map((d) => d.id), ['c', 'a']);
  });
});
