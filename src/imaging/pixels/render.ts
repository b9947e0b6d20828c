import sharp from 'sharp';
import { decodeFrame, type DecodedFrame, type Samples } from './decode.js';
import { frameAttribute, numbers, readImage, RESCALE_INTERCEPT, RESCALE_SLOPE, text, VOI_LUT_FUNCTION, WINDOW_CENTER, WINDOW_WIDTH, type Image } from './image.js';
import { ImagingError } from './imaging-error.js';
import { tag } from './part10.js';

const MODALITY_LUT_SEQUENCE = tag(0x0028, 0x3000);
const VOI_LUT_SEQUENCE = tag(0x0028, 0x3010);
const LUT_DESCRIPTOR = tag(0x0028, 0x3002);
const LUT_DATA = tag(0x0028, 0x3006);

/** The VOI LUT functions of PS3.3 C.11.2.1.2 as PS3.18 8.3.5.1.3 names them in `window`. */
export type VoiFunction = 'linear' | 'linear-exact' | 'sigmoid';

export interface Window {
  center: number;
  width: number;
  function?: VoiFunction;
}

export interface RenderOptions {
  mediaType: 'image/jpeg' | 'image/png';
  window?: Window;
  /** Scale to fit inside, keeping the aspect ratio. */
  viewport?: Viewport;
  /** JPEG quality, 1..100 (90 by default). */
  quality?: number;
}

/** PS3.18 8.3.5.1.2: the size to fit in, and the part of the image to show (all of it by default). */
export interface Viewport {
  width: number;
  height: number;
  /** In the image's pixels: the top-left corner and the size. */
  region?: { x: number; y: number; width: number; height: number };
}

export interface Rendered {
  contentType: string;
  body: Buffer;
}

// libvips' operation cache keys on inputs that are new each time here: it would only hold memory.
sharp.cache(false);

const MEDIA_TYPES = new Set(['image/jpeg', 'image/png']);
const MAX_VIEWPORT = 8192;

/**
 * A frame (1-based) rendered as a consumer-format image: Modality LUT, VOI LUT (the request's
 * window, else the stored one, else the frame's range), MONOCHROME1 inverted, colour converted to
 * RGB. https://dicom.nema.org/medical/dicom/current/output/html/part18.html#sect_8.3.5.1
 */
export async function renderFrame(part10: Buffer, frame: number, options: RenderOptions): Promise<Rendered> {
  checkOptions(options);
  const image = readImage(part10);
  const region = options.viewport?.region ?? { x: 0, y: 0, width: image.columns, height: image.rows };
  if (region.x + region.width > image.columns || region.y + region.height > image.rows)
    throw new ImagingError('invalid-viewport', `the region ends outside the ${image.columns}×${image.rows} image`);
  const scale = options.viewport ? Math.min(options.viewport.width / region.width, options.viewport.height / region.height) : 1;
  const decoded = await decodeFrame(image, frame, scale);
  const { pixels, channels } = display(image, frame, decoded, options.window);
  let pipeline = sharp(pixels, { raw: { width: decoded.columns, height: decoded.rows, channels } });
  if (options.viewport) {
    // A frame decoded at a lower resolution (JPEG 2000) has the region at that resolution.
    const reduced = decoded.columns / image.columns;
    if (options.viewport.region) {
      const left = Math.floor(region.x * reduced);
      const top = Math.floor(region.y * reduced);
      const width = Math.min(Math.max(1, Math.round(region.width * reduced)), decoded.columns - left);
      const height = Math.min(Math.max(1, Math.round(region.height * reduced)), decoded.rows - top);
      pipeline = pipeline.extract({ left, top, width, height });
    }
    pipeline = pipeline.resize(options.viewport.width, options.viewport.height, { fit: 'inside' });
  }
  // JPEG Huffman tables are not optimised: 1.4 ms of a 512×512 frame's 10 ms budget, for some 5 % in size.
  const body =
    options.mediaType === 'image/png' ? await pipeline.png().toBuffer() : await pipeline.jpeg({ quality: options.quality ?? 90, optimiseCoding: false }).toBuffer();
  return { contentType: options.mediaType, body };
}

