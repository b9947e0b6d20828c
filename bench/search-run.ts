/**
 * The search benchmark (issue "FHIR search, complete and fast"): loads a synthetic population
 * (src/synth/population.ts) at each size, then measures latency and throughput of the searches
 * in search-queries.ts over loopback HTTP, and how each grows from the smallest size to the
 * largest. It also compares write throughput with all search indexes (`Repository.writeMany`)
 * to the same rows written to `resource` and `resource_version` only.
 *
 *   npx tsx bench/search-run.ts [--sizes 100000,1000000] [--driver postgres|pglite] [--skip-baseline] [--only name,…]
 *   npx tsx bench/search-run.ts --report [--sizes …]   (prints the tables again from .bench/search-<size>.json)
 *
 * PostgreSQL (the default when DATABASE_URL is set) runs each size in a fresh
 * `bench_search_<random>` database, dropped afterwards; PGlite is for a small smoke run only.
 * The server runs in a child process (serve-target.ts), so autocannon and it each get a core.
 *
 * Environment: DATABASE_URL, BENCH_SECONDS (5), BENCH_WARMUP (1), BENCH_CONNECTIONS (8),
 * BENCH_LOG_LEVEL (server pino level, info as `npm start`; `off` for none), BENCH_LOAD_BATCH (1000),
 * BENCH_LOAD_WRITERS (2 on PostgreSQL, 1 on PGlite), BENCH_SEED (1), BENCH_KEEP_DATABASE (1 keeps
 * the loaded databases for EXPLAIN; the baseline ones are always dropped).
 * Results: tables on stdout and `.bench/search-<size>.json`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Bundle } from '@medplum/fhirtypes';
import { admin } from './bench-database.js';
import { openDatabase } from '../src/store/open.js';
import { type Measurement, call, measureHttp } from './load.js';
import { type LoadMode, type LoadResult, loadPopulation } from './search-load.js';
import { SEARCH_SCENARIOS, type Samples, type SearchGoal, type SearchScenario, sampleValues } from './search-queries.js';
import { bearer, startFhirTarget } from './target-process.js';
import { OUT_DIR, envInteger } from './settings.js';

type Driver = 'postgres' | 'pglite';

/** Requests sent one by one before the load, to check each search answers 200 with matches. */
const PROBES = 20;


const settings = {
  seconds: envInteger('BENCH_SECONDS', 5),
  warmupSeconds: envInteger('BENCH_WARMUP', 1),
  connections: envInteger('BENCH_CONNECTIONS', 8),
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
  batch: envInteger('BENCH_LOAD_BATCH', 1000),
  seed: envInteger('BENCH_SEED', 1),
  keep: !!process.env.BENCH_KEEP_DATABASE,
};

/** One database for one load: how to open it here, what the server child needs, and its removal. */
interface SizeDatabase {
  description: string;
  databaseUrl?: string;
  dataDir?: string;
  env: Record<string, string>;
  drop(keep: boolean): Promise<void>;
}

