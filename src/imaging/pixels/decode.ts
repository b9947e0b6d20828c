import { ImagingError } from './imaging-error.js';
import { frameBytes } from './frames.js';
import { readImage, type Image } from './image.js';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from './part10.js';
import { decodeRle } from './rle.js';

export type Samples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** A frame's stored values (bits above Bits Stored dropped, signed values sign-extended). */
export interface DecodedFrame {
  samples: Samples;
  /** Planes one after another (Planar Configuration 1) rather than pixel by pixel. */
  planar: boolean;
  /** The photometric interpretation of the decoded samples (a JPEG decoder gives RGB for YBR). */
  photometricInterpretation: string;
  /** The image's size, or less when a JPEG 2000 frame was decoded at a lower resolution. */
  rows: number;
  columns: number;
}

/** Transfer syntaxes (PS3.5 A, PS3.6 A) and their decoders. */
const TRANSFER_SYNTAXES = {
  implicitLittleEndian: IMPLICIT_VR_LITTLE_ENDIAN,
  explicitLittleEndian: EXPLICIT_VR_LITTLE_ENDIAN,
  deflatedLittleEndian: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  explicitBigEndian: EXPLICIT_VR_BIG_ENDIAN,
  encapsulatedUncompressed: '1.2.840.10008.1.2.1.98',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  jpeg2000: '1.2.840.10008.1.2.4.91',
  rleLossless: '1.2.840.10008.1.2.5',
} as const;

const T = TRANSFER_SYNTAXES;
/** Frames as native data holds them; Encapsulated Uncompressed (PS3.5 A.4) one fragment per frame. */
const UNCOMPRESSED = new Set<string>([T.implicitLittleEndian, T.explicitLittleEndian, T.deflatedLittleEndian, T.explicitBigEndian, T.encapsulatedUncompressed]);

/** A codec's module, loaded on first use and kept; discarded after a crash, to be loaded afresh. */
interface Codec<M> {
  get(): Promise<M>;
  discard(): void;
}

function lazy<M>(load: () => Promise<M>): Codec<M> {
  let loading: Promise<M> | undefined;
  return {
    get() {
      loading ??= load().catch((error: unknown) => {
        loading = undefined;
        throw error;
      });
      return loading;
    },
    discard() {
      loading = undefined;
    },
  };
}

/**
 * The codecs' own logging goes nowhere: a decoding failure is reported as an ImagingError. A fresh
 * object for each instance: Emscripten builds the module on the object it is given.
 */
