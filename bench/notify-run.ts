/**
 * The notification benchmark (issue 16, "Targets": notification delivery p95 ≤ 500 ms from commit
 * to a rest-hook subscriber at 200 writes/s; zero lost events across a kill -9 of the server), on
 * PostgreSQL. A real `densaulyq serve` process takes lab results (Observation, category
 * laboratory, final) POSTed by BENCH_NOTIFY_ORGANIZATIONS organizations' system clients, each for
 * a patient attached to it, on an open-loop schedule of BENCH_NOTIFY_RATE writes/s (a steady
 * clock: a slow answer never delays the next send; sends more than 10 ms behind it are counted
 * late). Every organization subscribes to the lab-result topic for its attached patients
 * (`Observation?patient.general-practitioner=Organization/<own>`, rest-hook, id-only, HMAC-signed),
 * and the busiest one (BUSY_SHARE of the writes) has a second subscriber, so each write fans out
 * to one or two subscriptions. The subscriber is a plain node:http server in this process that
 * checks `X-Hub-Signature-256` and records each event number and when it came.
 *
 * Three phases on one database and server:
 * 1. baseline: the same load with no Subscription (write latency, CPU per write);
 * 2. notify: the same load with the subscriptions: from the write's HTTP response received (the
 *    commit was before it) and from its request sent, to the notification received; events
 *    expected and received, duplicates, gaps, CPU per write;
 * 3. crash: the same load; the server is killed with SIGKILL BENCH_NOTIFY_KILL_AFTER seconds in
 *    and started again on the same database while the subscriber stays up; at the end every
 *    subscription must have received every number from 1 to its events-since-subscription-start
 *    (read from the outbox) and every write the server acknowledged; the time from the new
 *    process listening until every event committed before the kill was received.
 *
 *   DATABASE_URL=postgres://… npm run bench:notify
 *
 * Environment: DATABASE_URL (required: a PostgreSQL server; a database of its own is made and
 * dropped), BENCH_NOTIFY_RATE (200), BENCH_NOTIFY_SECONDS (30), BENCH_WARMUP (5),
 * BENCH_NOTIFY_ORGANIZATIONS (10), BENCH_NOTIFY_PATIENTS (per organization, 50),
 * BENCH_NOTIFY_KILL_AFTER (10), BENCH_KEEP_DATABASE. Results: a table on stdout and
 * `.bench/notify-postgres.json`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, type IncomingMessage, type Server, createServer, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Observation, Organization, Patient, Resource, Subscription } from '@medplum/fhirtypes';
import { seedingAccess } from '../src/access/door.js';
import { mintAccessToken } from '../src/access/tokens.js';
import { BACKPORT, SIGNATURE_HEADER, SIGNING_SECRET_EXTENSION } from '../src/exchange/backport.js';
import { ATTACHED_TO, TOPIC_BASE } from '../src/fhir/subscription-topics.js';
import { loadAuditKey } from '../src/store/audit-key.js';
import { openDatabase } from '../src/store/open.js';
import { Repository } from '../src/store/repository.js';
import { freePort } from '../test/access/harness.js';
import { admin, openBenchDatabase, settle } from './bench-database.js';
import { postmasterOf, processCpuMs, serverCpuMs } from './cpu.js';
import { patient } from './fixtures.js';
import { OUT_DIR, envInteger, servedEnv } from './settings.js';
import { table } from './table.js';

const settings = {
  rate: envInteger('BENCH_NOTIFY_RATE', 200),
  seconds: envInteger('BENCH_NOTIFY_SECONDS', 30),
  warmupSeconds: envInteger('BENCH_WARMUP', 5),
  organizations: envInteger('BENCH_NOTIFY_ORGANIZATIONS', 10),
  patientsPerOrganization: envInteger('BENCH_NOTIFY_PATIENTS', 50),
  killAfterSeconds: envInteger('BENCH_NOTIFY_KILL_AFTER', 10),
};
const TARGET_P95_MS = 500;
/** Of every 10 writes, this many are for the busy organization's patients (the first one), the rest spread over the others. */
const BUSY_SHARE = 4;
/** A send this far behind its time on the schedule is late: the load generator could not keep the rate. */
const LATE_MS = 10;
/** How long the subscriber may take to receive what is still outstanding after a phase. */
const DRAIN_MS = 60_000;
const BIN = join(import.meta.dirname, '../bin/densaulyq.mjs');
/** The server's public origin, which its tokens' issuer and audience name. */
const ORIGIN = 'http://localhost:8080';
const SECRET = (name: string) => `bench-signing-secret-${name}`;

