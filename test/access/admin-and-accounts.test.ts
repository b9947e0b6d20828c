import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addClient } from '../../src/access/clients.js';
import { createAccessTokenVerifier, issueTokenForClient, issueTokenForUser } from '../../src/access/tokens.js';
import { addUser, ensureDemoAccounts, verifyPassword } from '../../src/access/users.js';
import { secretsEqual } from '../../src/access/secrets.js';
import { ADMIN_SECRET, Browser, REDIRECT_URI, approveClient, authorizeUrl, form, formAction, pkce, startAuthServer, type AuthServer } from './harness.js';
import { testDrivers } from '../support/database.js';

for (const driver of testDrivers()) describe(`client registry admin API, accounts and CLI tokens (${driver.name})`, { skip: driver.skip }, () => {
  let server: AuthServer;
  let mint: { issuer: string; fhirBaseUrl: string };

  before(async () => {
    server = await startAuthServer(driver, { lockout: { maxAttempts: 3, lockSeconds: 600 } });
    mint = { issuer: server.issuer, fhirBaseUrl: server.fhirBase };
    await addUser(server.db, { username: 'admin', password: 'admin-password-1', role: 'administrator' });
    await addUser(server.db, { username: 'nurse', password: 'nurse-password-1', role: 'clinician', organization: 'org-1', fhirUser: 'Practitioner/n-1' });
    await addClient(server.db, { client_id: 'web', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' });
  });
  after(() => server.close());

  const admin = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${server.issuer}/admin/clients${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('serves the SMART configuration with the required fields and capabilities', async () => {
    const response = await fetch(`${server.fhirBase}/.well-known/smart-configuration`);
    assert.equal(response.status, 200);
    const config = (await response.json()) as Record<string, any>;
    assert.equal(config.issuer, server.issuer);
    assert.equal(config.authorization_endpoint, `${server.issuer}/authorize`);
    assert.equal(config.token_endpoint, `${server.issuer}/token`);
    assert.equal(config.jwks_uri, `${server.issuer}/jwks`);
    assert.equal(config.introspection_endpoint, `${server.issuer}/token/introspect`);
    assert.equal(config.revocation_endpoint, `${server.issuer}/token/revoke`);
    assert.deepEqual(config.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(config.response_types_supported, ['code']);
    assert.ok(config.token_endpoint_auth_methods_supported.includes('private_key_jwt'));
    assert.deepEqual(config.token_endpoint_auth_signing_alg_values_supported, ['RS384', 'ES384']);
    for (const grant of ['authorization_code', 'refresh_token', 'client_credentials']) assert.ok(config.grant_types_supported.includes(grant), grant);
    for (const capability of [
      'launch-ehr',
      'launch-standalone',
      'client-public',
      'client-confidential-symmetric',
      'client-confidential-asymmetric',
      'context-ehr-patient',
      'context-standalone-patient',
      'permission-offline',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
      'sso-openid-connect',
      'authorize-post',
    ]) {
      assert.ok(config.capabilities.includes(capability), capability);
    }
    for (const scope of ['openid', 'fhirUser', 'launch', 'launch/patient', 'offline_access', 'patient/*.rs', 'system/*.rs']) assert.ok(config.scopes_supported.includes(scope), scope);

    // Every advertised endpoint is live: the JWKS serves public keys only.
    const jwks = (await (await fetch(config.jwks_uri)).json()) as { keys: Array<Record<string, unknown>> };
    assert.deepEqual(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    assert.ok(jwks.keys.every((k) => k.d === undefined));
    const discovery = (await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json()) as Record<string, any>;
    assert.equal(discovery.token_endpoint, config.token_endpoint);
  });

  it('refuses the admin API without credentials, with a wrong secret, or with a non-administrator token', async () => {
    assert.equal((await admin('GET', '', {})).status, 401);
    assert.equal((await admin('GET', '', { 'x-admin-secret': 'wrong' })).status, 401);
    assert.equal((await admin('GET', '', { 'x-admin-secret': `${ADMIN_SECRET}x` })).status, 401);
    const nurse = await issueTokenForUser(server.db, 'nurse', 'user/*.cruds', mint);
    assert.equal((await admin('GET', '', { authorization: `Bearer ${nurse}` })).status, 401);
    const adminReadOnly = await issueTokenForUser(server.db, 'admin', 'user/*.rs', mint);
    assert.equal((await admin('GET', '', { authorization: `Bearer ${adminReadOnly}` })).status, 200);
    assert.equal((await admin('POST', '', { authorization: `Bearer ${adminReadOnly}` }, { redirect_uris: [REDIRECT_URI] })).status, 401);
    assert.equal((await admin('GET', '', { authorization: 'Bearer not-a-token' })).status, 401);
  });

  it('registers, lists, reads and deletes clients with an administrator token', async () => {
    const token = await issueTokenForUser(server.db, 'admin', 'system/*.cruds', mint);
    const auth = { authorization: `Bearer ${token}` };
    const created = await admin('POST', '', auth, {
      client_name: 'Clinic portal',
      redirect_uris: ['https://portal.example.kz/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid fhirUser launch user/*.rs',
    });
    assert.equal(created.status, 201);
    const client = (await created.json()) as Record<string, any>;
    assert.ok(client.client_id);
    assert.ok(client.client_secret, 'a symmetric client gets its secret once');

    const listed = (await (await admin('GET', '', auth)).json()) as { clients: Array<Record<string, any>> };
    const entry = listed.clients.find((c) => c.client_id === client.client_id);
    assert.ok(entry);
    assert.equal(entry.client_secret, undefined, 'secrets are never listed');
    const read = (await (await admin('GET', `/${client.client_id}`, auth)).json()) as Record<string, any>;
    assert.equal(read.client_name, 'Clinic portal');
    assert.equal(read.client_secret, undefined);

    assert.equal((await admin('DELETE', `/${client.client_id}`, auth)).status, 204);
    assert.equal((await admin('GET', `/${client.client_id}`, auth)).status, 404);
    assert.equal((await admin('DELETE', `/${client.client_id}`, auth)).status, 404);
  });

  it('rejects registrations SMART does not allow', async () => {
    const auth = { 'x-admin-secret': ADMIN_SECRET };
    const bad = async (body: unknown, pattern: RegExp) => {
      const response = await admin('POST', '', auth, body);
      const json = (await response.json()) as { error: string; error_description: string };
      assert.equal(response.status, 400, JSON.stringify(json));
      assert.equal(json.error, 'invalid_client_metadata');
      assert.match(json.error_description, pattern);
    };
    await bad({ grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic', organization: 'o' }, /private_key_jwt/);
    await bad({ grant_types: ['client_credentials'], token_endpoint_auth_signing_alg: 'RS384', jwks: { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] } }, /organization/);
    await bad({ grant_types: ['client_credentials'], token_endpoint_auth_signing_alg: 'RS256', jwks: { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }, organization: 'o' }, /RS384 or ES384/);
    await bad({ grant_types: ['client_credentials'], token_endpoint_auth_signing_alg: 'ES384', jwks: { keys: [{ kty: 'EC', crv: 'P-384', x: 'a', y: 'b', d: 'secret' }] }, organization: 'o' }, /public keys only/);
    await bad({ redirect_uris: [] }, /redirect_uris/);
    await bad({ redirect_uris: [REDIRECT_URI], scope: 'patient/Observation.sr' }, /malformed/);
    await bad({ redirect_uris: [REDIRECT_URI], scope: 'patient/*.rs admin:everything' }, /unknown scope/);
    await bad({ client_id: 'web', redirect_uris: [REDIRECT_URI] }, /already registered/);
  });

  it('mints CLI tokens that verify like issued ones, and refuses tampered or foreign tokens', async () => {
    const verify = createAccessTokenVerifier({ db: server.db, issuer: server.issuer, audience: server.fhirBase });
    const nurse = await verify(await issueTokenForUser(server.db, 'nurse', 'user/*.rs', mint));
    assert.equal(nurse.role, 'clinician');
    assert.equal(nurse.organization, 'org-1');
    assert.equal(nurse.fhirUser, 'Practitioner/n-1');
    assert.equal(nurse.client_id, 'densaulyq-cli');

    const backend = await addClient(server.db, {
      grant_types: ['client_credentials'],
      token_endpoint_auth_signing_alg: 'ES384',
      jwks: { keys: [{ kty: 'EC', crv: 'P-384', x: 'x', y: 'y' }] },
      organization: 'org-7',
    });
    await approveClient(server, backend.client_id, 'org-7');
    const system = await verify(await issueTokenForClient(server.db, backend.client_id, 'system/*.rs', mint));
    assert.equal(system.role, 'system');
    assert.equal(system.organization, 'org-7');
    assert.ok(system.exp - system.iat <= 300);

    const token = await issueTokenForUser(server.db, 'nurse', 'user/*.rs', mint);
    const [header, payload, signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), role: 'administrator' })).toString('base64url');
    await assert.rejects(verify(`${header}.${forged}.${signature}`), /not valid/);
    const otherAudience = createAccessTokenVerifier({ db: server.db, issuer: server.issuer, audience: 'https://other.example/fhir' });
    await assert.rejects(otherAudience(token), /not valid/);
    await assert.rejects(verify('a.b'), /not a JWT/);
    await assert.rejects(issueTokenForUser(server.db, 'nobody', 'user/*.rs', mint), /no user/);
  });

  it('creates one demo account per role, with passwords shown only once', async () => {
    const first = await ensureDemoAccounts(server.db, { patientId: 'p-1', practitionerId: 'pr-1', organizationId: 'org-1' });
    assert.deepEqual(first.map((a) => a.role).sort(), ['administrator', 'analyst', 'citizen', 'clinician', 'organization-administrator', 'public-health', 'registry']);
    assert.ok(first.every((a) => typeof a.password === 'string' && a.password.length >= 12));
    assert.equal(first.find((a) => a.role === 'citizen')!.fhirUser, 'Patient/p-1');
    assert.equal(first.find((a) => a.role === 'organization-administrator')!.organization, 'org-1', 'the demo organization approves its own systems');
    const citizen = first.find((a) => a.role === 'citizen')!;
    const check = await verifyPassword(server.db, citizen.username, citizen.password!);
    assert.equal(check.ok, true);
    const second = await ensureDemoAccounts(server.db, {});
    assert.equal(second.length, 7);
    assert.ok(second.every((a) => a.password === undefined));
  });

  it('locks an account after repeated wrong passwords, even against the right one', async () => {
    await addUser(server.db, { username: 'target', password: 'the-right-one', role: 'citizen', fhirUser: 'Patient/t-1' });
    const browser = new Browser('en');
    const { challenge } = pkce();
    const url = authorizeUrl(server, { clientId: 'web', scope: 'patient/*.rs', challenge });
    const { response } = await browser.follow(await browser.fetch(url), REDIRECT_URI);
    const action = new URL(formAction(await response.text()), server.origin).toString();
    const attempt = (password: string) => browser.fetch(action, form({ username: 'target', password }));

    for (let i = 0; i < 2; i++) {
      const wrong = await attempt('wrong');
      assert.equal(wrong.status, 401);
      assert.match(await wrong.text(), /Wrong username or password/);
    }
    const third = await attempt('wrong');
    assert.equal(third.status, 429);
    assert.match(await third.text(), /locked/);
    const right = await attempt('the-right-one');
    assert.equal(right.status, 429, 'the right password does not open a locked account');
    // An unknown user is told the same as a wrong password.
    const unknown = await browser.fetch(action, form({ username: 'ghost', password: 'whatever-1' }));
    assert.equal(unknown.status, 401);

    await server.db.query(`UPDATE app_user SET locked_until = now() - interval '1 second' WHERE username = 'target'`);
    const afterLock = await attempt('the-right-one');
    assert.equal(afterLock.status, 303);
    const [row] = await server.db.query<{ failed_logins: number }>(`SELECT failed_logins FROM app_user WHERE username = 'target'`);
    assert.equal(Number(row!.failed_logins), 0);
  });

  it('speaks Kazakh, Russian or English by ui_locales, then Accept-Language', async () => {
    const page = async (acceptLanguage: string, uiLocales?: string) => {
      const browser = new Browser(acceptLanguage);
      const { challenge } = pkce();
      const url = authorizeUrl(server, { clientId: 'web', scope: 'patient/*.rs', challenge, uiLocales });
      const { response } = await browser.follow(await browser.fetch(url), REDIRECT_URI);
      return response.text();
    };
    assert.match(await page('ru-RU,ru;q=0.9,en;q=0.5'), /<html lang="ru">[\s\S]*Вход в Densaulyq/);
    assert.match(await page('en-US'), /<html lang="en">[\s\S]*Sign in to Densaulyq/);
    assert.match(await page('en-US', 'kk-KZ ru'), /<html lang="kk">[\s\S]*Densaulyq жүйесіне кіру/);
    assert.match(await page('de-DE'), /<html lang="kk">/);
    assert.match(await page('de, ru;q=0.4, en;q=0.8'), /<html lang="en">/);
  });

  it('compares secrets in constant time without accepting prefixes or empty secrets', () => {
    assert.equal(secretsEqual('abc', 'abc'), true);
    assert.equal(secretsEqual('abc', 'abcd'), false);
    assert.equal(secretsEqual('', ''), false);
  });
});
