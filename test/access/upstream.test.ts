import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Provider from 'oidc-provider';
import { addClient } from '../../src/access/clients.js';
import { addUser } from '../../src/access/users.js';
import { Browser, REDIRECT_URI, form, freePort, pkce, startAuthServer, tokenRequest, type AuthServer } from './harness.js';
import { testDrivers } from '../support/database.js';

/**
 * Sign-in through an upstream OpenID provider. The upstream here is a second oidc-provider on
 * another loopback address (its own cookies, as a separate host would have), with its
 * development sign-in pages: any login name signs in as that subject.
 */
for (const driver of testDrivers()) describe(`upstream OpenID Connect sign-in (eGov ID stand-in) (${driver.name})`, { skip: driver.skip }, () => {
  let upstreamServer: Server;
  let server: AuthServer;
  let upstreamIssuer: string;

  before(async () => {
    const port = await freePort();
    upstreamIssuer = `http://127.0.0.2:${port}`;
    const mainPort = await freePort();
    const upstream = new Provider(upstreamIssuer, {
      clients: [
        {
          client_id: 'densaulyq',
          client_secret: 'upstream-secret-for-tests',
          redirect_uris: [`http://127.0.0.1:${mainPort}/auth/upstream/callback`],
        },
      ],
      cookies: { keys: ['upstream-cookie-key'] },
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => true, methods: ['S256'] },
      findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    });
    upstreamServer = createServer(upstream.callback());
    await new Promise<void>((resolve) => upstreamServer.listen(port, '127.0.0.2', resolve));

    server = await startAuthServer(driver, {
      upstream: { issuer: upstreamIssuer, clientId: 'densaulyq', clientSecret: 'upstream-secret-for-tests' },
      port: mainPort,
    });
    await addClient(server.db, { client_id: 'citizen-app', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' });
    await addUser(server.db, { username: 'dana', role: 'citizen', fhirUser: 'Patient/p-42', upstreamSubject: 'egov-880101300123' });
  });
  after(async () => {
    await server.close();
    await new Promise((resolve) => upstreamServer.close(resolve));
  });

  async function signInUpstream(subject: string): Promise<{ browser: Browser; verifier: string; response: Response; url: string }> {
    const browser = new Browser('ru');
    const { verifier, challenge } = pkce();
    const url = new URL(`${server.issuer}/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'citizen-app',
      redirect_uri: REDIRECT_URI,
      scope: 'openid fhirUser launch/patient patient/*.rs',
      aud: server.fhirBase,
      state: 'xyz',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    let step = await browser.follow(await browser.fetch(url.toString()), REDIRECT_URI);
    const loginPage = await step.response.text();
    const link = /href="([^"]*\/upstream)"/.exec(loginPage);
    assert.ok(link, 'the sign-in page offers eGov ID');
    assert.match(loginPage, /Войти через eGov ID/);

    // Our server sends the browser to the upstream; sign in and consent there.
    step = await browser.follow(await browser.fetch(new URL(link[1]!, server.origin).toString()), REDIRECT_URI);
    assert.ok(step.url.startsWith(upstreamIssuer), step.url);
    step = await browser.follow(await browser.fetch(step.url, form({ prompt: 'login', login: subject, password: 'any' })), REDIRECT_URI);
    if (step.url.startsWith(upstreamIssuer) && step.response.status === 200) {
      step = await browser.follow(await browser.fetch(step.url, form({ prompt: 'consent' })), REDIRECT_URI);
    }
    return { browser, verifier, ...step };
  }

  it('maps the upstream subject to the linked account and completes the SMART flow', async () => {
    const step = await signInUpstream('egov-880101300123');
    assert.equal(step.response.status, 200, await step.response.clone().text());
    const consent = await step.response.text();
    assert.match(consent, /name="decision"/);
    const scopes = [...consent.matchAll(/name="scope" value="([^"]*)"/g)].map((m) => m[1]!);
    const action = /<form method="post" action="([^"]+)"/.exec(consent)![1]!;
    const done = await step.browser.follow(await step.browser.fetch(new URL(action, server.origin).toString(), form({ decision: 'allow', scope: scopes })), REDIRECT_URI);
    const redirect = new URL(done.url);
    assert.equal(redirect.searchParams.get('state'), 'xyz');
    const { status, body } = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code: redirect.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      client_id: 'citizen-app',
      code_verifier: step.verifier,
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.patient, 'p-42');
    const claims = await server.plugin.verifyAccessToken(body.access_token);
    assert.equal(claims.fhirUser, 'Patient/p-42');
    assert.equal(claims.role, 'citizen');
  });

  it('refuses an upstream identity linked to no account', async () => {
    const step = await signInUpstream('egov-unknown-person');
    assert.equal(step.response.status, 403);
    assert.match(await step.response.text(), /не связана/);
  });

  it('refuses a callback with an unknown state', async () => {
    const response = await fetch(`${server.issuer}/upstream/callback?code=abc&state=forged`, { redirect: 'manual' });
    assert.equal(response.status, 400);
  });
});
