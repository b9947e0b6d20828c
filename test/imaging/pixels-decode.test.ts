import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readImage } from '../../src/imaging/pixels/image.js';
import { extractFrame, ImagingError, renderFrame, transcodeToExplicitLittleEndian, uncompressedFrame } from '../../src/imaging/pixels/index.js';
import { dicomInstance, type InstanceOptions } from '../../src/synth/dicom-instances.js';
import { encode, referenceFrames, relayout, SYNTAXES, type Layout, type Syntax } from '../support/dicom-syntaxes.js';

/** Every frame as uncompressed little-endian samples, as dcmtk writes them decompressed. */
async function decodedFrames(part10: Buffer): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  for (let f = 1; f <= readImage(part10).numberOfFrames; f++) frames.push((await uncompressedFrame(part10, f)).bytes);
  return frames;
}

/** The largest and the mean difference between two frames' (unsigned) samples. */
function differences(a: Buffer, b: Buffer, bytes: number): { max: number; mean: number } {
  assert.equal(a.length, b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i += bytes) {
    const read = (x: Buffer) => (bytes === 1 ? x[i]! : x.readUInt16LE(i));
    const d = Math.abs(read(a) - read(b));
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / (a.length / bytes) };
}

const originalFrames = (part10: Buffer) => Array.from({ length: readImage(part10).numberOfFrames }, (_, i) => Buffer.from(extractFrame(part10, i + 1).bytes));

/** CT-like: 12 bits stored in 16, three frames of a non-square image, values across the range. */
const ct: InstanceOptions = { rows: 48, columns: 64, frames: 3, pixel: (f, r, c) => (f * 701 + r * 67 + c * 29 + ((r * c) % 13) * 11) % 4096 };
/** Signed 16-bit, negative and positive (PixelRepresentation 1, BitsStored 16). */
const signed: InstanceOptions = {
  rows: 32,
  columns: 40,
  frames: 2,
  pixel: (f, r, c) => -1024 + ((f * 97 + r * 53 + c * 41) % 3000),
  attributes: { PixelRepresentation: 1, BitsStored: 16, HighBit: 15, WindowCenter: 40, WindowWidth: 400, RescaleIntercept: 0, RescaleSlope: 1 },
};
/** Signed in 12 of 16 bits, the sign extended through the top 4 bits as many CT scanners write it. */
const signed12: InstanceOptions = {
  rows: 32,
  columns: 40,
  pixel: (_f, r, c) => -2000 + ((r * 131 + c * 37) % 4000),
  attributes: { PixelRepresentation: 1, BitsStored: 12, HighBit: 11, WindowCenter: 40, WindowWidth: 400, RescaleIntercept: 0, RescaleSlope: 1 },
};
/** 8-bit RGB, two frames. */
const rgb: InstanceOptions = { rows: 24, columns: 30, frames: 2, bitsAllocated: 8, samplesPerPixel: 3, pixel: (f, r, c, s) => (f * 40 + r * 7 + c * 5 + s * 80) % 256 };
/** 8-bit grey, the only depth JPEG baseline holds. */
const grey8: InstanceOptions = { rows: 40, columns: 40, frames: 2, bitsAllocated: 8, pixel: (f, r, c) => Math.round(128 + 100 * Math.sin((r + f * 5) / 6) * Math.cos(c / 7)) };

const LOSSLESS: Syntax[] = ['implicit-little-endian', 'deflated-little-endian', 'explicit-big-endian', 'encapsulated-uncompressed', 'rle', 'jpeg-lossless', 'jpeg-lossless-sv1', 'jpeg-ls', 'jpeg2000-lossless'];
const CASES: [string, InstanceOptions][] = [
  ['12-bit multi-frame CT', ct],
  ['signed 16-bit', signed],
  ['signed 12-bit', signed12],
  ['8-bit RGB', rgb],
];

describe('lossless transfer syntaxes decode to exactly the stored samples', () => {
  for (const syntax of LOSSLESS)
    for (const [name, options] of CASES)
      test(`${syntax}: ${name}`, async () => {
        const original = dicomInstance(options);
        const compressed = encode(original, syntax);
        assert.equal(readImage(compressed).transferSyntaxUid, SYNTAXES[syntax]);
        const decoded = await decodedFrames(compressed);
        assert.deepEqual(decoded, originalFrames(original));
        if (!['implicit-little-endian', 'deflated-little-endian', 'explicit-big-endian', 'encapsulated-uncompressed'].includes(syntax))
          assert.deepEqual(decoded, referenceFrames(compressed), 'the reference decoder disagrees');
      });

  test('JPEG-LS without interleave (planes one after another) comes out the same', async () => {
    const original = dicomInstance(rgb);
    const compressed = encode(original, 'jpeg-ls', ['+in']);
    assert.deepEqual(await decodedFrames(compressed), originalFrames(original));
  });
});

