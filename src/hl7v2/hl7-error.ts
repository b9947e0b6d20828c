import type { Translated } from '../fhir/locale.js';

/**
 * HL7 table 0357, message error condition codes (v2.5.1 chapter 2, ERR-3): the codes a receiver
 * reports in ERR so the sender's interface engineer knows what to mend.
 * https://www.hl7.eu/HL7v2x/v251/std251/ch02.html (ERR-3)
 */
export const ERROR_CODES = {
  /** Success: for an informational ERR on an accepted message that the receiver must still tell of. */
  accepted: { code: '0', text: 'Message accepted' },
  segmentSequence: { code: '100', text: 'Segment sequence error' },
  requiredFieldMissing: { code: '101', text: 'Required field missing' },
  dataType: { code: '102', text: 'Data type error' },
  tableValueNotFound: { code: '103', text: 'Table value not found' },
  unsupportedMessageType: { code: '200', text: 'Unsupported message type' },
  unsupportedEventCode: { code: '201', text: 'Unsupported event code' },
  unsupportedProcessingId: { code: '202', text: 'Unsupported processing id' },
  unsupportedVersion: { code: '203', text: 'Unsupported version id' },
  unknownKey: { code: '204', text: 'Unknown key identifier' },
  internal: { code: '207', text: 'Application internal error' },
} as const;

export type ErrorCondition = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** ERR-2, data type ERL: where in the message the error is; numbers 1-based as HL7 counts. */
export interface ErrorLocation {
  segment: string;
  /** Which occurrence of the segment (the first is 1). */
  sequence: number;
  field?: number;
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

/** ERR-4, HL7 table 0516. */
export type Severity = 'E' | 'W' | 'I';

/** One ERR segment's worth: the condition, where, how severe, a diagnostic for the sender's engineer (ERR-7) and a message for its users (ERR-8). */
export interface ErrorDetail {
  condition: ErrorCondition;
  location?: ErrorLocation;
  severity: Severity;
  diagnostic: string;
  userMessage?: string;
}

/**
 * A message that cannot be taken as it is. `acknowledgment` says which NAK it earns
 * (v2.5.1 section 2.9.2, original acknowledgment rules): AE when its content is wrong, AR
 * when the receiver does not take its type, version, processing id or sender at all.
 */
export class Hl7Error extends Error {
  readonly detail: ErrorDetail;

  constructor(
    readonly acknowledgment: 'AE' | 'AR',
    condition: ErrorCondition,
    diagnostic: string,
    location?: ErrorLocation,
    /** ERR-8 for the sender's people, when the condition's general wording (src/hl7v2/ack-text.ts) would mislead. */
    readonly text?: Translated,
  ) {
    super(diagnostic);
    this.detail = { condition, severity: 'E', diagnostic, ...(location ? { location } : {}) };
  }
}
