/**
 * The laboratory store's intake benchmark (issue 17: "≥ 500 ORU messages/s through MLLP into the
 * store on 2 cores, ACK p95 ≤ 50 ms"), on PostgreSQL. A real `densaulyq serve` process (its own
 * event loop and core) takes ORU^R01 messages over MLLP from BENCH_LAB_CONNECTIONS lab
 * connections, each sending one message and waiting for its ACK, as a lab's interface engine does.
 * Every message is a chemistry panel (five OBX, one SPM) for one of BENCH_LAB_PATIENTS patients the
 * lab has referrals for, with its own control id and filler order number, so each is parsed,
 * acknowledged, kept, and filed through the door as seven new resources with their audit record.
 *
 * Besides the rate and the ACK latency it gives the CPU per message of the server and of
 * PostgreSQL, and, as the same run's yardstick, the rate at which the same server files the same
 * results posted as FHIR transaction Bundles over HTTP by the lab's own system client (the FHIR
 * route of the issue), so the HL7 v2 path's own cost shows as a ratio.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/lab-run.ts [--profile]
 *
 * `--profile` runs the server under `node --cpu-prof` and prints where its CPU went (figures are
 * slowed by the profiler). `--breakdown`, on a server that preloads pg_stat_statements, lists the
 * statements of each route per message: round trips are most of what a message costs here.
 *
 * Environment: DATABASE_URL (required), BENCH_LAB_PATIENTS (2000), BENCH_LAB_CONNECTIONS (8),
 * BENCH_LAB_SECONDS (10), BENCH_WARMUP (5: the first messages load the validator's definitions), BENCH_KEEP_DATABASE. Results: a table on stdout and
 * `.bench/lab-postgres.json`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Endpoint, Organization, Patient, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { seedingAccess } from '../src/access/door.js';
import { mintAccessToken } from '../src/access/tokens.js';
import { HL7V2_FACILITY_SYSTEM, IIN_SYSTEM } from '../src/fhir/identifier-systems.js';
import { buildIin } from '../src/identity/iin.js';
import { MLLP_CONNECTION_TYPE } from '../src/hl7v2/intake.js';
import { parseMessage } from '../src/hl7v2/parse.js';
import { oruToBundle } from '../src/lab/oru-to-fhir.js';
import { component, segment } from '../src/hl7v2/message.js';
import { loadAuditKey } from '../src/store/audit-key.js';
import { openDatabase } from '../src/store/open.js';
import { Repository } from '../src/store/repository.js';
import { admin, openBenchDatabase, settle } from './bench-database.js';
import { postmasterOf, processCpuMs, serverCpuMs } from './cpu.js';
import { formatHotSpots, summarizeProfile } from './profile-summary.js';
import { type StatementCost, enableStatements, readStatements, resetStatements } from './statements.js';
import { OUT_DIR, envInteger, servedEnv } from './settings.js';
import { table } from './table.js';

const settings = {
  patients: envInteger('BENCH_LAB_PATIENTS', 2000),
  connections: envInteger('BENCH_LAB_CONNECTIONS', 8),
  seconds: envInteger('BENCH_LAB_SECONDS', 10),
  warmupSeconds: envInteger('BENCH_WARMUP', 5),
};
const profile = process.argv.includes('--profile');
const breakdown = process.argv.includes('--breakdown');
const TARGET_RATE = 500;
const TARGET_P95_MS = 50;
const LAB = 'bench-lab';
const CLINIC = 'bench-polyclinic';
const FACILITY = 'BENCH_LAB';
const BIN = join(import.meta.dirname, '../bin/densaulyq.mjs');
/** The server's public origin, which its tokens' issuer and audience name. */
const ORIGIN = 'http://localhost:8080';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

