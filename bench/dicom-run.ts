/**
 * The imaging benchmark (issue 18, "Targets"), side by side on one machine: Orthanc 1.10 with its
 * DICOMweb plugin from Debian (test/support/orthanc.ts, default configuration) and the platform
 * (`serve-target.ts`, on PostgreSQL when DATABASE_URL is set, else PGlite on disk), both up at
 * once, each on fresh storage and given the same generated data through the standard DICOMweb
 * endpoints (PS3.18), the timed rounds of STOW and WADO taken in turns (A B, B A, …):
 *
 * 1. STOW-RS: BENCH_DICOM_CLIENTS (4) clients each sending BENCH_DICOM_STOW_REQUESTS (4) requests
 *    of 25 instances (a new study each: 512×512 16-bit CT slices, ~0.5 MB), instances/s, median of
 *    4 rounds after one untimed (the bodies are made before the clock starts);
 * 2. QIDO-RS `/studies?PatientID=X` p50/p95 over BENCH_DICOM_QIDO_REQUESTS (2000) requests from
 *    one client, after BENCH_DICOM_STUDIES (300) more one-instance studies, each its own patient;
 * 3. WADO-RS retrieve of a 25-instance series (multipart, `transfer-syntax=*`) by curl,
 *    BENCH_DICOM_RETRIEVES (200) times in 4 turns after 3 untimed: MB/s and instances/s of the median retrieve;
 * 4. a rendered JPEG of one frame (`…/instances/{sop}/rendered`) by curl, BENCH_DICOM_RENDERS (200) times: p50;
 * 5. peak RSS of the server process (VmRSS sampled every 50 ms) while one study of
 *    BENCH_DICOM_BIG_GB (2.6) GB is uploaded in one chunked STOW request, made on the fly by the
 *    client (0 skips it).
 *
 * Beside STOW, QIDO and WADO, the server's CPU per instance, query or retrieve (/proc: its
 * process, and with DATABASE_URL its PostgreSQL server's too), which a shared machine's load
 * disturbs less than rates.
 *
 *   [DATABASE_URL=postgres://…] npm run bench:dicom [-- --profile] [-- --platform-first]
 *
 * Orthanc takes the first turn unless `--platform-first`.
 * `--profile` records the platform's CPU profile over the timed STOW rounds and prints where it
 * went (the rounds are slowed by the profiler).
 *
 * Until the platform serves DICOMweb (POST /dicom-web/studies answers 404) its column says "not
 * available". Environment as above, and BENCH_KEEP_DATABASE. Results: a table on stdout and
 * `.bench/dicom.json`.
 */
import { execFile } from 'node:child_process';
import { Agent, request } from 'node:http';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { startOrthanc } from '../test/support/orthanc.js';
import { type BenchDatabase, admin, openBenchDatabase } from './bench-database.js';
import { postmasterOf, processCpuMs, serverCpuMs } from './cpu.js';
import { type Identity, InstanceTemplate, STOW_CONTENT_TYPE, benchPatientId, benchUid, series, stowBody, stowStream } from './dicom-data.js';
import { percentile } from './load.js';
import { formatHotSpots, summarizeProfile } from './profile-summary.js';
import { OUT_DIR, envInteger } from './settings.js';
import { startFhirTarget } from './target-process.js';
import { table } from './table.js';

