import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IIN_SYSTEM } from '../../src/identity/iin.js';
import { iin } from '../access/world.js';
import { testDrivers } from '../support/database.js';
import { dicomInstance, dicomUid } from '../../src/synth/dicom-instances.js';
import { type ImagingServer, multipartBody, startImagingServer } from './dicomweb.js';

const PATIENT_IIN = iin('1980-03-04', 'male', 300);

/** Every file under a folder, recursively (the image store's objects). */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const seq = (body: any, tag: string): any[] => body?.[tag]?.Value ?? [];
const uidOf = (item: any) => item['00081155'].Value[0];
const reasonOf = (item: any) => item['00081197'].Value[0];

for (const driver of testDrivers()) describe(`STOW-RS (${driver.name})`, { skip: driver.skip }, () => {
  let server: ImagingServer;
  before(async () => {
    server = await startImagingServer(driver);
    const put = await server.fhir('PUT', 'Patient/stow-p1', {
      resourceType: 'Patient',
      id: 'stow-p1',
      identifier: [{ system: IIN_SYSTEM, value: PATIENT_IIN }],
      name: [{ family: 'Абенов', given: ['Ерлан'] }],
      gender: 'male',
      birthDate: '1980-03-04',
    });
    assert.equal(put.status, 201, put.text);
  });
  after(() => server.close());

  const stow = (parts: Parameters<typeof multipartBody>[0], path = '/studies', headers: Record<string, string> = {}) => {
    const { body, contentType } = multipartBody(parts);
    return server.dicomweb('POST', path, { body, headers: { 'content-type': contentType, accept: 'application/dicom+json', ...headers } });
  };

  test('a study of three instances is stored, answered with a RetrieveURL each, and has its ImagingStudy in the patient record', async () => {
    const study = dicomUid();
    const series = dicomUid();
    const attributes = { PatientID: PATIENT_IIN, PatientName: 'Абенов^Ерлан', AccessionNumber: 'ACC-STOW-1' };
    const instances = [1, 2, 3].map((n) => dicomInstance({ studyInstanceUid: study, seriesInstanceUid: series, attributes: { ...attributes, InstanceNumber: n } }));
    const reply = await stow(instances);
    const body = await reply.json();
    assert.equal(reply.status, 200, JSON.stringify(body));
    assert.match(reply.headers.get('content-type') ?? '', /^application\/dicom\+json/);
    const referenced = seq(body, '00081199');
    assert.equal(referenced.length, 3);
    assert.match(referenced[0]['00081190'].Value[0], new RegExp(`/dicom-web/studies/${study}/series/${series}/instances/`));
    assert.equal(body['00081198'], undefined);

    const search = await server.fhir('GET', `ImagingStudy?patient=stow-p1`);
    assert.equal(search.status, 200, search.text);
    const imagingStudy = search.body.entry?.[0]?.resource;
    assert.ok(imagingStudy, search.text);
    assert.equal(imagingStudy.identifier[0].value, `urn:oid:${study}`);
    assert.equal(imagingStudy.identifier[1].value, 'ACC-STOW-1');
    assert.equal(imagingStudy.numberOfInstances, 3);
    assert.equal(imagingStudy.series[0].uid, series);
    assert.deepEqual(imagingStudy.series[0].instance.map((i: any) => i.number), [1, 2, 3]);
    assert.equal(imagingStudy.contained[0].address, server.dicomBase);

    // A later STOW into the same study updates the one ImagingStudy.
    const more = await stow([dicomInstance({ studyInstanceUid: study, seriesInstanceUid: dicomUid(), attributes: { ...attributes, SeriesNumber: 2 } })], `/studies/${study}`);
    assert.equal(more.status, 200, await more.text());
    const again = await server.fhir('GET', `ImagingStudy?patient=stow-p1&identifier=urn:oid:${study}`);
    assert.equal(again.body.entry.length, 1);
    assert.equal(again.body.entry[0].resource.numberOfSeries, 2);
    assert.equal(again.body.entry[0].resource.numberOfInstances, 4);
  });

  test('four senders storing into one new study at once make one ImagingStudy with every instance', async () => {
    const study = dicomUid();
    const replies = await Promise.all(
      [1, 2, 3, 4].map((n) => stow([dicomInstance({ studyInstanceUid: study, attributes: { PatientID: PATIENT_IIN, SeriesNumber: n } })])),
    );
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200]);
    const found = await server.fhir('GET', `ImagingStudy?identifier=urn:oid:${study}`);
    assert.equal(found.body.entry?.length, 1, found.text);
    assert.equal(found.body.entry[0].resource.numberOfInstances, 4);
  });

  test('a chunked upload without Content-Length streams in part by part', async () => {
    const study = dicomUid();
    const { body, contentType } = multipartBody([1, 2].map(() => dicomInstance({ studyInstanceUid: study, attributes: { PatientID: PATIENT_IIN } })));
    // Sent in odd slices, so boundaries fall across chunks.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < body.length; at += 97) controller.enqueue(body.subarray(at, at + 97));
        controller.close();
      },
    });
    const reply = await server.dicomweb('POST', '/studies', { body: stream, headers: { 'content-type': contentType } });
    const answer = await reply.json();
    assert.equal(reply.status, 200, JSON.stringify(answer));
    assert.equal(seq(answer, '00081199').length, 2);
  });

  test('the same instance sent twice is stored once; different content under its UID, even one bit of a pixel, is refused with 0x0111 and the first kept', async () => {
    const sop = dicomUid();
    const study = dicomUid();
    const first = dicomInstance({ sopInstanceUid: sop, studyInstanceUid: study, attributes: { PatientID: PATIENT_IIN } });
    assert.equal((await stow([first])).status, 200);
    const before = await files(server.imagesDir);
    const same = await stow([first]);
    const sameBody = await same.json();
    assert.equal(same.status, 200, JSON.stringify(sameBody));
    assert.equal(uidOf(seq(sameBody, '00081199')[0]), sop);
    const [rows] = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM dicom_instance WHERE sop_instance_uid = $1`, [sop]);
    assert.equal(rows!.n, 1);

    // Of the same length, one pixel's bit apart: compared to the last byte.
    const lastByte = Buffer.from(first);
    lastByte[lastByte.length - 1]! ^= 1;
    const pixelRefused = await stow([lastByte]);
    const pixelBody = await pixelRefused.json();
    assert.equal(pixelRefused.status, 409, JSON.stringify(pixelBody));
    assert.equal(reasonOf(seq(pixelBody, '00081198')[0]), 0x0111);

    const changed = dicomInstance({ sopInstanceUid: sop, studyInstanceUid: study, attributes: { PatientID: PATIENT_IIN, StudyDescription: 'Changed' } });
    const refused = await stow([changed]);
    const refusedBody = await refused.json();
    assert.equal(refused.status, 409, JSON.stringify(refusedBody));
    const failure = seq(refusedBody, '00081198')[0];
    assert.equal(uidOf(failure), sop);
    assert.equal(reasonOf(failure), 0x0111);
    assert.match(failure['00000902'].Value[0], /different content/);
    assert.match(refused.headers.get('warning') ?? '', /different content/);
    assert.deepEqual((await files(server.imagesDir)).sort(), before.sort(), 'no object was added or rewritten');
  });

  test('in one request: an instance sent twice is stored once, a changed copy of it refused, a series of another study refused, the rest stored', async () => {
    const study = dicomUid();
    const series = dicomUid();
    const sop = dicomUid();
    const patient = { PatientID: PATIENT_IIN };
    const first = dicomInstance({ sopInstanceUid: sop, studyInstanceUid: study, seriesInstanceUid: series, attributes: patient });
    const changed = dicomInstance({ sopInstanceUid: sop, studyInstanceUid: study, seriesInstanceUid: series, attributes: { ...patient, StudyDescription: 'Changed' } });
    const stray = dicomInstance({ studyInstanceUid: dicomUid(), seriesInstanceUid: series, attributes: patient });
    const otherSop = dicomUid();
    const other = dicomInstance({ sopInstanceUid: otherSop, studyInstanceUid: study, seriesInstanceUid: series, attributes: patient });
    const reply = await stow([first, first, changed, stray, other]);
    const body = await reply.json();
    assert.equal(reply.status, 202, JSON.stringify(body));
    assert.deepEqual(seq(body, '00081199').map(uidOf).sort(), [sop, sop, otherSop].sort());
    assert.deepEqual(seq(body, '00081198').map(reasonOf).sort(), [0x0111, 0xa900].sort());
    const rows = await server.db.query<{ sop_instance_uid: string; study_uid: string }>(`SELECT sop_instance_uid, study_uid FROM dicom_instance WHERE series_uid = $1`, [series]);
    assert.deepEqual(rows.map((r) => r.sop_instance_uid).sort(), [sop, otherSop].sort());
    assert.ok(rows.every((r) => r.study_uid === study));
    const stored = await server.dicomweb('GET', `/studies/${study}/series/${series}/instances/${sop}`, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
    assert.equal(stored.status, 200);
    assert.ok(Buffer.from(await stored.arrayBuffer()).includes(first.subarray(132, 1132)), 'the first copy is the one kept');
    assert.equal((await files(server.imagesDir)).filter((f) => /incoming|partial/.test(f)).length, 0, 'nothing half-written stays');
  });

  test('an instance whose attributes before the pixel data run past what is kept in memory is read back and indexed whole', async () => {
    const [study, series, sop] = [dicomUid(), dicomUid(), dicomUid()];
    const document = Buffer.alloc(300 * 1024, 0x25);
    const long = dicomInstance({
      studyInstanceUid: study,
      seriesInstanceUid: series,
      sopInstanceUid: sop,
      attributes: { PatientID: PATIENT_IIN, EncapsulatedDocument: [document.buffer.slice(document.byteOffset, document.byteOffset + document.length)] },
    });
    const reply = await stow([long]);
    assert.equal(reply.status, 200, await reply.text());
    const metadata = await server.dicomweb('GET', `/studies/${study}/series/${series}/instances/${sop}/metadata`, { headers: { accept: 'application/dicom+json' } });
    const [instance] = (await metadata.json()) as any[];
    assert.equal(instance['00420011'].vr, 'OB');
    assert.match(instance['00420011'].BulkDataURI, /bulkdata\/00420011$/);
    assert.match(instance['7FE00010'].BulkDataURI, /bulkdata\/7FE00010$/, 'the pixel data, after the long element, is reached');
  });

  test('a part that is not DICOM fails alone (0xC000) and leaves nothing behind; the good part is stored (202)', async () => {
    const before = await files(server.imagesDir);
    const good = dicomInstance({ attributes: { PatientID: PATIENT_IIN } });
    const reply = await stow([Buffer.from('this is not a DICOM file at all, though long enough to have a preamble'.repeat(4)), good]);
    const body = await reply.json();
    assert.equal(reply.status, 202, JSON.stringify(body));
    assert.equal(reasonOf(seq(body, '00081198')[0]), 0xc000);
    assert.equal(seq(body, '00081199').length, 1);
    const added = (await files(server.imagesDir)).filter((f) => !before.includes(f));
    assert.equal(added.length, 1, added.join(', '));
    assert.match(added[0]!, /\.dcm$/);
    assert.doesNotMatch(added[0]!, /incoming/);
  });

  test('an instance of another study than the URL names is refused with 0xA900 (409)', async () => {
    const reply = await stow([dicomInstance({ attributes: { PatientID: PATIENT_IIN } })], `/studies/${dicomUid()}`);
    const body = await reply.json();
    assert.equal(reply.status, 409, JSON.stringify(body));
    assert.equal(reasonOf(seq(body, '00081198')[0]), 0xa900);
  });

  test('a body that is not multipart/related is a 415; multipart without a boundary a 400; a truncated body a 400', async () => {
    const json = await server.dicomweb('POST', '/studies', { body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(json.status, 415);
    const noBoundary = await server.dicomweb('POST', '/studies', { body: 'x', headers: { 'content-type': 'multipart/related; type="application/dicom"' } });
    assert.equal(noBoundary.status, 400);
    const { body, contentType } = multipartBody([dicomInstance()]);
    const truncated = await server.dicomweb('POST', '/studies', { body: body.subarray(0, body.length - 200), headers: { 'content-type': contentType } });
    assert.equal(truncated.status, 400, await truncated.text());
    assert.equal((await files(server.imagesDir)).filter((f) => f.includes('incoming')).length, 0);
  });

  test('a body broken off after a whole part: a 400, and the whole part’s study is in the record all the same', async () => {
    const study = dicomUid();
    const whole = dicomInstance({ studyInstanceUid: study, attributes: { PatientID: PATIENT_IIN } });
    const { body, contentType } = multipartBody([whole, dicomInstance({ attributes: { PatientID: PATIENT_IIN } })]);
    const reply = await server.dicomweb('POST', '/studies', { body: body.subarray(0, body.length - 300), headers: { 'content-type': contentType } });
    assert.equal(reply.status, 400, await reply.text());
    const found = await server.fhir('GET', `ImagingStudy?identifier=urn:oid:${study}`);
    assert.equal(found.body.entry?.length, 1, found.text);
  });

  test('a study whose patient is not identified is stored but waits for review, without an ImagingStudy', async () => {
    const study = dicomUid();
    const reply = await stow([dicomInstance({ studyInstanceUid: study, attributes: { PatientID: 'LOCAL-77', PatientName: 'Неизвестный^Пациент', PatientBirthDate: '19010101' } })]);
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('warning') ?? '', /waits for review/);
    const [row] = await server.db.query<{ imaging_study: string | null; review_reason: string | null }>(`SELECT imaging_study, review_reason FROM dicom_study WHERE study_uid = $1`, [study]);
    assert.equal(row!.imaging_study, null);
    assert.match(row!.review_reason ?? '', /no valid IIN/);

    // The reviewer sees it in the queue, with what DICOM says of the patient, and assigns the patient.
    const queue = await server.fhir('GET', '$imaging-review');
    assert.equal(queue.status, 200, queue.text);
    const waiting = queue.body.entry.find((e: any) => e.resource.parameter[0].valueString === study)?.resource.parameter;
    assert.ok(waiting, queue.text);
    assert.equal(waiting.find((p: any) => p.name === 'patientName').valueString, 'Неизвестный^Пациент');
    const assigned = await server.fhir('POST', '$assign-imaging-patient', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'study', valueString: study },
        { name: 'patient', valueReference: { reference: 'Patient/stow-p1' } },
      ],
    });
    assert.equal(assigned.status, 200, assigned.text);
    assert.equal(assigned.body.resourceType, 'ImagingStudy');
    assert.equal(assigned.body.subject.reference, 'Patient/stow-p1');
    const after = await server.fhir('GET', '$imaging-review');
    assert.ok(!(after.body.entry ?? []).some((e: any) => e.resource.parameter[0].valueString === study));
    const everything = await server.fhir('GET', 'Patient/stow-p1/$everything');
    assert.ok(everything.body.entry.some((e: any) => e.resource.id === assigned.body.id), 'the study is in the patient record');
    const again = await server.fhir('POST', '$assign-imaging-patient', { resourceType: 'Parameters', parameter: [{ name: 'study', valueString: study }, { name: 'patient', valueReference: { reference: 'Patient/stow-p1' } }] });
    assert.equal(again.status, 404, 'no longer waiting');
  });

  test('without a token: 401', async () => {
    const { body, contentType } = multipartBody([dicomInstance()]);
    const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType, authorization: '' } });
    assert.equal(reply.status, 401);
  });
});
