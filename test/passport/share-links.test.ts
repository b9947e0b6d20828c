import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { compactDecrypt } from 'jose';
import type { AccessContext } from '../../src/access/context.js';
import { accessPolicy, seedingAccess, shareLinkAccess } from '../../src/access/door.js';
import type { Locale } from '../../src/access/i18n.js';
import { parseScopes, resourceScopes } from '../../src/access/scopes.js';
import { isFhirError } from '../../src/fhir/outcome.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { type SummaryBuilder, createShareLink, listShareLinks, shareLinkManifest } from '../../src/passport/share-links.js';
import type { Database } from '../../src/store/driver.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';

const ORIGIN = 'https://densaulyq.example.kz';
const citizen: AccessContext = { role: 'citizen', subject: 'account-1', clientId: 'egov-app', fhirUser: 'Patient/sl-1', scopes: resourceScopes(parseScopes('user/*.rs')), purposeOfUse: 'PATRQT' };

/** A document of the patient's own Patient and Conditions, read through `repo`, with what it was asked for. */
const calls: { patient: string; locale: Locale; baseUrl: string }[] = [];
const builder: SummaryBuilder = async (repo, patientId, options) => {
  calls.push({ patient: patientId, ...options });
  const patient = JSON.parse((await repo.read('Patient', patientId)).json) as Resource;
  const conditions = (await repo.search(parseSearchRequest('Condition', [['patient', patientId]]))).entries.map((e) => JSON.parse(e.json) as Resource);
  const composition = { resourceType: 'Composition', id: 'c', status: 'final', type: { text: 'summary' }, date: '2026-01-01', author: [{ display: 'test' }], title: options.locale } as Resource;
  return { resourceType: 'Bundle', type: 'document', timestamp: '2026-01-01T00:00:00Z', entry: [composition, patient, ...conditions].map((resource) => ({ resource })) };
};

const setup = { builder, baseUrl: `${ORIGIN}/fhir`, origin: ORIGIN };
const linkPayload = (uri: string) => JSON.parse(Buffer.from(uri.slice('shlink:/'.length), 'base64url').toString('utf8'));