const settings = {
  clients: envInteger('BENCH_DICOM_CLIENTS', 4),
  stowRequests: envInteger('BENCH_DICOM_STOW_REQUESTS', 4),
  studies: envInteger('BENCH_DICOM_STUDIES', 300),
  qidoRequests: envInteger('BENCH_DICOM_QIDO_REQUESTS', 2000),
  retrieves: envInteger('BENCH_DICOM_RETRIEVES', 200),
  renders: envInteger('BENCH_DICOM_RENDERS', 200),
  bigGigabytes: Number(process.env.BENCH_DICOM_BIG_GB ?? '2.6'),
};
if (!(settings.bigGigabytes >= 0)) throw new Error(`BENCH_DICOM_BIG_GB must be a number of gigabytes, not "${process.env.BENCH_DICOM_BIG_GB}"`);
const INSTANCES_PER_REQUEST = 25;
/** Timed STOW rounds, in turns A B, B A, …: an even number, so each server goes first as often. */
const ROUNDS = 4;
/** Retrieves before the timed ones: the first of a kind pays for compiling its code path. */
const WARM_UP_RETRIEVES = 3;
/** The retrieves are made in this many turns, each server first in half of them. */
const WADO_TURNS = 4;
const SLICE = 512;
const RSS_SAMPLE_MS = 50;
/** Issue 18's fixed targets (the others are relative to Orthanc). */
const TARGET_RENDER_P50_MS = 10;
const TARGET_PEAK_RSS_MB = 500;
const MB = 1024 * 1024;
/** Which server takes the first turn (and is measured first in the phases that are not taken in turns). */
const PLATFORM_FIRST = process.argv.includes('--platform-first');
const PROFILE = process.argv.includes('--profile') ? join(OUT_DIR, 'profiles', 'dicom-stow.cpuprofile') : undefined;

interface CpuReading {
  total: number;
  database?: number;
}

/** CPU ms used between two readings; undefined parts stay NaN, which the table shows as "-". */
const cpuUsed = (before: CpuReading | undefined, after: CpuReading | undefined) => ({
  total: (after?.total ?? NaN) - (before?.total ?? NaN),
  database: (after?.database ?? NaN) - (before?.database ?? NaN),
});

/** A DICOMweb server under test. */
interface Peer {
  name: string;
  /** Its DICOMweb base, no trailing slash. */
  base: string;
  headers: Record<string, string>;
  pid: number;
  /** CPU ms the server has used so far: in all, and of that its PostgreSQL server's when it has one on this host. */
  cpuMs(): Promise<CpuReading | undefined>;
  /** Starts and stops the server's CPU profile, when it can record one. */
  profile?: { start(): Promise<void>; stop(file: string): Promise<void> };
  stop(): Promise<void>;
}

interface Reply {
  status: number;
  bytes: number;
  ms: number;
  /** Until the first byte of the answer (curl's time_starttransfer), where known. */
  firstByteMs?: number;
  contentType: string;
  /** The body as text, when asked for. */
  text?: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const execFileAsync = promisify(execFile);

/** One HTTP exchange; the body is counted, and kept only when `keep` (the rest is discarded as it arrives). */
function exchange(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | Readable; keep?: boolean }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers: Record<string, string> = { ...options.headers };
    if (Buffer.isBuffer(options.body)) headers['content-length'] = String(options.body.length);
    const req = request(url, { method: options.method ?? 'GET', headers, agent }, (res) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (options.keep) chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          ms: performance.now() - started,
          contentType: res.headers['content-type'] ?? '',
          ...(options.keep ? { text: Buffer.concat(chunks).toString() } : {}),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Buffer.isBuffer(options.body)) req.end(options.body);
    else if (options.body) options.body.pipe(req);
    else req.end();
  });
}

/**
 * `count` GETs of `url` by curl, one process on one connection, each timed by curl itself: a
 * Node client reading 13 MB a time spent more CPU in its own garbage collector than the servers
 * spent answering, and the figure was the client's; the rendered frame's latency is timed the
 * same way. Each answer must be 200 with at least `bytes`.
 */
async function getWithCurl(url: string, headers: Record<string, string>, count: number, bytes: number): Promise<Reply[]> {
  const args = ['--silent', '--show-error', ...Object.entries(headers).flatMap(([name, value]) => ['--header', `${name}: ${value}`])];
  for (let n = 0; n < count; n++) args.push('--output', '/dev/null', '--write-out', '%{http_code} %{size_download} %{time_total} %{time_starttransfer} %{content_type}\\n', url);
  const { stdout } = await execFileAsync('curl', args, { maxBuffer: 1 << 20 });
  const replies = stdout
    .trim()
    .split('\n')
    .map((line): Reply => {
      const [status, size, seconds, firstByte, ...type] = line.split(' ');
      return { status: Number(status), bytes: Number(size), ms: Number(seconds) * 1000, firstByteMs: Number(firstByte) * 1000, contentType: type.join(' ') };
    });
  const bad = replies.find((reply) => reply.status !== 200 || reply.bytes < bytes);
  if (replies.length !== count || bad) throw new Error(`curl: ${replies.length} of ${count} answers, one ${bad?.status} with ${bad?.bytes} bytes, not ${bytes}+`);
  return replies;
}

