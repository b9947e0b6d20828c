/**
 * An HL7 v2 message as parsed: segments of fields, each field its repetitions, each repetition
 * its components, each component its subcomponents, every leaf already unescaped
 * (v2.5.1 chapter 2, https://www.hl7.eu/HL7v2x/v251/std251/ch02.html).
 * Numbering in the getters is HL7's own, 1-based, so `component(obx, 6, 1)` reads OBX-6.1.
 */

export type Component = readonly string[];
export type Repetition = readonly Component[];
export type Field = readonly Repetition[];

export interface Segment {
  /** The segment ID: `MSH`, `PID`, `OBX`… */
  readonly name: string;
  /** `fields[0]` is field 1 (for MSH: MSH-1, the field separator; MSH-2 holds the encoding characters as written). */
  readonly fields: readonly Field[];
}

/** The delimiters a message declares in MSH-1 and MSH-2 (v2.5.1 chapter 2, message delimiters). */
export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

export const DEFAULT_DELIMITERS: Delimiters = Object.freeze({ field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' });

export interface Message {
  readonly delimiters: Delimiters;
  /** How its bytes were decoded (an iconv-lite name, from MSH-18): an answer goes back the same way. */
  readonly encoding: string;
  /** The first is MSH. */
  readonly segments: readonly Segment[];
}

/** The repetitions of field `n` of `segment`; none when the field is absent or empty. */
export function field(segment: Segment | undefined, n: number): Field {
  return segment?.fields[n - 1] ?? [];
}

/** Repetition `r` of field `n`: its components. */
export function repetition(segment: Segment | undefined, n: number, r = 1): Repetition {
  return field(segment, n)[r - 1] ?? [];
}

/** Component `c` of a repetition (subcomponent `s`), '' when absent: for composite values (CWE, XCN, CX…). */
export function part(value: Repetition, c: number, s = 1): string {
  return value[c - 1]?.[s - 1] ?? '';
}

/** The value of field `n`, component `c`, subcomponent `s`, repetition `r`; '' when absent. */
export function component(segment: Segment | undefined, n: number, c = 1, s = 1, r = 1): string {
  return part(repetition(segment, n, r), c, s);
}

/** The first segment called `name`. */
export function segment(message: Message, name: string): Segment | undefined {
  return message.segments.find((s) => s.name === name);
}

/** Every segment called `name`, in order. */
export function segments(message: Message, name: string): Segment[] {
  return message.segments.filter((s) => s.name === name);
}

/** What MSH says about the message: who sent it, what it is, and its control id. */
export interface Header {
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  /** MSH-9.1 and .2: `ORU`, `R01`. */
  messageCode: string;
  triggerEvent: string;
  /** MSH-10: unique per sender, the key of duplicate detection. */
  controlId: string;
  /** MSH-11.1: P(roduction), T(raining), D(ebugging). */
  processingId: string;
  /** MSH-12.1: `2.5.1`. */
  version: string;
}

/** The header of a parsed message (MSH-3/-4 as their namespace id, component 1). */
export function header(message: Message): Header {
  const msh = message.segments[0];
  return {
    sendingApplication: component(msh, 3),
    sendingFacility: component(msh, 4),
    receivingApplication: component(msh, 5),
    receivingFacility: component(msh, 6),
    messageCode: component(msh, 9, 1),
    triggerEvent: component(msh, 9, 2),
    controlId: component(msh, 10),
    processingId: component(msh, 11),
    version: component(msh, 12),
  };
}