for (const driver of testDrivers()) describe(`share links in the passport domain (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  let repo: Repository;
  const holder = (link: string) => (recipient?: string) => new Repository(db, shareLinkAccess({ link, ...(recipient ? { recipient } : {}) }));
  before(async () => {
    db = await driver.open();
    const seed = new Repository(db, seedingAccess());
    await seed.update({ resourceType: 'Patient', id: 'sl-1', name: [{ family: 'Нұрланова' }] });
    await seed.update({ resourceType: 'Patient', id: 'sl-2', name: [{ family: 'Серікова' }] });
    await seed.update({ resourceType: 'Condition', id: 'sl-c1', subject: { reference: 'Patient/sl-1' }, code: { text: 'Asthma' } } as Resource & { id: string });
    await seed.update({ resourceType: 'Condition', id: 'sl-c2', subject: { reference: 'Patient/sl-2' }, code: { text: 'Other' } } as Resource & { id: string });
    repo = new Repository(db, accessPolicy(citizen));
  });
  after(() => db.close());

  test('the migrations make the link tables', async () => {
    const tables = await db.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'share_link%' ORDER BY 1`);
    assert.deepEqual(tables.map((t) => t.name), ['share_link', 'share_link_use']);
  });

  test('the builder is given the citizen’s repository, the patient and the chosen language, and its Bundle is what the link decrypts to', async () => {
    calls.length = 0;
    const created = await createShareLink(repo, 'sl-1', { locale: 'ru', label: 'Врачу', expires: { minutes: 30 } }, setup);
    assert.deepEqual(calls, [{ patient: 'sl-1', locale: 'ru', baseUrl: `${ORIGIN}/fhir` }]);
    const payload = linkPayload(created.uri);
    assert.equal(payload.url, `${ORIGIN}/shl/${created.id}`);
    const manifest = await shareLinkManifest(created.id, { body: JSON.stringify({ recipient: 'Dr A' }), origin: ORIGIN }, holder(created.id));
    assert.equal(manifest.status, 200, manifest.body);
    const jwe = JSON.parse(manifest.body).files[0].embedded as string;
    const bundle = JSON.parse(new TextDecoder().decode((await compactDecrypt(jwe, Buffer.from(payload.key, 'base64url'))).plaintext)) as Bundle;
    assert.equal(bundle.entry?.[0]?.resource?.resourceType, 'Composition');
    assert.deepEqual(bundle.entry!.slice(1).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`), ['Patient/sl-1', 'Condition/sl-c1']);
    // Another key (another link's) opens nothing.
    const other = linkPayload((await createShareLink(repo, 'sl-1', { locale: 'en' }, setup)).uri);
    await assert.rejects(compactDecrypt(jwe, Buffer.from(other.key, 'base64url')));
  });

  test("the use's audit record is committed by the time the manifest is answered", async () => {
    const created = await createShareLink(repo, 'sl-1', { locale: 'kk' }, setup);
    const before = await db.query(`SELECT 1 FROM audit_event WHERE patient = 'sl-1' AND payload LIKE '%"i":"$shl-manifest"%'`);
    const manifest = await shareLinkManifest(created.id, { body: JSON.stringify({ recipient: 'Clinic' }), origin: ORIGIN }, holder(created.id));
    assert.equal(manifest.status, 200);
    const afterwards = await db.query(`SELECT 1 FROM audit_event WHERE patient = 'sl-1' AND payload LIKE '%"i":"$shl-manifest"%'`);
    assert.equal(afterwards.length, before.length + 1);
    const [use] = (await listShareLinks(repo, 'sl-1')).find((l) => l.id === created.id)!.uses;
    assert.equal(use!.recipient, 'Clinic');
  });

  test("a citizen cannot share another person's record, nor a record they are not the representative of", async () => {
    await assert.rejects(createShareLink(repo, 'sl-2', { locale: 'en' }, setup), (e: unknown) => isFhirError(e) && e.status === 404);
    const clinician = new Repository(db, accessPolicy({ role: 'clinician', subject: 'c', clientId: 'mis', organization: 'o', scopes: [], purposeOfUse: 'TREAT' }));
    calls.length = 0;
    await assert.rejects(createShareLink(clinician, 'sl-1', { locale: 'en' }, setup), (e: unknown) => isFhirError(e) && e.status === 403);
    assert.equal(calls.length, 0, 'nothing of the record was read for a refused link');
  });

  test('terms out of bounds are refused before anything is stored', async () => {
    const count = async () => Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM share_link`))[0]!.n);
    const n = await count();
    const refused = async (terms: Parameters<typeof createShareLink>[2], expression: RegExp) =>
      assert.rejects(createShareLink(repo, 'sl-1', terms, setup), (e: unknown) => isFhirError(e) && e.status === 400 && expression.test(String(e.outcome.issue?.[0]?.expression?.[0])));
    await refused({ locale: 'en', label: 'é'.repeat(81) }, /label/);
    await refused({ locale: 'en', expires: { at: new Date(Date.now() - 1000).toISOString() } }, /expires/);
    await refused({ locale: 'en', expires: { at: '2099-01-01T00:00:00Z' } }, /expires/);
    await refused({ locale: 'en', expires: { at: 'tomorrow' } }, /expires/);
    await refused({ locale: 'en', expires: { minutes: 1.5 } }, /minutes/);
    await refused({ locale: 'en', passcode: 'abc' }, /passcode/);
    await refused({ locale: 'en', passcode: 'abcdef', direct: true }, /direct/);
    assert.equal(await count(), n);
    // 80 letters (not bytes) is within the spec's bound.
    const kazakh = await createShareLink(repo, 'sl-1', { locale: 'kk', label: 'Ә'.repeat(80) }, setup);
    assert.equal(linkPayload(kazakh.uri).label, 'Ә'.repeat(80));
  });
});
