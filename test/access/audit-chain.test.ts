import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import { type AuditInput, auditEventPayload } from '../../src/access/audit-event.js';
import { type AuditProblem, auditHeads, headsDigest, verifyAuditChain } from '../../src/access/audit-verify.js';
import { AUDIT_CHAINS, appendAuditSql } from '../../src/store/audit-chain.js';
import type { Database, SqlClient } from '../../src/store/driver.js';
import { driverName, openTestDatabase } from '../support/database.js';

const base: Omit<AuditInput, 'patient' | 'recorded'> = {
  action: 'R',
  interaction: 'read',
  outcome: '0',
  breakGlass: false,
  context: { role: 'clinician', subject: 'account-7', clientId: 'mis', fhirUser: 'Practitioner/9', organization: 'org-1', scopes: [], purposeOfUse: 'TREAT', address: '10.0.0.1' },
};

let clock = Date.UTC(2026, 0, 1);
/** Appends one audit record per patient in one statement, as the door does. */
async function append(client: SqlClient, patients: string[]): Promise<void> {
  const recorded = patients.map(() => new Date((clock += 1000)).toISOString());
  const payloads = patients.map((patient, i) => auditEventPayload({ ...base, patient, recorded: recorded[i]!, entities: [`Patient/${patient}`] }));
  await client.query(appendAuditSql(), [patients, recorded, payloads]);
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

describe(`the audit hash chain and its verification (${driverName})`, () => {
  let db: Database;
  let chain: number;
  before(async () => {
    db = await openTestDatabase();
  });
  after(() => db.close());
  beforeEach(async () => {
    await db.query(`DELETE FROM audit_event`);
    await db.query(`UPDATE audit_head SET seq = 0, hash = sha256(convert_to('densaulyq-audit-chain:' || chain, 'UTF8'))`);
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

  test('a record rewritten with its hash recomputed breaks the link to the next record', async () => {
    await tamper(
      `UPDATE audit_event e SET payload = replace(payload, '"outcome":"0"', '"outcome":"4"'),
         hash = sha256((SELECT p.hash FROM audit_event p WHERE p.chain = e.chain AND p.seq = e.seq - 1)
           || convert_to(replace(payload, '"outcome":"0"', '"outcome":"4"'), 'UTF8'))
       WHERE chain = $1 AND seq = 7`,
    );
    assert.deepEqual(kinds((await verify()).problems), ['changed@8']);
  });

  test('a tail rewritten head and all is consistent in itself; only an anchor kept outside finds it', async () => {
    const anchor = await auditHeads(db);
    const rows = await db.query<{ seq: string; payload: string }>(`SELECT e.seq::text AS seq, e.payload FROM audit_event e WHERE e.chain = $1 AND e.seq >= 5 ORDER BY e.seq`, [chain]);
    const [previous] = await db.query<{ hash: string }>(`SELECT encode(hash, 'hex') AS hash FROM audit_event WHERE chain = $1 AND seq = 4`, [chain]);
    let hash = Buffer.from(previous!.hash, 'hex');
    for (const row of rows) {
      const payload = row.seq === '5' ? row.payload.replace('"outcome":"0"', '"outcome":"4"') : row.payload;
      hash = createHash('sha256').update(hash).update(payload, 'utf8').digest();
      await tamper(`UPDATE audit_event SET payload = $3, hash = decode($4, 'hex') WHERE chain = $1 AND seq = $2::bigint`, [row.seq, payload, hash.toString('hex')]);
    }
    await tamper(`UPDATE audit_head SET hash = decode($2, 'hex') WHERE chain = $1`, [hash.toString('hex')]);
    assert.deepEqual((await verify()).problems, []);
    const anchored = await verify({ anchor });
    assert.deepEqual(kinds(anchored.problems), ['changed@12']);
    assert.notEqual(anchored.headDigest, headsDigest(anchor));
  });

  test('records of a chain with no head are reported; the listing stops at maxProblems but the count goes on', async () => {
    await db.query(`INSERT INTO audit_event (chain, seq, recorded, patient, hash, payload) VALUES (99, 1, now(), NULL, '\\x00', '{}')`);
    for (const seq of [2, 4, 6]) await tamper(`UPDATE audit_event SET patient = 'p-99' WHERE chain = $1 AND seq = $2`, [seq]);
    const result = await verify({ maxProblems: 2 });
    assert.equal(result.problemCount, 6);
    assert.deepEqual(kinds(result.problems), ['column-mismatch@2', 'column-mismatch@4']);
    assert.equal(result.chains, AUDIT_CHAINS + 1);
    const all = await verify();
    assert.deepEqual(all.problems.filter((p) => p.chain === 99).map((p) => p.kind).sort(), ['changed', 'column-mismatch', 'head-mismatch']);
  });

  test('20 appends in parallel transactions leave valid chains', async (t) => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => db.transaction((tx) => append(tx, [`p-${i}`, `q-${i}`]))));
    const result = await verify();
    assert.deepEqual(result.problems, []);
    assert.equal(result.records, 12 + 40);
    const used = await db.query(`SELECT DISTINCT chain FROM audit_event`);
    t.diagnostic(`${used.length} chain(s) used`);
  });

  test('two sessions on the same chain append one after the other (the head row lock)', { skip: driverName !== 'postgres' && 'needs PostgreSQL sessions' }, async () => {
    const [database] = await db.query<{ name: string }>(`SELECT current_database() AS name`);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${database!.name}`;
    // Sessions pick their chain by backend pid, and new backends take rising pids: connect
    // until one lands on the first session's chain.
    const connect = async () => {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      const { rows } = await client.query<{ chain: number }>(`SELECT pg_backend_pid() % ${AUDIT_CHAINS} AS chain`);
      const session: SqlClient = { query: async (text, params) => (await client.query(text, params as unknown[])).rows };
      return { client, session, chain: rows[0]!.chain };
    };
    const first = await connect();
    let second = await connect();
    try {
      for (let attempt = 0; second.chain !== first.chain && attempt < 1000; attempt++) {
        await second.client.end();
        second = await connect();
      }
      assert.equal(second.chain, first.chain, 'no session landed on the same chain');
      await first.client.query('BEGIN');
      await append(first.session, ['p-a']);
      let secondDone = false;
      const waiting = append(second.session, ['p-b']).then(() => (secondDone = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(secondDone, false, 'the second session waits for the head row');
      await first.client.query('COMMIT');
      await waiting;
      assert.deepEqual((await verify()).problems, []);
      const [head] = await db.query<{ seq: string }>(`SELECT seq::text AS seq FROM audit_head WHERE chain = $1`, [first.chain]);
      assert.equal(Number(head!.seq), (first.chain === chain ? 12 : 0) + 2);
    } finally {
      await Promise.all([first.client.end(), second.client.end()]);
    }
  });
});