const stow = (peer: Peer, body: Buffer | Readable) =>
  exchange(`${peer.base}/studies`, { method: 'POST', headers: { ...peer.headers, 'content-type': STOW_CONTENT_TYPE, accept: 'application/dicom+json' }, body });

/** A STOW that must store everything (200): a 202 (some stored) fails the phase like any error. */
async function stowAll(peer: Peer, body: Buffer | Readable): Promise<Reply> {
  const reply = await stow(peer, body);
  if (reply.status !== 200) throw new Error(`${peer.name}: STOW answered ${reply.status}`);
  return reply;
}

const median = (values: number[] | undefined) => (values ? percentile([...values].sort((a, b) => a - b), 0.5) : undefined);

async function vmRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

/** One server's figures; a phase that failed leaves its own undefined and says why in `failures`. */
interface PeerResult {
  stowPerSecond?: number[];
  /** Server CPU (its process, and PostgreSQL's) per instance stored, over the rounds. */
  stowCpuMsPerInstance?: number;
  /** Of that, PostgreSQL's (NaN for Orthanc, whose index is in its own process). */
  stowDatabaseCpuMsPerInstance?: number;
  qidoP50Ms?: number;
  qidoP95Ms?: number;
  qidoCpuMsPerQuery?: number;
  retrieveMBps?: number;
  retrieveInstancesPerSecond?: number;
  /** The median retrieve's time to its first byte: what the server does before the body. */
  retrieveFirstByteMs?: number;
  /** Server CPU per retrieve, over the timed ones, and of that PostgreSQL's. */
  retrieveCpuMs?: number;
  retrieveDatabaseCpuMs?: number;
  renderedP50Ms?: number;
  renderedContentType?: string;
  big?: { gigabytes: number; instances: number; seconds: number; baselineRssMB: number; peakRssMB: number; status: number };
  failures: Record<string, string>;
}

/** A server being measured: its results, and the data its phases share. */
interface Subject {
  peer: Peer;
  result: PeerResult;
  newStudy(): Omit<Identity, 'sop'>;
  /** The series retrieved and rendered, stored first. */
  kept: Omit<Identity, 'sop'>;
  keptSop: string;
  keptBytes: number;
}

const slice = new InstanceTemplate(SLICE, SLICE);
const small = new InstanceTemplate(64, 64);

/** A started server, its kept series stored (the warm-up): without it nothing else can be measured. */
async function subjectOf(peer: Peer): Promise<Subject> {
  let patients = 0;
  const newStudy = () => ({ study: benchUid(), series: benchUid(), patientId: benchPatientId(patients++) });
  const kept = newStudy();
  const keptSop = benchUid();
  const keptInstances = [slice.instance({ ...kept, sop: keptSop }), ...series(slice, INSTANCES_PER_REQUEST - 1, kept)];
  await stowAll(peer, stowBody(keptInstances));
  return { peer, result: { failures: {} }, newStudy, kept, keptSop, keptBytes: keptInstances.reduce((sum, instance) => sum + instance.length, 0) };
}

/**
 * Runs a phase for every subject; one's failure is recorded and the others, and the next phase,
 * still run (phases share only the kept series).
 */
async function phase(subjects: readonly Subject[], name: string, work: (subject: Subject) => Promise<void>): Promise<void> {
  for (const subject of subjects) {
    try {
      await work(subject);
    } catch (error) {
      subject.result.failures[name] = (error as Error).message;
      log(subject.peer, `  ${name} failed: ${(error as Error).message}`);
    }
  }
}

