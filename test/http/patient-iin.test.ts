import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IIN_SYSTEM, buildIin } from '../../src/identity/iin.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const iin = (birthDate: string, sex: 'male' | 'female') => {
  for (let serial = 1; ; serial++) {
    const value = buildIin({ birthDate, sex, serial });
    if (value) return value;
  }
};
const patient = (value: string, extra: object = {}) => ({ resourceType: 'Patient', identifier: [{ system: IIN_SYSTEM, value }], ...extra });

for (const driver of testDrivers()) describe(`the IIN rules on every Patient write (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  const refused = (reply: { status: number; body: any }, text: RegExp, path = 'Patient.identifier[0].value') => {
    assert.equal(reply.status, 422, JSON.stringify(reply.body));
    assert.equal(reply.body.resourceType, 'OperationOutcome');
    const issue = reply.body.issue.find((i: any) => i.expression?.includes(path));
    assert.ok(issue, JSON.stringify(reply.body.issue));
    assert.match(issue.details.text, text);
  };

  test('a valid IIN agreeing with birth date and sex is accepted', async () => {
    const reply = await server.fhir('POST', 'Patient', patient(iin('1985-03-14', 'male'), { birthDate: '1985-03-14', gender: 'male' }));
    assert.equal(reply.status, 201, reply.text);
  });

  test('a wrong check digit, an impossible date or a bad century digit is a 422 naming the identifier', async () => {
    const valid = iin('1990-07-01', 'female');
    const wrongCheck = valid.slice(0, 11) + String((Number(valid[11]) + 1) % 10);
    refused(await server.fhir('POST', 'Patient', patient(wrongCheck)), /not a valid IIN/);
    refused(await server.fhir('POST', 'Patient', patient('901345400000')), /not a valid IIN/);
    refused(await server.fhir('POST', 'Patient', patient('900701900000')), /not a valid IIN/);
    refused(await server.fhir('POST', 'Patient', patient('12345')), /not a valid IIN/);
  });

  test('an IIN whose birth date or sex disagrees with the record is a 422', async () => {
    refused(await server.fhir('POST', 'Patient', patient(iin('1985-03-14', 'male'), { birthDate: '1985-03-15' })), /born 1985-03-14/);
    refused(await server.fhir('POST', 'Patient', patient(iin('1985-03-14', 'male'), { gender: 'female' })), /male/);
    const id = (await server.fhir('POST', 'Patient', patient(iin('2001-01-01', 'female'), { gender: 'female' }))).body.id;
    refused(await server.fhir('PUT', `Patient/${id}`, { ...patient(iin('2001-01-01', 'female')), id, gender: 'male' }), /male/, 'Patient.identifier[0].value');
  });

  test('in a transaction the bad IIN fails the whole Bundle and names its entry', async () => {
    const reply = await server.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient(iin('1970-02-02', 'male')), request: { method: 'POST', url: 'Patient' } },
        { resource: patient('700202300000'), request: { method: 'POST', url: 'Patient' } },
      ],
    });
    assert.equal(reply.status, 422);
    assert.ok(reply.body.issue.some((i: any) => i.expression?.includes('Bundle.entry[1].resource.identifier[0].value')), JSON.stringify(reply.body));
  });

  test('other identifier systems are not held to the IIN rules', async () => {
    const reply = await server.fhir('POST', 'Patient', { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.643.100.3', value: '112-233-445 95' }] });
    assert.equal(reply.status, 201);
  });
});

for (const driver of testDrivers()) describe(`one IIN, one active Patient (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  test('a second Patient with the same IIN is refused with a 409 naming the identifier; If-None-Exist returns the first', async () => {
    const value = iin('1988-08-08', 'female');
    const first = await server.fhir('POST', 'Patient', patient(value));
    assert.equal(first.status, 201);
    const second = await server.fhir('POST', 'Patient', patient(value, { gender: 'female' }));
    assert.equal(second.status, 409);
    assert.equal(second.body.issue[0].code, 'duplicate');
    assert.deepEqual(second.body.issue[0].expression, ['Patient.identifier[0].value']);
    assert.match(second.body.issue[0].details.text, new RegExp(`Patient/${first.body.id}`));
    const conditional = await server.fhir('POST', 'Patient', patient(value), { 'if-none-exist': `identifier=${IIN_SYSTEM}|${value}` });
    assert.equal(conditional.status, 200);
    assert.equal(conditional.body.id, first.body.id);
    const updated = await server.fhir('PUT', `Patient/${first.body.id}`, { ...patient(value), id: first.body.id, gender: 'female' });
    assert.equal(updated.status, 200, 'the holder itself may be updated');
  });

  test('16 clients racing to register one IIN make exactly one Patient', async () => {
    const value = iin('1977-07-07', 'male');
    const replies = await Promise.all(Array.from({ length: 16 }, () => server.fhir('POST', 'Patient', patient(value))));
    assert.deepEqual(replies.map((r) => r.status).sort(), [201, ...Array(15).fill(409)]);
  });

  test('an inactive (merged away) Patient no longer holds its IIN', async () => {
    const value = iin('1966-06-06', 'male');
    const old = (await server.fhir('POST', 'Patient', patient(value))).body.id;
    await server.fhir('PUT', `Patient/${old}`, { ...patient(value), id: old, active: false });
    assert.equal((await server.fhir('POST', 'Patient', patient(value))).status, 201);
    assert.equal((await server.fhir('PUT', `Patient/${old}`, { ...patient(value), id: old, active: true })).status, 409, 'and cannot take it back');
  });

  test('a transaction registering a taken IIN fails whole, naming its entry', async () => {
    const value = iin('1955-05-05', 'female');
    await server.fhir('POST', 'Patient', patient(value));
    const reply = await server.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Organization', name: 'Емхана' }, request: { method: 'POST', url: 'Organization' } },
        { resource: patient(value), request: { method: 'POST', url: 'Patient' } },
      ],
    });
    assert.equal(reply.status, 409);
    assert.deepEqual(reply.body.issue[0].expression, ['Bundle.entry[1].resource.identifier[0].value']);
  });
});
