import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const SYNTHEA_DIR = join(import.meta.dirname, '../../../shared/data/synthea-r4');
const files = readdirSync(SYNTHEA_DIR).filter((f) => f.endsWith('.json')).sort();

/** The sent resource as the server should hold it: urn:uuid references replaced by the ids assigned. */
function expected(resource: any, ids: Map<string, string>): any {
  const copy = JSON.parse(JSON.stringify(resource), (key, value) => (key === 'reference' && ids.has(value) ? ids.get(value) : value));
  delete copy.id;
  delete copy.meta;
  return copy;
}

for (const driver of testDrivers()) describe(`Synthea R4 bundles through POST /fhir (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  test(`all ${files.length} bundles commit with no entry rejected, and read back as sent`, async () => {
    assert.ok(files.length >= 24, 'the shared Synthea data is there');
    let resources = 0;
    for (const file of files) {
      const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8'));
      const reply = await server.fhir('POST', '', bundle);
      assert.equal(reply.status, 200, `${file}: ${reply.text.slice(0, 500)}`);
      assert.equal(reply.body.entry.length, bundle.entry.length);
      const ids = new Map<string, string>();
      bundle.entry.forEach((entry: any, i: number) => {
        const response = reply.body.entry[i];
        assert.equal(response.response.status, '201 Created', `${file} entry ${i}`);
        ids.set(entry.fullUrl, `${entry.resource.resourceType}/${response.resource.id}`);
      });
      for (let i = 0; i < bundle.entry.length; i++) {
        const sent = bundle.entry[i].resource;
        const [type, id] = ids.get(bundle.entry[i].fullUrl)!.split('/');
        const read = await server.fhir('GET', `${type}/${id}`);
        assert.equal(read.status, 200);
        const { id: readId, meta, ...content } = read.body;
        assert.equal(readId, id);
        assert.equal(meta.versionId, '1');
        assert.deepEqual(content, expected(sent, ids), `${file} entry ${i} (${type})`);
        resources++;
      }
    }
    const rows = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource`);
    assert.equal(Number(rows[0]!.n), resources);
    const orphans = await server.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM resource WHERE resource_type IN ('Observation', 'Encounter', 'Condition') AND compartment IS NULL`,
    );
    assert.equal(Number(orphans[0]!.n), 0, 'every clinical resource carries its patient-compartment key');
  });
});