const organizationId = (o: number) => `notify-org-${o}`;
const patientId = (o: number, p: number) => `notify-p${o}-${p}`;

/** The organization whose patient write `n` is for: BUSY_SHARE in 10 go to the first, the others in turn. */
function organizationOf(n: number): number {
  if (settings.organizations === 1 || n % 10 < BUSY_SHARE) return 0;
  return 1 + (Math.floor((n * (10 - BUSY_SHARE)) / 10) % (settings.organizations - 1));
}

function population(): Resource[] {
  const resources: Resource[] = [];
  for (let o = 0; o < settings.organizations; o++) {
    resources.push({ resourceType: 'Organization', id: organizationId(o), name: `Bench polyclinic ${o}`, active: true } satisfies Organization);
    for (let p = 0; p < settings.patientsPerOrganization; p++) {
      resources.push({ ...patient(o * settings.patientsPerOrganization + p), id: patientId(o, p), generalPractitioner: [{ reference: `Organization/${organizationId(o)}` }] } satisfies Patient);
    }
  }
  return resources;
}

function labResult(n: number, o: number): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma' }] },
    subject: { reference: `Patient/${patientId(o, n % settings.patientsPerOrganization)}` },
    effectiveDateTime: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    valueQuantity: { value: 4 + (n % 30) / 10, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
  };
}

/** A subscription the bench made: who it notifies and whose writes it follows. */
interface Follower {
  /** The hook's path segment, which names it in the subscriber. */
  name: string;
  organization: number;
  id?: string;
}

/** What the subscriber received for one subscription. */
interface Inbox {
  handshake: boolean;
  /** Event number -> first receipt (performance.now()). */
  numbers: Map<number, number>;
  /** Focus id -> first receipt. */
  focuses: Map<string, number>;
  duplicates: number;
}

/** The rest-hook subscriber: one path per subscription, each body's signature checked with that subscription's secret. */
class Subscriber {
  readonly inboxes = new Map<string, Inbox>();
  badSignatures = 0;
  notifications = 0;
  private server: Server | undefined;
  port = 0;

