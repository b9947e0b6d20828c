import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import { byOrganization, declarationOf, declarationsOf, disputeEffect, polyclinicSearch, primaryCare } from '../../web/src/screens/polyclinic/logic.js';

/** A declaration as `$care-declarations` writes it (src/rest/care.ts). */
function declaration(id: string, organization: string, status: string, declared: string, name?: string): Parameters {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'id', valueString: id },
      { name: 'patient', valueReference: { reference: 'Patient/p1' } },
      { name: 'organization', valueReference: { reference: `Organization/${organization}`, ...(name ? { display: name } : {}) } },
      { name: 'kind', valueCode: 'encounter' },
      { name: 'evidence', valueReference: { reference: 'Encounter/e1' } },
      { name: 'declared', valueInstant: declared },
      { name: 'expires', valueInstant: '2026-12-07T10:00:00.000000Z' },
      { name: 'status', valueCode: status },
    ],
  };
}

describe('the My polyclinic screen logic', () => {
  it('reads a declaration: the organization, its name, when, until when and the status', () => {
    assert.deepEqual(declarationOf(declaration('d1', 'o1', 'open', '2026-12-06T10:00:00Z', 'Емхана №1')), {
      id: 'd1',
      organization: 'o1',
      organizationName: 'Емхана №1',
      kind: 'encounter',
      declared: '2026-12-06T10:00:00Z',
      expires: '2026-12-07T10:00:00.000000Z',
      status: 'open',
    });
    assert.equal(declarationOf(declaration('d2', 'o1', 'withdrawn', '2026-12-06T10:00:00Z')), undefined, 'an unknown status is not offered for a decision');
    const bundle: Bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: declaration('d1', 'o1', 'open', '2026-12-06T10:00:00Z') }, { resource: { resourceType: 'OperationOutcome', issue: [] } }] };
    assert.deepEqual(declarationsOf(bundle).map((d) => d.id), ['d1']);
  });

  it('groups by organization, the ones awaiting an answer first, and says what the citizen may still do', () => {
    const groups = byOrganization(
      [
        declaration('a', 'old', 'confirmed', '2026-12-06T09:00:00Z', 'Old'),
        declaration('b', 'new', 'disputed', '2026-12-06T11:00:00Z'),
        declaration('c', 'walk-in', 'open', '2026-12-01T09:00:00Z', 'Walk-in'),
        declaration('d', 'walk-in', 'expired', '2026-11-01T09:00:00Z'),
      ].map((p) => declarationOf(p)!),
    );
    assert.deepEqual(
      groups.map((g) => [g.id, g.name, g.declarations.length, g.confirmable, g.disputable]),
      [
        ['walk-in', 'Walk-in', 2, true, true],
        ['new', undefined, 1, false, false],
        ['old', 'Old', 1, false, true],
      ],
    );
  });

  it('says what disputing does now: ends open or confirmed access, or only asks for review once access expired', () => {
    const effect = (...statuses: string[]) => disputeEffect(byOrganization(statuses.map((status, n) => declarationOf(declaration(`d${n}`, 'o1', status, `2026-12-0${n + 1}T09:00:00Z`))!))[0]!);
    assert.equal(effect('open', 'confirmed'), 'dispute');
    assert.equal(effect('confirmed', 'expired'), 'withdraw');
    assert.equal(effect('expired'), 'expired');
    assert.equal(effect('disputed'), undefined);
  });

  it('finds the primary-care organization and doctor among the Patient’s general practitioners', () => {
    assert.deepEqual(
      primaryCare({ resourceType: 'Patient', generalPractitioner: [{ reference: 'Organization/o1' }, { reference: 'Practitioner/p9' }, { reference: 'PractitionerRole/r1' }, { display: 'no reference' }] }),
      { organizations: ['o1'], practitioners: ['p9'] },
    );
    assert.deepEqual(primaryCare({ resourceType: 'Patient' }), { organizations: [], practitioners: [] });
  });

  it('searches polyclinics only, by any part of the name, trimmed', () => {
    assert.deepEqual(polyclinicSearch('  №5 '), { type: 'http://densaulyq.kz/fhir/CodeSystem/facility-type|polyclinic', 'name:contains': '№5', _count: '20' });
  });
});