describe('lossy transfer syntaxes decode as the reference decoders do', () => {
  // [syntax, image, name, largest difference to the reference decoder, mean difference to the
  // original (none for grey JPEG baseline: dcmcjpeg rescales monochrome values to 8 bits first)]
  const lossy: [Syntax, InstanceOptions, string, number, number | undefined][] = [
    ['jpeg-baseline', grey8, '8-bit grey', 1, undefined],
    ['jpeg-baseline', rgb, '8-bit RGB (YBR_FULL_422 in the codestream)', 2, 12],
    ['jpeg-ls-near', ct, '12-bit CT, NEAR 2', 0, 2],
    // The test images wrap around (modulo), edges that an 8:1 wavelet code smooths: 1.5 % of the range.
    ['jpeg2000', ct, '12-bit CT at 8:1', 1, 60],
  ];
  for (const [syntax, options, name, toReference, toOriginal] of lossy)
    test(`${syntax}: ${name}`, async () => {
      const original = dicomInstance(options);
      const compressed = encode(original, syntax);
      const decoded = await decodedFrames(compressed);
      const image = readImage(original);
      const { photometricInterpretation } = await uncompressedFrame(compressed, 1);
      assert.equal(photometricInterpretation, image.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2', 'JPEG decodes YBR to RGB');
      const reference = referenceFrames(compressed);
      const before = originalFrames(original);
      decoded.forEach((frame, i) => {
        const bytes = image.bitsAllocated / 8;
        assert.ok(differences(frame, reference[i]!, bytes).max <= toReference, `frame ${i + 1} differs from the reference decoder`);
        const { mean } = differences(frame, before[i]!, bytes);
        assert.ok(toOriginal === undefined || mean <= toOriginal, `frame ${i + 1} is ${mean} from the original on average`);
      });
    });
});

describe('frames of encapsulated pixel data are found however the fragments are laid out (PS3.5 A.4)', () => {
  const layouts: Layout[] = ['no-offset-table', 'extended-offset-table', 'offset-table-split', 'no-offset-table-split'];
  for (const syntax of ['jpeg-ls', 'jpeg2000-lossless', 'jpeg-lossless-sv1'] as Syntax[])
    for (const layout of layouts)
      test(`${syntax}, ${layout}`, async () => {
        const original = dicomInstance(ct);
        const compressed = encode(original, syntax);
        const moved = relayout(compressed, layout);
        for (let f = 1; f <= 3; f++) assert.deepEqual(extractFrame(moved, f).bytes, extractFrame(compressed, f).bytes, `frame ${f}`);
        assert.deepEqual(await decodedFrames(moved), originalFrames(original));
      });
});

describe('extractFrame', () => {
  test('an uncompressed frame is its slice of the pixel data, with the stored syntax', () => {
    const part10 = dicomInstance({ ...ct, pixel: (f) => f + 1 });
    const { transferSyntaxUid, bytes } = extractFrame(part10, 2);
    assert.equal(transferSyntaxUid, '1.2.840.10008.1.2.1');
    assert.equal(bytes.length, 48 * 64 * 2);
    assert.ok([...new Uint16Array(Buffer.from(bytes).buffer)].every((v) => v === 2));
  });

  test('a compressed frame is its codestream, as stored', () => {
    const part10 = encode(dicomInstance(ct), 'jpeg-ls');
    const bytes = extractFrame(part10, 3).bytes;
    assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8]);
    assert.equal(extractFrame(part10, 3).transferSyntaxUid, SYNTAXES['jpeg-ls']);
  });

  for (const frame of [0, 4, 1.5, -1])
    test(`frame ${frame} of 3 is refused with 404`, () => {
      for (const part10 of [dicomInstance(ct), encode(dicomInstance(ct), 'rle')])
        assert.throws(() => extractFrame(part10, frame), (error: unknown) => error instanceof ImagingError && error.status === 404 && error.code === 'frame-out-of-range');
    });

  test('a truncated or foreign file is refused with 400, never a crash', () => {
    const part10 = encode(dicomInstance(ct), 'jpeg-ls');
    for (const broken of [part10.subarray(0, part10.length - 100), part10.subarray(0, 400), Buffer.from('not a DICOM file at all'), Buffer.alloc(300)])
      assert.throws(() => extractFrame(broken, 1), (error: unknown) => error instanceof ImagingError && error.status === 400);
  });

  test('a file without pixel data is refused with 404', () => {
    const part10 = dicomInstance({ rows: 2, columns: 2 });
    // Cut the Pixel Data element (the last one: 12 header bytes and 8 value bytes).
    assert.throws(() => extractFrame(part10.subarray(0, part10.length - 20), 1), (error: unknown) => error instanceof ImagingError && error.code === 'no-pixel-data');
  });
});

describe('damaged files never crash the renderer or the transcoder', () => {
  test('every syntax, cut short or with bytes overwritten: an ImagingError or an image, nothing else', async () => {
    let random = 7;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31);
    const withSequences: InstanceOptions = { ...ct, attributes: { SharedFunctionalGroupsSequence: [{ PixelValueTransformationSequence: [{ RescaleSlope: 1, RescaleIntercept: 0 }] }] } };
    for (const syntax of ['rle', 'jpeg-baseline', 'jpeg-lossless-sv1', 'jpeg-ls', 'jpeg2000-lossless', 'explicit-big-endian', 'implicit-little-endian'] as Syntax[]) {
      const part10 = encode(dicomInstance(syntax === 'jpeg-baseline' ? grey8 : withSequences), syntax);
      for (let trial = 0; trial < 60; trial++) {
        const damaged = Buffer.from(part10);
        if (trial % 2 === 0) damaged.fill(next() % 256, 132 + (next() % (part10.length - 140)), undefined);
        // Odd trials overwrite bytes anywhere, or (every other one) in the header, where the sequences are.
        else for (let k = 0; k < 8; k++) damaged[132 + (next() % (trial % 4 === 1 ? 800 : part10.length - 132))] = next() % 256;
        const cut = trial % 2 === 0 ? damaged.subarray(0, 132 + (next() % (part10.length - 132))) : damaged;
        for (const use of [() => renderFrame(cut, 1, { mediaType: 'image/png' }), () => transcodeToExplicitLittleEndian(cut)])
          try {
            await use();
          } catch (error) {
            assert.ok(error instanceof ImagingError, `${syntax}, trial ${trial}: ${String(error)}`);
          }
      }
      // A codec that a damaged codestream crashed is not left broken for the files that follow.
      await renderFrame(part10, 1, { mediaType: 'image/png' });
    }
  });
});
