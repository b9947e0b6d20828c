import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '@medplum/fhirtypes';
import { ACCESS_BASIS_SYSTEM, ACT_REASON_SYSTEM } from '../../src/access/audit-vocabulary.js';
import { accessEntry } from '../../web/src/screens/access-log/entries.js';
import * as texts from '../../web/src/screens/access-log.i18n.js';

const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  resourceType: 'AuditEvent',
  id: 'a-1',
  type: { code: 'rest' },
  recorded: '2026-12-01T09:30:00Z',
  outcome: '0',
  subtype: [{ code: 'read' }],
  source: { observer: { display: 'Densaulyq' } },
  agent: [
    { requestor: true, who: { reference: 'Practitioner/pr-1', display: 'Dr Aigerim' }, purposeOfUse: [{ coding: [{ system: ACT_REASON_SYSTEM, code: 'TREAT' }] }] },
    { requestor: false, who: { reference: 'Organization/org-9', display: 'Polyclinic 9' } },
  ],
  ...over,
});

describe('the access log entry', () => {
  it('names the person, organization, purpose in the reader’s language and what was opened', () => {
    const entry = accessEntry(event(), 'ru');
    assert.equal(entry.person, 'Dr Aigerim');
    assert.equal(entry.organizationId, 'org-9');
    assert.equal(entry.organizationName, 'Polyclinic 9');
    assert.deepEqual(entry.purposes, ['Лечение']);
    assert.equal(entry.what, 'read');
    assert.deepEqual(entry.flags, []);
    assert.equal(entry.refused, false);
  });

  it('flags break-glass, self-declared and refused attempts and says why one was refused', () => {
    assert.deepEqual(accessEntry(event({ meta: { security: [{ system: ACT_REASON_SYSTEM, code: 'BTG' }] } }), 'en').flags, ['break-glass']);
    assert.deepEqual(accessEntry(event({ meta: { security: [{ system: ACCESS_BASIS_SYSTEM, code: 'self-declared' }] } }), 'en').flags, ['self-declared']);
    const refused = accessEntry(event({ outcome: '4', outcomeDesc: 'denied', meta: { security: [{ system: ACCESS_BASIS_SYSTEM, code: 'consent-refused' }] } }), 'kk');
    assert.deepEqual(refused.flags, ['refused']);
    assert.match(refused.reason ?? '', /келісімі/);
    assert.equal(accessEntry(event({ outcome: '4', outcomeDesc: 'no relationship' }), 'en').reason, 'no relationship');
  });

  it('has every flag in kk, ru and en', () => {
    for (const locale of [texts.kk, texts.ru, texts.en]) for (const flag of ['break-glass', 'self-declared', 'refused'] as const) assert.ok(locale.flags[flag].length > 0);
  });
});
