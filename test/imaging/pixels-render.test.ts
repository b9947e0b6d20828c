import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dcmjs, { type DicomElement } from 'dcmjs';
import sharp from 'sharp';
import { decodeFrame } from '../../src/imaging/pixels/decode.js';
import { readImage } from '../../src/imaging/pixels/image.js';
import { extractFrame, ImagingError, parseViewportParameter, parseWindowParameter, renderFrame, thumbnail, type RenderOptions } from '../../src/imaging/pixels/index.js';
import { dicomInstance, type InstanceOptions } from '../../src/synth/dicom-instances.js';
import { encode, type Syntax } from '../support/dicom-syntaxes.js';

/** The image a client gets back, decoded: its size and, per pixel, the channels' values. */
async function received(body: Buffer): Promise<{ width: number; height: number; channels: number; data: Buffer }> {
  const { data, info } = await sharp(body).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data };
}

/** The grey levels of a rendered monochrome image (any channel: R = G = B). */
async function greys(body: Buffer): Promise<number[]> {
  const { data, channels } = await received(body);
  return Array.from({ length: data.length / channels }, (_, i) => data[i * channels]!);
}

/** The VOI LUT functions as PS3.3 C.11.2.1.2 writes them, to 0..255. */
const VOI = {
  linear: (x: number, c: number, w: number) => (x <= c - 0.5 - (w - 1) / 2 ? 0 : x > c - 0.5 + (w - 1) / 2 ? 255 : ((x - (c - 0.5)) / (w - 1) + 0.5) * 255),
  'linear-exact': (x: number, c: number, w: number) => (x <= c - w / 2 ? 0 : x > c + w / 2 ? 255 : ((x - c) / w + 0.5) * 255),
  sigmoid: (x: number, c: number, w: number) => 255 / (1 + Math.exp((-4 * (x - c)) / w)),
};

/** The frame's stored values, as the generator wrote them. */
function storedValues(options: InstanceOptions, frame: number): number[] {
  const values: number[] = [];
  for (let r = 0; r < options.rows!; r++) for (let c = 0; c < options.columns!; c++) values.push(options.pixel!(frame - 1, r, c, 0));
  return values;
}

const ct: InstanceOptions = {
  rows: 48,
  columns: 64,
  frames: 3,
  pixel: (f, r, c) => (f * 701 + r * 67 + c * 29) % 4096,
  attributes: { WindowCenter: 1000, WindowWidth: 500 },
};

const png: RenderOptions = { mediaType: 'image/png' };

/** A copy of a file with its pixel data and some elements (by tag) replaced, or removed when undefined. */
function withPixels(part10: Buffer, pixelData: Buffer, elements: Record<string, DicomElement | undefined>): Buffer {
  const message = dcmjs.data.DicomMessage.readFile(part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.length) as ArrayBuffer);
  for (const [tag, element] of Object.entries(elements)) {
    if (element) message.dict[tag] = element;
    else delete message.dict[tag];
  }
  message.dict['7FE00010'] = { vr: 'OB', Value: [pixelData.buffer.slice(pixelData.byteOffset, pixelData.byteOffset + pixelData.length)] };
  return Buffer.from(message.write());
}

