// Our own Part 10 reader, because dcmjs's generic reader (a dataset of proxies, then converted
// again to DICOM JSON) cost most of STOW's parse time: this one walks the bytes once and builds
// the DICOM JSON model (PS3.18 annex F) as it goes.
import { constants as zlib, inflateRawSync } from 'node:zlib';
import dcmjs, { type DicomElement } from 'dcmjs';
import iconv from 'iconv-lite';
import type { DicomJson } from './dicom-json.js';

/** Binary values longer than this go out as a BulkDataURI instead of InlineBinary (PS3.18 F.2.7). */
export const INLINE_BINARY_LIMIT = 1024;

export const PIXEL_DATA = '7FE00010';

/** The uncompressed transfer syntaxes (PS3.5 A.1, A.2, A.3): implicit and explicit VR little endian, explicit big endian. */
export const NATIVE_SYNTAXES: ReadonlySet<string> = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']);

/** The head did not reach the pixel data (or the end of the file): read more of the file and try again. */
export class TruncatedHead extends Error {}

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

const IMPLICIT_LITTLE = '1.2.840.10008.1.2';
const EXPLICIT_BIG = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';

/** Byte orders and VR encodings a data set may be in; UN of undefined length holds implicit VR little endian (PS3.5 6.2.2). */
const enum Syntax {
  ExplicitLittle,
  ImplicitLittle,
  ExplicitBig,
}

const UNDEFINED_LENGTH = 0xffffffff;
/** Deeper nesting than any real IOD, so a hostile file cannot exhaust the stack. */
const MAX_DEPTH = 64;
/** A deflated data set is inflated no further than this (a deflate bomb stops here; STOW reads heads of up to 64 MiB). */
const MAX_INFLATED = 128 * 1024 * 1024;
/** Deflated bytes inflated at first: a head is small, and 16 KiB inflate to 16 MiB at most. */
const FIRST_DEFLATED_STEP = 16 * 1024;

/** How a VR's value becomes DICOM JSON (PS3.18 F.2.3). */
const enum Kind {
  /** ST LT UT: one value in the character set, trailing spaces dropped. */
  Text = 1,
  /** SH LO: values in the character set, trimmed. */
  Short,
  /** UC: values in the character set, trailing spaces dropped. */
  Unlimited,
  PersonName,
  /** AE CS: ASCII values, trimmed. */
  Code,
  /** DA DT TM AS: ASCII values, trailing spaces dropped. */
  Temporal,
  /** UR: one ASCII value, trailing spaces dropped. */
  Uri,
  /** DS IS as numbers. */
  NumberString,
  Uid,
  US,
  SS,
  UL,
  SL,
  FL,
  FD,
  SV,
  UV,
  AT,
  /** OB OD OF OL OV OW UN: InlineBinary or BulkDataURI. */
  Binary,
  Sequence,
}

/** PS3.5 table 6.2-1, and which VRs have the 4-byte length of PS3.5 7.1.2. */
const VR_TABLE: ReadonlyArray<[string, Kind, boolean]> = [
  ['AE', Kind.Code, false],
  ['AS', Kind.Temporal, false],
  ['AT', Kind.AT, false],
  ['CS', Kind.Code, false],
  ['DA', Kind.Temporal, false],
  ['DS', Kind.NumberString, false],
  ['DT', Kind.Temporal, false],
  ['FD', Kind.FD, false],
  ['FL', Kind.FL, false],
  ['IS', Kind.NumberString, false],
  ['LO', Kind.Short, false],
  ['LT', Kind.Text, false],
  ['OB', Kind.Binary, true],
  ['OD', Kind.Binary, true],
  ['OF', Kind.Binary, true],
  ['OL', Kind.Binary, true],
  ['OV', Kind.Binary, true],
  ['OW', Kind.Binary, true],
  ['PN', Kind.PersonName, false],
  ['SH', Kind.Short, false],
  ['SL', Kind.SL, false],
  ['SQ', Kind.Sequence, true],
  ['SS', Kind.SS, false],
  ['ST', Kind.Text, false],
  ['SV', Kind.SV, true],
  ['TM', Kind.Temporal, false],
  ['UC', Kind.Unlimited, true],
  ['UI', Kind.Uid, false],
  ['UL', Kind.UL, false],
  ['UN', Kind.Binary, true],
  ['UR', Kind.Uri, true],
  ['US', Kind.US, false],
  ['UT', Kind.Text, true],
  ['UV', Kind.UV, true],
];

