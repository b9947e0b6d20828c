import dcmjs from 'dcmjs';
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
 * comes pixel by pixel (Planar Configuration 0). An implicit VR data set gains its VRs from the
 * data dictionary; a big endian one, whose every value would need swapping by its VR, is refused
 * (415).
 */
export async function transcodeToExplicitLittleEndian(file: Buffer): Promise<Buffer> {
  const image = readImage(file);
  const { part10 } = image;
  if (image.transferSyntaxUid === EXPLICIT_VR_LITTLE_ENDIAN) return file;
  if (image.transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN) throw new ImagingError('unsupported-transfer-syntax', `transcoding from ${image.transferSyntaxUid}`);
  const meta: Buffer[] = [];
  for (const [t, element] of part10.meta) {
    if (t === GROUP_LENGTH) continue;
    meta.push(t === TRANSFER_SYNTAX_UID ? encoded(t, 'UI', padded(EXPLICIT_VR_LITTLE_ENDIAN, '\0')) : file.subarray(element.start, element.end));
  }
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(meta.reduce((sum, part) => sum + part.length, 0));
  const head = [file.subarray(0, 132), encoded(GROUP_LENGTH, 'UL', groupLength), ...meta];
  const dataset: Buffer[] = [];
  if (image.transferSyntaxUid === IMPLICIT_VR_LITTLE_ENDIAN) {
    // Uncompressed already: only the elements gain their VRs.
    try {
      explicitFromImplicit(part10.body, part10.datasetStart, image.pixelData.end, dataset, image.bitsAllocated > 8 ? 'OW' : 'OB');
    } catch (error) {
      // Sequences the pixel reader passed over as opaque values are walked here: one may be damaged.
      if (error instanceof RangeError) throw new ImagingError('invalid-dicom', 'a sequence runs past the end of the file');
      throw error;
    }
    return Buffer.concat([...head, ...dataset]);
  }
  const frames: Buffer[] = [];
  let photometricInterpretation = image.photometricInterpretation;
  for (let f = 1; f <= image.numberOfFrames; f++) {
    const frame = await uncompressed(image, f);
    frames.push(frame.bytes);
    photometricInterpretation = frame.photometricInterpretation;
  }
  const pixels = Buffer.concat(frames);
  for (const [t, element] of part10.dataset) {
    if (DROPPED.has(t)) continue;
    if (t === PHOTOMETRIC_INTERPRETATION) dataset.push(encoded(t, 'CS', padded(photometricInterpretation, ' ')));
    else if (t === PLANAR_CONFIGURATION && image.samplesPerPixel > 1) dataset.push(encoded(t, 'US', Buffer.from([0, 0])));
    else if (t === PIXEL_DATA) dataset.push(encoded(t, image.bitsAllocated > 8 ? 'OW' : 'OB', pixels.length % 2 ? Buffer.concat([pixels, Buffer.alloc(1)]) : pixels));
    else dataset.push(part10.body.subarray(element.start, element.end));
  }
  return Buffer.concat([...head, ...dataset]);
}

/** The VRs of the data dictionary (PS3.6), as dcmjs carries it: keys like "(0028,0004)". */
const DICTIONARY = (dcmjs.data.DicomMetaDictionary as unknown as { dictionary: Record<string, { vr: string } | undefined> }).dictionary;
const ITEM = tag(0xfffe, 0xe000);
const ITEM_DELIMITATION = tag(0xfffe, 0xe00d);
const SEQUENCE_DELIMITATION = tag(0xfffe, 0xe0dd);
const UNDEFINED = 0xffffffff;

/** The VR an implicit VR element has: from the dictionary; UN when unknown or private (PS3.5 6.2.2). */
function vrOf(t: number, pixelVr: string): string {
  if (t === PIXEL_DATA) return pixelVr;
  if ((t & 0xffff) === 0) return 'UL';
  const key = `(${(t >>> 16).toString(16).padStart(4, '0')},${(t & 0xffff).toString(16).padStart(4, '0')})`.toUpperCase();
  const vr = DICTIONARY[key]?.vr;
  // The dictionary's "US or SS", "OB or OW" and "US or OW": the bytes are the same either way.
  if (vr === 'xs') return 'US';
  if (vr === 'ox' || vr === 'lt') return 'OW';
  return vr && /^[A-Z]{2}$/.test(vr) ? vr : 'UN';
}

/**
 * Implicit VR little endian elements from `start` to `end` rewritten in explicit VR (PS3.5 7.1):
 * values byte for byte; sequences and items with undefined lengths, so that none is recounted.
 */
function explicitFromImplicit(body: Buffer, start: number, end: number, out: Buffer[], pixelVr: string): number {
  let at = start;
  while (at + 8 <= end) {
    const t = ((body.readUInt16LE(at) << 16) | body.readUInt16LE(at + 2)) >>> 0;
    const length = body.readUInt32LE(at + 4);
    at += 8;
    if (t === ITEM_DELIMITATION) return at;
    const vr = vrOf(t, pixelVr);
    if (length === UNDEFINED || vr === 'SQ') {
      out.push(header(t, 'SQ', UNDEFINED));
      const sequenceEnd = length === UNDEFINED ? end : at + length;
      while (at + 8 <= sequenceEnd) {
        const item = ((body.readUInt16LE(at) << 16) | body.readUInt16LE(at + 2)) >>> 0;
        const itemLength = body.readUInt32LE(at + 4);
        at += 8;
        if (item === SEQUENCE_DELIMITATION) break;
        if (item !== ITEM) throw new ImagingError('invalid-dicom', 'a sequence holds something other than items');
        out.push(header(ITEM, '', UNDEFINED));
        at = explicitFromImplicit(body, at, itemLength === UNDEFINED ? end : at + itemLength, out, pixelVr);
        out.push(header(ITEM_DELIMITATION, '', 0));
      }
      out.push(header(SEQUENCE_DELIMITATION, '', 0));
      continue;
    }
    if (at + length > end) throw new ImagingError('invalid-dicom', 'a value runs past the end of the file');
    // A value too long for a 16-bit length field can only be written as UN.
    out.push(encoded(t, !LONG_VRS.has(vr) && length > 0xffff ? 'UN' : vr, body.subarray(at, at + length)));
    at += length;
  }
  return at;
}

/** An element's header in explicit VR little endian; item tags (FFFE,xxxx) have no VR. */
function header(t: number, vr: string, length: number): Buffer {
  const long = vr === '' || LONG_VRS.has(vr);
  const out = Buffer.alloc(vr === '' ? 8 : long ? 12 : 8);
  out.writeUInt16LE(t >>> 16, 0);
  out.writeUInt16LE(t & 0xffff, 2);
  if (vr === '') out.writeUInt32LE(length, 4);
  else {
    out.write(vr, 4, 'latin1');
    if (long) out.writeUInt32LE(length, 8);
    else out.writeUInt16LE(length, 6);
  }
  return out;
}

/** An element in explicit VR little endian (PS3.5 7.1.2). */
function encoded(t: number, vr: string, value: Buffer): Buffer {
  return Buffer.concat([header(t, vr, value.length), value]);
}

/** A string value of even length (PS3.5 6.2: UIDs padded with NUL, text with a space). */
function padded(text: string, pad: string): Buffer {
  return Buffer.from(text.length % 2 ? text + pad : text, 'latin1');
}
