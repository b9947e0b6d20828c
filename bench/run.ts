/**
 * `npm run bench`: throughput and latency of the FHIR API over loopback HTTP, each figure also
 * as a share of a bare Fastify route that returns the same Patient JSON from memory.
 *
 * Runs on PGlite (on disk, as `npm start`) and, when DATABASE_URL is set, on PostgreSQL in a
 * fresh `bench_<random>` database that is dropped afterwards. Servers run in child processes
 * (serve-target.ts) so autocannon and the server each get a core. Requests carry the token of an
 * administrator granted clinical access (sees everything, audited). On PostgreSQL the access
 * benchmark (access-run.ts: the door's overhead, issue 5) follows, in a database of its own.
 *
 *   npx tsx bench/run.ts [--driver pglite|postgres]... [--only read,create,...,access] [--profile] [--breakdown]
 *
 * `--breakdown` adds the access benchmark's sides that take the door apart (see access-run.ts).
 *
 * Environment: BENCH_N (preloaded Patients, 10000), BENCH_SECONDS (5), BENCH_WARMUP (1),
 * BENCH_CONNECTIONS (16), BENCH_TX_RUNS (5), BENCH_SYNTHEA_PARALLEL (4), BENCH_LOG_LEVEL
 * (the server's pino level, info as `npm start`; `off` for none), BENCH_KEEP_DATABASE (1 keeps the
 * database to inspect), DATABASE_URL.
 * Results: a table on stdout and `.bench/results-<driver>.json`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Bundle } from '@medplum/fhirtypes';
import type autocannon from 'autocannon';
import { type BenchDatabase, type Driver, admin, openBenchDatabase, settle } from './bench-database.js';
import { postmasterOf, processCpuMs, serverCpuMs } from './cpu.js';
import { type SyntheaBundle, clinicTransaction, loadSynthea, patient, patientTransaction } from './fixtures.js';
import { type CpuReading, type Measurement, call, cpuPerOperation, measureHttp, percentile, pick } from './load.js';
import { runAccessBenchmark } from './access-run.js';
import { formatHotSpots, summarizeProfile } from './profile-summary.js';
import { type ScenarioResult, formatTable, judge } from './report.js';
import { type TargetProcess, bearer, startFhirTarget, startTarget } from './target-process.js';
import { OUT_DIR, envInteger } from './settings.js';

const PRELOAD_BATCH = 500;
/** The `--only` name of the access benchmark (PostgreSQL only). */
const ACCESS = 'access';

const settings = {
  n: envInteger('BENCH_N', 10_000),
  seconds: envInteger('BENCH_SECONDS', 5),
  warmupSeconds: envInteger('BENCH_WARMUP', 1),
  connections: envInteger('BENCH_CONNECTIONS', 16),
  transactionRuns: envInteger('BENCH_TX_RUNS', 5),
  syntheaParallel: envInteger('BENCH_SYNTHEA_PARALLEL', 4),
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
};

/** The preloaded Patients: server ids, and the IIN of each (for search). */
interface Preloaded {
  ids: string[];
  iins: string[];
  /** The n of `patient(n)` each id was made from, so an update can send the same person. */
  seeds: number[];
}

interface Run {
  driver: Driver;
  fhir: TargetProcess;
  base: string;
  /** The administrator's bearer token (clinical access: sees everything), on every request. */
  auth: { authorization: string };
  preloaded: Preloaded;
  profile: boolean;
  /** The CPU the server's process and (on PostgreSQL on this host) the database's have used so far. */
  cpu: () => Promise<CpuReading | undefined>;
}

type HttpScenario = { kind: 'http'; name: string; label: string; next: (run: Run) => () => autocannon.Request };
type TimedScenario = { kind: 'timed'; name: string; label: string; measure: (run: Run) => Promise<Measurement> };
type Scenario = HttpScenario | TimedScenario;


let createSeed = 1_000_000;
let transactionSeed = 5_000_000;