/** VR index (1-based into VR_TABLE) by the VR's two bytes as a 16-bit number. */
const VR_INDEX = new Uint8Array(65536);
const VR_BY_NAME = new Map<string, number>();
VR_TABLE.forEach(([name, , ], i) => {
  VR_INDEX[(name.charCodeAt(0) << 8) | name.charCodeAt(1)] = i + 1;
  VR_BY_NAME.set(name, i + 1);
});
const VR_NAME = ['', ...VR_TABLE.map(([name]) => name)];
const VR_KIND = [0, ...VR_TABLE.map(([, kind]) => kind)];
const VR_LONG = [false, ...VR_TABLE.map(([, , long]) => long)];
const UN = VR_BY_NAME.get('UN')!;
const SQ = VR_BY_NAME.get('SQ')!;
const UL = VR_BY_NAME.get('UL')!;
const LO = VR_BY_NAME.get('LO')!;
const OW = VR_BY_NAME.get('OW')!;
const US = VR_BY_NAME.get('US')!;

/** The dictionary's pseudo-VRs for "US or SS", "OB or OW", "US or SS or OW", "UL (pointer)", resolved as dcmjs resolves the first two. */
const PSEUDO_VRS: Readonly<Record<string, number>> = { xs: US, ox: OW, lt: OW, up: UL };

