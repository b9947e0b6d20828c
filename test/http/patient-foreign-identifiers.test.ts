import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MOLDOVAN_IDNP_SYSTEM, SNILS_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const patient = (system: string, value: string) => ({ resourceType: 'Patient', identifier: [{ system, value }], name: [{ family: 'Popescu', given: ['Ion'] }] });

for (const driver of testDrivers()) describe(`foreign identifiers on Patient writes (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  test('a well-formed SNILS, IDNP or passport is accepted and found by search', async () => {
    assert.equal((await server.fhir('POST', 'Patient', patient(MOLDOVAN_IDNP_SYSTEM, '2003045123457'))).status, 201);
    assert.equal((await server.fhir('POST', 'Patient', patient('http://hl7.org/fhir/sid/passport-MDA', 'B01234567'))).status, 201);
    const created = await server.fhir('POST', 'Patient', patient(SNILS_SYSTEM, '11223344595'));
    assert.equal(created.status, 201, created.text);
    const found = await server.fhir('GET', `Patient?identifier=${encodeURIComponent(`${SNILS_SYSTEM}|11223344595`)}`);
    assert.deepEqual(found.body.entry.map((e: any) => e.resource.id), [created.body.id]);
  });

  test('a wrong check digit or format is a 422 naming Patient.identifier[i].value', async () => {
    for (const [system, value] of [
      [MOLDOVAN_IDNP_SYSTEM, '2003045123450'],
      [SNILS_SYSTEM, '112-233-445 95'],
      ['http://hl7.org/fhir/sid/passport-RUS', '75 1234567'],
    ] as const) {
      const reply = await server.fhir('POST', 'Patient', patient(system, value));
      assert.equal(reply.status, 422, reply.text);
      assert.deepEqual(reply.body.issue[0].expression, ['Patient.identifier[0].value']);
    }
  });

  test('a lifelong personal number belongs to one active Patient', async () => {
    await server.fhir('POST', 'Patient', patient(MOLDOVAN_IDNP_SYSTEM, '2000000000004'));
    const second = await server.fhir('POST', 'Patient', patient(MOLDOVAN_IDNP_SYSTEM, '2000000000004'));
    assert.equal(second.status, 409, second.text);
  });
});
