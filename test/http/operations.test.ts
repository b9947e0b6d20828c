import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createAccessTokenVerifier, mintAccessToken } from '../../src/access/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { testDrivers } from '../support/database.js';
import { TEST_AUDIENCE, TEST_ISSUER, type TestServer, startTestServer } from '../support/server.js';
import { patientProfile } from '../support/profiles.js';

for (const driver of testDrivers()) describe(`operations: $validate, health, logs, shutdown (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  test('$validate at type level reports issues with element paths, and passes a valid resource', async () => {
    const bad = await server.fhir('POST', 'Patient/$validate', { resourceType: 'Patient', birthDate: '1985-02-30x', gender: 'nope' });
    assert.equal(bad.status, 200);
    assert.equal(bad.body.resourceType, 'OperationOutcome');
    const paths = bad.body.issue.flatMap((i: any) => i.expression ?? []);
    assert.ok(paths.includes('Patient.birthDate'), JSON.stringify(paths));
    assert.ok(paths.includes('Patient.gender'), JSON.stringify(paths));
    const good = await server.fhir('POST', 'Patient/$validate', {
      resourceType: 'Parameters',
      parameter: [{ name: 'resource', resource: { resourceType: 'Patient', gender: 'female' } }],
    });
    assert.equal(good.status, 200);
    assert.ok(good.body.issue.every((i: any) => i.severity === 'information'));
  });

  test('$validate at instance level checks the stored resource; with a profile held by the server it applies it', async () => {
    const id = (await server.fhir('POST', 'Patient', { resourceType: 'Patient', gender: 'male' })).body.id;
    const instance = await server.fhir('GET', `Patient/${id}/$validate`);
    assert.equal(instance.status, 200);
    assert.ok(instance.body.issue.every((i: any) => i.severity === 'information'));
    const profile = patientProfile('http://densaulyq.kz/fhir/StructureDefinition/patient-with-birthdate', 'PatientWithBirthDate', {
      snapshot: [
        { id: 'Patient', path: 'Patient', definition: 'A patient', min: 0, max: '*', base: { path: 'Patient', min: 0, max: '*' } },
        { id: 'Patient.birthDate', path: 'Patient.birthDate', definition: 'Required here', min: 1, max: '1', base: { path: 'Patient.birthDate', min: 0, max: '1' }, type: [{ code: 'date' }] },
      ],
    });
    const stored = await server.fhir('POST', 'StructureDefinition', profile);
    assert.equal(stored.status, 201, stored.text);
    const withProfile = await server.fhir('POST', `Patient/$validate?profile=${encodeURIComponent(profile.url)}`, { resourceType: 'Patient', gender: 'male' });
    assert.equal(withProfile.status, 200);
    assert.ok(withProfile.body.issue.some((i: any) => i.severity === 'error' && JSON.stringify(i.expression ?? []).includes('birthDate')), JSON.stringify(withProfile.body));
    const unknownProfile = await server.fhir('POST', `Patient/$validate?profile=http://example.org/none`, { resourceType: 'Patient' });
    assert.equal(unknownProfile.status, 400);
  });

  test('/healthz answers when the database does', async () => {
    const response = await fetch(server.base.replace('/fhir', '/healthz'));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  test('logs carry method, route and status, never resource contents or query values', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const db = await driver.open();
    const verifyToken = createAccessTokenVerifier({ db, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
    const app = await buildApp({ db, config: { bodyLimit: 1 << 20, maxBundleEntries: 100 }, logger: pino({ level: 'info' }, sink), verifyToken });
    try {
      const secret = 'Құпияжан';
      const { access_token } = await mintAccessToken(db, { sub: 'platform-test', client_id: 'test-app', scope: 'system/*.cruds', role: 'system', organization: 'org-log' }, {
        issuer: TEST_ISSUER,
        fhirBaseUrl: TEST_AUDIENCE,
      });
      const headers = { 'content-type': 'application/fhir+json', authorization: `Bearer ${access_token}` };
      await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: JSON.stringify({ resourceType: 'Patient', name: [{ family: secret }] }) });
      await app.inject({ method: 'GET', url: `/fhir/Patient?family=${encodeURIComponent(secret)}`, headers });
      await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: `{"resourceType":"Patient","name":[{"family":"${secret}"}],` });
      assert.ok(!lines.join('').includes(access_token), 'no token in the log');
      const log = lines.join('');
      assert.ok(lines.length >= 3, 'each request is logged');
      assert.ok(!log.includes(secret) && !log.includes(encodeURIComponent(secret)), log);
      assert.match(log, /"route":"\/fhir\/\*"/);
      assert.match(log, /"status":201/);
    } finally {
      await app.close();
      await db.close();
    }
  });

  test('graceful shutdown: every write acknowledged before the stop is stored', async () => {
    const local = await startTestServer(driver);
    const acknowledged: string[] = [];
    let firstAcknowledged: () => void;
    const oneAcknowledged = new Promise<void>((resolve) => (firstAcknowledged = resolve));
    const writes = Array.from({ length: 40 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 3));
      try {
        const reply = await local.fhir('POST', 'Basic', { resourceType: 'Basic', code: { text: `shutdown ${i}` } });
        if (reply.status === 201) {
          acknowledged.push(reply.body.id);
          firstAcknowledged();
        }
      } catch {
        // refused after the server closed: not acknowledged, so not expected to be stored
      }
    });
    await oneAcknowledged;
    await local.app.close();
    await Promise.all(writes);
    const rows = await local.db.query<{ id: string }>(`SELECT id FROM resource WHERE resource_type = 'Basic'`);
    await local.db.close();
    const stored = new Set(rows.map((r) => r.id));
    assert.ok(acknowledged.length > 0);
    for (const id of acknowledged) assert.ok(stored.has(id), `acknowledged ${id} is stored`);
  });
});
