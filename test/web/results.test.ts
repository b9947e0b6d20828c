import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Observation } from '@medplum/fhirtypes';
import { groupByTest, isAbnormal, testCode, rangeShape, resultFlag, trendOf } from '../../web/src/screens/results/logic.js';

const lab = (id: string, code: string, date: string, value?: number, flag?: string): Observation => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code, display: code }] },
  effectiveDateTime: date,
  ...(value !== undefined ? { valueQuantity: { value, unit: 'mmol/L' } } : {}),
  ...(flag ? { interpretation: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: flag }] }] } : {}),
});

describe('laboratory results', () => {
  it('groups results by test, each newest first, the test with the newest result first', () => {
    const groups = groupByTest([lab('a', '14749-6', '2025-01-01', 5.2), lab('b', '718-7', '2026-02-01', 130), lab('c', '14749-6', '2026-03-01', 6.8), lab('d', '14749-6', '2024-06-01', 5.0)]);
    assert.deepEqual(groups.map((g) => g.key), ['http://loinc.org|14749-6', 'http://loinc.org|718-7']);
    assert.deepEqual(groups[0]!.results.map((o) => o.id), ['c', 'a', 'd']);
    assert.equal(groups[0]!.latest.id, 'c');
  });

  it('searches a test by its code, and one known only by its text not at all', () => {
    assert.equal(testCode(lab('a', '14749-6', '2025')), 'http://loinc.org|14749-6');
    assert.equal(testCode({ resourceType: 'Observation', status: 'final', code: { coding: [{ code: 'GLU' }] } }), 'GLU');
    assert.equal(testCode({ resourceType: 'Observation', status: 'final', code: { text: 'Sugar' } }), undefined);
  });

  it('reads the interpretation as a flag in words, critical apart from merely high or low', () => {
    assert.equal(resultFlag(lab('x', '1', '2025', 1, 'H')), 'high');
    assert.equal(resultFlag(lab('x', '1', '2025', 1, 'LL')), 'criticalLow');
    assert.equal(resultFlag(lab('x', '1', '2025', 1, 'AA')), 'critical');
    assert.equal(resultFlag(lab('x', '1', '2025', 1, 'A')), 'abnormal');
    assert.equal(resultFlag(lab('x', '1', '2025', 1, 'N')), 'normal');
    assert.equal(resultFlag(lab('x', '1', '2025', 1)), undefined, 'no interpretation, no claim');
    assert.equal(isAbnormal('normal'), false);
    assert.equal(isAbnormal('criticalHigh'), true);
    assert.equal(isAbnormal(undefined), false);
  });

  it('words a range by the bounds it has', () => {
    assert.deepEqual(rangeShape({ low: { value: 3.9 }, high: { value: 6.1 } }), { kind: 'between', low: 3.9, high: 6.1 });
    assert.deepEqual(rangeShape({ low: { value: 60 } }), { kind: 'atLeast', low: 60 });
    assert.deepEqual(rangeShape({ high: { value: 5 } }), { kind: 'atMost', high: 5 });
    assert.deepEqual(rangeShape({ text: 'negative' }), { kind: 'text', text: 'negative' });
    assert.deepEqual(rangeShape(undefined), { kind: 'none' });
  });

  it('charts the $series points in its unit, oldest first, each with its flag, and the newest range; leaves out what cannot be drawn', () => {
    const quantity = (value: number, code = 'mmol/L') => ({ value, unit: code, system: 'http://unitsofmeasure.org', code });
    const point = (date: string | undefined, value: number | undefined, flag?: string, extra: { name: string; valueBoolean?: boolean; valueQuantity?: ReturnType<typeof quantity> }[] = []) => ({
      name: 'point',
      part: [
        { name: 'observation', valueReference: { reference: 'Observation/x' } },
        ...(date ? [{ name: 'effective', valueDateTime: date }] : []),
        ...(value !== undefined ? [{ name: 'value', valueQuantity: quantity(value) }] : []),
        ...(flag ? [{ name: 'interpretation', valueCodeableConcept: { coding: [{ code: flag }] } }] : []),
        ...extra,
      ],
    });
    const trend = trendOf({
      resourceType: 'Parameters',
      parameter: [
        { name: 'unit', valueCode: 'mmol/L' },
        point('2025-01-01', 5.2, 'N', [{ name: 'low', valueQuantity: quantity(3.9) }, { name: 'high', valueQuantity: quantity(6.1) }]),
        point('2025-06-01', 108, undefined, [{ name: 'comparable', valueBoolean: false }]),
        point(undefined, 5),
        point('2025-09-01', undefined),
        point('2026-01-01', 5.99, 'H', [{ name: 'high', valueQuantity: quantity(5.5) }]),
      ],
    });
    assert.equal(trend.unit, 'mmol/L');
    assert.deepEqual(trend.points.map((p) => [p.value, p.flag]), [[5.2, 'normal'], [5.99, 'high']]);
    assert.deepEqual([trend.low, trend.high], [undefined, 5.5], "the newest result's range");
  });
});
