import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { personRecordFromPatient } from '../../src/identity/person-record.js';
import { validateResource } from '../../src/fhir/validate.js';
import { identityEvaluationSet } from '../../src/synth/identity-evaluation.js';
import { patientFromRecord } from '../../src/synth/identity-patients.js';

describe('the evaluation set as Patients', () => {
  const set = identityEvaluationSet({ persons: 300, seed: 5 });

  it('reads back as the same person records, and each Patient is valid R4', () => {
    for (const record of set.records) {
      const patient = patientFromRecord(record);
      assert.deepEqual(personRecordFromPatient(patient), record);
      assert.deepEqual(validateResource(patient).filter((i) => i.severity === 'error'), [], JSON.stringify(patient));
    }
  });

  it('leaves the IIN out when asked', () => {
    const record = set.records.find((r) => r.iin)!;
    assert.equal(personRecordFromPatient(patientFromRecord(record, { iin: false })).iin, undefined);
  });
});