/** The middle frame scaled to fit `size` (128 px by default), JPEG unless PNG is asked for (PS3.18 10.7). */
export async function thumbnail(part10: Buffer, options: { mediaType?: 'image/jpeg' | 'image/png'; size?: number } = {}): Promise<Rendered> {
  const size = options.size ?? 128;
  const middle = Math.ceil(readImage(part10).numberOfFrames / 2);
  return renderFrame(part10, middle, { mediaType: options.mediaType ?? 'image/jpeg', viewport: { width: size, height: size } });
}

/**
 * The `window` query parameter: center,width[,function] (PS3.18 8.3.5.1.3).
 * https://dicom.nema.org/medical/dicom/current/output/html/part18.html#sect_8.3.5.1.3
 */
export function parseWindowParameter(value: string): Window {
  const parts = value.split(',').map((part) => part.trim());
  const center = Number(parts[0]);
  const width = Number(parts[1]);
  const voiFunction = parts[2]?.toLowerCase();
  if (parts.length < 2 || parts.length > 3 || parts[0] === '' || parts[1] === '' || (voiFunction !== undefined && !isVoiFunction(voiFunction)))
    throw new ImagingError('invalid-window', 'expected center,width[,linear|linear-exact|sigmoid]');
  const window: Window = { center, width, ...(voiFunction ? { function: voiFunction as VoiFunction } : {}) };
  checkWindow(window);
  return window;
}

/**
 * The `viewport` query parameter: vw,vh[,sx,sy,sw,sh] (PS3.18 8.3.5.1.2). A negative sw or sh
 * (flipping the image) is refused.
 * https://dicom.nema.org/medical/dicom/current/output/html/part18.html#sect_8.3.5.1.2
 */
export function parseViewportParameter(value: string): Viewport {
  const parts = value.split(',').map((part) => (part.trim() === '' ? Number.NaN : Number(part)));
  if (parts.length !== 2 && parts.length !== 6) throw new ImagingError('invalid-viewport', 'expected vw,vh[,sx,sy,sw,sh]');
  const [width, height, x, y, regionWidth, regionHeight] = parts as [number, number, number?, number?, number?, number?];
  const viewport: Viewport = { width, height, ...(parts.length === 6 ? { region: { x: x!, y: y!, width: regionWidth!, height: regionHeight! } } : {}) };
  checkOptions({ mediaType: 'image/png', viewport });
  return viewport;
}

function isVoiFunction(value: string): value is VoiFunction {
  return value === 'linear' || value === 'linear-exact' || value === 'sigmoid';
}

/** LINEAR needs a width of at least 1, the others a positive one (PS3.3 C.11.2.1.2). */
function usable(window: Window): boolean {
  const minimum = (window.function ?? 'linear') === 'linear' ? 1 : Number.MIN_VALUE;
  return Number.isFinite(window.center) && Number.isFinite(window.width) && window.width >= minimum;
}

function checkWindow(window: Window): void {
  if (!usable(window)) throw new ImagingError('invalid-window', `center ${window.center}, width ${window.width}`);
}

function checkOptions(options: RenderOptions): void {
  if (!MEDIA_TYPES.has(options.mediaType)) throw new ImagingError('unsupported-media-type', String(options.mediaType));
  if (options.window) checkWindow(options.window);
  const viewport = options.viewport;
  const sizes = viewport ? [viewport.width, viewport.height, viewport.region?.width ?? 1, viewport.region?.height ?? 1] : [];
  if (!sizes.every((n) => Number.isInteger(n) && n >= 1 && n <= MAX_VIEWPORT) || ![viewport?.region?.x ?? 0, viewport?.region?.y ?? 0].every((n) => Number.isInteger(n) && n >= 0))
    throw new ImagingError('invalid-viewport', JSON.stringify(viewport));
  if (options.quality !== undefined && !(Number.isInteger(options.quality) && options.quality >= 1 && options.quality <= 100))
    throw new ImagingError('invalid-quality', String(options.quality));
}

