import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/store/driver.js';
import { splitStatements } from '../../src/store/sql-statements.js';
import { testDrivers } from '../support/database.js';

/** A migration as someone would write one: every `;` that is not a statement's end in a different place. */
const SCRIPT = `
  -- a comment; with a semicolon
  CREATE TABLE migration_probe (note text NOT NULL DEFAULT 'a; b', "odd;name" text);
  /* block; comment /* nested; */ still; comment */
  CREATE FUNCTION migration_probe_note(n integer) RETURNS text LANGUAGE plpgsql AS $$
  DECLARE
    result text;
  BEGIN
    result := 'n=' || n || ';';
    RETURN result;
  END
  $$;
  CREATE FUNCTION migration_probe_tagged() RETURNS text LANGUAGE sql AS $body$ SELECT 'x;y' $body$;
  INSERT INTO migration_probe (note, "odd;name") VALUES ('it''s; fine', E'back\\'slash; too');
  -- trailing note; no statement
`;

describe('migration scripts split into statements', () => {
  it('ends statements only at a ; outside strings, identifiers, dollar quotes and comments', () => {
    const statements = splitStatements(SCRIPT);
    assert.equal(statements.length, 4);
    assert.match(statements[0]!, /^-- a comment; with a semicolon\n\s*CREATE TABLE migration_probe .*"odd;name" text\)$/);
    assert.match(statements[1]!, /^\/\* block; comment \/\* nested; \*\/ still; comment \*\/\s+CREATE FUNCTION migration_probe_note[\s\S]*END\n\s*\$\$$/);
    assert.match(statements[2]!, /\$body\$ SELECT 'x;y' \$body\$$/);
    assert.match(statements[3]!, /^INSERT INTO migration_probe .*E'back\\'slash; too'\)$/);
  });

  it('keeps $1 parameters and identifiers with $ apart from dollar quotes', () => {
    assert.deepEqual(splitStatements('SELECT $1::text AS a$b; SELECT 2'), ['SELECT $1::text AS a$b', 'SELECT 2']);
  });

  it('refuses an unterminated string, dollar quote or comment instead of running half a script', () => {
    assert.throws(() => splitStatements(`SELECT 'open; SELECT 2`), /unterminated '/);
    assert.throws(() => splitStatements('DO $$ BEGIN; SELECT 2'), /unterminated dollar-quoted/);
    assert.throws(() => splitStatements('/* /* */ SELECT 1'), /unterminated \/\*/);
  });
});

for (const driver of testDrivers()) {
  describe(`a migration with ; in strings and function bodies (${driver.name})`, { skip: driver.skip }, () => {
    let db: Database;
    before(async () => {
      db = await driver.open();
    });
    after(() => db?.close());

    it('runs as written, in one transaction', async () => {
      await db.transaction(async (tx) => {
        for (const statement of splitStatements(SCRIPT)) await tx.query(statement);
      });
      const [row] = await db.query<{ note: string; odd: string; numbered: string; tagged: string }>(
        `SELECT note, "odd;name" AS odd, migration_probe_note(7) AS numbered, migration_probe_tagged() AS tagged FROM migration_probe`,
      );
      assert.deepEqual(row, { note: "it's; fine", odd: "back'slash; too", numbered: 'n=7;', tagged: 'x;y' });
    });
  });
}
