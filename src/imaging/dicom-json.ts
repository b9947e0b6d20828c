import dcmjs, { type DenaturalizedDataset, type DicomElement } from 'dcmjs';
import iconv from 'iconv-lite';

/**
 * An instance's metadata in the DICOM JSON model (PS3.18 annex F.2), read with dcmjs from the
 * head of its Part 10 file: everything before the pixel data, so a file of gigabytes is never
 * read whole. Text in any declared character set (ISO_IR 192, ISO_IR 144 Cyrillic, in sequence
 * items too) comes out as Unicode, as DICOM JSON wants it (F.2.5: always UTF-8).
 */

export type DicomJson = Record<string, DicomElement>;

/** Binary values longer than this go out as a BulkDataURI instead of InlineBinary (PS3.18 F.2.7). */
export const INLINE_BINARY_LIMIT = 1024;

/** The binary VRs (PS3.5 table 6.2-1) whose values may be bulk data. */
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

export const PIXEL_DATA = '7FE00010';

/** The uncompressed transfer syntaxes (PS3.5 A.1, A.2, A.3): implicit and explicit VR little endian, explicit big endian. */
export const NATIVE_SYNTAXES: ReadonlySet<string> = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']);

export interface InstanceHead {
  transferSyntaxUid: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  /** Media Storage SOP Instance UID of the file meta information. */
  mediaStorageSopInstanceUid?: string;
  /**
   * The dataset as DICOM JSON; bulk data as `BulkDataURI` relative to the instance's URL
   * (`bulkdata/7FE00010`), made absolute when served.
   */
  metadata: DicomJson;
}

/** The head did not reach the pixel data (or the end of the file): read more of the file and try again. */
export class TruncatedHead extends Error {}

/** Reads the head of a Part 10 file; `complete` when `head` is the whole file. Throws when it is not DICOM. */
export function readInstanceHead(head: Buffer, complete: boolean): InstanceHead {
  if (head.length < 132 || head.toString('latin1', 128, 132) !== 'DICM') {
    if (!complete && head.length < 132) throw new TruncatedHead('shorter than a preamble');
    throw new Error('not a DICOM Part 10 file (no DICM prefix)');
  }
  let dicom;
  try {
    dicom = dcmjs.data.DicomMessage.readFile(head.buffer.slice(head.byteOffset, head.byteOffset + head.length) as ArrayBuffer, {
      untilTag: PIXEL_DATA,
      includeUntilTagValue: false,
    });
  } catch (error) {
    // dcmjs fails with "past end of input" when the head stops inside an element.
    if (!complete) throw new TruncatedHead(String(error));
    throw error;
  }
  // dcmjs may end quietly at the end of the bytes, inside a long element: only the pixel data's tag shows the head is whole.
  if (!complete && !(PIXEL_DATA in dicom.dict)) throw new TruncatedHead('the pixel data was not reached');
  const text = (dataset: DenaturalizedDataset, tag: string) => {
    const value = dataset[tag]?.Value?.[0];
    return typeof value === 'string' && value !== '' ? value.trim() : undefined;
  };
  const transferSyntaxUid = text(dicom.meta, '00020010');
  if (!transferSyntaxUid) throw new Error('the file meta information has no Transfer Syntax UID');
  const metadata = toDicomJson(dicom.dict, '', { encoding: itemEncoding(dicom.dict['00080005']), depth: 0 });
  // dcmjs marks where it stopped with the pixel data's tag but no VR: native data of more than 8 bits is OW, the rest OB (PS3.5 8.2).
  if (PIXEL_DATA in dicom.dict) {
    const native = NATIVE_SYNTAXES.has(transferSyntaxUid) && Number(dicom.dict['00280100']?.Value?.[0]) > 8;
    metadata[PIXEL_DATA] = { vr: native ? 'OW' : 'OB', BulkDataURI: `bulkdata/${PIXEL_DATA}` };
  }
  return {
    transferSyntaxUid,
    sopClassUid: text(dicom.dict, '00080016'),
    sopInstanceUid: text(dicom.dict, '00080018'),
    studyInstanceUid: text(dicom.dict, '0020000D'),
    seriesInstanceUid: text(dicom.dict, '0020000E'),
    mediaStorageSopInstanceUid: text(dicom.meta, '00020003'),
    metadata,
  };
}

/** VRs whose text is in the Specific Character Set (PS3.5 6.1.2.3); the others are ASCII. */
const CHARSET_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'UT', 'UC', 'PN']);