async function createDatabase(driver: Driver, serverUrl: string | undefined, label: string): Promise<SizeDatabase> {
  if (driver === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), `densaulyq-bench-search-${label}-`));
    return {
      description: `PGlite on disk (${dir})`,
      dataDir: dir,
      env: { BENCH_DATA_DIR: dir, DATABASE_URL: '' },
      async drop(keep) {
        if (keep) return console.error(`kept ${dir} (BENCH_KEEP_DATABASE)`);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  if (!serverUrl) throw new Error('The postgres driver needs DATABASE_URL');
  const name = `bench_search_${randomBytes(5).toString('hex')}`;
  const version = await admin(serverUrl, async (client) => {
    await client.query(`CREATE DATABASE ${name}`);
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    description: `PostgreSQL ${version} (${url.host}/${name})`,
    databaseUrl: url.toString(),
    env: { DATABASE_URL: url.toString(), BENCH_DATA_DIR: '' },
    async drop(keep) {
      if (keep) return console.error(`kept ${url} (BENCH_KEEP_DATABASE)`);
      await admin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

interface SearchResult {
  name: string;
  label: string;
  goal: SearchGoal;
  measurement: Measurement;
  /** Of the probes: non-200 answers, answers without a match, and matches per page (mean). */
  probe: { errors: number; empty: number; meanMatches: number; meanIncluded: number; firstError?: string };
  /** p95 minus the named scenario's p95, for `_include`. */
  overheadMs?: number;
  met?: boolean;
  target: string;
}

interface SizeReport {
  size: number;
  driver: Driver;
  description: string;
  machine: string;
  settings: typeof settings;
  date: string;
  load: LoadResult;
  baseline?: LoadResult;
  databaseBytes?: number;
  samples: { patients: number; observations: number; encounterPatients: number; rareCodes: string[]; commonCodes: string[]; codes: Samples['codes']; namedRareCodes: number };
  searches: SearchResult[];
  /** Queries only checked for answers (completeness), not timed. */
  checks: { name: string; label: string; probe: SearchResult['probe'] }[];
}

function targetText(goal: SearchGoal): string {
  const parts: string[] = [];
  if (goal.p95 !== undefined) parts.push(`p95≤${goal.p95}ms`);
  if (goal.throughput !== undefined) parts.push(`≥${goal.throughput.toLocaleString('en-US')}/s`);
  if (goal.overheadOver) parts.push(`+≤${goal.overheadOver.maxMs}ms p95 over ${goal.overheadOver.scenario}`);
  return parts.join(', ');
}

function judge(result: SearchResult, all: SearchResult[]): void {
  const { goal, measurement: m } = result;
  const checks: boolean[] = [];
  if (goal.p95 !== undefined) checks.push(m.p95 <= goal.p95);
  if (goal.throughput !== undefined) checks.push(m.throughput >= goal.throughput);
  if (goal.overheadOver) {
    const base = all.find((r) => r.name === goal.overheadOver!.scenario);
    if (base) {
      result.overheadMs = m.p95 - base.measurement.p95;
      checks.push(result.overheadMs <= goal.overheadOver.maxMs);
    }
  }
  if (checks.length) result.met = m.errors === 0 && result.probe.errors === 0 && result.probe.empty === 0 && checks.every(Boolean);
}

/** Sends PROBES requests one by one: each must be 200 with at least one match. */
async function probe(base: string, auth: { authorization: string }, scenario: SearchScenario, samples: Samples): Promise<SearchResult['probe']> {
  const next = scenario.next(samples);
  let errors = 0;
  let empty = 0;
  let matches = 0;
  let included = 0;
  let firstError: string | undefined;
  for (let i = 0; i < PROBES; i++) {
    const path = next();
    const reply = await call(`${base}${path}`, { headers: auth });
    if (reply.status !== 200) {
      errors++;
      firstError ??= `${reply.status} ${path}: ${reply.text.slice(0, 300)}`;
      continue;
    }
    const bundle = JSON.parse(reply.text) as Bundle;
    const entries = bundle.entry ?? [];
    const matched = entries.filter((e) => e.search?.mode !== 'include').length;
    matches += matched;
    included += entries.length - matched;
    if (matched === 0 && !(bundle.total && bundle.total > 0)) {
      empty++;
      firstError ??= `no match: ${path}`;
    }
  }
  return { errors, empty, meanMatches: matches / PROBES, meanIncluded: included / PROBES, firstError };
}

function progress(mode: LoadMode) {
  return (done: number, total: number, seconds: number) =>
    console.error(`  ${mode}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} in ${seconds.toFixed(0)} s (${Math.round(done / seconds)} resources/s)`);
}

async function load(database: SizeDatabase, size: number, mode: LoadMode, writers: number): Promise<{ load: LoadResult; samples?: Samples; bytes?: number }> {
  const db = await openDatabase({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  try {
    const result = await loadPopulation(db, { resources: size, seed: settings.seed, batch: settings.batch, writers, mode, onProgress: progress(mode) });
    console.error(
      `  ${mode}: ${result.resources.toLocaleString('en-US')} resources (${result.patients.toLocaleString('en-US')} Patients) in ${result.seconds.toFixed(1)} s — ` +
        `${Math.round(result.rate)} resources/s, batch p50 ${result.batchP50.toFixed(0)} ms, p95 ${result.batchP95.toFixed(0)} ms`,
    );
    if (mode === 'baseline') return { load: result };
    const t0 = performance.now();
    // VACUUM sets the visibility map (index-only scans), as autovacuum would on an insert-only table; ANALYZE the statistics.
    await db.query(db.kind === 'postgres' ? 'VACUUM (ANALYZE)' : 'ANALYZE');
    console.error(`  VACUUM (ANALYZE) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const samples = await sampleValues(db);
    const bytes = db.kind === 'postgres' ? Number((await db.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n'))[0]!.n) : undefined;
    return { load: result, samples, bytes };
  } finally {
    await db.close();
  }
}

async function measureSearches(database: SizeDatabase, samples: Samples, only: Set<string> | undefined): Promise<Pick<SizeReport, 'searches' | 'checks'>> {
  const fhir = await startFhirTarget({ BENCH_LOG_LEVEL: settings.logLevel, ...database.env });
  const base = `${fhir.origin}/fhir`;
  // An administrator granted clinical access: searches measured without an access condition.
  const auth = bearer(fhir.accounts.administrator);
  const results: SearchResult[] = [];
  const probes: SizeReport['checks'] = [];
  try {
    for (const scenario of SEARCH_SCENARIOS.filter((s) => !only || only.has(s.name))) {
      const checked = await probe(base, auth, scenario, samples);
      if (checked.firstError) console.error(`  ${scenario.name}: ${checked.firstError}`);
      if (scenario.probeOnly) {
        probes.push({ name: scenario.name, label: scenario.label, probe: checked });
        console.error(`  ${scenario.label} (checked only): ${PROBES - checked.empty - checked.errors}/${PROBES} found, matches/page ${checked.meanMatches.toFixed(1)}`);
        continue;
      }
      const next = scenario.next(samples);
      const measurement = await measureHttp({
        origin: fhir.origin,
        connections: settings.connections,
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        headers: auth,
        next: () => ({ method: 'GET', path: `/fhir${next()}` }),
      });
      const result: SearchResult = { name: scenario.name, label: scenario.label, goal: scenario.goal, measurement, probe: checked, target: targetText(scenario.goal) };
      results.push(result);
      console.error(
        `  ${scenario.label}: ${Math.round(measurement.throughput)} req/s, p50 ${measurement.p50.toFixed(2)} ms, p95 ${measurement.p95.toFixed(2)} ms, ` +
          `p99 ${measurement.p99.toFixed(2)} ms, errors ${measurement.errors}, matches/page ${checked.meanMatches.toFixed(1)}`,
      );
    }
  } finally {
    await fhir.stop();
  }
  for (const result of results) judge(result, results);
  return { searches: results, checks: probes };
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function ms(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return '—';
  return Math.abs(value) >= 100 ? integer.format(value) : value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

function table(header: string[], rows: string[][], numeric: Set<number>): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function formatSize(report: SizeReport): string {
  const settings = report.settings;
  const title =
    `\nSearch at ${integer.format(report.load.resources)} resources (${integer.format(report.load.patients)} Patients) — ${report.description}; ${report.machine}; ` +
    `${settings.connections} connections, ${settings.seconds} s per query after ${settings.warmupSeconds} s warm-up, server log level ${settings.logLevel}`;
  const rows = report.searches.map((r) => {
    const m = r.measurement;
    const errors = m.errors + r.probe.errors;
    return [
      r.label,
      integer.format(m.throughput),
      ...(m.count === 0 ? ['—', `>${integer.format(m.seconds * 1000)}`, '—'] : [ms(m.p50), ms(m.p95), ms(m.p99)]),
      errors === 0 ? '0' : `${errors}${m.firstErrorStatus ? ` (${m.firstErrorStatus})` : ''}`,
      r.probe.empty ? `${r.probe.empty}/${PROBES} EMPTY` : r.probe.meanMatches.toFixed(1) + (r.probe.meanIncluded ? ` +${r.probe.meanIncluded.toFixed(1)} incl` : ''),
      r.target + (r.overheadMs !== undefined ? ` (+${ms(r.overheadMs)})` : ''),
      r.met === undefined ? '' : r.met ? 'yes' : 'NO',
    ];
  });
  const checks = report.checks.map(
    (c) => `check ${c.label}: ${PROBES - c.probe.empty - c.probe.errors}/${PROBES} answered with matches${c.probe.firstError ? ` — first failure: ${c.probe.firstError}` : ''}`,
  );
  return `${title}\n${table(['query', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'matches/page', 'target', 'met?'], rows, new Set([1, 2, 3, 4, 5]))}${checks.length ? `\n${checks.join('\n')}` : ''}`;
}

function formatGrowth(small: SizeReport, large: SizeReport): string {
  const rows = large.searches.flatMap((r) => {
    const before = small.searches.find((s) => s.name === r.name);
    if (!before) return [];
    // Nothing answered within the measured window: the p95 is at least the window.
    const p95 = (m: Measurement) => (m.count === 0 ? m.seconds * 1000 : m.p95);
    const growth = p95(r.measurement) / p95(before.measurement);
    const target = r.goal.growth;
    return [
      [
        r.label,
        (before.measurement.count === 0 ? '>' : '') + ms(p95(before.measurement)),
        (r.measurement.count === 0 ? '>' : '') + ms(p95(r.measurement)),
        `${r.measurement.count === 0 ? '>' : ''}${growth.toFixed(2)}×`,
        `${integer.format(before.measurement.throughput)} → ${integer.format(r.measurement.throughput)}`,
        target ? `<${target}×` : '— (counts every match)',
        target ? (growth < target ? 'yes' : 'NO') : '',
      ],
    ];
  });
  const title = `\nGrowth from ${integer.format(small.load.resources)} to ${integer.format(large.load.resources)} resources (p95)`;
  return `${title}\n${table(['query', `p95 @${compact(small.size)}`, `p95 @${compact(large.size)}`, 'growth', 'req/s', 'target', 'met?'], rows, new Set([1, 2, 3]))}`;
}

function formatWrites(reports: SizeReport[]): string {
  reports = [...reports].sort((a, b) => a.size - b.size);
  const rows = reports
    .filter((r) => r.baseline)
    .map((r) => {
      const ratio = r.load.rate / r.baseline!.rate;
      return [
        integer.format(r.load.resources),
        `${integer.format(r.load.rate)} (${r.load.seconds.toFixed(0)} s)`,
        `${integer.format(r.baseline!.rate)} (${r.baseline!.seconds.toFixed(0)} s)`,
        `${(ratio * 100).toFixed(0)}%`,
        '≥60%',
        ratio >= 0.6 ? 'yes' : 'NO',
      ];
    });
  if (rows.length === 0) return '';
  const first = reports[0]!.load;
  const title =
    `\nWrite throughput, resources/s: writeMany(batch, 'create') with all search indexes vs the same rows into resource + resource_version only ` +
    `(batches of ${first.batch}, ${first.writers} writer${first.writers === 1 ? '' : 's'}, fresh database each, generation included)`;
  return `${title}\n${table(['resources', 'with indexes', 'resource + version only', 'ratio', 'target', 'met?'], rows, new Set([1, 2, 3]))}`;
}

function compact(size: number): string {
  return size >= 1_000_000 ? `${size / 1_000_000}M` : size >= 1000 ? `${size / 1000}k` : String(size);
}

/** Earlier results of other sizes, so a run of one size still prints the growth. */
async function earlierReports(driver: Driver, sizes: number[]): Promise<SizeReport[]> {
  const files = await readdir(OUT_DIR).catch(() => [] as string[]);
  const reports: SizeReport[] = [];
  for (const file of files) {
    const match = /^search-(\d+)\.json$/.exec(file);
    if (!match || sizes.includes(Number(match[1]))) continue;
    const report = JSON.parse(await readFile(join(OUT_DIR, file), 'utf8')) as SizeReport;
    if (report.driver === driver) reports.push(report);
  }
  return reports;
}

async function runSize(driver: Driver, serverUrl: string | undefined, size: number, writers: number, baseline: boolean, only: Set<string> | undefined): Promise<SizeReport> {
  const machine = `${cpus().length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at start`;
  console.error(`\n[${driver}] ${integer.format(size)} resources: loading with ${writers} writer(s), batches of ${settings.batch}…`);
  const database = await createDatabase(driver, serverUrl, compact(size));
  let report: SizeReport;
  try {
    const loaded = await load(database, size, 'indexed', writers);
    const samples = loaded.samples!;
    console.error(`[${driver}] searching…`);
    const { searches, checks } = await measureSearches(database, samples, only);
    report = {
      size,
      driver,
      description: database.description,
      machine,
      settings,
      date: new Date().toISOString(),
      load: loaded.load,
      databaseBytes: loaded.bytes,
      samples: {
        patients: samples.patients.length,
        observations: samples.observations.length,
        encounterPatients: samples.encounterPatients.length,
        rareCodes: samples.rareCodes,
        commonCodes: samples.commonCodes,
        codes: samples.codes,
        namedRareCodes: samples.namedRareCodes.length,
      },
      searches,
      checks,
    };
  } finally {
    await database.drop(settings.keep);
  }
  if (baseline) {
    console.error(`[${driver}] baseline load (resource + resource_version only) in a fresh database…`);
    const fresh = await createDatabase(driver, serverUrl, `${compact(size)}-baseline`);
    try {
      report.baseline = (await load(fresh, size, 'baseline', writers)).load;
    } finally {
      await fresh.drop(false);
    }
  }
  await mkdir(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, `search-${size}.json`);
  await writeFile(file, JSON.stringify(report, null, 2));
  console.log(formatSize(report));
  console.log(`(written to ${file})`);
  return report;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string' },
      driver: { type: 'string' },
      only: { type: 'string' },
      'skip-baseline': { type: 'boolean', default: false },
      report: { type: 'boolean', default: false },
    },
  });
  const serverUrl = process.env.DATABASE_URL || undefined;
  const driver = (values.driver ?? (serverUrl ? 'postgres' : 'pglite')) as Driver;
  if (driver !== 'postgres' && driver !== 'pglite') throw new Error(`--driver must be postgres or pglite, not ${driver}`);
  const defaultSizes = driver === 'pglite' ? '10000' : '100000,1000000';
  const sizes = (values.sizes ?? defaultSizes).split(',').map((text) => {
    const size = Number(text.replace(/_/g, ''));
    if (!Number.isInteger(size) || size < 1000) throw new Error(`--sizes takes resource counts of at least 1000, not "${text}"`);
    return size;
  });
  if (driver === 'pglite' && sizes.some((s) => s > 100_000)) console.error('PGlite is one in-process connection: use it for a smoke run, the targets are set for PostgreSQL.');
  const only = values.only ? new Set(values.only.split(',')) : undefined;
  const unknown = [...(only ?? [])].filter((name) => !SEARCH_SCENARIOS.some((s) => s.name === name));
  if (unknown.length) throw new Error(`Unknown query ${unknown.join(', ')}; known: ${SEARCH_SCENARIOS.map((s) => s.name).join(', ')}`);
  const writers = envInteger('BENCH_LOAD_WRITERS', driver === 'postgres' ? 2 : 1);

  const reports: SizeReport[] = [];
  if (values.report) {
    // Prints the tables again from the saved results of these sizes, without measuring.
    for (const size of sizes) {
      const report = JSON.parse(await readFile(join(OUT_DIR, `search-${size}.json`), 'utf8')) as SizeReport;
      reports.push(report);
      console.log(formatSize(report));
    }
  } else {
    for (const size of sizes) reports.push(await runSize(driver, serverUrl, size, writers, !values['skip-baseline'], only));
  }

  // Growth between this run's smallest and largest size; a one-size run compares with the
  // largest smaller size saved earlier.
  const sorted = [...reports].sort((a, b) => a.size - b.size);
  const earlier = (await earlierReports(driver, sizes)).filter((r) => r.size < sorted[0]!.size).sort((a, b) => a.size - b.size);
  const small = sorted.length >= 2 ? sorted[0] : earlier[earlier.length - 1];
  const large = sorted[sorted.length - 1]!;
  if (small && small !== large) {
    const note = reports.includes(small) ? '' : `\n(${compact(small.size)} from an earlier run, ${small.date})`;
    console.log(formatGrowth(small, large) + note);
  }
  const writes = formatWrites(reports);
  if (writes) console.log(writes);
  if (driver === 'pglite') console.log('\nPGlite figures are a smoke test: the targets are set for PostgreSQL (DATABASE_URL).');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
