import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Quantity } from '@medplum/fhirtypes';
import { parseFhirJson } from '../../src/fhir/json.js';
import { validateResource } from '../../src/fhir/validate.js';
import { conceptText, paragraphNarrative, quantityText, tableNarrative } from '../../src/passport/ips-narrative.js';
import { formatDate } from '../../src/passport/ips-text.js';

describe('IPS narrative pieces', () => {
  test('dates keep the precision and the calendar day they were recorded with, written as each reader writes them', () => {
    assert.equal(formatDate('2024', 'kk'), '2024');
    assert.equal(formatDate('2024-03', 'ru'), '03.2024');
    // 01:30 in Astana is still the evening before in UTC: the recorded day is shown.
    assert.equal(formatDate('2024-03-05T01:30:00+06:00', 'kk'), '05.03.2024');
    assert.equal(formatDate('2024-03-05', 'en'), '05/03/2024');
    assert.equal(formatDate(undefined, 'en'), '');
  });

  test('a quantity prints its value as recorded, with comparator and unit', () => {
    assert.equal(quantityText({ value: 5.125, unit: 'mmol/L' }), '5.125 mmol/L');
    assert.equal(quantityText({ value: 0.000012, code: 'g' }), '0.000012 g');
    assert.equal(quantityText({ value: 10, comparator: '<' }), '<10');
    assert.equal(quantityText({}), '');
    // As sent: 1.50 mmol/L is a different statement from 1.5 (https://hl7.org/fhir/R4/datatypes.html#decimal).
    const sent = parseFhirJson('{"resourceType":"Basic","value":1.50,"unit":"mmol/L"}') as Quantity;
    assert.equal(quantityText(sent), '1.50 mmol/L');
  });

  test("a code shows in the reader's language from the bundled terminology, else its display, else the concept's text", () => {
    const heartRate = { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'ЧСС' };
    assert.equal(conceptText(heartRate, 'kk'), 'Жүрек соғу жиілігі');
    assert.equal(conceptText(heartRate, 'ru'), 'Частота сердечных сокращений');
    const unknown = { coding: [{ system: 'http://loinc.org', code: '99999-9', display: 'Something' }], text: 'Нечто' };
    assert.equal(conceptText(unknown, 'ru'), 'Something');
    assert.equal(conceptText({ coding: [{ system: 'http://loinc.org', code: '99999-9' }], text: 'Нечто' }, 'ru'), 'Нечто');
  });

  test('tables and paragraphs are escaped plain text in the one shape readers rely on, and valid XHTML narrative', () => {
    const table = tableNarrative(['A & B', 'C'], [['<script>', '"x"']]);
    assert.equal(
      table.div,
      '<div xmlns="http://www.w3.org/1999/xhtml"><table><thead><tr><th>A &amp; B</th><th>C</th></tr></thead><tbody><tr><td>&lt;script&gt;</td><td>&quot;x&quot;</td></tr></tbody></table></div>',
    );
    const paragraph = paragraphNarrative('Мәлімет жоқ');
    assert.equal(paragraph.div, '<div xmlns="http://www.w3.org/1999/xhtml"><p>Мәлімет жоқ</p></div>');
    for (const text of [table, paragraph]) {
      assert.deepEqual(validateResource({ resourceType: 'Basic', code: { text: 'x' }, text }), []);
    }
  });
});
