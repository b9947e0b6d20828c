import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Consent } from '@medplum/fhirtypes';
import { blockConsent, ended, hideConsent, rulesOf } from '../../web/src/screens/privacy/logic.js';

describe('the privacy screen’s Consents', () => {
  it('reads back what it writes: a blocked organization and a hidden category', () => {
    const block = { ...blockConsent('p1', 'org7'), id: 'c1' };
    const hide = { ...hideConsent('p1', 'PSY'), id: 'c2' };
    assert.equal(block.patient?.reference, 'Patient/p1');
    assert.equal(block.provision?.type, 'permit');
    assert.equal(block.provision?.provision?.[0]?.actor?.[0]?.role.coding?.[0]?.code, 'IRCP');
    const rules = rulesOf([block, hide]);
    assert.deepEqual(
      rules.map((r) => (r.kind === 'block' ? ['block', r.organization, r.consent.id] : ['hide', r.label, r.consent.id])),
      [
        ['block', 'org7', 'c1'],
        ['hide', 'PSY', 'c2'],
      ],
    );
  });

  it('reads nested provisions as the door does, and leaves out ended Consents and permits', () => {
    const other: Consent = {
      resourceType: 'Consent',
      status: 'active',
      scope: {},
      category: [],
      provision: {
        type: 'deny',
        provision: [{ securityLabel: [{ code: 'HIV' }, { code: 'STD' }] }, { type: 'permit', actor: [{ role: {}, reference: { reference: 'Organization/x' } }] }],
        actor: [{ role: {}, reference: { reference: 'Organization/o2' } }, { role: {}, reference: { reference: 'Practitioner/p' } }],
      },
    };
    const rules = rulesOf([other, ended(blockConsent('p1', 'org7'))]);
    assert.deepEqual(
      rules.map((r) => (r.kind === 'block' ? r.organization : r.label)),
      ['o2', 'HIV', 'STD'],
    );
  });
});
