import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { densaulyq } from '../support/cli.js';
import { type ProcessDatabase, testDrivers } from '../support/database.js';


for (const driver of testDrivers()) describe(`the densaulyq command line (${driver.name})`, { skip: driver.skip }, () => {
  let dir: string;
  const databases: Partial<Record<'db' | 'db2', ProcessDatabase>> = {};
  /** A deployment's environment: its DATA_DIR and, on PostgreSQL, a database of its own. */
  const at = (name: 'db' | 'db2') => ({ DATA_DIR: join(dir, name), ...databases[name]!.env });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-cli-'));
    databases.db = await driver.createForProcess();
    databases.db2 = await driver.createForProcess();
  });
  after(async () => {
    await Promise.all(Object.values(databases).map((database) => database.drop()));
    await rm(dir, { recursive: true, force: true });
  });

  test('help lists the commands; an unknown command exits 2', async () => {
    const help = await densaulyq(['help']);
    assert.equal(help.code, 0);
    for (const command of ['serve', 'generate', 'import', 'export', 'reindex', 'client add', 'user add', 'token']) assert.match(help.stdout, new RegExp(`\\b${command}\\b`));
    const unknown = await densaulyq(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown command/);
  });

  test('generate writes NDJSON per type and reports counts; import loads it and re-import writes nothing', async () => {
    const out = join(dir, 'population');
    const generated = await densaulyq(['generate', '--patients', '10', '--seed', '5', '--out', out]);
    assert.equal(generated.code, 0, generated.stderr);
    assert.match(generated.stdout, /Patient\s+10\b/);
    const files = (await readdir(out)).sort();
    assert.ok(files.includes('Patient.ndjson') && files.includes('Observation.ndjson'), files.join());
    const env = at('db');
    const report = join(dir, 'report.ndjson');
    const imported = await densaulyq(['import', out, '--report', report], env);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /rejected 0/);
    const again = await densaulyq(['import', out, '--report', report], env);
    assert.match(again.stdout, /written 0, unchanged \d+, rejected 0/);
  });

  test('export writes what was imported, one NDJSON file per type, the same resources', async () => {
    const out = join(dir, 'exported');
    const result = await densaulyq(['export', '--out', out], at('db'));
    assert.equal(result.code, 0, result.stderr);
    const source = join(dir, 'population');
    // The round trip generate → import → export gives back the same resources, apart from the server's meta.
    const byId = (text: string) =>
      new Map(text.trim().split('\n').map((line) => {
        const { meta: _meta, ...resource } = JSON.parse(line);
        return [resource.id as string, resource];
      }));
    for (const file of await readdir(source)) {
      assert.deepEqual(byId(await readFile(join(out, file), 'utf8')), byId(await readFile(join(source, file), 'utf8')), file);
    }
    const typed = await densaulyq(['export', '--out', join(dir, 'patients'), '--type', 'Patient'], at('db'));
    assert.equal(typed.code, 0, typed.stderr);
    assert.deepEqual(await readdir(join(dir, 'patients')), ['Patient.ndjson']);
    assert.equal((await densaulyq(['export', '--out', join(dir, 'x'), '--type', 'Nonsense'], at('db'))).code, 2);
  });

  test('an import with broken lines exits 1 and writes each to the report with its line number', async () => {
    const file = join(dir, 'broken.ndjson');
    await writeFile(file, ['{"resourceType":"Basic","id":"ok-1","code":{"text":"x"}}', 'not json', '{"resourceType":"Basic","code":{"text":"no id"}}'].join('\n'));
    const report = join(dir, 'broken-report.ndjson');
    const result = await densaulyq(['import', file, '--report', report], at('db2'));
    assert.equal(result.code, 1);
    assert.match(result.stdout, /written 1, unchanged 0, rejected 2/);
    const lines = (await readFile(report, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.line), [2, 3]);
    assert.equal(lines[0].outcome.resourceType, 'OperationOutcome');
  });

  test('reindex rebuilds the search index of every resource with a progress report', async () => {
    const env = at('db');
    const result = await densaulyq(['reindex'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Reindexed [\d,]+ resources/);
  });

  test('user add, client add and token: a token for scripts, verifiable by the server', async () => {
    const env = at('db');
    const user = await densaulyq(['user', 'add', '--username', 'cli-clinician', '--role', 'clinician', '--organization', 'org-1'], env);
    assert.equal(user.code, 0, user.stderr);
    assert.match(user.stdout, /^cli-clinician\s+\S{12,}/);
    const duplicate = await densaulyq(['user', 'add', '--username', 'cli-clinician', '--role', 'clinician'], env);
    assert.equal(duplicate.code, 2);
    const client = await densaulyq(['client', 'add', '--name', 'Polyclinic MIS', '--organization', 'org-1', '--redirect-uri', 'http://127.0.0.1:9/cb'], env);
    assert.equal(client.code, 0, client.stderr);
    assert.ok(JSON.parse(client.stdout).client_id);
    const token = await densaulyq(['token', '--user', 'cli-clinician'], env);
    assert.equal(token.code, 0, token.stderr);
    const [, payload] = token.stdout.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    assert.equal(claims.role, 'clinician');
    assert.equal(claims.organization, 'org-1');
    assert.match(claims.scope, /user\/\*\.cruds/);
    const short = await densaulyq(['token', '--user', 'cli-clinician', '--ttl', '5'], env);
    const shortClaims = JSON.parse(Buffer.from(short.stdout.trim().split('.')[1]!, 'base64url').toString('utf8'));
    assert.equal(shortClaims.exp - shortClaims.iat, 300, '--ttl is in minutes');
    assert.equal((await densaulyq(['token', '--user', 'cli-clinician', '--ttl', '0'], env)).code, 2);
  });

  test('client add --jwks takes a jose RS384 key set; a client acting for an organization waits for its administrator', async () => {
    const env = at('db');
    const { publicKey } = await generateKeyPair('RS384', { extractable: true });
    const jwks = join(dir, 'rs384.json');
    await writeFile(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'lab-1' }] }));
    const pending = await densaulyq(['client', 'add', '--name', 'Lab system', '--organization', 'org-9', '--jwks', jwks], env);
    assert.equal(pending.code, 0, pending.stderr);
    const registered = JSON.parse(pending.stdout);
    assert.equal(registered.token_endpoint_auth_signing_alg, 'RS384');
    assert.equal(registered.registration_state, 'pending');
    const refused = await densaulyq(['token', '--client', registered.client_id], env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /organization org-9, whose administrator has not approved it/);

    assert.equal((await densaulyq(['client', 'add', '--name', 'Lab system', '--organization', 'org-9', '--jwks', jwks, '--approved-by', 'cli-clinician'], env)).code, 2);
    assert.equal((await densaulyq(['user', 'add', '--username', 'cli-org-9-admin', '--role', 'organization-administrator', '--organization', 'org-9'], env)).code, 0);
    const approved = await densaulyq(['client', 'add', '--name', 'Lab system', '--organization', 'org-9', '--jwks', jwks, '--approved-by', 'cli-org-9-admin'], env);
    assert.equal(approved.code, 0, approved.stderr);
    const client = JSON.parse(approved.stdout);
    assert.equal(client.registration_state, 'approved');
    assert.equal(client.approved_by, 'cli-org-9-admin');
    const token = await densaulyq(['token', '--client', client.client_id], env);
    assert.equal(token.code, 0, token.stderr);
    assert.equal(JSON.parse(Buffer.from(token.stdout.trim().split('.')[1]!, 'base64url').toString('utf8')).organization, 'org-9');
  });

  test('clinical access is granted to administrators only', async () => {
    const env = at('db');
    assert.equal((await densaulyq(['user', 'add', '--username', 'cli-nosy', '--role', 'clinician', '--clinical-access'], env)).code, 2);
    const granted = await densaulyq(['user', 'add', '--username', 'cli-privacy-officer', '--role', 'administrator', '--clinical-access'], env);
    assert.equal(granted.code, 0, granted.stderr);
  });

  test('generate without its options is a usage error', async () => {
    const result = await densaulyq(['generate', '--patients', 'many']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--patients/);
  });
});