const QUIET = { print: () => {}, printErr: () => {} };
const charls = lazy(async () => (await import('@cornerstonejs/codec-charls/decodewasmjs')).default({ ...QUIET }));
const openjpeg = lazy(async () => (await import('@cornerstonejs/codec-openjpeg/decodewasmjs')).default({ ...QUIET }));
const libjpegTurbo = lazy(async () => (await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs')).default({ ...QUIET }));
const jpegLossless = lazy(async () => (await import('jpeg-lossless-decoder-js')).Decoder);

/**
 * Decodes a frame (1-based). `scale`: how much smaller it will be shown (0.25: a quarter of its
 * width); a JPEG 2000 frame is then decoded at the lowest resolution that is still large enough
 * (its wavelet levels), several times faster for a thumbnail.
 */
export async function decodeFrame(image: Image, frame: number, scale = 1): Promise<DecodedFrame> {
  const bytes = frameBytes(image, frame);
  const syntax = image.transferSyntaxUid;
  const bytesPerSample = image.bitsAllocated / 8;
  const pixels = image.rows * image.columns;
  const stored = (
    raw: Buffer,
    planar: boolean,
    photometricInterpretation = image.photometricInterpretation,
    size = { width: image.columns, height: image.rows },
  ): DecodedFrame => ({
    samples: storedValues(image, raw, photometricInterpretation, size.width * size.height),
    planar,
    photometricInterpretation,
    rows: size.height,
    columns: size.width,
  });
  if (UNCOMPRESSED.has(syntax)) {
    const raw = syntax === T.explicitBigEndian && bytesPerSample > 1 ? swapped(bytes, bytesPerSample) : bytes;
    return stored(raw, image.samplesPerPixel > 1 && image.planarConfiguration === 1);
  }
  if (syntax === T.rleLossless) return stored(decodeRle(bytes, pixels, image.samplesPerPixel, bytesPerSample), false);
  if (syntax === T.jpegBaseline) {
    if (image.bitsAllocated !== 8) throw new ImagingError('invalid-dicom', 'JPEG baseline with more than 8 bits');
    const { JPEGDecoder } = await libjpegTurbo.get();
    // libjpeg-turbo converts YCbCr to RGB while decoding (PS3.5 8.2.1: the photometric is then RGB).
    return stored(wasmDecode(libjpegTurbo, () => new JPEGDecoder(), bytes, image), false, image.samplesPerPixel === 3 ? 'RGB' : image.photometricInterpretation);
  }
  if (syntax === T.jpegLossless || syntax === T.jpegLosslessSv1) {
    const Decoder = await jpegLossless.get();
    const decoded = callCodec(() => new Decoder().decode(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length, bytesPerSample));
    return stored(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength), false);
  }
  if (syntax === T.jpegLsLossless || syntax === T.jpegLsNearLossless) {
    const { JpegLSDecoder } = await charls.get();
    let interleave = 0;
    const raw = wasmDecode(charls, () => new JpegLSDecoder(), bytes, image, { inspect: (decoder) => (interleave = decoder.getInterleaveMode()) });
    return stored(raw, image.samplesPerPixel > 1 && interleave === 0);
  }
  if (syntax === T.jpeg2000Lossless || syntax === T.jpeg2000) {
    const { J2KDecoder } = await openjpeg.get();
    // OpenJPEG undoes the codestream's multi-component transform (YBR_RCT / YBR_ICT): RGB out.
    const colour = image.samplesPerPixel === 3 && image.photometricInterpretation.startsWith('YBR_') ? 'RGB' : image.photometricInterpretation;
    const level = scale < 1 ? reductionFor(decompositionLevels(bytes), scale) : 0;
    const size = { width: Math.ceil(image.columns / 2 ** level), height: Math.ceil(image.rows / 2 ** level) };
    const raw = wasmDecode(openjpeg, () => new J2KDecoder(), bytes, image, { decode: (decoder) => decoder.decodeSubResolution(level, 0) });
    return stored(raw, false, colour, size);
  }
  throw new ImagingError('unsupported-transfer-syntax', syntax);
}

/**
 * The number of wavelet decomposition levels of a JPEG 2000 codestream: SPcod's first byte in the
 * main header's COD marker segment (ITU-T T.800 A.6.1), 0 if it cannot be found.
 */
function decompositionLevels(codestream: Buffer): number {
  let at = 2;
  while (at + 4 <= codestream.length && codestream[at] === 0xff) {
    const marker = codestream[at + 1]!;
    if (marker === 0x52) return codestream[at + 9] ?? 0;
    if (marker === 0x90) break;
    at += 2 + codestream.readUInt16BE(at + 2);
  }
  return 0;
}

/** The most halvings of the image (up to `levels`) that keep it at least `scale` of its size. */
function reductionFor(levels: number, scale: number): number {
  let level = 0;
  while (level < levels && 2 ** -(level + 1) >= scale) level++;
  return level;
}

/**
 * Runs a Cornerstone WASM decoder and copies its output out of WASM memory before freeing it.
 * `decode` runs it (OpenJPEG's at a lower resolution: its frame info still tells the full size).
 */
function wasmDecode<D extends WasmDecoder>(
  codec: Codec<unknown>,
  create: () => D,
  bytes: Buffer,
  image: Image,
  { decode = (decoder: D) => decoder.decode(), inspect }: { decode?: (decoder: D) => void; inspect?: (decoder: D) => void } = {},
): Buffer {
  try {
    const decoder = create();
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decode(decoder);
    const info = decoder.getFrameInfo();
    if (info.width !== image.columns || info.height !== image.rows || info.componentCount !== image.samplesPerPixel)
      throw new ImagingError('invalid-dicom', 'the codestream does not match the image pixel module');
    inspect?.(decoder);
    const decoded = Buffer.from(decoder.getDecodedBuffer());
    decoder.delete();
    return decoded;
  } catch (error) {
    // A codestream that crashed the codec may have left its memory in any state (every later
    // frame then failed too), and the decoder was not freed: the next frame gets a fresh module.
    codec.discard();
    if (error instanceof ImagingError) throw error;
    throw new ImagingError('invalid-dicom', 'the compressed frame cannot be decoded');
  }
}

/** A codec's failure on a corrupt codestream is the file's fault, not the server's. */
function callCodec<R>(run: () => R): R {
  try {
    return run();
  } catch (error) {
    if (error instanceof ImagingError) throw error;
    throw new ImagingError('invalid-dicom', 'the compressed frame cannot be decoded');
  }
}

function swapped(bytes: Buffer, bytesPerSample: number): Buffer {
  const copy = Buffer.from(bytes);
  if (bytesPerSample === 2) copy.swap16();
  else if (bytesPerSample === 4) copy.swap32();
  return copy;
}

/**
 * Typed views of little-endian samples, masked to Bits Stored and sign-extended when Pixel
 * Representation is 1 (PS3.5 8.1.1, PS3.3 C.7.6.3.1). High Bit is taken as Bits Stored − 1, the
 * only value the current standard allows.
 */
function storedValues(image: Image, raw: Buffer, photometricInterpretation: string, pixels: number): Samples {
  // Uncompressed YBR_FULL_422 holds Y1 Y2 Cb Cr for each pair of pixels (PS3.3 C.7.6.3.1.2).
  const count = pixels * (photometricInterpretation === 'YBR_FULL_422' ? 2 : image.samplesPerPixel);
  const bytes = image.bitsAllocated / 8;
  if (raw.length < count * bytes) throw new ImagingError('invalid-dicom', 'the decoded frame is shorter than the image');
  const aligned = raw.byteOffset % bytes === 0 ? raw : Buffer.from(raw);
  const signed = image.pixelRepresentation === 1;
  const view: Samples =
    bytes === 1
      ? signed ? new Int8Array(aligned.buffer, aligned.byteOffset, count) : new Uint8Array(aligned.buffer, aligned.byteOffset, count)
      : bytes === 2
        ? signed ? new Int16Array(aligned.buffer, aligned.byteOffset, count) : new Uint16Array(aligned.buffer, aligned.byteOffset, count)
        : signed ? new Int32Array(aligned.buffer, aligned.byteOffset, count) : new Uint32Array(aligned.buffer, aligned.byteOffset, count);
  const bits = image.bitsStored;
  if (bits >= image.bitsAllocated) return view;
  if (!signed) {
    // Most writers leave the bits above Bits Stored zero: then the (file's) view serves as it is.
    // Their union tells, in one pass without a branch per sample.
    let union = 0;
    for (let i = 0; i < view.length; i++) union |= view[i]!;
    if (union >>> 0 <= 2 ** bits - 1) return view;
  }
  const out = view.slice();
  if (signed) {
    const shift = 32 - bits;
    for (let i = 0; i < out.length; i++) out[i] = (out[i]! << shift) >> shift;
  } else {
    const mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
    for (let i = 0; i < out.length; i++) out[i] = out[i]! & mask;
  }
  return out;
}

/**
 * A frame as uncompressed little-endian samples: what WADO-RS answers for a frame asked for as
 * application/octet-stream, the explicit VR little endian form (PS3.18 8.7.3). Uncompressed
 * frames come as stored (byte-swapped from big endian); decoded ones pixel by pixel (Planar
 * Configuration 0), with the photometric interpretation the decoder gave (RGB from JPEG's YBR).
 */
export async function uncompressedFrame(part10: Buffer, frame: number): Promise<{ bytes: Buffer; photometricInterpretation: string }> {
  return uncompressed(readImage(part10), frame);
}

/** uncompressedFrame of an image already read. */
export async function uncompressed(image: Image, frame: number): Promise<{ bytes: Buffer; photometricInterpretation: string }> {
  const bytesPerSample = image.bitsAllocated / 8;
  if (UNCOMPRESSED.has(image.transferSyntaxUid)) {
    const stored = frameBytes(image, frame);
    const bytes = image.transferSyntaxUid === T.explicitBigEndian && bytesPerSample > 1 ? swapped(stored, bytesPerSample) : stored;
    return { bytes, photometricInterpretation: image.photometricInterpretation };
  }
  const { samples, planar, photometricInterpretation } = await decodeFrame(image, frame);
  const pixels = planar ? interleaved(samples, image.samplesPerPixel) : samples;
  return { bytes: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), photometricInterpretation };
}

function interleaved(samples: Samples, perPixel: number): Samples {
  const out = samples.slice();
  const pixels = samples.length / perPixel;
  for (let p = 0; p < pixels; p++) for (let s = 0; s < perPixel; s++) out[p * perPixel + s] = samples[s * pixels + p]!;
  return out;
}
