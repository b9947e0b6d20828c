import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { dicomInstance, dicomUid } from '../../src/synth/dicom-instances.js';
import { type ImagingServer, multipartBody, startImagingServer } from './dicomweb.js';

const value = (item: any, tag: string) => item[tag]?.Value?.[0];
const uids = (items: any[]) => items.map((i) => value(i, '0020000D')).sort();

for (const driver of testDrivers()) describe(`QIDO-RS (${driver.name})`, { skip: driver.skip }, () => {
  let server: ImagingServer;
  const a = { study: dicomUid(), ct: dicomUid(), mr: dicomUid(), sops: [dicomUid(), dicomUid(), dicomUid()] };
  const b = { study: dicomUid(), series: dicomUid() };
  before(async () => {
    server = await startImagingServer(driver);
    const patientA = { PatientID: 'QIDO-A', PatientName: 'Иванов^Иван', StudyDate: '20260115', StudyTime: '101500', AccessionNumber: 'ACC-A', StudyDescription: 'КТ грудной клетки' };
    const patientB = { PatientID: 'QIDO-B', PatientName: 'Petrov^Petr', StudyDate: '20261120', StudyTime: '083000', AccessionNumber: 'ACC-B', Modality: 'MR' };
    const parts = [
      dicomInstance({ studyInstanceUid: a.study, seriesInstanceUid: a.ct, sopInstanceUid: a.sops[0], attributes: { ...patientA, SeriesNumber: 1, InstanceNumber: 1 } }),
      dicomInstance({ studyInstanceUid: a.study, seriesInstanceUid: a.ct, sopInstanceUid: a.sops[1], attributes: { ...patientA, SeriesNumber: 1, InstanceNumber: 2 } }),
      dicomInstance({ studyInstanceUid: a.study, seriesInstanceUid: a.mr, sopInstanceUid: a.sops[2], attributes: { ...patientA, Modality: 'MR', SeriesNumber: 2, InstanceNumber: 1 } }),
      dicomInstance({ studyInstanceUid: b.study, seriesInstanceUid: b.series, attributes: patientB }),
    ];
    const { body, contentType } = multipartBody(parts);
    const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType } });
    assert.equal(reply.status, 200, await reply.text());
  });
  after(() => server.close());

  const qido = async (path: string, headers: Record<string, string> = {}) => {
    const reply = await server.dicomweb('GET', path, { headers });
    const text = await reply.text();
    return { status: reply.status, headers: reply.headers, text, body: reply.status === 200 ? JSON.parse(text) : undefined };
  };

  test('a study found by PatientID carries the default attributes of PS3.18 table 10.6.3-3', async () => {
    const { status, body, headers } = await qido('/studies?PatientID=QIDO-A');
    assert.equal(status, 200);
    assert.match(headers.get('content-type') ?? '', /^application\/dicom\+json/);
    assert.equal(body.length, 1);
    const study = body[0];
    assert.equal(value(study, '0020000D'), a.study);
    assert.deepEqual(study['00080061'].Value, ['CT', 'MR']);
    assert.equal(value(study, '00201206'), 2);
    assert.equal(value(study, '00201208'), 3);
    assert.equal(value(study, '00081190'), `${server.dicomBase}/studies/${a.study}`);
    assert.equal(value(study, '00100010').Alphabetic, 'Иванов^Иван');
    assert.equal(value(study, '00080020'), '20260115');
    assert.equal(value(study, '00080050'), 'ACC-A');
    assert.equal(value(study, '00080005'), 'ISO_IR 192');
  });

  test('Cyrillic names match percent-encoded, case-insensitively, with * and ?', async () => {
    assert.deepEqual(uids((await qido(`/studies?PatientName=${encodeURIComponent('иванов*')}`)).body), [a.study]);
    assert.deepEqual(uids((await qido(`/studies?PatientName=${encodeURIComponent('Ив?нов^Иван')}`)).body), [a.study]);
    assert.deepEqual(uids((await qido(`/studies?PatientName=${encodeURIComponent('Иванов')}`)).body), [], 'a single value matches the whole name');
    assert.deepEqual(uids((await qido(`/studies?PatientName=PETROV*`)).body), [b.study]);
  });

  test('date ranges, UID lists and ModalitiesInStudy match', async () => {
    assert.deepEqual(uids((await qido('/studies?StudyDate=20260101-20260131')).body), [a.study]);
    assert.deepEqual(uids((await qido('/studies?StudyDate=-20260131')).body), [a.study]);
    assert.deepEqual(uids((await qido('/studies?StudyDate=20261101-')).body), [b.study]);
    assert.deepEqual(uids((await qido('/studies?StudyDate=20260101-20261231&StudyTime=0800-0900')).body), [b.study]);
    assert.deepEqual(uids((await qido(`/studies?StudyInstanceUID=${a.study},${b.study}`)).body), [a.study, b.study].sort());
    assert.deepEqual(uids((await qido(`/studies?0020000D=${a.study}`)).body), [a.study]);
    assert.deepEqual(uids((await qido('/studies?ModalitiesInStudy=MR&AccessionNumber=ACC-*')).body), [a.study, b.study].sort());
    assert.deepEqual(uids((await qido('/studies?ModalitiesInStudy=CT&PatientID=QIDO-*')).body), [a.study]);
  });

  test('limit and offset page the matches, with a Warning while more remain', async () => {
    const first = await qido('/studies?PatientID=QIDO-*&limit=1');
    assert.equal(first.body.length, 1);
    assert.match(first.headers.get('warning') ?? '', /more matches/);
    const second = await qido('/studies?PatientID=QIDO-*&limit=1&offset=1');
    assert.equal(second.body.length, 1);
    assert.equal(second.headers.get('warning'), null);
    assert.notEqual(value(first.body[0], '0020000D'), value(second.body[0], '0020000D'));
  });

  test('series and instances of a study, and across studies, with their levels above', async () => {
    const series = (await qido(`/studies/${a.study}/series`)).body;
    assert.deepEqual(series.map((s: any) => value(s, '00080060')), ['CT', 'MR']);
    assert.equal(value(series[0], '00201209'), 2);
    assert.equal(value(series[0], '00081190'), `${server.dicomBase}/studies/${a.study}/series/${a.ct}`);
    const instances = (await qido(`/studies/${a.study}/series/${a.ct}/instances`)).body;
    assert.deepEqual(instances.map((i: any) => value(i, '00080018')), a.sops.slice(0, 2));
    assert.equal(value(instances[0], '00280010'), 16);
    assert.equal(value(instances[0], '00083002'), '1.2.840.10008.1.2.1');
    const mr = (await qido('/series?Modality=MR&PatientID=QIDO-A')).body;
    assert.equal(mr.length, 1);
    assert.equal(value(mr[0], '0020000E'), a.mr);
    assert.equal(value(mr[0], '00100020'), 'QIDO-A', 'a query across studies returns the study attributes too');
    const one = (await qido(`/instances?SOPInstanceUID=${a.sops[2]}`)).body;
    assert.equal(one.length, 1);
    assert.equal(value(one[0], '0020000E'), a.mr);
    assert.deepEqual((await qido(`/studies/${a.study}/instances?InstanceNumber=1`)).body.map((i: any) => value(i, '00080018')).sort(), [a.sops[0], a.sops[2]].sort());
  });

  test('includefield adds attributes by keyword or tag, or all', async () => {
    const [withField] = (await qido(`/studies/${a.study}/series/${a.ct}/instances?SOPInstanceUID=${a.sops[0]}&includefield=WindowCenter,00281053`)).body;
    assert.equal(value(withField, '00281050'), 2048);
    assert.ok(withField['00281053']);
    assert.equal(withField['00281051'], undefined, 'not asked for');
    const [all] = (await qido(`/studies/${a.study}/series/${a.ct}/instances?SOPInstanceUID=${a.sops[0]}&includefield=all`)).body;
    assert.ok(all['00281051']);
    assert.equal(all['7FE00010'], undefined, 'bulk data is not in a query answer');
  });

  test('fuzzy matching is refused politely; an unknown attribute is a 400; Accept */* answers DICOM JSON, text/html a 406', async () => {
    const fuzzy = await qido('/studies?PatientID=QIDO-A&fuzzymatching=true');
    assert.equal(fuzzy.status, 200);
    assert.match(fuzzy.headers.get('warning') ?? '', /fuzzymatching/);
    const unknown = await qido('/studies?NoSuchAttribute=1');
    assert.equal(unknown.status, 400);
    assert.match(unknown.text, /NoSuchAttribute/);
    assert.equal((await qido('/studies?PatientID=QIDO-A', { accept: '*/*' })).body.length, 1);
    assert.equal((await qido('/studies?PatientID=QIDO-A', { accept: 'application/dicom+json' })).body.length, 1);
    assert.equal((await qido('/studies', { accept: 'text/html' })).status, 406);
    assert.equal((await qido('/studies?SOPInstanceUID=1.2')).status, 400, 'an instance attribute in a study query');
    assert.equal((await qido('/studies?StudyDate=yesterday')).status, 400);
  });
});
