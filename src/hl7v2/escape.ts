import { decodeHex } from './charset.js';
import type { Delimiters } from './message.js';

/**
 * The text an escaped HL7 value stands for (v2.5.1 section 2.7,
 * https://www.hl7.eu/HL7v2x/v251/std251/ch02.html): delimiters (\F\ \S\ \T\ \R\ \E\),
 * hexadecimal data in the message's own character set (\Xhh…\), and the formatting of FT
 * (\.br\ and \.sp n\ as line breaks). Highlighting, character-set switching and local escapes
 * carry nothing a FHIR string can hold; like any sequence the receiver does not know, the
 * standard lets it ignore them. An escape character without its closing one is kept as text.
 */
export function unescapeValue(value: string, delimiters: Delimiters, encoding: string): string {
  const e = delimiters.escape;
  if (!e || !value.includes(e)) return value;
  let text = '';
  let at = 0;
  while (at < value.length) {
    const open = value.indexOf(e, at);
    const close = open < 0 ? -1 : value.indexOf(e, open + 1);
    if (close < 0) {
      text += value.slice(at);
      break;
    }
    text += value.slice(at, open) + sequence(value.slice(open + 1, close), delimiters, encoding);
    at = close + 1;
  }
  return text;
}

function sequence(code: string, d: Delimiters, encoding: string): string {
  switch (code) {
    case 'F':
      return d.field;
    case 'S':
      return d.component;
    case 'T':
      return d.subcomponent;
    case 'R':
      return d.repetition;
    case 'E':
      return d.escape;
    case '.br':
      return '\n';
  }
  if (code.startsWith('X') && /^X(?:[0-9A-Fa-f]{2})+$/.test(code)) return decodeHex(code.slice(1), encoding);
  const space = /^\.sp ?(\d*)$/.exec(code);
  if (space) return '\n'.repeat(Math.min(Number(space[1] || '1'), 10));
  return '';
}

/** `text` written as an HL7 value: its delimiters and line breaks escaped (the inverse of `unescapeValue`). */
export function escapeValue(text: string, d: Delimiters): string {
  let out = '';
  for (const ch of text) {
    out +=
      ch === d.escape ? `${d.escape}E${d.escape}`
      : ch === d.field ? `${d.escape}F${d.escape}`
      : ch === d.component ? `${d.escape}S${d.escape}`
      : ch === d.subcomponent ? `${d.escape}T${d.escape}`
      : ch === d.repetition ? `${d.escape}R${d.escape}`
      : ch === '\n' ? `${d.escape}.br${d.escape}`
      : ch === '\r' ? ''
      : ch;
  }
  return out;
}
