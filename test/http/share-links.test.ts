import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Bundle, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { compactDecrypt, decodeProtectedHeader } from 'jose';
import { createAccessTokenVerifier } from '../../src/access/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { ORG, PATIENT, type Tokens, bearer, buildWorld, tokens } from '../access/world.js';
import { testDrivers } from '../support/database.js';
import { TEST_AUDIENCE, TEST_ISSUER, type TestServer, startTestServer } from '../support/server.js';

interface ShlPayload {
  url: string;
  key: string;
  exp: number;
  flag?: string;
  label?: string;
  v: number;
}

/** The payload of a `shlink:/` URI, as a receiving app decodes it. */
function decodeLink(uri: string): ShlPayload {
  assert.match(uri, /^shlink:\/[A-Za-z0-9_-]+$/);
  return JSON.parse(Buffer.from(uri.slice('shlink:/'.length), 'base64url').toString('utf8')) as ShlPayload;
}

const value = (parameters: Parameters, name: string) => {
  const p = parameters.parameter?.find((x) => x.name === name);
  return p?.valueUri ?? p?.valueString ?? p?.valueInstant ?? p?.valueCode ?? p?.valueBoolean ?? p?.valueInteger;
};
const part = (parameter: ParametersParameter, name: string) => value({ resourceType: 'Parameters', parameter: parameter.part }, name);