describe('grey levels follow the window (PS3.18 8.3.5.1.3, PS3.3 C.11.2)', () => {
  test('the stored window, LINEAR: values outside it black or white, inside on the line', async () => {
    const levels = await greys((await renderFrame(dicomInstance(ct), 1, png)).body);
    const expected = storedValues(ct, 1).map((x) => Math.round(VOI.linear(x, 1000, 500)));
    assert.deepEqual(levels, expected);
    assert.ok(levels.includes(0) && levels.includes(255) && levels.some((v) => v > 0 && v < 255));
  });

  for (const fn of ['linear', 'linear-exact', 'sigmoid'] as const)
    test(`the request's window replaces the stored one: ${fn}`, async () => {
      const window = parseWindowParameter(`2500,1200,${fn.toUpperCase()}`);
      assert.deepEqual(window, { center: 2500, width: 1200, function: fn });
      const levels = await greys((await renderFrame(dicomInstance(ct), 2, { ...png, window })).body);
      assert.deepEqual(levels, storedValues(ct, 2).map((x) => Math.round(VOI[fn](x, 2500, 1200))));
    });

  test('the Modality LUT (rescale slope and intercept) comes before the window, in its units', async () => {
    const options = { ...ct, attributes: { RescaleSlope: 2, RescaleIntercept: -1024, WindowCenter: 40, WindowWidth: 400 } };
    const levels = await greys((await renderFrame(dicomInstance(options), 1, png)).body);
    assert.deepEqual(levels, storedValues(options, 1).map((x) => Math.round(VOI.linear(2 * x - 1024, 40, 400))));
  });

  test('the stored VOI LUT Function is applied (SIGMOID)', async () => {
    const options = { ...ct, attributes: { WindowCenter: 2048, WindowWidth: 1000, VOILUTFunction: 'SIGMOID' } };
    const levels = await greys((await renderFrame(dicomInstance(options), 1, png)).body);
    assert.deepEqual(levels, storedValues(options, 1).map((x) => Math.round(VOI.sigmoid(x, 2048, 1000))));
  });

  test('a Modality LUT Sequence replaces rescale, a VOI LUT Sequence maps when no window is given or stored (PS3.3 C.11)', async () => {
    const single = { ...ct, frames: 1 };
    const original = dicomInstance(single);
    const pixels = Buffer.from(extractFrame(original, 1).bytes);
    const lut = (descriptor: number[], data: number[]) => ({ vr: 'SQ', Value: [{ '00283002': { vr: 'US', Value: descriptor }, '00283006': { vr: 'US', Value: data } }] });
    const inverse = withPixels(original, pixels, {
      '00281053': { vr: 'DS', Value: [2] },
      '00283000': lut([4096, 0, 16], Array.from({ length: 4096 }, (_, i) => 4095 - i)),
      '00281050': { vr: 'DS', Value: [1000] },
      '00281051': { vr: 'DS', Value: [1000] },
    });
    assert.deepEqual(await greys((await renderFrame(inverse, 1, png)).body), storedValues(single, 1).map((x) => Math.round(VOI.linear(4095 - x, 1000, 1000))));
    const voi = withPixels(original, pixels, { '00281050': undefined, '00281051': undefined, '00283010': lut([2048, 1024, 12], Array.from({ length: 2048 }, (_, i) => 2 * i)) });
    const expected = storedValues(single, 1).map((x) => Math.round((2 * Math.min(Math.max(x - 1024, 0), 2047) * 255) / 4095));
    assert.deepEqual(await greys((await renderFrame(voi, 1, png)).body), expected);
    const windowed = await greys((await renderFrame(voi, 1, { ...png, window: { center: 2048, width: 4096 } })).body);
    assert.deepEqual(windowed, storedValues(single, 1).map((x) => Math.round(VOI.linear(x, 2048, 4096))), "the request's window wins");
  });

  test('without a window, the frame from its lowest to its highest value', async () => {
    const options: InstanceOptions = { rows: 20, columns: 20, bitsAllocated: 8, pixel: (_f, r, c) => 50 + r * 5 + c };
    const levels = await greys((await renderFrame(dicomInstance(options), 1, png)).body);
    assert.deepEqual(levels, storedValues(options, 1).map((x) => Math.round(VOI['linear-exact'](x, (50 + 164) / 2, 164 - 50))));
    assert.equal(levels[0], 0);
    assert.equal(levels.at(-1), 255);
  });

  test('MONOCHROME1 is inverted: low values white', async () => {
    const options = { ...ct, attributes: { ...ct.attributes, PhotometricInterpretation: 'MONOCHROME1' } };
    const levels = await greys((await renderFrame(dicomInstance(options), 1, png)).body);
    assert.deepEqual(levels, storedValues(options, 1).map((x) => 255 - Math.round(VOI.linear(x, 1000, 500))));
  });

  test('signed pixels (Pixel Representation 1) keep their sign', async () => {
    const options: InstanceOptions = {
      rows: 32,
      columns: 40,
      pixel: (_f, r, c) => -1000 + r * 50 + c * 7,
      attributes: { PixelRepresentation: 1, BitsStored: 16, HighBit: 15, WindowCenter: 40, WindowWidth: 400, RescaleIntercept: 0, RescaleSlope: 1 },
    };
    const levels = await greys((await renderFrame(dicomInstance(options), 1, png)).body);
    assert.deepEqual(levels, storedValues(options, 1).map((x) => Math.round(VOI.linear(x, 40, 400))));
    assert.equal(levels[0], 0, '-1000 HU is black in a soft-tissue window');
  });

  test('signed pixels in 12 of 16 bits, the bits above left zero, are sign-extended from bit 11', async () => {
    const values = (r: number, c: number) => -2000 + ((r * 131 + c * 37) % 4000);
    const options: InstanceOptions = {
      rows: 32,
      columns: 40,
      pixel: (_f, r, c) => values(r, c) & 0xfff,
      attributes: { PixelRepresentation: 1, BitsStored: 12, HighBit: 11, WindowCenter: 0, WindowWidth: 2000, RescaleIntercept: 0, RescaleSlope: 1 },
    };
    const expected = storedValues({ ...options, pixel: (_f, r, c) => values(r, c) }, 1).map((x) => Math.round(VOI.linear(x, 0, 2000)));
    assert.deepEqual(await greys((await renderFrame(dicomInstance(options), 1, png)).body), expected);
  });

  test('display tables made once are told apart by sign, inversion and rescale, in any order', async () => {
    const pattern = (r: number, c: number) => (r * 131 + c * 37) % 4096;
    const base: InstanceOptions = { rows: 32, columns: 40, pixel: (_f, r, c) => pattern(r, c), attributes: { BitsStored: 12, HighBit: 11, WindowCenter: 0, WindowWidth: 2000 } };
    const signed = (x: number) => (x << 20) >> 20;
    const cases: [string, InstanceOptions, (x: number) => number][] = [
      ['unsigned', base, (x) => Math.round(VOI.linear(x, 0, 2000))],
      ['signed', { ...base, attributes: { ...base.attributes, PixelRepresentation: 1 } }, (x) => Math.round(VOI.linear(signed(x), 0, 2000))],
      ['MONOCHROME1', { ...base, attributes: { ...base.attributes, PhotometricInterpretation: 'MONOCHROME1' } }, (x) => 255 - Math.round(VOI.linear(x, 0, 2000))],
      ['rescaled', { ...base, attributes: { ...base.attributes, RescaleIntercept: -1024 } }, (x) => Math.round(VOI.linear(x - 1024, 0, 2000))],
    ];
    for (const [name, options, level] of [...cases, ...cases.reverse()])
      assert.deepEqual(await greys((await renderFrame(dicomInstance(options), 1, png)).body), storedValues(options, 1).map(level), name);
  });

  test('an enhanced multi-frame image takes each frame\'s window from its functional groups (PS3.3 C.7.6.16)', async () => {
    const options = {
      ...ct,
      attributes: {
        SharedFunctionalGroupsSequence: [{ PixelValueTransformationSequence: [{ RescaleSlope: 2, RescaleIntercept: -100 }], FrameVOILUTSequence: [{ WindowCenter: 1500, WindowWidth: 900 }] }],
        PerFrameFunctionalGroupsSequence: [{ FrameVOILUTSequence: [{ WindowCenter: 3000, WindowWidth: 200 }] }, { FrameContentSequence: [{ FrameAcquisitionNumber: 2 }] }, { FrameContentSequence: [{ FrameAcquisitionNumber: 3 }] }],
      },
    };
    for (const part10 of [dicomInstance(options), encode(dicomInstance(options), 'implicit-little-endian')]) {
      assert.deepEqual(await greys((await renderFrame(part10, 1, png)).body), storedValues(options, 1).map((x) => Math.round(VOI.linear(2 * x - 100, 3000, 200))));
      assert.deepEqual(await greys((await renderFrame(part10, 2, png)).body), storedValues(options, 2).map((x) => Math.round(VOI.linear(2 * x - 100, 1500, 900))));
    }
  });

  test('32-bit samples (as in RT dose) over a range wider than a lookup table', async () => {
    const values = Array.from({ length: 16 * 16 }, (_, i) => i * 40_000);
    const part10 = withPixels(dicomInstance({ rows: 16, columns: 16 }), Buffer.from(new Uint32Array(values).buffer), {
      '00280100': { vr: 'US', Value: [32] },
      '00280101': { vr: 'US', Value: [32] },
      '00280102': { vr: 'US', Value: [31] },
      '00281050': { vr: 'DS', Value: [5_000_000] },
      '00281051': { vr: 'DS', Value: [6_000_000] },
    });
    assert.deepEqual(await greys((await renderFrame(part10, 1, png)).body), values.map((x) => Math.round(VOI.linear(x, 5_000_000, 6_000_000))));
  });

  test('each frame of a multi-frame image renders its own pixels', async () => {
    const part10 = dicomInstance(ct);
    for (const frame of [1, 2, 3])
      assert.deepEqual(await greys((await renderFrame(part10, frame, png)).body), storedValues(ct, frame).map((x) => Math.round(VOI.linear(x, 1000, 500))));
  });
});

