import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import { FolderAnchorStore, anchorOf, startAnchorWriter } from '../../src/access/audit-anchors.js';
import { type AuditInput, auditEventPayload } from '../../src/access/audit-event.js';
import { type AuditProblem, auditHeads, headsDigest, verifyAuditChain } from '../../src/access/audit-verify.js';
import { AUDIT_CHAINS, AuditKeyMismatch, appendAuditSql, assertAuditKey, keyAuditSession } from '../../src/store/audit-chain.js';
import { AuditKey, loadAuditKey, processAuditKey } from '../../src/store/audit-key.js';
import type { Database, SqlClient } from '../../src/store/driver.js';
import { testDrivers } from '../support/database.js';

const base: Omit<AuditInput, 'patient' | 'recorded'> = {
  action: 'R',
  interaction: 'read',
  outcome: '0',
  context: { role: 'clinician', subject: 'account-7', clientId: 'mis', fhirUser: 'Practitioner/9', organization: 'org-1', scopes: [], purposeOfUse: 'TREAT', address: '10.0.0.1' },
};

let clock = Date.UTC(2026, 0, 1);
/** Appends one audit record per patient in one statement, as the door does. */
async function append(client: SqlClient, patients: string[]): Promise<void> {
  const recorded = patients.map(() => new Date((clock += 1000)).toISOString());
  const payloads = patients.map((patient, i) => auditEventPayload({ ...base, patient, recorded: recorded[i]!, entities: [`Patient/${patient}`] }));
  await client.query(appendAuditSql(), [patients, recorded, payloads]);
}

/** Empties the trail: every chain back at its genesis, keyed from there, as a new database has it. */
async function resetChains(client: SqlClient): Promise<void> {
  const chains = Array.from({ length: AUDIT_CHAINS }, (_, chain) => chain);
  const genesis = chains.map((chain) => createHash('sha256').update(`densaulyq-audit-chain:${chain}`).digest('hex'));
  const seals = chains.map((chain) => processAuditKey().seal(chain, 0, genesis[chain]!));
  await client.query(`DELETE FROM audit_event`);
  await client.query(`UPDATE audit_head h SET seq = 0, hash = decode(t.hash, 'hex') FROM unnest($1::int[], $2::text[]) AS t(chain, hash) WHERE h.chain = t.chain`, [chains, genesis]);
  await client.query(`DELETE FROM audit_keyed_from`);
  await client.query(
    `INSERT INTO audit_keyed_from (chain, seq, hash, seal) SELECT t.chain, 0, decode(t.hash, 'hex'), decode(t.seal, 'hex') FROM unnest($1::int[], $2::text[], $3::text[]) AS t(chain, hash, seal)`,
    [chains, genesis, seals],
  );
}

/** Twelve records on one chain (one transaction is one session): seq 1..12. */
async function seedChain(db: Database): Promise<number> {
  return db.transaction(async (tx) => {
    await append(tx, ['p-1', 'p-2', 'p-3']);
    await append(tx, ['p-1']);
    await append(tx, ['p-4', 'p-2', 'p-5', 'p-1']);
    await append(tx, ['p-6', 'p-7', 'p-8', 'p-3']);
    const [row] = await tx.query<{ chain: number }>(`SELECT pg_backend_pid() % ${AUDIT_CHAINS} AS chain`);
    return Number(row!.chain);
  });
}

const kinds = (problems: AuditProblem[]) => problems.map((p) => `${p.kind}@${p.seq}`);
const plainLink = (previous: string, payload: string) => createHash('sha256').update(previous, 'hex').update(payload, 'utf8').digest('hex');
/** Seqs from..to as `changed@seq`. */
const changed = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `changed@${from + i}`);

