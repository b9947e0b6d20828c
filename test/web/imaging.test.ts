import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImagingStudy } from '@medplum/fhirtypes';
import {
  type DicomJson,
  clampIndex,
  dicomWeb,
  dicomWebBase,
  instanceAccept,
  isUnsupportedSyntax,
  mapLimited,
  middleIndex,
  multipartParts,
  orderedSeries,
  seriesInstances,
  studyInstanceCount,
  studyInstanceUid,
  studyModalities,
  viewerKey,
  wheelFrames,
  windowPresets,
} from '../../web/src/screens/imaging/logic.js';
import { dicomInstance } from '../../src/synth/dicom-instances.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

const study: ImagingStudy = {
  resourceType: 'ImagingStudy',
  status: 'available',
  subject: { reference: 'Patient/1' },
  identifier: [
    { type: { coding: [{ code: 'ACSN' }] }, value: 'ACC-1' },
    { system: 'urn:dicom:uid', value: 'urn:oid:1.2.840.113619.2.1' },
  ],
  modality: [{ system: DCM, code: 'CT' }],
  series: [
    { uid: '1.2.3.2', number: 2, modality: { system: DCM, code: 'SR' }, instance: [{ uid: 'a', sopClass: { code: '1' } }] },
    { uid: '1.2.3.9', modality: { system: DCM, code: 'CT' }, numberOfInstances: 4 },
    { uid: '1.2.3.1', number: 1, modality: { system: DCM, code: 'CT' }, numberOfInstances: 120 },
  ],
};

