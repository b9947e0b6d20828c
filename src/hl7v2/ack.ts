import { randomBytes } from 'node:crypto';
import { characterSetName, encodeText } from './charset.js';
import { escapeValue } from './escape.js';
import type { ErrorDetail, ErrorLocation } from './hl7-error.js';
import { DEFAULT_DELIMITERS, type Delimiters, type Message, type Repetition, header, repetition } from './message.js';

/** MSA-1, HL7 table 0008: accepted, error (the content), rejected (the type, version, sender…). */
export type AcknowledgmentCode = 'AA' | 'AE' | 'AR';

export interface Acknowledgment {
  code: AcknowledgmentCode;
  /** The message acknowledged; absent when not even its MSH could be read. */
  original?: Message;
  /** ERR segments: the errors (severity E), or notes to an accepted message (severity I or W). */
  errors?: readonly ErrorDetail[];
  /**
   * MSH-9 of the answer: `ACK^{trigger}^ACK` unless the message type defines its own
   * application acknowledgment (ORL^O22^ORL_O22 to OML^O21, v2.5.1 section 4.4.6).
   */
  type?: readonly [code: string, trigger: string, structure: string];
  /** The ACK's own MSH-10; a fresh one when absent. */
  controlId?: string;
  now?: Date;
}

/**
 * An original-mode acknowledgment (v2.5.1 section 2.9.2 and 2.14.1 ACK,
 * https://www.hl7.eu/HL7v2x/v251/std251/ch02.html): MSH with sender and receiver
 * swapped and MSH-9 `ACK^{trigger}^ACK`, MSA with the original's MSH-10, one ERR per error. It is
 * written in the original's delimiters and character set, so the sender reads it as it writes.
 */
export function encodeAck(ack: Acknowledgment): Buffer {
  const d = ack.original?.delimiters ?? DEFAULT_DELIMITERS;
  const msh = ack.original?.segments[0];
  const original = ack.original ? header(ack.original) : undefined;
  const encoding = ack.original?.encoding ?? 'utf8';
  // From MSH-3 on: MSH-1 and MSH-2 are the delimiters themselves, written as they are.
  const mshFields: (string | Repetition)[] = [
    repetition(msh, 5),
    repetition(msh, 6),
    repetition(msh, 3),
    repetition(msh, 4),
    hl7Timestamp(ack.now ?? new Date()),
    '',
    ack.type ? ack.type.map((c) => [c]) : [['ACK'], [original?.triggerEvent ?? ''], ['ACK']],
    ack.controlId ?? newControlId(),
    original?.processingId || 'P',
    original?.version || '2.5.1',
    '', '', '', '', '',
    characterSetName(encoding),
  ];
  const segments: [string, ...(string | Repetition)[]][] = [
    ['MSA', ack.code, original?.controlId ?? ''],
    ...(ack.errors ?? []).map((e): [string, ...(string | Repetition)[]] => [
      'ERR',
      '',
      e.location ? errorLocation(e.location) : '',
      [[e.condition.code], [e.condition.text], ['HL70357']],
      e.severity,
      '',
      '',
      e.diagnostic,
      e.userMessage ?? '',
    ]),
  ];
  const lines = [
    ['MSH', `${d.component}${d.repetition}${d.escape}${d.subcomponent}`, ...mshFields.map((f) => writeField(f, d))].join(d.field),
    ...segments.map(([name, ...fields]) => {
      const written = fields.map((f) => writeField(f, d));
      while (written.at(-1) === '') written.pop();
      return [name, ...written].join(d.field);
    }),
  ];
  return encodeText(`${lines.join('\r')}\r`, encoding);
}

/** ERR-2 as an ERL: segment ID, its occurrence, field, repetition (1 when a field is named), component, subcomponent. */
function errorLocation(at: ErrorLocation): Repetition {
  const numbers = [at.sequence, at.field, at.repetition ?? (at.field ? 1 : undefined), at.component, at.subcomponent];
  return [[at.segment], ...numbers.map((n) => [n === undefined ? '' : String(n)])];
}

function writeField(value: string | Repetition, d: Delimiters): string {
  if (typeof value === 'string') return escapeValue(value, d);
  return value
    .map((c) => c.map((s) => escapeValue(s, d)).join(d.subcomponent))
    .join(d.component)
    .replace(new RegExp(`${escapeRegExp(d.component)}+$`), '');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An HL7 DTM in UTC: `YYYYMMDDHHMMSS+0000`. */
function hl7Timestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-T:]/g, '')}+0000`;
}

/** MSH-10 is an ST of at most 20 characters in v2.5.1. */
function newControlId(): string {
  return randomBytes(10).toString('hex');
}