/** The subjects in round `round`'s order, A B, B A, A B, …: each goes first as often as the other. */
const inTurn = (subjects: readonly Subject[], round: number) => (round % 2 === 0 ? subjects : [...subjects].reverse());

/**
 * The phases, with every server up at once and their timed rounds taking turns: the machine's
 * state (memory the host has not yet handed back, files just written) would otherwise favour
 * whichever server went first. On these virtual machines that was worth a third of STOW's CPU.
 */
async function measureTogether(subjects: readonly Subject[]): Promise<void> {
  for (const subject of subjects) log(subject.peer, `STOW: 1 untimed and ${ROUNDS} timed rounds of ${settings.clients} clients × ${settings.stowRequests} requests × ${INSTANCES_PER_REQUEST} instances, in turns`);
  const roundBodies = (subject: Subject) =>
    Array.from({ length: settings.clients }, () => Array.from({ length: settings.stowRequests }, () => stowBody(series(slice, INSTANCES_PER_REQUEST, subject.newStudy()))));
  const send = async (peer: Peer, bodies: Buffer[][]) => {
    await Promise.all(
      bodies.map(async (own) => {
        for (const body of own) await stowAll(peer, body);
      }),
    );
  };
  // One untimed round first: a steady state is measured, not the first seconds of a process.
  await phase(subjects, 'STOW', (subject) => send(subject.peer, roundBodies(subject)));
  const profiled = PROFILE ? subjects.find((subject) => subject.peer.profile) : undefined;
  await profiled?.peer.profile!.start();
  const cpuMs = new Map(subjects.map((subject) => [subject, { total: 0, database: 0, rates: [] as number[] }]));
  const perRound = settings.clients * settings.stowRequests * INSTANCES_PER_REQUEST;
  for (let round = 0; round < ROUNDS; round++) {
    // Both servers' bodies made before either goes: memory the client gives back between rounds
    // spares the next server's files the cost of memory the host has not backed yet (a third of
    // STOW's CPU on these virtual machines), so it is given back for both at once.
    const bodies = new Map(subjects.map((subject) => [subject, roundBodies(subject)]));
    await phase(inTurn(subjects, round), 'STOW', async (subject) => {
      if (subject.result.failures.STOW) return;
      const cpuBefore = await subject.peer.cpuMs();
      const started = performance.now();
      await send(subject.peer, bodies.get(subject)!);
      const seconds = (performance.now() - started) / 1000;
      const used = cpuUsed(cpuBefore, await subject.peer.cpuMs());
      const sums = cpuMs.get(subject)!;
      sums.total += used.total;
      sums.database += used.database;
      sums.rates.push(perRound / seconds);
      log(subject.peer, `  round ${round + 1}: ${sums.rates.at(-1)!.toFixed(0)} instances/s, ${(used.total / perRound).toFixed(2)} CPU ms each`);
    });
  }
  if (profiled && PROFILE) {
    await profiled.peer.profile!.stop(PROFILE);
    console.log(formatHotSpots(`${profiled.peer.name} CPU profile over the timed STOW rounds (the others' rounds idle)`, await summarizeProfile(PROFILE)));
  }
  for (const subject of subjects) {
    const sums = cpuMs.get(subject)!;
    if (subject.result.failures.STOW) continue;
    subject.result.stowPerSecond = sums.rates;
    subject.result.stowCpuMsPerInstance = sums.total / (ROUNDS * perRound);
    subject.result.stowDatabaseCpuMsPerInstance = sums.database / (ROUNDS * perRound);
  }

  await phase(subjects, 'QIDO', async ({ peer, result, newStudy }) => {
    log(peer, `QIDO: ${settings.studies} more studies, then ${settings.qidoRequests} searches by PatientID`);
    const queried: string[] = [];
    for (let sent = 0; sent < settings.studies; sent += INSTANCES_PER_REQUEST) {
      const batch = Array.from({ length: Math.min(INSTANCES_PER_REQUEST, settings.studies - sent) }, () => {
        const identity = newStudy();
        queried.push(identity.patientId);
        return small.instance({ ...identity, sop: benchUid() });
      });
      await stowAll(peer, stowBody(batch));
    }
    const qido = (patientId: string, keep = false) => exchange(`${peer.base}/studies?PatientID=${patientId}`, { headers: { ...peer.headers, accept: 'application/dicom+json' }, keep });
    // The answers must be right, not only fast: one study for one patient.
    for (const patientId of queried.slice(0, 5)) {
      const reply = await qido(patientId, true);
      const found = reply.status === 200 ? (JSON.parse(reply.text!) as unknown[]).length : -1;
      if (found !== 1) throw new Error(`/studies?PatientID=${patientId} answered ${reply.status} with ${found} studies, not 1`);
    }
    const qidoMs: number[] = [];
    const cpuBefore = await peer.cpuMs();
    for (let n = 0; n < settings.qidoRequests; n++) {
      const reply = await qido(queried[n % queried.length]!);
      if (reply.status !== 200) throw new Error(`QIDO answered ${reply.status}`);
      qidoMs.push(reply.ms);
    }
    result.qidoCpuMsPerQuery = cpuUsed(cpuBefore, await peer.cpuMs()).total / settings.qidoRequests;
    qidoMs.sort((a, b) => a - b);
    result.qidoP50Ms = percentile(qidoMs, 0.5);
    result.qidoP95Ms = percentile(qidoMs, 0.95);
  });

  const accept = 'multipart/related; type="application/dicom"; transfer-syntax=*';
  const retrieve = (subject: Subject, count: number) =>
    getWithCurl(`${subject.peer.base}/studies/${subject.kept.study}/series/${subject.kept.series}`, { ...subject.peer.headers, accept }, count, subject.keptBytes);
  for (const subject of subjects) log(subject.peer, `WADO-RS: the ${INSTANCES_PER_REQUEST}-instance series, ${settings.retrieves} times in ${WADO_TURNS} turns`);
  await phase(subjects, 'WADO-RS', (subject) => retrieve(subject, WARM_UP_RETRIEVES).then(() => undefined));
  const retrieves = new Map(subjects.map((subject) => [subject, [] as Reply[]]));
  const retrieveCpu = new Map(subjects.map((subject) => [subject, { total: 0, database: 0 }]));
  for (let turn = 0; turn < WADO_TURNS; turn++) {
    const count = Math.ceil(settings.retrieves / WADO_TURNS);
    await phase(inTurn(subjects, turn), 'WADO-RS', async (subject) => {
      if (subject.result.failures['WADO-RS']) return;
      const cpuBefore = await subject.peer.cpuMs();
      retrieves.get(subject)!.push(...(await retrieve(subject, count)));
      const used = cpuUsed(cpuBefore, await subject.peer.cpuMs());
      retrieveCpu.get(subject)!.total += used.total;
      retrieveCpu.get(subject)!.database += used.database;
    });
  }
  for (const subject of subjects) {
    if (subject.result.failures['WADO-RS']) continue;
    const typical = retrieves.get(subject)!.sort((a, b) => a.ms - b.ms)[retrieves.get(subject)!.length >> 1]!;
    subject.result.retrieveMBps = typical.bytes / MB / (typical.ms / 1000);
    subject.result.retrieveInstancesPerSecond = INSTANCES_PER_REQUEST / (typical.ms / 1000);
    subject.result.retrieveFirstByteMs = typical.firstByteMs;
    subject.result.retrieveCpuMs = retrieveCpu.get(subject)!.total / retrieves.get(subject)!.length;
    subject.result.retrieveDatabaseCpuMs = retrieveCpu.get(subject)!.database / retrieves.get(subject)!.length;
  }

  await phase(subjects, 'rendered', async ({ peer, result, kept, keptSop }) => {
    log(peer, `rendered: one frame as JPEG, ${settings.renders} times`);
    const renderPath = `${peer.base}/studies/${kept.study}/series/${kept.series}/instances/${keptSop}/rendered`;
    const replies = await getWithCurl(renderPath, { ...peer.headers, accept: 'image/jpeg' }, settings.renders, 1);
    result.renderedContentType = replies[0]!.contentType;
    result.renderedP50Ms = percentile(replies.map((reply) => reply.ms).sort((a, b) => a - b), 0.5);
  });

  if (settings.bigGigabytes > 0) {
    await phase(subjects, 'big study', async ({ peer, result, newStudy }) => {
      const instances = Math.ceil((settings.bigGigabytes * 1e9) / slice.bytes.length);
      log(peer, `big study: ${instances} instances (${settings.bigGigabytes} GB) in one chunked STOW request`);
      const baseline = await vmRssKb(peer.pid);
      let peak = baseline;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await vmRssKb(peer.pid).catch(() => 0));
          await new Promise((resolve) => setTimeout(resolve, RSS_SAMPLE_MS));
        }
      })();
      const started = performance.now();
      const reply = await stow(peer, stowStream(series(slice, instances, newStudy()))).finally(() => (sampling = false));
      const seconds = (performance.now() - started) / 1000;
      await sampler;
      result.big = { gigabytes: settings.bigGigabytes, instances, seconds, baselineRssMB: baseline / 1024, peakRssMB: peak / 1024, status: reply.status };
      log(peer, `  ${reply.status} in ${seconds.toFixed(0)} s, peak RSS ${(peak / 1024).toFixed(0)} MB`);
      if (reply.status !== 200) throw new Error(`STOW answered ${reply.status} (peak RSS still reported)`);
    });
  }
}

