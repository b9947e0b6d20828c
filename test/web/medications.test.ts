import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MedicationRequest, MedicationStatement } from '@medplum/fhirtypes';
import { dosageText, splitCurrent } from '../../web/src/screens/medications/logic.js';

const request = (id: string, status: MedicationRequest['status'], authoredOn: string): MedicationRequest => ({ resourceType: 'MedicationRequest', id, status, intent: 'order', subject: { reference: 'Patient/p' }, authoredOn, dosageInstruction: [{ text: `${id} twice a day` }] });

describe('medications', () => {
  it('puts current prescriptions and statements first, past ones after, each newest first', () => {
    const statement: MedicationStatement = { resourceType: 'MedicationStatement', id: 's', status: 'active', subject: { reference: 'Patient/p' }, effectiveDateTime: '2024-01-01' };
    const { current, past } = splitCurrent([request('old', 'completed', '2020-01-01'), request('now', 'active', '2026-01-01'), statement, request('stopped', 'stopped', '2025-01-01'), request('held', 'on-hold', '2025-06-01')]);
    assert.deepEqual(current.map((m) => m.id), ['now', 'held', 's']);
    assert.deepEqual(past.map((m) => m.id), ['stopped', 'old']);
  });

  it('gives the dosage as written', () => {
    assert.equal(dosageText(request('r', 'active', '2026')), 'r twice a day');
    assert.equal(dosageText({ resourceType: 'MedicationStatement', status: 'active', subject: {} }), undefined);
  });
});
