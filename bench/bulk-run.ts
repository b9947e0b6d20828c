/**
 * Bulk data in and out, on PostgreSQL (DATABASE_URL): generate a synthetic population to NDJSON
 * (or take one with --from), import it with every search index (in worker threads, and in the
 * initial-load mode), and compare with the physical limit: COPY of the very rows the import
 * wrote (resource, version, index rows, words) into the same tables with the same indexes. With
 * --before, a checkout of earlier code imports the same files in the same run. Also prints the
 * CPU per resource of validation, of index extraction and of the database, the rows and bytes per
 * resource of each table (beside the earlier code's), and exports it again.
 * Each stage runs in a child process so its peak RSS is its own.
 *   npx tsx bench/bulk-run.ts [--patients 2000 | --from DIR] [--before DIR] [--workers N]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import pg from 'pg';
import { type BenchDatabase, openBenchDatabase } from './bench-database.js';
import { postmasterOf, serverCpuMs } from './cpu.js';
import { openDatabase } from '../src/store/open.js';

const run = promisify(execFile);

interface StageResult {
  resources: number;
  seconds: number;
  peakRssMb: number;
  detail?: Record<string, number>;
  /** CPU ms of the PostgreSQL server's processes during the stage. */
  databaseCpuMs?: number;
}

/** The tables an import fills, in the order the limit COPYs them. */
const WRITTEN_TABLES = [
  'resource',
  'resource_version',
  'search_token',
  'search_string',
  'search_date',
  'search_number',
  'search_uri',
  'search_reference',
  'search_text',
  'care_relationship',
  'consent_rule',
];

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

async function databaseCpu(url: string): Promise<() => Promise<number | undefined>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Read while the backend lives: its parent is the postmaster.
  const postmaster = await postmasterOf((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid).finally(() => client.end());
  const before = postmaster ? await serverCpuMs(postmaster) : undefined;
  return async () => {
    const after = postmaster ? await serverCpuMs(postmaster) : undefined;
    return before !== undefined && after !== undefined ? after - before : undefined;
  };
}

async function stage(name: string, args: Record<string, string>, options: { root?: string; url?: string } = {}): Promise<StageResult> {
  const root = options.root ?? join(import.meta.dirname, '..');
  const cpu = options.url ? await databaseCpu(options.url) : undefined;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(root, 'bench', 'bulk-stage.ts'), name, JSON.stringify(args)], {
    maxBuffer: 1 << 24,
    cwd: root,
  });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as StageResult;
  return { ...result, databaseCpuMs: await cpu?.() };
}

/**
 * The physical limit of an import: the rows it wrote, copied out to files first (not timed), then
 * COPYed into a fresh database with the same schema and indexes, one table after another.
 */
async function copyLimit(importedUrl: string, url: string, dir: string): Promise<StageResult> {
  await (await openDatabase({ databaseUrl: url })).close();
  const file = (table: string) => join(dir, `${table}.copy`);
  await run('psql', [importedUrl, '-v', 'ON_ERROR_STOP=1', ...WRITTEN_TABLES.flatMap((t) => ['-c', `\\copy ${t} to '${file(t)}'`])]);
  const cpu = await databaseCpu(url);
  const started = performance.now();
  await run('psql', [url, '-v', 'ON_ERROR_STOP=1', ...WRITTEN_TABLES.flatMap((t) => ['-c', `\\copy ${t} from '${file(t)}'`])]);
  const seconds = (performance.now() - started) / 1000;
  const [{ n }] = await query<{ n: string }>(url, 'SELECT count(*)::text AS n FROM resource');
  return { resources: Number(n), seconds, peakRssMb: 0, databaseCpuMs: await cpu() };
}

interface TableStorage {
  table: string;
  rows: number;
  /** Bytes of the table with its TOAST, and of its indexes. */
  heap: number;
  indexes: number;
}

/** What each written table holds after an import: rows, and bytes on disk of the table and of its indexes. */
async function storageOf(url: string): Promise<TableStorage[]> {
  const counts = WRITTEN_TABLES.map((t) => `SELECT '${t}' AS table, count(*)::float8 AS rows, pg_table_size('${t}')::float8 AS heap, pg_indexes_size('${t}')::float8 AS indexes FROM ${t}`);
  return query<TableStorage>(url, counts.join(' UNION ALL '));
}

/** Rows and bytes per resource of each table, now and (when measured) with the earlier code. */
function printStorage(resources: number, now: TableStorage[], before: TableStorage[] | undefined): void {
  const per = (n: number) => (n / resources).toFixed(n / resources < 10 ? 1 : 0);
  const cells = (s: TableStorage | undefined) => (s ? `${per(s.rows).padStart(8)} ${per(s.heap).padStart(9)} ${per(s.indexes).padStart(9)}` : ''.padStart(28));
  const sum = (list: TableStorage[]): TableStorage => ({
    table: 'all',
    rows: list.reduce((a, s) => a + s.rows, 0),
    heap: list.reduce((a, s) => a + s.heap, 0),
    indexes: list.reduce((a, s) => a + s.indexes, 0),
  });
  console.log(`\nStorage per resource (bytes on disk: table with TOAST, and its indexes)`);
  console.log(`${'table'.padEnd(20)} ${'now: rows   heap B   index B'.padStart(28)}   ${before ? 'earlier code: rows   heap B   index B' : ''}`);
  for (const table of now) console.log(`${table.table.padEnd(20)} ${cells(table)}   ${before ? cells(before.find((b) => b.table === table.table)) : ''}`);
  const total = (list: TableStorage[]) => list.reduce((a, s) => a + s.heap + s.indexes, 0);
  console.log(`${'all, MB'.padEnd(20)} ${(total(now) / 1e6).toFixed(0).padStart(28)}   ${before ? (total(before) / 1e6).toFixed(0).padStart(28) : ''}`);
  console.log(`${'all'.padEnd(20)} ${cells(sum(now))}   ${before ? cells(sum(before)) : ''}`);
}