/** Defined terms of Specific Character Set (PS3.3 C.12.1.1.2) as iconv-lite encodings. */
const ENCODINGS: Readonly<Record<string, string>> = {
  'ISO_IR 192': 'utf8',
  'ISO_IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 166': 'tis-620',
  'ISO_IR 13': 'shift_jis',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

/**
 * The encoding of the text of sequence items, which dcmjs (0.51) reads as Latin-1 whatever the
 * character set: each byte one code point, so the bytes are recovered and decoded again here.
 * Undefined when there is nothing to mend (ASCII, Latin-1 or an unknown term).
 */
function itemEncoding(element: DicomElement | undefined): string | undefined {
  const raw = element?._rawValue ?? element?.Value;
  const terms = (Array.isArray(raw) ? raw : [raw]).map((t) => String(t ?? '').trim().replace(/^ISO 2022 IR /, 'ISO_IR '));
  const encoding = terms.map((t) => ENCODINGS[t]).find((e) => e !== undefined);
  return encoding === 'latin1' ? undefined : encoding;
}

/** A string dcmjs read as Latin-1, decoded in the item's character set (left alone when it holds wider characters: already decoded). */
function mended(value: unknown, encoding: string): unknown {
  if (typeof value === 'string') return /^[\u0000-\u00ff]*$/.test(value) && /[\u0080-\u00ff]/.test(value) ? iconv.decode(Buffer.from(value, 'latin1'), encoding) : value;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mended(v, encoding)]));
  return value;
}

interface TextContext {
  encoding: string | undefined;
  depth: number;
}

/** dcmjs's dataset as DICOM JSON: its private fields dropped, binary values inline or bulk, empty values absent, item text mended. */
function toDicomJson(dataset: DenaturalizedDataset, path: string, text: TextContext): DicomJson {
  const json: DicomJson = {};
  for (const [tag, element] of Object.entries(dataset)) {
    if (tag === PIXEL_DATA || !/^[0-9A-F]{8}$/i.test(tag)) continue;
    const key = tag.toUpperCase();
    const out: DicomElement = { vr: element.vr };
    if (BINARY_VRS.has(element.vr)) {
      const bytes = binaryValue(element);
      if (bytes && bytes.length > INLINE_BINARY_LIMIT) out.BulkDataURI = `bulkdata/${path}${key}`;
      else if (bytes && bytes.length > 0) out.InlineBinary = bytes.toString('base64');
    } else if (element.vr === 'SQ') {
      const items = (element.Value ?? []) as DenaturalizedDataset[];
      // An item may declare its own character set (PS3.5 6.1.2.3); else it has its parent's.
      if (items.length > 0) {
        out.Value = items.map((item, i) => toDicomJson(item, `${path}${key}/${i}/`, { encoding: item['00080005'] ? itemEncoding(item['00080005']) : text.encoding, depth: text.depth + 1 }));
      }
    } else if (element.Value && element.Value.length > 0 && !element.Value.every((v) => v === '' || v === null || v === undefined)) {
      const encoding = text.depth > 0 && CHARSET_VRS.has(element.vr) ? text.encoding : undefined;
      out.Value = element.Value.map((v) => (v === '' || v === undefined ? null : encoding ? mended(v, encoding) : v));
    }
    json[key] = out;
  }
  return json;
}

function binaryValue(element: DicomElement): Buffer | undefined {
  if (element.InlineBinary) return Buffer.from(element.InlineBinary, 'base64');
  const parts = (element.Value ?? []).filter((v): v is ArrayBuffer => v instanceof ArrayBuffer);
  if (parts.length === 0) return undefined;
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

/** The value of a bulk data element of the head at `path` (tags and item numbers, `00091010`, `00540016/0/00281201`). */
export function bulkValue(head: Buffer, path: string): Buffer | undefined {
  const dicom = dcmjs.data.DicomMessage.readFile(head.buffer.slice(head.byteOffset, head.byteOffset + head.length) as ArrayBuffer, {
    untilTag: PIXEL_DATA,
    includeUntilTagValue: false,
  });
  const steps = path.split('/');
  let dataset: DenaturalizedDataset | undefined = dicom.dict;
  for (let i = 0; i < steps.length && dataset; i += 2) {
    const element: DicomElement | undefined = dataset[steps[i]!.toUpperCase()];
    if (!element) return undefined;
    if (i === steps.length - 1) return BINARY_VRS.has(element.vr) ? binaryValue(element) : undefined;
    dataset = (element.Value?.[Number(steps[i + 1])] as DenaturalizedDataset | undefined) ?? undefined;
  }
  return undefined;
}

/** The first value of `tag` as text (PN: its alphabetic form), for the index. */
export function firstText(metadata: DicomJson, tag: string): string | undefined {
  const value = metadata[tag]?.Value?.[0];
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'object') {
    const alphabetic = (value as { Alphabetic?: string }).Alphabetic;
    return alphabetic || undefined;
  }
  return String(value);
}

/** Tag ↔ keyword of the DICOM dictionary (PS3.6), as dcmjs carries it. */
export function tagOfKeyword(keyword: string): string | undefined {
  const entry = dcmjs.data.DicomMetaDictionary.nameMap[keyword];
  return entry ? entry.tag.replace(/[(),]/g, '').toUpperCase() : undefined;
}

export function vrOfTag(tag: string): string | undefined {
  return dcmjs.data.DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`]?.vr;
}
