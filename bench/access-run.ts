/**
 * The access-overhead benchmark (issue 11: "the door at the cost of a few percent: token,
 * context, filter and audit within 25% of an open server"), on PostgreSQL. Three FHIR targets
 * (serve-target.ts) share one fresh database:
 *
 * - open: the honest limit, an open server: no token checked, every request the administrator
 *   with clinical access (no condition in the SQL), no audit (a bench-only switch, BENCH_OPEN);
 * - baseline: audit off, an administrator granted clinical access (`user/*.cruds`) with a real
 *   token, verified and checked for revocation: the door is unrestricted, no audit record;
 * - door: audit on, a clinician of Organization/bench-clinic (`user/*.rs`): every query carries
 *   the care-relationship, consent-denial, hidden-label and break-glass conditions, and every
 *   access's audit record is committed (batched across requests) before the response.
 *
 * The headline is door/open; door/baseline is shown beside it. After measuring it shows the
 * audit table's bytes on disk per record, and the door's statements of each scenario with their
 * plans (EXPLAIN ANALYZE), run through the Repository as the server runs them.
 *
 * The population (fixtures.ts): BENCH_ACCESS_PATIENTS patients attached to the clinic, five
 * Observations each, HIV results labelled for every 5th patient and hidden by Consent for every
 * 10th; a tenth as many patients of another organization, a few of them under active (and a few
 * under expired) break-glass grants of the clinician. Before measuring, the door must answer 200
 * for sampled allowed reads, 404 for a hidden result and for a patient it has no relationship
 * with, and write exactly one audit row per patient it returned; then each scenario runs on both
 * targets in turns, in ABBA order, so machine noise hits both alike. The table gives medians over
 * the rounds; the ratio is the median of each round's door/baseline throughput. A second table
 * says where the time goes: the CPU each process spends per request (from /proc).
 *
 * `--breakdown` adds three sides (the access condition alone, the audit alone, and the door
 * without waiting for the commit's WAL flush, a what-if), samples what the database sessions
 * wait for, and, on a server that preloads pg_stat_statements, lists each side's statements
 * per request. `--profile` writes CPU profiles of the servers in round 1 and prints their hot spots.
 *
 *   npx tsx bench/access-run.ts [--breakdown] [--profile]   (`npm run bench` runs it on PostgreSQL: `--only access`)
 *
 * Environment: DATABASE_URL (required), BENCH_ACCESS_PATIENTS (5000), BENCH_ACCESS_ROUNDS (3), BENCH_ACCESS_SCENARIOS (all),
 * BENCH_ACCESS_SECONDS (4, per side and round), BENCH_WARMUP (1), BENCH_CONNECTIONS (16),
 * BENCH_LOG_LEVEL (info), BENCH_KEEP_DATABASE. Results: tables on stdout and `.bench/access-postgres.json`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import { type BenchDatabase, openBenchDatabase, settle } from './bench-database.js';
import { doorPlans } from './door-plans.js';
import { CLINIC_CODES, HIV_VIRAL_LOAD, accessProfile, attachedPatientEntries, patient } from './fixtures.js';
import { type Measurement, type PathScenario, call, measureHttp, pick } from './load.js';
import { postmasterOf, processCpuMs, serverCpuMs } from './cpu.js';
import { formatHotSpots, summarizeProfile } from './profile-summary.js';
import { type StatementCost, enableStatements, readStatements, resetStatements, sampleWaits } from './statements.js';
import { OUT_DIR, envInteger } from './settings.js';
import { type BenchAccounts, type FhirTarget, bearer, startFhirTarget } from './target-process.js';

const settings = {
  patients: envInteger('BENCH_ACCESS_PATIENTS', 5000),
  rounds: envInteger('BENCH_ACCESS_ROUNDS', 3),
  seconds: envInteger('BENCH_ACCESS_SECONDS', 4),
  warmupSeconds: envInteger('BENCH_WARMUP', 1),
  connections: envInteger('BENCH_CONNECTIONS', 16),
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
  /** BENCH_ACCESS_SCENARIOS: names to run (readPatient,readObservation,subjectCode,subjects,identifier); all by default. */
  scenarios: process.env.BENCH_ACCESS_SCENARIOS?.split(',').map((name) => name.trim()),
};

const ORGANIZATION = 'bench-clinic';
const OTHER_ORGANIZATION = 'bench-other';
const PATIENTS_PER_TRANSACTION = 100;
/** Active break-glass grants of the clinician (and as many expired ones). */
const BREAK_GLASS_GRANTS = 20;
const SUBJECTS_PER_SEARCH = 4;
const PROBES = 20;
const TARGET_RATIO = 0.75;
/** CPU per request with the door (Node and PostgreSQL) at most this many times the open server's. */
const TARGET_CPU_RATIO = 1.35;
const IIN = 'http://densaulyq.kz/fhir/sid/iin';
const LOINC = 'http://loinc.org';