describe('colour', () => {
  const rgb: InstanceOptions = { rows: 24, columns: 30, frames: 2, bitsAllocated: 8, samplesPerPixel: 3, pixel: (f, r, c, s) => (f * 40 + r * 7 + c * 5 + s * 80) % 256 };
  const rgbValues = (frame: number) => {
    const values: number[] = [];
    for (let r = 0; r < 24; r++) for (let c = 0; c < 30; c++) for (let s = 0; s < 3; s++) values.push(rgb.pixel!(frame - 1, r, c, s));
    return values;
  };

  test('RGB, pixel by pixel or plane by plane, renders its values', async () => {
    const interleaved = dicomInstance(rgb);
    const { data, channels } = await received((await renderFrame(interleaved, 2, png)).body);
    assert.equal(channels, 3);
    assert.deepEqual([...data], rgbValues(2));
    const frame = extractFrame(interleaved, 2).bytes;
    const planes = Buffer.alloc(frame.length);
    for (let p = 0; p < frame.length / 3; p++) for (let s = 0; s < 3; s++) planes[s * (frame.length / 3) + p] = frame[p * 3 + s]!;
    const planar = withPixels(dicomInstance({ ...rgb, frames: 1 }), planes, { '00280006': { vr: 'US', Value: [1] } });
    assert.deepEqual([...(await received((await renderFrame(planar, 1, png)).body)).data], rgbValues(2));
  });

  test('YBR_FULL and uncompressed YBR_FULL_422 are converted to RGB (PS3.3 C.7.6.3.1.2)', async () => {
    const [y, cb, cr] = [120, 90, 200];
    const expected = [y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128), y + 1.772 * (cb - 128)].map((v) => Math.round(Math.min(255, Math.max(0, v))));
    const full = dicomInstance({ rows: 4, columns: 4, bitsAllocated: 8, samplesPerPixel: 3, pixel: (_f, _r, _c, s) => [y, cb, cr][s]!, attributes: { PhotometricInterpretation: 'YBR_FULL' } });
    const halved = withPixels(dicomInstance({ rows: 4, columns: 4, bitsAllocated: 8, samplesPerPixel: 3 }), Buffer.from(Array.from({ length: 8 }, () => [y, y, cb, cr]).flat()), {
      '00280004': { vr: 'CS', Value: ['YBR_FULL_422'] },
    });
    for (const part10 of [full, halved]) {
      const { data } = await received((await renderFrame(part10, 1, png)).body);
      for (let p = 0; p < 16; p++) assert.deepEqual([...data.subarray(p * 3, p * 3 + 3)], expected);
    }
  });

  test('PALETTE COLOR looks each value up in the red, green and blue tables', async () => {
    const table = (f: (i: number) => number) => Buffer.from(new Uint16Array(Array.from({ length: 256 }, (_, i) => f(i) * 257)).buffer);
    const grey = dicomInstance({ rows: 8, columns: 8, bitsAllocated: 8, pixel: (_f, r, c) => r * 8 + c + 10 });
    const part10 = withPixels(grey, Buffer.from(extractFrame(grey, 1).bytes), {
      '00280004': { vr: 'CS', Value: ['PALETTE COLOR'] },
      '00281101': { vr: 'US', Value: [256, 0, 16] },
      '00281102': { vr: 'US', Value: [256, 0, 16] },
      '00281103': { vr: 'US', Value: [256, 0, 16] },
      '00281201': { vr: 'OW', Value: [table((i) => i).buffer] },
      '00281202': { vr: 'OW', Value: [table((i) => 255 - i).buffer] },
      '00281203': { vr: 'OW', Value: [table((i) => (i * 3) % 256).buffer] },
    });
    const { data, channels } = await received((await renderFrame(part10, 1, png)).body);
    assert.equal(channels, 3);
    for (let p = 0; p < 64; p++) assert.deepEqual([...data.subarray(p * 3, p * 3 + 3)], [p + 10, 255 - (p + 10), ((p + 10) * 3) % 256]);
  });
});

