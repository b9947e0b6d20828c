import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCALES, type Translated } from '../../src/fhir/locale.js';
import { PARKED } from '../../src/lab/intake.js';
import { ORDER_PARKED } from '../../src/lab/orders.js';

/** Each text given in Kazakh, Russian and English, three different ones. */
function assertTranslated(all: Record<string, Translated>): void {
  for (const [key, text] of Object.entries(all)) {
    const texts = LOCALES.map((locale) => text[locale]);
    assert.ok(texts.every((t) => t.length > 10), key);
    assert.equal(new Set(texts).size, 3, `${key}: three different texts`);
  }
}

describe('ACK user messages of the lab routes', () => {
  it('tells why results were parked in Kazakh, Russian and English', () => {
    assertTranslated(PARKED);
  });

  it('tells why an order was parked, or its lab refused, in Kazakh, Russian and English', () => {
    assertTranslated(ORDER_PARKED);
    assert.match(ORDER_PARKED.noPatient.kk, /Тапсырыс/);
    assert.match(ORDER_PARKED.noPatient.ru, /Заказ/);
  });
});
