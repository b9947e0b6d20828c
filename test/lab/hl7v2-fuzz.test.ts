import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeAck } from '../../src/hl7v2/ack.js';
import { Hl7Error } from '../../src/hl7v2/hl7-error.js';
import { parseHeader, parseMessage } from '../../src/hl7v2/parse.js';
import { oruToBundle } from '../../src/lab/oru-to-fhir.js';

const FIXTURES = ['oru-chemistry.hl7', 'oru-cbc.hl7', 'oru-notes.hl7', 'oru-microbiology.hl7', 'oru-8859-5.hl7', 'oru-windows-1251.hl7'].map((name) =>
  readFileSync(new URL(`fixtures/${name}`, import.meta.url)),
);
const CONTEXT = { patient: { reference: 'Patient/p1' }, organization: 'kdl' };

/** What the intake does with bytes: parse and map, or an Hl7Error to NAK; either way an ACK can be written. */
function intake(bytes: Uint8Array): Buffer {
  try {
    const message = parseMessage(bytes);
    oruToBundle(message, CONTEXT);
    return encodeAck({ code: 'AA', original: message });
  } catch (error) {
    if (!(error instanceof Hl7Error)) throw error;
    const original = parseHeader(bytes);
    return encodeAck({ code: error.acknowledgment, ...(original ? { original } : {}), errors: [error.detail] });
  }
}

/** A fixture with bytes overwritten, inserted or cut at random places: delimiters, escapes, CR, high bytes. */
const mutated = fc
  .tuple(
    fc.constantFrom(...FIXTURES),
    fc.array(
      fc.tuple(fc.nat(), fc.constantFrom('overwrite', 'insert', 'cut'), fc.constantFrom(0x7c, 0x5e, 0x7e, 0x5c, 0x26, 0x0d, 0x0a, 0x00, 0xd0, 0xff, 0x58, 0x2e, 0x41, 0x31)),
      { minLength: 1, maxLength: 8 },
    ),
  )
  .map(([fixture, edits]) => {
    const bytes = [...fixture];
    for (const [at, kind, byte] of edits) {
      const i = at % (bytes.length + 1);
      if (kind === 'overwrite' && i < bytes.length) bytes[i] = byte;
      else if (kind === 'insert') bytes.splice(i, 0, byte);
      else bytes.splice(i, 1);
    }
    return Uint8Array.from(bytes);
  });

describe('no input crashes the intake', () => {
  it('answers any mutation of a real message with an ACK that parses, never another error', () => {
    fc.assert(
      fc.property(mutated, (bytes) => {
        const ack = parseMessage(intake(bytes));
        assert.match(ack.segments[1]?.fields[0]?.[0]?.[0]?.[0] ?? '', /^A[AER]$/);
      }),
      { numRuns: 400 },
    );
  });

  it('answers arbitrary bytes, with or without an MSH in front', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), (msh, tail) => {
        const bytes = msh ? Buffer.concat([Buffer.from('MSH|^~\\&|LIS|KDL|||||ORU^R01|1|P|2.5.1\r'), tail]) : tail;
        assert.ok(parseMessage(intake(bytes)).segments.length >= 2);
      }),
      { numRuns: 400 },
    );
  });
});