  async start(names: string[]): Promise<void> {
    for (const name of names) this.inboxes.set(name, { handshake: false, numbers: new Map(), focuses: new Map(), duplicates: 0 });
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const at = performance.now();
        this.take(req, Buffer.concat(chunks), at);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  endpoint(name: string): string {
    return `http://127.0.0.1:${this.port}/hook/${name}`;
  }

  private take(req: IncomingMessage, body: Buffer, at: number): void {
    const name = (req.url ?? '').split('/').pop() ?? '';
    const inbox = this.inboxes.get(name);
    if (!inbox) return;
    const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET(name)).update(body).digest('hex')}`);
    const given = Buffer.from(String(req.headers[SIGNATURE_HEADER] ?? ''));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.badSignatures++;
      return;
    }
    this.notifications++;
    const parameters = (JSON.parse(body.toString('utf8')) as { entry: { resource: { parameter: { name: string; valueCode?: string; part?: { name: string; valueString?: string; valueReference?: { reference: string } }[] }[] } }[] }).entry[0]!.resource.parameter;
    if (parameters.find((p) => p.name === 'type')?.valueCode === 'handshake') inbox.handshake = true;
    for (const event of parameters.filter((p) => p.name === 'notification-event')) {
      const number = Number(event.part!.find((x) => x.name === 'event-number')!.valueString);
      const focus = event.part!.find((x) => x.name === 'focus')?.valueReference?.reference.split('/').pop() ?? '';
      if (inbox.numbers.has(number)) inbox.duplicates++;
      else inbox.numbers.set(number, at);
      if (!inbox.focuses.has(focus)) inbox.focuses.set(focus, at);
    }
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve) ?? resolve(undefined));
  }
}

/** One write as the load generator saw it. */
interface Write {
  n: number;
  organization: number;
  scheduled: number;
  sent: number;
  answered?: number;
  /** The Observation's id, when the server answered 201. */
  id?: string;
  failure?: string;
}

/** `densaulyq serve` as a child process on the bench database, on a fixed port so it can be started again at the same address. */
class ServerProcess {
  child: ChildProcess | undefined;
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly origin: string,
  ) {}

  async start(): Promise<number> {
    const child = spawn(process.execPath, [BIN, 'serve'], { env: this.env, stdio: ['ignore', 'ignore', 'inherit'] });
    this.child = child;
    for (let i = 0; ; i++) {
      if (await fetch(`${this.origin}/healthz`).then((r) => r.ok, () => false)) return performance.now();
      if (child.exitCode !== null || i > 600) throw new Error('the server did not start');
      await sleep(50);
    }
  }

  async kill9(): Promise<void> {
    const child = this.child!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
};

/** The FHIR client side: keep-alive connections, as many as the open loop needs. */
function fhirClient(origin: string, tokens: string[]) {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const url = new URL(origin);
  return {
    post(path: string, body: unknown, organization: number): Promise<{ status: number; text: string }> {
      const payload = JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: `/fhir/${path}`,
            headers: { authorization: `Bearer ${tokens[organization]}`, 'content-type': 'application/fhir+json', 'content-length': Buffer.byteLength(payload) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/**
 * Sends write n at start + n / rate for `seconds` (open loop: sends never wait for answers), and
 * `during(second)` once a second; resolves with every write once all are answered or failed.
 */
async function openLoop(client: ReturnType<typeof fhirClient>, first: number, seconds: number, during?: (second: number) => void): Promise<{ writes: Write[]; late: number; elapsed: number }> {
  const total = Math.round(settings.rate * seconds);
  const writes: Write[] = [];
  const answers: Promise<void>[] = [];
  let late = 0;
  const start = performance.now() + 5;
  let second = 0;
  for (let i = 0; i < total; ) {
    const now = performance.now();
    while (i < total && start + (i * 1000) / settings.rate <= now) {
      const n = first + i;
      const scheduled = start + (i * 1000) / settings.rate;
      if (now - scheduled > LATE_MS) late++;
      const organization = organizationOf(n);
      const write: Write = { n, organization, scheduled, sent: performance.now() };
      writes.push(write);
      answers.push(
        client.post('Observation', labResult(n, organization), organization).then(
          (reply) => {
            write.answered = performance.now();
            if (reply.status === 201) write.id = (JSON.parse(reply.text) as { id: string }).id;
            else write.failure = `HTTP ${reply.status}: ${reply.text.slice(0, 200)}`;
          },
          (error: unknown) => {
            write.answered = performance.now();
            write.failure = (error as { code?: string }).code ?? String(error);
          },
        ),
      );
      i++;
    }
    if (during && now - start >= (second + 1) * 1000) during(++second);
    await sleep(1);
  }
  await Promise.all(answers);
  // Achieved: the writes answered over the time until the last answer, so a backlog counts against the rate.
  const elapsed = (Math.max(...writes.map((w) => w.answered!)) - start) / 1000;
  return { writes, late, elapsed };
}

interface CpuReading {
  server: number;
  postgres: number;
}

async function until(what: string, probe: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!probe()) {
    if (performance.now() > end) {
      console.error(`[notify] gave up waiting for ${what} after ${ms / 1000} s`);
      return false;
    }
    await sleep(20);
  }
  return true;
}

/** The followers a write of organization `o` notifies. */
const followersOf = (followers: Follower[], o: number) => followers.filter((f) => f.organization === o);

/** Latencies of every acknowledged write's notifications, per follower, and what is missing. */
function deliveries(writes: readonly Write[], followers: Follower[], subscriber: Subscriber) {
  const fromResponse: number[] = [];
  const fromSent: number[] = [];
  let expected = 0;
  let missing = 0;
  for (const write of writes) {
    if (!write.id) continue;
    for (const follower of followersOf(followers, write.organization)) {
      expected++;
      const at = subscriber.inboxes.get(follower.name)!.focuses.get(write.id);
      if (at === undefined) {
        missing++;
        continue;
      }
      fromResponse.push(at - write.answered!);
      fromSent.push(at - write.sent);
    }
  }
  return { expected, received: expected - missing, missing, fromResponse: spread(fromResponse), fromSent: spread(fromSent) };
}

/** `cpu`: readings before and after, of one server process (none across a restart). */
function writeSummary(run: { writes: Write[]; late: number; elapsed: number }, cpu?: [CpuReading, CpuReading]) {
  const ok = run.writes.filter((w) => w.id);
  const latency = spread(ok.map((w) => w.answered! - w.sent));
  const failures = run.writes.filter((w) => w.failure);
  return {
    sent: run.writes.length,
    acknowledged: ok.length,
    failed: failures.length,
    firstFailure: failures[0]?.failure,
    late: run.late,
    writesPerSecond: ok.length / run.elapsed,
    latency,
    serverCpuUsPerWrite: cpu ? ((cpu[1].server - cpu[0].server) * 1000) / Math.max(1, ok.length) : NaN,
    postgresCpuUsPerWrite: cpu ? ((cpu[1].postgres - cpu[0].postgres) * 1000) / Math.max(1, ok.length) : NaN,
  };
}

/** Per subscription, the numbers 1..last (from the outbox) the subscriber lacks, and its duplicates. */
function gaps(followers: Follower[], subscriber: Subscriber, last: Map<string, number>) {
  let missing = 0;
  let duplicates = 0;
  let expected = 0;
  const lacking: string[] = [];
  for (const follower of followers) {
    const inbox = subscriber.inboxes.get(follower.name)!;
    const n = last.get(follower.id!) ?? 0;
    expected += n;
    duplicates += inbox.duplicates;
    for (let k = 1; k <= n; k++) {
      if (inbox.numbers.has(k)) continue;
      missing++;
      if (lacking.length < 5) lacking.push(`${follower.name}#${k}`);
    }
  }
  return { expected, missing, duplicates, lacking };
}