function display(image: Image, frame: number, decoded: DecodedFrame, window: Window | undefined): { pixels: Uint8Array; channels: 1 | 3 } {
  const photometric = decoded.photometricInterpretation;
  if (photometric === 'MONOCHROME1' || photometric === 'MONOCHROME2') {
    if (image.samplesPerPixel !== 1) throw new ImagingError('invalid-dicom', `${photometric} with ${image.samplesPerPixel} samples per pixel`);
    return { pixels: grayscale(image, frame, decoded.samples, window, photometric === 'MONOCHROME1'), channels: 1 };
  }
  if (photometric === 'PALETTE COLOR') {
    if (image.samplesPerPixel !== 1) throw new ImagingError('invalid-dicom', `${photometric} with ${image.samplesPerPixel} samples per pixel`);
    return { pixels: palette(image, decoded.samples), channels: 3 };
  }
  if (photometric === 'RGB' || photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422') {
    if (image.samplesPerPixel !== 3) throw new ImagingError('invalid-dicom', `${photometric} with ${image.samplesPerPixel} samples per pixel`);
    return { pixels: colour(image, decoded), channels: 3 };
  }
  throw new ImagingError('unsupported-image', `photometric interpretation ${photometric}`);
}

/**
 * Modality LUT (PS3.3 C.11.1: rescale, or a Modality LUT Sequence), VOI LUT (C.11.2: a window
 * through its function, else a VOI LUT Sequence) to 8 bits, and MONOCHROME1 inverted
 * (C.7.6.3.1.2), through one table: over every stored value up to 16 bits (the frame's range
 * is then read only when no window says what to show), over the frame's range above that.
 */
function grayscale(image: Image, frame: number, samples: Samples, requested: Window | undefined, invert: boolean): Uint8Array {
  const modalityTable = sequenceTable(image, MODALITY_LUT_SEQUENCE);
  const slope = numbers(frameAttribute(image, frame, RESCALE_SLOPE))[0] ?? 1;
  const intercept = numbers(frameAttribute(image, frame, RESCALE_INTERCEPT))[0] ?? 0;
  const modality = modalityTable ? (v: number) => modalityTable.lookup(v) : (v: number) => v * slope + intercept;
  const window = requested ?? storedWindow(image, frame);
  const voiTable = window ? undefined : sequenceTable(image, VOI_LUT_SEQUENCE);
  const bits = image.bitsStored;
  const whole = bits >= 1 && bits <= 16;
  const range = window && whole ? undefined : valueRange(samples);
  const shown = window ?? rangeWindow(modality(range!.min), modality(range!.max));
  const voi = voiTable ? (x: number) => (voiTable.lookup(x) * 255) / (2 ** voiTable.bits - 1) : voiFunction(shown);
  const level = (v: number) => {
    const y = Math.round(voi(modality(v)));
    return invert ? 255 - y : y;
  };
  const out = new Uint8Array(samples.length);
  if (whole) {
    // Stored values are sign-extended to their typed array: the low `bits` bits index the table.
    const mask = 2 ** bits - 1;
    const shift = 32 - bits;
    const signed = image.pixelRepresentation === 1;
    const build = () => {
      const table = new Uint8Array(mask + 1);
      for (let p = 0; p <= mask; p++) table[p] = level(signed ? (p << shift) >> shift : p);
      return table;
    };
    const lut = modalityTable || voiTable ? build() : cachedTable(`${bits} ${signed} ${slope} ${intercept} ${invert} ${shown.center} ${shown.width} ${shown.function}`, build);
    for (let i = 0; i < samples.length; i++) out[i] = lut[samples[i]! & mask]!;
    return out;
  }
  const { min, max } = range!;
  if (max - min < Math.max(samples.length, 65536)) {
    const lut = new Uint8Array(max - min + 1);
    for (let v = min; v <= max; v++) lut[v - min] = level(v);
    for (let i = 0; i < samples.length; i++) out[i] = lut[samples[i]! - min]!;
  } else for (let i = 0; i < samples.length; i++) out[i] = level(samples[i]!);
  return out;
}

