import { ImagingError } from './imaging-error.js';
import { readImage, type Image } from './image.js';
import { tag } from './part10.js';

const EXTENDED_OFFSET_TABLE = tag(0x7fe0, 0x0001);

/** The bytes of one frame (1-based) as stored in the file, and its transfer syntax. */
export function extractFrame(part10: Buffer, frame: number): { transferSyntaxUid: string; bytes: Buffer } {
  const image = readImage(part10);
  return { transferSyntaxUid: image.transferSyntaxUid, bytes: frameBytes(image, frame) };
}

/** Bytes of one frame of uncompressed pixel data (PS3.5 8.1.1); YBR_FULL_422 holds 2 samples a pixel. */
export function nativeFrameLength(image: Image): number {
  const samples = image.photometricInterpretation === 'YBR_FULL_422' ? 2 : image.samplesPerPixel;
  return (image.rows * image.columns * samples * image.bitsAllocated) / 8;
}

export function frameBytes(image: Image, frame: number): Buffer {
  if (!Number.isInteger(frame) || frame < 1 || frame > image.numberOfFrames)
    throw new ImagingError('frame-out-of-range', `frame ${frame} of ${image.numberOfFrames}`);
  const { fragments, basicOffsetTable, value } = image.pixelData;
  if (!fragments || !basicOffsetTable) {
    if (image.bitsAllocated === 1) throw new ImagingError('unsupported-image', '1-bit pixel data');
    const length = nativeFrameLength(image);
    const start = (frame - 1) * length;
    if (start + length > value.length) throw new ImagingError('invalid-dicom', 'the pixel data is shorter than its frames');
    return value.subarray(start, start + length);
  }
  return encapsulatedFrame(image, fragments, basicOffsetTable, frame);
}

/**
 * The fragments of one frame, joined (PS3.5 A.4): found through the Basic Offset Table, else the
 * Extended Offset Table (PS3.3 C.7.6.3.1.8), else one fragment per frame when their numbers
 * agree, else by where each frame's codestream begins.
 * https://dicom.nema.org/medical/dicom/current/output/html/part05.html#sect_A.4
 */
function encapsulatedFrame(image: Image, fragments: Buffer[], basicOffsetTable: Buffer, frame: number): Buffer {
  const frames = image.numberOfFrames;
  if (frames === 1) return join(fragments);
  const offsets = frameOffsets(image, basicOffsetTable);
  if (offsets) {
    // An offset counts from the first fragment's item tag: each item is 8 bytes of header and its value.
    const start = offsets[frame - 1]!;
    const end = offsets[frame] ?? Infinity;
    const chosen: Buffer[] = [];
    let position = 0;
    for (const fragment of fragments) {
      if (position >= start && position < end) chosen.push(fragment);
      position += 8 + fragment.length;
    }
    if (chosen.length === 0) throw new ImagingError('invalid-dicom', 'an offset table points past the fragments');
    return join(chosen);
  }
  if (fragments.length === frames) return fragments[frame - 1]!;
  const starts: number[] = [];
  fragments.forEach((fragment, i) => {
    if (startsCodestream(fragment)) starts.push(i);
  });
  if (starts.length !== frames || starts[0] !== 0) throw new ImagingError('invalid-dicom', 'the fragments cannot be assigned to frames');
  return join(fragments.slice(starts[frame - 1], starts[frame]));
}

function frameOffsets(image: Image, basicOffsetTable: Buffer): number[] | undefined {
  const read = (table: Buffer, size: 4 | 8): number[] => {
    const values: number[] = [];
    for (let i = 0; i + size <= table.length; i += size)
      values.push(size === 4 ? (image.littleEndian ? table.readUInt32LE(i) : table.readUInt32BE(i)) : Number(image.littleEndian ? table.readBigUInt64LE(i) : table.readBigUInt64BE(i)));
    return values;
  };
  const candidates = [read(basicOffsetTable, 4), read(image.dataset.get(EXTENDED_OFFSET_TABLE)?.value ?? Buffer.alloc(0), 8)];
  return candidates.find((offsets) => offsets.length === image.numberOfFrames);
}

/** A JPEG or JPEG-LS SOI marker (FFD8), or a JPEG 2000 SOC followed by SIZ (FF4F FF51). */
function startsCodestream(fragment: Buffer): boolean {
  return fragment.length >= 4 && fragment[0] === 0xff && (fragment[1] === 0xd8 || (fragment[1] === 0x4f && fragment[2] === 0xff && fragment[3] === 0x51));
}

function join(fragments: Buffer[]): Buffer {
  return fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
}