interface Population {
  /** Attached to the clinic. */
  patients: { id: string; iin: string }[];
  /** The clinic patients' Observations the door lets through. */
  visible: { id: string; patient: string; code: string; labelled: boolean }[];
  /** Labelled results their patient hid by Consent. */
  hidden: string[];
  /** Patients of the other organization under an active break-glass grant of the clinician. */
  breakGlass: string[];
  /** Patients of the other organization the clinician has no relationship with. */
  unrelated: string[];
}

/** What the preload returns: the population but the break-glass split, and the other organization's patients. */
type Loaded = Omit<Population, 'breakGlass' | 'unrelated'> & { others: string[] };

type Scenario = PathScenario<Population>;

const q = encodeURIComponent;

const SCENARIOS: Scenario[] = [
  { name: 'readPatient', label: 'read Patient/{id}', next: (p) => () => `/fhir/Patient/${pick(p.patients).id}` },
  { name: 'readObservation', label: 'read Observation/{id}', next: (p) => () => `/fhir/Observation/${pick(p.visible).id}` },
  {
    name: 'subjectCode',
    label: 'Observation?subject&code',
    next: (p) => () => {
      const o = pick(p.visible);
      return `/fhir/Observation?subject=${q(`Patient/${o.patient}`)}&code=${q(`${LOINC}|${o.code}`)}`;
    },
  },
  {
    name: 'subjects',
    label: `Observation?subject=${SUBJECTS_PER_SEARCH} patients`,
    next: (p) => () => {
      const subjects = Array.from({ length: SUBJECTS_PER_SEARCH }, () => `Patient/${pick(p.patients).id}`);
      return `/fhir/Observation?subject=${q(subjects.join(','))}&_count=${SUBJECTS_PER_SEARCH * CLINIC_CODES.length}`;
    },
  },
  { name: 'identifier', label: 'Patient?identifier=iin', next: (p) => () => `/fhir/Patient?identifier=${q(`${IIN}|${pick(p.patients).iin}`)}` },
];

/** One server configuration under load: its own target process, all on the same database. */
interface Side {
  name: string;
  label: string;
  audit: boolean;
  account: keyof BenchAccounts;
  /** PostgreSQL session settings (the connection string's `options`): what-ifs only. */
  sessionOptions?: string;
  /** The open server (BENCH_OPEN). */
  open?: boolean;
}

const OPEN: Side = { name: 'open', label: 'open server: no token check, no access context, audit off (bench-only)', audit: false, account: 'administrator', open: true };
const BASELINE: Side = { name: 'baseline', label: 'administrator with clinical access, audit off', audit: false, account: 'administrator' };
const DOOR: Side = { name: 'door', label: 'clinician, audit on', audit: true, account: 'clinician' };
/** `--breakdown`: the door's two halves apart, and what waiting for the commit's WAL flush costs. */
const BREAKDOWN: Side[] = [
  { name: 'filter', label: 'clinician, audit off: the access condition alone', audit: false, account: 'clinician' },
  { name: 'audit', label: 'administrator, audit on: the audit alone', audit: true, account: 'administrator' },
  {
    name: 'door-async',
    label: 'the door with synchronous_commit=off: a what-if, never a deployment (a crash could lose acknowledged audit rows)',
    audit: true,
    account: 'clinician',
    sessionOptions: '-c synchronous_commit=off',
  },
];

interface Running {
  side: Side;
  target: FhirTarget;
  auth: { authorization: string };
}

/** CPU time per completed request, µs: the side's Node server, the PostgreSQL server's processes, the load generator (this process). */
interface CpuPerRequest {
  server?: number;
  database?: number;
  client: number;
}

interface Turn {
  side: string;
  round: number;
  measurement: Measurement;
  auditRows: number;
  cpu: CpuPerRequest;
  /** The first round's statements, with `--breakdown` on a server that preloads pg_stat_statements. */
  statements?: StatementCost[];
  /** The first round's session states, with `--breakdown`. */
  waits?: Awaited<ReturnType<typeof sampleWaits>>;
}

/**
 * The connection the bench counts audit rows (and reads pg_stat_statements) through, and the
 * PostgreSQL server's postmaster when it runs on this host.
 */
interface Observer {
  client: pg.Client;
  postmaster?: number;
  statements: boolean;
}

interface SideResult {
  /** Medians over the rounds. */
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
  firstErrorStatus?: number;
  /** Each round's throughput over the baseline's in the same round, and their median. */
  ratios: number[];
  ratio: number;
  /** The same over the open server's. */
  openRatios: number[];
  openRatio: number;
  /** Audit rows per second of measurement (median over rounds), and per completed request. */
  auditRowsPerSecond: number;
  auditRowsPerRequest: number;
  /** Medians over the rounds. */
  cpu: CpuPerRequest;
}

