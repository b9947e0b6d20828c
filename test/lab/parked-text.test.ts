import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCALES } from '../../src/fhir/locale.js';
import { PARKED } from '../../src/lab/intake.js';

describe('ACK user messages of the lab route', () => {
  it('tells why results were parked in Kazakh, Russian and English', () => {
    for (const [key, text] of Object.entries(PARKED)) {
      const texts = LOCALES.map((locale) => text[locale]);
      assert.ok(texts.every((t) => t.length > 10), key);
      assert.equal(new Set(texts).size, 3, `${key}: three different texts`);
    }
  });
});