const covered = (followers: Follower[], subscriber: Subscriber, last: Map<string, number>) =>
  followers.every((f) => {
    const inbox = subscriber.inboxes.get(f.name)!;
    for (let k = 1; k <= (last.get(f.id!) ?? 0); k++) if (!inbox.numbers.has(k)) return false;
    return true;
  });

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('DATABASE_URL must name a PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/postgres): the bench makes a database of its own there');
  const database = await openBenchDatabase('postgres', serverUrl);
  const dir = await mkdtemp(join(tmpdir(), 'densaulyq-notify-bench-'));
  const subscriber = new Subscriber();
  let server: ServerProcess | undefined;
  try {
    const keyFile = join(dir, 'audit.key');
    const db = await openDatabase({ databaseUrl: database.env.DATABASE_URL!, auditKey: await loadAuditKey(keyFile, { create: true }) });
    console.error(`[notify] seeding ${settings.organizations} organizations, ${settings.patientsPerOrganization} patients attached to each…`);
    const seeding = new Repository(db, seedingAccess());
    const resources = population();
    for (let i = 0; i < resources.length; i += 500) await seeding.writeMany(resources.slice(i, i + 500).map((resource) => ({ resource, id: resource.id! })), 'upsert');
    const tokens: string[] = [];
    for (let o = 0; o < settings.organizations; o++) {
      const claims = { sub: `notify-system-${o}`, client_id: `notify-system-${o}`, scope: 'system/*.cruds', role: 'system' as const, organization: organizationId(o) };
      tokens.push((await mintAccessToken(db, claims, { issuer: `${ORIGIN}/auth`, fhirBaseUrl: `${ORIGIN}/fhir`, ttlSeconds: 3600 })).access_token);
    }
    await db.close();
    await settle(database);

    const port = await freePort();
    server = new ServerProcess(
      servedEnv({ database: database.env, dir, keyFile, port, origin: ORIGIN }),
      `http://127.0.0.1:${port}`,
    );
    await server.start();
    const postmaster = await admin(database.env.DATABASE_URL!, async (client) => postmasterOf((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid));
    const cpu = async (): Promise<CpuReading> => ({ server: (await processCpuMs(server!.child!.pid!)) ?? 0, postgres: postmaster ? ((await serverCpuMs(postmaster)) ?? 0) : 0 });
    const client = fhirClient(server.origin, tokens);
    let n = 0;
    const phase = async (name: string, during?: (second: number) => void) => {
      console.error(`[notify] ${name}: warm-up ${settings.warmupSeconds} s, then ${settings.seconds} s at ${settings.rate} writes/s…`);
      const warm = await openLoop(client, n, settings.warmupSeconds);
      n += warm.writes.length;
      const before = await cpu();
      const run = await openLoop(client, n, settings.seconds, during);
      n += run.writes.length;
      return { warm, run, cpu: [before, await cpu()] as [CpuReading, CpuReading] };
    };

    const baseline = await phase('baseline, no subscriptions');

    const followers: Follower[] = [
      ...Array.from({ length: settings.organizations }, (_, o) => ({ name: `org-${o}`, organization: o })),
      { name: 'busy-second', organization: 0 },
    ];
    await subscriber.start(followers.map((f) => f.name));
    for (const follower of followers) {
      const body: Subscription = {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'Lab results of the patients attached to the organization (bench)',
        criteria: `${TOPIC_BASE}/lab-result`,
        _criteria: { extension: [{ url: BACKPORT.filterCriteria, valueString: `Observation?${ATTACHED_TO}=Organization/${organizationId(follower.organization)}` }] },
        channel: {
          type: 'rest-hook',
          endpoint: subscriber.endpoint(follower.name),
          payload: 'application/fhir+json',
          _payload: { extension: [{ url: BACKPORT.payloadContent, valueCode: 'id-only' }] },
          extension: [{ url: SIGNING_SECRET_EXTENSION, valueString: SECRET(follower.name) }],
        },
      } as Subscription;
      const reply = await client.post('Subscription', body, follower.organization);
      if (reply.status !== 201) throw new Error(`the Subscription of ${follower.name} was refused: ${reply.text}`);
      follower.id = (JSON.parse(reply.text) as { id: string }).id;
    }
    await until('every handshake', () => [...subscriber.inboxes.values()].every((i) => i.handshake), 30_000);

    const notify = await phase('notify, with subscriptions');
    const notifyWrites = [...notify.warm.writes, ...notify.run.writes];
    await until('the notify phase’s notifications', () => deliveries(notifyWrites, followers, subscriber).missing === 0, DRAIN_MS);

    // Each subscription's last event number in the outbox (events are kept): what was committed, whether or not its writer heard back.
    const outbox = () =>
      admin(database.env.DATABASE_URL!, async (c) =>
        new Map((await c.query<{ id: string; n: string }>('SELECT subscription AS id, max(number)::text AS n FROM subscription_event GROUP BY subscription')).rows.map((r) => [r.id, Number(r.n)])),
      );
    const notifyGaps = gaps(followers, subscriber, await outbox());

    let killedAt = 0;
    let restartedAt = 0;
    let committedBeforeKill = new Map<string, number>();
    let caughtUpAt: number | undefined;
    let crashing: Promise<void> | undefined;
    // The kill and the restart run beside the load: the writes due meanwhile are sent, and fail, on schedule.
    const crash = await phase('crash, kill -9 of the server mid-run', (second) => {
      if (second !== settings.killAfterSeconds) return;
      crashing = (async () => {
        killedAt = performance.now();
        await server!.kill9();
        committedBeforeKill = await outbox();
        console.error('[notify] killed (SIGKILL); starting the server again on the same database…');
        restartedAt = await server!.start();
        if (await until('the events committed before the kill', () => covered(followers, subscriber, committedBeforeKill), DRAIN_MS)) caughtUpAt = performance.now();
      })();
    });
    await crashing;
    const crashWrites = [...crash.warm.writes, ...crash.run.writes];
    await until('the crash phase’s notifications', () => deliveries(crashWrites, followers, subscriber).missing === 0, DRAIN_MS);
    const finalOutbox = await outbox();
    await until('every number in the outbox', () => covered(followers, subscriber, finalOutbox), DRAIN_MS);
    const crashGaps = gaps(followers, subscriber, finalOutbox);
    client.close();

    const results = {
      settings,
      baseline: writeSummary(baseline.run, baseline.cpu),
      notify: { writes: writeSummary(notify.run, notify.cpu), delivery: deliveries(notify.run.writes, followers, subscriber), outbox: notifyGaps },
      crash: {
        writes: writeSummary(crash.run),
        delivery: deliveries(crashWrites, followers, subscriber),
        outbox: crashGaps,
        restartSeconds: (restartedAt - killedAt) / 1000,
        catchUpSeconds: caughtUpAt === undefined ? NaN : (caughtUpAt - restartedAt) / 1000,
      },
      subscriber: { notifications: subscriber.notifications, badSignatures: subscriber.badSignatures },
    };
    report(database.description, results);
    await mkdir(OUT_DIR, { recursive: true });
    await writeFile(join(OUT_DIR, 'notify-postgres.json'), JSON.stringify(results, null, 2));
  } finally {
    await server?.stop();
    await subscriber.stop();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(value >= 100 ? 0 : 1) : '—');

function report(description: string, r: {
  baseline: ReturnType<typeof writeSummary>;
  notify: { writes: ReturnType<typeof writeSummary>; delivery: ReturnType<typeof deliveries>; outbox: ReturnType<typeof gaps> };
  crash: { writes: ReturnType<typeof writeSummary>; delivery: ReturnType<typeof deliveries>; outbox: ReturnType<typeof gaps>; restartSeconds: number; catchUpSeconds: number };
  subscriber: { notifications: number; badSignatures: number };
}): void {
  console.log(`\nNotifications — ${description}; server in its own process; ${cpus().length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}`);
  console.log(
    `${settings.organizations} organizations × ${settings.patientsPerOrganization} attached patients; lab results (Observation, laboratory, final) POSTed by each organization's system client at ${settings.rate}/s open loop, ${settings.seconds} s after ${settings.warmupSeconds} s warm-up; ` +
      `${settings.organizations + 1} rest-hook subscriptions (lab-result topic, ${ATTACHED_TO} filter, id-only, HMAC-signed), the busy organization (${BUSY_SHARE * 10}% of writes) followed twice\n`,
  );
  const writeRow = (name: string, w: ReturnType<typeof writeSummary>) => [
    name,
    `${w.acknowledged}/${w.sent}`,
    String(w.late),
    w.writesPerSecond.toFixed(0),
    ms(w.latency.p50),
    ms(w.latency.p95),
    ms(w.latency.p99),
    Number.isFinite(w.serverCpuUsPerWrite) ? w.serverCpuUsPerWrite.toFixed(0) : '—',
    Number.isFinite(w.postgresCpuUsPerWrite) ? w.postgresCpuUsPerWrite.toFixed(0) : '—',
  ];
  console.log(table(['writes', 'acknowledged', 'late sends', 'writes/s', 'p50 ms', 'p95 ms', 'p99 ms', 'server CPU µs/write', 'PostgreSQL CPU µs/write'], [writeRow('no subscriptions (baseline)', r.baseline), writeRow('with subscriptions', r.notify.writes), writeRow('with a kill -9', r.crash.writes)]));
  for (const w of [r.baseline, r.notify.writes, r.crash.writes]) if (w.firstFailure) console.log(`  a failed write: ${w.firstFailure}`);
  const n = r.notify.delivery;
  console.log(`\nnotification latency (ms), ${n.received}/${n.expected} notifications of acknowledged writes received`);
  console.log(
    table(
      ['from', 'p50', 'p95', 'p99', 'max'],
      [
        ['the write’s response received', ms(n.fromResponse.p50), ms(n.fromResponse.p95), ms(n.fromResponse.p99), ms(n.fromResponse.max)],
        ['the write’s request sent', ms(n.fromSent.p50), ms(n.fromSent.p95), ms(n.fromSent.p99), ms(n.fromSent.max)],
      ],
    ),
  );
  const c = r.crash;
  console.log(
    `\nkill -9: server back ${c.restartSeconds.toFixed(1)} s after the kill; every event committed before it received ${ms(c.catchUpSeconds * 1000)} ms after the new process listened; ` +
      `events 1..N in the outbox: ${c.outbox.expected - c.outbox.missing}/${c.outbox.expected} received${c.outbox.lacking.length ? ` (missing e.g. ${c.outbox.lacking.join(', ')})` : ''}, ${c.outbox.duplicates} duplicates (cumulative); ` +
      `acknowledged writes notified: ${c.delivery.received}/${c.delivery.expected}; latency from response p95 ${ms(c.delivery.fromResponse.p95)} ms, max ${ms(c.delivery.fromResponse.max)} ms`,
  );
  console.log(`subscriber: ${r.subscriber.notifications} notifications, ${r.subscriber.badSignatures} with a bad signature\n`);
  const cost = (w: ReturnType<typeof writeSummary>) => w.serverCpuUsPerWrite + w.postgresCpuUsPerWrite;
  const lost = r.notify.outbox.missing + c.outbox.missing + n.missing + c.delivery.missing;
  console.log(
    table(
      ['target', 'measured', 'met?'],
      [
        [`notification p95 ≤ ${TARGET_P95_MS} ms at ${settings.rate} writes/s`, `${ms(n.fromResponse.p95)} ms at ${r.notify.writes.writesPerSecond.toFixed(0)} writes/s`, n.fromResponse.p95 <= TARGET_P95_MS && r.notify.writes.writesPerSecond >= 0.95 * settings.rate ? 'yes' : 'NO'],
        ['zero lost events across kill -9', `${lost} lost, ${c.outbox.duplicates} duplicates`, lost === 0 && r.subscriber.badSignatures === 0 ? 'yes' : 'NO'],
        ['(cost) notifications on the write path', `write p95 ${ms(r.baseline.latency.p95)} → ${ms(r.notify.writes.latency.p95)} ms; CPU/write ${cost(r.baseline).toFixed(0)} → ${cost(r.notify.writes).toFixed(0)} µs`, ''],
      ],
    ),
  );
}

await main();
