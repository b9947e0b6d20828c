import { decodeMessage } from './charset.js';
import { unescapeValue } from './escape.js';
import { ERROR_CODES, Hl7Error } from './hl7-error.js';
import type { Delimiters, Field, Message, Segment } from './message.js';

/** A segment ID: three upper-case letters or digits, the first a letter (Z segments included). */
const SEGMENT_ID = /^[A-Z][A-Z0-9]{2}$/;

/**
 * A message from the bytes MLLP delivered (decoded as MSH-18 declares) or from text. Segments end
 * with CR as the standard says; CRLF and LF, which file-based senders write, are taken too, and
 * empty lines skipped. Throws Hl7Error, which says the NAK the message earns.
 *
 * Our own parser, because the npm ones fall short where labs here need them: @medplum/core's
 * Hl7Message unescapes nothing and reads no MSH-18, and `hl7v2` (the best kept) decodes \X..\ as
 * UTF-8 whatever the declared set, drops \.br\, and reads an unknown MSH-18 as UTF-8 silently.
 * (v2.5.1 chapter 2, message construction: https://www.hl7.eu/HL7v2x/v251/std251/ch02.html)
 */
export function parseMessage(input: Uint8Array | string): Message {
  const { text, encoding } = typeof input === 'string' ? { text: input.replace(/^\uFEFF/, ''), encoding: 'utf8' } : decodeMessage(input);
  const lines = text.split(/\r\n|\r|\n/).filter((line) => line.trim() !== '');
  const first = lines[0] ?? '';
  if (!first.startsWith('MSH')) throw new Hl7Error('AR', ERROR_CODES.segmentSequence, 'The message does not begin with an MSH segment', { segment: 'MSH', sequence: 1 });
  const { delimiters, encodingCharacters } = declaredDelimiters(first);
  const seen = new Map<string, number>();
  const segments = lines.map((line, index): Segment => {
    const name = line.slice(0, 3);
    const sequence = (seen.get(name) ?? 0) + 1;
    seen.set(name, sequence);
    if (!SEGMENT_ID.test(name) || (line.length > 3 && line[3] !== delimiters.field)) {
      throw new Hl7Error('AE', ERROR_CODES.segmentSequence, `Segment ${index + 1} does not begin with a segment ID and field separator`, {
        segment: name.replace(/[^A-Z0-9]/g, '').slice(0, 3),
        sequence,
      });
    }
    if (name === 'MSH' && index > 0) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'A second MSH: batches are not taken on this link', { segment: 'MSH', sequence });
    if (index > 0) return { name, fields: line.split(delimiters.field).slice(1).map((f) => parseField(f, delimiters, encoding)) };
    // MSH-1 is the field separator itself and MSH-2 the encoding characters as written: neither is split.
    const rest = line.slice(4 + encodingCharacters.length + 1);
    const fields = rest === '' ? [] : rest.split(delimiters.field).map((f) => parseField(f, delimiters, encoding));
    return { name, fields: [[[[delimiters.field]]], [[[encodingCharacters]]], ...fields] };
  });
  return { delimiters, encoding, segments };
}

/**
 * MSH alone, read from the bytes of a message that could not be parsed whole, so that its NAK
 * still names the sender and the control id it answers; undefined when not even MSH is readable.
 * MSH is ASCII up to MSH-18, so its bytes are read as Latin-1 whatever the message declares.
 */
export function parseHeader(bytes: Uint8Array): Message | undefined {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').replace(/^\xEF\xBB\xBF/, '');
  try {
    return parseMessage(text.split(/[\r\n]/, 1)[0]!);
  } catch {
    return undefined;
  }
}

/** MSH-1 and MSH-2: four encoding characters in v2.5.1, a fifth (truncation, v2.7) tolerated and unused. */
function declaredDelimiters(msh: string): { delimiters: Delimiters; encodingCharacters: string } {
  const field = msh[3] ?? '';
  const end = field ? msh.indexOf(field, 4) : -1;
  const encodingCharacters = msh.slice(4, end < 0 ? msh.length : end);
  const [component = '', repetition = '', escape = '', subcomponent = ''] = encodingCharacters;
  const characters = [field, component, repetition, escape, subcomponent];
  // Distinct, and neither letters, digits nor spaces: otherwise nothing after them can be split reliably.
  if (encodingCharacters.length < 4 || encodingCharacters.length > 5 || new Set(characters).size !== 5 || characters.some((c) => c === '' || /[A-Za-z0-9\s]/.test(c))) {
    throw new Hl7Error('AR', ERROR_CODES.requiredFieldMissing, 'MSH-1 and MSH-2 must declare five distinct delimiters, such as |^~\\&', { segment: 'MSH', sequence: 1, field: 2 });
  }
  return { delimiters: { field, component, repetition, escape, subcomponent }, encodingCharacters };
}

function parseField(text: string, d: Delimiters, encoding: string): Field {
  if (text === '') return [];
  return text.split(d.repetition).map((repetition) =>
    repetition === '' ? [] : repetition.split(d.component).map((component) => component.split(d.subcomponent).map((sub) => unescapeValue(sub, d, encoding))),
  );
}
