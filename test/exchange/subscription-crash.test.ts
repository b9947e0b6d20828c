import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mintAccessToken } from '../../src/access/tokens.js';
import { addUser } from '../../src/access/users.js';
import type { Database } from '../../src/store/driver.js';
import { openDatabase } from '../../src/store/open.js';
import { freePort } from '../access/harness.js';
import { type ProcessDatabase, testDrivers } from '../support/database.js';
import { until } from '../support/until.js';

const ROOT = resolve(import.meta.dirname, '../..');
const IG = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const postgres = testDrivers().find((driver) => driver.name === 'postgres')!;

/**
 * The outbox survives a kill -9 of the server (`densaulyq serve`, as `npm start` runs it): events
 * committed while the subscriber was down are all delivered by the next process. PostgreSQL only:
 * the test reaches the same database beside the server to set up accounts and tokens.
 */
describe('Subscription events survive kill -9 of the server (postgres)', { skip: postgres.skip }, () => {
  let made: ProcessDatabase;
  let db: Database | undefined;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let origin: string;
  let child: ChildProcess | undefined;
  const received: { number: number; type: string }[] = [];
  let hookPort: number;
  let hook: ReturnType<typeof createServer> | undefined;

  async function start(): Promise<void> {
    const process_ = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = process_;
    let output = '';
    await new Promise<void>((ready, failed) => {
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Densaulyq is running')) ready();
      };
      process_.stdout!.on('data', collect);
      process_.stderr!.on('data', collect);
      process_.once('exit', (code) => failed(new Error(`the server exited (${code}) before it was ready:\n${output}`)));
      process_.once('error', failed);
    });
  }

  async function kill9(): Promise<void> {
    const running = child!;
    child = undefined;
    const exited = new Promise((done) => running.once('exit', done));
    running.kill('SIGKILL');
    await exited;
  }

  async function hookUp(): Promise<void> {
    hook = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const parameters: any[] = JSON.parse(Buffer.concat(chunks).toString('utf8')).entry[0].resource.parameter;
        const type = parameters.find((p) => p.name === 'type').valueCode;
        for (const p of parameters.filter((p) => p.name === 'notification-event')) received.push({ type, number: Number(p.part.find((x: any) => x.name === 'event-number').valueString) });
        if (type !== 'event-notification') received.push({ type, number: 0 });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((done) => hook!.listen(hookPort, '127.0.0.1', done));
  }

  async function hookDown(): Promise<void> {
    const server = hook!;
    hook = undefined;
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }

  const fhir = async (method: string, path: string, body: unknown, token: string) => {
    const response = await fetch(`${origin}/fhir/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };

  before(async () => {
    made = await postgres.createForProcess();
    dataDir = mkdtempSync(join(tmpdir(), 'densaulyq-subs-crash-'));
    const port = await freePort();
    hookPort = await freePort();
    origin = `http://127.0.0.1:${port}`;
    env = {
      ...process.env,
      ...made.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_ORIGIN: origin,
      DATA_DIR: dataDir,
      DEMO_PATIENTS: '0',
      MLLP_PORT: '0',
      SUBSCRIPTION_POLL_MS: '50',
      SUBSCRIPTION_RETRY_BASE_MS: '50',
      SUBSCRIPTION_RETRY_MAX_MS: '200',
      SUBSCRIPTION_MAX_ATTEMPTS: '10000',
    };
    // The server migrates the database first, sealing the audit chains with its own key; the test only mints tokens in it.
    await start();
    db = await openDatabase({ databaseUrl: made.env.DATABASE_URL! });
  });

  after(async () => {
    if (child) await kill9();
    if (hook) await hookDown();
    if (db) await db.close();
    await made.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('events written while the subscriber is down are all delivered after the server is killed and started again', async () => {
    const database = db!;
    const mint = async (claims: Omit<Parameters<typeof mintAccessToken>[1], 'client_id'> & { client_id?: string }) =>
      (await mintAccessToken(database, { client_id: 'crash-test', ...claims }, { issuer: `${origin}/auth`, fhirBaseUrl: `${origin}/fhir` })).access_token;
    const administrator = await addUser(database, { username: 'crash-admin', role: 'administrator', clinicalAccess: true });
    const admin = await mint({ sub: administrator.id, scope: 'user/*.cruds', role: 'administrator' });
    const system = await mint({ sub: 'system-a', client_id: 'system-a', scope: 'system/*.cruds', role: 'system', organization: 'crash-org' });
    assert.equal((await fhir('PUT', 'Organization/crash-org', { resourceType: 'Organization', id: 'crash-org', name: 'Crash test' }, admin)).status, 201);
    const patient = { resourceType: 'Patient', id: 'crash-p', name: [{ family: 'Синтетов' }], generalPractitioner: [{ reference: 'Organization/crash-org' }] };
    assert.equal((await fhir('PUT', 'Patient/crash-p', patient, admin)).status, 201);

    await hookUp();
    const subscription = await fhir(
      'POST',
      'Subscription',
      {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'Crash test',
        criteria: 'http://densaulyq.kz/fhir/SubscriptionTopic/document',
        _criteria: { extension: [{ url: `${IG}/backport-filter-criteria`, valueString: 'DocumentReference?patient=Patient/crash-p' }] },
        channel: { type: 'rest-hook', endpoint: `http://127.0.0.1:${hookPort}/hook`, payload: 'application/fhir+json' },
      },
      system,
    );
    assert.equal(subscription.status, 201, JSON.stringify(subscription.body));
    await until('handshake', () => received.find((r) => r.type === 'handshake'), 30_000);
    await hookDown();

    const document = (i: number) => ({ resourceType: 'DocumentReference', status: 'current', subject: { reference: 'Patient/crash-p' }, content: [{ attachment: { title: `Letter ${i}` } }] });
    for (let i = 1; i <= 5; i++) assert.equal((await fhir('POST', 'DocumentReference', document(i), admin)).status, 201);
    await kill9();
    await start();
    await hookUp();
    const numbers = await until('every event', () => {
      const seen = new Set(received.filter((r) => r.type === 'event-notification').map((r) => r.number));
      return seen.size >= 5 ? [...seen].sort((a, b) => a - b) : undefined;
    }, 30_000);
    assert.deepEqual(numbers, [1, 2, 3, 4, 5]);
  });
});
