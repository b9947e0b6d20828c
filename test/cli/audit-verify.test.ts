import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { auditAgent, compactAuditRecord } from '../../src/access/audit-event.js';
import type { AccessContext } from '../../src/access/context.js';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { appendInTransaction } from '../../src/store/audit-append.js';
import { APPENDER_CHAINS, TRANSACTION_CHAINS, linkMessage } from '../../src/store/audit-chain.js';
import { AuditKey, loadAuditKey } from '../../src/store/audit-key.js';
import type { Database } from '../../src/store/driver.js';
import { openDatabase } from '../../src/store/open.js';
import { densaulyq as command } from '../support/cli.js';
import { type TestDriver, testDrivers } from '../support/database.js';

const plainLink = (previous: string, message: string) => createHash('sha256').update(previous, 'hex').update(message, 'utf8').digest('hex');
/** Every chain: the transactions' and the appenders'. */
const CHAINS = TRANSACTION_CHAINS + APPENDER_CHAINS.count;
const context: AccessContext = { role: 'clinician', subject: 'account-7', clientId: 'mis', scopes: [], purposeOfUse: 'TREAT' };
const agent = auditAgent(context);

/** A deployment of its own: a data folder (key and anchors under DATA_DIR/audit) and, on PostgreSQL, a database. */
async function deployment(driver: TestDriver) {
  const dir = await mkdtemp(join(tmpdir(), 'densaulyq-audit-'));
  const database = await driver.createForProcess();
  const env: Record<string, string> = { DATA_DIR: join(dir, 'data'), ...database.env };
  const config = () => loadConfig({ ...env, PORT: '0', HOST: '127.0.0.1', MLLP_PORT: '0' });

  /** Runs SQL on the database between two commands, as any command would open it. */
  async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
    const { databaseUrl, dataDir, auditKeyFile } = config();
    const db = await openDatabase({ databaseUrl, dataDir, auditKey: await loadAuditKey(auditKeyFile, { create: true }) });
    try {
      return await work(db);
    } finally {
      await db.close();
    }
  }

  return {
    env,
    config,
    withDatabase,
    densaulyq: (args: string[], extra: Record<string, string> = {}) => command(args, { ...env, ...extra }),
    /** Five records, one transaction, so one chain: seq 1..5, all naming one agent row. */
    seed: () =>
      withDatabase(async (db) => {
        const patients = ['p-1', 'p-2', 'p-3', 'p-1', 'p-4'];
        const records = patients.map((patient, i) => ({
          patient,
          recorded: new Date(Date.UTC(2026, 0, 1, 8, i)).toISOString(),
          payload: compactAuditRecord({ action: 'R', interaction: 'read', outcome: '0', context, patient, entities: [`Observation/o-${i}`] }, agent),
          agent,
        }));
        await db.transaction((tx) => appendInTransaction(tx, db, records, () => undefined));
      }),
    /** Starts the server as `densaulyq serve` does and stops it: its anchor writer runs at start and at stop. */
    async serveOnce() {
      const server = await startServer(config(), pino({ level: 'silent' }));
      await server.stop();
    },
    async close() {
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

for (const driver of testDrivers()) describe(`densaulyq audit verify (${driver.name})`, { skip: driver.skip }, () => {
  const opened: Awaited<ReturnType<typeof deployment>>[] = [];
  const open = async () => {
    const made = await deployment(driver);
    opened.push(made);
    return made;
  };
  after(() => Promise.all(opened.map((d) => d.close())));

  test('an intact trail passes through the anchor the server wrote; --write-anchor and --anchor still work; exit 0', async () => {
    const d = await open();
    await d.seed();
    await d.serveOnce();
    assert.equal((await readdir(d.config().auditAnchorDir)).length, 1, 'one anchor: the heads did not move between start and stop');
    const anchor = join(d.env.DATA_DIR!, '..', 'anchor.json');
    const result = await d.densaulyq(['audit', 'verify', '--write-anchor', anchor]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`audit trail intact: ${CHAINS} chains, 5 records`));
    assert.match(result.stdout, /checked against the newest anchor in .*audit\/anchors, written /);
    const { digest, heads } = JSON.parse(await readFile(anchor, 'utf8'));
    assert.match(result.stdout, new RegExp(`head digest ${digest}`));
    assert.equal(heads.length, CHAINS);
    assert.equal((await d.densaulyq(['audit', 'verify', '--anchor', anchor])).code, 0);
  });

  test('the newest records removed and the head rewound: found by default, through the server\'s anchor; exit 1', async () => {
    const d = await open();
    await d.seed();
    await d.serveOnce();
    await d.withDatabase(async (db) => {
      await db.query(`DELETE FROM audit_event WHERE seq > 3`);
      await db.query(`UPDATE audit_head h SET seq = e.seq, hash = e.hash FROM audit_event e WHERE e.chain = h.chain AND e.seq = 3`);
    });
    const result = await d.densaulyq(['audit', 'verify']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, new RegExp(`audit trail TAMPERED: 1 problem in ${CHAINS} chains, 3 records`));
    assert.match(result.stdout, /chain \d+ seq 5 {2}removed: the chain ends at 3, before the anchored link 5/);
    // What the attacker relied on: without the anchor the shortened chain is consistent in itself.
    const blind = await d.densaulyq(['audit', 'verify'], { AUDIT_ANCHOR_DIR: join(d.env.DATA_DIR!, '..', 'no-anchors') });
    assert.equal(blind.code, 0, blind.stdout);
    assert.match(blind.stdout, /no anchor in .*no-anchors: records cut from the end of a chain, with its head rewound, go unnoticed/);
  });

  test('a record rewritten and every later link and the head recomputed, with plain sha256 or a guessed key: found, listed without record contents; exit 1', async () => {
    const d = await open();
    await d.seed();
    /** Changes record 3 (a read made a vread; a second call leaves it so) and recomputes links 3..5 and the head from record 2 with `link`, over what a link covers. */
    const rewrite = (link: (previous: string, message: string) => string) =>
      d.withDatabase(async (db) => {
        const rows = await db.query<{ chain: number; seq: string; recorded: string; patient: string | null; payload: string; hash: string }>(
          `SELECT chain, seq::text AS seq, to_char(recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded, patient, payload, encode(hash, 'hex') AS hash
             FROM audit_event ORDER BY seq`,
        );
        let hash = rows[1]!.hash;
        for (const row of rows.slice(2)) {
          const payload = row.seq === '3' ? row.payload.replace('"i":"read"', '"i":"vread"') : row.payload;
          hash = link(hash, linkMessage({ ...row, payload }));
          await db.query(`UPDATE audit_event SET payload = $3, hash = decode($4, 'hex') WHERE chain = $1 AND seq = $2`, [row.chain, row.seq, payload, hash]);
        }
        await db.query(`UPDATE audit_head SET hash = decode($2, 'hex') WHERE chain = $1`, [rows[0]!.chain, hash]);
      });
    const guessed = AuditKey.generate();
    for (const link of [plainLink, (previous: string, message: string) => guessed.link(previous, message)]) {
      await rewrite(link);
      const result = await d.densaulyq(['audit', 'verify']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, new RegExp(`audit trail TAMPERED: 3 problems in ${CHAINS} chains, 5 records`));
      for (const seq of [3, 4, 5]) assert.match(result.stdout, new RegExp(`chain \\d+ seq ${seq} {2}changed: `));
      assert.doesNotMatch(result.stdout, /account-|p-\d/);
    }
  });

  test('the key: made with mode 0600 at first start, never by verify; another key file is refused', async () => {
    const d = await open();
    const missing = await d.densaulyq(['audit', 'verify']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /audit key file .*chain\.key does not exist .*audit verify needs the key/);
    await d.serveOnce();
    assert.equal((await stat(d.config().auditKeyFile)).mode & 0o777, 0o600);
    await d.seed();
    assert.equal((await d.densaulyq(['audit', 'verify'])).code, 0);

    const otherKey = join(d.env.DATA_DIR!, '..', 'other.key');
    await loadAuditKey(otherKey, { create: true });
    const other = await d.densaulyq(['audit', 'verify'], { AUDIT_KEY_FILE: otherKey });
    assert.equal(other.code, 1, other.stderr);
    assert.match(other.stdout, new RegExp(`audit trail NOT VERIFIED: the audit key \\(fingerprint [0-9a-f]{16}\\) did not seal ${CHAINS} of the ${CHAINS} audit chains`));
  });

  test('who acted, stored once in audit_agent: its row changed or removed is found, named by id only; exit 1', async () => {
    const d = await open();
    await d.seed();
    assert.equal((await d.densaulyq(['audit', 'verify'])).code, 0);
    // Blame another account for the five reads, without touching a record or a link.
    await d.withDatabase((db) => db.query(`UPDATE audit_agent SET agent = replace(agent, 'account-7', 'account-8') WHERE id = $1`, [agent.id]));
    const changed = await d.densaulyq(['audit', 'verify']);
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(changed.stdout, new RegExp(`audit trail TAMPERED: 1 problem in ${CHAINS} chains, 5 records`));
    assert.match(changed.stdout, /chain \d+ seq 1 {2}agent-mismatch: the agent \S+ the record names was changed/);
    assert.doesNotMatch(changed.stdout, /account-|p-\d/);
    await d.withDatabase((db) => db.query(`DELETE FROM audit_agent WHERE id = $1`, [agent.id]));
    const removed = await d.densaulyq(['audit', 'verify']);
    assert.equal(removed.code, 1, removed.stderr);
    assert.match(removed.stdout, /chain \d+ seq 1 {2}agent-mismatch: the agent \S+ the record names is missing/);
  });

  test('usage errors exit 2', async () => {
    const d = await open();
    assert.equal((await d.densaulyq(['audit'])).code, 2);
    const badAnchor = await d.densaulyq(['audit', 'verify', '--anchor', join(d.env.DATA_DIR!, 'missing.json')]);
    assert.equal(badAnchor.code, 2);
    assert.match(badAnchor.stderr, /not an anchor/);
  });
});