describe('every syntax renders', () => {
  const rgb: InstanceOptions = { rows: 24, columns: 30, bitsAllocated: 8, samplesPerPixel: 3, pixel: (_f, r, c, s) => (r * 7 + c * 5 + s * 80) % 256 };
  const lossless: Syntax[] = ['implicit-little-endian', 'explicit-big-endian', 'rle', 'jpeg-lossless', 'jpeg-lossless-sv1', 'jpeg-ls', 'jpeg2000-lossless'];
  for (const syntax of lossless)
    test(`${syntax}: the same image as uncompressed, grey and colour`, async () => {
      for (const options of [ct, rgb]) {
        const original = dicomInstance(options);
        const frame = (options.frames ?? 1) > 1 ? 2 : 1;
        assert.deepEqual((await renderFrame(encode(original, syntax), frame, png)).body, (await renderFrame(original, frame, png)).body);
      }
    });

  for (const syntax of ['jpeg-baseline', 'jpeg-ls-near', 'jpeg2000'] as Syntax[])
    test(`${syntax}: close to the uncompressed image`, async () => {
      // Smooth images: sharp edges are what lossy codes give up first.
      const smoothRgb: InstanceOptions = { ...rgb, pixel: (_f, r, c, s) => [r * 8, c * 8, 128][s]! };
      const options: InstanceOptions = syntax === 'jpeg-baseline' ? smoothRgb : { ...ct, pixel: (f, r, c) => 1000 + f * 40 + r * 5 + c * 4 };
      const original = dicomInstance(options);
      const a = await received((await renderFrame(encode(original, syntax), 1, png)).body);
      const b = await received((await renderFrame(original, 1, png)).body);
      const mean = a.data.reduce((sum, v, i) => sum + Math.abs(v - b.data[i]!), 0) / a.data.length;
      assert.ok(mean < 6, `mean difference ${mean}`);
    });
});

