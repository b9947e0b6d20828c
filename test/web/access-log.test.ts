import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '@medplum/fhirtypes';
import { auditEventPayload } from '../../src/access/audit-event.js';
import type { AccessContext } from '../../src/access/context.js';
import { accessOf, referencesToName } from '../../web/src/screens/access-log/logic.js';

const clinician: AccessContext = { role: 'clinician', subject: 'doc-1', clientId: 'mis', scopes: [], purposeOfUse: 'TREAT', fhirUser: 'Practitioner/pr1', organization: 'org1' };
const event = (input: Partial<Parameters<typeof auditEventPayload>[0]>): AuditEvent =>
  JSON.parse(auditEventPayload({ action: 'R', interaction: 'read', recorded: '2026-12-01T10:00:00Z', outcome: '0', context: clinician, patient: 'p1', entities: ['Patient/p1'], ...input }, 'e1')) as AuditEvent;

describe('the access log entries, from the AuditEvents the server writes', () => {
  it('names the organization, the person, the purpose and the data of an ordinary read, with nothing highlighted', () => {
    const access = accessOf(event({ entities: ['Patient/p1', 'Observation/o1', 'Observation/o2'] }));
    assert.equal(access.organization, 'org1');
    assert.equal(access.person, 'Practitioner/pr1');
    assert.equal(access.role, 'clinician');
    assert.deepEqual(access.purposes, ['TREAT']);
    assert.equal(access.interaction, 'read');
    assert.deepEqual(access.what, ['Patient', 'Observation']);
    assert.deepEqual(access.notices, []);
    assert.equal(access.refused, false);
    assert.deepEqual(referencesToName([access]), ['Organization/org1', 'Practitioner/pr1']);
  });

  it('highlights break-glass with its reason, and keeps emergency treatment as the purpose', () => {
    const access = accessOf(event({ basis: 'break-glass', reason: 'Unconscious in A&E', interaction: '$everything', action: 'E' }));
    assert.deepEqual(access.notices, ['break-glass']);
    assert.deepEqual(access.purposes, ['ETREAT']);
    assert.equal(access.reason, 'Unconscious in A&E');
    assert.equal(access.interaction, '$everything');
  });

  it('highlights a self-declared relationship and a refused attempt of a blocked organization', () => {
    assert.deepEqual(accessOf(event({ basis: 'self-declared' })).notices, ['self-declared']);
    const refused = accessOf(event({ basis: 'consent-refused', outcome: '4' }));
    assert.equal(refused.refused, true);
    assert.deepEqual(refused.notices, ['refused']);
    assert.equal(refused.organization, 'org1');
  });

  it('shows a shared link’s recipient by the name they gave', () => {
    const recipient: AccessContext = { role: 'link-recipient', subject: 'link-9', clientId: 'shl', scopes: [], purposeOfUse: 'PATRQT', recipient: 'Dr. Dentist' };
    const access = accessOf(event({ context: recipient, basis: 'shared-link', link: { id: 'link-9' } }));
    assert.equal(access.recipient, 'Dr. Dentist');
    assert.equal(access.person, undefined);
    assert.deepEqual(access.notices, ['shared-link']);
    assert.deepEqual(referencesToName([access]), []);
  });
});