const SCENARIOS: Scenario[] = [
  {
    kind: 'http',
    name: 'read',
    label: 'read Patient/{id}',
    next: ({ preloaded }) => () => ({ method: 'GET', path: `/fhir/Patient/${pick(preloaded.ids)}` }),
  },
  {
    kind: 'http',
    name: 'vread',
    label: 'vread Patient/{id}/_history/1',
    next: ({ preloaded }) => () => ({ method: 'GET', path: `/fhir/Patient/${pick(preloaded.ids)}/_history/1` }),
  },
  {
    kind: 'http',
    name: 'search',
    label: 'search Patient?identifier=iin',
    next: ({ preloaded }) => () => ({
      method: 'GET',
      path: `/fhir/Patient?identifier=${encodeURIComponent(`http://densaulyq.kz/fhir/sid/iin|${pick(preloaded.iins)}`)}`,
    }),
  },
  {
    kind: 'http',
    name: 'create',
    label: 'create Patient',
    next: () => () => ({ method: 'POST', path: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(patient(createSeed++)) }),
  },
  {
    kind: 'http',
    name: 'update',
    label: 'update Patient/{id}',
    next: ({ preloaded }) => () => {
      const i = Math.floor(Math.random() * preloaded.ids.length);
      const body = { ...patient(preloaded.seeds[i]!), id: preloaded.ids[i]!, active: Math.random() < 0.5 };
      return { method: 'PUT', path: `/fhir/Patient/${preloaded.ids[i]}`, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) };
    },
  },
  {
    kind: 'http',
    name: 'historyInstance',
    label: 'history Patient/{id}/_history',
    next: ({ preloaded }) => () => ({ method: 'GET', path: `/fhir/Patient/${pick(preloaded.ids)}/_history` }),
  },
  {
    kind: 'http',
    name: 'historyType',
    label: 'history Patient/_history?_count=20',
    next: () => () => ({ method: 'GET', path: '/fhir/Patient/_history?_count=20' }),
  },
  { kind: 'timed', name: 'transaction500', label: 'transaction Bundle, 500 entries', measure: measureTransaction },
  { kind: 'timed', name: 'syntheaSequential', label: 'Synthea 24 bundles, one at a time', measure: (run) => measureSynthea(run, 1) },
  {
    kind: 'timed',
    name: 'syntheaParallel',
    label: `Synthea 24 bundles, ${settings.syntheaParallel} in parallel`,
    measure: (run) => measureSynthea(run, settings.syntheaParallel),
  },
];

/** Loads `settings.n` Patients in transactions of 500 and remembers their ids. */
async function preload(base: string, auth: Run['auth']): Promise<{ preloaded: Preloaded; measurement: Measurement }> {
  const preloaded: Preloaded = { ids: [], iins: [], seeds: [] };
  const times: number[] = [];
  const started = performance.now();
  for (let first = 0; first < settings.n; first += PRELOAD_BATCH) {
    const size = Math.min(PRELOAD_BATCH, settings.n - first);
    const bundle = patientTransaction(first, size);
    const reply = await call(base, { method: 'POST', body: JSON.stringify(bundle), headers: { prefer: 'return=minimal', ...auth } });
    if (reply.status !== 200) throw new Error(`preload failed with ${reply.status}: ${reply.text.slice(0, 500)}`);
    times.push(reply.ms);
    const response = JSON.parse(reply.text) as Bundle;
    response.entry!.forEach((entry, i) => {
      preloaded.ids.push(entry.response!.location!.split('/')[1]!);
      preloaded.iins.push(patient(first + i).identifier[0].value);
      preloaded.seeds.push(first + i);
    });
  }
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return {
    preloaded,
    measurement: {
      throughput: settings.n / seconds,
      unit: 'resources/s',
      p50: percentile(times, 0.5),
      p95: percentile(times, 0.95),
      p99: percentile(times, 0.99),
      count: settings.n,
      errors: 0,
      seconds,
    },
  };
}

/** A 500-entry transaction (100 Patients, 400 Observations by urn:uuid), one at a time; latency is its commit time. */
async function measureTransaction({ base, auth, cpu }: Run): Promise<Measurement> {
  const send = async () => {
    const body = JSON.stringify(clinicTransaction(transactionSeed, 500));
    transactionSeed += 500;
    return call(base, { method: 'POST', body, headers: auth });
  };
  await send(); // warm-up
  const cpuBefore = await cpu();
  const times: number[] = [];
  let errors = 0;
  let firstErrorStatus: number | undefined;
  for (let i = 0; i < settings.transactionRuns; i++) {
    const reply = await send();
    times.push(reply.ms);
    if (reply.status !== 200) {
      errors++;
      firstErrorStatus ??= reply.status;
    }
  }
  const perResource = cpuPerOperation(cpuBefore, await cpu(), settings.transactionRuns * 500);
  times.sort((a, b) => a - b);
  const median = percentile(times, 0.5);
  return {
    throughput: 500 / (median / 1000),
    unit: 'resources/s',
    p50: median,
    p95: percentile(times, 0.95),
    p99: percentile(times, 0.99),
    count: times.length,
    errors,
    firstErrorStatus,
    seconds: times.reduce((a, b) => a + b, 0) / 1000,
    medianMs: median,
    ...(perResource ? { cpu: perResource } : {}),
  };
}

