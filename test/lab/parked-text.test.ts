import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCALES } from '../../src/fhir/locale.js';
import { PARKED } from '../../src/lab/intake.js';
import { ORDER_PARKED } from '../../src/lab/orders.js';

describe('ACK user messages of the lab route', () => {
  it('tells why results were parked in Kazakh, Russian and English', () => {
    for (const [key, text] of Object.entries(PARKED)) {
      const texts = LOCALES.map((locale) => text[locale]);
      assert.ok(texts.every((t) => t.length > 10), key);
      assert.equal(new Set(texts).size, 3, `${key}: three different texts`);
    }
  });

  it('tells why an order was parked, or its lab refused, in Kazakh, Russian and English', () => {
    for (const [key, text] of Object.entries(ORDER_PARKED)) {
      const texts = LOCALES.map((locale) => text[locale]);
      assert.ok(texts.every((t) => t.length > 10), key);
      assert.equal(new Set(texts).size, 3, `${key}: three different texts`);
    }
    assert.match(ORDER_PARKED.noPatient.kk, /Тапсырыс/);
    assert.match(ORDER_PARKED.noPatient.ru, /Заказ/);
  });
});
