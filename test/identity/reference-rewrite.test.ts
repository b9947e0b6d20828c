import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repointReferences, restoreReferences } from '../../src/identity/reference-rewrite.js';

describe('moving references between Patients', () => {
  it('repoints relative, absolute and versioned references, contained ones too, and nothing else', () => {
    const observation = {
      resourceType: 'Observation',
      subject: { reference: 'Patient/a/_history/3', display: 'Нұрлан' },
      performer: [{ reference: 'http://localhost:8080/fhir/Patient/a' }, { reference: 'Practitioner/a' }, { reference: 'Patient/ab' }],
      contained: [{ resourceType: 'Provenance', target: [{ reference: 'Patient/a' }] }],
      note: [{ text: 'Patient/a' }],
    };
    assert.equal(repointReferences(observation, 'a', 'b'), 3);
    assert.deepEqual(observation.subject, { reference: 'Patient/b', display: 'Нұрлан' });
    assert.deepEqual(
      observation.performer.map((p) => p.reference),
      ['Patient/b', 'Practitioner/a', 'Patient/ab'],
    );
    assert.equal(observation.contained[0]!.target[0]!.reference, 'Patient/b');
    assert.equal(observation.note[0]!.text, 'Patient/a');
  });

  it('restores exactly the places the merge changed, in their prior form', () => {
    const prior = { subject: { reference: 'Patient/a/_history/3' }, performer: [{ reference: 'Patient/b' }, { reference: 'Patient/a' }] };
    const current = structuredClone(prior);
    repointReferences(current, 'a', 'b');
    current.performer.push({ reference: 'Patient/b' });
    assert.equal(restoreReferences(current, prior, 'a', 'b'), 2);
    assert.deepEqual(current, {
      subject: { reference: 'Patient/a/_history/3' },
      performer: [{ reference: 'Patient/b' }, { reference: 'Patient/a' }, { reference: 'Patient/b' }],
    });
  });
});
