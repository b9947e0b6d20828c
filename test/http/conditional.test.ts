import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

// A polyclinic's own record numbers: several Patients may share one, as the 412 cases need.
const MRN = 'urn:oid:1.2.398.7.1.9.1.2';
const patient = (iin: string, extra: object = {}) => ({
  resourceType: 'Patient',
  identifier: [{ system: MRN, value: iin }],
  name: [{ family: 'Сейткали', given: ['Айгерім'] }],
  ...extra,
});

for (const driver of testDrivers()) describe(`conditional interactions (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  test('conditional create: none matches → 201, one matches → 200 with it, several → 412', async () => {
    const criteria = { 'if-none-exist': `identifier=${MRN}|900101300007` };
    const first = await server.fhir('POST', 'Patient', patient('900101300007'), criteria);
    assert.equal(first.status, 201);
    const second = await server.fhir('POST', 'Patient', patient('900101300007'), criteria);
    assert.equal(second.status, 200);
    assert.equal(second.body.id, first.body.id);
    await server.fhir('POST', 'Patient', patient('900101300007'));
    const third = await server.fhir('POST', 'Patient', patient('900101300007'), criteria);
    assert.equal(third.status, 412);
    assert.equal(third.body.resourceType, 'OperationOutcome');
  });

  test('16 clients racing the same conditional create make exactly one resource', async () => {
    const iin = '850505400008';
    const replies = await Promise.all(
      Array.from({ length: 16 }, () => server.fhir('POST', 'Patient', patient(iin), { 'if-none-exist': `identifier=${MRN}|${iin}` })),
    );
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    assert.equal(new Set(replies.map((r) => r.body.id)).size, 1);
    const search = await server.fhir('GET', `Patient?identifier=${MRN}|${iin}&_total=accurate`);
    assert.equal(search.body.total, 1);
  });

  test('16 clients racing the same conditional update make one resource and 16 versions', async () => {
    const iin = '920202500002';
    const replies = await Promise.all(Array.from({ length: 16 }, () => server.fhir('PUT', `Patient?identifier=${MRN}|${iin}`, patient(iin))));
    assert.equal(replies.filter((r) => r.status === 201).length, 1);
    assert.equal(replies.filter((r) => r.status === 200).length, 15);
    const ids = new Set(replies.map((r) => r.body.id));
    assert.equal(ids.size, 1);
    const history = await server.fhir('GET', `Patient/${[...ids][0]}/_history?_count=100`);
    assert.equal(history.body.entry.length, 16);
  });

  test('conditional update: one match updates it; a body id that differs is a 400; several matches are 412', async () => {
    const created = (await server.fhir('POST', 'Patient', patient('800303400000'))).body;
    const updated = await server.fhir('PUT', `Patient?identifier=${MRN}|800303400000`, patient('800303400000', { gender: 'female' }));
    assert.equal(updated.status, 200);
    assert.equal(updated.body.id, created.id);
    assert.equal(updated.body.gender, 'female');
    const mismatch = await server.fhir('PUT', `Patient?identifier=${MRN}|800303400000`, patient('800303400000', { id: 'other-id' }));
    assert.equal(mismatch.status, 400);
    await server.fhir('POST', 'Patient', patient('800303400000'));
    assert.equal((await server.fhir('PUT', `Patient?identifier=${MRN}|800303400000`, patient('800303400000'))).status, 412);
  });

  test('conditional update with no match and a client id creates that id', async () => {
    const reply = await server.fhir('PUT', `Patient?identifier=${MRN}|700404300002`, patient('700404300002', { id: 'chosen-by-client' }));
    assert.equal(reply.status, 201);
    assert.equal(reply.body.id, 'chosen-by-client');
  });

  test('conditional delete: one match deletes it, none is a no-op, several are 412', async () => {
    const created = (await server.fhir('POST', 'Patient', patient('600505300000'))).body;
    assert.equal((await server.fhir('DELETE', `Patient?identifier=${MRN}|600505300000`)).status, 204);
    assert.equal((await server.fhir('GET', `Patient/${created.id}`)).status, 410);
    assert.equal((await server.fhir('DELETE', `Patient?identifier=${MRN}|600505300000`)).status, 204);
    await server.fhir('POST', 'Patient', patient('600505300010'));
    await server.fhir('POST', 'Patient', patient('600505300010'));
    assert.equal((await server.fhir('DELETE', `Patient?identifier=${MRN}|600505300010`)).status, 412);
  });

  test('conditional operations with unknown parameters are refused, not treated as "match all"', async () => {
    const reply = await server.fhir('POST', 'Patient', patient('500606300009'), { 'if-none-exist': 'no-such-param=1' });
    assert.equal(reply.status, 400);
    assert.equal((await server.fhir('DELETE', `Patient?no-such-param=1`)).status, 400);
  });
});
