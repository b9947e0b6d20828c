import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { ADMIN_SECRET, approveClient, startAuthServer, tokenRequest, type AuthServer } from './harness.js';
import { testDrivers } from '../support/database.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface VendorSystem {
  clientId: string;
  alg: 'RS384' | 'ES384';
  privateKey: CryptoKey;
  kid: string;
}

/**
 * SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html): client_credentials
 * with private_key_jwt. Each system is registered with the admin secret and approved by its
 * organization's administrator (test/access/separation-of-duties.test.ts tests the approval itself).
 */
for (const driver of testDrivers()) describe(`SMART Backend Services (${driver.name})`, { skip: driver.skip }, () => {
  let server: AuthServer;
  let rsSystem: VendorSystem;
  let esSystem: VendorSystem;

  async function register(alg: 'RS384' | 'ES384', organization: string): Promise<VendorSystem> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const kid = `${alg}-${randomUUID()}`;
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const response = await fetch(`${server.issuer}/admin/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-secret': ADMIN_SECRET },
      body: JSON.stringify({
        client_name: `MIS vendor (${alg})`,
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: alg,
        jwks: { keys: [jwk] },
        scope: 'system/*.rs system/Observation.cruds',
        organization,
      }),
    });
    const body = (await response.json()) as { client_id: string; client_secret?: string };
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.equal(body.client_secret, undefined);
    await approveClient(server, body.client_id, organization);
    return { clientId: body.client_id, alg, privateKey, kid };
  }

  function assertion(system: VendorSystem, overrides: { exp?: number; jti?: string; aud?: string; alg?: string; key?: CryptoKey; iss?: string } = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: overrides.alg ?? system.alg, kid: system.kid, typ: 'JWT' })
      .setIssuer(overrides.iss ?? system.clientId)
      .setSubject(system.clientId)
      .setAudience(overrides.aud ?? `${server.issuer}/token`)
      .setIssuedAt(now)
      .setExpirationTime(overrides.exp ?? now + 240)
      .setJti(overrides.jti ?? randomUUID())
      .sign(overrides.key ?? system.privateKey);
  }

  const requestToken = (clientAssertion: string, scope = 'system/*.rs') =>
    tokenRequest(server, { grant_type: 'client_credentials', scope, client_assertion_type: ASSERTION_TYPE, client_assertion: clientAssertion });

  before(async () => {
    server = await startAuthServer(driver);
    rsSystem = await register('RS384', 'org-rs');
    esSystem = await register('ES384', 'org-es');
  });
  after(() => server.close());

  for (const which of ['RS384', 'ES384'] as const) {
    it(`issues a token for a ${which}-signed assertion, carrying the client's organization`, async () => {
      const system = which === 'RS384' ? rsSystem : esSystem;
      const { status, body } = await requestToken(await assertion(system), 'system/*.rs system/Observation.cruds');
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.token_type, 'Bearer');
      assert.ok(body.expires_in > 0 && body.expires_in <= 300);
      assert.equal(body.scope, 'system/*.rs system/Observation.cruds');
      assert.equal(body.refresh_token, undefined);
      const claims = await server.plugin.verifyAccessToken(body.access_token);
      assert.equal(claims.client_id, system.clientId);
      assert.equal(claims.sub, system.clientId);
      assert.equal(claims.role, 'system');
      assert.equal(claims.organization, which === 'RS384' ? 'org-rs' : 'org-es');
      assert.equal(claims.patient, undefined);
    });
  }

  it('grants only system scopes the registration covers', async () => {
    const { status, body } = await requestToken(await assertion(rsSystem), 'system/Patient.read system/Patient.cud patient/*.rs user/*.rs');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.scope, 'system/Patient.read');
  });

  it('refuses an assertion signed by another key', async () => {
    const { privateKey } = await generateKeyPair('RS384');
    const { status, body } = await requestToken(await assertion(rsSystem, { key: privateKey }));
    assert.equal(status, 401);
    assert.equal(body.error, 'invalid_client');
  });

  it('refuses an algorithm other than the registered one', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const { status, body } = await requestToken(await assertion(rsSystem, { alg: 'RS256', key: privateKey }));
    assert.equal(status, 401);
    assert.equal(body.error, 'invalid_client');
  });

  it('refuses an expired assertion', async () => {
    const { status, body } = await requestToken(await assertion(esSystem, { exp: Math.floor(Date.now() / 1000) - 120 }));
    assert.equal(status, 401);
    assert.equal(body.error, 'invalid_client');
  });

  it('refuses an assertion valid for more than five minutes', async () => {
    const { status, body } = await requestToken(await assertion(esSystem, { exp: Math.floor(Date.now() / 1000) + 3600 }));
    assert.equal(status, 401);
    assert.equal(body.error, 'invalid_client');
  });

  it('refuses a replayed jti', async () => {
    const jti = randomUUID();
    const first = await requestToken(await assertion(esSystem, { jti }));
    assert.equal(first.status, 200);
    const second = await requestToken(await assertion(esSystem, { jti }));
    assert.equal(second.status, 401);
    assert.equal(second.body.error, 'invalid_client');
  });

  it('refuses a wrong audience and an unknown client', async () => {
    const wrongAud = await requestToken(await assertion(esSystem, { aud: 'https://elsewhere.example/token' }));
    assert.equal(wrongAud.status, 401);
    const stranger = { ...esSystem, clientId: 'no-such-client' };
    const unknown = await requestToken(await assertion(stranger));
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, 'invalid_client');
  });

  it('refuses client_credentials without an assertion', async () => {
    const { status } = await tokenRequest(server, { grant_type: 'client_credentials', client_id: esSystem.clientId, scope: 'system/*.rs' });
    assert.equal(status, 401);
  });

  it('lets a resource server introspect a backend token, and its client revoke it', async () => {
    const { body } = await requestToken(await assertion(rsSystem));
    const introspect = async () => {
      const response = await fetch(`${server.issuer}/token/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: body.access_token, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(esSystem) }).toString(),
      });
      return (await response.json()) as any;
    };
    const active = await introspect();
    assert.equal(active.active, true);
    assert.equal(active.client_id, rsSystem.clientId);
    assert.equal(active.organization, 'org-rs');
    const revoke = await fetch(`${server.issuer}/token/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: body.access_token, client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(rsSystem) }).toString(),
    });
    assert.equal(revoke.status, 200);
    assert.equal((await introspect()).active, false);
  });
});
