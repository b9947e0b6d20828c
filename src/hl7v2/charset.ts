import iconv from 'iconv-lite';
import { ERROR_CODES, Hl7Error } from './hl7-error.js';

/**
 * MSH-18 values (HL7 table 0211, https://www.hl7.eu/HL7v2x/v251/std251/ch02.html MSH-18) that
 * labs here send, as iconv-lite encodings. Windows-1251 is not in table 0211, but Russian-language
 * lab systems declare it under these names all the same; taking it is kinder than refusing their
 * results. ASCII (and an absent MSH-18, which means ASCII) is read as UTF-8, its superset, so a
 * sender that declares nothing but sends UTF-8 is still understood.
 */
const CHARACTER_SETS = new Map<string, string>(Object.entries({
  '': 'utf8',
  ASCII: 'utf8',
  'ISO IR6': 'utf8',
  'UNICODE UTF-8': 'utf8',
  'UTF-8': 'utf8',
  '8859/1': 'latin1',
  '8859/5': 'iso-8859-5',
  'WINDOWS-1251': 'windows-1251',
  CP1251: 'windows-1251',
  WIN1251: 'windows-1251',
}));

const UTF8_BOM = [0xef, 0xbb, 0xbf];
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a message's bytes, decoded as its MSH-18 declares. MSH itself is ASCII up to
 * MSH-18 (the standard's rule), so the declaration is read from the raw bytes first.
 */
export function decodeMessage(bytes: Uint8Array): { text: string; encoding: string } {
  const start = UTF8_BOM.every((b, i) => bytes[i] === b) ? UTF8_BOM.length : 0;
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + start, bytes.byteLength - start);
  const declared = declaredCharacterSet(body);
  const encoding = CHARACTER_SETS.get(declared.toUpperCase());
  if (!encoding) {
    throw new Hl7Error('AR', ERROR_CODES.tableValueNotFound, `MSH-18 character set "${declared}" is not taken here; send UNICODE UTF-8, 8859/5 or Windows-1251`, MSH_18);
  }
  if (encoding === 'utf8') {
    try {
      return { text: strictUtf8.decode(body), encoding };
    } catch {
      // Most often Windows-1251 text under an absent or UTF-8 MSH-18: guessing would corrupt names and results.
      throw new Hl7Error('AE', ERROR_CODES.dataType, `The message is not valid UTF-8, which MSH-18 "${declared || '(absent: ASCII)'}" requires`, MSH_18);
    }
  }
  return { text: iconv.decode(body, encoding), encoding };
}

/** Text as bytes in `encoding` (characters it cannot hold become `?`). */
export function encodeText(text: string, encoding: string): Buffer {
  return iconv.encode(text, encoding);
}

/** Bytes written as `\Xhh…\` in a message of `encoding`, as text. */
export function decodeHex(hex: string, encoding: string): string {
  return iconv.decode(Buffer.from(hex, 'hex'), encoding);
}

/** The MSH-18 value for messages this side writes in `encoding`. */
export function characterSetName(encoding: string): string {
  return encoding === 'iso-8859-5' ? '8859/5' : encoding === 'windows-1251' ? 'WINDOWS-1251' : encoding === 'latin1' ? '8859/1' : 'UNICODE UTF-8';
}

const MSH_18 = { segment: 'MSH', sequence: 1, field: 18 };

/** MSH-18 (its first repetition, component 1), from the bytes of the first segment. */
function declaredCharacterSet(bytes: Buffer): string {
  let end = bytes.findIndex((b) => b === 0x0d || b === 0x0a);
  if (end < 0) end = bytes.length;
  const msh = bytes.toString('latin1', 0, end);
  if (!msh.startsWith('MSH') || msh.length < 8) {
    throw new Hl7Error('AR', ERROR_CODES.segmentSequence, 'The message does not begin with an MSH segment', { segment: 'MSH', sequence: 1 });
  }
  const [fieldSeparator, component, repetition] = [msh[3]!, msh[4]!, msh[5]!];
  // MSH-1 is the separator itself, so MSH-n is split item n-1.
  const value = msh.split(fieldSeparator)[17] ?? '';
  return value.split(repetition)[0]!.split(component)[0]!.trim();
}
