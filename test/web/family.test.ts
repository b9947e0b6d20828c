import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import { familyRecords } from '../../web/src/screens/family/children.js';

describe('the family records', () => {
  it('separates the citizen’s own record from the children’s', () => {
    const patients: Patient[] = [
      { resourceType: 'Patient', id: 'child-1' },
      { resourceType: 'Patient', id: 'me' },
      { resourceType: 'Patient', id: 'child-2' },
    ];
    const family = familyRecords(patients, 'me');
    assert.equal(family.self?.id, 'me');
    assert.deepEqual(family.children.map((p) => p.id), ['child-1', 'child-2']);
    assert.deepEqual(familyRecords([{ resourceType: 'Patient', id: 'me' }], 'me').children, []);
  });
});
