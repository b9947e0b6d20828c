/**
 * The peer benchmark (issue 11: "with the door, ahead of Medplum run the same way on the same
 * machine"): FHIR R4 servers compared by URL, each loaded with the same population and measured
 * with the same load, in turns.
 *
 * - Targets: PEER_TARGETS, a JSON array of `{ name, base, token?, oauth?, pids?, databaseUrl? }`
 *   (see PeerTargetConfig), and with `--densaulyq` this project's server started in its own
 *   process (target-process.ts) on DATABASE_URL, with the door on: the administrator with
 *   clinical access (`user/*.cruds`), audit on; `--open` adds the same server open (no token
 *   check, no audit) on the same data. Densaulyq comes after the PEER_TARGETS, so with one peer
 *   the ratios read "Densaulyq / peer".
 * - Population, the same for every target: PEER_PATIENTS Patients (fixtures.ts `patient(n)`: an
 *   IIN, a family name from a fixed list of eight) with PEER_OBSERVATIONS_PER_PATIENT
 *   Observations each (LOINC codes of CLINIC_CODES in turn, so a subject+code search finds
 *   PEER_OBSERVATIONS_PER_PATIENT / 5 of them), posted as transaction Bundles of 100 patients
 *   with their Observations, which reference their patient by `urn:uuid:`. After the load, a
 *   target whose database we can reach gets `VACUUM ANALYZE` and `CHECKPOINT`, and its size is
 *   printed, whole and without the tables whose names start with "audit".
 * - Scenarios: read Patient/{id}; Patient?name={family}; Observation?subject=Patient/{id}&code=
 *   http://loinc.org|{code}. Random ids from the loaded population, the server's default page.
 *   Each is first probed (every target must answer 200 and find something; the table shows the
 *   mean entries per response), then measured with closed-loop load (load.ts measureHttp):
 *   PEER_CONNECTIONS connections, PEER_WARMUP seconds of warm-up, then PEER_SECONDS measured,
 *   PEER_ROUNDS rounds with the targets in ABBA order (A B, B A, A B, ...).
 * - CPU per request: the CPU time (from /proc, cpu.ts) of the target's processes over the
 *   measured seconds, divided by the requests completed. Each pid counts with its live children
 *   and those it reaped, so a PostgreSQL postmaster's pid covers its backends. For a peer, list
 *   its server, its database's postmaster and its cache (Redis); for Densaulyq they are found:
 *   the target process and DATABASE_URL's postmaster. Processes on this host only.
 *
 * The table gives medians over the rounds; the ratios are the median over the rounds of each
 * round's value over the first target's in the same round (req/s and CPU per request).
 *
 *   PEER_TARGETS='[{"name":"medplum","base":"http://127.0.0.1:8103/fhir/R4","token":"…","pids":[123,456,789]}]' \
 *   DATABASE_URL=postgres://postgres@127.0.0.1:55433/peer_fresh \
 *     npx tsx bench/peer-run.ts --densaulyq
 *
 * Environment: PEER_TARGETS, DATABASE_URL (a fresh database; required with --densaulyq),
 * PEER_PATIENTS (10000), PEER_OBSERVATIONS_PER_PATIENT (10), PEER_CONNECTIONS (16),
 * PEER_SECONDS (5), PEER_WARMUP (1), PEER_ROUNDS (3), PEER_REUSE, PEER_LOAD_ONLY (see settings), PEER_ONLY (comma-separated scenario
 * names: read,name,observation), BENCH_LOG_LEVEL (info: Densaulyq logs a line per request, as
 * `npm start` does). Results: the table on stdout and `.bench/peer.json`.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Bundle, BundleEntry, Observation } from '@medplum/fhirtypes';
import { admin } from './bench-database.js';
import { postmasterOf, serverCpuMs } from './cpu.js';
import { CLINIC_CODES, patient } from './fixtures.js';
import { type Measurement, type PathScenario, call, measureHttp, pick } from './load.js';
import { OUT_DIR, envInteger } from './settings.js';
import { type FhirTarget, bearer, startFhirTarget } from './target-process.js';

const settings = {
  patients: envInteger('PEER_PATIENTS', 10_000),
  observationsPerPatient: envInteger('PEER_OBSERVATIONS_PER_PATIENT', 10),
  connections: envInteger('PEER_CONNECTIONS', 16),
  seconds: envInteger('PEER_SECONDS', 5),
  warmupSeconds: envInteger('PEER_WARMUP', 1),
  rounds: envInteger('PEER_ROUNDS', 3),
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
  /** PEER_REUSE=1: a target loaded before (its ids kept in .bench/peer-populations/NAME.json) is not loaded again. */
  reuse: process.env.PEER_REUSE === '1',
  /** PEER_LOAD_ONLY=1: load (and keep the ids), measure nothing: a slow peer is loaded once, apart from the measuring. */
  loadOnly: process.env.PEER_LOAD_ONLY === '1',
};