describe('output', () => {
  test('JPEG (quality 90 by default) decodes to the window mapping within JPEG error', async () => {
    const rendered = await renderFrame(dicomInstance(ct), 1, { mediaType: 'image/jpeg' });
    assert.equal(rendered.contentType, 'image/jpeg');
    assert.deepEqual([...rendered.body.subarray(0, 2)], [0xff, 0xd8]);
    const levels = await greys(rendered.body);
    const expected = storedValues(ct, 1).map((x) => Math.round(VOI.linear(x, 1000, 500)));
    const mean = levels.reduce((sum, v, i) => sum + Math.abs(v - expected[i]!), 0) / levels.length;
    assert.ok(mean < 4, `mean difference ${mean}`);
    const coarse = await renderFrame(dicomInstance(ct), 1, { mediaType: 'image/jpeg', quality: 20 });
    assert.ok(coarse.body.length < rendered.body.length);
  });

  test('a viewport scales the image to fit inside it, keeping its aspect', async () => {
    const { width, height } = await received((await renderFrame(dicomInstance(ct), 1, { ...png, viewport: { width: 32, height: 32 } })).body);
    assert.deepEqual([width, height], [32, 24]);
  });

  test('a viewport with a region shows that part of the image (PS3.18 8.3.5.1.2)', async () => {
    const viewport = parseViewportParameter('32,32,16,8,32,16');
    assert.deepEqual(viewport, { width: 32, height: 32, region: { x: 16, y: 8, width: 32, height: 16 } });
    const { width, height, data, channels } = await received((await renderFrame(dicomInstance(ct), 1, { ...png, viewport })).body);
    assert.deepEqual([width, height], [32, 16], 'the region at its own size, fitting 32×32');
    const expected = storedValues(ct, 1).map((x) => Math.round(VOI.linear(x, 1000, 500)));
    for (let r = 0; r < 16; r++) for (let c = 0; c < 32; c++) assert.equal(data[(r * 32 + c) * channels], expected[(r + 8) * 64 + c + 16], `(${r}, ${c})`);
    const j2k = await received((await renderFrame(encode(dicomInstance(ct), 'jpeg2000-lossless'), 1, { ...png, viewport: { width: 8, height: 8, region: { x: 0, y: 0, width: 32, height: 16 } } })).body);
    assert.deepEqual([j2k.width, j2k.height], [8, 4], 'a JPEG 2000 region at a lower resolution');
  });

  test('a thumbnail is the middle frame, JPEG, fitting 128 pixels (or the size asked)', async () => {
    const part10 = dicomInstance(ct);
    const small = await thumbnail(part10);
    assert.equal(small.contentType, 'image/jpeg');
    const { width, height } = await received(small.body);
    assert.deepEqual([width, height], [128, 96]);
    const asPng = await thumbnail(part10, { mediaType: 'image/png', size: 64 });
    assert.deepEqual(asPng.body, (await renderFrame(part10, 2, png)).body, 'frame 2 of 3, at its own size');
  });
});

