import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import { FolderAnchorStore, anchorOf, startAnchorWriter } from '../../src/access/audit-anchors.js';
import { type AuditInput, auditAgent, auditEventPayload, compactAuditRecord } from '../../src/access/audit-event.js';
import { type AuditProblem, auditHeads, headsDigest, verifyAuditChain } from '../../src/access/audit-verify.js';
import { type AuditRecord, AuditAppender, appendInTransaction, auditAppender, shareAuditKey } from '../../src/store/audit-append.js';
import { APPENDER_CHAINS, AuditKeyMismatch, GENESIS_PREFIX, TRANSACTION_CHAINS, assertAuditKey, linkMessage, withMigrationKey } from '../../src/store/audit-chain.js';
import { AuditKey, loadAuditKey, processAuditKey } from '../../src/store/audit-key.js';
import { auditRowsAfter } from '../../src/store/audit-rows.js';
import type { Database, SqlClient } from '../../src/store/driver.js';
import { storedAuditEvents } from '../support/audit-events.js';
import { testDrivers } from '../support/database.js';

const context: AuditInput['context'] = { role: 'clinician', subject: 'account-7', clientId: 'mis', fhirUser: 'Practitioner/9', organization: 'org-1', scopes: [], purposeOfUse: 'TREAT', address: '10.0.0.1' };
const base: Omit<AuditInput, 'patient' | 'recorded'> = { action: 'R', interaction: 'read', outcome: '0', context };
/** Who acted in every record here: one audit_agent row. */
const agent = auditAgent(context);
/** Every chain: the transactions' (0..63) and the appenders' (64..127). */
const CHAINS = TRANSACTION_CHAINS + APPENDER_CHAINS.count;
const isAppenderChain = (chain: number) => chain >= APPENDER_CHAINS.first && chain < APPENDER_CHAINS.first + APPENDER_CHAINS.count;

let clock = Date.UTC(2026, 0, 1);
/** One compact record per patient, a second apart, as the door drafts them for a read of the patient's Observation. */
function records(patients: string[]): AuditRecord[] {
  return patients.map((patient) => ({
    patient,
    recorded: new Date((clock += 1000)).toISOString(),
    payload: compactAuditRecord({ ...base, patient, entities: [`Observation/of-${patient}`] }, agent),
    agent,
  }));
}

/** Appends one record per patient inside the transaction `tx`, as a write does (the transactions here commit: what is to follow the commit runs at once). */
const append = (tx: SqlClient, db: Database, patients: string[]) => appendInTransaction(tx, db, records(patients), (effect) => effect());

const genesis = (chain: number) => createHash('sha256').update(`${GENESIS_PREFIX}${chain}`).digest('hex');

/** Empties the trail: every chain back at its genesis, keyed from there, no agent stored, as a new database has it. */
async function resetChains(client: SqlClient): Promise<void> {
  const chains = Array.from({ length: CHAINS }, (_, chain) => chain);
  const hashes = chains.map(genesis);
  const seals = chains.map((chain) => processAuditKey().seal(chain, 0, hashes[chain]!));
  await client.query(`DELETE FROM audit_event`);
  await client.query(`DELETE FROM audit_agent`);
  await client.query(`UPDATE audit_head h SET seq = 0, hash = decode(t.hash, 'hex') FROM unnest($1::int[], $2::text[]) AS t(chain, hash) WHERE h.chain = t.chain`, [chains, hashes]);
  await client.query(`DELETE FROM audit_keyed_from`);
  await client.query(
    `INSERT INTO audit_keyed_from (chain, seq, hash, seal) SELECT t.chain, 0, decode(t.hash, 'hex'), decode(t.seal, 'hex') FROM unnest($1::int[], $2::text[], $3::text[]) AS t(chain, hash, seal)`,
    [chains, hashes, seals],
  );
}

/** This session's transaction chain. */
async function sessionChain(client: SqlClient): Promise<number> {
  const [row] = await client.query<{ chain: number }>(`SELECT pg_backend_pid() % ${TRANSACTION_CHAINS} AS chain`);
  return Number(row!.chain);
}

/** Twelve records on one chain (one transaction is one session): seq 1..12. */
async function seedChain(db: Database): Promise<number> {
  return db.transaction(async (tx) => {
    await append(tx, db, ['p-1', 'p-2', 'p-3']);
    await append(tx, db, ['p-1']);
    await append(tx, db, ['p-4', 'p-2', 'p-5', 'p-1']);
    await append(tx, db, ['p-6', 'p-7', 'p-8', 'p-3']);
    return sessionChain(tx);
  });
}

/**
 * An appender that has stored nothing yet (`auditAppender` keeps one per database), on `chain`
 * when given, as two processes' appenders may land on one chain (each picks its chain at random).
 */
function freshAppender(db: Database, chain?: number): AuditAppender {
  return new AuditAppender(db, processAuditKey(), chain);
}

const kinds = (problems: AuditProblem[]) => problems.map((p) => `${p.kind}@${p.seq}`);
const plainLink = (previous: string, message: string) => createHash('sha256').update(previous, 'hex').update(message, 'utf8').digest('hex');
/** Seqs from..to as `changed@seq`. */
const changed = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `changed@${from + i}`);
/** Where each record about one of `patients` sits: chain, seq and patient, in chain and seq order. */
const placesOf = (db: SqlClient, patients: string[]) =>
  db.query<{ chain: number; seq: number; patient: string }>(`SELECT chain, seq::int AS seq, patient FROM audit_event WHERE patient = ANY($1::text[]) ORDER BY chain, seq`, [patients]);

