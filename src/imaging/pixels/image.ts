import { ImagingError } from './imaging-error.js';
import { PIXEL_DATA, readPart10, tag, trimmed, type Dataset, type Element, type Part10 } from './part10.js';

/**
 * The attributes of the Image Pixel module (PS3.3 C.7.6.3) and the presentation attributes that
 * rendering needs, from a Part 10 file.
 * https://dicom.nema.org/medical/dicom/current/output/html/part03.html#sect_C.7.6.3
 */
export interface Image {
  part10: Part10;
  transferSyntaxUid: string;
  littleEndian: boolean;
  dataset: Dataset;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  photometricInterpretation: string;
  planarConfiguration: number;
  numberOfFrames: number;
  pixelData: Element;
}

const SHARED_FUNCTIONAL_GROUPS = tag(0x5200, 0x9229);
const PER_FRAME_FUNCTIONAL_GROUPS = tag(0x5200, 0x9230);
const PIXEL_VALUE_TRANSFORMATION = tag(0x0028, 0x9145);
const FRAME_VOI_LUT = tag(0x0028, 0x9132);
export const WINDOW_CENTER = tag(0x0028, 0x1050);
export const WINDOW_WIDTH = tag(0x0028, 0x1051);
export const RESCALE_INTERCEPT = tag(0x0028, 0x1052);
export const RESCALE_SLOPE = tag(0x0028, 0x1053);
export const VOI_LUT_FUNCTION = tag(0x0028, 0x1056);

const MAX_FRAME_BITS = 8 * 2 ** 30;

export function readImage(file: Buffer): Image {
  return image(readPart10(file));
}

function image(part10: Part10): Image {
  const { transferSyntaxUid, littleEndian, dataset } = part10;
  const pixelData = dataset.get(PIXEL_DATA);
  if (!pixelData) throw new ImagingError('no-pixel-data');
  const us = (element: number, fallback?: number): number => {
    const value = dataset.get(tag(0x0028, element))?.value;
    if (value && value.length >= 2) return littleEndian ? value.readUInt16LE(0) : value.readUInt16BE(0);
    if (fallback === undefined) throw new ImagingError('invalid-dicom', `(0028,${element.toString(16).padStart(4, '0')}) is missing`);
    return fallback;
  };
  const rows = us(0x0010);
  const columns = us(0x0011);
  const bitsAllocated = us(0x0100);
  const frames = numbers(dataset.get(tag(0x0028, 0x0008)))[0] ?? 1;
  if (rows === 0 || columns === 0 || ![1, 8, 16, 32].includes(bitsAllocated) || !(frames >= 1))
    throw new ImagingError('invalid-dicom', 'the image pixel module is inconsistent');
  const samplesPerPixel = us(0x0002, 1);
  // Rows and Columns are 16-bit, so a damaged header can claim frames of gigabytes: refuse them
  // before a decoder allocates one.
  if (rows * columns * samplesPerPixel * bitsAllocated > MAX_FRAME_BITS) throw new ImagingError('unsupported-image', 'a frame over 1 GiB');
  return {
    part10,
    transferSyntaxUid,
    littleEndian,
    dataset,
    rows,
    columns,
    samplesPerPixel,
    bitsAllocated,
    bitsStored: us(0x0101, bitsAllocated),
    pixelRepresentation: us(0x0103, 0),
    photometricInterpretation: text(dataset.get(tag(0x0028, 0x0004))) || 'MONOCHROME2',
    planarConfiguration: us(0x0006, 0),
    numberOfFrames: Math.floor(frames),
    pixelData,
  };
}

/** The numbers of a DS or IS value (backslash-separated, PS3.5 6.2). */
export function numbers(element: Element | undefined): number[] {
  if (!element || element.value.length === 0) return [];
  return trimmed(element.value)
    .split('\\')
    .map((part) => Number(part.trim()))
    .filter((n) => Number.isFinite(n));
}

export function text(element: Element | undefined): string {
  return element ? trimmed(element.value) : '';
}

/**
 * The element as it applies to one frame: in an enhanced multi-frame image the per-frame then
 * the shared functional groups hold it (PS3.3 C.7.6.16), elsewhere the top level.
 */
export function frameAttribute(image: Image, frame: number, attribute: number): Element | undefined {
  const group = attribute === VOI_LUT_FUNCTION || attribute === WINDOW_CENTER || attribute === WINDOW_WIDTH ? FRAME_VOI_LUT : PIXEL_VALUE_TRANSFORMATION;
  for (const functionalGroups of [image.dataset.get(PER_FRAME_FUNCTIONAL_GROUPS)?.items?.[frame - 1], image.dataset.get(SHARED_FUNCTIONAL_GROUPS)?.items?.[0]]) {
    const found = functionalGroups?.get(group)?.items?.[0]?.get(attribute);
    if (found) return found;
  }
  return image.dataset.get(attribute);
}