describe('JPEG 2000 thumbnails', () => {
  test('decode only the resolution they need, and look like the full decode scaled down', async () => {
    const options: InstanceOptions = { rows: 512, columns: 384, pixel: (_f, r, c) => 500 + r * 4 + c * 2, attributes: { WindowCenter: 1500, WindowWidth: 2000 } };
    const original = dicomInstance(options);
    const compressed = encode(original, 'jpeg2000-lossless');
    const reduced = await decodeFrame(readImage(compressed), 1, 128 / 512);
    assert.deepEqual([reduced.rows, reduced.columns], [128, 96], 'two wavelet levels down');
    const full = await decodeFrame(readImage(compressed), 1);
    assert.deepEqual([full.rows, full.columns], [512, 384]);
    const a = await received((await thumbnail(compressed, { mediaType: 'image/png' })).body);
    const b = await received((await thumbnail(original, { mediaType: 'image/png' })).body);
    assert.deepEqual([a.width, a.height], [96, 128]);
    const mean = a.data.reduce((sum, v, i) => sum + Math.abs(v - b.data[i]!), 0) / a.data.length;
    assert.ok(mean < 2, `mean difference ${mean}`);
    const viewport = await received((await renderFrame(compressed, 1, { ...png, viewport: { width: 100, height: 200 } })).body);
    assert.deepEqual([viewport.width, viewport.height], [100, 133], 'a viewport decodes at a lower resolution too, then scales to fit');
  });
});

describe('refusals', () => {
  const refused = async (run: () => Promise<unknown>, status: number, code: string) =>
    assert.rejects(run, (error: unknown) => error instanceof ImagingError && error.status === status && error.code === code);

  test('a frame that does not exist: 404', async () => {
    await refused(() => renderFrame(dicomInstance(ct), 4, png), 404, 'frame-out-of-range');
    await refused(() => renderFrame(encode(dicomInstance(ct), 'jpeg-ls'), 0, png), 404, 'frame-out-of-range');
  });

  test('a window that is not one: 400', async () => {
    for (const text of ['40', '40,0', 'a,400', '40,400,cubic', '40,400,linear,x', ',400'])
      assert.throws(() => parseWindowParameter(text), (error: unknown) => error instanceof ImagingError && error.status === 400, text);
    await refused(() => renderFrame(dicomInstance(ct), 1, { ...png, window: { center: 40, width: 0.5 } }), 400, 'invalid-window');
    await refused(() => renderFrame(dicomInstance(ct), 1, { ...png, window: { center: Number.NaN, width: 400 } }), 400, 'invalid-window');
  });

  test('a media type other than JPEG or PNG: 406; a bad viewport or quality: 400', async () => {
    await refused(() => renderFrame(dicomInstance(ct), 1, { mediaType: 'image/gif' as 'image/png' }), 406, 'unsupported-media-type');
    await refused(() => renderFrame(dicomInstance(ct), 1, { ...png, viewport: { width: 0, height: 10 } }), 400, 'invalid-viewport');
    await refused(() => renderFrame(dicomInstance(ct), 1, { ...png, viewport: { width: 10, height: 10, region: { x: 40, y: 0, width: 30, height: 10 } } }), 400, 'invalid-viewport');
    for (const text of ['10', '10,10,0,0,5', '10,10,0,0,-5,5', 'a,10', '10,,'])
      assert.throws(() => parseViewportParameter(text), (error: unknown) => error instanceof ImagingError && error.status === 400, text);
    await refused(() => renderFrame(dicomInstance(ct), 1, { mediaType: 'image/jpeg', quality: 101 }), 400, 'invalid-quality');
  });

  test('a transfer syntax no decoder here reads: 415', async () => {
    const part10 = encode(dicomInstance(ct), 'jpeg-ls');
    // Same length: the syntax of a future codec the server does not know.
    const at = part10.indexOf('1.2.840.10008.1.2.4.80');
    const unknown = Buffer.concat([part10.subarray(0, at), Buffer.from('1.2.840.10008.1.2.4.99'), part10.subarray(at + 22)]);
    await refused(() => renderFrame(unknown, 1, png), 415, 'unsupported-transfer-syntax');
    assert.equal(extractFrame(unknown, 2).transferSyntaxUid, '1.2.840.10008.1.2.4.99', 'its frames are still served as stored');
  });
});
