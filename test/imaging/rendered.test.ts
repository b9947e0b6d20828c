import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { IIN_SYSTEM } from '../../src/identity/iin.js';
import { iin } from '../access/world.js';
import { testDrivers } from '../support/database.js';
import { dicomInstance, dicomUid } from '../../src/synth/dicom-instances.js';
import { type ImagingServer, multipartBody, startImagingServer } from './dicomweb.js';

const IIN_P = iin('1982-03-04', 'female', 430);
const ROWS = 8;
const COLUMNS = 16;
/** Column c holds 100·c in the first frame and 100·c + 1000 in the second: a window shows which. */
const pixel = (frame: number, _row: number, column: number) => column * 100 + frame * 1000;

/** PS3.3 C.11.2.1.2.1: LINEAR of a stored value onto 0..255. */
function linear(x: number, center: number, width: number): number {
  if (x <= center - 0.5 - (width - 1) / 2) return 0;
  if (x > center - 0.5 + (width - 1) / 2) return 255;
  return ((x - (center - 0.5)) / (width - 1) + 0.5) * 255;
}

for (const driver of testDrivers()) describe(`Rendered resources and thumbnails (${driver.name})`, { skip: driver.skip }, () => {
  let server: ImagingServer;
  const tokens: Record<string, string> = {};
  const study = dicomUid();
  const series = [dicomUid(), dicomUid()];
  const sops = [dicomUid(), dicomUid()];
  before(async () => {
    server = await startImagingServer(driver);
    for (const id of ['rnd-org-a', 'rnd-org-b']) assert.equal((await server.fhir('PUT', `Organization/${id}`, { resourceType: 'Organization', id, name: id, active: true })).status, 201);
    const patient = { resourceType: 'Patient', id: 'rnd-p', identifier: [{ system: IIN_SYSTEM, value: IIN_P }], name: [{ family: 'Жақсылықова' }], birthDate: '1982-03-04', gender: 'female', generalPractitioner: [{ reference: 'Organization/rnd-org-a' }] };
    assert.equal((await server.fhir('PUT', 'Patient/rnd-p', patient)).status, 201);
    tokens.clinicianA = await server.token({ sub: 'rnd-clinician-a', client_id: 'mis-a', scope: 'user/*.cruds', role: 'clinician', organization: 'rnd-org-a' });
    tokens.clinicianB = await server.token({ sub: 'rnd-clinician-b', client_id: 'mis-b', scope: 'user/*.cruds', role: 'clinician', organization: 'rnd-org-b' });
    const attributes = (n: number) => ({ PatientID: IIN_P, PatientName: 'Жақсылықова^Дана', SeriesNumber: n + 1 });
    const { body, contentType } = multipartBody([
      // The second series is sent first: the representative is chosen by series number, not arrival.
      dicomInstance({ studyInstanceUid: study, seriesInstanceUid: series[1], sopInstanceUid: sops[1], rows: ROWS, columns: COLUMNS, pixel: () => 4000, attributes: attributes(1) }),
      dicomInstance({ studyInstanceUid: study, seriesInstanceUid: series[0], sopInstanceUid: sops[0], rows: ROWS, columns: COLUMNS, frames: 3, pixel, attributes: attributes(0) }),
    ]);
    const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType } });
    assert.equal(reply.status, 200, await reply.text());
  });
  after(() => server.close());

  const instance = `/studies/${study}/series/${series[0]}/instances/${sops[0]}`;
  const get = async (path: string, accept?: string, token?: string) => {
    const reply = await server.dicomweb('GET', path, { headers: { ...(accept ? { accept } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    return { status: reply.status, type: reply.headers.get('content-type') ?? '', cache: reply.headers.get('cache-control') ?? '', body: Buffer.from(await reply.arrayBuffer()) };
  };
  /** The first row of a rendered image, grey levels decoded by sharp. */
  const firstRow = async (image: Buffer) => {
    const { data, info } = await sharp(image).greyscale().raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, row: [...data.subarray(0, info.width)] };
  };

  test('an instance renders its first frame as PNG in the window asked for, privately cacheable', async () => {
    const reply = await get(`${instance}/rendered?window=750,1500`, 'image/png');
    assert.equal(reply.status, 200, reply.body.toString());
    assert.equal(reply.type, 'image/png');
    assert.match(reply.cache, /private/);
    const { width, height, row } = await firstRow(reply.body);
    assert.deepEqual([width, height], [COLUMNS, ROWS]);
    row.forEach((value, c) => assert.ok(Math.abs(value - linear(pixel(0, 0, c), 750, 1500)) <= 1, `column ${c}: ${value}`));
    // Without a window the stored one (2048, 4096) applies: darker at the same column.
    const stored = await firstRow((await get(`${instance}/rendered`, 'image/png')).body);
    assert.ok(Math.abs(stored.row[7]! - linear(700, 2048, 4096)) <= 1, `stored window: ${stored.row[7]}`);
  });

  test('a frame renders as JPEG by default and for */*, at the quality and viewport asked', async () => {
    for (const accept of [undefined, '*/*', 'image/jpeg']) {
      const reply = await get(`${instance}/frames/2/rendered?window=1750,1500&quality=95`, accept);
      assert.equal(reply.status, 200, reply.body.toString());
      assert.equal(reply.type, 'image/jpeg');
      const { row } = await firstRow(reply.body);
      for (const c of [2, 7, 12]) assert.ok(Math.abs(row[c]! - linear(pixel(1, 0, c), 1750, 1500)) <= 8, `frame 2 column ${c}: ${row[c]}`);
    }
    const small = await firstRow((await get(`${instance}/frames/3/rendered?viewport=8,8`)).body);
    assert.deepEqual([small.width, small.height], [8, 4], 'fits inside 8×8 keeping the aspect');
  });

  test('a series and a study render their first instance; their thumbnails are JPEG of it', async () => {
    const secondSeries = await firstRow((await get(`/studies/${study}/series/${series[1]}/rendered?window=2000,100`, 'image/png')).body);
    assert.ok(secondSeries.row.every((v) => v === 255), 'the other series is its own instance (all 4000)');
    const studyImage = await get(`/studies/${study}/rendered?window=750,1500`, 'image/png');
    assert.equal(studyImage.status, 200);
    assert.deepEqual((await firstRow(studyImage.body)).row, (await firstRow((await get(`${instance}/rendered?window=750,1500`, 'image/png')).body)).row, 'the study shows series 1, instance 1');
    for (const path of [`${instance}/thumbnail`, `/studies/${study}/series/${series[0]}/thumbnail`, `/studies/${study}/thumbnail`]) {
      const reply = await get(path);
      assert.equal(reply.status, 200, `${path}: ${reply.body.toString()}`);
      assert.equal(reply.type, 'image/jpeg');
      assert.match(reply.cache, /private/);
      assert.equal((await sharp(reply.body).metadata()).format, 'jpeg');
    }
    assert.equal((await get(`${instance}/thumbnail`, 'image/png')).type, 'image/png');
    const sized = await sharp((await get(`${instance}/thumbnail?viewport=40,64`)).body).metadata();
    assert.deepEqual([sized.width, sized.height], [40, 20], 'fits 40 px wide keeping the aspect');
    const standard = await sharp((await get(`/studies/${study}/thumbnail`)).body).metadata();
    assert.deepEqual([standard.width, standard.height], [128, 64], '128 px by default');
  });

  test('other image types are 406; bad or unknown parameters 400; missing frames and UIDs 404', async () => {
    assert.equal((await get(`${instance}/rendered`, 'image/gif')).status, 406);
    assert.equal((await get(`${instance}/thumbnail`, 'application/dicom')).status, 406);
    for (const query of ['window=abc', 'window=100,0', 'viewport=0,10', 'quality=0', 'quality=101', 'quality=9.5', 'annotation=patient', 'frame=1']) {
      const reply = await get(`${instance}/rendered?${query}`);
      assert.equal(reply.status, 400, `${query}: ${reply.status}`);
      assert.match(reply.type, /^text\/plain/);
    }
    const russian = await server.dicomweb('GET', `${instance}/rendered?window=1,0`, { headers: { 'accept-language': 'ru' } });
    assert.equal(russian.status, 400);
    assert.match(await russian.text(), /^Параметр окна некорректен/);
    const kazakh = await server.dicomweb('GET', `${instance}/frames/9/rendered`, { headers: { 'accept-language': 'kk-KZ' } });
    assert.equal(kazakh.status, 404);
    assert.match(await kazakh.text(), /^Мұндай кадр жоқ/);
    assert.equal((await get(`${instance}/thumbnail?viewport=64,64,0,0,4,4`)).status, 400);
    assert.equal((await get(`${instance}/thumbnail?window=1,10`)).status, 400);
    assert.equal((await get(`${instance}/frames/4/rendered`)).status, 404);
    assert.equal((await get(`${instance}/frames/1,2/rendered`)).status, 400);
    assert.equal((await get(`/studies/${study}/series/${dicomUid()}/rendered`)).status, 404);
    assert.equal((await get(`/studies/${dicomUid()}/thumbnail`)).status, 404);
  });

  test('a clinician without a care relationship gets 404 on rendered and thumbnail; one with it gets the image', async () => {
    for (const path of [`${instance}/rendered`, `${instance}/frames/1/rendered`, `/studies/${study}/rendered`, `${instance}/thumbnail`, `/studies/${study}/thumbnail`]) {
      assert.equal((await get(path, undefined, tokens.clinicianB)).status, 404, path);
      assert.equal((await get(path, undefined, tokens.clinicianA)).status, 200, path);
    }
  });
});
