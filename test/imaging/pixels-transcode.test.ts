import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readImage } from '../../src/imaging/pixels/image.js';
import { ImagingError, transcodeToExplicitLittleEndian, uncompressedFrame } from '../../src/imaging/pixels/index.js';
import { dicomInstance, EXPLICIT_VR_LITTLE_ENDIAN, type InstanceOptions } from '../../src/synth/dicom-instances.js';
import { encode, type Syntax } from '../support/dicom-syntaxes.js';

const dir = mkdtempSync(join(tmpdir(), 'densaulyq-transcode-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The data set as dcmtk reads it (dcm2json: every element, pixel data as base64). */
function dcmtkJson(part10: Buffer): Record<string, unknown> {
  const path = join(dir, 'file.dcm');
  writeFileSync(path, part10);
  return JSON.parse(execFileSync('dcm2json', [path]).toString()) as Record<string, unknown>;
}

const cases: [string, InstanceOptions][] = [
  ['12-bit multi-frame CT with a Cyrillic name (ISO_IR 192)', { rows: 48, columns: 64, frames: 3, pixel: (f, r, c) => (f * 701 + r * 67 + c * 29) % 4096, attributes: { PatientName: 'Сейітов^Айгүл', StudyDescription: 'КТ кеуде қуысы' } }],
  [
    'functional groups (nested sequences)',
    {
      rows: 16,
      columns: 16,
      frames: 2,
      attributes: {
        SharedFunctionalGroupsSequence: [{ PixelValueTransformationSequence: [{ RescaleSlope: 2, RescaleIntercept: -100 }] }],
        PerFrameFunctionalGroupsSequence: [{ FrameContentSequence: [{ FrameAcquisitionNumber: 1 }] }, { FrameContentSequence: [{ FrameAcquisitionNumber: 2 }] }],
      },
    },
  ],
  ['8-bit RGB, two frames', { rows: 24, columns: 30, frames: 2, bitsAllocated: 8, samplesPerPixel: 3, pixel: (f, r, c, s) => (f * 40 + r * 7 + c * 5 + s * 80) % 256 }],
];

describe('an instance stored compressed is served uncompressed in Explicit VR Little Endian', () => {
  for (const syntax of ['implicit-little-endian', 'deflated-little-endian', 'encapsulated-uncompressed', 'rle', 'jpeg-lossless', 'jpeg-lossless-sv1', 'jpeg-ls', 'jpeg2000-lossless'] as Syntax[])
    for (const [name, options] of cases)
      test(`${syntax}: ${name}, as dcmtk reads the original`, async () => {
        const original = dicomInstance(options);
        const transcoded = await transcodeToExplicitLittleEndian(encode(original, syntax));
        assert.equal(readImage(transcoded).transferSyntaxUid, EXPLICIT_VR_LITTLE_ENDIAN);
        // Every element, pixel data and text in UTF-8 included, as in the uncompressed original, but
        // the Derivation Description dcmcjpeg adds when it compresses.
        const { '00082111': _derivation, ...elements } = dcmtkJson(transcoded);
        assert.deepEqual(elements, dcmtkJson(original));
      });

  test('JPEG baseline colour comes as RGB, pixel by pixel, the samples as decoded', async () => {
    const compressed = encode(dicomInstance(cases[2]![1]), 'jpeg-baseline');
    const transcoded = await transcodeToExplicitLittleEndian(compressed);
    const json = dcmtkJson(transcoded) as Record<string, { Value?: unknown[] }>;
    assert.deepEqual(json['00280004']?.Value, ['RGB']);
    assert.deepEqual(json['00280006']?.Value, [0]);
    for (const frame of [1, 2]) assert.deepEqual((await uncompressedFrame(transcoded, frame)).bytes, (await uncompressedFrame(compressed, frame)).bytes);
  });

  test('an uncompressed explicit little endian file is served as it is', async () => {
    const original = dicomInstance();
    assert.equal(await transcodeToExplicitLittleEndian(original), original);
  });

  test('a big endian data set is refused with 415 (every value would need swapping by its VR)', async () => {
    await assert.rejects(transcodeToExplicitLittleEndian(encode(dicomInstance(), 'explicit-big-endian')), (error: unknown) => error instanceof ImagingError && error.status === 415);
  });
});