let synthea: SyntheaBundle[] | undefined;

/** POSTs all Synthea bundles, `parallel` at a time; latency is per bundle, throughput resources/s overall. */
async function measureSynthea({ base, auth, cpu }: Run, parallel: number): Promise<Measurement> {
  synthea ??= await loadSynthea();
  const bundles = synthea;
  const times: number[] = [];
  let errors = 0;
  let firstErrorStatus: number | undefined;
  let next = 0;
  const cpuBefore = await cpu();
  const started = performance.now();
  const worker = async () => {
    while (next < bundles.length) {
      const bundle = bundles[next++]!;
      const reply = await call(base, { method: 'POST', body: bundle.text, headers: { prefer: 'return=minimal', ...auth } });
      times.push(reply.ms);
      if (reply.status !== 200) {
        errors++;
        if (firstErrorStatus === undefined) {
          firstErrorStatus = reply.status;
          console.error(`  ${bundle.file}: ${reply.status} ${reply.text.slice(0, 300)}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, worker));
  const seconds = (performance.now() - started) / 1000;
  const resources = bundles.reduce((sum, b) => sum + b.resources, 0);
  const perResource = cpuPerOperation(cpuBefore, await cpu(), resources);
  times.sort((a, b) => a - b);
  return {
    throughput: resources / seconds,
    unit: 'resources/s',
    p50: percentile(times, 0.5),
    p95: percentile(times, 0.95),
    p99: percentile(times, 0.99),
    count: resources,
    errors,
    firstErrorStatus,
    seconds,
    ...(perResource ? { cpu: perResource } : {}),
  };
}

function loadOptions(origin: string, next: () => autocannon.Request, headers?: Record<string, string>, cpu?: Run['cpu']) {
  return { origin, next, headers, cpu, connections: settings.connections, seconds: settings.seconds, warmupSeconds: settings.warmupSeconds };
}

/** The bare Fastify route, in its own process, serving the JSON a read of `id` returns. */
async function measureBare(run: Run): Promise<Measurement> {
  const sample = await call(`${run.base}/Patient/${run.preloaded.ids[0]}`, { headers: run.auth });
  if (sample.status !== 200) throw new Error(`reading a preloaded Patient failed with ${sample.status}`);
  await mkdir(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, 'bare-patient.json');
  await writeFile(file, sample.text);
  const bare = await startTarget({ BENCH_TARGET: 'bare', BENCH_BARE_FILE: file });
  try {
    return await measureHttp(loadOptions(bare.origin, () => ({ method: 'GET', path: `/bare/Patient/${pick(run.preloaded.ids)}` })));
  } finally {
    await bare.stop();
  }
}

async function runScenario(run: Run, scenario: Scenario): Promise<Measurement> {
  if (run.profile) await run.fhir.profileStart();
  try {
    return scenario.kind === 'http' ? await measureHttp(loadOptions(run.fhir.origin, scenario.next(run), run.auth, run.cpu)) : await scenario.measure(run);
  } finally {
    if (run.profile) await run.fhir.profileStop(join(OUT_DIR, 'profiles', `${run.driver}-${scenario.name}.cpuprofile`));
  }
}

async function benchDriver(database: BenchDatabase, only: Set<string> | undefined, profile: boolean): Promise<ScenarioResult[]> {
  const fhir = await startFhirTarget({ BENCH_LOG_LEVEL: settings.logLevel, ...database.env });
  const auth = bearer(fhir.accounts.administrator);
  const results: ScenarioResult[] = [];
  const scenarios = SCENARIOS.filter((s) => !only || only.has(s.name));
  const report = (result: ScenarioResult) => {
    results.push(result);
    const m = result.measurement;
    console.error(`  ${result.label}: ${Math.round(m.throughput)} ${m.unit}, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, errors ${m.errors}`);
  };
  try {
    const base = `${fhir.origin}/fhir`;
    console.error(`[${database.driver}] preloading ${settings.n} Patients…`);
    const { preloaded, measurement } = await preload(base, auth);
    report(judge('preload', `preload: transactions of ${PRELOAD_BATCH} Patients`, measurement, undefined));
    await settle(database);
    const serverUrl = database.env.DATABASE_URL;
    const postmaster = serverUrl ? await admin(serverUrl, async (client) => postmasterOf((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)) : undefined;
    const cpu = async (): Promise<CpuReading | undefined> => {
      const serverMs = await processCpuMs(fhir.pid);
      if (serverMs === undefined) return undefined;
      const databaseMs = postmaster === undefined ? undefined : await serverCpuMs(postmaster);
      return databaseMs === undefined ? { serverMs } : { serverMs, databaseMs };
    };
    const run: Run = { driver: database.driver, fhir, base, auth, preloaded, profile, cpu };
    const bare = await measureBare(run);
    report(judge('bare', 'bare Fastify GET (memory)', bare, bare));
    for (const scenario of scenarios) {
      console.error(`[${database.driver}] ${scenario.label}…`);
      report(judge(scenario.name, scenario.label, await runScenario(run, scenario), bare));
    }
  } finally {
    await fhir.stop();
  }
  return results;
}

/** The API scenarios on one driver, in a fresh database: a table on stdout and `.bench/results-<driver>.json`. */
async function benchApi(driver: Driver, serverUrl: string | undefined, only: Set<string> | undefined, profile: boolean): Promise<void> {
  // Other work on the machine skews every figure: the load average says whether it was quiet.
  const machine = `${cpus().length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at start`;
  const database = await openBenchDatabase(driver, serverUrl);
  let results: ScenarioResult[];
  try {
    results = await benchDriver(database, only, profile);
  } finally {
    await database.drop();
  }
  const title =
    `\n${database.description} — ${machine}; ${settings.connections} connections, ${settings.seconds} s per scenario ` +
    `after ${settings.warmupSeconds} s warm-up, ${settings.n} Patients preloaded, server log level ${settings.logLevel}` +
    (profile ? ' — PROFILING ON, figures are slowed by the profiler' : '');
  const table = formatTable(title, results);
  console.log(table);
  await mkdir(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, `results-${driver}.json`);
  await writeFile(file, JSON.stringify({ driver, description: database.description, machine, settings, date: new Date().toISOString(), profiled: profile, results }, null, 2));
  console.log(`(written to ${file})`);
  if (profile) {
    for (const result of results) {
      if (result.name === 'preload' || result.name === 'bare') continue;
      const summary = await summarizeProfile(join(OUT_DIR, 'profiles', `${driver}-${result.name}.cpuprofile`));
      console.log('\n' + formatHotSpots(`[${driver}] ${result.label}`, summary));
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      driver: { type: 'string', multiple: true },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      breakdown: { type: 'boolean', default: false },
    },
  });
  const serverUrl = process.env.DATABASE_URL || undefined;
  const drivers = (values.driver ?? (serverUrl ? ['pglite', 'postgres'] : ['pglite'])).flatMap((d) => d.split(',')) as Driver[];
  for (const driver of drivers) if (driver !== 'pglite' && driver !== 'postgres') throw new Error(`--driver must be pglite or postgres, not ${driver}`);
  const only = values.only ? new Set(values.only.split(',')) : undefined;
  const unknown = [...(only ?? [])].filter((name) => name !== ACCESS && !SCENARIOS.some((s) => s.name === name));
  if (unknown.length) throw new Error(`Unknown scenario ${unknown.join(', ')}; known: ${[...SCENARIOS.map((s) => s.name), ACCESS].join(', ')}`);
  const api = !only || SCENARIOS.some((s) => only.has(s.name));
  const access = !only || only.has(ACCESS);

  for (const driver of drivers) {
    if (api) await benchApi(driver, serverUrl, only, values.profile);
    if (driver === 'postgres' && access) await runAccessBenchmark(serverUrl!, { profile: values.profile, breakdown: values.breakdown });
  }
  if (!serverUrl) console.log('\nDATABASE_URL is not set: PostgreSQL was not measured (nor the access overhead). The targets are set for PostgreSQL.');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
