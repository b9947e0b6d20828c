/**
 * The citizen's side of self-declared care (issue 15, server item 2): the patient and their legal
 * representative list the care organizations declared about them (`Patient/[id]/$care-declarations`)
 * and dispute it (`$dispute-care`): the organization's access under it ends at once, the
 * declaration stays on the review list marked disputed, and the dispute is audited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Bundle, Parameters } from '@medplum/fhirtypes';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';
import { storedAuditEvents } from '../support/audit-events.js';
import { ORG, PATIENT, type Tokens, bearer, buildWorld, tokens } from './world.js';

for (const driver of testDrivers()) describe(`the patient lists and disputes self-declared care (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let tok: Tokens & Record<'orgAdminC' | 'citizenP2', string>;

  before(async () => {
    server = await startTestServer(driver);
    const base = await tokens(server);
    await buildWorld(server, base);
    tok = {
      ...base,
      orgAdminC: await server.token({ sub: 'dpo-c', client_id: 'admin-console', scope: 'user/*.rs', role: 'organization-administrator', organization: ORG.C }),
      citizenP2: await server.token({ sub: 'citizen-p2', client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: `Patient/${PATIENT.p2}` }),
    };
  });
  after(() => server?.close());

  type Who = keyof typeof tok;
  const as = (who: Who, method: string, path: string, body?: unknown) => server.fhir(method, path, body, bearer(tok[who]));
  const ok = (reply: FhirReply, expected = [200, 201]) => {
    assert.ok(expected.includes(reply.status), `${reply.status}: ${reply.text}`);
    return reply.body;
  };
  const part = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);
  const listed = async (who: Who, path: string) => ((ok(await as(who, 'GET', path)) as Bundle<Parameters>).entry ?? []).map((e) => e.resource!);
  const byEvidence = (rows: Parameters[], evidence: string) => rows.find((p) => part(p, 'evidence')?.valueReference?.reference === evidence);
  const dispute = (who: Who, patient: string, organization: string) =>
    as(who, 'POST', `Patient/${patient}/$dispute-care`, { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${organization}` } }] });
  const encounter = (patient: string) => ({
    resourceType: 'Encounter',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/${patient}` },
    serviceProvider: { reference: `Organization/${ORG.C}` },
  });

  test('declared → the citizen lists it → disputes → the clinician gets 404 → the review list shows it disputed', async () => {
    const created = ok(await as('clinicianC', 'POST', 'Encounter', encounter(PATIENT.p2)), [201]) as { id: string };
    const evidence = `Encounter/${created.id}`;
    assert.equal((await as('clinicianC', 'GET', `Patient/${PATIENT.p2}`)).status, 200, 'self-declared care opens the record');

    const mine = byEvidence(await listed('citizenP2', `Patient/${PATIENT.p2}/$care-declarations`), evidence);
    assert.ok(mine, 'the patient sees the declaration');
    assert.equal(part(mine, 'status')?.valueCode, 'open');
    assert.deepEqual(part(mine, 'organization')?.valueReference, { reference: `Organization/${ORG.C}`, display: 'Organization C' }, 'with the organization’s name');
    assert.match(part(mine, 'declared')?.valueInstant ?? '', /^\d{4}-\d\d-\d\dT/);

    const disputed = ok(await dispute('citizenP2', PATIENT.p2, ORG.C)) as Parameters;
    assert.equal(part(disputed, 'disputed')?.valueInteger, 1);
    assert.equal((await as('clinicianC', 'GET', `Patient/${PATIENT.p2}`)).status, 404, 'the access ends at once');
    assert.equal((await as('clinicianC', 'GET', evidence)).status, 404, 'its own Encounter too');

    const review = byEvidence(await listed('orgAdminC', '$care-declarations?status=disputed'), evidence);
    assert.ok(review, "it stays on the organization's review list");
    assert.equal(part(review, 'status')?.valueCode, 'disputed');
    assert.equal(part(review, 'disputedBy')?.valueString, `Patient/${PATIENT.p2}`);
    assert.ok(byEvidence(await listed('adminClinical', `$care-declarations?organization=${ORG.C}`), evidence), "and on the country's");
    assert.equal(byEvidence(await listed('orgAdminC', '$care-declarations?status=open'), evidence), undefined, 'no longer open');
    assert.equal(part(byEvidence(await listed('citizenP2', `Patient/${PATIENT.p2}/$care-declarations`), evidence)!, 'status')?.valueCode, 'disputed');

    const events = await storedAuditEvents(server.db, 'e.patient = $1', [PATIENT.p2]);
    const audited = events.filter((e: AuditEvent) => e.subtype?.some((s) => s.code === '$dispute-care'));
    assert.equal(audited.length, 1, 'the dispute is audited');
    assert.equal(audited[0]!.agent.find((a) => a.requestor)?.who?.identifier?.value, 'citizen-p2');
  });

  test('a parent lists and disputes for their child; strangers and organizations cannot', async () => {
    const created = ok(await as('clinicianC', 'POST', 'Encounter', encounter(PATIENT.k)), [201]) as { id: string };
    assert.ok(byEvidence(await listed('citizenP1', `Patient/${PATIENT.k}/$care-declarations`), `Encounter/${created.id}`), "P1 represents K");
    assert.equal((await as('citizenP3', 'GET', `Patient/${PATIENT.k}/$care-declarations`)).status, 404, 'another citizen');
    assert.equal((await dispute('citizenP3', PATIENT.k, ORG.C)).status, 404, 'another citizen cannot dispute');
    assert.equal((await as('clinicianC', 'GET', `Patient/${PATIENT.k}/$care-declarations`)).status, 403, 'the organization does not read the patient’s list');
    assert.equal((await dispute('clinicianC', PATIENT.k, ORG.C)).status, 403, 'nor dispute for the patient');
    assert.equal((await as('clinicianC', 'GET', `Patient/${PATIENT.k}`)).status, 200, 'nothing changed by the refusals');
    ok(await dispute('citizenP1', PATIENT.k, ORG.C));
    assert.equal((await as('clinicianC', 'GET', `Patient/${PATIENT.k}`)).status, 404);
  });

  test('a confirmed declaration disputed later ends too, and the organization cannot reopen it by updating its Encounter', async () => {
    const created = ok(await as('clinicianC', 'POST', 'Encounter', encounter(PATIENT.p4)), [201]) as { id: string };
    const citizenP4 = await server.token({ sub: 'citizen-p4', client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: `Patient/${PATIENT.p4}` });
    const asP4 = (method: string, path: string, body: unknown) => server.fhir(method, path, body, bearer(citizenP4));
    const organization = { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${ORG.C}` } }] };
    ok(await asP4('POST', `Patient/${PATIENT.p4}/$confirm-care`, organization));
    ok(await asP4('POST', `Patient/${PATIENT.p4}/$dispute-care`, organization));
    assert.equal((await as('clinicianC', 'GET', `Patient/${PATIENT.p4}`)).status, 404);
    const updated = { ...encounter(PATIENT.p4), id: created.id, reasonCode: [{ text: 'follow-up' }] };
    assert.equal((await as('clinicianC', 'PUT', `Encounter/${created.id}`, updated)).status, 404, 'C no longer sees its Encounter to change it');
    assert.equal((await as('clinicianC', 'GET', `Patient/${PATIENT.p4}`)).status, 404, 'still ended');
  });

  test('disputing what was not declared, or again, is a 404; bad input is a 400 with its path', async () => {
    assert.equal((await dispute('citizenP2', PATIENT.p2, ORG.B)).status, 404, 'B declared nothing');
    assert.equal((await dispute('citizenP2', PATIENT.p2, ORG.C)).status, 404, 'already disputed');
    const bad = await as('citizenP2', 'POST', `Patient/${PATIENT.p2}/$dispute-care`, { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: 'Patient/p2' } }] });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /organization/);
    assert.equal((await as('citizenP2', 'GET', `Patient/${PATIENT.p2}/$care-declarations?status=maybe`)).status, 400);
    assert.equal((await as('citizenP2', 'GET', `Patient/${PATIENT.p2}/$care-declarations?organization=x`)).status, 400);
  });

  test("an organization's attachment is not what a dispute ends", async () => {
    // P2 is attached to B: B's Encounter is verified care, nothing to dispute, and B keeps its access.
    ok(await as('clinicianB', 'POST', 'Encounter', { ...encounter(PATIENT.p2), serviceProvider: { reference: `Organization/${ORG.B}` } }), [201]);
    assert.equal((await dispute('citizenP2', PATIENT.p2, ORG.B)).status, 404);
    assert.equal((await as('clinicianB', 'GET', `Patient/${PATIENT.p2}`)).status, 200);
  });
});
