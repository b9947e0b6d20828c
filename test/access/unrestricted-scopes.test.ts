import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addUser } from '../../src/access/users.js';
import { type TestServer, startTestServer } from '../support/server.js';
import { testDrivers } from '../support/database.js';

/** Clinical access lifts the care-relationship rules, not the scopes the token was granted. */
for (const driver of testDrivers()) describe(`an administrator with clinical access is still bound by their token scopes (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let headers: Record<string, string>;
  before(async () => {
    server = await startTestServer(driver);
    await server.fhir('PUT', 'Patient/p-scoped', { resourceType: 'Patient', id: 'p-scoped' });
    await server.fhir('PUT', 'Observation/o-scoped', { resourceType: 'Observation', id: 'o-scoped', status: 'final', code: { text: 'Pulse' }, subject: { reference: 'Patient/p-scoped' } });
    const officer = await addUser(server.db, { username: 'privacy-officer', role: 'administrator', clinicalAccess: true });
    headers = { authorization: `Bearer ${await server.token({ sub: officer.id, scope: 'user/Observation.rs', role: 'administrator' })}` };
  });
  after(() => server.close());

  test('reads and searches the granted type', async () => {
    assert.equal((await server.fhir('GET', 'Observation/o-scoped', undefined, headers)).status, 200);
    assert.equal((await server.fhir('GET', 'Patient/p-scoped', undefined, headers)).status, 403);
  });

  test('includes, chains and system history bring no other type', async () => {
    const included = await server.fhir('GET', 'Observation?_include=Observation:subject', undefined, headers);
    assert.deepEqual(included.body.entry.map((e: any) => e.resource.resourceType), ['Observation']);
    const chained = await server.fhir('GET', 'Observation?subject:Patient._id=p-scoped', undefined, headers);
    assert.equal(chained.body.entry?.length ?? 0, 0, 'a chain through a type the scopes do not open matches nothing');
    const history = await server.fhir('GET', '_history', undefined, headers);
    assert.deepEqual([...new Set(history.body.entry.map((e: any) => e.resource?.resourceType))], ['Observation']);
  });
});
