import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ERROR_CODES, ERROR_SYSTEM, type ErrorCode } from '../../src/fhir/outcome.js';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';

describe('the error catalogue', () => {
  test('every code has a status, an issue type and a meaning in Kazakh, Russian and English', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^[a-z]+(-[a-z]+)*$/, code);
      assert.ok(entry.status >= 200 && entry.status < 600, code);
      for (const language of ['kk', 'ru', 'en'] as const) assert.ok(entry[language].length > 0, `${code} ${language}`);
      assert.notEqual(entry.kk, entry.en, `${code}: the Kazakh is a translation`);
      assert.notEqual(entry.ru, entry.en, `${code}: the Russian is a translation`);
    }
  });
});

/** The Densaulyq codes of an answer's issues, after checking it is an OperationOutcome. */
function codesOf(reply: { status: number; body: any; text: string }): string[] {
  assert.equal(reply.body?.resourceType, 'OperationOutcome', reply.text);
  return reply.body.issue.map((issue: any) => {
    const coding = issue.details?.coding?.find((c: { system: string }) => c.system === ERROR_SYSTEM);
    assert.ok(coding, `an issue without a Densaulyq code: ${JSON.stringify(issue)}`);
    return coding.code;
  });
}

function assertCode(reply: FhirReply | RawReply, status: number, code: ErrorCode): void {
  assert.equal(reply.status, status, reply.text);
  assert.equal(codesOf(reply)[0], code, reply.text);
  assert.equal(ERROR_CODES[code].status, status, `${code} is answered with its catalogue status`);
}

interface RawReply {
  status: number;
  body: any;
  text: string;
}

/** Bytes as they are sent, which fetch would percent-encode or refuse. */
function raw(base: string, request: string): Promise<RawReply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    // Written, not ended: a client waits for the answer, and the server closes the connection after it.
    const socket = connect(Number(port), hostname, () => socket.write(Buffer.from(request, 'utf8')));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = undefined;
      }
      resolve({ status, body: parsed, text });
    });
  });
}

for (const driver of testDrivers()) describe(`every error over HTTP carries its code (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver, { bodyLimit: 64 * 1024 });
  });
  after(() => server.close());

  test('the CodeSystem of the codes is served, by id and by url, and holds every code with its three languages', async () => {
    const read = await server.fhir('GET', 'CodeSystem/densaulyq-error');
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.url, ERROR_SYSTEM);
    assert.deepEqual(read.body.concept.map((c: { code: string }) => c.code).sort(), Object.keys(ERROR_CODES).sort());
    for (const concept of read.body.concept) {
      const entry = ERROR_CODES[concept.code as ErrorCode];
      assert.deepEqual(
        Object.fromEntries(concept.designation.map((d: { language: string; value: string }) => [d.language, d.value])),
        { kk: entry.kk, ru: entry.ru, en: entry.en },
      );
    }
    const found = await server.fhir('GET', `CodeSystem?url=${encodeURIComponent(ERROR_SYSTEM)}`);
    assert.deepEqual(found.body.entry.map((e: { resource: unknown }) => e.resource), [read.body]);
    const metadata = await server.fhir('GET', 'metadata');
    const codeSystem = metadata.body.rest[0].resource.find((r: { type: string }) => r.type === 'CodeSystem');
    assert.match(codeSystem.documentation, /CodeSystem\/densaulyq-error/);
  });

  test('the API answers its refusals with their codes', async () => {
    assertCode(await server.fhir('GET', 'Patient', undefined, { authorization: '' }), 401, 'login-required');
    assertCode(await server.fhir('GET', 'Patient', undefined, { authorization: 'Bearer not-a-token' }), 401, 'invalid-token');
    assertCode(await server.fhir('GET', 'Patient/nobody'), 404, 'not-found');
    assertCode(await server.fhir('GET', 'Patient?_total=sometimes'), 400, 'invalid-request');
    assertCode(await server.fhir('POST', 'Patient', '{"resourceType": "Patient",'), 400, 'invalid-structure');
    assertCode(await server.fhir('POST', 'Patient', { resourceType: 'Patient', gender: 'sometimes' }), 422, 'invalid-resource');
    assertCode(await server.fhir('PATCH', 'metadata'), 405, 'method-not-allowed');
    assertCode(await server.fhir('GET', 'Patient', undefined, { accept: 'application/fhir+xml' }), 406, 'not-acceptable');
    assertCode(await server.fhir('POST', 'Patient', '<Patient/>', { 'content-type': 'application/fhir+xml' }), 415, 'unsupported-media-type');
    const created = await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Сейітов' }] });
    assertCode(await server.fhir('PUT', `Patient/${created.body.id}`, { ...created.body }, { 'if-match': 'W/"99"' }), 412, 'precondition-failed');
    assert.ok((await server.fhir('DELETE', `Patient/${created.body.id}`)).status < 300);
    assertCode(await server.fhir('GET', `Patient/${created.body.id}`), 410, 'gone');
  });

  test('so does the HTTP layer: unknown paths, bodies over the limit, URLs and requests it cannot parse', async () => {
    assertCode(await server.fhir('GET', '/../nothing-here'), 404, 'unknown-route');
    assertCode(await server.fhir('GET', 'Nonsense/1'), 404, 'unknown-route');
    assertCode(await server.fhir('GET', 'Patient/1/_history/1/more'), 404, 'unknown-route');
    assertCode(await server.fhir('POST', 'Patient', { resourceType: 'Patient', text: { status: 'generated', div: 'x'.repeat(70 * 1024) } }), 413, 'payload-too-large');
    assertCode(await server.fhir('GET', 'Patient/%E0%A4%A'), 400, 'invalid-url');
    assertCode(await raw(server.base, `GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`), 431, 'headers-too-large');
    assertCode(await raw(server.base, `NONSENSE\r\n\r\n`), 400, 'invalid-request');
  });

  test('a query with raw UTF-8, as typed at a shell, is read as its percent-encoded form', async () => {
    const name = 'ГАЛИ';
    await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: name }] });
    const reply = await raw(server.base, `GET /fhir/Patient?name=${name} HTTP/1.1\r\nHost: x\r\nAuthorization: ${await adminAuthorization(server)}\r\n\r\n`);
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.resourceType, 'Bundle');
    assert.equal(reply.body.entry.length, 1, reply.text);
    assert.equal(reply.body.entry[0].resource.name[0].family, name);
    assert.ok(reply.body.link[0].url.endsWith(`/Patient?name=${encodeURIComponent(name)}`), reply.body.link[0].url);
  });
});

/** The token the test server's own requests carry: its administrator granted clinical access. */
async function adminAuthorization(server: TestServer): Promise<string> {
  const administrator = server.defaultOwner.split('|')[1]!;
  return `Bearer ${await server.token({ sub: administrator, scope: 'user/*.cruds', role: 'administrator' })}`;
}