const PATIENTS_PER_TRANSACTION = 100;
const PROBES = 10;
const LOINC = 'http://loinc.org';

/** A process whose CPU counts towards a target's requests (with its children). */
interface CpuProcess {
  pid: number;
  label: string;
}

/** One entry of PEER_TARGETS. */
interface PeerTargetConfig {
  name: string;
  /** The FHIR base URL, e.g. http://127.0.0.1:8103/fhir/R4. */
  base: string;
  /** A bearer token; or `oauth`, for tokens that expire during a run. */
  token?: string;
  /** A client_credentials grant, asked for a fresh token before every turn. */
  oauth?: { tokenUrl: string; clientId: string; clientSecret: string };
  /** Processes whose CPU to sum: a number, or `{ pid, label }` to name it in the split. */
  pids?: (number | CpuProcess)[];
  /** The target's database, to settle it after the load (VACUUM ANALYZE, CHECKPOINT: needs a superuser). */
  databaseUrl?: string;
}

interface Target {
  name: string;
  label: string;
  base: string;
  /** The current Authorization header value. */
  authorization: () => Promise<string>;
  processes: CpuProcess[];
  databaseUrl?: string;
  /** Serves the data of the target so named (the same database): nothing to load. */
  populationOf?: string;
  stop?: () => Promise<void>;
}

interface Population {
  patients: { id: string; family: string }[];
  families: string[];
  /** The codes each patient has Observations of. */
  codes: string[];
  resources: number;
}

/** Paths relative to the FHIR base, from the target's own ids. */
type Scenario = PathScenario<Population>;

const q = encodeURIComponent;

const SCENARIOS: Scenario[] = [
  { name: 'read', label: 'read Patient/{id}', next: (p) => () => `/Patient/${pick(p.patients).id}` },
  { name: 'name', label: 'Patient?name={family}', next: (p) => () => `/Patient?name=${q(pick(p.families))}` },
  {
    name: 'observation',
    label: 'Observation?subject&code',
    next: (p) => () => `/Observation?subject=${q(`Patient/${pick(p.patients).id}`)}&code=${q(`${LOINC}|${pick(p.codes)}`)}`,
  },
];

interface Turn {
  target: string;
  round: number;
  measurement: Measurement;
  /** CPU ms per completed request: each process, and their sum. */
  cpu: { total?: number; processes: Record<string, number> };
}

interface TargetSummary {
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
  firstErrorStatus?: number;
  cpuMsPerRequest?: number;
  cpuSplit: Record<string, number>;
  /** Medians of each round's value over the first target's. */
  throughputRatio: number;
  cpuRatio?: number;
  /** Mean entries per response in the probes (1 for a read). */
  entries: number;
}

interface ScenarioResult {
  name: string;
  label: string;
  targets: Record<string, TargetSummary>;
  turns: Turn[];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

function parseTargets(text: string | undefined): PeerTargetConfig[] {
  if (!text) return [];
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw new Error('PEER_TARGETS must be a JSON array');
  return parsed.map((item: unknown, i) => {
    const config = item as Partial<PeerTargetConfig>;
    if (typeof config.name !== 'string' || typeof config.base !== 'string') throw new Error(`PEER_TARGETS[${i}] needs a name and a base`);
    if (!config.token && !config.oauth) throw new Error(`PEER_TARGETS[${i}] (${config.name}) needs a token or an oauth client`);
    return config as PeerTargetConfig;
  });
}

/** A fresh token from a client_credentials grant. */
async function clientToken(oauth: NonNullable<PeerTargetConfig['oauth']>): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: oauth.clientId, client_secret: oauth.clientSecret });
  const response = await fetch(oauth.tokenUrl, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const reply = (await response.json()) as { access_token?: string };
  if (!response.ok || !reply.access_token) throw new Error(`token request to ${oauth.tokenUrl} failed with ${response.status}: ${JSON.stringify(reply).slice(0, 300)}`);
  return reply.access_token;
}