/** The lowest and highest stored value of a frame. */
function valueRange(samples: Samples): { min: number; max: number } {
  let min = samples[0] ?? 0;
  let max = min;
  for (let i = 1; i < samples.length; i++) {
    const v = samples[i]!;
    if (v < min) min = v;
    else if (v > max) max = v;
  }
  return { min, max };
}

/**
 * Display tables by what they are made of: a series scrolled through shares its window, and a
 * 16-bit table takes longer to make (up to 2.5 ms with a sigmoid) than to apply.
 */
const TABLES = new Map<string, Uint8Array>();
const MAX_TABLES = 32;

function cachedTable(key: string, build: () => Uint8Array): Uint8Array {
  let table = TABLES.get(key);
  if (table) {
    TABLES.delete(key);
  } else {
    table = build();
    if (TABLES.size >= MAX_TABLES) TABLES.delete(TABLES.keys().next().value!);
  }
  TABLES.set(key, table);
  return table;
}

/**
 * A lookup table from its descriptor (entries, 0 meaning 65536; first value mapped; bits per entry)
 * and data (PS3.3 C.11.1.1.1, C.11.2.1.1, C.7.6.3.1.5). Values below the first entry map to it,
 * values above the last to the last.
 */
function lookupTable(image: Image, descriptor: Buffer | undefined, data: Buffer | undefined): LookupTable | undefined {
  if (!descriptor || descriptor.length < 6 || !data || data.length === 0) return undefined;
  const read = (buffer: Buffer, at: number) => (image.littleEndian ? buffer.readUInt16LE(at) : buffer.readUInt16BE(at));
  const entries = read(descriptor, 0) || 65536;
  const first = image.pixelRepresentation === 1 ? (read(descriptor, 2) << 16) >> 16 : read(descriptor, 2);
  const bits = read(descriptor, 4);
  // 8-bit entries are packed in bytes by some writers and in 16-bit words by others.
  const packed = bits <= 8 && data.length === entries;
  const count = Math.min(entries, packed ? data.length : Math.floor(data.length / 2));
  if (count === 0 || bits < 1 || bits > 16) return undefined;
  const mask = 2 ** bits - 1;
  const table = Array.from({ length: count }, (_, i) => (packed ? data[i]! : read(data, 2 * i)) & mask);
  return { bits, lookup: (x) => table[Math.min(Math.max(Math.round(x) - first, 0), count - 1)]! };
}

interface LookupTable {
  bits: number;
  lookup: (x: number) => number;
}

/** A LUT item of a Modality or VOI LUT Sequence: its LUT Descriptor and LUT Data. */
function sequenceTable(image: Image, sequence: number): LookupTable | undefined {
  const item = image.dataset.get(sequence)?.items?.[0];
  return lookupTable(image, item?.get(LUT_DESCRIPTOR)?.value, item?.get(LUT_DATA)?.value);
}

/** The first stored window of the frame, if usable, with the stored VOI LUT Function. */
function storedWindow(image: Image, frame: number): Window | undefined {
  const center = numbers(frameAttribute(image, frame, WINDOW_CENTER))[0];
  const width = numbers(frameAttribute(image, frame, WINDOW_WIDTH))[0];
  if (center === undefined || width === undefined) return undefined;
  const stored = text(frameAttribute(image, frame, VOI_LUT_FUNCTION)).toLowerCase().replace('_', '-');
  const window: Window = { center, width, function: isVoiFunction(stored) ? stored : 'linear' };
  return usable(window) ? window : undefined;
}

