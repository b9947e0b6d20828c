import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { IIN_SYSTEM } from '../../src/identity/iin.js';
import { iin } from '../access/world.js';
import { testDrivers } from '../support/database.js';
import { dicomInstance, dicomUid } from '../../src/synth/dicom-instances.js';
import { type ImagingServer, multipartBody, startImagingServer } from './dicomweb.js';

const IIN_P = iin('1975-05-05', 'female', 410);
const IIN_Q = iin('1990-09-09', 'male', 420);

for (const driver of testDrivers()) describe(`DICOMweb through the door (${driver.name})`, { skip: driver.skip }, () => {
  let server: ImagingServer;
  const tokens: Record<string, string> = {};
  const studyP = dicomUid();
  const studyQ = dicomUid();
  const unmatched = dicomUid();
  before(async () => {
    server = await startImagingServer(driver);
    for (const id of ['img-org-a', 'img-org-b']) assert.equal((await server.fhir('PUT', `Organization/${id}`, { resourceType: 'Organization', id, name: id, active: true })).status, 201);
    const patient = (id: string, value: string, family: string, birthDate: string, gender: string) =>
      server.fhir('PUT', `Patient/${id}`, { resourceType: 'Patient', id, identifier: [{ system: IIN_SYSTEM, value }], name: [{ family }], birthDate, gender, generalPractitioner: [{ reference: 'Organization/img-org-a' }] });
    assert.equal((await patient('img-p', IIN_P, 'Нурланова', '1975-05-05', 'female')).status, 201);
    assert.equal((await patient('img-q', IIN_Q, 'Серикбаев', '1990-09-09', 'male')).status, 201);
    tokens.pacsA = await server.token({ sub: 'pacs-a', client_id: 'pacs-a', scope: 'system/*.cruds', role: 'system', organization: 'img-org-a' });
    tokens.clinicianA = await server.token({ sub: 'img-clinician-a', client_id: 'mis-a', scope: 'user/*.cruds', role: 'clinician', organization: 'img-org-a' });
    tokens.clinicianB = await server.token({ sub: 'img-clinician-b', client_id: 'mis-b', scope: 'user/*.cruds', role: 'clinician', organization: 'img-org-b' });
    tokens.citizenP = await server.token({ sub: 'img-citizen-p', client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: 'Patient/img-p' });
    tokens.citizenQ = await server.token({ sub: 'img-citizen-q', client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: 'Patient/img-q' });
    const { body, contentType } = multipartBody([
      dicomInstance({ studyInstanceUid: studyP, attributes: { PatientID: IIN_P, PatientName: 'Нурланова^Асель' } }),
      dicomInstance({ studyInstanceUid: studyQ, attributes: { PatientID: IIN_Q, PatientName: 'Серикбаев^Арман' } }),
      dicomInstance({ studyInstanceUid: unmatched, attributes: { PatientID: 'NO-IIN', PatientName: 'Белгісіз^Адам' } }),
    ]);
    const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType, authorization: `Bearer ${tokens.pacsA}` } });
    assert.equal(reply.status, 200, await reply.text());
  });
  after(() => server.close());

  const studiesSeen = async (token: string) => {
    const reply = await server.dicomweb('GET', '/studies', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(reply.status, 200);
    return ((await reply.json()) as any[]).map((s) => s['0020000D'].Value[0]).sort();
  };
  const retrieve = async (token: string, study: string) => (await server.dicomweb('GET', `/studies/${study}`, { headers: { authorization: `Bearer ${token}` } })).status;
  const auditCount = async (patient: string) => (await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event WHERE patient = $1`, [patient]))[0]!.n;

  test('the PACS of the patients’ organization stored both studies, each with its ImagingStudy written as the PACS', async () => {
    const rows = await server.db.query<{ study_uid: string; imaging_study: string | null; patient: string | null }>(`SELECT study_uid, imaging_study, patient FROM dicom_study`);
    const byStudy = new Map(rows.map((r) => [r.study_uid, r]));
    assert.equal(byStudy.get(studyP)?.patient, 'img-p');
    assert.equal(byStudy.get(studyQ)?.patient, 'img-q');
    assert.equal(byStudy.get(unmatched)?.imaging_study, null);
  });

  test('a clinician with a care relationship sees the studies; one without sees none and retrieves nothing (404)', async () => {
    assert.deepEqual(await studiesSeen(tokens.clinicianA!), [studyP, studyQ].sort());
    assert.deepEqual(await studiesSeen(tokens.clinicianB!), []);
    assert.equal(await retrieve(tokens.clinicianB!, studyP), 404);
    assert.equal(await retrieve(tokens.clinicianA!, studyP), 200);
  });

  test('a citizen sees and retrieves their own study only', async () => {
    assert.deepEqual(await studiesSeen(tokens.citizenP!), [studyP]);
    assert.equal(await retrieve(tokens.citizenP!, studyP), 200);
    assert.equal(await retrieve(tokens.citizenP!, studyQ), 404);
    assert.equal((await server.dicomweb('GET', `/studies/${studyQ}/metadata`, { headers: { authorization: `Bearer ${tokens.citizenP}` } })).status, 404);
  });

  test('a study whose patient is unidentified is seen only by an administrator with clinical access', async () => {
    assert.ok(!(await studiesSeen(tokens.clinicianA!)).includes(unmatched));
    assert.equal(await retrieve(tokens.clinicianA!, unmatched), 404);
    const admin = await server.dicomweb('GET', `/studies?StudyInstanceUID=${unmatched}`);
    assert.equal(((await admin.json()) as any[]).length, 1);
  });

  test('each study disclosed is audited for its patient, once per request', async () => {
    const before = await auditCount('img-p');
    const query = await server.dicomweb('GET', `/studies?PatientID=${IIN_P}`, { headers: { authorization: `Bearer ${tokens.clinicianA}` } });
    assert.equal(((await query.json()) as any[]).length, 1);
    assert.equal(await auditCount('img-p'), before + 1);
    assert.equal(await retrieve(tokens.clinicianA!, studyP), 200);
    assert.equal(await auditCount('img-p'), before + 2);
    const [record] = await server.db.query<{ payload: string }>(`SELECT payload FROM audit_event WHERE patient = 'img-p' ORDER BY recorded DESC, seq DESC LIMIT 1`);
    assert.match(record!.payload, /ImagingStudy\//);
    // Nothing shown, nothing recorded: the clinician without a relationship saw no study of P.
    const unrelated = await auditCount('img-p');
    await studiesSeen(tokens.clinicianB!);
    assert.equal(await auditCount('img-p'), unrelated);
  });

  test('a retrieve and a rendered frame send nothing, not even their status, before their audit record is committed; one whose record fails is a 500 with no image', async () => {
    const instances = await server.db.query<{ sop_instance_uid: string }>(`SELECT sop_instance_uid FROM dicom_instance WHERE study_uid = $1`, [studyP]);
    const expected = instances.length;
    // The record's insert waits, then (second part) fails: the answer must wait for it, then must not disclose anything.
    await server.db.query(`CREATE FUNCTION test_slow_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.6); IF EXISTS (SELECT 1 FROM pg_class WHERE relname = 'test_refuse_audit') THEN RAISE EXCEPTION 'audit refused by the test'; END IF; RETURN NEW; END $$`);
    await server.db.query(`CREATE TRIGGER test_slow_audit BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION test_slow_audit()`);
    try {
      const before = await auditCount('img-p');
      const started = performance.now();
      const reply = await server.dicomweb('GET', `/studies/${studyP}`, { headers: { authorization: `Bearer ${tokens.clinicianA}`, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
      const statusAfterMs = performance.now() - started;
      assert.equal(reply.status, 200);
      assert.ok(statusAfterMs >= 550, `the status came ${statusAfterMs.toFixed(0)} ms after the request, before the record's insert had finished`);
      const body = Buffer.from(await reply.arrayBuffer());
      assert.equal(body.toString('latin1').split('Content-Type: application/dicom').length - 1, expected);
      assert.equal(await auditCount('img-p'), before + 1);
      const renderStarted = performance.now();
      const rendered = await server.dicomweb('GET', `/studies/${studyP}/rendered`, { headers: { authorization: `Bearer ${tokens.clinicianA}`, accept: 'image/jpeg' } });
      const renderedAfterMs = performance.now() - renderStarted;
      assert.equal(rendered.status, 200);
      assert.ok(renderedAfterMs >= 550, `the rendered frame came ${renderedAfterMs.toFixed(0)} ms after the request, before the record's insert had finished`);
      assert.deepEqual([...Buffer.from(await rendered.arrayBuffer()).subarray(0, 2)], [0xff, 0xd8]);
      assert.equal(await auditCount('img-p'), before + 2);

      await server.db.query(`CREATE TABLE test_refuse_audit ()`);
      const refused = await server.dicomweb('GET', `/studies/${studyP}`, { headers: { authorization: `Bearer ${tokens.clinicianA}`, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
      assert.equal(refused.status, 500);
      assert.equal(refused.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(await refused.text(), 'Internal server error');
      for (const view of ['rendered', 'thumbnail']) {
        const image = await server.dicomweb('GET', `/studies/${studyP}/${view}`, { headers: { authorization: `Bearer ${tokens.clinicianA}`, accept: 'image/jpeg' } });
        assert.equal(image.status, 500, view);
        assert.equal(await image.text(), 'Internal server error', view);
      }
      assert.equal(await auditCount('img-p'), before + 2);
    } finally {
      await server.db.query(`DROP TABLE IF EXISTS test_refuse_audit`);
      await server.db.query(`DROP TRIGGER test_slow_audit ON audit_event`);
      await server.db.query(`DROP FUNCTION test_slow_audit()`);
    }
    assert.equal(await retrieve(tokens.clinicianA!, studyP), 200);
  });

  test('a citizen may not store images: the door refuses the ImagingStudy, so each instance fails (0x0124) and nothing stays', async () => {
    const sop = dicomUid();
    const { body, contentType } = multipartBody([dicomInstance({ sopInstanceUid: sop, attributes: { PatientID: IIN_P } })]);
    const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType, authorization: `Bearer ${tokens.citizenP}` } });
    const answer = (await reply.json()) as any;
    assert.equal(reply.status, 409, JSON.stringify(answer));
    assert.equal(answer['00081198'].Value[0]['00081197'].Value[0], 0x0124);
    assert.deepEqual(await server.db.query(`SELECT 1 FROM dicom_instance WHERE sop_instance_uid = $1`, [sop]), []);
    const objects = await readdir(server.imagesDir, { recursive: true });
    assert.ok(!objects.some((name) => String(name).includes(sop)), 'its object was deleted');
  });

  test('a caller whose scopes do not allow creating ImagingStudy is refused before any byte is read (403)', async () => {
    const reader = await server.token({ sub: 'img-reader', client_id: 'viewer', scope: 'user/ImagingStudy.rs', role: 'clinician', organization: 'img-org-a' });
    const { body, contentType } = multipartBody([dicomInstance({ attributes: { PatientID: IIN_P } })]);
    const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType, authorization: `Bearer ${reader}` } });
    assert.equal(reply.status, 403, await reply.text());
  });
});
