import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { copyRow, copyTextArray } from '../../src/store/copy-text.js';
import type { Database } from '../../src/store/driver.js';
import { testDrivers } from '../support/database.js';

for (const driver of testDrivers()) describe(`COPY FROM in a transaction (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  before(async () => {
    db = await driver.open();
    await db.query(`CREATE TABLE copy_check (label text, words text[], flag boolean, amount numeric, at timestamptz)`);
  });
  after(() => db.close());

  test('values with tabs, newlines, backslashes, quotes and NULL arrive as they were', async () => {
    const rows = [
      ['tab\there', ['null', 'NULL', 'a"b', 'c\\d', 'қант'], true, '1.50', '2021-04-30T10:00:00.000Z'],
      ['line\nbreak\r\\end', [], false, null, null],
      [null, ['{}', 'x,y'], null, '-0.010', '2020-02-29T23:59:59.000Z'],
    ] as const;
    await db.transaction(async (tx) => {
      assert.ok(tx.copyFrom, `${driver.name} has COPY in a transaction`);
      await tx.copyFrom('copy_check', ['label', 'words', 'flag', 'amount', 'at'], rows.map(([l, w, f, a, t]) => copyRow([l, copyTextArray(w), f, a, t])).join(''));
    });
    const read = await db.query<{ label: string | null; words: string[]; flag: boolean | null; amount: string | null; at: string | null }>(
      `SELECT label, words, flag, amount::text AS amount, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM copy_check ORDER BY amount NULLS FIRST`,
    );
    assert.deepEqual(
      read.map((r) => [r.label, r.words, r.flag, r.amount, r.at]),
      [rows[1], rows[2], rows[0]].map((r) => [...r].map((v) => (Array.isArray(v) ? [...v] : v))),
    );
  });

  test('a COPY in a transaction that then fails leaves nothing behind', async () => {
    const count = async () => (await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM copy_check`))[0]!.n;
    const before = await count();
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.copyFrom!('copy_check', ['label'], copyRow(['rolled back']));
        await tx.query(`SELECT 1/0`);
      }),
    );
    assert.equal(await count(), before);
  });
});
