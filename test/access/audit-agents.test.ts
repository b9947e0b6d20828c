import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestServer, startTestServer } from '../support/server.js';
import { testDrivers } from '../support/database.js';

/** What the audit trail says about who asked: the person behind a system, and the stated purpose. */
for (const driver of testDrivers()) describe(`audit records name the person and purpose behind a request (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let system: string;
  let clinician: string;
  before(async () => {
    server = await startTestServer(driver);
    await server.fhir('PUT', 'Organization/org-agents', { resourceType: 'Organization', id: 'org-agents', name: 'Polyclinic 4' });
    await server.fhir('PUT', 'Patient/p-agents', { resourceType: 'Patient', id: 'p-agents', generalPractitioner: [{ reference: 'Organization/org-agents' }] });
    await server.fhir('PUT', 'PractitionerRole/role-doc-7', {
      resourceType: 'PractitionerRole',
      id: 'role-doc-7',
      active: true,
      practitioner: { reference: 'Practitioner/doc-7' },
      organization: { reference: 'Organization/org-agents' },
    });
    system = await server.token({ sub: 'mis-4', client_id: 'mis-4', scope: 'system/*.rs', role: 'system', organization: 'org-agents' });
    clinician = await server.token({ sub: 'doctor-4', scope: 'user/*.rs', role: 'clinician', organization: 'org-agents', fhirUser: 'Practitioner/doc-4' });
  });
  after(() => server.close());

  async function lastAuditEvent(): Promise<any> {
    const log = await server.fhir('GET', 'Patient/p-agents/$access-log?_count=1');
    assert.equal(log.status, 200, log.text);
    return log.body.entry[0].resource;
  }

  test('a system names the practitioner it acts for; the log shows person (as asserted), organization and client', async () => {
    const read = await server.fhir('GET', 'Patient/p-agents', undefined, { authorization: `Bearer ${system}`, 'x-on-behalf-of': 'Practitioner/doc-7' });
    assert.equal(read.status, 200, read.text);
    const event = await lastAuditEvent();
    const agents = event.agent.map((a: any) => a.who);
    assert.ok(agents.some((who: any) => who.reference === 'Practitioner/doc-7'), JSON.stringify(agents));
    assert.ok(agents.some((who: any) => who.reference === 'Organization/org-agents'));
    assert.ok(agents.some((who: any) => who.identifier?.value === 'mis-4'));
    const user = event.agent.find((a: any) => a.requestor);
    assert.deepEqual(user.extension.map((e: any) => e.valueCode), ['on-behalf-of'], 'recorded as asserted by the client');
  });

  test('a system may not name someone outside its organization', async () => {
    const stranger = await server.fhir('GET', 'Patient/p-agents', undefined, { authorization: `Bearer ${system}`, 'x-on-behalf-of': 'Practitioner/doc-elsewhere' });
    assert.equal(stranger.status, 403, stranger.text);
    assert.equal(stranger.body.issue[0].expression[0], 'X-On-Behalf-Of');
    const role = await server.fhir('GET', 'Patient/p-agents', undefined, { authorization: `Bearer ${system}`, 'x-on-behalf-of': 'PractitionerRole/role-doc-7' });
    assert.equal(role.status, 200, role.text);
  });

  test('a stated purpose of use is recorded; an unknown one is refused', async () => {
    const headers = { authorization: `Bearer ${clinician}`, 'x-purpose-of-use': 'CAREMGT' };
    assert.equal((await server.fhir('GET', 'Patient/p-agents', undefined, headers)).status, 200);
    const event = await lastAuditEvent();
    const purposes = event.agent.flatMap((a: any) => a.purposeOfUse ?? []).flatMap((p: any) => p.coding.map((c: any) => c.code));
    assert.deepEqual(purposes, ['CAREMGT']);
    const refused = await server.fhir('GET', 'Patient/p-agents', undefined, { ...headers, 'x-purpose-of-use': 'CURIOSITY' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.issue[0].expression[0], 'X-Purpose-Of-Use');
  });

  test('only a system may say on whose behalf it acts', async () => {
    const refused = await server.fhir('GET', 'Patient/p-agents', undefined, { authorization: `Bearer ${clinician}`, 'x-on-behalf-of': 'Practitioner/doc-7' });
    assert.equal(refused.status, 400);
    const malformed = await server.fhir('GET', 'Patient/p-agents', undefined, { authorization: `Bearer ${system}`, 'x-on-behalf-of': 'Organization/x' });
    assert.equal(malformed.status, 400);
  });
});
