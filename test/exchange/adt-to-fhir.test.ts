import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PARKED } from '../../src/exchange/adt.js';
import { encounterOf, medicalRecordSystem, mergeVisit, senderIdentifiers, visitNumberSystem } from '../../src/exchange/adt-to-fhir.js';
import { LOCALES } from '../../src/fhir/locale.js';
import { field, segment } from '../../src/hl7v2/message.js';
import { parseMessage } from '../../src/hl7v2/parse.js';
import { hl7Error } from '../hl7v2/hl7-error.js';

/** An ADT message of `trigger` in `version` with these PID-3 and PV1 fields (PV1-n at index n). */
function adt(trigger: string, pv1: Record<number, string> | undefined, options: { version?: string; pid3?: string; evn6?: string } = {}) {
  const fields = pv1 ? Array.from({ length: Math.max(...Object.keys(pv1).map(Number)) + 1 }, (_, n) => (n === 0 ? 'PV1' : (pv1[n] ?? ''))) : undefined;
  const lines = [
    `MSH|^~\\&|HIS|CITY_HOSP|DENSAULYQ|MOH_KZ|20261206101500+0600||ADT^${trigger}|C1|P|${options.version ?? '2.5.1'}`,
    `EVN|${trigger}|20261206101500+0600||||${options.evn6 ?? ''}`,
    `PID|1||${options.pid3 ?? '721102323452^^^KZ^NI'}||Омаров^Берік||19721102|M`,
    ...(fields ? [fields.join('|')] : []),
  ];
  return parseMessage(Buffer.from(lines.join('\r') + '\r'));
}
const visit = (trigger: string, pv1: Record<number, string> | undefined, options?: Parameters<typeof adt>[2]) => encounterOf(adt(trigger, pv1, options), { trigger, organization: 'city' });

describe('ADT to FHIR', () => {
  it('maps PV1-2 (table 0004) to the v3 ActCode class, in every version taken', () => {
    for (const version of ['2.3.1', '2.4', '2.5', '2.5.1']) {
      for (const [patientClass, code] of [['I', 'IMP'], ['O', 'AMB'], ['E', 'EMER'], ['P', 'PRENC']]) {
        const encounter = visit('A01', { 2: patientClass!, 19: 'V1' }, { version });
        assert.equal(encounter?.class.code, code, `${version} ${patientClass}`);
        assert.deepEqual(encounter?.identifier, [{ use: 'official', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'VN' }] }, system: visitNumberSystem('city'), value: 'V1' }]);
      }
    }
  });

  it('refuses what a visit cannot be without: PV1, its number, its class', () => {
    assert.equal(hl7Error(() => visit('A04', undefined)).detail.condition.code, '100');
    assert.deepEqual(hl7Error(() => visit('A01', { 2: 'I' })).detail.location, { segment: 'PV1', sequence: 1, field: 19 });
    assert.deepEqual(hl7Error(() => visit('A01', { 19: 'V1' })).detail.location, { segment: 'PV1', sequence: 1, field: 2 });
    assert.equal(hl7Error(() => visit('A01', { 2: 'Z', 19: 'V1' })).detail.condition.code, '102');
    assert.equal(visit('A08', undefined), undefined, 'an A08 without a visit updates the person only');
    assert.equal(visit('A08', { 2: 'I' }), undefined);
  });

  it('discharges at PV1-45, else at EVN-6, and refuses a discharge without a time', () => {
    assert.deepEqual(visit('A03', { 2: 'I', 19: 'V1', 45: '20261207090000+0600' })?.period, { end: '2026-12-07T09:00:00+06:00' });
    assert.deepEqual(visit('A03', { 2: 'I', 19: 'V1' }, { evn6: '20261207091500+0600' })?.period, { end: '2026-12-07T09:15:00+06:00' });
    assert.deepEqual(hl7Error(() => visit('A03', { 2: 'I', 19: 'V1' })).detail.location, { segment: 'PV1', sequence: 1, field: 45 });
  });

  it('keeps what is stored where a later message is silent, and the state on an A08', () => {
    const admitted = { ...visit('A01', { 2: 'I', 3: 'WARD^1^2', 19: 'V1', 44: '20261206080000+0600' })!, subject: { reference: 'Patient/p' } };
    const updated = mergeVisit({ ...admitted, id: 'e1' }, { ...visit('A08', { 2: 'I', 19: 'V1' })!, subject: { reference: 'Patient/p' } }, 'A08');
    assert.equal(updated.status, 'in-progress');
    assert.equal(updated.period?.start, '2026-12-06T08:00:00+06:00');
    assert.equal(updated.location?.[0]?.location.display, 'WARD / 1 / 2');
  });

  it('reads the hospital’s own numbers from a CX list: not an IIN, not another kind of number, under its assigning authority or the sender', () => {
    const pid3 = field(segment(adt('A28', undefined, { pid3: '721102323452^^^KZ^NI~M-1^^^CITY_HOSP^MR~M-2~AB123^^^KAZ^PPN' }), 'PID'), 3);
    assert.deepEqual(
      senderIdentifiers(pid3, 'city', 'CITY_FAC').map((i) => [i.system, i.value, i.assigner?.reference]),
      [
        [medicalRecordSystem('city', 'CITY_HOSP'), 'M-1', 'Organization/city'],
        [medicalRecordSystem('city', 'CITY_FAC'), 'M-2', 'Organization/city'],
      ],
    );
  });

  it('tells why a message is kept for review in Kazakh, Russian and English', () => {
    for (const [key, text] of Object.entries(PARKED)) {
      const texts = LOCALES.map((locale) => text[locale]);
      assert.ok(texts.every((t) => t.length > 10), key);
      assert.equal(new Set(texts).size, 3, `${key}: three different texts`);
    }
  });
});
