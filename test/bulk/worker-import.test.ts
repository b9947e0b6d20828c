import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { importAccess } from '../../src/access/door.js';
import { type RejectedLine, importFiles, ndjsonFiles } from '../../src/bulk/import.js';
import { inThread, workerPool } from '../../src/bulk/prepare-pool.js';
import type { Database } from '../../src/store/driver.js';
import { Repository } from '../../src/store/repository.js';
import { generatePopulation } from '../../src/synth/population.js';
import { testDrivers } from '../support/database.js';

/** Every table a write fills, with the columns that do not depend on when it ran. */
const TABLES: Record<string, string> = {
  resource: `resource_type, id, version_id, compartment, regexp_replace(content, '"lastUpdated":"[^"]*"', ''), author, security`,
  resource_version: `resource_type, id, version_id, compartment, method, regexp_replace(content, '"lastUpdated":"[^"]*"', ''), author, security`,
  search_token: '*',
  search_string: '*',
  search_date: '*',
  search_number: '*',
  search_uri: '*',
  search_reference: '*',
  search_text: '*',
  care_relationship: '*',
  consent_rule: '*',
};

async function tableRows(db: Database, table: string): Promise<string[]> {
  const rows = await db.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM (SELECT ${TABLES[table]} FROM ${table}) t`);
  return rows.map((r) => r.row).sort();
}

/** The resources of a table without their search_text row: each written resource has one, so none is half-written. */
async function halfWritten(db: Database): Promise<number> {
  const rows = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM resource r WHERE NOT EXISTS (SELECT 1 FROM search_text s WHERE s.resource_type = r.resource_type AND s.id = r.id)`,
  );
  return Number(rows[0]!.n);
}

for (const driver of testDrivers()) describe(`bulk import in worker threads (${driver.name})`, { skip: driver.skip }, () => {
  let dir: string;
  let files: string[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-workers-'));
    await generatePopulation({ patients: 12, seed: 3, outDir: dir });
    // Written as text: a decimal's precision as sent (1.50, 0.010) is what a thread must not lose.
    await writeFile(
      join(dir, 'Decimals.ndjson'),
      '{"resourceType":"Observation","id":"decimal-as-sent","status":"final","code":{"text":"glucose"},"valueQuantity":{"value":1.50,"unit":"mmol/L"},"referenceRange":[{"low":{"value":0.010}}]}\n',
    );
    files = await ndjsonFiles(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('worker threads write the same rows in every table as the importing thread alone', async () => {
    const single = await driver.open();
    const threaded = await driver.open();
    const pool = workerPool(2);
    try {
      const rejected: RejectedLine[] = [];
      const onRejected = (r: RejectedLine) => void rejected.push(r);
      // Batches too small for COPY in this thread, large enough for it in the threaded run: both write paths compared.
      const one = await importFiles(files, { repo: new Repository(single, importAccess()), onRejected, batchSize: 60, pool: inThread() });
      const many = await importFiles(files, { repo: new Repository(threaded, importAccess()), onRejected, batchSize: 150, pool });
      assert.deepEqual(rejected, []);
      assert.deepEqual(many, one);
      assert.ok(one.written > 300, 'enough resources for several batches, some by COPY');
      for (const table of Object.keys(TABLES)) assert.deepEqual(await tableRows(threaded, table), await tableRows(single, table), table);
      const stored = await new Repository(threaded, importAccess()).read('Observation', 'decimal-as-sent');
      assert.match(stored.json, /"valueQuantity":\{"value":1\.50,/);
      assert.match(stored.json, /"low":\{"value":0\.010\}/);
      const again = await importFiles(files, { repo: new Repository(threaded, importAccess()), onRejected, batchSize: 150, pool });
      assert.equal(again.written, 0, 're-running the threaded import changes nothing');
      assert.equal(again.unchanged, one.written);
    } finally {
      await pool.close();
      await single.close();
      await threaded.close();
    }
  });

  test('a bad line in the middle is reported with its number; nothing of it is written, the lines around it are', async () => {
    const db = await driver.open();
    const pool = workerPool(2);
    try {
      const lines = (await readFile(join(dir, 'Observation.ndjson'), 'utf8')).trim().split('\n').slice(0, 300);
      const bad = { ...JSON.parse(lines[150]!), id: 'impossible-date', effectiveDateTime: '2021-04-31T10:00:00Z' };
      const file = join(dir, 'middle.ndjson.part');
      await writeFile(file, [...lines.slice(0, 150), JSON.stringify(bad), ...lines.slice(150)].join('\n'));
      const rejected: RejectedLine[] = [];
      const progress = await importFiles([file], { repo: new Repository(db, importAccess()), onRejected: (r) => void rejected.push(r), batchSize: 100, pool });
      assert.deepEqual(rejected.map((r) => r.line), [151]);
      assert.ok(rejected[0]!.outcome.issue.some((i) => i.expression?.includes('Observation.effectiveDateTime')), JSON.stringify(rejected[0]));
      assert.equal(progress.written, 300);
      for (const table of ['resource', 'resource_version', 'search_token', 'search_date', 'search_reference', 'search_text']) {
        const [row] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE id = 'impossible-date'`);
        assert.equal(row!.n, '0', table);
      }
      assert.equal(await halfWritten(db), 0);
    } finally {
      await pool.close();
      await db.close();
    }
  });

  test('an initial load drops the deferrable indexes and builds them again as they were, also after an interruption', async () => {
    const db = await driver.open();
    const indexes = async () =>
      (await db.query<{ def: string }>(`SELECT indexdef AS def FROM pg_indexes WHERE tablename LIKE 'search_%' ORDER BY indexname`)).map((r) => r.def);
    try {
      const repo = new Repository(db, importAccess());
      const before = await indexes();
      await repo.deferIndexes();
      const during = await indexes();
      assert.ok(!during.some((def) => def.includes('USING gin')), 'the full-text GIN indexes wait');
      assert.ok(during.some((def) => def.includes('search_token_value')), 'identifier claims still find their index');
      // Interrupted here: the definitions wait in deferred_index for whoever builds them.
      await importFiles([join(dir, 'Patient.ndjson')], { repo, onRejected: () => assert.fail('no line is rejected') });
      assert.equal(await new Repository(db, importAccess()).buildDeferredIndexes(), 6);
      assert.deepEqual(await indexes(), before);
      assert.equal(await repo.buildDeferredIndexes(), 0, 'nothing left to build');
    } finally {
      await db.close();
    }
  });

  test('a worker that crashes fails the import: the batches before it are whole, nothing of the rest is written', async () => {
    const db = await driver.open();
    const pool = workerPool(1, new URL('./crashing-worker.mjs', import.meta.url));
    try {
      const lines = (await readFile(join(dir, 'Observation.ndjson'), 'utf8')).trim().split('\n').slice(0, 250);
      const file = join(dir, 'crash.ndjson.part');
      await writeFile(file, lines.join('\n'));
      await assert.rejects(
        importFiles([file], { repo: new Repository(db, importAccess()), onRejected: () => assert.fail('no line is rejected'), batchSize: 100, pool }),
        /bulk-load worker thread failed: a fault inside the worker/,
      );
      const [row] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource`);
      assert.equal(row!.n, '100', 'the first batch only');
      assert.equal(await halfWritten(db), 0);
      await assert.rejects(pool.prepare([[1, lines[0]!]]), /worker thread failed/, 'a failed pool takes no more work');
    } finally {
      await pool.close();
      await db.close();
    }
  });
});