function peerTarget(config: PeerTargetConfig): Target {
  const { oauth, token } = config;
  return {
    name: config.name,
    label: config.base,
    base: config.base.replace(/\/+$/, ''),
    authorization: async () => `Bearer ${oauth ? await clientToken(oauth) : token}`,
    processes: (config.pids ?? []).map((p) => (typeof p === 'number' ? { pid: p, label: String(p) } : p)),
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
  };
}

/**
 * This project's server in its own process on DATABASE_URL: with the door on (the administrator
 * with clinical access, audit on), or `open` (BENCH_OPEN: no token check, no audit; the honest
 * limit), serving the data the door's target loaded.
 */
async function densaulyqTarget(databaseUrl: string, open = false): Promise<Target> {
  const target: FhirTarget = await startFhirTarget({ DATABASE_URL: databaseUrl, BENCH_DATA_DIR: '', BENCH_LOG_LEVEL: settings.logLevel, BENCH_OPEN: open ? 'on' : 'off' });
  // Read while the session lives: its backend's parent is the postmaster.
  const postmaster = await admin(databaseUrl, async (client) => postmasterOf((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
  const { authorization } = bearer(target.accounts.administrator);
  return {
    name: open ? 'densaulyq-open' : 'densaulyq',
    label: open ? `${target.origin}/fhir, open: no token check, no audit (bench-only)` : `${target.origin}/fhir, administrator with clinical access, audit on`,
    ...(open ? { populationOf: 'densaulyq' } : {}),
    base: `${target.origin}/fhir`,
    authorization: async () => authorization,
    processes: [{ pid: target.pid, label: 'node' }, ...(postmaster ? [{ pid: postmaster, label: 'postgres' }] : [])],
    databaseUrl,
    stop: () => target.stop(),
  };
}

/** The observations of patient `n`, pointing at its `urn:uuid:` full URL. */
function observations(n: number, subject: string): Observation[] {
  return Array.from({ length: settings.observationsPerPatient }, (_, i) => {
    const clinic = CLINIC_CODES[i % CLINIC_CODES.length]!;
    return {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: LOINC, code: clinic.code, display: clinic.display }] },
      subject: { reference: subject },
      effectiveDateTime: new Date(Date.UTC(2024, 0, 1) + (n * settings.observationsPerPatient + i) * 3_600_000).toISOString(),
      valueQuantity: { value: clinic.value + (n % 7), unit: clinic.unit, system: 'http://unitsofmeasure.org', code: clinic.unit },
    };
  });
}

/** The id in a transaction-response entry: its resource's, or its location's `Type/id/...`. */
function idOf(entry: BundleEntry | undefined, resourceType: string): string {
  if (entry?.resource?.id) return entry.resource.id;
  const match = new RegExp(`(?:^|/)${resourceType}/([^/]+)`).exec(entry?.response?.location ?? '');
  if (!match) throw new Error(`no ${resourceType} id in the transaction response entry ${JSON.stringify(entry).slice(0, 300)}`);
  return match[1]!;
}

