import assert from 'node:assert/strict';
import { Hl7Error } from '../../src/hl7v2/hl7-error.js';

/** The Hl7Error `work` throws; fails the test when it throws nothing, and rethrows anything else. */
export function hl7Error(work: () => unknown): Hl7Error {
  try {
    work();
  } catch (error) {
    if (error instanceof Hl7Error) return error;
    throw error;
  }
  assert.fail('expected an Hl7Error');
}