async function postJson(url: string, body: unknown, contentType = 'application/json') {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** Decrypts a file of the manifest with the link's key, as the SHL spec's receiver does. */
async function decrypt(jwe: string, key: string): Promise<Bundle> {
  const header = decodeProtectedHeader(jwe);
  assert.equal(header.alg, 'dir');
  assert.equal(header.enc, 'A256GCM');
  assert.equal(header.cty, 'application/fhir+json');
  const { plaintext } = await compactDecrypt(jwe, Buffer.from(key, 'base64url'));
  return JSON.parse(new TextDecoder().decode(plaintext)) as Bundle;
}

for (const driver of testDrivers()) describe(`SMART Health Links through HTTP (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let t: Tokens;
  before(async () => {
    server = await startTestServer(driver);
    t = await tokens(server);
    await buildWorld(server, t);
  });
  after(() => server.close());

  const share = (parameter: ParametersParameter[], token = t.citizenP1, patient: string = PATIENT.p1, headers: Record<string, string> = {}) =>
    server.fhir('POST', `Patient/${patient}/$share-link`, { resourceType: 'Parameters', parameter }, { ...bearer(token), ...headers });
  const created = async (parameter: ParametersParameter[], patient: string = PATIENT.p1) => {
    const reply = await share(parameter, t.citizenP1, patient);
    assert.equal(reply.status, 200, reply.text);
    return { id: value(reply.body, 'id') as string, payload: decodeLink(value(reply.body, 'link') as string), reply };
  };
  const listed = async (patient: string = PATIENT.p1) => {
    const reply = await server.fhir('GET', `Patient/${patient}/$share-links`, undefined, bearer(t.citizenP1));
    assert.equal(reply.status, 200, reply.text);
    return (reply.body as Parameters).parameter ?? [];
  };

  test('a citizen shares their record: the link decodes, the manifest gives a JWE that the key in the link opens to a document Bundle of their data', async () => {
    const { id, payload, reply } = await created([{ name: 'label', valueString: 'For Dr Sadykova, Almaty clinic' }, { name: 'minutes', valueInteger: 60 }]);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
    assert.equal(payload.v, 1);
    assert.equal(payload.label, 'For Dr Sadykova, Almaty clinic');
    assert.equal(payload.flag, undefined);
    assert.match(payload.key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(payload.key, 'base64url').length, 32);
    assert.ok(payload.url.length <= 128, payload.url);
    assert.equal(payload.url.split('/').pop(), id);
    assert.ok(Buffer.from(id, 'base64url').length * 8 >= 256);
    assert.ok(Math.abs(payload.exp - (Date.now() / 1000 + 3600)) < 60, `exp ${payload.exp}`);
    assert.equal(new Date(value(reply.body, 'expires') as string).getTime(), payload.exp * 1000 + (new Date(value(reply.body, 'expires') as string).getTime() % 1000));

    const manifest = await postJson(payload.url, { recipient: 'Dr Sadykova' });
    assert.equal(manifest.status, 200, manifest.text);
    assert.match(manifest.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(manifest.body.files.length, 1);
    const [file] = manifest.body.files;
    assert.equal(file.contentType, 'application/fhir+json');
    const bundle = await decrypt(file.embedded, payload.key);
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'document');
    assert.equal(bundle.entry?.[0]?.resource?.resourceType, 'Composition');
    const refs = bundle.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
    assert.ok(refs.includes(`Patient/${PATIENT.p1}`));
    assert.ok(refs.includes('Condition/cond-p1'), refs.join(' '));
    assert.ok(!refs.some((r) => r === `Patient/${PATIENT.p3}` || r === 'Condition/cond-p3'), 'nothing of another patient');

    // Used again (the link is not single-use): each use is listed with the recipient as named.
    assert.equal((await postJson(payload.url, { recipient: 'Ambulance crew 103' })).status, 200);
    const link = (await listed()).find((l) => part(l, 'id') === id)!;
    assert.equal(part(link, 'label'), 'For Dr Sadykova, Almaty clinic');
    assert.equal(part(link, 'state'), 'active');
    const uses = link.part!.filter((p) => p.name === 'use').map((u) => part(u, 'recipient'));
    assert.deepEqual(uses, ['Ambulance crew 103', 'Dr Sadykova']);
  });

  test("each use is in the patient's access log: shared link used by the recipient, with the link's label; creation too", async () => {
    const { id, payload } = await created([{ name: 'label', valueString: 'Trip to Bishkek' }]);
    assert.equal((await postJson(payload.url, { recipient: 'Bishkek City Hospital No. 4' })).status, 200);
    const log = await server.fhir('GET', `Patient/${PATIENT.p1}/$access-log?_count=50`, undefined, bearer(t.citizenP1));
    assert.equal(log.status, 200, log.text);
    const events = (log.body as Bundle<AuditEvent>).entry!.map((e) => e.resource!);
    const linkOf = (event: AuditEvent) => event.entity?.find((e) => e.what?.identifier?.system === 'http://densaulyq.kz/fhir/sid/share-link');
    const use = events.find((e) => linkOf(e)?.what?.identifier?.value === id && e.action === 'R');
    assert.ok(use, 'the use is logged');
    assert.equal(linkOf(use)!.name, 'Trip to Bishkek');
    assert.deepEqual(use.meta?.security?.map((s) => s.code), ['shared-link']);
    assert.equal(use.meta?.security?.[0]?.display, 'shared link used (shared by the patient)');
    const recipient = use.agent.find((a) => a.requestor)!;
    assert.equal(recipient.who?.display, 'Bishkek City Hospital No. 4');
    assert.equal(recipient.who?.identifier?.value, id);
    assert.deepEqual(recipient.extension?.map((x) => x.valueCode), ['recipient']);
    assert.equal(recipient.purposeOfUse?.[0]?.coding?.[0]?.code, 'PATRQT');
    assert.equal(recipient.role?.[0]?.coding?.[0]?.code, 'link-recipient');
    assert.ok(use.entity?.some((e) => e.what?.reference === `Patient/${PATIENT.p1}`));
    const creation = events.find((e) => linkOf(e)?.what?.identifier?.value === id && e.action === 'C');
    assert.ok(creation, 'the creation is logged');
    assert.equal(creation.subtype?.find((s) => s.system === 'http://densaulyq.kz/fhir/CodeSystem/operation')?.code, '$share-link');
  });

  test('a passcode link: the right passcode opens it; each wrong one says how many attempts remain; the 10th failure disables it for good', async () => {
    const { id, payload } = await created([{ name: 'passcode', valueString: '4711' }]);
    assert.equal(payload.flag, 'P');
    assert.equal((await postJson(payload.url, { recipient: 'Dr Omarova', passcode: '4711' })).status, 200);
    const missing = await postJson(payload.url, { recipient: 'Dr Omarova' });
    assert.equal(missing.status, 401);
    assert.deepEqual(missing.body, { remainingAttempts: 9 });
    for (let remaining = 8; remaining >= 0; remaining--) {
      const wrong = await postJson(payload.url, { recipient: 'Guesser', passcode: `00${remaining}` });
      assert.equal(wrong.status, 401, wrong.text);
      assert.deepEqual(wrong.body, { remainingAttempts: remaining });
    }
    const right = await postJson(payload.url, { recipient: 'Dr Omarova', passcode: '4711' });
    assert.equal(right.status, 404, 'disabled: even the right passcode gets nothing');
    const link = (await listed()).find((l) => part(l, 'id') === id)!;
    assert.equal(part(link, 'state'), 'disabled');
    assert.equal(part(link, 'failed-attempts'), 10);
  });

  test('concurrent wrong passcodes each count', async () => {
    const { payload } = await created([{ name: 'passcode', valueString: 'correct horse' }]);
    const replies = await Promise.all(Array.from({ length: 4 }, (_, i) => postJson(payload.url, { recipient: 'Guesser', passcode: `guess-${i}` })));
    assert.deepEqual(replies.map((r) => r.body.remainingAttempts).sort(), [6, 7, 8, 9]);
  });

  test('a single-use link works once', async () => {
    const { payload } = await created([{ name: 'single-use', valueBoolean: true }]);
    assert.equal((await postJson(payload.url, { recipient: 'Polyclinic 7' })).status, 200);
    const again = await postJson(payload.url, { recipient: 'Someone else' });
    assert.equal(again.status, 404);
    assert.equal(again.body.error, 'not_found');
  });

  test('a single-use link opened by several at once serves exactly one', async () => {
    const { id, payload } = await created([{ name: 'single-use', valueBoolean: true }]);
    const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => postJson(payload.url, { recipient: `Racer ${i}` })));
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 404, 404, 404, 404]);
    const link = (await listed()).find((l) => part(l, 'id') === id)!;
    assert.equal(link.part!.filter((p) => p.name === 'use').length, 1);
    assert.equal(part(link, 'state'), 'used');
  });

  test('a revoked link gets nothing; revoking is audited and shown in the list', async () => {
    const { id, payload } = await created([{ name: 'label', valueString: 'to revoke' }]);
    const revoked = await server.fhir('POST', `Patient/${PATIENT.p1}/$revoke-share-link`, { resourceType: 'Parameters', parameter: [{ name: 'id', valueString: id }] }, bearer(t.citizenP1));
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(part(revoked.body.parameter[0], 'state'), 'revoked');
    assert.equal((await postJson(payload.url, { recipient: 'Dr Late' })).status, 404);
    assert.equal(part((await listed()).find((l) => part(l, 'id') === id)!, 'state'), 'revoked');
    const log = await server.fhir('GET', `Patient/${PATIENT.p1}/$access-log?_count=10`, undefined, bearer(t.citizenP1));
    assert.ok((log.body as Bundle<AuditEvent>).entry!.some((e) => e.resource!.subtype?.some((s) => s.code === '$revoke-share-link') && e.resource!.entity?.some((x) => x.what?.identifier?.value === id)));
  });

  test('an expired link gets nothing', async () => {
    const { id, payload } = await created([{ name: 'minutes', valueInteger: 1 }]);
    await server.db.query(`UPDATE share_link SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    assert.equal((await postJson(payload.url, { recipient: 'Dr Late' })).status, 404);
    assert.equal(part((await listed()).find((l) => part(l, 'id') === id)!, 'state'), 'expired');
  });

  test('a file longer than embeddedLengthMax comes at a location URL that works once', async () => {
    const { payload } = await created([]);
    const manifest = await postJson(payload.url, { recipient: 'Dr Remote', embeddedLengthMax: 10 });
    assert.equal(manifest.status, 200, manifest.text);
    const [file] = manifest.body.files;
    assert.equal(file.embedded, undefined);
    assert.ok(file.location.startsWith(payload.url + '/file/'), file.location);
    const fetched = await fetch(file.location);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.headers.get('content-type'), 'application/jose');
    assert.equal((await decrypt(await fetched.text(), payload.key)).type, 'document');
    assert.equal((await fetch(file.location)).status, 404, 'the location is used up');
  });

  test('a direct-file (U) link answers a GET with the recipient by the JWE itself, and a plain link does not', async () => {
    const { payload } = await created([{ name: 'direct', valueBoolean: true }]);
    assert.equal(payload.flag, 'U');
    const missing = await fetch(payload.url);
    assert.equal(missing.status, 400);
    const file = await fetch(`${payload.url}?recipient=${encodeURIComponent('Dr Direct')}`);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-type'), 'application/jose');
    assert.equal((await decrypt(await file.text(), payload.key)).type, 'document');
    const plain = await created([]);
    assert.equal((await fetch(`${plain.payload.url}?recipient=x`)).status, 404);
    const both = await share([{ name: 'direct', valueBoolean: true }, { name: 'passcode', valueString: '123456' }]);
    assert.equal(both.status, 400);
    // A HEAD opens nothing: a single-use direct link is still there for its GET, and then gone.
    const once = await created([{ name: 'direct', valueBoolean: true }, { name: 'single-use', valueBoolean: true }]);
    const onceUrl = `${once.payload.url}?recipient=${encodeURIComponent('Dr Once')}`;
    assert.notEqual((await fetch(onceUrl, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(onceUrl)).status, 200);
    assert.equal((await fetch(onceUrl)).status, 404);
  });

  test('a parent shares the record of their child; another citizen, a clinician, a system and an administrator cannot create, list or revoke', async () => {
    const child = await created([{ name: 'label', valueString: 'School nurse' }], PATIENT.k);
    assert.equal((await postJson(child.payload.url, { recipient: 'School nurse' })).status, 200);
    assert.equal((await listed(PATIENT.k)).length, 1);

    const { id } = await created([]);
    const revoke = (token: string) =>
      server.fhir('POST', `Patient/${PATIENT.p1}/$revoke-share-link`, { resourceType: 'Parameters', parameter: [{ name: 'id', valueString: id }] }, bearer(token));
    for (const actor of ['clinicianA', 'systemA', 'adminClinical', 'adminNoClinical'] as const) {
      for (const reply of [await share([], t[actor]), await server.fhir('GET', `Patient/${PATIENT.p1}/$share-links`, undefined, bearer(t[actor])), await revoke(t[actor])]) {
        assert.equal(reply.status, 403, `${actor}: ${reply.text}`);
        assert.equal(reply.body?.resourceType, 'OperationOutcome', `${actor}: ${reply.status} ${reply.text}`);
      }
    }
    // Another citizen does not learn that the record exists.
    for (const reply of [await share([], t.citizenP3), await server.fhir('GET', `Patient/${PATIENT.p1}/$share-links`, undefined, bearer(t.citizenP3)), await revoke(t.citizenP3)]) {
      assert.equal(reply.status, 404, reply.text);
    }
    const stillActive = (await listed()).find((l) => part(l, 'id') === id)!;
    assert.equal(part(stillActive, 'state'), 'active');
    assert.equal(ORG.A, 'org-a');
  });

  test('bad input gets clear errors naming what is wrong', async () => {
    const expression = (reply: { body: any }) => reply.body?.issue?.[0]?.expression?.[0] ?? JSON.stringify(reply.body);
    const long = await share([{ name: 'label', valueString: 'x'.repeat(81) }]);
    assert.equal(long.status, 400);
    assert.match(expression(long), /name='label'/, long.text);
    const past = await share([{ name: 'expires', valueInstant: '2020-01-01T00:00:00Z' }]);
    assert.equal(past.status, 400);
    assert.match(expression(past), /name='expires'/);
    assert.match(past.body.issue[0].diagnostics ?? past.body.issue[0].details?.text, /past/);
    assert.equal((await share([{ name: 'minutes', valueInteger: 0 }])).status, 400);
    assert.equal((await share([{ name: 'passcode', valueString: '12' }])).status, 400);
    assert.equal((await share([{ name: 'language', valueCode: 'de' }])).status, 400);
    assert.equal((await share([{ name: 'colour', valueString: 'red' }])).status, 400);
    const badJson = await server.fhir('POST', `Patient/${PATIENT.p1}/$share-link`, '{"resourceType": "Parameters",', bearer(t.citizenP1));
    assert.equal(badJson.status, 400, badJson.text);
    assert.equal(badJson.body.resourceType, 'OperationOutcome');
    assert.equal((await share([{ name: 'label', valueBoolean: true }])).status, 400);
    assert.equal((await share([{ name: 'minutes', valueInteger: 5 }, { name: 'expires', valueInstant: '2099-01-01T00:00:00Z' }])).status, 400);
    const noId = await server.fhir('POST', `Patient/${PATIENT.p1}/$revoke-share-link`, { resourceType: 'Parameters' }, bearer(t.citizenP1));
    assert.equal(noId.status, 400);
    const unknown = await server.fhir('POST', `Patient/${PATIENT.p1}/$revoke-share-link`, { resourceType: 'Parameters', parameter: [{ name: 'id', valueString: 'nope' }] }, bearer(t.citizenP1));
    assert.equal(unknown.status, 404);

    const { payload } = await created([]);
    const notJson = await postJson(payload.url, '{"recipient": ');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error, 'invalid_request');
    const noRecipient = await postJson(payload.url, { passcode: 'x' });
    assert.equal(noRecipient.status, 400);
    assert.match(noRecipient.body.error_description, /recipient/);
    assert.equal((await postJson(payload.url, ['recipient'])).status, 400);
    assert.equal((await postJson(payload.url, { recipient: 'x', embeddedLengthMax: -1 })).status, 400);
    assert.equal((await postJson(payload.url, { recipient: 'x'.repeat(201) })).status, 400);
    const noType = await fetch(payload.url, { method: 'POST', body: 'recipient' });
    assert.ok(noType.status >= 400 && noType.status < 500, String(noType.status));
    assert.ok((await noType.json()).error);
    const unknownLink = await postJson(payload.url.replace(/[^/]+$/, 'A'.repeat(43)), { recipient: 'x' });
    assert.equal(unknownLink.status, 404);
    assert.equal((await postJson(payload.url.replace(/[^/]+$/, 'short'), { recipient: 'x' })).status, 404);
  });

  test('the stored row holds ciphertext and a passcode hash, never the key nor the document nor the passcode', async () => {
    const { id, payload } = await created([{ name: 'passcode', valueString: 'very-secret-passcode' }, { name: 'label', valueString: 'stored' }]);
    const [row] = await server.db.query<Record<string, unknown>>(`SELECT * FROM share_link WHERE id = $1`, [id]);
    const text = JSON.stringify(row);
    assert.ok(!text.includes(payload.key), 'no key');
    assert.ok(!text.includes(Buffer.from(payload.key, 'base64url').toString('hex')), 'no key, hex');
    assert.ok(!text.includes('very-secret-passcode'), 'no passcode');
    assert.ok(!text.includes('Абенов') && !text.includes('cond-p1') && !text.includes(PATIENT.p1 + '"}'), 'no plaintext document');
    assert.match(String(row!.passcode_hash), /^\$argon2id\$/);
    assert.equal(String(row!.content).split('.').length, 5, 'a compact JWE');
  });
});

for (const driver of testDrivers()) describe(`SMART Health Link endpoints are rate-limited per address (${driver.name})`, { skip: driver.skip }, () => {
  test('past the limit a client gets 429 with Retry-After, in JSON', async () => {
    const db = await driver.open();
    const app = await buildApp({
      db,
      config: { bodyLimit: 1 << 20, maxBundleEntries: 100 },
      verifyToken: createAccessTokenVerifier({ db, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
      hardening: { rateLimits: { perIp: 0, perClient: 0, login: 0, shareLinks: 3 }, corsOrigins: [] },
    });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/shl/${'A'.repeat(43)}`;
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        last = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"recipient":"x"}' });
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [404, 404, 404, 429]);
      assert.ok(Number(last!.headers.get('retry-after')) > 0);
      assert.equal((await last!.json()).error, 'too_many_requests');
    } finally {
      await app.close();
      await db.close();
    }
  });
});