for (const driver of testDrivers()) describe(`the audit hash chain and its verification (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  let chain: number;
  /** The keyed starts as the migrations left them, before any test reset the chains. */
  let migratedStarts: { chain: number; seq: string; hash: string; seal: string }[];
  before(async () => {
    db = await driver.open();
    migratedStarts = await db.query(`SELECT chain, seq::text AS seq, encode(hash, 'hex') AS hash, encode(seal, 'hex') AS seal FROM audit_keyed_from ORDER BY chain`);
  });
  after(() => db.close());
  beforeEach(async () => {
    await resetChains(db);
    chain = await seedChain(db);
  });
  // Small pages, so every check also crosses page boundaries.
  const verify = (options = {}) => verifyAuditChain(db, { pageSize: 4, ...options });
  const tamper = (sql: string, params: unknown[] = []) => db.query(sql, [chain, ...params]);

  /** A connection of its own to this suite's PostgreSQL database, as another process would hold. */
  async function ownSession() {
    const [database] = await db.query<{ name: string }>(`SELECT current_database() AS name`);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${database!.name}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const session: SqlClient = { query: async (text, params) => (await client.query(text, params as unknown[])).rows };
    return { client, session };
  }

  test('an untouched trail verifies: every chain walked, every record counted', async () => {
    const result = await verify();
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.equal(result.chains, CHAINS);
    assert.equal(result.records, 12);
    assert.ok(chain >= 0 && chain < TRANSACTION_CHAINS, `a transaction's records go on a transaction chain, not ${chain}`);
    assert.equal(result.heads.find((h) => h.chain === chain)?.seq, 12);
    assert.equal(result.headDigest, headsDigest(await auditHeads(db)));
    assert.match(result.headDigest, /^[0-9a-f]{64}$/);
  });

  test('the migrations key every chain from its genesis, the appenders\' chains 64..127 included, sealed with the key', () => {
    assert.deepEqual(
      migratedStarts.map((s) => s.chain),
      Array.from({ length: CHAINS }, (_, c) => c),
    );
    const key = processAuditKey();
    for (const start of migratedStarts) {
      const chainOf = Number(start.chain);
      assert.equal(start.seal, key.seal(chainOf, Number(start.seq), start.hash), `chain ${chainOf} sealed with the key`);
      if (isAppenderChain(chainOf)) assert.deepEqual([start.seq, start.hash], ['0', genesis(chainOf)], `appender chain ${chainOf} keyed from its genesis`);
    }
  });

  test('a compact record\'s link is HMAC(key, previous link || "recorded to the µs|patient|payload"), over the record as stored', async () => {
    const rows = await auditRowsAfter(db, chain, '0', 2);
    const key = processAuditKey();
    assert.match(rows[0]!.recorded, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000Z$/);
    assert.equal(rows[0]!.hash, key.link(genesis(chain), `${rows[0]!.recorded}|p-1|${rows[0]!.payload}`));
    assert.equal(rows[1]!.hash, key.link(rows[0]!.hash, `${rows[1]!.recorded}|p-2|${rows[1]!.payload}`));
    assert.equal(linkMessage(rows[1]!), `${rows[1]!.recorded}|p-2|${rows[1]!.payload}`);
    assert.deepEqual(JSON.parse(rows[0]!.payload), { v: 2, a: 'R', i: 'read', g: agent.id, e: ['Observation/of-p-1'] });
  });

  test('the stored records are served as the AuditEvents they stand for, who acted read from the one agent row', async () => {
    assert.deepEqual(await db.query(`SELECT id, agent FROM audit_agent`), [{ id: agent.id, agent: agent.text }]);
    const events = await storedAuditEvents(db, 'e.chain = $1', [chain], 'e.seq');
    assert.equal(events.length, 12);
    assert.deepEqual(
      events.map((e) => e.entity?.[0]?.what?.reference),
      ['p-1', 'p-2', 'p-3', 'p-1', 'p-4', 'p-2', 'p-5', 'p-1', 'p-6', 'p-7', 'p-8', 'p-3'].map((p) => `Patient/${p}`),
    );
    for (const event of events) {
      const user = event.agent.find((a) => a.requestor)!;
      assert.equal(user.who?.reference, 'Practitioner/9');
      assert.equal(user.who?.identifier?.value, 'account-7');
    }
    assert.equal(new Set(events.map((e) => e.id)).size, 12, 'each record its own id');
  });

  test('a changed payload is found at its record, and only there', async () => {
    await tamper(`UPDATE audit_event SET payload = replace(payload, '"i":"read"', '"i":"vread"') WHERE chain = $1 AND seq = 5`);
    const result = await verify();
    assert.equal(result.ok, false);
    assert.deepEqual(kinds(result.problems), ['changed@5']);
  });

  test('a record removed from the middle is reported missing', async () => {
    await tamper(`DELETE FROM audit_event WHERE chain = $1 AND seq = 6`);
    assert.deepEqual(kinds((await verify()).problems), ['removed@6']);
  });

  test('the last record removed leaves the head pointing past the chain', async () => {
    await tamper(`DELETE FROM audit_event WHERE chain = $1 AND seq = 12`);
    const result = await verify();
    assert.deepEqual(kinds(result.problems), ['head-mismatch@12']);
    assert.match(result.problems[0]!.detail, /head is at 12, the last record at 11/);
  });

  test('two records whose seq were swapped are reported as reordered, across a page boundary too', async () => {
    // The primary key forbids a direct swap; an attacker goes through a free seq.
    await tamper(`UPDATE audit_event SET seq = -1 WHERE chain = $1 AND seq = 4`);
    await tamper(`UPDATE audit_event SET seq = 4 WHERE chain = $1 AND seq = 5`);
    await tamper(`UPDATE audit_event SET seq = 5 WHERE chain = $1 AND seq = -1`);
    assert.deepEqual(kinds((await verify()).problems), ['reordered@4']);
    assert.deepEqual(kinds((await verify({ pageSize: 5000 })).problems), ['reordered@4']);
  });

  test('a compact record\'s patient and recorded columns are under its link: changing either, by a microsecond even, breaks it', async () => {
    await tamper(`UPDATE audit_event SET patient = 'p-99' WHERE chain = $1 AND seq = 3`);
    await tamper(`UPDATE audit_event SET recorded = recorded - interval '1 day' WHERE chain = $1 AND seq = 9`);
    await tamper(`UPDATE audit_event SET recorded = recorded + interval '1 microsecond' WHERE chain = $1 AND seq = 11`);
    await tamper(`UPDATE audit_event SET patient = NULL WHERE chain = $1 AND seq = 12`);
    const result = await verify();
    assert.deepEqual(kinds(result.problems), ['changed@3', 'changed@9', 'changed@11', 'changed@12']);
  });

  test('who acted: an agent row whose text was changed, or that was removed, is found at the first record naming it', async () => {
    // The links are untouched: blaming another account for the reads is a change to the agent row alone.
    await db.query(`UPDATE audit_agent SET agent = replace(agent, 'account-7', 'account-8') WHERE id = $1`, [agent.id]);
    const rewritten = await verify();
    assert.deepEqual(kinds(rewritten.problems), ['agent-mismatch@1']);
    assert.equal(rewritten.problems[0]!.chain, chain);
    assert.match(rewritten.problems[0]!.detail, /was changed/);
    await db.query(`DELETE FROM audit_agent WHERE id = $1`, [agent.id]);
    const removed = await verify();
    assert.deepEqual(kinds(removed.problems), ['agent-mismatch@1']);
    assert.match(removed.problems[0]!.detail, /is missing/);
  });

  test('who acted: records re-pointed to another, well-formed agent row break their links', async () => {
    const other = auditAgent({ ...context, subject: 'account-8', fhirUser: 'Practitioner/10' });
    await db.query(`INSERT INTO audit_agent (id, agent) VALUES ($1, $2)`, [other.id, other.text]);
    await tamper(`UPDATE audit_event SET payload = replace(payload, $2, $3) WHERE chain = $1 AND seq IN (2, 7)`, [agent.id, other.id]);
    assert.deepEqual(kinds((await verify()).problems), ['changed@2', 'changed@7']);
  });

  test('a record rewritten with its hash recomputed by plain sha256 is found, and so is the next link', async () => {
    await tamper(
      `UPDATE audit_event e SET payload = replace(payload, '"i":"read"', '"i":"vread"'),
         hash = sha256((SELECT p.hash FROM audit_event p WHERE p.chain = e.chain AND p.seq = e.seq - 1)
           || convert_to(replace(payload, '"i":"read"', '"i":"vread"'), 'UTF8'))
       WHERE chain = $1 AND seq = 7`,
    );
    assert.deepEqual(kinds((await verify()).problems), ['changed@7', 'changed@8']);
  });

  /** Changes record 5 and recomputes every later link (over what a link covers) and the head with `link`, as an administrator would. */
  async function rewriteTail(link: (previous: string, message: string) => string): Promise<void> {
    const rows = await auditRowsAfter(db, chain, '4', 100);
    const [previous] = await db.query<{ hash: string }>(`SELECT encode(hash, 'hex') AS hash FROM audit_event WHERE chain = $1 AND seq = 4`, [chain]);
    let hash = previous!.hash;
    for (const row of rows) {
      const payload = row.seq === '5' ? row.payload.replace('"i":"read"', '"i":"vread"') : row.payload;
      hash = link(hash, linkMessage({ ...row, payload }));
      await tamper(`UPDATE audit_event SET payload = $3, hash = decode($4, 'hex') WHERE chain = $1 AND seq = $2::bigint`, [row.seq, payload, hash]);
    }
    await tamper(`UPDATE audit_head SET hash = decode($2, 'hex') WHERE chain = $1`, [hash]);
  }

  test('a tail rewritten head and all with plain sha256, or with a guessed key, is found without an anchor', async () => {
    await rewriteTail(plainLink);
    assert.deepEqual(kinds((await verify()).problems), changed(5, 12));
    const guessed = AuditKey.generate();
    await rewriteTail((previous, message) => guessed.link(previous, message));
    assert.deepEqual(kinds((await verify()).problems), changed(5, 12));
  });

  test('another key verifies nothing, and the database refuses it on open', async () => {
    const other = AuditKey.generate();
    const result = await verify({ key: other, maxProblems: 1000 });
    assert.equal(result.problems.filter((p) => p.kind === 'seal-mismatch').length, CHAINS);
    assert.deepEqual(kinds(result.problems.filter((p) => p.kind !== 'seal-mismatch')), changed(1, 12));
    await assert.rejects(assertAuditKey(db, other), AuditKeyMismatch);
    await assertAuditKey(db, processAuditKey());
  });

  test('only whoever holds the key can rewrite a tail consistently; the anchor kept outside still finds it', async () => {
    const anchor = await auditHeads(db);
    const key = processAuditKey();
    await rewriteTail((previous, message) => key.link(previous, message));
    assert.deepEqual((await verify()).problems, []);
    const anchored = await verify({ anchors: anchor });
    assert.deepEqual(kinds(anchored.problems), ['changed@12']);
    assert.notEqual(anchored.headDigest, headsDigest(anchor));
  });

  test('removing the newest records and rewinding the head is consistent in itself; the anchor the writer left finds it', async () => {
    const store = new FolderAnchorStore(await mkdtemp(join(tmpdir(), 'densaulyq-anchors-')));
    try {
      const writer = await startAnchorWriter({ db, store, seconds: 0, onError: (error) => assert.fail(error) });
      await writer.stop();
      await tamper(`DELETE FROM audit_event WHERE chain = $1 AND seq > 9`);
      await tamper(`UPDATE audit_head h SET seq = e.seq, hash = e.hash FROM audit_event e WHERE h.chain = $1 AND e.chain = h.chain AND e.seq = 9`);
      assert.deepEqual((await verify()).problems, [], 'without an anchor the shortened chain looks whole');
      const anchored = await verify({ anchors: (await store.latest())!.heads });
      assert.deepEqual(kinds(anchored.problems), ['removed@12']);
      assert.match(anchored.problems[0]!.detail, /ends at 9, before the anchored link 12/);
    } finally {
      await rm(store.location, { recursive: true, force: true });
    }
  });

  test('the anchor writer writes when a head moved (an appender\'s chain too): at start, at its interval and on stop, and not otherwise', async () => {
    const store = new FolderAnchorStore(await mkdtemp(join(tmpdir(), 'densaulyq-anchors-')));
    const files = async () => (await readdir(store.location)).length;
    const appender = freshAppender(db);
    try {
      const first = await startAnchorWriter({ db, store, seconds: 0, onError: (error) => assert.fail(error) });
      await first.stop();
      const quiet = await startAnchorWriter({ db, store, seconds: 0, onError: (error) => assert.fail(error) });
      await quiet.stop();
      assert.equal(await files(), 1, 'nothing moved: no second anchor');

      const ticking = await startAnchorWriter({ db, store, seconds: 1, onError: (error) => assert.fail(error) });
      await appender.append(records(['p-9']));
      for (let waited = 0; (await files()) < 2 && waited < 5000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(await files(), 2, 'the interval anchored the moved head');
      await appender.append(records(['p-10']));
      await ticking.stop();
      assert.equal(await files(), 3, 'stopping anchored the last head');
      assert.deepEqual((await store.latest())!.heads, await auditHeads(db));
      assert.deepEqual((await verify({ anchors: (await store.latest())!.heads })).problems, []);
    } finally {
      await rm(store.location, { recursive: true, force: true });
    }
  });

  /**
   * An upgraded database on one transaction chain: three whole-AuditEvent records with plain links
   * (written before the key existed), the keyed start sealed at 3, two whole-AuditEvent records
   * keyed over their payload alone (written before records were compact), then two compact records.
   */
  async function upgradedChain(): Promise<{ chain: number; ids: string[] }> {
    const key = processAuditKey();
    return db.transaction(async (tx) => {
      await resetChains(tx);
      const legacy = await sessionChain(tx);
      let hash = genesis(legacy);
      const ids: string[] = [];
      for (let seq = 1; seq <= 5; seq++) {
        const recorded = new Date((clock += 1000)).toISOString();
        const id = randomUUID();
        ids.push(id);
        const payload = auditEventPayload({ ...base, patient: `p-${seq}`, recorded, entities: [`Patient/p-${seq}`] }, id);
        hash = seq <= 3 ? plainLink(hash, payload) : key.link(hash, payload);
        await tx.query(`INSERT INTO audit_event (chain, seq, recorded, patient, hash, payload) VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6)`, [legacy, seq, recorded, `p-${seq}`, hash, payload]);
        if (seq === 3) await tx.query(`UPDATE audit_keyed_from SET seq = 3, hash = decode($2, 'hex'), seal = decode($3, 'hex') WHERE chain = $1`, [legacy, hash, key.seal(legacy, 3, hash)]);
      }
      await tx.query(`UPDATE audit_head SET seq = 5, hash = decode($2, 'hex') WHERE chain = $1`, [legacy, hash]);
      await append(tx, db, ['p-6', 'p-7']);
      return { chain: legacy, ids };
    });
  }

  test('records written before the key existed, and before records were compact, still verify, and are served as they were written', async () => {
    const upgraded = await upgradedChain();
    const intact = await verify();
    assert.deepEqual(intact.problems, []);
    assert.equal(intact.records, 7);
    assert.equal(intact.heads.find((h) => h.chain === upgraded.chain)?.seq, 7);
    const events = await storedAuditEvents(db, 'e.chain = $1', [upgraded.chain], 'e.seq');
    assert.deepEqual(events.slice(0, 5).map((e) => e.id), upgraded.ids, 'the older records keep the ids they were written with');
    assert.deepEqual(
      events.map((e) => e.entity?.[0]?.what?.reference),
      ['p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6', 'p-7'].map((p) => `Patient/${p}`),
    );
    for (const event of events) assert.equal(event.agent.find((a) => a.requestor)?.who?.reference, 'Practitioner/9');
  });

  test('an older record\'s patient and recorded columns must still say what its payload says', async () => {
    const { chain: legacy } = await upgradedChain();
    await db.query(`UPDATE audit_event SET recorded = recorded - interval '1 day' WHERE chain = $1 AND seq = 2`, [legacy]);
    await db.query(`UPDATE audit_event SET patient = 'p-99' WHERE chain = $1 AND seq = 4`, [legacy]);
    await db.query(`UPDATE audit_event SET patient = 'p-99' WHERE chain = $1 AND seq = 6`, [legacy]);
    const result = await verify();
    assert.deepEqual(kinds(result.problems), ['column-mismatch@2', 'column-mismatch@4', 'changed@6']);
    assert.match(result.problems[0]!.detail, /recorded/);
    assert.match(result.problems[1]!.detail, /patient/);
  });

  test('older records stay bound to the key through the sealed keyed start: rewriting a plain link is found', async () => {
    const { chain: legacy } = await upgradedChain();
    const rows = await db.query<{ payload: string }>(`SELECT payload FROM audit_event WHERE chain = $1 AND seq <= 3 ORDER BY seq`, [legacy]);
    let hash = genesis(legacy);
    for (const [i, row] of rows.entries()) {
      const payload = i === 1 ? row.payload.replace('"outcome":"0"', '"outcome":"4"') : row.payload;
      hash = plainLink(hash, payload);
      await db.query(`UPDATE audit_event SET payload = $3, hash = decode($4, 'hex') WHERE chain = $1 AND seq = $2`, [legacy, i + 1, payload, hash]);
    }
    const result = await verify();
    assert.deepEqual(kinds(result.problems), ['changed@3', 'changed@4']);
    assert.match(result.problems[0]!.detail, /sealed keyed start/);
  });

  test('a keyed start moved or removed by the administrator is reported', async () => {
    await tamper(`UPDATE audit_keyed_from k SET seq = h.seq, hash = h.hash FROM audit_head h WHERE k.chain = $1 AND h.chain = k.chain`);
    const moved = await verify();
    assert.deepEqual(kinds(moved.problems.filter((p) => p.kind === 'seal-mismatch')), ['seal-mismatch@12']);
    assert.equal(moved.ok, false);
    await tamper(`DELETE FROM audit_keyed_from WHERE chain = $1`);
    const removed = await verify();
    assert.deepEqual(kinds(removed.problems), ['seal-mismatch@0']);
    assert.match(removed.problems[0]!.detail, /no sealed keyed start/);
  });

  test('records of a chain with no head are reported; the listing stops at maxProblems but the count goes on', async () => {
    const foreign = CHAINS + 100;
    await db.query(`INSERT INTO audit_event (chain, seq, recorded, patient, hash, payload) VALUES ($1, 1, now(), NULL, '\\x00', '{"v":2,"a":"R","i":"read"}')`, [foreign]);
    for (const seq of [2, 4, 6]) await tamper(`UPDATE audit_event SET patient = 'p-99' WHERE chain = $1 AND seq = $2`, [seq]);
    const result = await verify({ maxProblems: 2 });
    assert.equal(result.problemCount, 7);
    assert.deepEqual(kinds(result.problems), ['changed@2', 'changed@4']);
    assert.equal(result.chains, CHAINS + 1);
    const all = await verify();
    assert.deepEqual(all.problems.filter((p) => p.chain === foreign).map((p) => p.kind).sort(), ['agent-mismatch', 'changed', 'head-mismatch', 'seal-mismatch']);
    assert.match(all.problems.find((p) => p.kind === 'agent-mismatch')!.detail, /names no agent/);
  });

  test('the key\'s padded forms are in no session setting outside a migration: not on the pool, not in a write\'s transaction, not in a role\'s or database\'s defaults', async () => {
    const pads = processAuditKey().sessionPads();
    const settings = `SELECT current_setting('densaulyq.audit_inner', true) AS inner_pad, current_setting('densaulyq.audit_outer', true) AS outer_pad`;
    const unset = (rows: { inner_pad: string | null; outer_pad: string | null }[], where: string) => {
      for (const row of rows) {
        assert.ok(!row.inner_pad && !row.outer_pad, `${where}: ${JSON.stringify(row)}`);
        assert.ok(!pads.includes(row.inner_pad ?? '') && !pads.includes(row.outer_pad ?? ''), where);
      }
    };
    // Several connections of the pool at once, the one that ran the migrations among them.
    const pool = await Promise.all(Array.from({ length: 6 }, () => db.query<{ inner_pad: string | null; outer_pad: string | null }>(`${settings}, pg_sleep(0.05)`)));
    unset(pool.flat(), 'a pool connection');
    await db.transaction(async (tx) => {
      await append(tx, db, ['p-k']);
      unset(await tx.query(settings), 'a transaction that appended');
    });
    const defaults = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%densaulyq.audit%'`);
    assert.equal(defaults[0]!.n, '0', 'no ALTER ROLE / ALTER DATABASE SET holds them');
    if (driver.name === 'postgres') {
      const { client, session } = await ownSession();
      try {
        unset(await session.query(settings), 'a new session');
        // A session that never saw the key appends all the same: the links are computed in Node.
        await session.query('BEGIN');
        await append(session, db, ['p-x']);
        await session.query('COMMIT');
        unset(await session.query(settings), 'that session after appending');
      } finally {
        await client.end();
      }
    }
    assert.deepEqual((await verify()).problems, []);
  });

  test('a migration\'s key lives for its transaction only', async () => {
    const key = processAuditKey();
    const settings = `SELECT current_setting('densaulyq.audit_inner', true) AS inner_pad, current_setting('densaulyq.audit_outer', true) AS outer_pad`;
    // One session throughout: PGlite is one; on PostgreSQL a connection of its own.
    const own = driver.name === 'postgres' ? await ownSession() : undefined;
    const session: SqlClient = own?.session ?? db;
    try {
      const during = await (async () => {
        if (own) {
          await session.query('BEGIN');
          await withMigrationKey(session, key);
          const rows = await session.query<{ inner_pad: string; outer_pad: string }>(settings);
          await session.query('COMMIT');
          return rows;
        }
        return db.transaction(async (tx) => {
          await withMigrationKey(tx, key);
          return tx.query<{ inner_pad: string; outer_pad: string }>(settings);
        });
      })();
      assert.deepEqual([during[0]!.inner_pad, during[0]!.outer_pad], key.sessionPads());
      const afterwards = await session.query<{ inner_pad: string | null; outer_pad: string | null }>(settings);
      assert.ok(!afterwards[0]!.inner_pad && !afterwards[0]!.outer_pad, JSON.stringify(afterwards[0]).slice(0, 80));
    } finally {
      await own?.client.end();
    }
  });

  test('20 appends in parallel transactions and 40 through two appenders leave valid chains, each kind on its own chains', async (t) => {
    const appenders = [freshAppender(db), freshAppender(db)];
    const transactions = Array.from({ length: 20 }, (_, i) => `t-${i}`);
    const reads = Array.from({ length: 40 }, (_, i) => `r-${i}`);
    await Promise.all([
      ...transactions.map((p) => db.transaction((tx) => append(tx, db, [p, `${p}b`]))),
      ...reads.map((p, i) => appenders[i % 2]!.append(records([p]))),
    ]);
    const result = await verify();
    assert.deepEqual(result.problems, []);
    assert.equal(result.records, 12 + 40 + 40);
    const written = await placesOf(db, transactions.flatMap((p) => [p, `${p}b`]));
    assert.equal(written.length, 40);
    assert.ok(written.every((r) => r.chain < TRANSACTION_CHAINS), 'a transaction appends on a transaction chain');
    const read = await placesOf(db, reads);
    assert.deepEqual(read.map((r) => r.patient).sort(), [...reads].sort(), 'every read recorded once');
    assert.ok(read.every((r) => isAppenderChain(r.chain)), 'the appenders append on their own chains');
    const used = await db.query(`SELECT DISTINCT chain FROM audit_event`);
    t.diagnostic(`${used.length} chain(s) used`);
  });

  test('a write\'s append starts from the head this process committed, unread; after another process appended on the chain it reads the head once, a rollback costs nothing, and nothing forks', { skip: driver.name !== 'postgres' && 'the session is known on PostgreSQL only' }, async () => {
    // Two processes (two handles, each with its own heads) whose every transaction says it runs in one session: one chain for all, not the seeded one.
    const processes = [db, shareAuditKey(db, { ...db })] as const;
    const onChain = (chain + 1) % TRANSACTION_CHAINS;
    /** Appends each group in one transaction of `handle`; returns how many times it read the head, locked. */
    async function write(handle: Database, groups: string[][], rollBack = false): Promise<number> {
      const effects: (() => void)[] = [];
      let lockedReads = 0;
      const done = handle.transaction(async (tx) => {
        const session: SqlClient = {
          ...tx,
          session: onChain,
          query: (sql, params, options) => {
            if (/FROM audit_head .*FOR UPDATE/s.test(sql)) lockedReads++;
            return tx.query(sql, params, options);
          },
        };
        for (const group of groups) await appendInTransaction(session, handle, records(group), (effect) => effects.push(effect));
        if (rollBack) throw new Error('rolled back');
      });
      if (rollBack) await assert.rejects(done, /rolled back/);
      else await done;
      if (!rollBack) for (const effect of effects) effect();
      return lockedReads;
    }
    const [a, b] = processes;
    assert.equal(await write(a, [['k-1']]), 1, 'the first append reads the head');
    assert.equal(await write(a, [['k-2'], ['k-3']]), 0, 'then it goes from the head it committed, and from its own within the transaction');
    assert.equal(await write(b, [['k-4']]), 1, 'another process reads the head it has not seen');
    assert.equal(await write(a, [['k-5']]), 1, 'the head moved by the other: its append changes nothing, the head is read, the record appended');
    assert.equal(await write(a, [['k-6']], true), 0);
    assert.equal(await write(a, [['k-7']]), 0, 'a rollback leaves the head as committed');
    const racing = Array.from({ length: 30 }, (_, i) => `k-race-${i}`);
    await Promise.all(racing.map((p, i) => write(processes[i % 2]!, [[p]])));
    const places = await placesOf(db, ['k-1', 'k-2', 'k-3', 'k-4', 'k-5', 'k-6', 'k-7', ...racing]);
    assert.ok(places.every((r) => r.chain === onChain));
    assert.deepEqual(places.slice(0, 6).map((r) => [r.seq, r.patient]), [[1, 'k-1'], [2, 'k-2'], [3, 'k-3'], [4, 'k-4'], [5, 'k-5'], [6, 'k-7']]);
    assert.deepEqual(places.slice(6).map((r) => r.patient).sort(), [...racing].sort(), 'each racing record once, none rolled back');
    assert.deepEqual(places.map((r) => r.seq), Array.from({ length: places.length }, (_, i) => i + 1), 'one unbroken chain');
    const result = await verify();
    assert.deepEqual(result.problems, []);
    assert.equal(result.records, 12 + 6 + 30);
  });

  test('records handed to the appender in one turn of the event loop are committed in one statement, in order', async () => {
    const appender = freshAppender(db);
    const patients = Array.from({ length: 10 }, (_, i) => `g-${i}`);
    await Promise.all(patients.map((p) => appender.append(records([p]))));
    const grouped = await db.query<{ chain: number; seq: number; patient: string; xid: string }>(
      `SELECT chain, seq::int AS seq, patient, xmin::text AS xid FROM audit_event WHERE patient = ANY($1::text[]) ORDER BY chain, seq`,
      [patients],
    );
    assert.deepEqual(grouped.map((r) => r.patient), patients);
    assert.equal(new Set(grouped.map((r) => r.xid)).size, 1, 'one transaction');
    assert.ok(isAppenderChain(grouped[0]!.chain));
    assert.deepEqual(grouped.map((r) => r.seq), Array.from({ length: 10 }, (_, i) => i + 1));
    // Handed over one after the other, each waits for its own commit.
    await appender.append(records(['h-1']));
    await appender.append(records(['h-2']));
    const apart = await db.query<{ xid: string }>(`SELECT xmin::text AS xid FROM audit_event WHERE patient IN ('h-1', 'h-2')`);
    assert.equal(new Set(apart.map((r) => r.xid)).size, 2);
    assert.deepEqual((await verify()).problems, []);
  });

  test('an append resolves only once its records are committed; a failed batch rejects every request in it and appends nothing', async () => {
    const appender = freshAppender(db);
    await appender.append(records(['c-1']));
    // Visible to any other session the moment the request may answer.
    const other = driver.name === 'postgres' ? await ownSession() : undefined;
    try {
      const seen = await (other?.session ?? db).query(`SELECT 1 FROM audit_event WHERE patient = 'c-1'`);
      assert.equal(seen.length, 1);
    } finally {
      await other?.client.end();
    }
    // An instant PostgreSQL cannot store fails the statement the whole batch shares.
    const [bad] = records(['c-bad']);
    const outcomes = await Promise.allSettled([appender.append(records(['c-2'])), appender.append([{ ...bad!, recorded: '-271821-04-20T00:00:00.000Z' }])]);
    assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected']);
    assert.deepEqual(await placesOf(db, ['c-2', 'c-bad']), []);
    // The lane goes on from the head as it is.
    await appender.append(records(['c-3']));
    assert.deepEqual((await placesOf(db, ['c-1', 'c-2', 'c-3'])).map((r) => r.patient), ['c-1', 'c-3']);
    assert.deepEqual((await verify()).problems, []);
  });

  test('two appenders on one chain never fork it: the one whose head is stale appends nothing there and moves on', async () => {
    const contended = APPENDER_CHAINS.first;
    const one = freshAppender(db, contended);
    const two = freshAppender(db, contended);
    await one.append(records(['s-1']));
    await two.append(records(['s-2']));
    // `one` still holds the head it left at seq 1; `two` has moved it to 2.
    await one.append(records(['s-3']));
    const places = await placesOf(db, ['s-1', 's-2', 's-3']);
    assert.deepEqual(
      places.filter((r) => r.chain === contended).slice(0, 2).map((r) => [r.seq, r.patient]),
      [
        [1, 's-1'],
        [2, 's-2'],
      ],
      'the second appender\'s record stands where it was committed',
    );
    assert.deepEqual(places.map((r) => r.patient).sort(), ['s-1', 's-2', 's-3'], 'each record once');
    // Both at once, many times over, from their first head.
    const racing = [freshAppender(db, contended + 1), freshAppender(db, contended + 1)];
    const patients = Array.from({ length: 60 }, (_, i) => `race-${i}`);
    await Promise.all(patients.map((p, i) => racing[i % 2]!.append(records([p]))));
    assert.deepEqual((await placesOf(db, patients)).map((r) => r.patient).sort(), [...patients].sort());
    const result = await verify();
    assert.deepEqual(result.problems, []);
    assert.equal(result.records, 12 + 3 + 60);
  });

  test('forty appenders, each on a chain of its choosing, append at once: where two chose one chain, it does not fork', async (t) => {
    // Forty picks among 64 chains all differ with a probability of about 1 in 100 000.
    const appenders = Array.from({ length: 40 }, () => freshAppender(db));
    const patients = Array.from({ length: 200 }, (_, i) => `many-${i}`);
    await Promise.all(patients.map((p, i) => appenders[i % appenders.length]!.append(records([p]))));
    const places = await placesOf(db, patients);
    assert.deepEqual(places.map((r) => r.patient).sort(), [...patients].sort(), 'every record once');
    assert.ok(places.every((r) => isAppenderChain(r.chain)));
    const result = await verify();
    assert.deepEqual(result.problems, []);
    assert.equal(result.records, 12 + 200);
    t.diagnostic(`${new Set(places.map((r) => r.chain)).size} chains for 40 appenders`);
  });

  test('the process\'s appender is one per database and appends verified records with the database\'s key', async () => {
    const appender = auditAppender(db);
    assert.equal(auditAppender(db), appender);
    await Promise.all(['a-1', 'a-2', 'a-3'].map((p) => appender.append(records([p]))));
    assert.ok((await placesOf(db, ['a-1', 'a-2', 'a-3'])).every((r) => isAppenderChain(r.chain)));
    assert.deepEqual((await verify()).problems, []);
  });

  /** Two PostgreSQL sessions of their own on one transaction chain (a session appends to chain pid % TRANSACTION_CHAINS). */
  async function sessionsOnOneChain() {
    const connect = async () => {
      const own = await ownSession();
      return { ...own, chain: await sessionChain(own.session) };
    };
    const first = await connect();
    let second = await connect();
    // New backends take rising pids: connect until one lands on the first session's chain.
    for (let attempt = 0; second.chain !== first.chain && attempt < 1000; attempt++) {
      await second.client.end();
      second = await connect();
    }
    const close = () => Promise.all([first.client.end(), second.client.end()]).then(() => undefined);
    if (second.chain !== first.chain) await close();
    assert.equal(second.chain, first.chain, 'no session landed on the same chain');
    return {
      chain: first.chain,
      async holdFirst(patients: string[]) {
        await first.session.query('BEGIN');
        await append(first.session, db, patients);
      },
      async second(patients: string[]) {
        await second.session.query('BEGIN');
        await append(second.session, db, patients);
        await second.session.query('COMMIT');
      },
      commitFirst: () => first.session.query('COMMIT').then(() => undefined),
      close,
    };
  }

  /** PGlite's one session (so one chain) in two transactions; the database holds the second back whole. */
  function transactionsOfTheOneSession() {
    let commit = () => {};
    let held: Promise<void> = Promise.resolve();
    return {
      chain,
      holdFirst: (patients: string[]) =>
        new Promise<void>((appended, failed) => {
          held = db.transaction(async (tx) => {
            await append(tx, db, patients);
            appended();
            await new Promise<void>((resolve) => (commit = resolve));
          });
          held.catch(failed);
        }),
      second: (patients: string[]) => db.transaction((tx) => append(tx, db, patients)),
      async commitFirst() {
        commit();
        await held;
      },
      async close() {
        commit();
        await held.catch(() => undefined);
      },
    };
  }

  test('two transactions on one transaction chain append one after the other: the head row stays locked until the first commits', async () => {
    const writers = driver.name === 'postgres' ? await sessionsOnOneChain() : transactionsOfTheOneSession();
    try {
      await writers.holdFirst(['p-a']);
      let secondDone = false;
      const waiting = writers.second(['p-b']).then(() => (secondDone = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(secondDone, false, 'the second writer waits for the head row');
      await writers.commitFirst();
      await waiting;
      assert.deepEqual((await verify()).problems, []);
      const before = writers.chain === chain ? 12 : 0;
      const [head] = await db.query<{ seq: string }>(`SELECT seq::text AS seq FROM audit_head WHERE chain = $1`, [writers.chain]);
      assert.equal(Number(head!.seq), before + 2);
      assert.deepEqual(
        (await placesOf(db, ['p-a', 'p-b'])).map((r) => [r.chain, r.seq, r.patient]),
        [
          [writers.chain, before + 1, 'p-a'],
          [writers.chain, before + 2, 'p-b'],
        ],
        'the second linked from the first\'s committed head',
      );
    } finally {
      await writers.close();
    }
  });
});

describe('the audit key file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-audit-key-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('is made at first start with 32 random bytes, readable by its owner only, and read back the same', async () => {
    const path = join(dir, 'audit', 'chain.key');
    const made = await loadAuditKey(path, { create: true });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.match(await readFile(path, 'utf8'), /^[0-9a-f]{64}\n$/);
    const again = await loadAuditKey(path, { create: false });
    assert.equal(again.link('00', 'x'), made.link('00', 'x'));
    const other = await loadAuditKey(join(dir, 'other.key'), { create: true });
    assert.notEqual(other.link('00', 'x'), made.link('00', 'x'));
  });

  test('is never made by a reader, and must hold 64 hexadecimal digits', async () => {
    await assert.rejects(loadAuditKey(join(dir, 'missing.key'), { create: false }), /does not exist/);
    await writeFile(join(dir, 'short.key'), 'abcd\n');
    await assert.rejects(loadAuditKey(join(dir, 'short.key'), { create: true }), /64 hexadecimal digits/);
  });
});

