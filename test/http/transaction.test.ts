import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const IIN = 'http://densaulyq.kz/fhir/sid/iin';

async function count(server: TestServer, where = 'true'): Promise<number> {
  const rows = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource WHERE ${where}`);
  return Number(rows[0]!.n);
}

for (const driver of testDrivers()) describe(`batch and transaction Bundles (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  test('a transaction resolves urn:uuid references to the ids it assigns and answers in entry order', async () => {
    const patientUrn = 'urn:uuid:0b7f7d52-5c1e-4a0e-9e4f-2a9b8c3d4e5f';
    const encounterUrn = 'urn:uuid:1c8e8e63-6d2f-4b1f-8f50-3bac9d4e5f60';
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: encounterUrn,
          resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: patientUrn } },
          request: { method: 'POST', url: 'Encounter' },
        },
        {
          fullUrl: 'urn:uuid:2d9f9f74-7e30-4c20-9061-4cbdae5f6071',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
            subject: { reference: patientUrn },
            encounter: { reference: encounterUrn },
          },
          request: { method: 'POST', url: 'Observation' },
        },
        { fullUrl: patientUrn, resource: { resourceType: 'Patient', name: [{ family: 'Жұмабаев' }] }, request: { method: 'POST', url: 'Patient' } },
      ],
    };
    const reply = await server.fhir('POST', '', bundle);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.type, 'transaction-response');
    const [encounter, observation, patient] = reply.body.entry;
    assert.equal(patient.response.status, '201 Created');
    assert.equal(patient.resource.resourceType, 'Patient');
    assert.equal(encounter.resource.subject.reference, `Patient/${patient.resource.id}`);
    assert.equal(observation.resource.encounter.reference, `Encounter/${encounter.resource.id}`);
    assert.match(observation.response.location, /^Observation\/[^/]+\/_history\/1$/);
    const stored = await server.fhir('GET', `Observation/${observation.resource.id}`);
    assert.equal(stored.body.subject.reference, `Patient/${patient.resource.id}`);
    const rows = await server.db.query<{ compartment: string }>(`SELECT compartment FROM resource WHERE resource_type = 'Observation' AND id = $1`, [observation.resource.id]);
    assert.equal(rows[0]!.compartment, patient.resource.id, 'the patient-compartment key is set from the resolved reference');
  });

  test('a transaction is all or nothing: one invalid entry stores none of it and names the entry', async () => {
    const before = await count(server);
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: 'Бірінші' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', birthDate: 'not-a-date' }, request: { method: 'POST', url: 'Patient' } },
      ],
    };
    const reply = await server.fhir('POST', '', bundle);
    assert.ok(reply.status >= 400 && reply.status < 500, String(reply.status));
    assert.equal(reply.body.resourceType, 'OperationOutcome');
    assert.ok(reply.body.issue.some((i: any) => i.expression?.includes('Bundle.entry[1].resource.birthDate')), JSON.stringify(reply.body.issue));
    assert.equal(await count(server), before);
  });

  test('a transaction failing late (a 412 If-Match) rolls back the writes before it', async () => {
    const patient = (await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Ерлан' }] })).body;
    const before = await count(server);
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Organization', name: 'Емхана №1' }, request: { method: 'POST', url: 'Organization' } },
        { resource: { ...patient, gender: 'male' }, request: { method: 'PUT', url: `Patient/${patient.id}`, ifMatch: 'W/"7"' } },
      ],
    };
    const reply = await server.fhir('POST', '', bundle);
    assert.equal(reply.status, 412);
    assert.equal(await count(server), before);
    assert.equal((await server.fhir('GET', `Patient/${patient.id}`)).body.meta.versionId, '1');
  });

  test('entries run in the spec order DELETE, POST, PUT, GET whatever their order in the Bundle', async () => {
    const doomed = (await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Жойылатын' }] })).body;
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Patient/${doomed.id}` } },
        { resource: { resourceType: 'Patient', id: 'tx-put-1', name: [{ family: 'Қойылған' }] }, request: { method: 'PUT', url: 'Patient/tx-put-1' } },
        { request: { method: 'DELETE', url: `Patient/${doomed.id}` } },
      ],
    };
    const reply = await server.fhir('POST', '', bundle);
    assert.equal(reply.status, 410, 'the GET ran after the DELETE, so it found the resource gone and failed the transaction');
    assert.equal((await server.fhir('GET', `Patient/${doomed.id}`)).status, 200, 'and the delete was rolled back');
    const ok = await server.fhir('POST', '', { ...bundle, entry: bundle.entry.slice(1) });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.entry[0].response.status, '201 Created');
    assert.equal(ok.body.entry[1].response.status, '204 No Content');
  });

  test('conditional creates and conditional references resolve inside a transaction', async () => {
    await server.fhir('POST', 'Organization', { resourceType: 'Organization', identifier: [{ system: 'urn:oid:1.2.398', value: 'ORG-1' }], name: 'Облыстық аурухана' });
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:3ea0a085-8f41-4d31-a172-5dcebf607182',
          resource: { resourceType: 'Patient', identifier: [{ system: IIN, value: '010101500003' }], managingOrganization: { reference: 'Organization?identifier=urn:oid:1.2.398|ORG-1' } },
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${IIN}|010101500003` },
        },
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'BP' }, subject: { reference: 'urn:uuid:3ea0a085-8f41-4d31-a172-5dcebf607182' } },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const first = await server.fhir('POST', '', bundle);
    assert.equal(first.status, 200);
    const patientId = first.body.entry[0].resource.id;
    assert.match(first.body.entry[0].resource.managingOrganization.reference, /^Organization\/.+/);
    const second = await server.fhir('POST', '', bundle);
    assert.equal(second.body.entry[0].response.status, '200 OK', 'the conditional create found the patient');
    assert.equal(second.body.entry[1].resource.subject.reference, `Patient/${patientId}`, 'and the reference points at the existing one');
    const dangling = structuredClone(bundle);
    dangling.entry[0]!.resource.managingOrganization = { reference: 'Organization?identifier=urn:oid:1.2.398|NOPE' };
    dangling.entry[0]!.request.ifNoneExist = `identifier=${IIN}|020202600000`;
    const failed = await server.fhir('POST', '', dangling);
    assert.equal(failed.status, 400);
    assert.ok(failed.body.issue[0].expression[0].startsWith('Bundle.entry[0]'));
  });

  test('a batch runs each entry on its own: failures are reported per entry, the rest is stored', async () => {
    const reply = await server.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: 'Жақсы' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Patient', gender: 'invalid-code' }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/nope' } },
      ],
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.type, 'batch-response');
    const [ok, invalid, missing] = reply.body.entry;
    assert.equal(ok.response.status, '201 Created');
    assert.match(invalid.response.status, /^4/);
    assert.equal(invalid.response.outcome.resourceType, 'OperationOutcome');
    assert.equal(missing.response.status, '404');
    assert.equal((await server.fhir('GET', `Patient/${ok.resource.id}`)).status, 200);
  });

  test('a transaction of 500 entries commits', async () => {
    const entry = Array.from({ length: 500 }, (_, i) => ({
      fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resource: i === 0
        ? { resourceType: 'Patient', name: [{ family: 'Көп' }] }
        : { resourceType: 'Observation', status: 'final', code: { text: `obs ${i}` }, subject: { reference: 'urn:uuid:00000000-0000-4000-8000-000000000000' } },
      request: { method: 'POST', url: i === 0 ? 'Patient' : 'Observation' },
    }));
    const reply = await server.fhir('POST', '', { resourceType: 'Bundle', type: 'transaction', entry });
    assert.equal(reply.status, 200);
    const patientId = reply.body.entry[0].resource.id;
    assert.equal(await count(server, `compartment = '${patientId}'`), 500);
  });

  test('PATCH with JSON Patch, also inside a transaction as a Binary', async () => {
    const id = (await server.fhir('POST', 'Patient', { resourceType: 'Patient', gender: 'male' })).body.id;
    const patched = await server.fhir('PATCH', `Patient/${id}`, [{ op: 'replace', path: '/gender', value: 'female' }], { 'content-type': 'application/json-patch+json' });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.gender, 'female');
    assert.equal(patched.body.meta.versionId, '2');
    const invalid = await server.fhir('PATCH', `Patient/${id}`, [{ op: 'replace', path: '/gender', value: 'nonsense' }], { 'content-type': 'application/json-patch+json' });
    assert.equal(invalid.status, 422);
    const stale = await server.fhir('PATCH', `Patient/${id}`, [{ op: 'remove', path: '/gender' }], { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' });
    assert.equal(stale.status, 412);
    const data = Buffer.from(JSON.stringify([{ op: 'add', path: '/birthDate', value: '2001-02-03' }])).toString('base64');
    const tx = await server.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data }, request: { method: 'PATCH', url: `Patient/${id}` } }],
    });
    assert.equal(tx.status, 200);
    assert.equal((await server.fhir('GET', `Patient/${id}`)).body.birthDate, '2001-02-03');
  });
});
