import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { auditEventPayload } from '../../src/access/audit-event.js';
import { appendAuditSql } from '../../src/store/audit-chain.js';
import { openDatabase } from '../../src/store/open.js';
import { densaulyq as command } from '../support/cli.js';

describe('densaulyq audit verify', () => {
  let dir: string;
  let env: Record<string, string>;
  const densaulyq = (args: string[]) => command(args, env);
  /** Runs SQL on the embedded database between two commands (never while one runs). */
  async function withDatabase(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<unknown>) {
    const db = await openDatabase({ dataDir: env.DATA_DIR });
    try {
      await work(db);
    } finally {
      await db.close();
    }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-audit-'));
    env = { DATA_DIR: join(dir, 'db') };
    await withDatabase(async (db) => {
      const context = { role: 'clinician' as const, subject: 'account-7', clientId: 'mis', scopes: [], purposeOfUse: 'TREAT' };
      const patients = ['p-1', 'p-2', 'p-3', 'p-1', 'p-4'];
      const recorded = patients.map((_, i) => new Date(Date.UTC(2026, 0, 1, 8, i)).toISOString());
      const payloads = patients.map((patient, i) => auditEventPayload({ action: 'R', interaction: 'read', recorded: recorded[i]!, outcome: '0', context, breakGlass: false, patient }));
      await db.query(appendAuditSql(), [patients, recorded, payloads]);
    });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('an intact trail: a summary, the head digest, the anchor written; exit 0', async () => {
    const anchor = join(dir, 'anchor.json');
    const result = await densaulyq(['audit', 'verify', '--write-anchor', anchor]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /audit trail intact: 64 chains, 5 records/);
    const { digest, heads } = JSON.parse(await readFile(anchor, 'utf8'));
    assert.match(result.stdout, new RegExp(`head digest ${digest}`));
    assert.equal(heads.length, 64);
    assert.equal((await densaulyq(['audit', 'verify', '--anchor', anchor])).code, 0);
  });

  test('a tampered trail: each problem listed without record contents; exit 1', async () => {
    await withDatabase((db) => db.query(`UPDATE audit_event SET payload = replace(payload, 'account-7', 'account-8') WHERE seq = 3`));
    const result = await densaulyq(['audit', 'verify']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /audit trail TAMPERED: 1 problem in 64 chains, 5 records/);
    assert.match(result.stdout, /chain \d+ seq 3 {2}changed: /);
    assert.doesNotMatch(result.stdout, /account-|p-\d/);
  });

  test('usage errors exit 2', async () => {
    assert.equal((await densaulyq(['audit'])).code, 2);
    const badAnchor = await densaulyq(['audit', 'verify', '--anchor', join(dir, 'missing.json')]);
    assert.equal(badAnchor.code, 2);
    assert.match(badAnchor.stderr, /not an anchor/);
  });
});