describe('the audit anchor folder', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-anchor-folder-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const heads = (seq: number) => Array.from({ length: 3 }, (_, chain) => ({ chain, seq, hash: createHash('sha256').update(`${chain}:${seq}`).digest('hex') }));

  test('keeps every anchor of the newest day and the last of each day before; no temporary file is left', async () => {
    const store = new FolderAnchorStore(dir);
    const instants = ['2026-03-01T08:00:00.000Z', '2026-03-01T09:00:00.000Z', '2026-03-01T23:59:00.000Z', '2026-03-02T10:00:00.000Z', '2026-03-02T11:00:00.000Z', '2026-03-03T00:01:00.000Z', '2026-03-03T00:02:00.000Z'];
    for (const [i, written] of instants.entries()) await store.save(anchorOf(heads(i), written));
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names.map((n) => n.slice(0, 19)), ['2026-03-01T23-59-00', '2026-03-02T11-00-00', '2026-03-03T00-01-00', '2026-03-03T00-02-00']);
    const latest = await store.latest();
    assert.equal(latest?.written, '2026-03-03T00:02:00.000Z');
    assert.deepEqual(latest?.heads, heads(6));
  });

  test('an anchor whose heads do not match its digest is refused', async () => {
    const store = new FolderAnchorStore(dir);
    assert.equal(await store.latest(), undefined);
    await store.save(anchorOf(heads(1), '2026-03-01T08:00:00.000Z'));
    const [name] = await readdir(dir);
    const text = await readFile(join(dir, name!), 'utf8');
    await writeFile(join(dir, name!), text.replace(/"seq": 1/, '"seq": 0'));
    await assert.rejects(store.latest(), /is not an audit anchor/);
  });
});
