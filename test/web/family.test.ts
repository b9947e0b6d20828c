import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { ageOn, familyOf } from '../../web/src/screens/family/logic.js';

const patient = (id: string, birthDate?: string): Patient => ({ resourceType: 'Patient', id, ...(birthDate ? { birthDate } : {}) });

describe('family', () => {
  it('tells the citizen from their children, youngest child first', () => {
    const family = familyOf([patient('c1', '2015-04-01'), patient('me', '1988-01-01'), patient('c2', '2020-09-09')], 'me');
    assert.equal(family.self?.id, 'me');
    assert.deepEqual(family.children.map((c) => c.id), ['c2', 'c1']);
  });

  it('has no children when the answer is the citizen alone', () => {
    assert.deepEqual(familyOf([patient('me')], 'me').children, []);
  });

  it('counts full years, not yet a year more before the birthday', () => {
    const today = new Date('2026-12-06T12:00:00Z');
    assert.equal(ageOn('2014-12-06', today), 12);
    assert.equal(ageOn('2014-12-07', today), 11);
    assert.equal(ageOn('2014-11-30', today), 12);
    assert.equal(ageOn('2014', today), undefined);
    assert.equal(ageOn(undefined, today), undefined);
  });
});
