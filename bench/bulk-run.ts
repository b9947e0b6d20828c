/**
 * Bulk data in and out, on PostgreSQL (DATABASE_URL): generate a synthetic population to NDJSON,
 * import it with every search index, compare with a raw COPY of the same JSON lines into an
 * unindexed table, and export it again. Each stage runs in a child process so its peak RSS is
 * its own.   npx tsx bench/bulk-run.ts [--patients 2000]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { openBenchDatabase } from './bench-database.js';

const run = promisify(execFile);

interface StageResult {
  resources: number;
  seconds: number;
  peakRssMb: number;
  detail?: Record<string, number>;
}

async function stage(name: string, args: Record<string, string>): Promise<StageResult> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bulk-stage.ts'), name, JSON.stringify(args)], {
    maxBuffer: 1 << 24,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as StageResult;
}

/** COPY of the NDJSON lines, as they are, into a table with no index: the floor of any import. */
async function rawCopy(url: string, dir: string): Promise<{ rows: number; seconds: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE raw_import (content text)');
  await client.end();
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).map((f) => join(dir, f));
  const started = performance.now();
  // CSV with control characters as quote and delimiter: every JSON line arrives as one field.
  await run('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy raw_import (content) from program 'cat ${files.join(' ')}' with (format csv, quote e'\\x01', delimiter e'\\x02')`]);
  const seconds = (performance.now() - started) / 1000;
  const check = new pg.Client({ connectionString: url });
  await check.connect();
  const rows = Number((await check.query<{ n: string }>('SELECT count(*)::text AS n FROM raw_import')).rows[0]!.n);
  await check.end();
  return { rows, seconds };
}

const { values } = parseArgs({ options: { patients: { type: 'string', default: process.env.BENCH_PATIENTS ?? '2000' } } });
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('bench/bulk-run.ts needs DATABASE_URL (a PostgreSQL server)');
const dir = await mkdtemp(join(tmpdir(), 'densaulyq-bulk-'));
const importDb = await openBenchDatabase('postgres', serverUrl);
const copyDb = await openBenchDatabase('postgres', serverUrl);
try {
  const generated = await stage('generate', { patients: values.patients!, out: join(dir, 'population') });
  const imported = await stage('import', { url: importDb.env.DATABASE_URL!, from: join(dir, 'population') });
  const copied = await rawCopy(copyDb.env.DATABASE_URL!, join(dir, 'population'));
  const exported = await stage('export', { url: importDb.env.DATABASE_URL!, out: join(dir, 'export') });
  const rate = (r: { resources: number; seconds: number }) => Math.round(r.resources / r.seconds);
  const rows = [
    ['generate to NDJSON', generated, '≥ 50,000/s'],
    ['import, all indexes (PostgreSQL)', imported, '≥ 10,000/s'],
    ['export to NDJSON', exported, '≥ 50,000/s'],
  ] as const;
  console.log(`\nBulk data, ${values.patients} patients (${generated.resources.toLocaleString('en-US')} resources), PostgreSQL, 2 cores`);
  console.log('stage                               resources/s   seconds   peak RSS   target');
  for (const [name, result, target] of rows) {
    console.log(`${name.padEnd(35)} ${rate(result).toLocaleString('en-US').padStart(11)} ${result.seconds.toFixed(1).padStart(9)} ${`${result.peakRssMb} MB`.padStart(10)}   ${target}`);
  }
  const copyRate = Math.round(copied.rows / copied.seconds);
  console.log(`${'raw COPY of the same lines'.padEnd(35)} ${copyRate.toLocaleString('en-US').padStart(11)} ${copied.seconds.toFixed(1).padStart(9)}`);
  console.log(`import / raw COPY: ${((100 * rate(imported)) / copyRate).toFixed(0)}% (target ≥ 50%)`);
  if (imported.detail) console.log(`import detail: ${JSON.stringify(imported.detail)}`);
} finally {
  await importDb.drop();
  await copyDb.drop();
  await rm(dir, { recursive: true, force: true });
}