/** Posts the population to `target` in transactions; returns what the scenarios pick from. */
async function load(target: Target): Promise<{ population: Population; seconds: number }> {
  const started = performance.now();
  const patients: Population['patients'] = [];
  let resources = 0;
  for (let first = 0; first < settings.patients; first += PATIENTS_PER_TRANSACTION) {
    const ns = Array.from({ length: Math.min(PATIENTS_PER_TRANSACTION, settings.patients - first) }, (_, i) => first + i);
    const entry: BundleEntry[] = ns.flatMap((n) => {
      const fullUrl = `urn:uuid:${randomUUID()}`;
      return [
        { fullUrl, resource: patient(n), request: { method: 'POST', url: 'Patient' } },
        ...observations(n, fullUrl).map((resource): BundleEntry => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource, request: { method: 'POST', url: 'Observation' } })),
      ];
    });
    const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry };
    const reply = await call(target.base, { method: 'POST', body: JSON.stringify(bundle), headers: { authorization: await target.authorization() } });
    if (reply.status !== 200) throw new Error(`${target.name}: the transaction of patients ${first}… failed with ${reply.status}: ${reply.text.slice(0, 500)}`);
    const answered = (JSON.parse(reply.text) as Bundle).entry ?? [];
    if (answered.length !== entry.length) throw new Error(`${target.name}: the transaction answered ${answered.length} entries for ${entry.length}`);
    ns.forEach((n, i) => patients.push({ id: idOf(answered[i * (1 + settings.observationsPerPatient)], 'Patient'), family: patient(n).name?.[0]?.family ?? '' }));
    resources += entry.length;
  }
  if (target.databaseUrl) {
    await admin(target.databaseUrl, async (client) => {
      await client.query('VACUUM ANALYZE');
      await client.query('CHECKPOINT');
      // Issue 12's storage target compares the database without its audit records.
      const { rows } = await client.query<{ total: string; audit: string }>(
        `SELECT pg_database_size(current_database())::text AS total,
           (SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM pg_class WHERE relkind = 'r' AND relname ILIKE 'audit%')::text AS audit`,
      );
      const megabytes = (bytes: string) => integer.format(Number(bytes) / 1e6);
      console.error(`  ${target.name}: database ${megabytes(rows[0]!.total)} MB, ${megabytes(String(Number(rows[0]!.total) - Number(rows[0]!.audit)))} MB without its audit tables`);
    });
  }
  const codes = CLINIC_CODES.slice(0, Math.min(CLINIC_CODES.length, settings.observationsPerPatient)).map((c) => c.code);
  return {
    population: { patients, families: [...new Set(patients.map((p) => p.family))].sort(), codes, resources },
    seconds: (performance.now() - started) / 1000,
  };
}

/** Every probe must answer 200 and find something; returns the mean entries per response. */
async function probe(target: Target, scenario: Scenario, population: Population): Promise<number> {
  const next = scenario.next(population);
  const authorization = await target.authorization();
  let entries = 0;
  for (let i = 0; i < PROBES; i++) {
    const path = next();
    const reply = await call(`${target.base}${path}`, { headers: { authorization } });
    if (reply.status !== 200) throw new Error(`${target.name}: probe GET ${path} answered ${reply.status}: ${reply.text.slice(0, 300)}`);
    const body = JSON.parse(reply.text) as { resourceType: string; entry?: unknown[] };
    const found = body.resourceType === 'Bundle' ? (body.entry ?? []).length : 1;
    if (found === 0) throw new Error(`${target.name}: probe GET ${path} found nothing`);
    entries += found;
  }
  return entries / PROBES;
}

async function cpuNow(processes: CpuProcess[]): Promise<Record<string, number | undefined>> {
  const readings = await Promise.all(processes.map(async (p) => [p.label, await serverCpuMs(p.pid)] as const));
  return Object.fromEntries(readings);
}

async function turn(target: Target, scenario: Scenario, population: Population): Promise<Omit<Turn, 'round'>> {
  const url = new URL(target.base);
  const prefix = url.pathname.replace(/\/+$/, '');
  const next = scenario.next(population);
  const options = {
    origin: url.origin,
    connections: settings.connections,
    headers: { authorization: await target.authorization() },
    next: () => ({ method: 'GET' as const, path: `${prefix}${next()}` }),
  };
  if (settings.warmupSeconds > 0) await measureHttp({ ...options, seconds: settings.warmupSeconds, warmupSeconds: 0 });
  const before = await cpuNow(target.processes);
  const measurement = await measureHttp({ ...options, seconds: settings.seconds, warmupSeconds: 0 });
  const after = await cpuNow(target.processes);
  const processes: Record<string, number> = {};
  let complete = target.processes.length > 0;
  for (const { label } of target.processes) {
    const [start, end] = [before[label], after[label]];
    if (start === undefined || end === undefined) complete = false;
    else processes[label] = (end - start) / Math.max(1, measurement.count);
  }
  const total = complete ? Object.values(processes).reduce((a, b) => a + b, 0) : undefined;
  return { target: target.name, measurement, cpu: { ...(total !== undefined ? { total } : {}), processes } };
}

