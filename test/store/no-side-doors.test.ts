import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';

/**
 * One door (docs/architecture.md): clinical data, its indexes, the audit trail, the duplicates
 * work list and export jobs are reached only through the store, which folds the caller's access
 * into every query. This walks src/ and fails on a side door: SQL naming those tables outside
 * src/store/, a Repository's database handle taken outside it, or the platform's unrestricted
 * access asked for under any but a narrowly named capability of src/access/door.ts.
 */

const ROOT = join(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

/** The tables behind the door: resources, their versions and indexes, access facts, audit, work list, bulk jobs. */
const GUARDED_TABLE = String.raw`(?:resource|resource_version|search_[a-z_]+|care_[a-z_]+|consent_rule|audit_[a-z_]+|duplicate_candidate|bulk_[a-z_]+|hl7v2_message)`;
/** SQL that reads or writes a table: the keyword before its name (the codebase writes SQL keywords in capitals). */
const TABLE_SQL = new RegExp(String.raw`\b(?:FROM|JOIN|INTO|UPDATE|TABLE|USING)\s+(?:ONLY\s+)?${GUARDED_TABLE}\b`);

/**
 * Outside src/store/, only the door itself names these tables: its rules ARE the SQL conditions
 * (AccessPolicy.visible, auditBasis) the Repository folds into its own queries; it runs none on them.
 */
const SQL_ALLOWED = new Set(['src/access/door.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((path) => relative(ROOT, path).split('\\').join('/'));
const outsideStore = (file: string) => !file.startsWith('src/store/');

/** The text of every string and template literal in a source file (comments are not SQL). */
function literals(fileName: string, text: string): { line: number; text: string }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const found: { line: number; text: string }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      found.push({ line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1, text: node.text });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `file:line` of each literal holding SQL on a guarded table. */
function tableSql(fileName: string, text: string): string[] {
  return literals(fileName, text)
    .filter((literal) => TABLE_SQL.test(literal.text))
    .map((literal) => `${fileName}:${literal.line}`);
}

describe('no side doors to clinical data', () => {
  test('the scan recognises SQL on a guarded table, and only SQL', () => {
    const sample = [
      'const a = `SELECT content FROM resource WHERE id = $1`;',
      "const b = 'INSERT INTO duplicate_candidate (patient_a) VALUES ($1)';",
      'const c = `DELETE FROM bulk_output WHERE job_id = ${id}`;',
      '// SELECT 1 FROM audit_event in a comment is not SQL',
      "const d = 'Patient resources from the registry';",
      "const e = 'SELECT 1 FROM app_user';",
    ].join('\n');
    assert.deepEqual(tableSql('sample.ts', sample), ['sample.ts:1', 'sample.ts:2', 'sample.ts:3']);
  });

  test('SQL on resource, index, access-fact, audit, work-list and bulk tables appears only in src/store/', () => {
    const found = files
      .filter((file) => outsideStore(file) && !SQL_ALLOWED.has(file))
      .flatMap((file) => tableSql(file, readFileSync(join(ROOT, file), 'utf8')));
    assert.deepEqual(found, [], 'move these queries into src/store/, behind Repository methods that take the caller access');
  });

  test("the platform's unrestricted access is asked for only under a named capability", async () => {
    const door = await import('../../src/access/door.js');
    for (const name of ['platformAccess', 'PLATFORM_CONTEXT']) assert.ok(!(name in door), `src/access/door.ts exports ${name}`);
    const platform = { role: 'platform', subject: 'anyone', clientId: 'anything', scopes: [], purposeOfUse: 'HOPERAT' } as const;
    assert.throws(() => door.accessPolicy(platform), /named capabilities/, 'nor is it built from an AccessContext naming the platform');
    const mentions = files.filter((file) => /\b(?:platformAccess|PLATFORM_CONTEXT)\b/.test(readFileSync(join(ROOT, file), 'utf8')));
    assert.deepEqual(mentions, ['src/access/door.ts']);
  });

  test("no Repository's database handle is used outside src/store/ and src/access/", () => {
    const config = ts.parseJsonConfigFileContent(ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, ROOT);
    const program = ts.createProgram(
      files.map((file) => join(ROOT, file)),
      config.options,
    );
    const checker = program.getTypeChecker();
    const uses: string[] = [];
    for (const file of files.filter((f) => outsideStore(f) && !f.startsWith('src/access/'))) {
      const source = program.getSourceFile(join(ROOT, file))!;
      const visit = (node: ts.Node) => {
        const handle =
          (ts.isPropertyAccessExpression(node) && node.name.text === 'db') ||
          (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && node.argumentExpression.text === 'db');
        if (handle && checker.getTypeAtLocation(node.expression).getSymbol()?.getName() === 'Repository') {
          uses.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    assert.deepEqual(uses, []);
  });
});
