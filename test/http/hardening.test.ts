import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { addClient } from '../../src/access/clients.js';
import { authorizationServer } from '../../src/access/server.js';
import { addUser } from '../../src/access/users.js';
import { registerHardening, type HardeningSettings, type RateLimits } from '../../src/http/hardening.js';
import type { Database } from '../../src/store/driver.js';
import { REDIRECT_URI, authorize, freePort, tokenRequest, type AuthServer } from '../access/harness.js';
import { type TestDriver, testDrivers } from '../support/database.js';

const APP_ORIGIN = 'https://app.example.kz';
const CONFIGURED_ORIGIN = 'https://portal.example.kz';
const STRANGER = 'https://evil.example';
/** What the fake verifier accepts: token → OAuth client id. */
const TOKENS: Record<string, string> = { 'token-a': 'client-a', 'token-b': 'client-b' };

interface Running {
  url: string;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
}

// One database per driver for both suites: opening one costs more than all the tests here.
const databases = new Map<TestDriver['name'], Promise<Database>>();
const openOnce = (driver: TestDriver) => databases.get(driver.name) ?? databases.set(driver.name, driver.open()).get(driver.name)!;
after(() => Promise.all([...databases.values()].map(async (db) => (await db).close())));

for (const driver of testDrivers()) describe(`HTTP hardening (${driver.name})`, { skip: driver.skip }, () => {
  const running: FastifyInstance[] = [];
  let db: Database;

  before(async () => {
    db = await openOnce(driver);
    await addClient(db, { client_id: 'registered-app', redirect_uris: [`${APP_ORIGIN}/callback`, 'kz.example.app:/callback'], token_endpoint_auth_method: 'none' });
  });
  after(() => Promise.all(running.map((app) => app.close())));

  /** registerHardening first, then (as in buildApp) a token check and the routes. */
  async function start(settings: Partial<Omit<HardeningSettings, 'rateLimits'>> & { rateLimits?: Partial<RateLimits> } = {}): Promise<Running> {
    const app = Fastify();
    await registerHardening(app, {
      db,
      corsOrigins: [CONFIGURED_ORIGIN],
      ...settings,
      rateLimits: { perIp: 0, perClient: 0, login: 0, ...settings.rateLimits },
    });
    // Stands in for the bearer token check: only a known token yields a context. An app-level
    // preHandler added after the hardening is the latest such a check could run.
    app.addHook('preHandler', async (request) => {
      const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
      const clientId = token ? TOKENS[token] : undefined;
      if (clientId) request.accessContext = { role: 'system', subject: clientId, clientId, scopes: [], purposeOfUse: 'TREAT' };
    });
    app.route({ method: ['GET', 'PUT'], url: '/fhir/*', handler: async (_request, reply) => reply.type('application/fhir+json').send('{"resourceType":"Bundle","type":"searchset","total":0}') });
    app.get('/fhir/.well-known/smart-configuration', async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send({ issuer: 'x' }));
    app.post('/auth/token', async () => ({ access_token: 'x', token_type: 'Bearer' }));
    app.get('/auth/interaction/:uid', async (_request, reply) => reply.type('text/html').send('<form method="post"></form>'));
    app.post('/auth/interaction/:uid/login', async (_request, reply) => reply.type('text/html').send('<p>signed in</p>'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    running.push(app);
    const address = app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return { url, get: (path, headers = {}) => fetch(`${url}${path}`, { headers }) };
  }

  it('puts the security headers on every response, the pages getting their own CSP', async () => {
    const { url, get } = await start();
    const api = await get('/fhir/Patient');
    assert.equal(api.status, 200);
    assert.equal(api.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
    assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(api.headers.get('x-frame-options'), 'DENY');
    assert.equal(api.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(api.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");
    assert.equal(api.headers.get('cache-control'), 'no-store');

    const token = await fetch(`${url}/auth/token`, { method: 'POST' });
    assert.equal(token.headers.get('cache-control'), 'no-store');
    const page = await get('/auth/interaction/abc');
    assert.match(page.headers.get('content-security-policy')!, /style-src 'unsafe-inline'/);
    assert.match(page.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
    assert.doesNotMatch(page.headers.get('content-security-policy')!, /form-action/);

    const missing = await get('/nowhere');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-frame-options'), 'DENY');
    // A route that means to be cached says so, and wins.
    const discovery = await get('/fhir/.well-known/smart-configuration');
    assert.equal(discovery.headers.get('cache-control'), 'public, max-age=3600');
  });

  it('allows CORS for registered apps and configured origins only', async () => {
    const { get } = await start();
    const allowed = await get('/fhir/Patient', { origin: APP_ORIGIN });
    assert.equal(allowed.headers.get('access-control-allow-origin'), APP_ORIGIN);
    assert.match(allowed.headers.get('vary')!, /Origin/);
    for (const name of ['ETag', 'Location', 'Content-Location', 'Last-Modified']) assert.match(allowed.headers.get('access-control-expose-headers')!, new RegExp(name));
    assert.equal((await get('/fhir/Patient', { origin: CONFIGURED_ORIGIN })).headers.get('access-control-allow-origin'), CONFIGURED_ORIGIN);

    const refused = await get('/fhir/Patient', { origin: STRANGER });
    assert.equal(refused.status, 200, 'the request itself is served; the browser keeps the answer from the page');
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
    // A native app's custom-scheme redirect URI has no origin: "null" is never allowed.
    assert.equal((await get('/fhir/Patient', { origin: 'null' })).headers.get('access-control-allow-origin'), null);
  });

  it('answers preflights for the FHIR API and the token endpoint, for allowed origins only', async () => {
    const { url } = await start();
    const preflight = (path: string, origin: string, method = 'PUT') =>
      fetch(`${url}${path}`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type, prefer, if-match, if-none-exist, if-none-match' },
      });
    const fhir = await preflight('/fhir/Patient/p-1', APP_ORIGIN);
    assert.equal(fhir.status, 204);
    assert.equal(fhir.headers.get('access-control-allow-origin'), APP_ORIGIN);
    assert.match(fhir.headers.get('access-control-allow-methods')!, /PUT/);
    const allowedHeaders = fhir.headers.get('access-control-allow-headers')!.toLowerCase();
    for (const name of ['authorization', 'content-type', 'prefer', 'if-match', 'if-none-exist', 'if-none-match']) assert.ok(allowedHeaders.includes(name), name);
    assert.equal(fhir.headers.get('access-control-max-age'), '600');

    const token = await preflight('/auth/token', APP_ORIGIN, 'POST');
    assert.equal(token.status, 204);
    assert.equal(token.headers.get('access-control-allow-origin'), APP_ORIGIN);

    const stranger = await preflight('/fhir/Patient/p-1', STRANGER);
    assert.equal(stranger.headers.get('access-control-allow-origin'), null);
    assert.equal((await preflight('/auth/token', STRANGER, 'POST')).headers.get('access-control-allow-origin'), null);
  });

  it('sees a client registered at run time once the cached origins are older than their maximum age', async () => {
    const { get } = await start({ originsMaxAgeMs: 0 });
    const late = 'https://late.example.kz';
    assert.equal((await get('/fhir/Patient', { origin: late })).headers.get('access-control-allow-origin'), null);
    await addClient(db, { client_id: 'late-app', redirect_uris: [`${late}/cb`], token_endpoint_auth_method: 'none' });
    assert.equal((await get('/fhir/Patient', { origin: late })).headers.get('access-control-allow-origin'), late);
  });

  it('answers 429 with Retry-After and a throttled OperationOutcome past the per-address limit', async () => {
    const { url, get } = await start({ rateLimits: { perIp: 5 } });
    for (let i = 0; i < 5; i++) assert.equal((await get('/fhir/Patient')).status, 200);
    const throttled = await get('/fhir/Patient', { origin: APP_ORIGIN });
    assert.equal(throttled.status, 429);
    const retryAfter = Number(throttled.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(throttled.headers.get('content-type')!, /^application\/fhir\+json/);
    assert.equal(throttled.headers.get('access-control-allow-origin'), APP_ORIGIN, 'the app can read its 429');
    assert.equal(throttled.headers.get('x-frame-options'), 'DENY');
    const body = await throttled.json();
    assert.equal(body.resourceType, 'OperationOutcome');
    assert.equal(body.issue[0].code, 'throttled');
    // Outside /fhir the same limit answers in plain JSON.
    const token = await fetch(`${url}/auth/token`, { method: 'POST' });
    assert.equal(token.status, 429);
    assert.equal((await token.json()).error, 'too_many_requests');
  });

  it('keeps one bucket per verified client, which a forged token cannot drain', async () => {
    const { get } = await start({ rateLimits: { perIp: 1000, perClient: 3 } });
    const as = (token: string) => get('/fhir/Patient', { authorization: `Bearer ${token}` });
    for (let i = 0; i < 3; i++) assert.equal((await as('token-a')).status, 200);
    const throttled = await as('token-a');
    assert.equal(throttled.status, 429);
    assert.ok(Number(throttled.headers.get('retry-after')) >= 1);
    assert.equal((await throttled.json()).issue[0].code, 'throttled');

    // An unverified token naming client-b gets no context, so it counts against no client.
    const forged = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"client_id":"client-b"}').toString('base64url')}.`;
    for (let i = 0; i < 5; i++) assert.equal((await as(forged)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await as('token-b')).status, 200, 'client-b has its own bucket, from the same address');
    assert.equal((await as('token-b')).status, 429);
  });

  it('limits sign-in attempts per address more strictly, apart from other requests', async () => {
    const { url, get } = await start({ rateLimits: { perIp: 1000, login: 2 } });
    const post = (path: string) => fetch(`${url}${path}`, { method: 'POST', headers: { 'accept-language': 'ru' } });
    assert.equal((await post('/auth/token')).status, 200);
    assert.equal((await post('/auth/interaction/abc/login')).status, 200);
    const token = await post('/auth/token');
    assert.equal(token.status, 429);
    assert.ok(Number(token.headers.get('retry-after')) >= 1);
    const login = await post('/auth/interaction/abc/login');
    assert.equal(login.status, 429);
    assert.match(login.headers.get('content-type')!, /^text\/html/);
    assert.match(await login.text(), /Слишком много запросов/);
    // Reading the sign-in page and the API are not sign-in attempts.
    assert.equal((await get('/auth/interaction/abc')).status, 200);
    assert.equal((await get('/fhir/Patient')).status, 200);
  });

  // Parsing RATE_LIMIT_PER_MINUTE_* and CORS_ORIGINS is tested in test/config.test.ts.
  it('0 switches a limit off', async () => {
    const { get } = await start({ rateLimits: { perIp: 0, perClient: 0, login: 0 } });
    for (let i = 0; i < 20; i++) assert.equal((await get('/fhir/Patient', { authorization: 'Bearer token-a' })).status, 200);
  });
});

for (const driver of testDrivers()) describe(`HTTP hardening in front of the authorization server (${driver.name})`, { skip: driver.skip }, () => {
  let server: AuthServer;
  let db: Database;

  before(async () => {
    db = await openOnce(driver);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const plugin = await authorizationServer({ db, issuer: `${origin}/auth`, fhirBaseUrl: `${origin}/fhir` });
    const app = Fastify();
    await registerHardening(app, { db, corsOrigins: [CONFIGURED_ORIGIN], rateLimits: { perIp: 1000, perClient: 1000, login: 20 } });
    await app.register(plugin);
    await app.listen({ port, host: '127.0.0.1' });
    server = { app, db, origin, issuer: `${origin}/auth`, fhirBase: `${origin}/fhir`, plugin, close: () => app.close() };
    await addClient(db, { client_id: 'web', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', scope: 'openid fhirUser patient/*.rs' });
    await addUser(db, { username: 'dana', password: 'correct horse battery', role: 'citizen', fhirUser: 'Patient/p-7' });
  });
  after(() => server.close());

  it('keeps the sign-in and consent pages working, and CORS on the token endpoint to the client’s own origins', async () => {
    const run = await authorize(server, { clientId: 'web', scope: 'openid fhirUser patient/Observation.rs', username: 'dana', password: 'correct horse battery' });
    assert.ok(run.code, 'signed in, consented, back at the app with a code');
    const page = await run.browser.fetch(`${server.issuer}/authorize?client_id=web`);
    assert.equal(page.headers.get('x-frame-options'), 'DENY', 'oidc-provider hijacks the reply, and still gets the headers');
    assert.match(page.headers.get('content-security-policy')!, /style-src 'unsafe-inline'/);
    const ours = await fetch(`${server.issuer}/interaction/no-such-session`);
    assert.equal(ours.status, 400);
    assert.equal(ours.headers.get('x-frame-options'), 'DENY', 'the authorization server’s own pages get the same headers');
    assert.equal(ours.headers.get('cache-control'), 'no-store');
    assert.match(ours.headers.get('content-security-policy')!, /frame-ancestors 'none'/);

    const appOrigin = new URL(REDIRECT_URI).origin;
    const token = await fetch(`${server.issuer}/token`, {
      method: 'POST',
      headers: { origin: appOrigin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: 'web', code_verifier: run.verifier }).toString(),
    });
    assert.equal(token.status, 200);
    assert.equal(token.headers.get('access-control-allow-origin'), appOrigin);
    assert.equal(token.headers.get('cache-control'), 'no-store');
    assert.equal(token.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');

    // CORS_ORIGINS does not open the token endpoint: oidc-provider allows only the client's own redirect origins.
    const again = await authorize(server, { clientId: 'web', scope: 'openid patient/Observation.rs', username: 'dana', password: 'correct horse battery' }, undefined, run.browser);
    const elsewhere = await tokenRequest(
      server,
      { grant_type: 'authorization_code', code: again.code!, redirect_uri: REDIRECT_URI, client_id: 'web', code_verifier: again.verifier },
      { origin: CONFIGURED_ORIGIN },
    );
    assert.equal(elsewhere.status, 400);
    assert.match(elsewhere.body.error_description, /origin .* not allowed/);
  });

  it('answers a stranger’s preflight to the token endpoint without allowing it (oidc-provider alone would)', async () => {
    const preflight = await fetch(`${server.issuer}/token`, { method: 'OPTIONS', headers: { origin: STRANGER, 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  });
});
