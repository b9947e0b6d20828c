import { uncompressed } from './decode.js';
import { readImage } from './image.js';
import { ImagingError } from './imaging-error.js';
import { EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, LONG_VRS, PIXEL_DATA, tag, TRANSFER_SYNTAX_UID } from './part10.js';

const GROUP_LENGTH = tag(0x0002, 0x0000);
const PHOTOMETRIC_INTERPRETATION = tag(0x0028, 0x0004);
const PLANAR_CONFIGURATION = tag(0x0028, 0x0006);
/** The Extended Offset Table and its lengths describe fragments, which uncompressed data has none of. */
const DROPPED = new Set([tag(0x7fe0, 0x0001), tag(0x7fe0, 0x0002)]);

/**
 * The instance in Explicit VR Little Endian with its pixel data uncompressed, for a WADO-RS client
 * that asks for transfer-syntax=1.2.840.10008.1.2.1 of an instance stored compressed (PS3.18
 * 8.7.3). Every other element is copied byte for byte, so text in any character set stays as it
 * was; Photometric Interpretation becomes what the decoder gave (RGB from JPEG's YBR), colour
 * comes pixel by pixel (Planar Configuration 0). Data sets in implicit VR or big endian, which
 * would need every element re-encoded, are refused (415).
 */
export async function transcodeToExplicitLittleEndian(file: Buffer): Promise<Buffer> {
  const image = readImage(file);
  const { part10 } = image;
  if (image.transferSyntaxUid === EXPLICIT_VR_LITTLE_ENDIAN) return file;
  if (image.transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN || image.transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN)
    throw new ImagingError('unsupported-transfer-syntax', `transcoding from ${image.transferSyntaxUid}`);
  const frames: Buffer[] = [];
  let photometricInterpretation = image.photometricInterpretation;
  for (let f = 1; f <= image.numberOfFrames; f++) {
    const frame = await uncompressed(image, f);
    frames.push(frame.bytes);
    photometricInterpretation = frame.photometricInterpretation;
  }
  const pixels = Buffer.concat(frames);
  const meta: Buffer[] = [];
  for (const [t, element] of part10.meta) {
    if (t === GROUP_LENGTH) continue;
    meta.push(t === TRANSFER_SYNTAX_UID ? encoded(t, 'UI', padded(EXPLICIT_VR_LITTLE_ENDIAN, '\0')) : file.subarray(element.start, element.end));
  }
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.reduce((sum, part) => sum + part.length, 0));
  const dataset: Buffer[] = [];
  for (const [t, element] of part10.dataset) {
    if (DROPPED.has(t)) continue;
    if (t === PHOTOMETRIC_INTERPRETATION) dataset.push(encoded(t, 'CS', padded(photometricInterpretation, ' ')));
    else if (t === PLANAR_CONFIGURATION && image.samplesPerPixel > 1) dataset.push(encoded(t, 'US', Buffer.from([0, 0])));
    else if (t === PIXEL_DATA) dataset.push(encoded(t, image.bitsAllocated > 8 ? 'OW' : 'OB', pixels.length % 2 ? Buffer.concat([pixels, Buffer.alloc(1)]) : pixels));
    else dataset.push(part10.body.subarray(element.start, element.end));
  }
  return Buffer.concat([file.subarray(0, 132), encoded(GROUP_LENGTH, 'UL', groupLength), ...meta, ...dataset]);
}

/** An element in explicit VR little endian (PS3.5 7.1.2). */
function encoded(t: number, vr: string, value: Buffer): Buffer {
  const long = LONG_VRS.has(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(t >>> 16, 0);
  header.writeUInt16LE(t & 0xffff, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}

/** A string value of even length (PS3.5 6.2: UIDs padded with NUL, text with a space). */
function padded(text: string, pad: string): Buffer {
  return Buffer.from(text.length % 2 ? text + pad : text, 'latin1');
}