/** The VR the DICOM dictionary (PS3.6, as dcmjs carries it) gives a tag (`GGGGEEEE`), pseudo-VRs such as "xs" included. */
export function vrOfTag(tag: string): string | undefined {
  return dcmjs.data.DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`]?.vr;
}

/** Dictionary VR by tag (group << 16 | element), 0 when the tag is not in it. Bounded: hostile files bring endless tags. */
const dictionaryCache = new Map<number, number>();
function dictionaryVr(tag: number): number {
  let vr = dictionaryCache.get(tag);
  if (vr === undefined) {
    const name = vrOfTag(hex4(tag >>> 16) + hex4(tag & 0xffff));
    vr = name === undefined ? 0 : (VR_BY_NAME.get(name) ?? PSEUDO_VRS[name] ?? UN);
    if (dictionaryCache.size < 8192) dictionaryCache.set(tag, vr);
  }
  return vr;
}

/** The VR of an element in implicit VR (PS3.5 A.1): group lengths UL, private creators LO, other private tags UN, else the dictionary's. */
function implicitVr(group: number, element: number, length: number): number {
  if (element === 0) return UL;
  if (group & 1) {
    if (element >= 0x10 && element <= 0xff) return LO;
    return length === UNDEFINED_LENGTH ? SQ : UN;
  }
  const vr = dictionaryVr(((group << 16) | element) >>> 0);
  if (vr === 0 || (length === UNDEFINED_LENGTH && VR_KIND[vr] !== Kind.Sequence)) return length === UNDEFINED_LENGTH ? SQ : UN;
  return vr;
}

const HEX4: string[] = [];
function hex4(n: number): string {
  return (HEX4[n] ??= n.toString(16).toUpperCase().padStart(4, '0'));
}

/** The encoding of a Specific Character Set's terms: the first one known, ISO 2022 terms as their single-byte base. Undefined: ASCII/Latin-1. */
function encodingOf(terms: readonly unknown[]): string | undefined {
  for (const term of terms) {
    if (typeof term !== 'string') continue;
    const encoding = ENCODINGS[term.startsWith('ISO 2022 IR ') ? `ISO_IR ${term.slice(12)}` : term];
    if (encoding !== undefined) return encoding === 'latin1' ? undefined : encoding;
  }
  return undefined;
}

/** What the file's meta information and data set hold, as DICOM JSON. */
export interface Part10 {
  transferSyntaxUid: string;
  meta: DicomJson;
  dataset: DicomJson;
  /** The value at the bulk data path asked for, when it is a binary element of the head. */
  bulk?: Buffer;
}

/**
 * Reads a Part 10 file (PS3.10 7.1) up to its pixel data. `complete` when `bytes` is the whole
 * file; when it is not and ends before the pixel data, throws TruncatedHead. `bulkPath` (tags and
 * item numbers, `00540016/0/00281201`) asks for that element's value as well.
 */
export function readPart10(bytes: Buffer, complete: boolean, bulkPath?: string): Part10 {
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') {
    if (!complete && bytes.length < 132) throw new TruncatedHead('shorter than a preamble');
    throw new Error('not a DICOM Part 10 file (no DICM prefix)');
  }
  const wanted = bulkPath?.toUpperCase();
  const metaReader = new Reader(bytes, complete, wanted);
  metaReader.pos = 132;
  // The meta group is whatever group 0002 elements follow, whatever its group length says (PS3.10 7.1).
  const meta = metaReader.dataset(Infinity, false, Syntax.ExplicitLittle, 0, '', undefined, 0x0002);
  const transferSyntaxUid = meta['00020010']?.Value?.[0];
  if (typeof transferSyntaxUid !== 'string' || transferSyntaxUid === '') throw new Error('the file meta information has no Transfer Syntax UID');
  const syntax = transferSyntaxUid === IMPLICIT_LITTLE ? Syntax.ImplicitLittle : transferSyntaxUid === EXPLICIT_BIG ? Syntax.ExplicitBig : Syntax.ExplicitLittle;
  const [reader, dataset] =
    transferSyntaxUid === DEFLATED ? readDeflated(bytes.subarray(metaReader.pos), complete, wanted) : [metaReader, metaReader.dataset(Infinity, false, syntax, 0, '', undefined, -1)];
  if (reader.pixelData) {
    // Native data of more than 8 bits is OW, the rest OB (PS3.5 8.2).
    const native = NATIVE_SYNTAXES.has(transferSyntaxUid) && Number(dataset['00280100']?.Value?.[0]) > 8;
    dataset[PIXEL_DATA] = { vr: native ? 'OW' : 'OB', BulkDataURI: `bulkdata/${PIXEL_DATA}` };
  }
  return { transferSyntaxUid, meta, dataset, bulk: reader.bulk };
}

/**
 * The deflated data set (PS3.5 A.5), inflating only as much as the head needs: growing prefixes
 * of the deflated bytes, flushed, until one holds the head whole.
 */
function readDeflated(deflated: Buffer, complete: boolean, wanted: string | undefined): [Reader, DicomJson] {
  for (let step = FIRST_DEFLATED_STEP; ; step *= 4) {
    const whole = step >= deflated.length;
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(deflated.subarray(0, step), { finishFlush: zlib.Z_SYNC_FLUSH, maxOutputLength: MAX_INFLATED });
    } catch (error) {
      throw new Error(`the deflated data set cannot be inflated: ${String(error)}`);
    }
    const reader = new Reader(inflated, whole && complete, wanted);
    try {
      return [reader, reader.dataset(Infinity, false, Syntax.ExplicitLittle, 0, '', undefined, -1)];
    } catch (error) {
      if (whole || !(error instanceof TruncatedHead)) throw error;
    }
  }
}

class Reader {
  readonly view: DataView;
  pos = 0;
  pixelData = false;
  bulk: Buffer | undefined;

  constructor(
    readonly bytes: Buffer,
    readonly complete: boolean,
    readonly wanted: string | undefined,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  /** Fails unless `n` bytes from `pos` lie within `end` and within the bytes read. */
  private need(pos: number, n: number, end: number): void {
    if (pos + n > end) throw new Error('an element runs past the end of its item or sequence');
    if (pos + n > this.bytes.length) throw this.truncation();
  }

  private truncation(): Error {
    return this.complete ? new Error('the file ends inside an element') : new TruncatedHead('the head ends inside an element');
  }

  /**
   * The elements from `this.pos` to `end`, or to an item delimiter when `delimited`. At the top
   * (depth 0, `onlyGroup` -1) it stops at the pixel data; with `onlyGroup`, at the first element
   * of another group (the file meta information).
   */
  dataset(end: number, delimited: boolean, syntax: Syntax, depth: number, prefix: string, inherited: string | undefined, onlyGroup: number): DicomJson {
    const { bytes, view } = this;
    const little = syntax !== Syntax.ExplicitBig;
    const explicit = syntax !== Syntax.ImplicitLittle;
    const top = depth === 0 && onlyGroup === -1;
    let encoding = inherited;
    const json: DicomJson = {};
    for (;;) {
      const pos = this.pos;
      if (pos >= end) {
        if (delimited) throw new Error('an item has no item delimiter');
        break;
      }
      if (pos >= bytes.length && depth === 0) {
        if (this.complete) break;
        throw new TruncatedHead(onlyGroup === -1 ? 'the pixel data was not reached' : 'the head ends in the file meta information');
      }
      this.need(pos, 4, end);
      const group = view.getUint16(pos, little);
      const element = view.getUint16(pos + 2, little);
      if (onlyGroup !== -1 && group !== onlyGroup) break;
      if (group === 0xfffe) {
        if (element === 0xe00d && delimited) {
          this.need(pos, 8, end);
          this.pos = pos + 8;
          return json;
        }
        throw new Error(`unexpected (FFFE,${hex4(element)}) in a data set`);
      }
      if (top && group === 0x7fe0 && element === 0x0010) {
        this.pixelData = true;
        break;
      }
      this.need(pos, 8, end);
      let vr: number;
      let length: number;
      let start: number;
      let valueSyntax = syntax;
      if (explicit) {
        vr = VR_INDEX[(bytes[pos + 4]! << 8) | bytes[pos + 5]!]!;
        if (vr === 0) throw new Error(`(${hex4(group)},${hex4(element)}) has no valid VR`);
        if (VR_LONG[vr]) {
          this.need(pos, 12, end);
          length = view.getUint32(pos + 8, little);
          start = pos + 12;
        } else {
          length = view.getUint16(pos + 6, little);
          start = pos + 8;
        }
        if (vr === UN) {
          // UN holds implicit VR little endian (PS3.5 6.2.2): undefined length is a sequence; a public tag keeps its dictionary VR, as dcmjs gave it.
          valueSyntax = Syntax.ImplicitLittle;
          if (length === UNDEFINED_LENGTH) vr = SQ;
          else if ((group & 1) === 0) vr = dictionaryVr(((group << 16) | element) >>> 0) || UN;
        }
      } else {
        length = view.getUint32(pos + 4, true);
        start = pos + 8;
        vr = implicitVr(group, element, length);
      }
      const key = hex4(group) + hex4(element);
      const kind = VR_KIND[vr]!;
      const out: DicomElement = { vr: VR_NAME[vr]! };
      if (kind === Kind.Sequence) {
        this.pos = start;
        const items = this.sequence(length, end, valueSyntax, depth, `${prefix}${key}/`, encoding);
        if (items.length > 0) out.Value = items;
      } else if (length === UNDEFINED_LENGTH) {
        if (kind !== Kind.Binary) throw new Error(`(${hex4(group)},${hex4(element)}) has an undefined length`);
        this.pos = start;
        this.binary(out, this.fragments(end, little), prefix + key);
      } else {
        this.need(start, length, end);
        const stop = start + length;
        this.pos = stop;
        if (kind === Kind.Binary) {
          this.binary(out, length > 0 ? [start, stop] : [], prefix + key);
        } else if (length > 0) {
          const value = this.value(kind, start, stop, valueSyntax !== Syntax.ExplicitBig, encoding);
          if (value !== undefined) out.Value = value;
        }
        if (group === 0x0008 && element === 0x0005) {
          encoding = encodingOf(out.Value ?? []);
          // The text here comes out as Unicode, so the set it is now in is ISO_IR 192 (as dcm2json and dcmjs say).
          out.Value = ['ISO_IR 192'];
        }
      }
      // Group lengths describe the encoding, not the data: left out, as dcm2json leaves them.
      if (element !== 0) json[key] = out;
    }
    return json;
  }

  /** The items of a sequence whose value starts at `this.pos` (PS3.5 7.5). */
  private sequence(length: number, parentEnd: number, syntax: Syntax, depth: number, prefix: string, encoding: string | undefined): DicomJson[] {
    if (depth >= MAX_DEPTH) throw new Error(`sequences nested deeper than ${MAX_DEPTH}`);
    const little = syntax !== Syntax.ExplicitBig;
    const delimited = length === UNDEFINED_LENGTH;
    const end = delimited ? parentEnd : this.pos + length;
    if (end > parentEnd) throw new Error('a sequence runs past the end of its parent');
    const items: DicomJson[] = [];
    for (;;) {
      const pos = this.pos;
      if (pos >= end) {
        if (delimited) throw new Error('a sequence has no sequence delimiter');
        break;
      }
      this.need(pos, 8, end);
      const group = this.view.getUint16(pos, little);
      const element = this.view.getUint16(pos + 2, little);
      if (group === 0xfffe && element === 0xe0dd) {
        this.pos = pos + 8;
        if (delimited) break;
        throw new Error('a sequence delimiter in a sequence of defined length');
      }
      if (group !== 0xfffe || element !== 0xe000) throw new Error(`expected an item, found (${hex4(group)},${hex4(element)})`);
      const itemLength = this.view.getUint32(pos + 4, little);
      this.pos = pos + 8;
      const itemDelimited = itemLength === UNDEFINED_LENGTH;
      const itemEnd = itemDelimited ? end : this.pos + itemLength;
      if (itemEnd > end) throw new Error('an item runs past the end of its sequence');
      // An item may declare its own character set (PS3.5 6.1.2.3); else it has its parent's.
      items.push(this.dataset(itemEnd, itemDelimited, syntax, depth + 1, `${prefix}${items.length}/`, encoding, -1));
    }
    return items;
  }

  /** The byte ranges of the fragments of an encapsulated value (PS3.5 A.4), the first (the offset table) left out. */
  private fragments(end: number, little: boolean): number[] {
    const ranges: number[] = [];
    for (let first = true; ; first = false) {
      const pos = this.pos;
      this.need(pos, 8, end);
      const group = this.view.getUint16(pos, little);
      const element = this.view.getUint16(pos + 2, little);
      const length = this.view.getUint32(pos + 4, little);
      this.pos = pos + 8;
      if (group === 0xfffe && element === 0xe0dd) return ranges;
      if (group !== 0xfffe || element !== 0xe000 || length === UNDEFINED_LENGTH) throw new Error('expected a fragment');
      this.need(this.pos, length, end);
      if (!first && length > 0) ranges.push(this.pos, this.pos + length);
      this.pos += length;
    }
  }

  /** A binary value (its byte ranges) inline or as bulk data (PS3.18 F.2.7). */
  private binary(out: DicomElement, ranges: number[], path: string): void {
    let size = 0;
    for (let i = 0; i < ranges.length; i += 2) size += ranges[i + 1]! - ranges[i]!;
    if (this.wanted === path) this.bulk = this.joined(ranges);
    if (size > INLINE_BINARY_LIMIT) out.BulkDataURI = `bulkdata/${path}`;
    else if (size > 0) out.InlineBinary = ranges.length === 2 ? this.bytes.toString('base64', ranges[0], ranges[1]) : this.joined(ranges).toString('base64');
  }

  private joined(ranges: number[]): Buffer {
    if (ranges.length === 2) return this.bytes.subarray(ranges[0], ranges[1]);
    const parts: Buffer[] = [];
    for (let i = 0; i < ranges.length; i += 2) parts.push(this.bytes.subarray(ranges[i], ranges[i + 1]));
    return Buffer.concat(parts);
  }

  /** The values of a non-empty element of a non-binary, non-sequence VR; undefined when every one is empty. */
  private value(kind: Kind, start: number, stop: number, little: boolean, encoding: string | undefined): unknown[] | undefined {
    const { view } = this;
    switch (kind) {
      case Kind.US:
      case Kind.SS:
      case Kind.UL:
      case Kind.SL:
      case Kind.FL:
      case Kind.FD:
      case Kind.SV:
      case Kind.UV:
      case Kind.AT: {
        const size = kind === Kind.US || kind === Kind.SS ? 2 : kind === Kind.FD || kind === Kind.SV || kind === Kind.UV ? 8 : 4;
        const values: unknown[] = [];
        for (let at = start; at + size <= stop; at += size) {
          if (kind === Kind.US) values.push(view.getUint16(at, little));
          else if (kind === Kind.SS) values.push(view.getInt16(at, little));
          else if (kind === Kind.UL) values.push(view.getUint32(at, little));
          else if (kind === Kind.SL) values.push(view.getInt32(at, little));
          else if (kind === Kind.FL) values.push(view.getFloat32(at, little));
          else if (kind === Kind.FD) values.push(view.getFloat64(at, little));
          else if (kind === Kind.AT) values.push(hex4(view.getUint16(at, little)) + hex4(view.getUint16(at + 2, little)));
          else values.push(safeNumber(kind === Kind.SV ? view.getBigInt64(at, little) : view.getBigUint64(at, little)));
        }
        return values.length > 0 ? values : undefined;
      }
      case Kind.Text: {
        const text = this.text(start, stop, encoding).trimEnd();
        return text === '' ? undefined : [text];
      }
      case Kind.Uri: {
        const text = this.bytes.toString('latin1', start, stop).trimEnd();
        return text === '' ? undefined : [text];
      }
      case Kind.Short:
      case Kind.Unlimited:
      case Kind.PersonName:
        return split(this.text(start, stop, encoding), kind);
      default:
        return split(this.bytes.toString('latin1', start, stop), kind);
    }
  }

  /** Text of a VR in the Specific Character Set (PS3.5 6.1.2.3). */
  private text(start: number, stop: number, encoding: string | undefined): string {
    if (encoding === undefined) return this.bytes.toString('latin1', start, stop);
    if (encoding === 'utf8') return this.bytes.toString('utf8', start, stop);
    return iconv.decode(this.bytes.subarray(start, stop), encoding);
  }
}

/** 64-bit integers as JSON numbers while exact, else as strings (PS3.18 F.2.3.1). */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
function safeNumber(value: bigint): number | string {
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value.toString();
}

/** The values of a string VR, split on backslash (PS3.5 6.4); empty ones null, undefined when all are. */
function split(text: string, kind: Kind): unknown[] | undefined {
  const values: unknown[] = [];
  let any = false;
  for (let from = 0; ; ) {
    const at = text.indexOf('\\', from);
    const value = stringValue(at === -1 ? text.slice(from) : text.slice(from, at), kind);
    if (value !== null) any = true;
    values.push(value);
    if (at === -1) break;
    from = at + 1;
  }
  return any ? values : undefined;
}

/** DS and IS keep what dcmjs keeps of them: digits, sign, point and exponent. */
const NUMBER_JUNK = /[^0-9.\-+e]/gi;
const UID_JUNK = /[^0-9.]/g;

function stringValue(raw: string, kind: Kind): unknown {
  switch (kind) {
    case Kind.Short:
    case Kind.Code: {
      const value = raw.trim();
      return value === '' ? null : value;
    }
    case Kind.Unlimited:
    case Kind.Temporal: {
      const value = raw.trimEnd();
      return value === '' ? null : value;
    }
    case Kind.NumberString: {
      const value = raw.trim().replace(NUMBER_JUNK, '');
      return value === '' ? null : Number(value);
    }
    case Kind.Uid: {
      const value = raw.replace(UID_JUNK, '');
      return value === '' ? null : value;
    }
    default:
      return personName(raw);
  }
}

/** A PN value as its component groups (PS3.18 F.2.2): alphabetic, ideographic, phonetic; the empty ones left out. */
function personName(raw: string): unknown {
  const value = raw.trimEnd();
  if (value === '') return null;
  const name: { Alphabetic?: string; Ideographic?: string; Phonetic?: string } = {};
  const first = value.indexOf('=');
  if (first === -1) {
    name.Alphabetic = value;
    return name;
  }
  const second = value.indexOf('=', first + 1);
  const third = second === -1 ? -1 : value.indexOf('=', second + 1);
  const alphabetic = value.slice(0, first);
  const ideographic = second === -1 ? value.slice(first + 1) : value.slice(first + 1, second);
  const phonetic = second === -1 ? '' : third === -1 ? value.slice(second + 1) : value.slice(second + 1, third);
  if (alphabetic) name.Alphabetic = alphabetic;
  if (ideographic) name.Ideographic = ideographic;
  if (phonetic) name.Phonetic = phonetic;
  return name;
}