function summarize(targets: Target[], turns: Turn[], entries: Record<string, number>): Record<string, TargetSummary> {
  const first = targets[0]!.name;
  const of = (name: string) => turns.filter((t) => t.target === name);
  const summaries: Record<string, TargetSummary> = {};
  for (const { name, processes } of targets) {
    const own = of(name);
    const cpus = own.map((t) => t.cpu.total).filter((v): v is number => v !== undefined);
    const ratios = own.map((t) => {
      const reference = of(first).find((r) => r.round === t.round)!;
      const cpuRatio = t.cpu.total !== undefined && reference.cpu.total ? t.cpu.total / reference.cpu.total : undefined;
      return { throughput: t.measurement.throughput / reference.measurement.throughput, cpu: cpuRatio };
    });
    const cpuRatios = ratios.map((r) => r.cpu).filter((v): v is number => v !== undefined);
    const errorTurn = own.find((t) => t.measurement.firstErrorStatus !== undefined);
    summaries[name] = {
      throughput: median(own.map((t) => t.measurement.throughput)),
      p50: median(own.map((t) => t.measurement.p50)),
      p99: median(own.map((t) => t.measurement.p99)),
      errors: own.reduce((sum, t) => sum + t.measurement.errors, 0),
      ...(errorTurn ? { firstErrorStatus: errorTurn.measurement.firstErrorStatus! } : {}),
      ...(cpus.length === own.length && cpus.length > 0 ? { cpuMsPerRequest: median(cpus) } : {}),
      cpuSplit: Object.fromEntries(
        processes.flatMap(({ label }) => {
          const values = own.map((t) => t.cpu.processes[label]).filter((v): v is number => v !== undefined);
          return values.length === own.length ? [[label, median(values)]] : [];
        }),
      ),
      throughputRatio: median(ratios.map((r) => r.throughput)),
      ...(cpuRatios.length === own.length && cpuRatios.length > 0 ? { cpuRatio: median(cpuRatios) } : {}),
      entries: entries[name]!,
    };
  }
  return summaries;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ms = (value: number) => (value >= 100 ? integer.format(value) : value.toFixed(value >= 10 ? 1 : 2));
const times = (value: number | undefined) => (value === undefined ? '—' : `${value.toFixed(2)}×`);

function table(results: ScenarioResult[], targets: Target[]): string {
  const header = ['scenario', 'target', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', `req/s ÷ ${targets[0]!.name}`, `CPU ÷ ${targets[0]!.name}`, 'entries', 'errors', 'CPU split (ms/req)'];
  const rows = results.flatMap((result) =>
    targets.map(({ name }) => {
      const s = result.targets[name]!;
      const split = Object.entries(s.cpuSplit).map(([label, value]) => `${label} ${value.toFixed(2)}`).join(' + ');
      return [
        result.label,
        name,
        integer.format(s.throughput),
        ms(s.p50),
        ms(s.p99),
        s.cpuMsPerRequest === undefined ? '—' : s.cpuMsPerRequest.toFixed(2),
        times(s.throughputRatio),
        times(s.cpuRatio),
        s.entries.toFixed(1),
        s.errors ? `${s.errors} (first ${s.firstErrorStatus ?? 'connection'})` : '0',
        split || '—',
      ];
    }),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export async function runPeerBenchmark(options: { densaulyq: boolean; open: boolean }): Promise<ScenarioResult[]> {
  const configs = parseTargets(process.env.PEER_TARGETS);
  const databaseUrl = process.env.DATABASE_URL;
  if (options.densaulyq && !databaseUrl) throw new Error('--densaulyq needs DATABASE_URL (a fresh PostgreSQL database)');
  if (configs.length + (options.densaulyq ? 1 : 0) === 0) throw new Error('no targets: set PEER_TARGETS and/or pass --densaulyq');
  const only = process.env.PEER_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  const scenarios = SCENARIOS.filter((s) => (!only || only.includes(s.name)) && (s.name !== 'observation' || settings.observationsPerPatient > 0));

  const targets = configs.map(peerTarget);
  if (options.densaulyq) targets.push(await densaulyqTarget(databaseUrl!));
  if (options.densaulyq && options.open) targets.push(await densaulyqTarget(databaseUrl!, true));
  try {
    const populations = new Map<string, Population>();
    const loads: Record<string, { seconds: number; resources: number; resourcesPerSecond: number }> = {};
    for (const target of targets) {
      const kept = join(OUT_DIR, 'peer-populations', `${target.name}.json`);
      const reused = settings.reuse ? await readFile(kept, 'utf8').then((text) => JSON.parse(text) as Population, () => undefined) : undefined;
      if (reused && target.databaseUrl) await admin(target.databaseUrl, (client) => client.query('VACUUM ANALYZE'));
      if (reused) {
        populations.set(target.name, reused);
        console.error(`  ${target.name}: the population loaded before (${kept})`);
        continue;
      }
      const sharing = target.populationOf ? populations.get(target.populationOf) : undefined;
      if (sharing) {
        populations.set(target.name, sharing);
        continue;
      }
      console.error(`loading ${settings.patients} patients × ${settings.observationsPerPatient} observations into ${target.name} …`);
      const { population, seconds } = await load(target);
      populations.set(target.name, population);
      loads[target.name] = { seconds, resources: population.resources, resourcesPerSecond: population.resources / seconds };
      console.error(`  ${target.name}: ${integer.format(population.resources)} resources in ${seconds.toFixed(1)} s`);
      await mkdir(dirname(kept), { recursive: true });
      await writeFile(kept, JSON.stringify(population));
    }
    if (settings.loadOnly) return [];

    const results: ScenarioResult[] = [];
    for (const scenario of scenarios) {
      const entries: Record<string, number> = {};
      for (const target of targets) entries[target.name] = await probe(target, scenario, populations.get(target.name)!);
      const turns: Turn[] = [];
      for (let round = 1; round <= settings.rounds; round++) {
        const order = round % 2 === 1 ? targets : [...targets].reverse();
        for (const target of order) {
          const done = await turn(target, scenario, populations.get(target.name)!);
          turns.push({ ...done, round });
          const m = done.measurement;
          console.error(`  ${scenario.name} round ${round} ${target.name}: ${integer.format(m.throughput)} req/s, p50 ${ms(m.p50)} ms, errors ${m.errors}`);
        }
      }
      results.push({ name: scenario.name, label: scenario.label, targets: summarize(targets, turns, entries), turns });
    }

    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
    console.log(
      `\nPeer benchmark: ${integer.format(settings.patients)} Patients × ${settings.observationsPerPatient} Observations per target, ` +
        `${settings.connections} connections, ${settings.rounds} round(s) of ${settings.seconds} s (ABBA), medians; ${machine}`,
    );
    for (const target of targets) {
      console.log(`  ${target.name}: ${target.label}; CPU of ${target.processes.map((p) => `${p.label} (pid ${p.pid})`).join(', ') || 'nothing (no pids)'}`);
    }
    console.log(`\n${table(results, targets)}\n`);
    await mkdir(OUT_DIR, { recursive: true });
    const file = join(OUT_DIR, 'peer.json');
    await writeFile(
      file,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          machine,
          settings,
          targets: targets.map((t) => ({ name: t.name, label: t.label, base: t.base, processes: t.processes, load: loads[t.name] })),
          results,
        },
        null,
        2,
      )}\n`,
    );
    console.log(`results: ${file}`);
    return results;
  } finally {
    for (const target of targets) await target.stop?.();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { densaulyq: { type: 'boolean', default: false }, open: { type: 'boolean', default: false } } });
  runPeerBenchmark({ densaulyq: values.densaulyq, open: values.open }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
