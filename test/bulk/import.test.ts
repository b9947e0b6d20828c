import { importAccess } from '../../src/access/door.js';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RejectedLine, importFiles, ndjsonFiles } from '../../src/bulk/import.js';
import type { Database } from '../../src/store/driver.js';
import { Repository } from '../../src/store/repository.js';
import { generatePopulation } from '../../src/synth/population.js';
import { testDrivers } from '../support/database.js';

async function countRows(db: Database, table: string): Promise<number> {
  return Number((await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`))[0]!.n);
}

for (const driver of testDrivers()) describe(`bulk NDJSON import (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  let dir: string;
  let generated: number;
  before(async () => {
    db = await driver.open();
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-import-'));
    generated = (await generatePopulation({ patients: 30, seed: 7, outDir: dir })).resources;
  });
  after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a generated population imports whole, with its ids, and re-importing it writes nothing', async () => {
    const rejected: RejectedLine[] = [];
    const files = await ndjsonFiles(dir);
    assert.ok(files.length >= 10);
    const first = await importFiles(files, { repo: new Repository(db, importAccess()), onRejected: (r) => void rejected.push(r), batchSize: 200 });
    assert.equal(rejected.length, 0, JSON.stringify(rejected[0]));
    assert.equal(first.read, generated);
    assert.equal(first.written, generated);
    assert.equal(await countRows(db, 'resource'), generated);
    const patientLine = (await readFile(join(dir, 'Patient.ndjson'), 'utf8')).split('\n')[0]!;
    const patient = JSON.parse(patientLine);
    const stored = await new Repository(db, importAccess()).read('Patient', patient.id);
    assert.deepEqual(JSON.parse(stored.json).identifier, patient.identifier);

    const again = await importFiles(files, { repo: new Repository(db, importAccess()), onRejected: (r) => void rejected.push(r) });
    assert.equal(again.written, 0);
    assert.equal(again.unchanged, generated);
    assert.equal(await countRows(db, 'resource_version'), generated, 'no new versions');
  });

  test('a changed line makes a new version of that resource only', async () => {
    const lines = (await readFile(join(dir, 'Patient.ndjson'), 'utf8')).trim().split('\n');
    const changed = { ...JSON.parse(lines[0]!), gender: 'other' };
    const file = join(dir, 'changed.ndjson.part');
    await writeFile(file, [JSON.stringify(changed), ...lines.slice(1)].join('\n'));
    const progress = await importFiles([file], { repo: new Repository(db, importAccess()), onRejected: () => undefined });
    assert.equal(progress.written, 1);
    assert.equal(progress.unchanged, lines.length - 1);
    const stored = await new Repository(db, importAccess()).read('Patient', changed.id);
    assert.equal(stored.versionId, '2');
    assert.equal(JSON.parse(stored.json).gender, 'other');
  });

  test('broken lines are each reported with their line number and an OperationOutcome; the good ones load', async () => {
    const good = { resourceType: 'Organization', id: 'org-import-ok', name: 'Қалалық емхана' };
    const lines = [
      JSON.stringify(good),
      '{"resourceType": "Patient", "id": "broken-json"',
      JSON.stringify({ resourceType: 'NotAType', id: 'x' }),
      JSON.stringify({ resourceType: 'Patient', birthDate: 'yesterday', id: 'bad-date' }),
      '',
      JSON.stringify({ resourceType: 'Patient', gender: 'male' }),
      '{"resourceType":"Patient","id":"dup","id":"dup2"}',
      JSON.stringify({ ...good, id: 'org-import-ok-2' }),
    ];
    const file = join(dir, 'broken.ndjson.part');
    await writeFile(file, lines.join('\n'));
    const rejected: RejectedLine[] = [];
    const progress = await importFiles([file], { repo: new Repository(db, importAccess()), onRejected: (r) => void rejected.push(r) });
    assert.deepEqual(rejected.map((r) => r.line), [2, 3, 4, 6, 7]);
    for (const r of rejected) assert.equal(r.outcome.resourceType, 'OperationOutcome');
    assert.ok(rejected[2]!.outcome.issue.some((i) => i.expression?.includes('Patient.birthDate')));
    assert.equal(progress.rejected, 5);
    assert.equal(progress.written, 2);
    await new Repository(db, importAccess()).read('Organization', 'org-import-ok-2');
  });

  test('$import over HTTP loads an NDJSON body and names each rejected line', async () => {
    const { startTestServer } = await import('../support/server.js');
    const server = await startTestServer(driver);
    try {
      const body = [
        JSON.stringify({ resourceType: 'Organization', id: 'http-import-1', name: 'Аудандық аурухана' }),
        '{"resourceType":"Patient","id":"broken"',
        JSON.stringify({ resourceType: 'Patient', id: 'http-import-2', gender: 'female' }),
      ].join('\n');
      const reply = await server.fhir('POST', '$import', body, { 'content-type': 'application/fhir+ndjson' });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.resourceType, 'OperationOutcome');
      assert.match(reply.body.issue[0].diagnostics, /written 2, unchanged 0, rejected 1/);
      assert.equal(reply.body.issue[1].expression[0], 'line[2]');
      assert.equal((await server.fhir('GET', 'Patient/http-import-2')).status, 200);
      const again = await server.fhir('POST', '$import', body, { 'content-type': 'application/fhir+ndjson' });
      assert.match(again.body.issue[0].diagnostics, /written 0, unchanged 2, rejected 1/);
      assert.equal((await server.fhir('POST', '$import', '{"resourceType":"Patient"}')).status, 415, 'JSON is not NDJSON');
    } finally {
      await server.close();
    }
  });

  test('a Patient whose IIN fails the national rules is rejected with the identifier named', async () => {
    const file = join(dir, 'bad-iin.ndjson.part');
    await writeFile(file, JSON.stringify({ resourceType: 'Patient', id: 'bad-iin', identifier: [{ system: 'http://densaulyq.kz/fhir/sid/iin', value: '900101300001' }] }));
    const rejected: RejectedLine[] = [];
    await importFiles([file], { repo: new Repository(db, importAccess()), onRejected: (r) => void rejected.push(r) });
    assert.equal(rejected.length, 1);
    assert.deepEqual(rejected[0]!.outcome.issue[0]!.expression, ['Patient.identifier[0].value']);
  });

  test('a second Patient with an IIN already held is rejected on its line, the rest of the batch loads', async () => {
    const { buildIin } = await import('../../src/identity/iin.js');
    let value: string | null = null;
    for (let serial = 1; !value; serial++) value = buildIin({ birthDate: '1991-09-09', sex: 'male', serial });
    const line = (id: string) => JSON.stringify({ resourceType: 'Patient', id, identifier: [{ system: 'http://densaulyq.kz/fhir/sid/iin', value }] });
    const file = join(dir, 'duplicate-iin.ndjson.part');
    await writeFile(file, [line('iin-holder'), line('iin-duplicate'), JSON.stringify({ resourceType: 'Basic', id: 'after-duplicate', code: { text: 'x' } })].join('\n'));
    const rejected: RejectedLine[] = [];
    const progress = await importFiles([file], { repo: new Repository(db, importAccess()), onRejected: (r) => void rejected.push(r) });
    assert.deepEqual(rejected.map((r) => [r.line, r.outcome.issue[0]!.code]), [[2, 'duplicate']]);
    assert.equal(progress.written, 2);
    assert.equal(progress.rejected, 1);
  });

  test('a folder import takes only its .ndjson files', async () => {
    const names = (await ndjsonFiles(dir)).map((f) => f.slice(dir.length + 1));
    assert.deepEqual(names, (await readdir(dir)).filter((n) => n.endsWith('.ndjson')).sort());
  });
});
