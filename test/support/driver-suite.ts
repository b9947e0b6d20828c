import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Database, type SqlClient, MAX_TRANSACTION_ATTEMPTS } from '../../src/store/driver.js';

/**
 * A meeting point for `parties` concurrent transactions. Each waits until all have arrived, or
 * until `ms` pass: on PGlite the others cannot arrive while one transaction holds the database.
 * `met` says whether they all did arrive while the first was still waiting.
 */
function rendezvous(parties: number, ms = 1000) {
  let arrived = 0;
  let waitedInVain = false;
  let open!: () => void;
  const everyone = new Promise<void>((resolve) => (open = resolve));
  const state = { met: false };
  return Object.assign(state, {
    async arrive() {
      arrived += 1;
      if (arrived === parties) {
        state.met = !waitedInVain;
        open();
      }
      await Promise.race([everyone, sleep(ms).then(() => (waitedInVain = true))]);
    },
  });
}

/** Raises an error with this SQLSTATE inside the database, as PostgreSQL raises its own. */
const raise = (tx: SqlClient, sqlstate: string) => tx.query(`DO $$ BEGIN RAISE EXCEPTION 'raised by the driver suite' USING ERRCODE = '${sqlstate}'; END $$`);

/**
 * The contract of src/store/driver.ts, run against a driver: `open` gives a fresh database of
 * its own. Both drivers must pass it (PGlite runs transactions one at a time, PostgreSQL
 * interleaves them; what differs is stated in the test).
 */
