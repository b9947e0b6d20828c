/**
 * Nothing is served without a durable audit record (issue 11): reads' records are batched across
 * requests and committed apart from the read, and a response is released only after the commit
 * that holds its record. The server runs in a process of its own under load from 16 connections,
 * each request reading a different Patient, and is killed with SIGKILL mid-load; then every
 * Patient a client received has its read record, and the chains verify.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { verifyAuditChain } from '../../src/access/audit-verify.js';
import { loadAuditKey } from '../../src/store/audit-key.js';
import { openDatabase } from '../../src/store/open.js';
import { densaulyq } from '../support/cli.js';
import { testDrivers } from '../support/database.js';

const PATIENTS = 1500;
const CONNECTIONS = 16;
/** Responses received before the kill: enough that many more are in flight. */
const KILL_AFTER = 300;
const BIN = join(import.meta.dirname, '../../bin/densaulyq.mjs');

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

for (const driver of testDrivers()) {
  describe(`audit records survive kill -9 under load (${driver.name})`, { skip: driver.skip }, () => {
    let dir: string;
    let env: Record<string, string>;
    let drop: () => Promise<void>;
    let child: ChildProcess | undefined;
    let origin: string;

    const startServer = async () => {
      const port = await freePort();
      origin = `http://127.0.0.1:${port}`;
      child = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', MLLP_PORT: '0', LOG_LEVEL: 'warn' }, stdio: 'ignore' });
      for (let i = 0; i < 600; i++) {
        if (await fetch(`${origin}/healthz`).then((r) => r.ok, () => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the server did not start');
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'densaulyq-durability-'));
      const database = await driver.createForProcess();
      drop = database.drop;
      env = { ...database.env, DATA_DIR: join(dir, 'data'), DEMO_PATIENTS: '0', PUBLIC_ORIGIN: 'http://localhost:8080' };
      await startServer();
    });
    after(async () => {
      child?.kill('SIGKILL');
      await drop?.();
      await rm(dir, { recursive: true, force: true });
    });

    it('every Patient a client received has its read record after the server is killed mid-load', async () => {
      assert.equal((await densaulyq(['user', 'add', '--username', 'auditor', '--role', 'administrator', '--clinical-access'], env)).code, 0);
      const issued = await densaulyq(['token', '--user', 'auditor'], env);
      assert.equal(issued.code, 0, issued.stderr);
      const headers = { authorization: `Bearer ${issued.stdout.trim()}`, 'content-type': 'application/fhir+json' };
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: Array.from({ length: PATIENTS }, (_, i) => ({ resource: { resourceType: 'Patient', name: [{ family: `Durability${i}` }] }, request: { method: 'POST', url: 'Patient' } })),
      };
      const created = await fetch(`${origin}/fhir`, { method: 'POST', headers, body: JSON.stringify(bundle) });
      assert.equal(created.status, 200, await created.clone().text());
      const ids = ((await created.json()) as Bundle).entry!.map((e) => e.response!.location!.split('/')[1]!);

      const received: string[] = [];
      let next = 0;
      let killed = false;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      const connection = async () => {
        while (!killed && next < ids.length) {
          const id = ids[next++]!;
          const reply = await fetch(`${origin}/fhir/Patient/${id}`, { headers }).catch(() => undefined);
          if (reply?.status === 200 && (await reply.text().catch(() => undefined))) received.push(id);
          if (received.length >= KILL_AFTER && !killed) {
            killed = true;
            child!.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: CONNECTIONS }, connection));
      await exited;
      child = undefined;
      assert.ok(killed && received.length >= KILL_AFTER, `killed after ${received.length} responses`);
      assert.ok(next < ids.length, 'the server was killed with requests still to come');

      const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: join(dir, 'data') });
      try {
        const rows = await db.query<{ patient: string }>(`SELECT DISTINCT patient FROM audit_event WHERE payload LIKE '%"i":"read"%' AND patient = ANY($1::text[])`, [received]);
        const recorded = new Set(rows.map((r) => r.patient));
        const missing = received.filter((id) => !recorded.has(id));
        assert.deepEqual(missing, [], `${missing.length} of ${received.length} responses have no audit record`);
        const key = await loadAuditKey(join(dir, 'data', 'audit', 'chain.key'), { create: false });
        const verification = await verifyAuditChain(db, { key });
        assert.deepEqual(verification.problems, []);
      } finally {
        await db.close();
      }
    });
  });
}