function iinOf(i: number): string {
  const birthDate = `19${String(50 + (i % 45)).padStart(2, '0')}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
  // Unique per i: the date cycles through 1,260 distinct days, the serial counts the cycles; a
  // serial whose check digit is impossible gives way to one 5,000 higher.
  const serial = 1000 + Math.floor(i / 1260);
  const iin = buildIin({ birthDate, sex: i % 2 ? 'male' : 'female', serial }) ?? buildIin({ birthDate, sex: i % 2 ? 'male' : 'female', serial: serial + 5000 });
  if (!iin) throw new Error(`no IIN for ${i}`);
  return iin;
}

/** The lab, the clinic that refers to it, the lab's MLLP Endpoint, and patients each with a referral the lab performs. */
function population(): Resource[] {
  const resources: Resource[] = [
    { resourceType: 'Organization', id: LAB, name: 'Bench laboratory' } satisfies Organization,
    { resourceType: 'Organization', id: CLINIC, name: 'Bench polyclinic' } satisfies Organization,
    {
      resourceType: 'Endpoint',
      id: 'bench-lab-mllp',
      status: 'active',
      identifier: [{ system: HL7V2_FACILITY_SYSTEM, value: FACILITY }],
      connectionType: MLLP_CONNECTION_TYPE,
      managingOrganization: { reference: `Organization/${LAB}` },
      payloadType: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'any' }] }],
      address: `mllp:${FACILITY}`,
    } satisfies Endpoint,
  ];
  for (let i = 0; i < settings.patients; i++) {
    resources.push({ resourceType: 'Patient', id: `lab-p${i}`, identifier: [{ system: IIN_SYSTEM, value: iinOf(i) }], name: [{ family: `Пациент${i}` }], generalPractitioner: [{ reference: `Organization/${CLINIC}` }] } satisfies Patient);
    resources.push({
      resourceType: 'ServiceRequest',
      id: `lab-sr${i}`,
      status: 'active',
      intent: 'order',
      code: { coding: [{ system: 'http://loinc.org', code: '24323-8' }] },
      subject: { reference: `Patient/lab-p${i}` },
      requester: { reference: `Organization/${CLINIC}` },
      performer: [{ reference: `Organization/${LAB}` }],
    } satisfies ServiceRequest);
  }
  return resources;
}

/** A chemistry panel for patient `i`, message `n`: its own control id and filler order number. */
function oru(n: number, i: number): string {
  const at = '20261206100000+0600';
  const filler = `BL-${n}`;
  const obx = (k: number, loinc: string, name: string, value: string, unit: string, range: string, flag: string) =>
    `OBX|${k}|NM|${loinc}^${name}^LN||${value}|${unit}^^UCUM|${range}|${flag}|||F|||${at}`;
  return [
    `MSH|^~\\&|LIS|${FACILITY}|DENSAULYQ|MOH_KZ|${at}||ORU^R01^ORU_R01|BENCH${n}|P|2.5.1|||AL|NE||UNICODE UTF-8`,
    `PID|1||${iinOf(i)}^^^KZ^NI||Пациент${i}^Тест||19800101|F`,
    `ORC|RE|ORD-${n}^${CLINIC}|${filler}^${FACILITY}||CM`,
    `OBR|1|ORD-${n}^${CLINIC}|${filler}^${FACILITY}|24323-8^Comprehensive metabolic panel^LN|||${at}|||||||${at}|BLD&Blood&HL70070|||||||${at}||CH|F`,
    obx(1, '2345-7', 'Glucose', (4 + (n % 30) / 10).toFixed(1), 'mmol/L', '3.9-6.1', n % 7 === 0 ? 'H' : 'N'),
    obx(2, '2160-0', 'Creatinine', String(60 + (n % 50)), 'umol/L', '62-106', 'N'),
    obx(3, '2823-3', 'Potassium', (3.6 + (n % 10) / 10).toFixed(1), 'mmol/L', '3.5-5.1', 'N'),
    obx(4, '1920-8', 'AST', String(20 + (n % 20)), 'U/L', '<40', 'N'),
    obx(5, '2093-3', 'Cholesterol', (4 + (n % 25) / 10).toFixed(1), 'mmol/L', '<5.2', 'N'),
    `SPM|1|^${filler}-1&${FACILITY}||SER^Serum^HL70487|||||||||||||${at}|${at}`,
  ].join('\r');
}

const frame = (text: string) => Buffer.concat([Buffer.of(0x0b), Buffer.from(text, 'utf8'), Buffer.of(0x1c, 0x0d)]);

/** One lab connection: sends, waits for the ACK, sends the next. */
async function mllpConnection(port: number): Promise<{ exchange(text: string): Promise<string>; close(): void }> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  let pending = Buffer.alloc(0);
  let waiting: ((answer: string) => void) | undefined;
  let failed: ((error: Error) => void) | undefined;
  socket.on('close', () => failed?.(new Error('the server closed the MLLP connection')));
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    const end = pending.indexOf(Buffer.of(0x1c, 0x0d));
    if (end < 0) return;
    const answer = pending.subarray(pending.indexOf(0x0b) + 1, end).toString('utf8');
    pending = pending.subarray(end + 2);
    const resolve = waiting;
    waiting = undefined;
    resolve?.(answer);
  });
  return {
    exchange: (text) =>
      new Promise((resolve, reject) => {
        waiting = resolve;
        failed = reject;
        socket.write(frame(text));
      }),
    close: () => socket.destroy(),
  };
}

interface Side {
  name: string;
  messages: number;
  rate: number;
  p50: number;
  p95: number;
  p99: number;
  accepted: number;
  serverCpuUsPerMessage: number;
  postgresCpuUsPerMessage: number;
  /** With `--breakdown`: the measured part's statements, per message. */
  statements?: StatementCost[];
}

/** What the bench reads PostgreSQL's statement counters through, with `--breakdown` on a server that keeps them. */
interface StatementCounter {
  reset(): Promise<void>;
  read(messages: number): Promise<StatementCost[]>;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/**
 * Runs `send` on `connections` loops (lanes, one message in flight each) for warm-up plus the
 * measured seconds, `warm` in between; latencies and counts of the measured part.
 */
async function drive(
  name: string,
  connections: number,
  send: (n: number, lane: number) => Promise<boolean>,
  cpu: () => Promise<[number, number]>,
  warm: () => Promise<void>,
  counter?: StatementCounter,
): Promise<Side> {
  let next = 0;
  let measuring = false;
  let stop = false;
  const latencies: number[] = [];
  let accepted = 0;
  const loop = async (lane: number) => {
    while (!stop) {
      const n = next++;
      const start = performance.now();
      const ok = await send(n, lane);
      if (measuring) {
        latencies.push(performance.now() - start);
        if (ok) accepted++;
      }
    }
  };
  const loops = Array.from({ length: connections }, (_, lane) => loop(lane));
  await new Promise((resolve) => setTimeout(resolve, settings.warmupSeconds * 1000));
  await warm();
  await counter?.reset();
  const [server0, postgres0] = await cpu();
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, settings.seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  const [server1, postgres1] = await cpu();
  const statements = await counter?.read(latencies.length);
  stop = true;
  await Promise.all(loops);
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name,
    messages: latencies.length,
    rate: latencies.length / elapsed,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    accepted,
    serverCpuUsPerMessage: ((server1 - server0) * 1000) / latencies.length,
    postgresCpuUsPerMessage: ((postgres1 - postgres0) * 1000) / latencies.length,
    ...(statements ? { statements } : {}),
  };
}

/** A route's statements per message, most expensive first. */
function formatStatements(side: Side): string {
  const rows = side.statements!.map((s) => [s.kind, s.callsPerRequest.toFixed(2), s.planUsPerCall.toFixed(0), s.usPerCall.toFixed(0), s.usPerRequest.toFixed(0)]);
  const total = side.statements!.reduce((sum, s) => sum + s.callsPerRequest, 0);
  const header = ['statement', 'calls/msg', 'planning µs/call', 'execution µs/call', 'execution µs/msg'];
  return `\n${side.name}: ${total.toFixed(1)} statements per message (pg_stat_statements; planning shown when the server sets pg_stat_statements.track_planning; not the commit's WAL flush)\n${table(header, rows)}`;
}

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('DATABASE_URL must name a PostgreSQL server');
  const database = await openBenchDatabase('postgres', serverUrl);
  const dir = await mkdtemp(join(tmpdir(), 'densaulyq-lab-bench-'));
  let child: ChildProcess | undefined;
  let observer: pg.Client | undefined;
  try {
    const keyFile = join(dir, 'audit.key');
    const db = await openDatabase({ databaseUrl: database.env.DATABASE_URL!, auditKey: await loadAuditKey(keyFile, { create: true }) });
    console.error(`[lab] seeding ${settings.patients.toLocaleString('en')} patients referred to the lab…`);
    const seeding = new Repository(db, seedingAccess());
    const resources = population();
    for (let i = 0; i < resources.length; i += 500) await seeding.writeMany(resources.slice(i, i + 500).map((resource) => ({ resource, id: resource.id! })), 'upsert');
    const { access_token: token } = await mintAccessToken(
      db,
      { sub: 'bench-lab-system', client_id: 'bench-lab', scope: 'system/*.cruds', role: 'system', organization: LAB },
      { issuer: `${ORIGIN}/auth`, fhirBaseUrl: `${ORIGIN}/fhir`, ttlSeconds: 3600 },
    );
    await db.close();
    await settle(database);

    const [port, mllpPort] = [await freePort(), await freePort()];
    const profileDir = join(OUT_DIR, 'profiles', 'lab');
    if (profile) await rm(profileDir, { recursive: true, force: true });
    child = spawn(process.execPath, [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), BIN, 'serve'], {
      env: servedEnv({ database: database.env, dir, keyFile, port, mllpPort, origin: ORIGIN }),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const origin = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if (await fetch(`${origin}/healthz`).then((r) => r.ok, () => false)) break;
      if (i > 600) throw new Error('the server did not start');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const postmaster = await admin(database.env.DATABASE_URL!, async (client) => postmasterOf((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
    const cpu = async (): Promise<[number, number]> => [(await processCpuMs(child!.pid!)) ?? 0, postmaster ? ((await serverCpuMs(postmaster)) ?? 0) : 0];

    // The tables were analyzed empty of results: after the warm-up the planner learns what they now hold, as autovacuum would in a store in use.
    const analyze = () => admin(database.env.DATABASE_URL!, async (client) => void (await client.query('ANALYZE')));
    observer = breakdown ? new pg.Client({ connectionString: database.env.DATABASE_URL! }) : undefined;
    await observer?.connect();
    const counter: StatementCounter | undefined = observer && (await enableStatements(observer)) ? { reset: () => resetStatements(observer!), read: (n) => readStatements(observer!, n) } : undefined;
    if (breakdown && !counter) console.error('[lab] statement counts need a server with shared_preload_libraries=pg_stat_statements');
    const links = await Promise.all(Array.from({ length: settings.connections }, () => mllpConnection(mllpPort)));
    console.error(`[lab] ORU^R01 over MLLP, ${settings.connections} connections…`);
    let refusal: string | undefined;
    const mllp = await drive('ORU^R01 over MLLP', settings.connections, async (n, lane) => {
      const ack = await links[lane]!.exchange(oru(n, n % settings.patients));
      const filed = /\rMSA\|AA\|/.test(ack) && !/\rERR\|/.test(ack);
      if (!filed) refusal ??= ack.replaceAll('\r', '\n');
      return filed;
    }, cpu, analyze, counter);
    if (refusal) console.error(`[lab] a message was not filed; its ACK:\n${refusal}`);
    for (const link of links) link.close();

    console.error(`[lab] the same results as FHIR transactions over HTTP…`);
    let failure: string | undefined;
    const fhir = await drive('the same as FHIR transactions (HTTP)', settings.connections, async (n) => {
      const message = parseMessage(Buffer.from(oru(1_000_000 + n, n % settings.patients)));
      const bundle = oruToBundle(message, { patient: { reference: `Patient/lab-p${n % settings.patients}` }, organization: LAB });
      const reply = await fetch(`${origin}/fhir`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) });
      const answer = await reply.text();
      if (reply.status !== 200) failure ??= `${reply.status} ${answer}`;
      return reply.status === 200 && component(segment(message, 'MSH'), 10) !== '';
    }, cpu, analyze, counter);
    if (failure) console.error(`[lab] a transaction was not filed; the answer:\n${failure}`);

    const sides = [mllp, fhir];
    console.log(`\nLaboratory intake — ${database.description}; server in its own process; ${cpus().length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}`);
    console.log(`${settings.patients} patients; each message a chemistry panel (5 OBX, 1 SPM: 7 resources filed, audited); ${settings.connections} connections, one message in flight each; ${settings.seconds} s after ${settings.warmupSeconds} s warm-up\n`);
    const rows = sides.map((s) => [s.name, s.rate.toFixed(0), s.p50.toFixed(1), s.p95.toFixed(1), s.p99.toFixed(1), `${s.accepted}/${s.messages}`, s.serverCpuUsPerMessage.toFixed(0), s.postgresCpuUsPerMessage.toFixed(0)]);
    const header = ['route', 'messages/s', 'p50 ms', 'p95 ms', 'p99 ms', 'filed', 'server CPU µs/msg', 'PostgreSQL CPU µs/msg'];
    console.log(table(header, rows));
    console.log(`\nMLLP / FHIR rate: ${((mllp.rate / fhir.rate) * 100).toFixed(0)}%`);
    console.log(`targets: ≥ ${TARGET_RATE} messages/s: ${mllp.rate >= TARGET_RATE ? 'met' : 'NOT met'}; ACK p95 ≤ ${TARGET_P95_MS} ms: ${mllp.p95 <= TARGET_P95_MS ? 'met' : 'NOT met'}`);
    for (const side of sides) if (side.statements) console.log(formatStatements(side));
    await mkdir(OUT_DIR, { recursive: true });
    await writeFile(join(OUT_DIR, 'lab-postgres.json'), JSON.stringify({ settings, sides }, null, 2));
  } finally {
    await observer?.end();
    child?.kill('SIGTERM');
    await new Promise((resolve) => (child && child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
    if (profile) {
      const dir = join(OUT_DIR, 'profiles', 'lab');
      for (const file of await readdir(dir).catch(() => [])) console.log(formatHotSpots(`server CPU profile (${file})`, await summarizeProfile(join(dir, file))));
    }
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
