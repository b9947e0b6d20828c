import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import smart from 'fhirclient';
import { addClient } from '../../src/access/clients.js';
import { seedingAccess } from '../../src/access/door.js';
import { Repository } from '../../src/store/repository.js';
import { addUser } from '../../src/access/users.js';
import { Browser, REDIRECT_URI, form, formAction, offeredScopes, startAuthServer, type AuthServer } from './harness.js';
import { testDrivers } from '../support/database.js';

/** A request and response pair as fhirclient's Node adapter sees them, at the app's own URL. */
function exchange(url: string): { request: IncomingMessage; response: ServerResponse; location: () => string | undefined } {
  const target = new URL(url);
  let location: string | undefined;
  const request = { headers: { host: target.host }, url: `${target.pathname}${target.search}`, socket: {} } as unknown as IncomingMessage;
  const response = {
    writeHead(_status: number, headers: Record<string, string>) {
      location = headers.location ?? headers.Location;
    },
    end() {},
  } as unknown as ServerResponse;
  return { request, response, location: () => location };
}

/**
 * A standalone launch as the reference SMART client library drives it (fhirclient, Node adapter):
 * discovery, authorize with PKCE, sign-in and consent pages, then `ready()` at the callback.
 * Returns the client and the authorize URL it sent the browser to.
 */
async function launchStandalone(server: AuthServer, username: string, password: string) {
  const values = new Map<string, unknown>();
  const storage = {
    get: async (key: string) => values.get(key),
    set: async (key: string, value: unknown) => {
      values.set(key, value);
      return value;
    },
    unset: async (key: string) => values.delete(key),
  };
  const launch = exchange('http://127.0.0.1:1/launch');
  await smart(launch.request, launch.response, storage).authorize({
    iss: server.fhirBase,
    clientId: 'fhirclient-app',
    scope: 'openid fhirUser launch/patient patient/*.rs',
    redirectUri: REDIRECT_URI,
    pkceMode: 'required',
  });
  const authorizeUrl = launch.location()!;
  const browser = new Browser();
  let step = await browser.follow(await browser.fetch(authorizeUrl), REDIRECT_URI);
  const login = await step.response.text();
  step = await browser.follow(await browser.fetch(new URL(formAction(login), server.origin).toString(), form({ username, password })), REDIRECT_URI);
  const consent = await step.response.text();
  step = await browser.follow(
    await browser.fetch(new URL(formAction(consent), server.origin).toString(), form({ decision: 'allow', scope: offeredScopes(consent) })),
    REDIRECT_URI,
  );
  assert.ok(step.url.startsWith(REDIRECT_URI), step.url);
  const callback = exchange(step.url);
  return { client: await smart(callback.request, callback.response, storage).ready(), authorizeUrl };
}

/** The standalone launch driven by the reference SMART client library (fhirclient, Node adapter). */
for (const driver of testDrivers()) describe(`standalone launch with the fhirclient library (${driver.name})`, { skip: driver.skip }, () => {
  let server: AuthServer;
  before(async () => {
    server = await startAuthServer(driver);
    await addClient(server.db, { client_id: 'fhirclient-app', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' });
    await addUser(server.db, { username: 'arman', password: 'arman-password', role: 'citizen', fhirUser: 'Patient/p-9' });
  });
  after(() => server.close());

  it('discovers the server, authorizes with PKCE and receives the patient context', async () => {
    const { client, authorizeUrl } = await launchStandalone(server, 'arman', 'arman-password');
    assert.ok(authorizeUrl.startsWith(`${server.issuer}/authorize`), authorizeUrl);
    assert.equal(new URL(authorizeUrl).searchParams.get('code_challenge_method'), 'S256');
    assert.equal(client.patient.id, 'p-9');
    assert.equal(client.getFhirUser(), 'Patient/p-9');
    assert.equal(client.getIdToken()?.fhirUser, `${server.fhirBase}/Patient/p-9`);
    const claims = await server.plugin.verifyAccessToken(client.state.tokenResponse!.access_token!);
    assert.equal(claims.patient, 'p-9');
  });
});

/**
 * End to end through the one door: the fhirclient library launches standalone against the
 * whole server (sign-in and FHIR API on one port), then reads with the token it received — the
 * patient's own data comes back, another patient's does not, and both reads are audited.
 */
for (const driver of testDrivers()) describe(`a SMART app reads through the one door with the token fhirclient obtained (${driver.name})`, { skip: driver.skip }, () => {
  let server: AuthServer;
  before(async () => {
    server = await startAuthServer(driver, { withFhirApi: true });
    await addClient(server.db, { client_id: 'fhirclient-app', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' });
    await addUser(server.db, { username: 'dana', password: 'dana-password', role: 'citizen', fhirUser: 'Patient/p-dana' });
    const repo = new Repository(server.db, seedingAccess());
    await repo.update({ resourceType: 'Patient', id: 'p-dana', birthDate: '1990-04-02' });
    await repo.update({ resourceType: 'Patient', id: 'p-other', birthDate: '1985-01-01' });
    for (const [id, patient] of [['o-dana', 'p-dana'], ['o-other', 'p-other']] as const) {
      await repo.update({ resourceType: 'Observation', id, status: 'final', code: { text: 'Glucose' }, subject: { reference: `Patient/${patient}` } });
    }
  });
  after(() => server.close());

  it('launches, then reads its own record and not another one', async () => {
    const { client } = await launchStandalone(server, 'dana', 'dana-password');
    assert.equal(client.patient.id, 'p-dana');

    const patient = (await client.patient.read()) as { id: string };
    assert.equal(patient.id, 'p-dana');
    const observations = (await client.request('Observation')) as { entry?: { resource: { id: string } }[] };
    assert.deepEqual(observations.entry?.map((e) => e.resource.id), ['o-dana']);
    await assert.rejects(client.request('Patient/p-other'), (error: { status?: number; statusCode?: number }) => (error.status ?? error.statusCode) === 404);
    await assert.rejects(client.request('Observation/o-other'), (error: { status?: number; statusCode?: number }) => (error.status ?? error.statusCode) === 404);

    const audited = await server.db.query<{ patient: string }>(`SELECT DISTINCT patient FROM audit_event`);
    assert.deepEqual(audited.map((r) => r.patient), ['p-dana'], 'only the reads that returned data are audited, for the patient they concern');
  });
});
