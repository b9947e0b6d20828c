import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import smart from 'fhirclient';
import { addClient } from '../../src/access/clients.js';
import { addUser } from '../../src/access/users.js';
import { Browser, REDIRECT_URI, form, formAction, offeredScopes, startAuthServer, type AuthServer } from './harness.js';

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

/** The standalone launch driven by the reference SMART client library (fhirclient, Node adapter). */
describe('standalone launch with the fhirclient library', () => {
  let server: AuthServer;
  before(async () => {
    server = await startAuthServer();
    await addClient(server.db, { client_id: 'fhirclient-app', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' });
    await addUser(server.db, { username: 'arman', password: 'arman-password', role: 'citizen', fhirUser: 'Patient/p-9' });
  });
  after(() => server.close());

  it('discovers the server, authorizes with PKCE and receives the patient context', async () => {
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
    const authorizeUrl = launch.location();
    assert.ok(authorizeUrl?.startsWith(`${server.issuer}/authorize`), authorizeUrl);
    assert.equal(new URL(authorizeUrl!).searchParams.get('code_challenge_method'), 'S256');

    const browser = new Browser();
    let step = await browser.follow(await browser.fetch(authorizeUrl!), REDIRECT_URI);
    const login = await step.response.text();
    step = await browser.follow(await browser.fetch(new URL(formAction(login), server.origin).toString(), form({ username: 'arman', password: 'arman-password' })), REDIRECT_URI);
    const consent = await step.response.text();
    step = await browser.follow(
      await browser.fetch(new URL(formAction(consent), server.origin).toString(), form({ decision: 'allow', scope: offeredScopes(consent) })),
      REDIRECT_URI,
    );
    assert.ok(step.url.startsWith(REDIRECT_URI), step.url);

    const callback = exchange(step.url);
    const client = await smart(callback.request, callback.response, storage).ready();
    assert.equal(client.patient.id, 'p-9');
    assert.equal(client.getFhirUser(), 'Patient/p-9');
    assert.equal(client.getIdToken()?.fhirUser, `${server.fhirBase}/Patient/p-9`);
    const claims = await server.plugin.verifyAccessToken(client.state.tokenResponse!.access_token!);
    assert.equal(claims.patient, 'p-9');
  });
});
