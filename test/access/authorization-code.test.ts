import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { addClient } from '../../src/access/clients.js';
import { addUser } from '../../src/access/users.js';
import { REDIRECT_URI, authorize, decodeJwt, startAuthServer, tokenRequest, type AuthServer } from './harness.js';
import { testDrivers } from '../support/database.js';

for (const driver of testDrivers()) describe(`SMART App Launch: authorization code with PKCE (${driver.name})`, { skip: driver.skip }, () => {
  let server: AuthServer;

  before(async () => {
    server = await startAuthServer(driver);
    await addClient(server.db, {
      client_id: 'patient-app',
      client_name: 'Patient app',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      scope: 'openid fhirUser launch launch/patient offline_access online_access patient/*.rs patient/*.read user/*.cruds',
    });
    await addUser(server.db, { username: 'aigerim', password: 'correct horse battery', role: 'citizen', fhirUser: 'Patient/p-100', region: 'Almaty' });
    await addUser(server.db, { username: 'dr-serik', password: 'stethoscope-42', role: 'clinician', fhirUser: 'Practitioner/pr-9', organization: 'org-1' });
  });
  after(() => server.close());

  it('gives a citizen their own Patient for launch/patient, an ID token with fhirUser and a refresh token', async () => {
    const run = await authorize(server, {
      clientId: 'patient-app',
      scope: 'openid fhirUser launch/patient patient/Observation.rs offline_access',
      username: 'aigerim',
      password: 'correct horse battery',
    });
    assert.equal(run.redirect.searchParams.get('state'), 'state-123');
    assert.ok(run.code);
    const { status, body } = await tokenRequest(server, {
      grant_type: 'authorization_code',
      code: run.code!,
      redirect_uri: REDIRECT_URI,
      client_id: 'patient-app',
      code_verifier: run.verifier,
    });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.patient, 'p-100');
    assert.equal(body.need_patient_banner, true);
    assert.ok(body.refresh_token);
    assert.ok(body.expires_in > 0);
    assert.deepEqual(new Set(body.scope.split(' ')), new Set(['openid', 'fhirUser', 'launch/patient', 'patient/Observation.rs', 'offline_access']));

    const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`));
    const { payload: idToken } = await jwtVerify(body.id_token, jwks, { issuer: server.issuer, audience: 'patient-app' });
    assert.equal(idToken.fhirUser, `${server.fhirBase}/Patient/p-100`);

    const claims = await server.plugin.verifyAccessToken(body.access_token);
    assert.equal(claims.client_id, 'patient-app');
    assert.equal(claims.patient, 'p-100');
    assert.equal(claims.fhirUser, 'Patient/p-100');
    assert.equal(claims.role, 'citizen');
    assert.equal(claims.region, 'Almaty');
    assert.equal(claims.aud, server.fhirBase);
    assert.ok(claims.jti && claims.exp > claims.iat);
    assert.ok(claims.scopes.some((s) => s.kind === 'resource' && s.resourceType === 'Observation'));

    // The refresh token gives a new access token with the same launch context.
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: 'patient-app' });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(refreshed.body.patient, 'p-100');
    const again = await server.plugin.verifyAccessToken(refreshed.body.access_token);
    assert.equal(again.patient, 'p-100');
    assert.notEqual(again.jti, claims.jti);

    // A narrower scope on refresh.
    const narrowed = await tokenRequest(server, {
      grant_type: 'refresh_token',
      refresh_token: refreshed.body.refresh_token ?? body.refresh_token,
      client_id: 'patient-app',
      scope: 'patient/Observation.rs',
    });
    assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body));
    assert.equal(narrowed.body.scope, 'patient/Observation.rs');

    // The code is single use.
    const replay = await tokenRequest(server, { grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: 'patient-app', code_verifier: run.verifier });
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');
  });

  it('accepts v1 scopes and drops scopes the client is not registered for', async () => {
    const run = await authorize(server, {
      clientId: 'patient-app',
      scope: 'launch/patient patient/*.read system/*.rs patient/Patient.write',
      username: 'aigerim',
      password: 'correct horse battery',
    });
    const { body } = await tokenRequest(server, { grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: 'patient-app', code_verifier: run.verifier });
    assert.deepEqual(body.scope.split(' ').sort(), ['launch/patient', 'patient/*.read']);
    assert.equal(body.refresh_token, undefined);
  });

  it('lets the user grant fewer scopes than asked', async () => {
    const run = await authorize(
      server,
      { clientId: 'patient-app', scope: 'launch/patient patient/Observation.rs patient/Condition.rs', username: 'aigerim', password: 'correct horse battery' },
      (_html, fields) => {
        fields.scope = ['launch/patient', 'patient/Condition.rs'];
      },
    );
    const { body } = await tokenRequest(server, { grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: 'patient-app', code_verifier: run.verifier });
    assert.deepEqual(body.scope.split(' ').sort(), ['launch/patient', 'patient/Condition.rs']);
  });

  it('has a clinician type the patient for a standalone launch/patient', async () => {
    let offeredPicker = false;
    const run = await authorize(
      server,
      { clientId: 'patient-app', scope: 'openid fhirUser launch/patient patient/*.rs', username: 'dr-serik', password: 'stethoscope-42' },
      (html, fields) => {
        offeredPicker = html.includes('name="patient"');
        fields.patient = 'p-777';
      },
    );
    assert.ok(offeredPicker);
    const { body } = await tokenRequest(server, { grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: 'patient-app', code_verifier: run.verifier });
    assert.equal(body.patient, 'p-777');
    const claims = await server.plugin.verifyAccessToken(body.access_token);
    assert.equal(claims.role, 'clinician');
    assert.equal(claims.organization, 'org-1');
    assert.equal(claims.fhirUser, 'Practitioner/pr-9');
    assert.equal(claims.patient, 'p-777');
  });

  it('resolves an EHR launch context created through POST /auth/launch', async () => {
    const staff = await tokenFor(server, 'dr-serik', 'stethoscope-42', 'user/*.cruds');
    const created = await fetch(`${server.issuer}/launch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' },
      body: JSON.stringify({ patient: 'p-555', encounter: 'e-1' }),
    });
    assert.equal(created.status, 201);
    const { launch } = (await created.json()) as { launch: string };

    const run = await authorize(server, { clientId: 'patient-app', scope: 'launch openid fhirUser patient/*.rs', launch, username: 'dr-serik', password: 'stethoscope-42' }, (html) => {
      assert.ok(!html.includes('name="patient"'), 'no patient picker in an EHR launch');
    });
    const { body } = await tokenRequest(server, { grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: 'patient-app', code_verifier: run.verifier });
    assert.equal(body.patient, 'p-555');
    assert.equal(body.encounter, 'e-1');
    assert.equal(body.need_patient_banner, false);

    const unknown = await authorize(server, { clientId: 'patient-app', scope: 'launch patient/*.rs', launch: 'no-such-launch', username: 'dr-serik', password: 'stethoscope-42' });
    assert.equal(unknown.redirect.searchParams.get('error'), 'invalid_request');

    const citizen = await tokenFor(server, 'aigerim', 'correct horse battery', 'patient/*.rs');
    const refused = await fetch(`${server.issuer}/launch`, { method: 'POST', headers: { authorization: `Bearer ${citizen}`, 'content-type': 'application/json' }, body: '{"patient":"p-1"}' });
    assert.equal(refused.status, 401);
  });

  it('requires PKCE with S256 and the right verifier', async () => {
    const noChallenge = new URL(`${server.issuer}/authorize`);
    noChallenge.search = new URLSearchParams({ response_type: 'code', client_id: 'patient-app', redirect_uri: REDIRECT_URI, scope: 'patient/*.rs', aud: server.fhirBase, state: 's' }).toString();
    const response = await fetch(noChallenge, { redirect: 'manual' });
    const location = new URL(response.headers.get('location')!);
    assert.equal(location.searchParams.get('error'), 'invalid_request');

    const plain = new URL(noChallenge);
    plain.searchParams.set('code_challenge', 'a'.repeat(43));
    plain.searchParams.set('code_challenge_method', 'plain');
    const plainResponse = await fetch(plain, { redirect: 'manual' });
    assert.equal(new URL(plainResponse.headers.get('location')!).searchParams.get('error'), 'invalid_request');

    const run = await authorize(server, { clientId: 'patient-app', scope: 'patient/*.rs', username: 'aigerim', password: 'correct horse battery' });
    const wrong = await tokenRequest(server, { grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: 'patient-app', code_verifier: 'x'.repeat(43) });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
  });

  it('accepts the authorization request as a form POST (authorize-post)', async () => {
    const response = await fetch(`${server.issuer}/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        response_type: 'code',
        client_id: 'patient-app',
        redirect_uri: REDIRECT_URI,
        scope: 'launch/patient patient/*.rs offline_access',
        aud: server.fhirBase,
        state: 'posted',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }).toString(),
    });
    assert.equal(response.status, 303);
    assert.match(response.headers.get('location') ?? '', /\/auth\/interaction\//);
  });

  it('requires aud to name this FHIR server', async () => {
    const wrong = await authorize(server, { clientId: 'patient-app', scope: 'patient/*.rs', aud: 'https://evil.example/fhir', username: 'aigerim', password: 'x' });
    assert.equal(wrong.redirect.searchParams.get('error'), 'invalid_request');
    assert.match(wrong.redirect.searchParams.get('error_description') ?? '', /aud/);
  });

  it('returns access_denied when the user refuses', async () => {
    const run = await authorize(server, { clientId: 'patient-app', scope: 'patient/*.rs', username: 'aigerim', password: 'correct horse battery' }, (_html, fields) => {
      fields.decision = 'deny';
    });
    assert.equal(run.redirect.searchParams.get('error'), 'access_denied');
    assert.equal(run.code, undefined);
  });

  it('introspects and revokes access and refresh tokens', async () => {
    await addClient(server.db, { client_id: 'fhir-api', grant_types: ['authorization_code'], redirect_uris: ['http://127.0.0.1:1/unused'], token_endpoint_auth_method: 'client_secret_basic' }).then(async (api) => {
      const basic = `Basic ${Buffer.from(`fhir-api:${api.client_secret}`).toString('base64')}`;
      const run = await authorize(server, { clientId: 'patient-app', scope: 'launch/patient patient/*.rs offline_access', username: 'aigerim', password: 'correct horse battery' });
      const { body } = await tokenRequest(server, { grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: 'patient-app', code_verifier: run.verifier });

      const introspect = async (token: string, auth: Record<string, string> = { authorization: basic }, extra: Record<string, string> = {}) => {
        const response = await fetch(`${server.issuer}/token/introspect`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
          body: new URLSearchParams({ token, ...extra }).toString(),
        });
        return { status: response.status, body: (await response.json()) as any };
      };
      const active = await introspect(body.access_token);
      assert.equal(active.status, 200);
      assert.equal(active.body.active, true);
      assert.equal(active.body.client_id, 'patient-app');
      assert.equal(active.body.patient, 'p-100');
      assert.equal(active.body.fhirUser, 'Patient/p-100');
      assert.match(active.body.scope, /patient\/\*\.rs/);
      assert.equal((await introspect(body.refresh_token)).body.active, true);
      assert.equal((await introspect('garbage')).body.active, false);
      // Without client authentication the endpoint refuses.
      assert.equal((await introspect(body.access_token, {})).status, 400);

      // Revoke the access token (by its own client): introspection and local verification now refuse it.
      const revoke = await fetch(`${server.issuer}/token/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: body.access_token, client_id: 'patient-app' }).toString(),
      });
      assert.equal(revoke.status, 200);
      assert.equal((await introspect(body.access_token)).body.active, false);
      await assert.rejects(server.plugin.verifyAccessToken(body.access_token), /revoked/);

      // Revoking the refresh token revokes its grant, and with it every access token of the grant.
      const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: 'patient-app' });
      assert.equal(refreshed.status, 200);
      await server.plugin.verifyAccessToken(refreshed.body.access_token);
      const currentRefresh = refreshed.body.refresh_token ?? body.refresh_token;
      await fetch(`${server.issuer}/token/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: currentRefresh, client_id: 'patient-app', token_type_hint: 'refresh_token' }).toString(),
      });
      assert.equal((await introspect(currentRefresh)).body.active, false);
      await assert.rejects(server.plugin.verifyAccessToken(refreshed.body.access_token), /revoked/);
      const afterRevoke = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: currentRefresh, client_id: 'patient-app' });
      assert.equal(afterRevoke.body.error, 'invalid_grant');
    });
  });
});

/** Signs in through the whole flow and returns an access token. */
async function tokenFor(server: AuthServer, username: string, password: string, scope: string): Promise<string> {
  const run = await authorize(server, { clientId: 'patient-app', scope, username, password });
  const { body } = await tokenRequest(server, { grant_type: 'authorization_code', code: run.code!, redirect_uri: REDIRECT_URI, client_id: 'patient-app', code_verifier: run.verifier });
  return decodeJwt(body.access_token) && body.access_token;
}
