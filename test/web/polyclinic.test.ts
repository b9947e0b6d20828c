import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { careDeclarations } from '../../web/src/screens/polyclinic/declarations.js';

describe('the care declarations', () => {
  it('reads each Parameters of the collection, leaving out one without an organization', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: { resourceType: 'Parameters', parameter: [{ name: 'id', valueString: 'd-1' }, { name: 'organization', valueReference: { reference: 'Organization/o-2', display: 'Clinic 2' } }, { name: 'kind', valueCode: 'visit' }, { name: 'declared', valueInstant: '2026-12-01T10:00:00Z' }, { name: 'status', valueCode: 'open' }] } },
        { resource: { resourceType: 'Parameters', parameter: [{ name: 'id', valueString: 'd-2' }] } },
      ],
    };
    const [only, ...rest] = careDeclarations(bundle);
    assert.deepEqual(rest, []);
    assert.equal(only?.organization, 'Organization/o-2');
    assert.equal(only?.organizationName, 'Clinic 2');
    assert.equal(only?.status, 'open');
    assert.deepEqual(careDeclarations({ resourceType: 'Bundle', type: 'collection' }), []);
  });
});