describe('the images screen', () => {
  it('reads the Study Instance UID from the urn:dicom:uid identifier, not the accession number', () => {
    assert.equal(studyInstanceUid(study), '1.2.840.113619.2.1');
    assert.equal(studyInstanceUid({ ...study, identifier: [{ value: 'ACC-1' }] }), undefined);
  });

  it('lists modalities once, series by number with unnumbered last, and counts instances', () => {
    assert.deepEqual(studyModalities(study), ['CT', 'SR']);
    assert.deepEqual(orderedSeries(study).map((s) => [s.uid, s.instances]), [
      ['1.2.3.1', 120],
      ['1.2.3.2', 1],
      ['1.2.3.9', 4],
    ]);
    assert.equal(studyInstanceCount(study), 125);
    assert.equal(studyInstanceCount({ ...study, numberOfInstances: 7 }), 7);
  });

  it('builds DICOMweb URLs on the app’s origin, UIDs percent-encoded', () => {
    const base = dicomWebBase('https://densaulyq.example');
    assert.equal(base, 'https://densaulyq.example/dicom-web');
    assert.equal(dicomWeb.instances(base, '1.2', '1.3'), 'https://densaulyq.example/dicom-web/studies/1.2/series/1.3/instances');
    assert.equal(dicomWeb.instance(base, '1.2', '1.3', '1.4'), 'https://densaulyq.example/dicom-web/studies/1.2/series/1.3/instances/1.4');
    assert.equal(dicomWeb.thumbnail(base, '1.2', '1/3'), 'https://densaulyq.example/dicom-web/studies/1.2/series/1%2F3/thumbnail');
    assert.equal(instanceAccept(), 'multipart/related; type="application/dicom"; transfer-syntax=*');
    assert.equal(instanceAccept('1.2.840.10008.1.2.1'), 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1');
  });

  it('orders a QIDO-RS answer by Instance Number, numbers as strings or numbers, and drops datasets without a UID', () => {
    const datasets: DicomJson[] = [
      { '00080018': { vr: 'UI', Value: ['1.9'] }, '00200013': { vr: 'IS', Value: ['10'] } },
      { '00080018': { vr: 'UI', Value: ['1.2'] }, '00200013': { vr: 'IS', Value: [2] }, '00280008': { vr: 'IS', Value: ['25'] } },
      { '00080018': { vr: 'UI', Value: ['1.5'] } },
      { '00200013': { vr: 'IS', Value: [1] } },
      { '00080018': { vr: 'UI', Value: ['1.1'] }, '00200013': { vr: 'IS', Value: [' '] } },
    ];
    assert.deepEqual(seriesInstances(datasets), [
      { sopInstanceUid: '1.2', instanceNumber: 2, frames: 25 },
      { sopInstanceUid: '1.9', instanceNumber: 10, frames: 1 },
      { sopInstanceUid: '1.1', frames: 1 },
      { sopInstanceUid: '1.5', frames: 1 },
    ]);
  });

  it('opens on the middle frame and keeps moves within the stack', () => {
    assert.deepEqual([0, 1, 2, 5, 6, 120].map(middleIndex), [0, 0, 0, 2, 2, 59]);
    assert.equal(clampIndex(3, 10, 5), 4);
    assert.equal(clampIndex(1, -10, 5), 0);
    assert.equal(clampIndex(0, 1, 0), 0);
  });

  it('turns keys into viewer commands and leaves others to the page', () => {
    assert.deepEqual(viewerKey('ArrowDown'), { kind: 'scroll', step: 1 });
    assert.deepEqual(viewerKey('PageUp'), { kind: 'scroll', step: -10 });
    assert.deepEqual(viewerKey('End'), { kind: 'last' });
    assert.equal(viewerKey('+')?.kind, 'zoom');
    assert.deepEqual(viewerKey('0'), { kind: 'reset' });
    assert.equal(viewerKey('Tab'), undefined);
    assert.equal(viewerKey('Enter'), undefined);
  });

  it('moves one frame per wheel notch and gathers a touchpad’s small strokes', () => {
    assert.deepEqual(wheelFrames(0, 100), { frames: 2, pending: 0 });
    assert.deepEqual(wheelFrames(0, -53), { frames: -1, pending: -3 });
    let pending = 0;
    let frames = 0;
    for (let i = 0; i < 10; i++) {
      const move = wheelFrames(pending, 12);
      frames += move.frames;
      pending = move.pending;
    }
    assert.equal(frames, 2);
    assert.equal(pending, 20);
  });

  it('offers the file’s windows, the full range, and for CT the anatomical ones; knows a missing decoder', () => {
    const ct = windowPresets('CT', [{ center: 40, width: 400 }, { center: 600, width: 2800 }], { min: -1024, max: 3071 });
    assert.deepEqual(ct.slice(0, 3), [
      { name: 'stored', center: 40, width: 400 },
      { name: 'stored:2', center: 600, width: 2800 },
      { name: 'minmax', center: 1023.5, width: 4095 },
    ]);
    assert.deepEqual(ct.find((p) => p.name === 'bone'), { name: 'bone', center: 500, width: 2000 });
    assert.equal(ct.length, 8);
    // An X-ray angiogram gets no Hounsfield windows; a zero width in the file is no window; a flat image still has a range.
    assert.deepEqual(windowPresets('XA', [{ center: 128, width: 0 }], { min: 7, max: 7 }), [{ name: 'minmax', center: 7, width: 1 }]);
    assert.deepEqual(windowPresets('MR', []), []);
    assert.ok(isUnsupportedSyntax(new Error('no decoder for transfer syntax 1.2.840.10008.1.2.4.100')));
    assert.ok(!isUnsupportedSyntax(new Error('The pixel data is missing')));
  });

  it('splits a multipart/related answer by the delimiter on its first line, with or without a preamble or part headers', () => {
    const dicom = new Uint8Array(dicomInstance());
    const encode = (text: string) => new TextEncoder().encode(text);
    const join = (...chunks: Uint8Array[]) => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    };
    const one = join(encode('--b0undary\r\nContent-Type: application/dicom\r\nContent-Length: 9\r\n\r\n'), dicom, encode('\r\n--b0undary--\r\n'));
    const [part] = multipartParts(one);
    assert.deepEqual(part, dicom);

    // Two parts, a preamble, a part without headers, a body holding the boundary's text without the CRLF before it.
    const two = join(encode('preamble\r\n--xyz\r\nContent-Type: application/dicom\r\n\r\nfirst --xyz body'), encode('\r\n--xyz\r\n\r\nsecond'), encode('\r\n--xyz--'));
    assert.deepEqual(
      multipartParts(two).map((p) => new TextDecoder().decode(p)),
      ['first --xyz body', 'second'],
    );
    assert.deepEqual(multipartParts(encode('no multipart here')), []);
    assert.deepEqual(multipartParts(encode('--abc\r\nContent-Type: application/dicom\r\n\r\ntruncated')), []);
  });

  it('runs work with limited parallelism, results in order, the first failure rejecting', async () => {
    let running = 0;
    let most = 0;
    const results = await mapLimited([5, 1, 4, 2, 3, 0], 2, async (n, i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, n * 3));
      running--;
      return `${i}:${n}`;
    });
    assert.deepEqual(results, ['0:5', '1:1', '2:4', '3:2', '4:3', '5:0']);
    assert.equal(most, 2);
    await assert.rejects(
      mapLimited([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('404');
        return n;
      }),
      /404/,
    );
    assert.deepEqual(await mapLimited([], 4, async () => 1), []);
  });
});