export function runDriverSuite(open: () => Promise<Database>): void {
  let db: Database;
  before(async () => {
    db = await open();
    await db.query(`CREATE TABLE driver_suite_row (id text PRIMARY KEY, n integer NOT NULL DEFAULT 0)`);
  });
  after(() => db.close());
  beforeEach(() => db.query(`DELETE FROM driver_suite_row`));

  const rows = async () => (await db.query<{ id: string; n: number }>(`SELECT id, n FROM driver_suite_row ORDER BY id`)).map((r) => `${r.id}=${r.n}`);
  const insert = (tx: SqlClient, id: string, n = 0) => tx.query(`INSERT INTO driver_suite_row (id, n) VALUES ($1, $2)`, [id, n]);

  test('a transaction commits when its work resolves and returns what the work returned', async () => {
    const result = await db.transaction(async (tx) => {
      await insert(tx, 'a');
      await insert(tx, 'b');
      return 'done';
    });
    assert.equal(result, 'done');
    assert.deepEqual(await rows(), ['a=0', 'b=0']);
  });

  test('a transaction rolls back everything when its work throws, and rethrows that error', async () => {
    const failure = new Error('the work failed');
    await assert.rejects(
      db.transaction(async (tx) => {
        await insert(tx, 'a');
        throw failure;
      }),
      (error) => error === failure,
    );
    assert.deepEqual(await rows(), []);
  });

  test('an error from the database that is not a serialization failure or deadlock is not retried', async () => {
    let attempts = 0;
    await assert.rejects(
      db.transaction(async (tx) => {
        attempts += 1;
        await insert(tx, 'a');
        await insert(tx, 'a');
      }),
      { code: '23505' },
    );
    assert.equal(attempts, 1);
    assert.deepEqual(await rows(), []);
  });

  for (const [sqlstate, what] of [
    ['40001', 'a serialization failure'],
    ['40P01', 'a deadlock'],
  ] as const) {
    test(`${what} (${sqlstate}) runs the work again; only the attempt that succeeds is kept`, async () => {
      let attempts = 0;
      await db.transaction(async (tx) => {
        attempts += 1;
        await insert(tx, `attempt-${attempts}`);
        if (attempts < 3) await raise(tx, sqlstate);
      });
      assert.equal(attempts, 3);
      assert.deepEqual(await rows(), ['attempt-3=0']);
    });
  }

  test('a statement the work sent and did not wait for is part of the transaction: committed with it, or failing it', async () => {
    // Not awaited, and not the last: the work returns before either answer is in.
    assert.equal(
      await db.transaction(async (tx) => {
        void insert(tx, 'sent');
        void insert(tx, 'also-sent', 2);
        return 'returned';
      }),
      'returned',
    );
    assert.deepEqual(await rows(), ['also-sent=2', 'sent=0']);
    await db.query(`DELETE FROM driver_suite_row`);
    let attempts = 0;
    await assert.rejects(
      db.transaction(async (tx) => {
        attempts += 1;
        await insert(tx, 'first');
        void insert(tx, 'first');
      }),
      { code: '23505' },
      'the failure of a statement no one awaited is the transaction’s',
    );
    assert.equal(attempts, 1);
    assert.deepEqual(await rows(), [], 'nothing of it was committed');
  });

  test('a work that hears only that its transaction was aborted (25P02) is reported with the failure that aborted it, and retried if that one may be', async () => {
    let attempts = 0;
    await db.transaction(async (tx) => {
      attempts += 1;
      await insert(tx, `attempt-${attempts}`);
      if (attempts < 2) void raise(tx, '40001');
      // Refused with 25P02 on the first attempt: the raise before it aborted the transaction.
      await tx.query(`SELECT 1`);
    });
    assert.equal(attempts, 2);
    assert.deepEqual(await rows(), ['attempt-2=0']);
    await assert.rejects(
      db.transaction(async (tx) => {
        void insert(tx, 'a');
        void insert(tx, 'a');
        await tx.query(`SELECT 1`);
      }),
      { code: '23505' },
    );
  });

  test(`work that keeps failing to serialize gives up after ${MAX_TRANSACTION_ATTEMPTS} attempts with the database's error`, async () => {
    let attempts = 0;
    await assert.rejects(
      db.transaction(async (tx) => {
        attempts += 1;
        await raise(tx, '40001');
      }),
      { code: '40001' },
    );
    assert.equal(attempts, MAX_TRANSACTION_ATTEMPTS);
  });

  test('two serializable transactions that each read what the other writes end as if run one after the other', async () => {
    const meeting = rendezvous(2);
    let attempts = 0;
    const countThenInsert = (id: string) =>
      db.transaction(async (tx) => {
        attempts += 1;
        await tx.query('SET TRANSACTION ISOLATION LEVEL SERIALIZABLE');
        const [seen] = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM driver_suite_row`);
        await meeting.arrive();
        await insert(tx, id, seen!.n);
      });
    await Promise.all([countThenInsert('first'), countThenInsert('second')]);
    assert.deepEqual((await db.query<{ n: number }>(`SELECT n FROM driver_suite_row ORDER BY n`)).map((r) => r.n), [0, 1], 'one of them saw the other');
    assert.equal(meeting.met, db.kind === 'postgres', 'only a server runs the two at once');
    if (meeting.met) assert.ok(attempts >= 3, `the loser of the conflict was run again (${attempts} attempts)`);
  });

  test('two transactions that lock the same rows in opposite order both commit (the deadlock is retried)', async () => {
    await insert(db, 'a');
    await insert(db, 'b');
    const meeting = rendezvous(2);
    let attempts = 0;
    const bump = (first: string, second: string) =>
      db.transaction(async (tx) => {
        attempts += 1;
        await tx.query(`UPDATE driver_suite_row SET n = n + 1 WHERE id = $1`, [first]);
        await meeting.arrive();
        await tx.query(`UPDATE driver_suite_row SET n = n + 1 WHERE id = $1`, [second]);
      });
    await Promise.all([bump('a', 'b'), bump('b', 'a')]);
    assert.deepEqual(await rows(), ['a=2', 'b=2']);
    assert.equal(meeting.met, db.kind === 'postgres', 'only a server runs the two at once');
    if (meeting.met) assert.ok(attempts >= 3, `the deadlock's victim was run again (${attempts} attempts)`);
  });

  test('a prepared statement answers as the same SQL unprepared, for any parameters, in and out of transactions', async () => {
    await insert(db, 'a', 1);
    await insert(db, 'b', 2);
    const sql = `SELECT id FROM driver_suite_row WHERE n >= $1 ORDER BY id`;
    const prepared = (client: SqlClient, n: number) => client.query<{ id: string }>(sql, [n], { prepare: 'driver_suite_at_least' });
    // More calls than the pool has connections: each connection prepares it once, then reuses it.
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => prepared(db, i % 3)));
    answers.forEach((answer, i) => assert.deepEqual(answer.map((r) => r.id), i % 3 < 2 ? ['a', 'b'] : ['b']));
    assert.deepEqual(await prepared(db, 0), await db.query(sql, [0]));
    const inside = await db.transaction(async (tx) => {
      await insert(tx, 'c', 3);
      return (await prepared(tx, 3)).map((r) => r.id);
    });
    assert.deepEqual(inside, ['c'], 'the prepared statement sees the transaction’s own write');
    const other = await db.query<{ n: number }>(`SELECT n FROM driver_suite_row WHERE id = $1`, ['b'], { prepare: 'driver_suite_n_of' });
    assert.deepEqual(other, [{ n: 2 }]);
  });

  test('all statements of a transaction run in one session, in one transaction', async () => {
    const sessions = await db.transaction(async (tx) => {
      await tx.query(`SELECT set_config('driver_suite.mark', 'set here', true)`);
      const [first] = await tx.query<{ pid: number; mark: string }>(`SELECT pg_backend_pid() AS pid, current_setting('driver_suite.mark', true) AS mark`);
      await insert(tx, 'a');
      const [second] = await tx.query<{ pid: number; mark: string }>(`SELECT pg_backend_pid() AS pid, current_setting('driver_suite.mark', true) AS mark`);
      return [first!, second!];
    });
    assert.equal(sessions[0].pid, sessions[1].pid);
    assert.deepEqual([sessions[0].mark, sessions[1].mark], ['set here', 'set here']);
  });

  test('a transaction’s writes are invisible to other sessions until it commits, and gone after a rollback', async () => {
    let seenOutside: string[] | undefined;
    await assert.rejects(
      db.transaction(async (tx) => {
        await insert(tx, 'uncommitted');
        // On PostgreSQL another connection answers at once; on PGlite the query waits for this transaction to end.
        const outside = db.query<{ id: string }>(`SELECT id FROM driver_suite_row`).then((found) => (seenOutside = found.map((r) => r.id)));
        await Promise.race([outside, sleep(300)]);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    await sleep(0);
    assert.deepEqual(seenOutside ?? (await db.query(`SELECT id FROM driver_suite_row`)), []);
    assert.deepEqual(await rows(), []);
  });

  test('many concurrent transactions, more than the pool holds, each commit their own work', async () => {
    await insert(db, 'counter');
    const sessions = 40;
    const own = await Promise.all(
      Array.from({ length: sessions }, (_, i) =>
        db.transaction(async (tx) => {
          await insert(tx, `session-${String(i).padStart(2, '0')}`, i);
          await tx.query(`UPDATE driver_suite_row SET n = n + 1 WHERE id = 'counter'`);
          return (await tx.query<{ n: number }>(`SELECT n FROM driver_suite_row WHERE id = $1`, [`session-${String(i).padStart(2, '0')}`]))[0]!.n;
        }),
      ),
    );
    assert.deepEqual(own, Array.from({ length: sessions }, (_, i) => i));
    const all = await rows();
    assert.equal(all.length, sessions + 1);
    assert.equal(all[0], `counter=${sessions}`);
  });

  test('a transaction whose connection is lost rejects; the process lives on and later work gets sound connections', async (t) => {
    if (db.kind === 'pglite') return t.skip('PGlite runs inside this process: there is no connection to lose');
    // A lost connection must not surface as an uncaught exception: outside a test runner that ends the process.
    const uncaught: unknown[] = [];
    const hear = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', hear);
    t.after(() => process.off('uncaughtException', hear));
    let lostPid = 0;
    await assert.rejects(
      db.transaction(async (tx) => {
        lostPid = (await tx.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`))[0]!.pid;
        await insert(tx, 'lost');
        await db.query(`SELECT pg_terminate_backend($1)`, [lostPid]);
        await tx.query(`SELECT 1`);
      }),
    );
    assert.deepEqual(await rows(), [], 'nothing of it was committed');
    assert.deepEqual(uncaught, []);
    const pids = await Promise.all(Array.from({ length: 40 }, () => db.transaction(async (tx) => (await tx.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`))[0]!.pid)));
    assert.ok(!pids.includes(lostPid), 'the lost connection was not handed out again');
    assert.equal(await db.transaction((tx) => insert(tx, 'after').then(() => 'committed')), 'committed');
    assert.deepEqual(await rows(), ['after=0']);
  });
}