interface AccessResult {
  name: string;
  label: string;
  /** Mean entries per response in the probes (1 for a read). */
  entries: { baseline: number; door: number };
  sides: Record<string, SideResult>;
  met: boolean;
  turns: Turn[];
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ms = (value: number) => (value >= 100 ? integer.format(value) : value.toFixed(value >= 10 ? 1 : 2));
const percent = (value: number) => `${(100 * value).toFixed(0)}%`;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

function medianCpu(readings: CpuPerRequest[]): CpuPerRequest {
  const of = (key: 'server' | 'database') => {
    const values = readings.map((r) => r[key]).filter((v): v is number => v !== undefined);
    return values.length === readings.length ? { [key]: median(values) } : {};
  };
  return { ...of('server'), ...of('database'), client: median(readings.map((r) => r.client)) };
}

/** The ids in a transaction-response entry's location, `Type/id/_history/1`. */
const idOf = (entry: BundleEntry): string => entry.response!.location!.split('/')[1]!;

async function send(base: string, auth: { authorization: string }, bundle: Bundle): Promise<BundleEntry[]> {
  const reply = await call(base, { method: 'POST', body: JSON.stringify(bundle), headers: auth });
  if (reply.status !== 200) throw new Error(`preload failed with ${reply.status}: ${reply.text.slice(0, 500)}`);
  return (JSON.parse(reply.text) as Bundle).entry ?? [];
}

/** Loads the population through the baseline (audit off, so the preload leaves no audit rows). */
async function preload(base: string, auth: { authorization: string }): Promise<Loaded> {
  for (const id of [ORGANIZATION, OTHER_ORGANIZATION]) {
    const reply = await call(`${base}/Organization/${id}`, { method: 'PUT', body: JSON.stringify({ resourceType: 'Organization', id, active: true, name: id }), headers: auth });
    if (reply.status !== 200 && reply.status !== 201) throw new Error(`creating Organization/${id} failed with ${reply.status}: ${reply.text.slice(0, 300)}`);
  }
  const population: Loaded = { patients: [], visible: [], hidden: [], others: [] };
  for (let first = 0; first < settings.patients; first += PATIENTS_PER_TRANSACTION) {
    const ns = Array.from({ length: Math.min(PATIENTS_PER_TRANSACTION, settings.patients - first) }, (_, i) => first + i);
    const groups = ns.map((n) => attachedPatientEntries(n, ORGANIZATION));
    const reply = await send(base, auth, { resourceType: 'Bundle', type: 'transaction', entry: groups.flat() });
    let at = 0;
    groups.forEach((group, g) => {
      const n = ns[g]!;
      const { labelled, hidden } = accessProfile(n);
      const id = idOf(reply[at]!);
      population.patients.push({ id, iin: patient(n).identifier[0].value });
      CLINIC_CODES.forEach((clinic, i) => {
        const entry = reply[at + 1 + i]!;
        const isLabelled = labelled && i === CLINIC_CODES.length - 1;
        if (isLabelled && hidden) population.hidden.push(idOf(entry));
        else population.visible.push({ id: idOf(entry), patient: id, code: isLabelled ? HIV_VIRAL_LOAD.code : clinic.code, labelled: isLabelled });
      });
      at += group.length;
    });
  }
  const others = Math.max(2 * BREAK_GLASS_GRANTS + PROBES, Math.round(settings.patients / 10));
  for (let first = 0; first < others; first += PATIENTS_PER_TRANSACTION) {
    const ns = Array.from({ length: Math.min(PATIENTS_PER_TRANSACTION, others - first) }, (_, i) => settings.patients + first + i);
    const reply = await send(base, auth, { resourceType: 'Bundle', type: 'transaction', entry: ns.flatMap((n) => attachedPatientEntries(n, OTHER_ORGANIZATION, false)) });
    population.others.push(...reply.map(idOf));
  }
  return population;
}

/**
 * Break-glass grants straight into the table (the platform has no API for them yet): active
 * ones for the first patients of the other organization, expired ones for the next.
 */
async function grantBreakGlass(client: pg.Client, subject: string, others: string[]): Promise<void> {
  const grant = (patients: string[], expires: string) =>
    client.query(
      `INSERT INTO break_glass (id, patient, subject, organization, reason, granted_at, expires_at)
       SELECT gen_random_uuid()::text, p, $2, $3, 'bench: emergency care', now() - interval '1 hour', now() + $4::interval FROM unnest($1::text[]) p`,
      [patients, subject, ORGANIZATION, expires],
    );
  await grant(others.slice(0, BREAK_GLASS_GRANTS), '1 day');
  await grant(others.slice(BREAK_GLASS_GRANTS, 2 * BREAK_GLASS_GRANTS), '-30 minutes');
}

async function auditRows(client: pg.Client): Promise<number> {
  return Number((await client.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_event')).rows[0]!.n);
}

/** The patients a response shows (a resource, or a search Bundle's entries): one audit row each. */
function patientsIn(body: Resource): Set<string> {
  const resources = body.resourceType === 'Bundle' ? ((body as Bundle).entry ?? []).map((e) => e.resource!) : [body];
  return new Set(resources.map((r) => (r.resourceType === 'Patient' ? `Patient/${r.id}` : ((r as { subject?: { reference?: string } }).subject?.reference ?? ''))));
}

function entriesIn(body: Resource): number {
  return body.resourceType === 'Bundle' ? ((body as Bundle).entry ?? []).length : 1;
}

/**
 * The door is measured only if it does what it is for: allowed reads answer 200, what it must
 * hide answers 404 (a label hidden by Consent, a patient without relationship), break-glass
 * opens, and it writes one audit row per patient it showed while the baseline writes none.
 * Returns each scenario's mean entries per response on both.
 */
async function verify(baseline: Running, door: Running, client: pg.Client, population: Population): Promise<Record<string, AccessResult['entries']>> {
  const failures: string[] = [];
  let baselineRows = 0;
  let shownPatients = 0;
  const get = async ({ side, target, auth }: Running, path: string, status: number) => {
    const before = side === BASELINE ? await auditRows(client) : 0;
    const reply = await call(`${target.origin}${path}`, { headers: auth });
    if (side === BASELINE) baselineRows += (await auditRows(client)) - before;
    if (reply.status !== status) failures.push(`${side.name} ${path}: ${reply.status}, expected ${status} (${reply.text.slice(0, 200)})`);
    const body = reply.status === 200 ? (JSON.parse(reply.text) as Resource) : undefined;
    if (body && side === DOOR) shownPatients += patientsIn(body).size;
    return body;
  };
  const started = await auditRows(client);
  const hidden = pick(population.hidden);
  await get(baseline, `/fhir/Observation/${hidden}`, 200);
  await get(door, `/fhir/Observation/${hidden}`, 404);
  for (const labelled of population.visible.filter((o) => o.labelled).slice(0, 5)) await get(door, `/fhir/Observation/${labelled.id}`, 200);
  await get(door, `/fhir/Patient/${pick(population.breakGlass)}`, 200);
  await get(door, `/fhir/Patient/${pick(population.unrelated)}`, 404);

  const entries: Record<string, AccessResult['entries']> = {};
  for (const scenario of SCENARIOS) {
    const next = scenario.next(population);
    const counts = { baseline: 0, door: 0 };
    for (let i = 0; i < PROBES; i++) {
      const path = next();
      const base = await get(baseline, path, 200);
      const shown = await get(door, path, 200);
      counts.baseline += base ? entriesIn(base) : 0;
      counts.door += shown ? entriesIn(shown) : 0;
    }
    entries[scenario.name] = { baseline: counts.baseline / PROBES, door: counts.door / PROBES };
    if (counts.door === 0) failures.push(`door ${scenario.label}: no entries in ${PROBES} probes`);
  }
  const doorRows = (await auditRows(client)) - started - baselineRows;
  if (baselineRows !== 0) failures.push(`the baseline (audit off) wrote ${baselineRows} audit rows`);
  if (doorRows !== shownPatients) failures.push(`the door wrote ${doorRows} audit rows for ${shownPatients} patients it showed`);
  if (failures.length) throw new Error(`The door is not doing its job; nothing measured:\n  ${failures.join('\n  ')}`);
  console.error(
    `  checks passed: allowed reads 200; hidden label and unrelated patient 404; break-glass 200; ` +
      `the door wrote ${doorRows} audit rows for the ${shownPatients} patients it showed, the baseline none`,
  );
  return entries;
}

/** CPU ms used so far by the side's server, the PostgreSQL server (when on this host) and this process (the load generator). */
async function cpuNow(running: Running, observer: Observer): Promise<{ server?: number; database?: number; client: number }> {
  const server = await processCpuMs(running.target.pid);
  const database = observer.postmaster === undefined ? undefined : await serverCpuMs(observer.postmaster);
  const { user, system } = process.cpuUsage();
  return { ...(server !== undefined ? { server } : {}), ...(database !== undefined ? { database } : {}), client: (user + system) / 1000 };
}

interface TurnOptions {
  seconds: number;
  /** Where to write a CPU profile of the server. */
  profile?: string;
  /** Read pg_stat_statements (when available) and sample session states for this turn. */
  diagnose?: boolean;
}

async function turn(running: Running, observer: Observer, scenario: Scenario, population: Population, options: TurnOptions): Promise<Omit<Turn, 'round'>> {
  const before = await auditRows(observer.client);
  const { profile, seconds } = options;
  const statements = options.diagnose && observer.statements;
  if (statements) await resetStatements(observer.client);
  if (profile) await running.target.profileStart();
  const next = scenario.next(population);
  const cpu = await cpuNow(running, observer);
  const load = measureHttp({
    origin: running.target.origin,
    connections: settings.connections,
    seconds,
    warmupSeconds: 0,
    headers: running.auth,
    next: () => ({ method: 'GET', path: next() }),
  });
  const waits = options.diagnose ? await sampleWaits(observer.client, load) : undefined;
  const measurement = await load;
  const cpuAfter = await cpuNow(running, observer);
  const costs = statements ? await readStatements(observer.client, measurement.count) : undefined;
  if (profile) await running.target.profileStop(profile);
  const perRequest = (key: keyof CpuPerRequest) => {
    const [after, start] = [cpuAfter[key], cpu[key]];
    return after === undefined || start === undefined ? {} : { [key]: (1000 * (after - start)) / Math.max(1, measurement.count) };
  };
  return {
    side: running.side.name,
    measurement,
    auditRows: (await auditRows(observer.client)) - before,
    cpu: { client: 0, ...perRequest('server'), ...perRequest('database'), ...perRequest('client') },
    ...(costs ? { statements: costs } : {}),
    ...(waits ? { waits } : {}),
  };
}

/** One side's turns of a scenario: medians over the rounds, and each round's ratio to the baseline's turn. */
function summarize(turns: Turn[], side: Side): SideResult {
  const own = turns.filter((t) => t.side === side.name);
  const measured = own.map((t) => t.measurement);
  const against = (reference: Side) => own.map((t) => t.measurement.throughput / turns.find((b) => b.round === t.round && b.side === reference.name)!.measurement.throughput);
  const ratios = against(BASELINE);
  const openRatios = against(OPEN);
  const firstErrorStatus = measured.find((m) => m.firstErrorStatus !== undefined)?.firstErrorStatus;
  return {
    throughput: median(measured.map((m) => m.throughput)),
    p50: median(measured.map((m) => m.p50)),
    p99: median(measured.map((m) => m.p99)),
    errors: measured.reduce((sum, m) => sum + m.errors, 0),
    ...(firstErrorStatus !== undefined ? { firstErrorStatus } : {}),
    ratios,
    ratio: median(ratios),
    openRatios,
    openRatio: median(openRatios),
    auditRowsPerSecond: median(own.map((t) => t.auditRows / t.measurement.seconds)),
    auditRowsPerRequest: own.reduce((sum, t) => sum + t.auditRows, 0) / Math.max(1, measured.reduce((sum, m) => sum + m.count, 0)),
    cpu: medianCpu(own.map((t) => t.cpu)),
  };
}

async function measure(
  sides: Running[],
  observer: Observer,
  population: Population,
  entries: Record<string, AccessResult['entries']>,
  { profile, diagnose }: { profile: boolean; diagnose: boolean },
): Promise<AccessResult[]> {
  const results: AccessResult[] = [];
  for (const scenario of SCENARIOS.filter((s) => settings.scenarios === undefined || settings.scenarios.includes(s.name))) {
    console.error(`[access] ${scenario.label}…`);
    if (settings.warmupSeconds > 0) for (const side of sides) await turn(side, observer, scenario, population, { seconds: settings.warmupSeconds });
    const turns: Turn[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      // Forward, then backward (ABBA): no side always runs first, or right after the same other.
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const file = profile && round === 0 ? join(OUT_DIR, 'profiles', `access-${side.side.name}-${scenario.name}.cpuprofile`) : undefined;
        const options = { seconds: settings.seconds, diagnose: diagnose && round === 0, ...(file ? { profile: file } : {}) };
        turns.push({ round, ...(await turn(side, observer, scenario, population, options)) });
      }
      const at = (name: string) => turns.find((t) => t.round === round && t.side === name)!.measurement.throughput;
      console.error(`  round ${round + 1}: ${sides.map(({ side }) => `${side.name} ${integer.format(at(side.name))}`).join(', ')} req/s (door/open ${percent(at(DOOR.name) / at(OPEN.name))})`);
    }
    const bySide: Record<string, SideResult> = {};
    for (const { side } of sides) bySide[side.name] = summarize(turns, side);
    const door = bySide[DOOR.name]!;
    const open = bySide[OPEN.name]!;
    results.push({
      name: scenario.name,
      label: scenario.label,
      entries: entries[scenario.name]!,
      sides: bySide,
      met: door.openRatio >= TARGET_RATIO && cpuRatio(door, open) <= TARGET_CPU_RATIO && door.errors === 0 && open.errors === 0 && open.auditRowsPerRequest === 0,
      turns,
    });
  }
  return results;
}

function table(title: string, header: string[], rows: string[][], numeric: Set<number>): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Node and PostgreSQL CPU per request of `side` over `reference`'s; NaN when either was not measured. */
function cpuRatio(side: SideResult, reference: SideResult): number {
  const total = (r: SideResult) => (r.cpu.server === undefined || r.cpu.database === undefined ? NaN : r.cpu.server + r.cpu.database);
  return total(side) / total(reference);
}

function formatResults(title: string, results: AccessResult[]): string {
  const header = ['scenario', 'entries', 'open req/s', 'baseline req/s', 'door req/s', 'p50 ms', 'p99 ms', 'door/open (rounds)', 'door/baseline', 'CPU door/open', 'audit rows/req', 'errors', 'targets', 'met?'];
  const rows = results.map((r) => {
    const open = r.sides[OPEN.name]!;
    const baseline = r.sides[BASELINE.name]!;
    const door = r.sides[DOOR.name]!;
    const errors = open.errors + baseline.errors + door.errors;
    return [
      r.label,
      r.entries.door === r.entries.baseline ? r.entries.door.toFixed(1) : `${r.entries.door.toFixed(1)} of ${r.entries.baseline.toFixed(1)}`,
      integer.format(open.throughput),
      integer.format(baseline.throughput),
      integer.format(door.throughput),
      ms(door.p50),
      ms(door.p99),
      `${percent(door.openRatio)} (${door.openRatios.map(percent).join(' ')})`,
      percent(door.ratio),
      `${cpuRatio(door, open).toFixed(2)}×`,
      door.auditRowsPerRequest.toFixed(2),
      errors === 0 ? '0' : `${errors} (${door.firstErrorStatus ?? baseline.firstErrorStatus ?? open.firstErrorStatus})`,
      `≥${percent(TARGET_RATIO)}, ≤${TARGET_CPU_RATIO}×`,
      r.met ? 'yes' : 'NO',
    ];
  });
  return table(title, header, rows, new Set([1, 2, 3, 4, 5, 6, 8, 9, 10, 11]));
}

/**
 * Per side: throughput as a share of the baseline's, the time it adds per request
 * (1/throughput − 1/baseline: the machine's time per request, server, database and load
 * generator sharing its cores), and the CPU each process spends per request.
 */
function formatBreakdown(sides: Side[], results: AccessResult[]): string {
  const header = ['scenario', 'side', 'req/s', 'of open', '+µs/req', 'CPU µs/req: Node', 'PostgreSQL', 'load generator', 'total'];
  const cpu = (value: number | undefined) => (value === undefined ? '—' : integer.format(value));
  const rows = results.flatMap((r) => {
    const open = r.sides[OPEN.name]!;
    return sides.map((side, i) => {
      const own = r.sides[side.name]!;
      const total = own.cpu.server === undefined || own.cpu.database === undefined ? undefined : own.cpu.server + own.cpu.database + own.cpu.client;
      return [
        i === 0 ? r.label : '',
        side.name,
        integer.format(own.throughput),
        percent(own.openRatio),
        side === OPEN ? '' : integer.format(1e6 / own.throughput - 1e6 / open.throughput),
        cpu(own.cpu.server),
        cpu(own.cpu.database),
        cpu(own.cpu.client),
        cpu(total),
      ];
    });
  });
  const title = `\nWhere the time goes (medians over the rounds):\n${sides.map((s) => `  ${s.name}: ${s.label}`).join('\n')}`;
  return table(title, header, rows, new Set([2, 3, 4, 5, 6, 7, 8]));
}

/**
 * What the database sessions were doing in the first round of each scenario and side, as time
 * per request (Little's law: sessions in a state ÷ requests per second).
 */
function formatWaits(sides: Side[], results: AccessResult[]): string {
  const header = ['scenario', 'side', 'busy sessions', 'ms per request in each state'];
  const rows = results.flatMap((r) =>
    sides.map((side, i) => {
      const turn = r.turns.find((t) => t.round === 0 && t.side === side.name);
      const waits = turn?.waits;
      const perRequest = (share: number) => (waits && turn ? (1000 * waits.busy * share) / turn.measurement.throughput : 0);
      const states = waits ? Object.entries(waits.shares).filter(([, share]) => perRequest(share) >= 0.05) : [];
      return [i === 0 ? r.label : '', side.name, waits ? waits.busy.toFixed(1) : '—', states.map(([what, share]) => `${what} ${perRequest(share).toFixed(2)}`).join(', ')];
    }),
  );
  const title =
    '\nDatabase sessions, sampled every 20 ms in round 1 (CPU: running, or ready to run; Lock:…: waiting for a row lock; LWLock:WALWrite, IO:WALSync: for the ' +
    'WAL flush at commit; idle in transaction: waiting for the server\'s next statement, locks held):';
  return table(title, header, rows, new Set([2]));
}

/** The first round's statements of each scenario and side, per request. */
function formatStatements(sides: Side[], results: AccessResult[]): string {
  const header = ['scenario', 'side', 'statement', 'calls/req', 'plan µs/call', 'µs/call', 'µs/req', 'WAL B/req'];
  const rows = results.flatMap((r) =>
    sides.flatMap((side, i) => {
      const costs = r.turns.find((t) => t.round === 0 && t.side === side.name)?.statements ?? [];
      return costs.slice(0, 6).map((c, j) => [
        i === 0 && j === 0 ? r.label : '',
        j === 0 ? side.name : '',
        c.kind,
        c.callsPerRequest.toFixed(2),
        integer.format(c.planUsPerCall),
        integer.format(c.usPerCall),
        integer.format(c.usPerRequest),
        integer.format(c.walBytesPerRequest),
      ]);
    }),
  );
  return table('\nInside PostgreSQL, per request (round 1, pg_stat_statements; planning shown when the server sets pg_stat_statements.track_planning; execution time includes lock waits, not the WAL flush at commit):', header, rows, new Set([3, 4, 5, 6, 7]));
}

/** `GET /fhir/metadata` (public, no token), as most clients ask for it (gzip) and uncompressed, median of three turns each. */
async function measureMetadata(running: Running): Promise<{ gzip: Measurement; plain: Measurement }> {
  const one = async (headers: Record<string, string>) => {
    const turns: Measurement[] = [];
    for (let i = 0; i < 3; i++) {
      turns.push(await measureHttp({ origin: running.target.origin, connections: settings.connections, seconds: settings.seconds, warmupSeconds: 0, headers, next: () => ({ method: 'GET', path: '/fhir/metadata' }) }));
    }
    return turns.sort((a, b) => a.throughput - b.throughput)[1]!;
  };
  return { gzip: await one({ 'accept-encoding': 'gzip' }), plain: await one({}) };
}

/** The audit trail on disk after the run: records, and bytes of the record table (rows, TOAST, indexes) and of the agent table. */
interface AuditSize {
  records: number;
  tableBytes: number;
  agentBytes: number;
  agents: number;
}

async function measureAuditSize(client: pg.Client): Promise<AuditSize> {
  await client.query('VACUUM ANALYZE audit_event');
  const { rows } = await client.query<{ records: string; table_bytes: string; agent_bytes: string; agents: string }>(
    `SELECT (SELECT count(*) FROM audit_event)::text AS records, pg_total_relation_size('audit_event')::text AS table_bytes,
            pg_total_relation_size('audit_agent')::text AS agent_bytes, (SELECT count(*) FROM audit_agent)::text AS agents`,
  );
  const row = rows[0]!;
  return { records: Number(row.records), tableBytes: Number(row.table_bytes), agentBytes: Number(row.agent_bytes), agents: Number(row.agents) };
}

function formatAuditSize(size: AuditSize): string {
  const perRecord = (size.tableBytes + size.agentBytes) / Math.max(1, size.records);
  return (
    `\nAudit trail on disk: ${integer.format(size.records)} records in ${integer.format(size.tableBytes / 1024)} KiB (rows, TOAST and both indexes) ` +
    `+ ${integer.format(size.agents)} agents in ${integer.format(size.agentBytes / 1024)} KiB: ${integer.format(perRecord)} bytes per record (target ≤ 400)`
  );
}

async function startSide(side: Side, database: BenchDatabase): Promise<Running> {
  const url = new URL(database.env.DATABASE_URL!);
  if (side.sessionOptions) url.searchParams.set('options', side.sessionOptions);
  const target = await startFhirTarget({
    ...database.env,
    DATABASE_URL: url.toString(),
    BENCH_LOG_LEVEL: settings.logLevel,
    BENCH_ORGANIZATION: ORGANIZATION,
    BENCH_AUDIT: side.audit ? 'on' : 'off',
    BENCH_OPEN: side.open ? 'on' : 'off',
  });
  return { side, target, auth: bearer(target.accounts[side.account]) };
}

/**
 * Runs the access benchmark in a fresh database on the server `serverUrl`, prints its table and
 * writes `.bench/access-postgres.json`. `breakdown` adds the sides that take the door apart.
 */
export async function runAccessBenchmark(serverUrl: string, options: { profile: boolean; breakdown: boolean }): Promise<AccessResult[]> {
  const startLoad = loadavg()[0]!;
  const sides = [BASELINE, DOOR, OPEN, ...(options.breakdown ? BREAKDOWN : [])];
  const database = await openBenchDatabase('postgres', serverUrl);
  const running: Running[] = [];
  let results: AccessResult[];
  let resources = 0;
  let plans = '';
  let metadata: { gzip: Measurement; plain: Measurement } | undefined;
  let auditSize: AuditSize | undefined;
  const client = new pg.Client({ connectionString: database.env.DATABASE_URL });
  try {
    for (const side of sides) running.push(await startSide(side, database));
    await client.connect();
    const [baseline, door] = running as [Running, Running];
    console.error(`[access] preloading ${integer.format(settings.patients)} patients of Organization/${ORGANIZATION} with their Observations…`);
    const started = performance.now();
    const { others, ...loaded } = await preload(`${baseline.target.origin}/fhir`, baseline.auth);
    // Grants for the clinician of every side that acts as one, so each side's break-glass subquery finds rows.
    for (const { side, target } of running) if (side.account === 'clinician') await grantBreakGlass(client, target.accounts.clinician.subject, others);
    resources = Number((await client.query<{ n: string }>('SELECT count(*)::text AS n FROM resource')).rows[0]!.n);
    console.error(`  ${integer.format(resources)} resources in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    await settle(database);
    const population: Population = { ...loaded, breakGlass: others.slice(0, BREAK_GLASS_GRANTS), unrelated: others.slice(2 * BREAK_GLASS_GRANTS) };
    const entries = await verify(baseline, door, client, population);
    const postmaster = await postmasterOf((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    const statements = options.breakdown && (await enableStatements(client));
    results = await measure(running, { client, statements, ...(postmaster ? { postmaster } : {}) }, population, entries, { profile: options.profile, diagnose: options.breakdown });
    auditSize = await measureAuditSize(client);
    metadata = await measureMetadata(door);
    plans = await doorPlans(
      database.env.DATABASE_URL!,
      door.target.accounts.clinician.subject,
      ORGANIZATION,
      SCENARIOS.map((scenario) => ({ label: scenario.label, path: scenario.next(population)() })),
    );
  } finally {
    await client.end().catch(() => undefined);
    await Promise.all(running.map((r) => r.target.stop()));
    await database.drop();
  }
  const machine = `${cpus().length} cores, Node ${process.version}, load average ${startLoad.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end`;
  const title =
    `\nAccess overhead — ${database.description} — ${machine}\n` +
    `baseline: ${BASELINE.label}; door: ${DOOR.label}, Organization/${ORGANIZATION}, user/*.rs. ` +
    `${integer.format(settings.patients)} attached patients, ${integer.format(resources)} resources; ${settings.connections} connections; ` +
    `${settings.rounds} rounds × ${settings.seconds} s per side in ABBA order after ${settings.warmupSeconds} s warm-up; medians; server log level ${settings.logLevel}` +
    (options.profile ? '\nPROFILING ON in round 1: figures are slowed by the profiler' : '');
  console.log(formatResults(title, results));
  console.log(formatBreakdown(sides, results));
  if (options.breakdown) console.log(formatWaits(sides, results));
  if (auditSize) console.log(formatAuditSize(auditSize));
  if (metadata) {
    const line = (m: Measurement) => `${integer.format(m.throughput)} req/s (p50 ${ms(m.p50)} ms, errors ${m.errors})`;
    console.log(`\nGET /fhir/metadata on the door's server, ${settings.connections} connections: gzip ${line(metadata.gzip)}; uncompressed ${line(metadata.plain)} (target ≥ 5,000/s)`);
  }
  console.log(`\nThe door's statements for one request of each scenario, and their plans:\n${plans}`);
  if (results.some((r) => r.turns.some((t) => t.statements))) console.log(formatStatements(sides, results));
  else if (options.breakdown) console.log('\n(statement costs need a server with shared_preload_libraries=pg_stat_statements)');
  await mkdir(OUT_DIR, { recursive: true });
  const file = join(OUT_DIR, 'access-postgres.json');
  await writeFile(
    file,
    JSON.stringify({ description: database.description, machine, settings, sides, resources, auditSize, date: new Date().toISOString(), profiled: options.profile, results, plans }, null, 2),
  );
  console.log(`(written to ${file})`);
  if (options.profile) {
    for (const result of results) {
      for (const side of sides) {
        const summary = await summarizeProfile(join(OUT_DIR, 'profiles', `access-${side.name}-${result.name}.cpuprofile`));
        console.log('\n' + formatHotSpots(`[access, ${side.name}] ${result.label}`, summary));
      }
    }
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { profile: { type: 'boolean', default: false }, breakdown: { type: 'boolean', default: false } } });
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('bench/access-run.ts needs DATABASE_URL (a PostgreSQL server)');
  await runAccessBenchmark(serverUrl, { profile: values.profile, breakdown: values.breakdown });
}
