import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { numberText, parseFhirJson, parseJsonText, setNumberText, stringifyFhir } from '../../src/fhir/json.js';
import { extractSearchIndex } from '../../src/fhir/search-parameters.js';
import { summarize } from '../../src/fhir/summary.js';
import { canonicalQuantity } from '../../src/fhir/ucum.js';
import { validateResource } from '../../src/fhir/validate.js';

/** https://hl7.org/fhir/R4/datatypes.html#decimal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
const digits = (min: number, max: number) => fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));
const decimal = fc
  .tuple(
    fc.constantFrom('', '-'),
    fc.oneof(fc.constant('0'), fc.tuple(fc.constantFrom(...'123456789'), digits(0, 30)).map(([a, b]) => a + b)),
    fc.option(digits(1, 30), { nil: undefined }),
    fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 400 })), { nil: undefined }),
  )
  .map(([sign, whole, fraction, exponent]) => `${sign}${whole}${fraction === undefined ? '' : `.${fraction}`}${exponent ? exponent.join('') : ''}`);

/**
 * Compact JSON text whose numbers are decimals as a client may write them; a container at the top,
 * like every FHIR body, and keys that are names (JavaScript puts integer-like keys first; no FHIR element has one).
 */
const jsonValue: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    decimal,
    fc.string().map((s) => JSON.stringify(s)),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z_][A-Za-z0-9_]{0,5}$/), tie('value')), { maxLength: 4, selector: ([key]) => key }).map(
      (entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`,
    ),
  ),
})).value;
const jsonText = fc.array(jsonValue, { maxLength: 4 }).map((items) => `[${items.join(',')}]`);

const observation = (value: string) =>
  `{"resourceType":"Observation","status":"final","code":{"text":"glucose"},"valueQuantity":{"value":${value},"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}}`;

describe('decimals kept as sent (https://hl7.org/fhir/R4/json.html)', () => {
  test('any JSON text written back by stringifyFhir is the text parsed, byte for byte', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        assert.equal(stringifyFhir(parseFhirJson(text)), text);
        assert.equal(stringifyFhir(parseJsonText(text)), text);
      }),
      // Neighbours that each count as kept: the delimiter between them belongs to both.
      { numRuns: 2000, examples: [['[1e+21,1e0]'], ['[1.5,1.50,-0]']] },
    );
  });

  test('the values stay JavaScript numbers for everything that reads them', () => {
    const resource = parseFhirJson(observation('1.50')) as Resource & { valueQuantity: { value: number } };
    assert.equal(resource.valueQuantity.value, 1.5);
    assert.equal(typeof resource.valueQuantity.value, 'number');
    assert.equal(numberText(resource.valueQuantity, 'value'), '1.50');
    assert.deepEqual(validateResource(resource).filter((i) => i.severity === 'error'), []);
    assert.deepEqual(
      extractSearchIndex(resource).number.filter(([code]) => code === 'value-quantity'),
      [['value-quantity', 1.5, 1.5, 'http://unitsofmeasure.org', 'mmol/L']],
    );
    assert.equal(canonicalQuantity(resource.valueQuantity.value, 'mmol/L')?.unit, canonicalQuantity(1.5, 'mmol/L')?.unit);
    assert.equal(JSON.stringify(resource).includes('"value":1.5,'), true, 'plain JSON.stringify still writes valid JSON');
  });

  test('a number JavaScript writes back the same keeps no text; a decimal beyond a double\'s digits keeps it', () => {
    const text = '{"resourceType":"Patient","multipleBirthInteger":2,"extension":[{"url":"http://example.org/big","valueDecimal":12345678901234567890}]}';
    const parsed = parseFhirJson(text) as { multipleBirthInteger: number };
    assert.equal(numberText(parsed, 'multipleBirthInteger'), undefined);
    assert.equal(stringifyFhir(parsed), text);
  });

  test('an integer element in a decimal\'s form (2.0, 1e2, -0) is invalid, though JSON.parse reads the same number', () => {
    const errors = (text: string) => validateResource(parseFhirJson(text)).filter((i) => i.severity === 'error').map((i) => `${i.expression?.[0]} ${i.details?.text}`);
    assert.deepEqual(errors('{"resourceType":"Patient","multipleBirthInteger":2.0}'), ['Patient.multipleBirthInteger 2.0 is not an integer (integer)']);
    assert.deepEqual(errors('{"resourceType":"Patient","photo":[{"contentType":"image/png","size":1e2}]}'), ['Patient.photo[0].size 1e2 is not an integer (unsignedInt)']);
    assert.deepEqual(errors(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueInteger":-0}`), ['Observation.valueInteger -0 is not an integer (integer)']);
    assert.deepEqual(errors('{"resourceType":"Patient","multipleBirthInteger":2}'), []);
    assert.deepEqual(errors('{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":2.0}}'), [], 'a decimal may be 2.0');
  });

  test('spread copies carry the texts; a number changed in place is written as the new number', () => {
    const parsed = parseFhirJson(observation('1.50')) as Resource & { valueQuantity: { value: number } };
    const copy = { ...parsed, id: 'x' };
    assert.match(stringifyFhir(copy), /"value":1\.50,/);
    parsed.valueQuantity.value = 2;
    assert.match(stringifyFhir(parsed), /"value":2,/);
    parsed.valueQuantity.value = 1.5;
    assert.match(stringifyFhir(parsed), /"value":1\.50,/, 'the text is used while the number equals it');
    setNumberText(parsed, ['valueQuantity', 'value'], undefined);
    assert.match(stringifyFhir(parsed), /"value":1\.5,/);
    setNumberText(parsed, ['valueQuantity', 'value'], '1.500');
    assert.match(stringifyFhir(parsed, { space: 2 }), /"value": 1\.500,/);
  });

  test('a resource read back from its stored text keeps its decimals, also those of top-level elements in a summary', () => {
    const stored = stringifyFhir(parseFhirJson('{"resourceType":"ChargeItem","status":"billed","code":{"text":"x"},"subject":{"reference":"Patient/1"},"factorOverride":0.50}'));
    assert.match(stored, /"factorOverride":0\.50}/);
    const summary = summarize(parseJsonText(stored) as Resource, undefined, ['factorOverride']);
    assert.match(stringifyFhir(summary), /"factorOverride":0\.50[,}]/);
  });

  test('text that looks like a decimal inside a string is a string', () => {
    const text = '{"resourceType":"Observation","note":[{"text":"ratio 1:1.50, then [2.0]"}],"valueQuantity":{"value":3.25}}';
    const parsed = parseJsonText(text) as { valueQuantity: object };
    assert.equal(stringifyFhir(parsed), text);
    assert.equal(numberText(parsed.valueQuantity, 'value'), undefined);
  });

  test('Synthea resources, whose numbers JavaScript wrote, are parsed and written as JSON.parse and JSON.stringify do', () => {
    const dir = new URL('../../../shared/data/synthea-r4/', import.meta.url);
    const file = readdirSync(dir).find((f) => f.endsWith('.json'))!;
    for (const { resource } of (JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { entry: { resource: Resource }[] }).entry) {
      const text = JSON.stringify(resource);
      assert.equal(stringifyFhir(parseFhirJson(text)), text);
      assert.deepEqual(parseJsonText(text), resource, 'nothing rides along on resources without such numbers');
    }
  });

  describe('numbers FHIR forbids are a 400 with the element path', () => {
    for (const value of ['01.5', '+1', '.5', 'NaN', '-Infinity', '1.', '1.e3', '1e', '0x10', '1_000']) {
      test(value, () => {
        assert.throws(
          () => parseFhirJson(observation(value)),
          (error: { status?: number; outcome?: { issue: { expression?: string[]; details?: { text?: string } }[] } }) => {
            assert.equal(error.status, 400);
            assert.deepEqual(error.outcome?.issue[0].expression, ['Observation.valueQuantity.value']);
            assert.match(error.outcome?.issue[0].details?.text ?? '', /line 1, column \d+ \(Observation\.valueQuantity\.value\)/);
            return true;
          },
        );
      });
    }
  });
});