/** The frame's whole range of modality values, end to end. */
function rangeWindow(low: number, high: number): Window {
  const [a, b] = low <= high ? [low, high] : [high, low];
  return { center: (a + b) / 2, width: Math.max(b - a, 1), function: 'linear-exact' };
}

/** PS3.3 C.11.2.1.2.1 (LINEAR), C.11.2.1.3.2 (LINEAR_EXACT), C.11.2.1.3.1 (SIGMOID), output 0..255. */
function voiFunction({ center: c, width: w, function: kind = 'linear' }: Window): (x: number) => number {
  if (kind === 'sigmoid') return (x) => 255 / (1 + Math.exp((-4 * (x - c)) / w));
  if (kind === 'linear-exact')
    return (x) => (x <= c - w / 2 ? 0 : x > c + w / 2 ? 255 : ((x - c) / w + 0.5) * 255);
  const low = c - 0.5 - (w - 1) / 2;
  const high = c - 0.5 + (w - 1) / 2;
  return (x) => (x <= low ? 0 : x > high ? 255 : ((x - (c - 0.5)) / (w - 1) + 0.5) * 255);
}

/** RGB, YBR_FULL and uncompressed YBR_FULL_422 to interleaved 8-bit RGB (PS3.3 C.7.6.3.1.2). */
function colour(image: Image, decoded: DecodedFrame): Uint8Array {
  const { samples, planar, photometricInterpretation } = decoded;
  const pixels = decoded.rows * decoded.columns;
  const shift = Math.max(image.bitsStored - 8, 0);
  const out = new Uint8Array(pixels * 3);
  if (photometricInterpretation === 'YBR_FULL_422') {
    // Y1 Y2 Cb Cr for each horizontal pair of pixels.
    for (let p = 0, s = 0; p < pixels; p += 2, s += 4) {
      const cb = samples[s + 2]! >> shift;
      const cr = samples[s + 3]! >> shift;
      ybrToRgb(samples[s]! >> shift, cb, cr, out, p * 3);
      if (p + 1 < pixels) ybrToRgb(samples[s + 1]! >> shift, cb, cr, out, p * 3 + 3);
    }
    return out;
  }
  const [step, plane] = planar ? [1, pixels] : [3, 1];
  const ybr = photometricInterpretation === 'YBR_FULL';
  for (let p = 0; p < pixels; p++) {
    const i = p * step;
    const a = samples[i]! >> shift;
    const b = samples[i + plane]! >> shift;
    const c = samples[i + 2 * plane]! >> shift;
    if (ybr) ybrToRgb(a, b, c, out, p * 3);
    else {
      out[p * 3] = a;
      out[p * 3 + 1] = b;
      out[p * 3 + 2] = c;
    }
  }
  return out;
}

function ybrToRgb(y: number, cb: number, cr: number, out: Uint8Array, at: number): void {
  out[at] = clamp(y + 1.402 * (cr - 128));
  out[at + 1] = clamp(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128));
  out[at + 2] = clamp(y + 1.772 * (cb - 128));
}

function clamp(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** PALETTE COLOR through the Red, Green and Blue Palette Color LUTs (PS3.3 C.7.6.3.1.5-6). */
function palette(image: Image, samples: Samples): Uint8Array {
  const tables = [0, 1, 2].map((c) => {
    const table = lookupTable(image, image.dataset.get(tag(0x0028, 0x1101 + c))?.value, image.dataset.get(tag(0x0028, 0x1201 + c))?.value);
    if (!table) throw new ImagingError('unsupported-image', 'PALETTE COLOR without its lookup tables');
    return table;
  });
  const { min, max } = valueRange(samples);
  // 8-bit colour for each stored value present, then one pass over the pixels.
  const colours = tables.map(({ bits, lookup }) => Uint8Array.from({ length: max - min + 1 }, (_, v) => Math.round((lookup(v + min) * 255) / (2 ** bits - 1))));
  const out = new Uint8Array(samples.length * 3);
  for (let p = 0; p < samples.length; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = colours[c]![samples[p]! - min]!;
  return out;
}