for (const driver of testDrivers()) describe(`the audit hash chain and its verification (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  let chain: number;
  before(async () => {
    db = await driver.open();
  });
  after(() => db.close());
  beforeEach(async () => {
    await resetChains(db);
    chain = await seedChain(db);
  });
  // Small pages, so every check also crosses page boundaries.
  const verify = (options = {}) => verifyAuditChain(db, { pageSize: 4, ...options });
  const tamper = (sql: string, params: unknown[] = []) => db.query(sql, [chain, ...params]);

  test('an untouched trail verifies: every chain walked, every record counted', async () => {
    const result = await verify();
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.equal(result.chains, AUDIT_CHAINS);
    assert.equal(result.records, 12);
    assert.equal(result.heads.find((h) => h.chain === chain)?.seq, 12);
    assert.equal(result.headDigest, headsDigest(await auditHeads(db)));
    assert.match(result.headDigest, /^[0-9a-f]{64}$/);
  });

  test('a changed payload is found at its record, and only there', async () => {
    await tamper(`UPDATE audit_event SET payload = replace(payload, '"outcome":"0"', '"outcome":"4"') WHERE chain = $1 AND seq = 5`);
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

  test('the patient and recorded columns must say what the hashed payload says', async () => {
    await tamper(`UPDATE audit_event SET patient = 'p-99' WHERE chain = $1 AND seq = 3`);
    await tamper(`UPDATE audit_event SET recorded = recorded - interval '1 day' WHERE chain = $1 AND seq = 9`);
    const result = await verify();
    assert.deepEqual(kinds(result.problems), ['column-mismatch@3', 'column-mismatch@9']);
    assert.match(result.problems[0]!.detail, /patient/);
    assert.match(result.problems[1]!.detail, /recorded/);
  });

  test('a record rewritten with its hash recomputed by plain sha256 is found, and so is the next link', async () => {
    await tamper(
      `UPDATE audit_event e SET payload = replace(payload, '"outcome":"0"', '"outcome":"4"'),
         hash = sha256((SELECT p.hash FROM audit_event p WHERE p.chain = e.chain AND p.seq = e.seq - 1)
           || convert_to(replace(payload, '"outcome":"0"', '"outcome":"4"'), 'UTF8'))
       WHERE chain = $1 AND seq = 7`,
    );
    assert.deepEqual(kinds((await verify()).problems), ['changed@7', 'changed@8']);
  });

  /** Changes record 5's outcome and recomputes every later link and the head with `link`, as an administrator would. */
  async function rewriteTail(link: (previous: string, payload: string) => string): Promise<void> {
    const rows = await db.query<{ seq: string; payload: string }>(`SELECT e.seq::text AS seq, e.payload FROM audit_event e WHERE e.chain = $1 AND e.seq >= 5 ORDER BY e.seq`, [chain]);
    const [previous] = await db.query<{ hash: string }>(`SELECT encode(hash, 'hex') AS hash FROM audit_event WHERE chain = $1 AND seq = 4`, [chain]);
    let hash = previous!.hash;
    for (const row of rows) {
      const payload = row.seq === '5' ? row.payload.replace('"outcome":"0"', '"outcome":"4"') : row.payload;
      hash = link(hash, payload);
      await tamper(`UPDATE audit_event SET payload = $3, hash = decode($4, 'hex') WHERE chain = $1 AND seq = $2::bigint`, [row.seq, payload, hash]);
    }
    await tamper(`UPDATE audit_head SET hash = decode($2, 'hex') WHERE chain = $1`, [hash]);
  }

  test('a tail rewritten head and all with plain sha256, or with a guessed key, is found without an anchor', async () => {
    await rewriteTail(plainLink);
    assert.deepEqual(kinds((await verify()).problems), changed(5, 12));
    const guessed = AuditKey.generate();
    await rewriteTail((previous, payload) => guessed.link(previous, payload));
    assert.deepEqual(kinds((await verify()).problems), changed(5, 12));
  });

  test('another key verifies nothing, and the database refuses it on open', async () => {
    const other = AuditKey.generate();
    const result = await verify({ key: other });
    assert.equal(result.problems.filter((p) => p.kind === 'seal-mismatch').length, AUDIT_CHAINS);
    assert.deepEqual(kinds(result.problems.filter((p) => p.kind !== 'seal-mismatch')), changed(1, 12));
    await assert.rejects(assertAuditKey(db, other), AuditKeyMismatch);
    await assertAuditKey(db, processAuditKey());
  });

  test('only whoever holds the key can rewrite a tail consistently; the anchor kept outside still finds it', async () => {
    const anchor = await auditHeads(db);
    const key = processAuditKey();
    await rewriteTail((previous, payload) => key.link(previous, payload));
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

  test('the anchor writer writes when a head moved: at start, at its interval and on stop, and not otherwise', async () => {
    const store = new FolderAnchorStore(await mkdtemp(join(tmpdir(), 'densaulyq-anchors-')));
    const files = async () => (await readdir(store.location)).length;
    try {
      const first = await startAnchorWriter({ db, store, seconds: 0, onError: (error) => assert.fail(error) });
      await first.stop();
      const quiet = await startAnchorWriter({ db, store, seconds: 0, onError: (error) => assert.fail(error) });
      await quiet.stop();
      assert.equal(await files(), 1, 'nothing moved: no second anchor');

      const ticking = await startAnchorWriter({ db, store, seconds: 1, onError: (error) => assert.fail(error) });
      await append(db, ['p-9']);
      for (let waited = 0; (await files()) < 2 && waited < 5000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(await files(), 2, 'the interval anchored the moved head');
      await append(db, ['p-10']);
      await ticking.stop();
      assert.equal(await files(), 3, 'stopping anchored the last head');
      assert.deepEqual((await store.latest())!.heads, await auditHeads(db));
    } finally {
      await rm(store.location, { recursive: true, force: true });
    }
  });

  test('records written before the key existed stay bound to it through the sealed keyed start', async () => {
    const key = processAuditKey();
    // An upgraded database: three plain links, sealed where the key took over, then keyed links.
    const legacy = await db.transaction(async (tx) => {
      await resetChains(tx);
      const [row] = await tx.query<{ chain: number; genesis: string }>(
        `SELECT h.chain, encode(h.hash, 'hex') AS genesis FROM audit_head h WHERE h.chain = pg_backend_pid() % ${AUDIT_CHAINS}`,
      );
      const legacyChain = Number(row!.chain);
      let hash = row!.genesis;
      for (let seq = 1; seq <= 3; seq++) {
        const recorded = new Date((clock += 1000)).toISOString();
        const payload = auditEventPayload({ ...base, patient: `p-${seq}`, recorded, entities: [`Patient/p-${seq}`] });
        hash = plainLink(hash, payload);
        await tx.query(`INSERT INTO audit_event (chain, seq, recorded, patient, hash, payload) VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6)`, [legacyChain, seq, recorded, `p-${seq}`, hash, payload]);
      }
      await tx.query(`UPDATE audit_head SET seq = 3, hash = decode($2, 'hex') WHERE chain = $1`, [legacyChain, hash]);
      await tx.query(`UPDATE audit_keyed_from SET seq = 3, hash = decode($2, 'hex'), seal = decode($3, 'hex') WHERE chain = $1`, [legacyChain, hash, key.seal(legacyChain, 3, hash)]);
      await append(tx, ['p-4', 'p-5']);
      return legacyChain;
    });
    const intact = await verify();
    assert.deepEqual(intact.problems, []);
    assert.equal(intact.records, 5);

    // Rewriting a plain record and its plain successors breaks the sealed link.
    const rows = await db.query<{ payload: string }>(`SELECT payload FROM audit_event WHERE chain = $1 AND seq <= 3 ORDER BY seq`, [legacy]);
    let hash = createHash('sha256').update(`densaulyq-audit-chain:${legacy}`).digest('hex');
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
    await db.query(`INSERT INTO audit_event (chain, seq, recorded, patient, hash, payload) VALUES (99, 1, now(), NULL, '\\x00', '{}')`);
    for (const seq of [2, 4, 6]) await tamper(`UPDATE audit_event SET patient = 'p-99' WHERE chain = $1 AND seq = $2`, [seq]);
    const result = await verify({ maxProblems: 2 });
    assert.equal(result.problemCount, 7);
    assert.deepEqual(kinds(result.problems), ['column-mismatch@2', 'column-mismatch@4']);
    assert.equal(result.chains, AUDIT_CHAINS + 1);
    const all = await verify();
    assert.deepEqual(all.problems.filter((p) => p.chain === 99).map((p) => p.kind).sort(), ['changed', 'column-mismatch', 'head-mismatch', 'seal-mismatch']);
  });

  test('20 appends in parallel transactions leave valid chains', async (t) => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => db.transaction((tx) => append(tx, [`p-${i}`, `q-${i}`]))));
    const result = await verify();
    assert.deepEqual(result.problems, []);
    assert.equal(result.records, 12 + 40);
    const used = await db.query(`SELECT DISTINCT chain FROM audit_event`);
    t.diagnostic(`${used.length} chain(s) used`);
  });

  test('a session that was not given the key cannot append', { skip: driver.name !== 'postgres' && 'needs a second PostgreSQL session' }, async () => {
    const [database] = await db.query<{ name: string }>(`SELECT current_database() AS name`);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${database!.name}`;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const session: SqlClient = { query: async (text, params) => (await client.query(text, params as unknown[])).rows };
      await assert.rejects(append(session, ['p-x']), /unrecognized configuration parameter "densaulyq\.audit_/);
      await keyAuditSession(session, processAuditKey());
      await append(session, ['p-x']);
      assert.deepEqual((await verify()).problems, []);
    } finally {
      await client.end();
    }
  });

  /** Two PostgreSQL sessions of their own on one chain (a session appends to chain pid % AUDIT_CHAINS). */
  async function sessionsOnOneChain() {
    const [database] = await db.query<{ name: string }>(`SELECT current_database() AS name`);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${database!.name}`;
    const connect = async () => {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      const { rows } = await client.query<{ chain: number }>(`SELECT pg_backend_pid() % ${AUDIT_CHAINS} AS chain`);
      const session: SqlClient = { query: async (text, params) => (await client.query(text, params as unknown[])).rows };
      await keyAuditSession(session, processAuditKey());
      return { client, session, chain: rows[0]!.chain };
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
        await first.client.query('BEGIN');
        await append(first.session, patients);
      },
      second: (patients: string[]) => append(second.session, patients),
      commitFirst: () => first.client.query('COMMIT').then(() => undefined),
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
            await append(tx, patients);
            appended();
            await new Promise<void>((resolve) => (commit = resolve));
          });
          held.catch(failed);
        }),
      second: (patients: string[]) => db.transaction((tx) => append(tx, patients)),
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

  test('two writers on the same chain append one after the other (the head row lock)', async () => {
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
      const [head] = await db.query<{ seq: string }>(`SELECT seq::text AS seq FROM audit_head WHERE chain = $1`, [writers.chain]);
      assert.equal(Number(head!.seq), (writers.chain === chain ? 12 : 0) + 2);
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
