import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { codeOf } from '../../src/fhir/outcome.js';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';

const patient = { resourceType: 'Patient', name: [{ family: 'Сейітов', given: ['Айгүл'] }], gender: 'female', birthDate: '1990-05-20' };
const JSON_PATCH = { 'content-type': 'application/json-patch+json' };

/** A refusal as the issue asks for it: the status, an OperationOutcome, and the element it names. */
function assertOutcome(reply: FhirReply, status: number, expression?: string): void {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.body?.resourceType, 'OperationOutcome', reply.text);
  assert.ok(reply.body.issue?.length > 0, reply.text);
  assert.match(reply.headers.get('content-type') ?? '', /application\/fhir\+json/);
  for (const issue of reply.body.issue) assert.ok(codeOf(issue), `an issue without a Densaulyq code: ${JSON.stringify(issue)}`);
  if (expression !== undefined) {
    assert.ok(
      reply.body.issue.some((i: any) => i.expression?.includes(expression)),
      `expected an issue at ${expression}, got ${JSON.stringify(reply.body.issue)}`,
    );
  }
}

function transaction(type: 'transaction' | 'batch', entry: unknown[]) {
  return { resourceType: 'Bundle', type, entry };
}

function post(resource: unknown, url = (resource as { resourceType: string }).resourceType) {
  return { request: { method: 'POST', url }, resource };
}

