import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DiagnosticReport, Observation } from '@medplum/fhirtypes';
import { criticalResultAlert } from '../../src/lab/critical-results.js';

const V3 = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const report: DiagnosticReport & { id: string } = { resourceType: 'DiagnosticReport', id: 'r1', status: 'final', code: { text: 'Chemistry' }, subject: { reference: 'Patient/p1' } };
const result = (id: string, flag: string | undefined, value: number, status: Observation['status'] = 'final'): Observation & { id: string } => ({
  resourceType: 'Observation',
  id,
  status,
  code: { coding: [{ system: 'http://loinc.org', code: '2823-3', display: 'Potassium' }] },
  valueQuantity: { value, unit: 'mmol/L' },
  ...(flag ? { interpretation: [{ coding: [{ system: V3, code: flag }] }] } : {}),
});

describe('critical laboratory results notify the ordering organization', () => {
  test('a critically high potassium makes one stat alert about the report, in kk, ru and en, naming the result', () => {
    const alert = criticalResultAlert(report, [result('o1', 'HH', 6.9), result('o2', 'H', 5.6), result('o3', undefined, 4)], { orderedBy: 'Organization/clinic', lab: 'Organization/lab' });
    assert.ok(alert);
    assert.equal(alert.priority, 'stat');
    assert.deepEqual(alert.recipient, [{ reference: 'Organization/clinic' }]);
    assert.deepEqual(alert.about, [{ reference: 'DiagnosticReport/r1' }]);
    assert.deepEqual(alert.sender, { reference: 'Organization/lab' });
    assert.deepEqual(alert.payload?.map((p) => p.contentString ?? p.contentReference?.reference), [
      'Шұғыл зертханалық нәтиже: Potassium: 6.9 mmol/L',
      'Критический лабораторный результат: Potassium: 6.9 mmol/L',
      'Critical laboratory result: Potassium: 6.9 mmol/L',
      'Observation/o1',
    ]);
  });
  test('no alert when nothing is critical, when the critical result was entered in error, or when no order names who to tell', () => {
    assert.equal(criticalResultAlert(report, [result('o2', 'H', 5.6)], { orderedBy: 'Organization/clinic' }), undefined);
    assert.equal(criticalResultAlert(report, [result('o1', 'LL', 2.1, 'entered-in-error')], { orderedBy: 'Organization/clinic' }), undefined);
    assert.equal(criticalResultAlert(report, [result('o1', 'LL', 2.1)], {}), undefined);
  });
});