/** COPY of the NDJSON lines, as they are, into a table with no index: the floor of any import. */
async function rawCopy(url: string, dir: string): Promise<{ rows: number; seconds: number }> {
  await query(url, 'CREATE TABLE raw_import (content text)');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).map((f) => join(dir, f));
  const started = performance.now();
  // CSV with control characters as quote and delimiter: every JSON line arrives as one field.
  await run('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy raw_import (content) from program 'cat ${files.join(' ')}' with (format csv, quote e'\\x01', delimiter e'\\x02')`]);
  const seconds = (performance.now() - started) / 1000;
  const [{ n }] = await query<{ n: string }>(url, 'SELECT count(*)::text AS n FROM raw_import');
  return { rows: Number(n), seconds };
}

const { values } = parseArgs({
  options: {
    patients: { type: 'string', default: process.env.BENCH_PATIENTS ?? '2000' },
    from: { type: 'string' },
    before: { type: 'string' },
    workers: { type: 'string', default: String(availableParallelism()) },
  },
});
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('bench/bulk-run.ts needs DATABASE_URL (a PostgreSQL server)');
const dir = await mkdtemp(join(tmpdir(), 'densaulyq-bulk-'));
const databases: BenchDatabase[] = [];
const database = async () => {
  const created = await openBenchDatabase('postgres', serverUrl);
  databases.push(created);
  return created.env.DATABASE_URL!;
};
try {
  const population = values.from ?? join(dir, 'population');
  const generated = values.from ? undefined : await stage('generate', { patients: values.patients!, out: population });
  const rate = (r: { resources: number; seconds: number }) => Math.round(r.resources / r.seconds);
  const perResource = (ms: number | undefined, r: StageResult) => (ms === undefined ? '—' : `${Math.round((ms * 1000) / r.resources)} µs`);
  const rows: [string, StageResult, string][] = [];
  if (generated) rows.push(['generate to NDJSON', generated, '≥ 50,000/s']);
  let storageBefore: TableStorage[] | undefined;
  if (values.before) {
    const url = await database();
    rows.push(['import, earlier code (--before)', await stage('import', { url, from: population }, { root: values.before, url }), '']);
    storageBefore = await storageOf(url);
  }
  const inThreadUrl = await database();
  const single = await stage('import', { url: inThreadUrl, from: population, workers: '0' }, { url: inThreadUrl });
  rows.push(['import, importing thread only', single, '']);
  const importUrl = await database();
  const imported = await stage('import', { url: importUrl, from: population, workers: values.workers! }, { url: importUrl });
  rows.push([`import, ${values.workers} worker threads`, imported, '≥ 10,000/s']);
  const initialUrl = await database();
  const initial = await stage('import', { url: initialUrl, from: population, workers: values.workers!, initial: 'true' }, { url: initialUrl });
  rows.push([`import --initial, ${values.workers} workers`, initial, '≥ 10,000/s']);
  const limit = await copyLimit(importUrl, await database(), dir);
  rows.push(['COPY of the same rows (limit)', limit, '']);
  const copied = await rawCopy(await database(), population);
  const cpu = await stage('cpu', { from: population });
  const exported = await stage('export', { url: importUrl, out: join(dir, 'export') });
  rows.push(['export to NDJSON', exported, '≥ 50,000/s']);

  console.log(`\nBulk data, ${generated ? `${values.patients} patients` : population} (${imported.resources.toLocaleString('en-US')} resources), PostgreSQL, ${availableParallelism()} cores`);
  console.log('stage                                 resources/s   seconds   peak RSS   of limit   DB CPU/res   Node CPU/res   target');
  for (const [name, result, target] of rows) {
    const ofLimit = result === limit || name.startsWith('generate') || name.startsWith('export') ? '' : `${((100 * rate(result)) / rate(limit)).toFixed(0)}%`;
    const nodeCpu = result.detail?.processCpuMs;
    console.log(
      `${name.padEnd(37)} ${rate(result).toLocaleString('en-US').padStart(11)} ${result.seconds.toFixed(1).padStart(9)} ${(result.peakRssMb ? `${result.peakRssMb} MB` : '').padStart(10)} ${ofLimit.padStart(10)} ${perResource(result.databaseCpuMs, result).padStart(12)} ${(nodeCpu === undefined ? '' : perResource(nodeCpu, result)).padStart(14)}   ${target}`,
    );
  }
  const copyRate = Math.round(copied.rows / copied.seconds);
  console.log(`${'raw COPY of the lines, no index'.padEnd(37)} ${copyRate.toLocaleString('en-US').padStart(11)} ${copied.seconds.toFixed(1).padStart(9)}`);
  console.log(`import / COPY of the same rows: ${((100 * rate(imported)) / rate(limit)).toFixed(0)}% with worker threads, ${((100 * rate(initial)) / rate(limit)).toFixed(0)}% --initial (target ≥ 50%)`);
  console.log(
    `CPU per resource, one thread: validation ${cpu.detail!.validationUs!.toFixed(1)} µs, index extraction (rows, words, facts, JSON) ${cpu.detail!.extractionUs!.toFixed(1)} µs; ` +
      `database (PostgreSQL processes during the import with workers) ${perResource(imported.databaseCpuMs, imported)}`,
  );
  console.log(`import detail: ${JSON.stringify(imported.detail)}`);
  printStorage(imported.resources, await storageOf(importUrl), storageBefore);
} finally {
  for (const created of databases) await created.drop();
  await rm(dir, { recursive: true, force: true });
}
