import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { ClientNotApprovedError, addClient } from '../../src/access/clients.js';
import { seedingAccess } from '../../src/access/door.js';
import { issueTokenForClient, issueTokenForUser } from '../../src/access/tokens.js';
import { addUser } from '../../src/access/users.js';
import { Repository } from '../../src/store/repository.js';
import { ADMIN_SECRET, REDIRECT_URI, authorize, startAuthServer, tokenRequest, type AuthServer } from './harness.js';
import { testDrivers } from '../support/database.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ORG_A = 'org-a';
const ORG_B = 'org-b';

interface System {
  clientId: string;
  alg: 'RS384' | 'ES384';
  privateKey: CryptoKey;
  kid: string;
}

/**
 * Issue 10, attack 5: the platform administrator (no clinical access) registered a backend client
 * for any organization with a key of their own and read that organization's patients. A client
 * acting for an organization now waits for that organization's own administrator to approve it;
 * the platform administrator can register it but neither approve it nor make an organization
 * administrator over HTTP, and every step is listed for the organization.
 */
for (const driver of testDrivers()) describe(`separation of duties: a system acting for an organization needs its approval (${driver.name})`, { skip: driver.skip }, () => {
  let server: AuthServer;
  let attack: System;
  const token = { platform: '', a: '', b: '' };

  const adminApi = async (method: string, path: string, credential: string, body?: unknown) => {
    const response = await fetch(`${server.issuer}/admin/clients${path}`, {
      method,
      headers: {
        ...(credential === ADMIN_SECRET ? { 'x-admin-secret': credential } : { authorization: `Bearer ${credential}` }),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json().catch(() => undefined)) as any };
  };

  async function backendRegistration(organization?: string, alg: 'RS384' | 'ES384' = 'RS384') {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    const metadata = {
      client_name: 'A vendor system',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: alg,
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, alg }] },
      scope: 'system/*.rs',
      ...(organization ? { organization } : {}),
    };
    return { metadata, system: (clientId: string): System => ({ clientId, alg, privateKey, kid }) };
  }

  const assertion = (system: System) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: system.alg, kid: system.kid, typ: 'JWT' })
      .setIssuer(system.clientId)
      .setSubject(system.clientId)
      .setAudience(`${server.issuer}/token`)
      .setIssuedAt(now)
      .setExpirationTime(now + 240)
      .setJti(randomUUID())
      .sign(system.privateKey);
  };
  const systemToken = async (system: System) =>
    tokenRequest(server, { grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(system) });
  const readPatient = (accessToken: string) => fetch(`${server.fhirBase}/Patient/p-a`, { headers: { authorization: `Bearer ${accessToken}` } }).then((r) => r.status);

  before(async () => {
    server = await startAuthServer(driver, { withFhirApi: true });
    const mint = { issuer: server.issuer, fhirBaseUrl: server.fhirBase };
    await addUser(server.db, { username: 'platform-admin', password: 'platform-password', role: 'administrator' });
    await addUser(server.db, { username: 'admin-a', password: 'admin-a-password', role: 'organization-administrator', organization: ORG_A });
    await addUser(server.db, { username: 'admin-b', password: 'admin-b-password', role: 'organization-administrator', organization: ORG_B });
    await addUser(server.db, { username: 'dr-a', password: 'doctor-a-password', role: 'clinician', organization: ORG_A, fhirUser: 'Practitioner/pr-a' });
    token.platform = await issueTokenForUser(server.db, 'platform-admin', 'user/*.cruds', mint);
    token.a = await issueTokenForUser(server.db, 'admin-a', 'user/*.cruds', mint);
    token.b = await issueTokenForUser(server.db, 'admin-b', 'user/*.cruds', mint);
    const repo = new Repository(server.db, seedingAccess());
    await repo.update({ resourceType: 'Organization', id: ORG_A, name: 'Polyclinic A' });
    await repo.update({ resourceType: 'Patient', id: 'p-a', birthDate: '1980-05-05', generalPractitioner: [{ reference: `Organization/${ORG_A}` }] });
  });
  after(() => server.close());

  it("the platform administrator's registration for organization A stays pending: no token, no data", async () => {
    const { metadata, system } = await backendRegistration(ORG_A);
    const registered = await adminApi('POST', '', token.platform, metadata);
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    assert.equal(registered.body.registration_state, 'pending');
    assert.equal(registered.body.registered_by, 'platform-admin');
    attack = system(registered.body.client_id);

    const refused = await systemToken(attack);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'unauthorized_client');
    assert.match(refused.body.error_description, /organization org-a.*not approved/);
    assert.equal(refused.body.access_token, undefined);
    await assert.rejects(issueTokenForClient(server.db, attack.clientId, 'system/*.rs', { issuer: server.issuer, fhirBaseUrl: server.fhirBase }), ClientNotApprovedError);
    assert.equal(await readPatient(token.platform), 404, "the platform administrator's own token opens no patient either");
  });

  it('neither the platform administrator nor the bootstrap secret approves it, and no HTTP route makes an organization administrator', async () => {
    for (const credential of [token.platform, ADMIN_SECRET]) {
      const approve = await adminApi('POST', `/${attack.clientId}/approve`, credential);
      assert.equal(approve.status, 403, JSON.stringify(approve.body));
      assert.equal(approve.body.error, 'access_denied');
    }
    assert.equal((await adminApi('GET', `/${attack.clientId}`, token.platform)).body.registration_state, 'pending');
    assert.equal((await systemToken(attack)).status, 400);

    const before = await server.db.query(`SELECT id FROM app_user WHERE role = 'organization-administrator'`);
    const account = { username: 'rogue', password: 'rogue-password', role: 'organization-administrator', organization: ORG_A };
    for (const path of ['/admin/users', '/admin/accounts']) {
      const response = await fetch(`${server.issuer}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token.platform}`, 'content-type': 'application/json' }, body: JSON.stringify(account) });
      assert.equal(response.status, 404);
    }
    assert.equal((await server.db.query(`SELECT id FROM app_user WHERE role = 'organization-administrator'`)).length, before.length);
  });

  it("organization B's administrator neither sees nor approves organization A's client", async () => {
    const listed = await adminApi('GET', '', token.b);
    assert.equal(listed.status, 200);
    assert.ok(!listed.body.clients.some((c: { client_id: string }) => c.client_id === attack.clientId));
    assert.equal((await adminApi('GET', `/${attack.clientId}`, token.b)).status, 404);
    assert.equal((await adminApi('POST', `/${attack.clientId}/approve`, token.b)).status, 404);
    assert.equal((await adminApi('GET', `/${attack.clientId}/events`, token.b)).status, 404);
    assert.equal((await systemToken(attack)).status, 400);
  });

  it("organization A's administrator lists it as pending, approves it, and then the system reads A's patient", async () => {
    const listed = await adminApi('GET', '', token.a);
    const entry = listed.body.clients.find((c: { client_id: string }) => c.client_id === attack.clientId);
    assert.equal(entry.registration_state, 'pending');
    assert.equal(entry.registered_by, 'platform-admin');
    assert.ok(listed.body.clients.every((c: { organization?: string }) => c.organization === ORG_A), 'only its own organization');

    const approved = await adminApi('POST', `/${attack.clientId}/approve`, token.a);
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.registration_state, 'approved');
    assert.equal(approved.body.approved_by, 'admin-a');
    assert.ok(Date.parse(approved.body.approved_at) <= Date.now());

    const issued = await systemToken(attack);
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(await readPatient(issued.body.access_token), 200);
    await issueTokenForClient(server.db, attack.clientId, 'system/*.rs', { issuer: server.issuer, fhirBaseUrl: server.fhirBase });
  });

  it('revoking it stops its live tokens at once and refuses new ones', async () => {
    const live = (await systemToken(attack)).body.access_token as string;
    assert.equal(await readPatient(live), 200);
    assert.equal((await adminApi('POST', `/${attack.clientId}/revoke`, token.b)).status, 404, 'not by another organization');
    assert.equal((await adminApi('POST', `/${attack.clientId}/revoke`, token.platform)).status, 403);

    const revoked = await adminApi('POST', `/${attack.clientId}/revoke`, token.a);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.equal(revoked.body.registration_state, 'revoked');
    assert.equal(await readPatient(live), 401);
    const refused = await systemToken(attack);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'unauthorized_client');
    assert.match(refused.body.error_description, /revoked/);
  });

  it('lists the registration, approval and revocation with who, role and when, to organization A only', async () => {
    const { status, body } = await adminApi('GET', `/${attack.clientId}/events`, token.a);
    assert.equal(status, 200);
    assert.deepEqual(
      body.events.map((e: Record<string, string>) => [e.action, e.actor, e.actor_role, e.via, e.organization, e.client_id]),
      [
        ['register', 'platform-admin', 'administrator', 'api', ORG_A, attack.clientId],
        ['approve', 'admin-a', 'organization-administrator', 'api', ORG_A, attack.clientId],
        ['revoke', 'admin-a', 'organization-administrator', 'api', ORG_A, attack.clientId],
      ],
    );
    for (const event of body.events) {
      assert.ok(Date.parse(event.recorded) <= Date.now());
      assert.deepEqual(Object.keys(event).sort(), ['action', 'actor', 'actor_role', 'client_id', 'organization', 'recorded', 'via'], 'nothing about patients');
    }
    assert.equal((await adminApi('GET', `/${attack.clientId}/events`, token.b)).status, 404);
  });

  it('an organization administrator registers a system for its own organization, approved by that act, and for no other', async () => {
    const foreign = await backendRegistration(ORG_B);
    const refused = await adminApi('POST', '', token.a, foreign.metadata);
    assert.equal(refused.status, 403);
    assert.equal((await adminApi('GET', '', token.b)).body.clients.length, 0);

    const own = await backendRegistration(undefined, 'ES384');
    const registered = await adminApi('POST', '', token.a, own.metadata);
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    assert.equal(registered.body.organization, ORG_A);
    assert.equal(registered.body.registration_state, 'approved');
    assert.equal(registered.body.approved_by, 'admin-a');
    const issued = await systemToken(own.system(registered.body.client_id));
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const events = (await adminApi('GET', `/${registered.body.client_id}/events`, token.a)).body.events;
    assert.deepEqual(events.map((e: { action: string; actor: string }) => [e.action, e.actor]), [
      ['register', 'admin-a'],
      ['approve', 'admin-a'],
    ]);
  });

  it("an app acting for an organization signs no one in until approved, and its refresh tokens end with its revocation", async () => {
    const app = await adminApi('POST', '', token.platform, {
      client_name: 'Polyclinic A front desk',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      scope: 'openid fhirUser offline_access user/*.rs',
      organization: ORG_A,
    });
    assert.equal(app.body.registration_state, 'pending');
    const clientId = app.body.client_id as string;
    const signIn = { clientId, scope: 'openid fhirUser offline_access user/Patient.rs', username: 'dr-a', password: 'doctor-a-password' };

    const pending = await authorize(server, signIn);
    assert.equal(pending.code, undefined);
    assert.equal(pending.redirect.searchParams.get('error'), 'unauthorized_client');

    assert.equal((await adminApi('POST', `/${clientId}/approve`, token.a)).status, 200);
    const run = await authorize(server, signIn);
    const exchange = await tokenRequest(server, { grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: clientId, code_verifier: run.verifier });
    assert.equal(exchange.status, 200, JSON.stringify(exchange.body));
    assert.ok(exchange.body.refresh_token);

    assert.equal((await adminApi('POST', `/${clientId}/revoke`, token.a)).status, 200);
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: exchange.body.refresh_token, client_id: clientId });
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.body.access_token, undefined);
    await assert.rejects(server.plugin.verifyAccessToken(exchange.body.access_token), /revoked/);
  });

  it('registers a jose RS384 key set without naming the algorithm (as `client add --jwks` does), and it signs in once approved', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS384', { extractable: true });
    const key: JWK = { ...(await exportJWK(publicKey)), kid: 'rs384-from-jose' };
    const registered = await addClient(server.db, {
      client_name: 'Laboratory system',
      organization: ORG_A,
      jwks: { keys: [key] },
      token_endpoint_auth_method: 'private_key_jwt',
      grant_types: ['client_credentials'],
    });
    assert.equal(registered.token_endpoint_auth_signing_alg, 'RS384');
    assert.equal(registered.registration_state, 'pending');
    assert.equal(registered.registered_by, 'operator');
    assert.equal((await adminApi('POST', `/${registered.client_id}/approve`, token.a)).status, 200);
    const issued = await systemToken({ clientId: registered.client_id, alg: 'RS384', privateKey, kid: key.kid! });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));

    const wrongAlg = addClient(server.db, { organization: ORG_A, jwks: { keys: [{ ...key, alg: 'RS256' }] }, grant_types: ['client_credentials'] });
    await assert.rejects(wrongAlg, /RS384 or ES384/);
    const mismatch = addClient(server.db, { organization: ORG_A, token_endpoint_auth_signing_alg: 'ES384', jwks: { keys: [key] }, grant_types: ['client_credentials'] });
    await assert.rejects(mismatch, /ES384/);
  });
});
