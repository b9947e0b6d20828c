import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const patient = { resourceType: 'Patient', name: [{ family: 'Әбенов', given: ['Нұрлан'] }], gender: 'male', birthDate: '1985-03-14' };

for (const driver of testDrivers()) describe(`CRUD and history over HTTP (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  test('create assigns an id, version 1, and answers 201 with Location, ETag and Last-Modified', async () => {
    const reply = await server.fhir('POST', 'Patient', { ...patient, id: 'client-chosen' });
    assert.equal(reply.status, 201);
    assert.notEqual(reply.body.id, 'client-chosen', 'a create ignores the id in the body');
    assert.equal(reply.body.meta.versionId, '1');
    assert.equal(reply.headers.get('etag'), 'W/"1"');
    assert.match(reply.headers.get('location')!, new RegExp(`/fhir/Patient/${reply.body.id}/_history/1$`));
    assert.ok(reply.headers.get('last-modified'));
    assert.match(reply.headers.get('content-type')!, /application\/fhir\+json/);
    assert.deepEqual(reply.body.name, patient.name);
  });

  test('read returns what was stored; vread returns each version; update makes version 2', async () => {
    const created = (await server.fhir('POST', 'Patient', patient)).body;
    const updated = await server.fhir('PUT', `Patient/${created.id}`, { ...patient, id: created.id, gender: 'female' });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.meta.versionId, '2');
    const read = await server.fhir('GET', `Patient/${created.id}`);
    assert.equal(read.body.gender, 'female');
    const v1 = await server.fhir('GET', `Patient/${created.id}/_history/1`);
    assert.equal(v1.status, 200);
    assert.equal(v1.body.gender, 'male');
    assert.equal((await server.fhir('GET', `Patient/${created.id}/_history/9`)).status, 404);
  });

  test('update-as-create with a client id answers 201, then 200', async () => {
    const first = await server.fhir('PUT', 'Patient/kz-0001', { ...patient, id: 'kz-0001' });
    assert.equal(first.status, 201);
    assert.equal(first.body.meta.versionId, '1');
    const second = await server.fhir('PUT', 'Patient/kz-0001', { ...patient, id: 'kz-0001' });
    assert.equal(second.status, 200);
    assert.equal(second.body.meta.versionId, '2');
  });

  test('delete is versioned: read is 410 Gone, history keeps every version, re-create works', async () => {
    const created = (await server.fhir('POST', 'Patient', patient)).body;
    assert.equal((await server.fhir('DELETE', `Patient/${created.id}`)).status, 204);
    assert.equal((await server.fhir('GET', `Patient/${created.id}`)).status, 410);
    assert.equal((await server.fhir('DELETE', `Patient/${created.id}`)).status, 204, 'deleting again is a no-op');
    const history = await server.fhir('GET', `Patient/${created.id}/_history`);
    assert.equal(history.body.type, 'history');
    assert.deepEqual(history.body.entry.map((e: any) => e.request.method), ['DELETE', 'POST']);
    assert.equal(history.body.entry[0].resource, undefined);
    assert.equal((await server.fhir('GET', `Patient/${created.id}/_history/2`)).status, 410);
    const recreated = await server.fhir('PUT', `Patient/${created.id}`, { ...patient, id: created.id });
    assert.equal(recreated.status, 201);
    assert.equal(recreated.body.meta.versionId, '3');
  });

  test('read of an unknown id is 404 and of an unknown type is 404 with an OperationOutcome', async () => {
    const unknown = await server.fhir('GET', 'Patient/does-not-exist');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.resourceType, 'OperationOutcome');
    const badType = await server.fhir('GET', 'Patient2/x');
    assert.equal(badType.status, 404);
    assert.equal(badType.body.resourceType, 'OperationOutcome');
  });

  test('If-None-Match and If-Modified-Since answer 304', async () => {
    const created = await server.fhir('POST', 'Patient', patient);
    const id = created.body.id;
    assert.equal((await server.fhir('GET', `Patient/${id}`, undefined, { 'if-none-match': 'W/"1"' })).status, 304);
    assert.equal((await server.fhir('GET', `Patient/${id}`, undefined, { 'if-none-match': 'W/"2"' })).status, 200);
    const lastModified = created.headers.get('last-modified')!;
    assert.equal((await server.fhir('GET', `Patient/${id}`, undefined, { 'if-modified-since': lastModified })).status, 304);
    const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    assert.equal((await server.fhir('GET', `Patient/${id}`, undefined, { 'if-modified-since': earlier })).status, 200);
  });

  test('If-Match: the current version updates, a stale one is 412 and changes nothing', async () => {
    const id = (await server.fhir('POST', 'Patient', patient)).body.id;
    const ok = await server.fhir('PUT', `Patient/${id}`, { ...patient, id, gender: 'female' }, { 'if-match': 'W/"1"' });
    assert.equal(ok.status, 200);
    const stale = await server.fhir('PUT', `Patient/${id}`, { ...patient, id, gender: 'other' }, { 'if-match': 'W/"1"' });
    assert.equal(stale.status, 412);
    assert.equal((await server.fhir('GET', `Patient/${id}`)).body.gender, 'female');
    assert.equal((await server.fhir('DELETE', `Patient/${id}`, undefined, { 'if-match': 'W/"1"' })).status, 412);
  });

  test('concurrent writers with If-Match: exactly one of them wins each version, none is lost', async () => {
    const id = (await server.fhir('POST', 'Patient', patient)).body.id;
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, i) => server.fhir('PUT', `Patient/${id}`, { ...patient, id, birthDate: `1990-01-0${i + 1}` }, { 'if-match': 'W/"1"' })),
    );
    assert.deepEqual(attempts.map((a) => a.status).sort(), [200, 412, 412, 412, 412, 412, 412, 412]);
    const current = await server.fhir('GET', `Patient/${id}`);
    assert.equal(current.body.meta.versionId, '2');
  });

  test('Prefer: return=minimal sends no body; return=OperationOutcome sends one', async () => {
    const minimal = await server.fhir('POST', 'Patient', patient, { prefer: 'return=minimal' });
    assert.equal(minimal.status, 201);
    assert.equal(minimal.text, '');
    assert.ok(minimal.headers.get('location'));
    const withOutcome = await server.fhir('POST', 'Patient', patient, { prefer: 'return=OperationOutcome' });
    assert.equal(withOutcome.status, 201);
    assert.equal(withOutcome.body.resourceType, 'OperationOutcome');
  });

  test('_summary and _elements on read return a SUBSETTED subset', async () => {
    const id = (await server.fhir('POST', 'Patient', { ...patient, text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } })).body.id;
    const elements = await server.fhir('GET', `Patient/${id}?_elements=gender`);
    assert.equal(elements.body.gender, 'male');
    assert.equal(elements.body.name, undefined);
    assert.ok(elements.body.meta.tag.some((t: any) => t.code === 'SUBSETTED'));
    const summary = await server.fhir('GET', `Patient/${id}?_summary=true`);
    assert.deepEqual(summary.body.name, patient.name);
    assert.equal(summary.body.text, undefined);
    const data = await server.fhir('GET', `Patient/${id}?_summary=data`);
    assert.equal(data.body.text, undefined);
    assert.equal(data.body.gender, 'male');
  });

  test('_pretty indents the JSON', async () => {
    const id = (await server.fhir('POST', 'Patient', patient)).body.id;
    const pretty = await server.fhir('GET', `Patient/${id}?_pretty=true`);
    assert.match(pretty.text, /\n  "resourceType": "Patient"/);
  });

  test('type and system history page with next links and honour _since and _at', async () => {
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await server.fhir('POST', 'Practitioner', { resourceType: 'Practitioner', name: [{ family: `P${i}` }] })).body.id);
    const page1 = await server.fhir('GET', `Practitioner/_history?_count=2&_since=${encodeURIComponent(before)}`);
    assert.equal(page1.body.entry.length, 2);
    const seen = new Set<string>();
    let page = page1;
    for (;;) {
      for (const e of page.body.entry) seen.add(e.resource.id);
      const next = page.body.link.find((l: any) => l.relation === 'next');
      if (!next) break;
      page = await server.fhir('GET', next.url.replace(server.base, ''));
    }
    assert.deepEqual([...seen].sort(), [...ids].sort());
    const system = await server.fhir('GET', `_history?_since=${encodeURIComponent(before)}&_count=100`);
    assert.equal(system.body.entry.length, 5);
    const later = new Date(Date.now() + 60_000).toISOString();
    const none = await server.fhir('GET', `Practitioner/_history?_since=${encodeURIComponent(later)}`);
    assert.equal(none.body.entry.length, 0);
    const id = ids[0]!;
    const v1Time = (await server.fhir('GET', `Practitioner/${id}`)).body.meta.lastUpdated;
    await new Promise((r) => setTimeout(r, 5));
    await server.fhir('PUT', `Practitioner/${id}`, { resourceType: 'Practitioner', id, name: [{ family: 'Changed' }] });
    const at = await server.fhir('GET', `Practitioner/${id}/_history?_at=${encodeURIComponent(v1Time)}`);
    assert.deepEqual(at.body.entry.map((e: any) => e.resource.meta.versionId), ['1']);
  });

  test('instance history orders versions as numbers and pages through all of them', async () => {
    const id = (await server.fhir('POST', 'Patient', patient)).body.id;
    for (let i = 0; i < 11; i++) await server.fhir('PUT', `Patient/${id}`, { ...patient, id, birthDate: `1985-03-${String(i + 1).padStart(2, '0')}` });
    const versions: string[] = [];
    let page = await server.fhir('GET', `Patient/${id}/_history?_count=5`);
    for (;;) {
      versions.push(...page.body.entry.map((e: any) => e.response.etag));
      const next = page.body.link.find((l: any) => l.relation === 'next');
      if (!next) break;
      page = await server.fhir('GET', next.url.replace(server.base, ''));
    }
    assert.deepEqual(versions, Array.from({ length: 12 }, (_, i) => `W/"${12 - i}"`));
  });

  test('the CapabilityStatement lists every resource type with the interactions implemented', async () => {
    const reply = await server.fhir('GET', 'metadata');
    assert.equal(reply.body.resourceType, 'CapabilityStatement');
    assert.equal(reply.body.fhirVersion, '4.0.1');
    const rest = reply.body.rest[0];
    assert.ok(rest.resource.length >= 140);
    const observation = rest.resource.find((r: any) => r.type === 'Observation');
    for (const code of ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type']) {
      assert.ok(observation.interaction.some((i: any) => i.code === code), code);
    }
    const params = new Set(observation.searchParam.map((p: any) => p.name));
    for (const name of ['code', 'code-value-quantity', 'value-quantity', 'subject', '_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', '_text', '_content', '_list']) {
      assert.ok(params.has(name), name);
    }
    assert.ok(rest.resource.find((r: any) => r.type === 'Location').searchParam.some((p: any) => p.name === 'near'));
    assert.deepEqual(rest.interaction.map((i: any) => i.code).sort(), ['batch', 'history-system', 'search-system', 'transaction']);
  });
});
