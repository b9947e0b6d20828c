import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { readImage } from '../../src/imaging/pixels/image.js';
import { extractFrame } from '../../src/imaging/pixels/index.js';
import { dicomInstance, dicomUid } from '../../src/synth/dicom-instances.js';
import { SYNTAXES, type Syntax, encode, referenceFrames } from '../support/dicom-syntaxes.js';
import { type ImagingServer, multipartBody, parseMultipart, startImagingServer } from './dicomweb.js';

const FRAMES = 3;
const ROWS = 8;
const COLUMNS = 6;
/** An element of 2 KB: bulk data in the metadata (over 1 KB), not inline. */
const ICC_PROFILE = Buffer.alloc(2048, 0x5a);

for (const driver of testDrivers()) describe(`WADO-RS (${driver.name})`, { skip: driver.skip }, () => {
  let server: ImagingServer;
  const study = dicomUid();
  const series = dicomUid();
  const sops = [dicomUid(), dicomUid()];
  let sent: Buffer[];
  before(async () => {
    server = await startImagingServer(driver);
    sent = [
      dicomInstance({ studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sops[0], rows: ROWS, columns: COLUMNS, frames: FRAMES, attributes: { PatientName: 'Сейткали^Айгерим', InstanceNumber: 1 } }),
      dicomInstance({ studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sops[1], attributes: { InstanceNumber: 2, ICCProfile: ICC_PROFILE.buffer.slice(0) } }),
    ];
    const { body, contentType } = multipartBody(sent);
    const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType } });
    assert.equal(reply.status, 200, await reply.text());
  });
  after(() => server.close());

  const get = async (path: string, accept?: string) => {
    const reply = await server.dicomweb('GET', path, { headers: accept ? { accept } : {} });
    return { status: reply.status, type: reply.headers.get('content-type') ?? '', body: Buffer.from(await reply.arrayBuffer()) };
  };
  const instancePath = (n: number) => `/studies/${study}/series/${series}/instances/${sops[n]}`;

  test('an instance, a series and a study come back byte for byte as sent, as multipart/related application/dicom', async () => {
    const one = await get(instancePath(1), 'multipart/related; type="application/dicom"');
    assert.equal(one.status, 200, one.body.toString());
    assert.match(one.type, /^multipart\/related; type="application\/dicom"; boundary=/);
    const [part] = parseMultipart(one.body, one.type);
    assert.match(part!.headers['content-type']!, /^application\/dicom; transfer-syntax=1\.2\.840\.10008\.1\.2\.1$/);
    assert.ok(part!.body.equals(sent[1]!));
    for (const path of [`/studies/${study}`, `/studies/${study}/series/${series}`]) {
      const all = await get(path, 'multipart/related; type="application/dicom"; transfer-syntax=*');
      assert.equal(all.status, 200);
      const parts = parseMultipart(all.body, all.type);
      assert.equal(parts.length, 2);
      assert.ok(parts[0]!.body.equals(sent[0]!) && parts[1]!.body.equals(sent[1]!));
    }
    assert.equal((await get(instancePath(1))).status, 200, 'no Accept: the default multipart');
  });

  test('another transfer syntax than the stored one or Explicit VR Little Endian is a 406; the stored one is served as sent', async () => {
    assert.equal((await get(instancePath(0), 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50')).status, 406);
    assert.equal((await get(instancePath(0), 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2')).status, 406);
    const explicit = await get(instancePath(0), 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1');
    assert.equal(explicit.status, 200);
    assert.ok(parseMultipart(explicit.body, explicit.type)[0]!.body.equals(sent[0]!), 'stored in the syntax asked: as sent');
    assert.equal((await get(instancePath(0), 'application/json')).status, 406);
  });

  test('metadata is DICOM JSON whose bulk data URI returns the pixel data', async () => {
    const reply = await get(`/studies/${study}/metadata`, 'application/dicom+json');
    assert.equal(reply.status, 200);
    assert.match(reply.type, /^application\/dicom\+json/);
    const metadata = JSON.parse(reply.body.toString());
    assert.equal(metadata.length, 2);
    const first = metadata.find((m: any) => m['00080018'].Value[0] === sops[0]);
    assert.equal(first['00100010'].Value[0].Alphabetic, 'Сейткали^Айгерим');
    assert.equal(first['00280008'].Value[0], FRAMES);
    const uri: string = first['7FE00010'].BulkDataURI;
    assert.equal(uri, `${server.dicomBase}${instancePath(0)}/bulkdata/7FE00010`);
    const bulk = await get(uri.slice(server.dicomBase.length), 'multipart/related; type="application/octet-stream"');
    assert.equal(bulk.status, 200);
    const [pixels] = parseMultipart(bulk.body, bulk.type);
    assert.equal(pixels!.body.length, ROWS * COLUMNS * FRAMES * 2);
    assert.ok(sent[0]!.includes(pixels!.body), 'the pixel data as sent');
    const instance = JSON.parse((await get(`${instancePath(1)}/metadata`)).body.toString());
    assert.equal(instance.length, 1);
    const icc = instance[0]['00282000'];
    assert.equal(icc.InlineBinary, undefined);
    assert.equal(icc.BulkDataURI, `${server.dicomBase}${instancePath(1)}/bulkdata/00282000`);
    const profile = await get(icc.BulkDataURI.slice(server.dicomBase.length));
    assert.equal(profile.status, 200);
    assert.ok(parseMultipart(profile.body, profile.type)[0]!.body.equals(ICC_PROFILE));
  });

  test('frames of a native multi-frame instance come as application/octet-stream, each the frame sent', async () => {
    const reply = await get(`${instancePath(0)}/frames/2,3`, 'multipart/related; type="application/octet-stream"');
    assert.equal(reply.status, 200, reply.body.toString());
    const parts = parseMultipart(reply.body, reply.type);
    assert.equal(parts.length, 2);
    const frameSize = ROWS * COLUMNS * 2;
    // The generator's gradient: frame f, row r, column c is (f*37 + r*5 + c*3) % 4096.
    const expected = (f: number) => {
      const frame = Buffer.alloc(frameSize);
      for (let r = 0; r < ROWS; r++) for (let c = 0; c < COLUMNS; c++) frame.writeUInt16LE((f * 37 + r * 5 + c * 3) % 4096, (r * COLUMNS + c) * 2);
      return frame;
    };
    assert.ok(parts[0]!.body.equals(expected(1)));
    assert.ok(parts[1]!.body.equals(expected(2)));
    assert.match(parts[0]!.headers['content-type']!, /^application\/octet-stream; transfer-syntax=1\.2\.840\.10008\.1\.2\.1$/);
    const asStored = await get(`${instancePath(0)}/frames/1`, 'multipart/related; type="application/octet-stream"; transfer-syntax=*');
    assert.ok(parseMultipart(asStored.body, asStored.type)[0]!.body.equals(expected(0)));
    assert.equal((await get(`${instancePath(0)}/frames/1`, 'multipart/related; type="image/jpeg"')).status, 406);
    assert.equal((await get(`${instancePath(0)}/frames/4`)).status, 404);
    assert.equal((await get(`${instancePath(0)}/frames/x`)).status, 400);
  });

  test('unknown UIDs are a 404 at every level', async () => {
    assert.equal((await get(`/studies/${dicomUid()}`)).status, 404);
    assert.equal((await get(`/studies/${study}/series/${dicomUid()}`)).status, 404);
    assert.equal((await get(`/studies/${study}/series/${series}/instances/${dicomUid()}/metadata`)).status, 404);
    assert.equal((await get(`${instancePath(0)}/bulkdata/00091010`)).status, 404);
  });

  test('a retrieve the client breaks off closes every file it opened', async () => {
    const big = dicomUid();
    const instances = Array.from({ length: 8 }, (_, i) => dicomInstance({ studyInstanceUid: study, seriesInstanceUid: big, rows: 512, columns: 512, attributes: { InstanceNumber: i + 1 } }));
    const { body, contentType } = multipartBody(instances);
    assert.equal((await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType } })).status, 200);
    const open = async () => (await readdir('/proc/self/fd').then((fds) => Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')))))
      .filter((target) => target.startsWith(server.imagesDir)).length;
    for (let n = 0; n < 5; n++) {
      const reply = await server.dicomweb('GET', `/studies/${study}/series/${big}`, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
      assert.equal(reply.status, 200);
      const reader = reply.body!.getReader();
      await reader.read();
      await reader.cancel();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await open(), 0, 'no image file is left open');
    const whole = await get(`/studies/${study}/series/${big}`, 'multipart/related; type="application/dicom"; transfer-syntax=*');
    assert.equal(parseMultipart(whole.body, whole.type).length, instances.length, 'and the next retrieve is whole');
  });

  test('an object shorter than its index says breaks the answer off rather than ending it as if whole', async () => {
    const short = dicomUid();
    const sop = dicomUid();
    const { body, contentType } = multipartBody([dicomInstance({ studyInstanceUid: study, seriesInstanceUid: short, sopInstanceUid: sop, rows: 64, columns: 64 })]);
    assert.equal((await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType } })).status, 200);
    const file = join(server.imagesDir, 'studies', study, short, `${sop}.dcm`);
    await writeFile(file, (await readFile(file)).subarray(0, 1000));
    const reply = await server.dicomweb('GET', `/studies/${study}/series/${short}`, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
    assert.equal(reply.status, 200);
    await assert.rejects(reply.arrayBuffer(), 'the body ends before its Content-Length');
  });
});

for (const driver of testDrivers()) describe(`WADO-RS of a compressed instance (${driver.name})`, { skip: driver.skip }, () => {
  let server: ImagingServer;
  let dir: string;
  let jpeg: Buffer;
  const study = dicomUid();
  const series = dicomUid();
  const sop = dicomUid();
  before(async () => {
    server = await startImagingServer(driver);
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-jpeg-'));
    await writeFile(join(dir, 'in.dcm'), dicomInstance({ studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sop, bitsAllocated: 8, rows: 32, columns: 32 }));
    execFileSync('dcmcjpeg', ['+eb', '+un', join(dir, 'in.dcm'), join(dir, 'out.dcm')]);
    jpeg = await readFile(join(dir, 'out.dcm'));
    const { body, contentType } = multipartBody([jpeg]);
    const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType } });
    assert.equal(reply.status, 200, await reply.text());
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('JPEG baseline is stored as sent, served as stored or transcoded, and its frame comes as image/jpeg or decoded', async () => {
    const path = `/studies/${study}/series/${series}/instances/${sop}`;
    const asStored = await server.dicomweb('GET', path, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' } });
    assert.equal(asStored.status, 200, await asStored.clone().text());
    const [part] = parseMultipart(Buffer.from(await asStored.arrayBuffer()), asStored.headers.get('content-type')!);
    assert.match(part!.headers['content-type']!, /transfer-syntax=1\.2\.840\.10008\.1\.2\.4\.50/);
    assert.ok(part!.body.equals(jpeg));
    const uncompressed = await server.dicomweb('GET', path, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1' } });
    assert.equal(uncompressed.status, 200);
    const [transcoded] = parseMultipart(Buffer.from(await uncompressed.arrayBuffer()), uncompressed.headers.get('content-type')!);
    assert.match(transcoded!.headers['content-type']!, /transfer-syntax=1\.2\.840\.10008\.1\.2\.1$/);
    assert.equal(readImage(transcoded!.body).transferSyntaxUid, '1.2.840.10008.1.2.1');
    assert.equal((await server.dicomweb('GET', path, { headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80' } })).status, 406);
    const frame = await server.dicomweb('GET', `${path}/frames/1`, { headers: { accept: 'multipart/related; type="image/jpeg"' } });
    assert.equal(frame.status, 200, await frame.clone().text());
    const [image] = parseMultipart(Buffer.from(await frame.arrayBuffer()), frame.headers.get('content-type')!);
    assert.match(image!.headers['content-type']!, /^image\/jpeg/);
    assert.deepEqual([...image!.body.subarray(0, 2)], [0xff, 0xd8], 'a JPEG stream (SOI)');
    const octets = await server.dicomweb('GET', `${path}/frames/1`, { headers: { accept: 'multipart/related; type="application/octet-stream"' } });
    assert.equal(octets.status, 200, 'frames are decompressed');
    const [samples] = parseMultipart(Buffer.from(await octets.arrayBuffer()), octets.headers.get('content-type')!);
    assert.ok(samples!.body.equals(referenceFrames(jpeg)[0]!), 'the samples dcmdjpeg decodes');
    assert.equal((await server.dicomweb('GET', `${path}/frames/1`, { headers: { accept: 'multipart/related; type="image/jls"' } })).status, 406);
  });
});

for (const driver of testDrivers()) describe(`WADO-RS frames and transcoding of JPEG-LS and RLE (${driver.name})`, { skip: driver.skip }, () => {
  let server: ImagingServer;
  const study = dicomUid();
  const series = dicomUid();
  const sops: Record<'jpeg-ls' | 'rle', string> = { 'jpeg-ls': dicomUid(), rle: dicomUid() };
  const original: Record<string, Buffer> = {};
  const sent: Record<string, Buffer> = {};
  const bigEndianStudy = dicomUid();
  let bigEndian: Buffer;
  before(async () => {
    server = await startImagingServer(driver);
    for (const [i, syntax] of (['jpeg-ls', 'rle'] as const).entries()) {
      original[syntax] = dicomInstance({ studyInstanceUid: study, seriesInstanceUid: series, sopInstanceUid: sops[syntax], rows: 12, columns: 10, frames: 3, attributes: { InstanceNumber: i + 1 } });
      sent[syntax] = encode(original[syntax]!, syntax as Syntax);
      assert.equal(readImage(sent[syntax]!).transferSyntaxUid, SYNTAXES[syntax]);
    }
    bigEndian = encode(dicomInstance({ studyInstanceUid: bigEndianStudy, rows: 4, columns: 4 }), 'explicit-big-endian');
    const { body, contentType } = multipartBody([sent['jpeg-ls']!, sent.rle!, bigEndian]);
    const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': contentType } });
    assert.equal(reply.status, 200, await reply.text());
  });
  after(() => server.close());

  const get = async (path: string, accept?: string) => {
    const reply = await server.dicomweb('GET', path, { headers: accept ? { accept } : {} });
    const body = Buffer.from(await reply.arrayBuffer());
    const type = reply.headers.get('content-type') ?? '';
    return { status: reply.status, parts: reply.status === 200 ? parseMultipart(body, type) : [], text: body.toString() };
  };
  const path = (syntax: 'jpeg-ls' | 'rle') => `/studies/${study}/series/${series}/instances/${sops[syntax]}`;
  /** Frame n (1-based) of the uncompressed file as generated. */
  const originalFrame = (syntax: string, n: number) => Buffer.from(extractFrame(original[syntax]!, n).bytes);

  test('frames asked as application/octet-stream (or by default) are the original samples, decoded', async () => {
    for (const syntax of ['jpeg-ls', 'rle'] as const) {
      for (const accept of [undefined, 'multipart/related; type="application/octet-stream"', 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1']) {
        const reply = await get(`${path(syntax)}/frames/1,3`, accept);
        assert.equal(reply.status, 200, `${syntax} ${accept}: ${reply.text}`);
        assert.equal(reply.parts.length, 2);
        assert.match(reply.parts[0]!.headers['content-type']!, /^application\/octet-stream; transfer-syntax=1\.2\.840\.10008\.1\.2\.1$/);
        assert.ok(reply.parts[0]!.body.equals(originalFrame(syntax, 1)), `${syntax} frame 1`);
        assert.ok(reply.parts[1]!.body.equals(originalFrame(syntax, 3)), `${syntax} frame 3`);
      }
    }
  });

  test('frames asked in the stored type or with transfer-syntax=* are the stored bytes; other types are 406', async () => {
    for (const [syntax, type] of [['jpeg-ls', 'image/jls'], ['rle', 'image/dicom-rle']] as const) {
      for (const accept of [`multipart/related; type="${type}"`, `multipart/related; type="${type}"; transfer-syntax=${SYNTAXES[syntax]}`, 'multipart/related; transfer-syntax=*']) {
        const reply = await get(`${path(syntax)}/frames/2`, accept);
        assert.equal(reply.status, 200, `${syntax} ${accept}: ${reply.text}`);
        assert.equal(reply.parts[0]!.headers['content-type'], `${type}; transfer-syntax=${SYNTAXES[syntax]}`);
        assert.ok(reply.parts[0]!.body.equals(extractFrame(sent[syntax]!, 2).bytes));
      }
      assert.equal((await get(`${path(syntax)}/frames/2`, 'multipart/related; type="image/jpeg"')).status, 406);
      assert.equal((await get(`${path(syntax)}/frames/2`, 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.4.50')).status, 406);
    }
  });

  test('instances come as stored for * or their syntax, in Explicit VR Little Endian without a syntax or when asked for it', async () => {
    const asStored = await get(`/studies/${study}/series/${series}`, 'multipart/related; type="application/dicom"; transfer-syntax=*');
    assert.equal(asStored.status, 200);
    assert.ok(asStored.parts[0]!.body.equals(sent['jpeg-ls']!) && asStored.parts[1]!.body.equals(sent.rle!));
    const own = await get(path('rle'), `multipart/related; type="application/dicom"; transfer-syntax=${SYNTAXES.rle}`);
    assert.ok(own.parts[0]!.body.equals(sent.rle!));
    assert.equal((await get(`/studies/${study}`, `multipart/related; type="application/dicom"; transfer-syntax=${SYNTAXES.rle}`)).status, 406, 'a mixed study is not all RLE');
    for (const accept of [undefined, 'multipart/related; type="application/dicom"', 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1']) {
      const reply = await get(`/studies/${study}`, accept);
      assert.equal(reply.status, 200, `${accept}: ${reply.text}`);
      assert.equal(reply.parts.length, 2);
      for (const [i, syntax] of (['jpeg-ls', 'rle'] as const).entries()) {
        const part = reply.parts[i]!;
        assert.equal(part.headers['content-type'], 'application/dicom; transfer-syntax=1.2.840.10008.1.2.1');
        assert.equal(readImage(part.body).transferSyntaxUid, '1.2.840.10008.1.2.1');
        for (const n of [1, 2, 3]) assert.ok(Buffer.from(extractFrame(part.body, n).bytes).equals(originalFrame(syntax, n)), `${syntax} frame ${n} transcoded`);
      }
    }
    assert.equal((await get(`/studies/${study}`, 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.90')).status, 406);
    assert.equal((await get(`/studies/${bigEndianStudy}`)).status, 406, 'big endian is not transcoded: 406 before any part');
    const asSent = await get(`/studies/${bigEndianStudy}`, 'multipart/related; type="application/dicom"; transfer-syntax=*');
    assert.ok(asSent.parts[0]!.body.equals(bigEndian));
  });
});