function log(peer: Peer, message: string): void {
  console.error(`[${peer.name}] ${message}`);
}

async function orthancPeer(dir: string): Promise<Peer> {
  await mkdir(dir);
  const orthanc = await startOrthanc({ dir });
  return { name: 'Orthanc', base: orthanc.dicomWeb, headers: {}, pid: orthanc.pid, cpuMs: async () => {
      const total = await processCpuMs(orthanc.pid);
      return total === undefined ? undefined : { total };
    },
    stop: () => orthanc.stop() };
}

/**
 * The platform, its images under `imagesDir` (BENCH_IMAGES_DIR: serve-target.ts gives buildApp a
 * filesystem image store there), or undefined (and stopped) when it does not serve STOW-RS.
 */
async function platformPeer(database: BenchDatabase, imagesDir: string): Promise<Peer | undefined> {
  const target = await startFhirTarget({ ...database.env, BENCH_IMAGES_DIR: imagesDir, BENCH_LOG_LEVEL: process.env.BENCH_LOG_LEVEL });
  const postmaster = database.env.DATABASE_URL
    ? await admin(database.env.DATABASE_URL, async (client) => postmasterOf((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid))
    : undefined;
  const peer: Peer = {
    async cpuMs() {
      const own = await processCpuMs(target.pid);
      if (own === undefined) return undefined;
      // PGlite runs inside the server's process: its CPU is the process's.
      if (postmaster === undefined) return { total: own };
      const database = await serverCpuMs(postmaster);
      return database === undefined ? undefined : { total: own + database, database };
    },
    name: 'Densaulyq',
    base: `${target.origin}/dicom-web`,
    headers: { authorization: `Bearer ${target.accounts.administrator.token}` },
    pid: target.pid,
    profile: { start: () => target.profileStart(), stop: (file) => target.profileStop(file) },
    stop: () => target.stop(),
  };
  const probe = await stow(peer, stowBody([]));
  if (probe.status !== 404) return peer;
  await target.stop();
  return undefined;
}

/** The table; `measured` is the platform's results, or why there are none ('not available', 'failed'). */
function report(orthanc: PeerResult, measured: PeerResult | string, database: BenchDatabase): string {
  const platform = typeof measured === 'string' ? undefined : measured;
  const missing = typeof measured === 'string' ? measured : '';
  interface Row {
    label: string;
    /** The phase that measures it (PeerResult.failures). */
    phase: string;
    value: (r: PeerResult) => number | undefined;
    digits: number;
    target?: { text: string; met: (ours: number, orthanc: number | undefined) => boolean };
  }
  const atLeastOrthanc = { text: '≥ Orthanc', met: (ours: number, theirs: number | undefined) => theirs !== undefined && ours >= theirs };
  const rows: Row[] = [
    { phase: 'STOW', label: `STOW instances/s (${settings.clients} clients × ${INSTANCES_PER_REQUEST}/request, median of ${ROUNDS})`, value: (r) => median(r.stowPerSecond), digits: 0, target: atLeastOrthanc },
    { phase: 'STOW', label: '  server CPU ms per instance', value: (r) => r.stowCpuMsPerInstance, digits: 2 },
    { phase: 'STOW', label: '    of which PostgreSQL', value: (r) => r.stowDatabaseCpuMsPerInstance, digits: 2 },
    { phase: 'QIDO', label: 'QIDO /studies?PatientID p50 ms', value: (r) => r.qidoP50Ms, digits: 2, target: { text: '≤ Orthanc', met: (ours, theirs) => theirs !== undefined && ours <= theirs } },
    { phase: 'QIDO', label: 'QIDO /studies?PatientID p95 ms', value: (r) => r.qidoP95Ms, digits: 2 },
    { phase: 'QIDO', label: '  server CPU ms per query', value: (r) => r.qidoCpuMsPerQuery, digits: 2 },
    { phase: 'WADO-RS', label: 'WADO-RS series retrieve MB/s (median)', value: (r) => r.retrieveMBps, digits: 0, target: atLeastOrthanc },
    { phase: 'WADO-RS', label: 'WADO-RS series retrieve instances/s', value: (r) => r.retrieveInstancesPerSecond, digits: 0, target: atLeastOrthanc },
    { phase: 'WADO-RS', label: '  ms to its first byte', value: (r) => r.retrieveFirstByteMs, digits: 2 },
    { phase: 'WADO-RS', label: '  server CPU ms per retrieve', value: (r) => r.retrieveCpuMs, digits: 2 },
    { phase: 'WADO-RS', label: '    of which PostgreSQL', value: (r) => r.retrieveDatabaseCpuMs, digits: 2 },
    { phase: 'rendered', label: 'rendered JPEG p50 ms', value: (r) => r.renderedP50Ms, digits: 2, target: { text: `≤ ${TARGET_RENDER_P50_MS}`, met: (ours) => ours <= TARGET_RENDER_P50_MS } },
    { phase: 'big study', label: `peak RSS MB, ${settings.bigGigabytes} GB study in one STOW`, value: (r) => r.big?.peakRssMB, digits: 0, target: { text: `< ${TARGET_PEAK_RSS_MB}`, met: (ours) => ours < TARGET_PEAK_RSS_MB } },
    { phase: 'big study', label: '  RSS MB before that upload', value: (r) => r.big?.baselineRssMB, digits: 0 },
    { phase: 'big study', label: "  that upload's MB/s", value: (r) => (r.big ? (r.big.gigabytes * 1e9) / MB / r.big.seconds : undefined), digits: 0 },
  ];
  const cell = (result: PeerResult, row: Row) => {
    const value = row.value(result);
    if (value !== undefined && !Number.isNaN(value)) return value.toFixed(row.digits);
    return result.failures[row.phase] ? 'failed' : '-';
  };
  const body = rows.map((row) => {
    const theirs = row.value(orthanc);
    const ours = platform ? row.value(platform) : undefined;
    return [
      row.label,
      cell(orthanc, row),
      platform ? cell(platform, row) : missing,
      ours !== undefined && theirs ? `${(ours / theirs).toFixed(2)}×` : '',
      row.target?.text ?? '',
      ours !== undefined && row.target ? (row.target.met(ours, theirs) ? 'yes' : 'NO') : '',
    ];
  });
  const bigStatus = (r: PeerResult | undefined) => (r?.big ? String(r.big.status) : '-');
  return [
    `DICOMweb side by side (issue 18): Orthanc 1.10 + DICOMweb plugin vs the platform on ${database.description}`,
    `${cpus().length} cores (${cpus()[0]?.model}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${SLICE}×${SLICE} 16-bit CT slices; rendered as ${orthanc.renderedContentType} / ${platform?.renderedContentType ?? '-'}; big-study STOW status: Orthanc ${bigStatus(orthanc)}, platform ${bigStatus(platform)}`,
    '',
    table(['', 'Orthanc', 'Densaulyq', 'Densaulyq ÷ Orthanc', 'target', 'met'], body),
    ...[['Orthanc', orthanc] as const, ['Densaulyq', platform] as const].flatMap(([name, result]) =>
      Object.entries(result?.failures ?? {}).map(([phase, message]) => `${name} ${phase} failed: ${message}`),
    ),
  ].join('\n');
}

/** When the last run removed its files (a file, so that the next run knows). */
const REMOVED_AT = join(OUT_DIR, 'dicom-removed-at');
/**
 * How long ext4 keeps passing over deleted inodes when it allocates new ones (RECENTCY_MIN in
 * fs/ext4/ialloc.c; longer while their inode table is not yet written back): each file a server
 * creates meanwhile scans past the thousands a run removes, a tenth of the platform's STOW CPU.
 */
const DELETED_INODES_RECENT_MS = 90_000;

/** Waits until the files the previous run removed no longer slow down file creation. */
async function afterPreviousRemoval(): Promise<void> {
  const removedAt = Number(await readFile(REMOVED_AT, 'utf8').catch(() => '0'));
  const wait = removedAt + DELETED_INODES_RECENT_MS - Date.now();
  if (!(wait > 0)) return;
  console.error(`waiting ${Math.ceil(wait / 1000)} s: the previous run's files were removed ${((Date.now() - removedAt) / 1000).toFixed(0)} s ago`);
  await new Promise((resolve) => setTimeout(resolve, wait));
}

async function main(): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true });
  await afterPreviousRemoval();
  // Both servers' files stay until both are measured, for the same reason: the second server
  // would otherwise pay for the removal of the first one's.
  const scratch = await mkdtemp(join(tmpdir(), 'densaulyq-bench-dicom-'));
  const serverUrl = process.env.DATABASE_URL || undefined;
  const database = await openBenchDatabase(serverUrl ? 'postgres' : 'pglite', serverUrl);
  const stops: (() => Promise<void>)[] = [];
  try {
    const orthanc = await orthancPeer(join(scratch, 'orthanc'));
    stops.push(() => orthanc.stop());
    const platform = await platformPeer(database, join(scratch, 'densaulyq'));
    if (platform) stops.push(() => platform.stop());
    else console.error('[Densaulyq] POST /dicom-web/studies answered 404: no DICOMweb (does bench/serve-target.ts give buildApp an image store from BENCH_IMAGES_DIR?)');
    const orthancSubject = await subjectOf(orthanc);
    let platformSubject: Subject | string = 'not available';
    try {
      if (platform) platformSubject = await subjectOf(platform);
    } catch (error) {
      // Orthanc's column is still worth printing; the platform's says why it has none.
      console.error(error);
      platformSubject = 'failed';
    }
    const subjects = typeof platformSubject === 'string' ? [orthancSubject] : PLATFORM_FIRST ? [platformSubject, orthancSubject] : [orthancSubject, platformSubject];
    await measureTogether(subjects);
    const platformResult = typeof platformSubject === 'string' ? platformSubject : platformSubject.result;
    console.log(report(orthancSubject.result, platformResult, database));
    await writeFile(join(OUT_DIR, 'dicom.json'), JSON.stringify({ settings, database: database.description, platformFirst: PLATFORM_FIRST, orthanc: orthancSubject.result, densaulyq: platformResult }, null, 2));
  } finally {
    for (const stop of stops) await stop();
    await database.drop();
    await rm(scratch, { recursive: true, force: true });
    await writeFile(REMOVED_AT, String(Date.now()));
    agent.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
