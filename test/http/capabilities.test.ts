/**
 * The CapabilityStatement is built once and served from memory (issue 11): with an ETag a client
 * revalidates for free, gzip is compressed once, and it is built again when what it states
 * changes: a SearchParameter registered or deleted, a profile held.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';
import { patientProfile } from '../support/profiles.js';

/** GET over a raw socket: the bytes as sent, not decoded by fetch. */
function raw(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const PROFILE = patientProfile('http://densaulyq.kz/fhir/StructureDefinition/capabilities-test-patient', 'CapabilitiesTestPatient', {
  snapshot: [{ id: 'Patient', path: 'Patient', definition: 'A patient', min: 0, max: '*', base: { path: 'Patient', min: 0, max: '*' } }],
});

for (const driver of testDrivers()) describe(`the CapabilityStatement, built once (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());
  const metadata = (headers: Record<string, string> = {}) => raw(`${server.base}/metadata`, headers);
  const statement = async () => JSON.parse((await metadata()).body.toString('utf8')) as CapabilityStatement;
  const patientParameters = async () => (await statement()).rest![0]!.resource!.find((r) => r.type === 'Patient')!;

  test('an ETag to revalidate with: the same statement answers 304 with no body', async () => {
    const first = await metadata();
    assert.equal(first.status, 200);
    const etag = first.headers.etag;
    assert.equal(typeof etag, 'string');
    assert.match(String(etag), /^W\/"[\w-]+"$/);
    const again = await metadata({ 'if-none-match': String(etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers.etag, etag);
    assert.equal((await metadata({ 'if-none-match': 'W/"other"' })).status, 200);
  });

  test('gzip for a client that accepts it, the same statement; plain text for one that does not', async () => {
    const plain = await metadata();
    assert.equal(plain.headers['content-encoding'], undefined);
    const zipped = await metadata({ 'accept-encoding': 'br, gzip;q=0.8' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'accept-encoding');
    assert.ok(zipped.body.length * 5 < plain.body.length, `${zipped.body.length} bytes gzipped of ${plain.body.length}`);
    assert.deepEqual(gunzipSync(zipped.body), plain.body);
    assert.equal((await metadata({ 'accept-encoding': 'gzip;q=0' })).headers['content-encoding'], undefined);
  });

  test('_pretty=true pretty-prints the prepared text', async () => {
    const pretty = await raw(`${server.base}/metadata?_pretty=true`);
    assert.match(pretty.body.toString('utf8'), /^\{\n {2}"resourceType": "CapabilityStatement"/);
  });

  test('a SearchParameter registered or deleted, a profile held: built again, with a new ETag', async () => {
    const before = (await metadata()).headers.etag;
    const created = await server.fhir('POST', 'SearchParameter', {
      resourceType: 'SearchParameter',
      url: 'http://densaulyq.kz/fhir/SearchParameter/capabilities-test-mothers-maiden-name',
      name: 'mothersMaidenNameTest',
      status: 'active',
      description: 'test',
      code: 'mothers-maiden-name-test',
      base: ['Patient'],
      type: 'string',
      expression: "Patient.extension('http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName').value",
    });
    assert.equal(created.status, 201, created.text);
    const afterCreate = await metadata();
    assert.notEqual(afterCreate.headers.etag, before);
    assert.ok((await patientParameters()).searchParam!.some((p) => p.name === 'mothers-maiden-name-test'));

    assert.equal((await server.fhir('DELETE', `SearchParameter/${(created.body as { id: string }).id}`)).status, 204);
    assert.ok(!(await patientParameters()).searchParam!.some((p) => p.name === 'mothers-maiden-name-test'));

    assert.equal((await server.fhir('POST', 'StructureDefinition', PROFILE)).status, 201);
    assert.deepEqual((await patientParameters()).supportedProfile, [PROFILE.url]);
  });
});
