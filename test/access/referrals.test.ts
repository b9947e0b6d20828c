import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, ServiceRequest, Task } from '@medplum/fhirtypes';
import { bearer, buildWorld, denyOrganizationConsent, entryRefs, ORG, PATIENT, tokens, type Tokens } from './world.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const DAY = 86_400_000;

/** A referral from organization A's system to organization C: the ServiceRequest and the Task that carries it, in one transaction. */
function referralBundle(patient: string, due: string): Bundle {
  const request: ServiceRequest = {
    resourceType: 'ServiceRequest',
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '3457005', display: 'Patient referral' }] }],
    code: { coding: [{ system: 'http://snomed.info/sct', code: '183519002', display: 'Referral to cardiology service' }] },
    subject: { reference: `Patient/${patient}`, display: 'Серікова Айгүл, 1980' },
    requester: { reference: `Organization/${ORG.A}` },
    performer: [{ reference: `Organization/${ORG.C}` }],
    reasonCode: [{ text: 'Chest pain on exertion' }],
  };
  const task: Task = {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    priority: 'urgent',
    focus: { reference: 'urn:uuid:4c1f2a9e-0000-4000-8000-000000000001' },
    for: { reference: `Patient/${patient}` },
    requester: { reference: `Organization/${ORG.A}` },
    owner: { reference: `Organization/${ORG.C}` },
    restriction: { period: { end: due } },
  };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:4c1f2a9e-0000-4000-8000-000000000001', resource: request, request: { method: 'POST', url: 'ServiceRequest' } },
      { resource: task, request: { method: 'POST', url: 'Task' } },
    ],
  };
}

for (const driver of testDrivers()) describe(`Referrals between organizations: ServiceRequest + Task through the Task state machine (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let t: Tokens;
  let systemC: Record<string, string>;
  let systemA: Record<string, string>;
  let task: Task & { id: string };
  before(async () => {
    server = await startTestServer(driver);
    t = await tokens(server);
    await buildWorld(server, t);
    systemA = bearer(t.systemA);
    systemC = bearer(await server.token({ sub: 'system-c', client_id: 'system-c', scope: 'system/*.cruds', role: 'system', organization: ORG.C }));
    const sent = await server.fhir('POST', '', referralBundle(PATIENT.p1, new Date(Date.now() + 7 * DAY).toISOString()), systemA);
    assert.equal(sent.status, 200, sent.text);
    const taskUrl = sent.body.entry[1].response.location.split('/_history')[0];
    task = (await server.fhir('GET', taskUrl, undefined, systemA)).body;
    assert.equal(task.status, 'requested');
  });
  after(() => server.close());

  const move = (as: Record<string, string>, change: Partial<Task>) => server.fhir('PUT', `Task/${task.id}`, { ...task, ...change }, as);
  const reads = async (as: Record<string, string>) => ({
    patient: (await server.fhir('GET', `Patient/${PATIENT.p1}`, undefined, as)).status,
    observations: entryRefs((await server.fhir('GET', `Observation?patient=${PATIENT.p1}`, undefined, as)).body).length,
  });

  test("the receiving organization's work list shows the referral and what is asked, before it may read the record", async () => {
    const list = await server.fhir('GET', `Task?owner=Organization/${ORG.C}&status=requested,received,accepted,in-progress&_include=Task:focus`, undefined, systemC);
    assert.equal(list.status, 200, list.text);
    const refs = entryRefs(list.body);
    assert.ok(refs.includes(`Task/${task.id}`), refs.join(', '));
    assert.ok(refs.includes(task.focus!.reference!), 'the ServiceRequest comes with it');
    assert.deepEqual(await reads(systemC), { patient: 404, observations: 0 }, 'the record stays closed until C accepts');
    const other = await server.fhir('GET', `Task/${task.id}`, undefined, bearer(t.clinicianB));
    assert.equal(other.status, 404, 'an organization the referral is not addressed to does not see it');
  });

  test('moves the state machine or the sides do not allow are refused, naming the element', async () => {
    const cases: [Record<string, string>, Partial<Task>, string][] = [
      [systemC, { status: 'completed' }, 'Task.status'],
      [systemA, { status: 'accepted' }, 'Task.status'],
      [systemC, { owner: { reference: `Organization/${ORG.B}` } }, 'Task.owner'],
      [systemC, { for: { reference: `Patient/${PATIENT.p2}` } }, 'Task.for'],
    ];
    for (const [as, change, path] of cases) {
      const reply = await move(as, change);
      assert.equal(reply.status, 403, `${JSON.stringify(change)}: ${reply.text}`);
      assert.deepEqual(reply.body.issue[0].expression, [path]);
    }
    const stranger = await server.fhir('POST', 'Task', { ...task, id: undefined, status: 'requested', requester: { reference: `Organization/${ORG.B}` } }, bearer(t.clinicianA));
    assert.equal(stranger.status, 403, 'A cannot send a referral in B\'s name');
  });

  test('received, then accepted: the record opens to the receiving organization; completed past the grace period, it closes', async () => {
    let reply = await move(systemC, { status: 'received' });
    assert.equal(reply.status, 200, reply.text);
    task = reply.body;
    assert.deepEqual(await reads(systemC), { patient: 404, observations: 0 });
    reply = await move(systemC, { status: 'accepted' });
    assert.equal(reply.status, 200, reply.text);
    task = reply.body;
    const open = await reads(systemC);
    assert.equal(open.patient, 200);
    assert.ok(open.observations > 0, 'P1\'s observations are readable');
    reply = await move(systemC, { status: 'in-progress' });
    task = reply.body;
    reply = await move(systemC, { status: 'completed', executionPeriod: { start: new Date(Date.now() - 20 * DAY).toISOString(), end: new Date(Date.now() - 15 * DAY).toISOString() } });
    assert.equal(reply.status, 200, reply.text);
    task = reply.body;
    assert.equal((await reads(systemC)).patient, 404, 'fourteen days after completion the access has ended');
    const again = await move(systemC, { status: 'in-progress' });
    assert.equal(again.status, 403, 'completed is final');
  });

  test('the requester cancels a referral not yet done; the owner can no longer take it', async () => {
    const sent = await server.fhir('POST', '', referralBundle(PATIENT.p1, new Date(Date.now() + DAY).toISOString()), systemA);
    assert.equal(sent.status, 200, sent.text);
    const second: Task & { id: string } = (await server.fhir('GET', sent.body.entry[1].response.location.split('/_history')[0], undefined, systemA)).body;
    const cancelled = await server.fhir('PUT', `Task/${second.id}`, { ...second, status: 'cancelled' }, systemA);
    assert.equal(cancelled.status, 200, cancelled.text);
    const accepted = await server.fhir('PUT', `Task/${second.id}`, { ...cancelled.body, status: 'accepted' }, systemC);
    assert.equal(accepted.status, 403, accepted.text);
  });

  test("a patient's Consent denying the receiving organization hides referrals to it too", async () => {
    const consent = await server.fhir('POST', 'Consent', denyOrganizationConsent('deny-c', PATIENT.p1, ORG.C), bearer(t.citizenP1));
    assert.ok(consent.status === 201 || consent.status === 200, consent.text);
    const list = await server.fhir('GET', `Task?owner=Organization/${ORG.C}`, undefined, systemC);
    assert.deepEqual(entryRefs(list.body).filter((r) => r === `Task/${task.id}`), []);
  });
});