for (const driver of testDrivers()) describe(`bad input is a 4xx OperationOutcome and stores nothing (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  async function rows(): Promise<{ resources: number; versions: number }> {
    const [counts] = await server.db.query<{ resources: number; versions: number }>(
      `SELECT (SELECT count(*) FROM resource)::int AS resources, (SELECT count(*) FROM resource_version)::int AS versions`,
    );
    return counts!;
  }

  /** Sends the request and asserts the refusal left both tables as they were. */
  async function refused(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<FhirReply> {
    const before = await rows();
    const reply = await server.fhir(method, path, body, headers);
    assert.deepEqual(await rows(), before, `${method} ${path} answered ${reply.status} but changed the tables`);
    return reply;
  }

  test('malformed JSON is a 400 that says where the fault is', async () => {
    const reply = await refused('POST', 'Patient', '{"resourceType": "Patient",\n "gender": }');
    assertOutcome(reply, 400);
    assert.equal(codeOf(reply.body.issue[0]), 'invalid-structure');
    assert.match(reply.body.issue[0].details.text, /line 2, column/);
    assertOutcome(await refused('POST', 'Patient', '{"resourceType": "Patient"'), 400);
    assertOutcome(await refused('POST', 'Patient', '{"resourceType": "Patient"} trailing'), 400);
    assertOutcome(await refused('POST', '', '{"resourceType": "Bundle", "type": "transaction", "entry": [{]}'), 400);
  });

  test('a body of another resourceType, an unknown one or none is a 400 at resourceType', async () => {
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
    assertOutcome(await refused('POST', 'Patient', observation), 400, 'Patient.resourceType');
    assertOutcome(await refused('PUT', 'Patient/p1', { ...observation, id: 'p1' }), 400, 'Patient.resourceType');
    assertOutcome(await refused('POST', 'Patient', { resourceType: 'Foo', id: 'x' }), 400, 'Patient.resourceType');
    assertOutcome(await refused('POST', 'Patient', { name: [{ family: 'x' }] }), 400, 'Patient.resourceType');
    assertOutcome(await refused('POST', '', patient), 400, 'Bundle');
  });

  test('a body that is a JSON array, number, string, null or empty is a 400', async () => {
    for (const body of ['[]', '[{"resourceType":"Patient"}]', '42', '"Patient"', 'true', 'null']) {
      assertOutcome(await refused('POST', 'Patient', body), 400, 'Patient');
      assertOutcome(await refused('PUT', 'Patient/p1', body), 400, 'Patient');
      assertOutcome(await refused('POST', '', body), 400, 'Bundle');
    }
    assertOutcome(await refused('POST', 'Patient', undefined, { 'content-type': 'application/fhir+json' }), 400, 'Patient');
  });

  test('update: an id in the body other than the URL’s, or none, is a 400 at Patient.id', async () => {
    assertOutcome(await refused('PUT', 'Patient/p1', { ...patient, id: 'p2' }), 400, 'Patient.id');
    assertOutcome(await refused('PUT', 'Patient/p1', patient), 400, 'Patient.id');
  });

  test('an invalid id in the URL is a 400 and an invalid one in the body a 4xx, both at Patient.id', async () => {
    for (const id of ['a'.repeat(65), 'a$b', 'a_b', 'a%20b']) {
      assertOutcome(await refused('PUT', `Patient/${id}`, { ...patient, id: decodeURIComponent(id) }), 400, 'Patient.id');
      assertOutcome(await refused('GET', `Patient/${id}`), 400, 'Patient.id');
      assertOutcome(await refused('DELETE', `Patient/${id}`), 400, 'Patient.id');
    }
    assertOutcome(await refused('PUT', 'Patient/a', { ...patient, id: 'a$b' }), 422, 'Patient.id');
    assertOutcome(await refused('POST', 'Patient', { ...patient, id: 'x'.repeat(65) }), 422, 'Patient.id');
    assert.equal((await server.fhir('PUT', `Patient/${'a'.repeat(64)}`, { ...patient, id: 'a'.repeat(64) })).status, 201, '64 characters is the limit, not over it');
  });

  test('an unknown resource type in the URL is a 404', async () => {
    assertOutcome(await refused('GET', 'Foo/1'), 404);
    assertOutcome(await refused('POST', 'Foo', { ...patient, resourceType: 'Foo' }), 404);
    assertOutcome(await refused('PUT', 'Foo/1', { ...patient, resourceType: 'Foo', id: '1' }), 404);
    assertOutcome(await refused('GET', 'patient/1'), 404, undefined);
  });

  test('a URL that is not validly percent-encoded is a 400 OperationOutcome', async () => {
    assertOutcome(await refused('GET', 'Patient/%E0%A4%A'), 400);
    assertOutcome(await refused('PUT', 'Patient/%', patient), 400);
  });

  test('an unknown element is a 422 naming it', async () => {
    assertOutcome(await refused('POST', 'Patient', { ...patient, foo: 1 }), 422, 'Patient.foo');
    assertOutcome(await refused('POST', 'Patient', { ...patient, name: [{ family: 'x', surname: 'y' }] }), 422);
  });

  test('an invalid date, type or code is a 422 naming the element path', async () => {
    assertOutcome(await refused('POST', 'Patient', { ...patient, birthDate: '1990-13-45' }), 422, 'Patient.birthDate');
    assertOutcome(await refused('POST', 'Patient', { ...patient, birthDate: 19900520 }), 422, 'Patient.birthDate');
    assertOutcome(await refused('POST', 'Patient', { ...patient, active: 'yes' }), 422, 'Patient.active');
    assertOutcome(await refused('POST', 'Patient', { ...patient, name: { family: 'x' } }), 422, 'Patient.name');
    assertOutcome(await refused('POST', 'Patient', { ...patient, gender: null }), 422, 'Patient.gender');
    const reply = await refused('POST', 'Patient', { ...patient, gender: 'unknown-gender' });
    assertOutcome(reply, 422, 'Patient.gender');
    assert.equal(reply.body.issue[0].code, 'code-invalid');
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueInteger: 1.5 };
    assertOutcome(await refused('POST', 'Observation', observation), 422);
  });

  test('duplicate JSON keys are a 400 at the duplicated element, also inside a Bundle', async () => {
    const reply = await refused('POST', 'Patient', '{"resourceType":"Patient","gender":"male","gender":"female"}');
    assertOutcome(reply, 400, 'Patient.gender');
    assert.equal(reply.body.issue[0].code, 'structure');
    assertOutcome(await refused('POST', 'Patient', '{"resourceType":"Patient","name":[{"family":"a","family":"b"}]}'), 400, 'Patient.name[0].family');
    assertOutcome(await refused('POST', 'Patient', '{"resourceType":"Patient","gender":"male","\\u0067ender":"female"}'), 400, 'Patient.gender');
    const bundle = `{"resourceType":"Bundle","type":"transaction","entry":[
      {"request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient"}},
      {"request":{"method":"POST","url":"Patient"},"resource":{"resourceType":"Patient","birthDate":"1990-01-01","birthDate":"1991-01-01"}}]}`;
    assertOutcome(await refused('POST', '', bundle), 400, 'Bundle.entry[1].resource.birthDate');
  });

  test('JSON nested deeper than any resource needs is a 400', async () => {
    const deep = `{"resourceType":"Patient","extension":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const reply = await refused('POST', 'Patient', deep);
    assertOutcome(reply, 400);
    assert.match(reply.body.issue[0].details.text, /nested deeper/);
    const deepObjects = `{"resourceType":"Patient","extension":[${'{"extension":['.repeat(200)}${']}'.repeat(200)}]}`;
    assertOutcome(await refused('POST', 'Patient', deepObjects), 400);
    const deepBundle = JSON.stringify(transaction('transaction', [post(patient)])).replace('"gender":"female"', `"gender":${'['.repeat(300)}${']'.repeat(300)}`);
    assertOutcome(await refused('POST', '', deepBundle), 400);
  });

  test('a body that is not JSON by its Content-Type is a 415', async () => {
    assertOutcome(await refused('POST', 'Patient', '<Patient xmlns="http://hl7.org/fhir"/>', { 'content-type': 'application/fhir+xml' }), 415);
    assertOutcome(await refused('POST', 'Patient', JSON.stringify(patient), { 'content-type': 'application/xml' }), 415);
    assertOutcome(await refused('POST', 'Patient', JSON.stringify(patient), { 'content-type': 'text/plain' }), 415);
    assertOutcome(await refused('POST', '', JSON.stringify(transaction('batch', [])), { 'content-type': 'application/fhir+xml' }), 415);
    const noType = await refused('POST', 'Patient', JSON.stringify(patient), { 'content-type': '' });
    assertOutcome(noType, 415);
    assert.equal(noType.body.issue[0].code, 'not-supported');
  });

  test('asking for XML, by Accept or _format, is a 406', async () => {
    assertOutcome(await refused('GET', 'Patient', undefined, { accept: 'application/fhir+xml' }), 406);
    assertOutcome(await refused('POST', 'Patient', patient, { accept: 'application/fhir+xml' }), 406);
    assertOutcome(await refused('GET', 'Patient?_format=xml'), 406);
    assertOutcome(await refused('GET', 'metadata?_format=application/fhir%2Bxml'), 406);
    assertOutcome(await refused('POST', 'Patient?_format=xml', patient), 406);
    assert.equal((await server.fhir('GET', 'Patient?_format=json')).status, 200);
    assert.equal((await server.fhir('GET', 'Patient', undefined, { accept: 'application/fhir+json' })).status, 200);
  });

  test('PATCH: a bad JSON Patch document is a 4xx and leaves the resource at version 1', async () => {
    const id = (await server.fhir('POST', 'Patient', patient)).body.id;
    const at = `Patient/${id}`;
    assertOutcome(await refused('PATCH', at, { op: 'add', path: '/active', value: true }, JSON_PATCH), 400, 'JSONPatch');
    assertOutcome(await refused('PATCH', at, '{"not":"json"', JSON_PATCH), 400);
    assertOutcome(await refused('PATCH', at, [{ op: 'bogus', path: '/active' }], JSON_PATCH), 400, 'JSONPatch[0]');
    assertOutcome(await refused('PATCH', at, [{ op: 'add', path: '/active', value: true }, null], JSON_PATCH), 400, 'JSONPatch[1]');
    assertOutcome(await refused('PATCH', at, [{ op: 'replace', path: '/nope/deeper', value: 1 }], JSON_PATCH), 400, 'JSONPatch[0]');
    assertOutcome(await refused('PATCH', at, [{ op: 'test', path: '/gender', value: 'male' }], JSON_PATCH), 400, 'JSONPatch[0]');
    assertOutcome(await refused('PATCH', at, [{ op: 'add', path: '/__proto__/polluted', value: 1 }], JSON_PATCH), 400);
    assertOutcome(await refused('PATCH', at, [{ op: 'replace', path: '/id', value: 'other' }], JSON_PATCH), 400, 'Patient.id');
    assertOutcome(await refused('PATCH', at, [{ op: 'remove', path: '' }], JSON_PATCH), 400);
    assertOutcome(await refused('PATCH', at, [{ op: 'add', path: '/birthDate', value: 'not a date' }], JSON_PATCH), 422, 'Patient.birthDate');
    assertOutcome(await refused('PATCH', at, [{ op: 'add', path: '/birthDate', value: '1990-01-01' }]), 415);
    assertOutcome(await refused('PATCH', 'Patient/not-there', [{ op: 'add', path: '/active', value: true }], JSON_PATCH), 404);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    assert.equal((await server.fhir('GET', at)).body.meta.versionId, '1');
  });

  test('the default body limit takes 50 MB transaction Bundles', () => {
    assert.ok(loadConfig({}).bodyLimit >= 50 * 1024 * 1024, `default bodyLimit is ${loadConfig({}).bodyLimit}`);
  });

  test('a 51 MB transaction Bundle of 5,000 small resources is accepted and stored', { timeout: 120_000 }, async () => {
    const before = await rows();
    const count = 5_000;
    const filler = 'x'.repeat(Math.ceil((51 * 1024 * 1024) / count));
    const entry = Array.from({ length: count }, (_, i) =>
      post({ resourceType: 'Basic', code: { text: `bulk ${i}` }, extension: [{ url: 'http://example.org/filler', valueString: filler }] }),
    );
    const body = JSON.stringify(transaction('transaction', entry));
    assert.ok(Buffer.byteLength(body) > 51 * 1024 * 1024);
    const reply = await server.fhir('POST', '', body, { prefer: 'return=minimal' });
    assert.equal(reply.status, 200, reply.text.slice(0, 500));
    assert.equal(reply.body.type, 'transaction-response');
    assert.equal(reply.body.entry.length, count);
    assert.ok(reply.body.entry.every((e: any) => e.response.status.startsWith('201')));
    const after = await rows();
    assert.equal(after.resources, before.resources + count);
    assert.equal(after.versions, before.versions + count);
    const [stored] = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Basic'`);
    assert.equal(stored!.n, count);
  });

  test('a transaction with one bad entry among good ones is refused whole and names the entry', async () => {
    const good = Array.from({ length: 4 }, (_, i) => post({ ...patient, name: [{ family: `Good${i}` }] }));
    const badDate = [...good.slice(0, 2), post({ ...patient, birthDate: 'yesterday' }), ...good.slice(2)];
    assertOutcome(await refused('POST', '', transaction('transaction', badDate)), 422, 'Bundle.entry[2].resource.birthDate');
    const badType = [...good, { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } }];
    assertOutcome(await refused('POST', '', transaction('transaction', badType)), 400, 'Bundle.entry[4].resource.resourceType');
    const unknownType = [...good, post(patient, 'Foo')];
    assertOutcome(await refused('POST', '', transaction('transaction', unknownType)), 404, 'Bundle.entry[4]');
    const idMismatch = [...good, { request: { method: 'PUT', url: 'Patient/x1' }, resource: { ...patient, id: 'x2' } }];
    assertOutcome(await refused('POST', '', transaction('transaction', idMismatch)), 400, 'Bundle.entry[4].resource.id');
    const stale = [...good, { request: { method: 'PUT', url: 'Patient/x1', ifMatch: 'W/"7"' }, resource: { ...patient, id: 'x1' } }];
    assertOutcome(await refused('POST', '', transaction('transaction', stale)), 412, 'Bundle.entry[4]');
    const missing = [...good, { request: { method: 'GET', url: 'Patient/never-was' } }];
    assertOutcome(await refused('POST', '', transaction('transaction', missing)), 404, 'Bundle.entry[4]');
    const twice = [...good, { request: { method: 'PUT', url: 'Patient/x1' }, resource: { ...patient, id: 'x1' } }, { request: { method: 'PUT', url: 'Patient/x1' }, resource: { ...patient, id: 'x1' } }];
    assertOutcome(await refused('POST', '', transaction('transaction', twice)), 400, 'Bundle.entry[5]');
  });

  test('a Bundle whose structure is wrong is a 400 naming the element', async () => {
    assertOutcome(await refused('POST', '', { resourceType: 'Bundle' }), 400, 'Bundle.type');
    assertOutcome(await refused('POST', '', { resourceType: 'Bundle', type: 'collection', entry: [] }), 400, 'Bundle.type');
    assertOutcome(await refused('POST', '', { resourceType: 'Bundle', type: 'transaction', entry: {} }), 400, 'Bundle.entry');
    const cases: [unknown, string][] = [
      [null, 'Bundle.entry[0]'],
      [{ request: 'POST Patient', resource: patient }, 'Bundle.entry[0].request.method'],
      [{ request: { method: 'FETCH', url: 'Patient' }, resource: patient }, 'Bundle.entry[0].request.method'],
      [{ request: { method: 'constructor', url: 'Patient' }, resource: patient }, 'Bundle.entry[0].request.method'],
      [{ request: { method: 'POST', url: 5 }, resource: patient }, 'Bundle.entry[0].request.url'],
      [{ request: { method: 'POST', url: '' }, resource: patient }, 'Bundle.entry[0].request.url'],
      [{ request: { method: 'GET', url: 'Patient/%E0%A4%A' } }, 'Bundle.entry[0].request.url'],
      [{ request: { method: 'PUT', url: 'Patient/x', ifMatch: 1 }, resource: { ...patient, id: 'x' } }, 'Bundle.entry[0].request.ifMatch'],
      [{ request: { method: 'POST', url: 'Patient', ifNoneExist: { identifier: 'x' } }, resource: patient }, 'Bundle.entry[0].request.ifNoneExist'],
      [{ request: { method: 'POST', url: 'Patient', ifNoneExist: 'birthdate=not-a-date' }, resource: patient }, 'Bundle.entry[0].request.ifNoneExist'],
      [{ request: { method: 'POST', url: 'Patient', ifNoneExist: 'no-such-param=1' }, resource: patient }, 'Bundle.entry[0].request.ifNoneExist'],
      [{ request: { method: 'PATCH', url: 'Patient/x' }, resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: 'bm90IGpzb24=' } }, 'Bundle.entry[0].resource.data'],
    ];
    for (const [entry, expression] of cases) {
      assertOutcome(await refused('POST', '', transaction('transaction', [entry, post(patient)])), 400, expression);
      const batch = await refused('POST', '', transaction('batch', [entry]));
      assert.equal(batch.status, 200, batch.text);
      assert.equal(batch.body.entry[0].response.status, '400', JSON.stringify(batch.body.entry[0]));
      assert.ok(batch.body.entry[0].response.outcome.issue.some((i: any) => i.expression?.includes(expression)), JSON.stringify(batch.body.entry[0]));
    }
  });

  test('a conditional reference that cannot be resolved names the reference in the entry', async () => {
    const observation = (reference: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference } });
    for (const reference of ['Patient?no-such-param=1', 'Patient?birthdate=not-a-date', 'Patient?identifier=http://x|nobody']) {
      assertOutcome(await refused('POST', '', transaction('transaction', [post(patient), post(observation(reference))])), 400, 'Bundle.entry[1].resource.subject.reference');
    }
  });

  test('more entries than the server takes is a 413 and stores none', async () => {
    const small = await startTestServer(driver, { maxBundleEntries: 3 });
    try {
      const reply = await small.fhir('POST', '', transaction('transaction', Array.from({ length: 4 }, () => post(patient))));
      assertOutcome(reply, 413, 'Bundle.entry');
      const [count] = await small.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource`);
      assert.equal(count!.n, 0);
    } finally {
      await small.close();
    }
  });

  test('a batch with one bad entry answers 200: that entry’s 4xx outcome, the others stored', async () => {
    const before = await rows();
    const entries = [
      post({ ...patient, name: [{ family: 'BatchA' }] }),
      post({ ...patient, birthDate: '1990-02-31T' }),
      post({ ...patient, name: [{ family: 'BatchB' }] }),
      '{not an entry}',
      { request: { method: 'PUT', url: 'Patient/batch-c' }, resource: { ...patient, id: 'batch-d' } },
      post({ ...patient, name: [{ family: 'BatchC' }] }),
    ];
    const reply = await server.fhir('POST', '', transaction('batch', entries));
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.type, 'batch-response');
    const statuses = reply.body.entry.map((e: any) => e.response.status.slice(0, 3));
    assert.deepEqual(statuses, ['201', '422', '201', '400', '400', '201']);
    const bad = reply.body.entry[1].response.outcome;
    assert.equal(bad.resourceType, 'OperationOutcome');
    assert.ok(bad.issue.some((i: any) => i.expression?.includes('Bundle.entry[1].resource.birthDate')), JSON.stringify(bad));
    assert.ok(reply.body.entry[4].response.outcome.issue.some((i: any) => i.expression?.includes('Bundle.entry[4].resource.id')));
    const after = await rows();
    assert.equal(after.resources, before.resources + 3);
    assert.equal(after.versions, before.versions + 3);
    for (const index of [0, 2, 5]) {
      const id = reply.body.entry[index].resource.id;
      assert.equal((await server.fhir('GET', `Patient/${id}`)).status, 200);
    }
  });

  test(
    'an element named like an Object.prototype member is an unknown element (422), not a 500',
    async () => {
      assertOutcome(await refused('POST', 'Patient', { ...patient, name: [{ family: 'x', valueOf: 1 }] }), 422, 'Patient.name[0].valueOf');
      assertOutcome(await refused('POST', 'Patient', { ...patient, constructor: 1 }), 422, 'Patient.constructor');
      assertOutcome(await refused('POST', 'Patient', '{"resourceType":"Patient","__proto__":{"gender":"male"}}'), 422, 'Patient.__proto__');
    },
  );

  test(
    'an empty array is a 422 at the element (FHIR JSON has none), not a 500',
    async () => {
      const language = { coding: [{ system: 'urn:ietf:bcp:47', code: 'kk', display: [] }] };
      assertOutcome(await refused('POST', 'Patient', { ...patient, communication: [{ language }] }), 422, 'Patient.communication[0].language.coding[0].display');
      assertOutcome(await refused('POST', 'Patient', { ...patient, name: [] }), 422, 'Patient.name');
    },
  );

  test('a dateTime with second 60 (a leap second, valid FHIR) is stored and found by date', async () => {
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'leap' }, effectiveDateTime: '2016-12-31T23:59:60Z' };
    const created = await server.fhir('POST', 'Observation', observation);
    assert.equal(created.status, 201, created.text);
    const found = await server.fhir('GET', `Observation?date=2016-12-31&_id=${created.body.id}`);
    assert.equal(found.body.entry.length, 1);
  });
});

for (const driver of testDrivers()) describe(`a body over the configured limit is a 413 OperationOutcome (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver, { bodyLimit: 1024 });
  });
  after(() => server.close());

  test('over 1 KiB is refused before parsing; under it is served', async () => {
    const big = { ...patient, name: [{ family: 'x'.repeat(2048) }] };
    const reply = await server.fhir('POST', 'Patient', big);
    assertOutcome(reply, 413);
    assert.equal(codeOf(reply.body.issue[0]), 'payload-too-large');
    assertOutcome(await server.fhir('POST', '', transaction('transaction', Array.from({ length: 20 }, () => post(patient)))), 413);
    assertOutcome(await server.fhir('POST', 'Patient', `{"resourceType":"Patient",${'"x":'.repeat(600)}`), 413);
    const [count] = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource`);
    assert.equal(count!.n, 0);
    assert.equal((await server.fhir('POST', 'Patient', patient)).status, 201);
  });
});
