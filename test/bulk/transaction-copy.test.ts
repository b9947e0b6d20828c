import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

/** A transaction of one Patient and `observations` Observations about it, by urn:uuid; `bad` makes one entry invalid. */
function labTransaction(observations: number, bad?: number) {
  const patientUrn = 'urn:uuid:5f0c1d2e-3a4b-4c5d-8e6f-708192a3b4c5';
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: patientUrn, resource: { resourceType: 'Patient', name: [{ family: 'Сейітқали' }] }, request: { method: 'POST', url: 'Patient' } },
      ...Array.from({ length: observations }, (_, i) => ({
        resource: {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
          subject: { reference: patientUrn },
          effectiveDateTime: i === bad ? '2021-04-31T10:00:00Z' : '2021-04-30T10:00:00Z',
          valueQuantity: { value: 5 + i / 100, unit: 'mmol/L' },
        },
        request: { method: 'POST', url: 'Observation' },
      })),
    ],
  };
}

for (const driver of testDrivers()) describe(`large transaction Bundles on the bulk write path (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  test('300 creates (written by COPY) resolve their references and are found by search', async () => {
    const reply = await server.fhir('POST', '', labTransaction(300));
    assert.equal(reply.status, 200, reply.text);
    const patient = reply.body.entry[0].resource.id;
    const found = await server.fhir('GET', `Observation?subject=Patient/${patient}&date=2021-04-30&_count=500`);
    assert.equal(found.status, 200);
    assert.equal(found.body.entry.length, 300);
    assert.equal(found.body.entry[0].resource.subject.reference, `Patient/${patient}`);
  });

  test('one impossible date among 300 creates stores none of them and names its entry', async () => {
    const [before] = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource`);
    const reply = await server.fhir('POST', '', labTransaction(300, 200));
    assert.ok(reply.status >= 400 && reply.status < 500, String(reply.status));
    assert.ok(reply.body.issue.some((i: { expression?: string[] }) => i.expression?.includes('Bundle.entry[201].resource.effectiveDateTime')), reply.text);
    const [after] = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource`);
    assert.equal(after!.n, before!.n);
  });

  test('an entry failing after the creates were COPYed rolls them back with it', async () => {
    const [before] = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM search_token`);
    const creates = labTransaction(300);
    // PUTs run after POSTs (https://hl7.org/fhir/R4/http.html#trules): this one fails its precondition last.
    const late = {
      resource: { resourceType: 'Organization', id: 'copy-rollback', name: 'Ауылдық амбулатория' },
      request: { method: 'PUT', url: 'Organization/copy-rollback', ifMatch: 'W/"7"' },
    };
    const bundle = { ...creates, entry: [...creates.entry, late] };
    const reply = await server.fhir('POST', '', bundle);
    assert.equal(reply.status, 412, reply.text);
    const [after] = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM search_token`);
    assert.equal(after!.n, before!.n, 'no index row of the rolled-back creates stays');
  });
});
