import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseFhirJson } from '../../src/fhir/json.js';
import { FhirError } from '../../src/fhir/outcome.js';

/** The 400 a parse raised, with its one issue flattened for assertions. */
function rejection(text: string, opts?: { maxDepth?: number }): { text: string; expression?: string[] } {
  try {
    parseFhirJson(text, opts);
  } catch (e) {
    assert.ok(e instanceof FhirError);
    assert.equal(e.status, 400);
    const issue = e.outcome.issue[0];
    assert.equal(issue.code, 'structure');
    return { text: issue.details?.text ?? '', expression: issue.expression };
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseFhirJson', () => {
  test('returns what JSON.parse returns for well-formed bodies', () => {
    const text = '{"resourceType":"Patient","name":[{"family":"Äbdi\\u0161","given":["a","b"]}],"active":true,"x":-1.5,"n":null}';
    assert.deepEqual(parseFhirJson(text), JSON.parse(text));
    assert.equal(parseFhirJson(' 42 '), 42);
    assert.deepEqual(parseFhirJson('[]'), []);
  });

  describe('malformed JSON is a 400 with line and column', () => {
    const cases: [string, RegExp][] = [
      ['{"a":1,}', /line 1, column 8/],
      ['{\n  "resourceType": "Patient"\n  "id": "1"\n}', /Expected ',' or '}' at line 3, column 3/],
      ['{\n "a" 1}', /Expected ':' after property name at line 2, column 6/],
      ['[1,2', /line 1, column 5/],
      ['', /Unexpected end of JSON at line 1, column 1/],
      ['Copyright', /Unexpected character "C" at line 1, column 1/],
      ['{"a":"x\ny"}', /control character in string at line 1, column 8/],
      ['{"a":tru}', /line 1, column 6/],
      ['{"a":01}', /line 1, column 7/],
      ['{"a":"\\q"}', /Invalid escape in string at line 1, column 7/],
      ['{"a":"\\u12"}', /Invalid \\u escape at line 1, column 7/],
      ['{"a":"open', /Unterminated string at line 1, column 6/],
      ['{} x', /Unexpected content after the JSON value at line 1, column 4/],
      ['{"a":-}', /Invalid number at line 1, column 6/],
    ];
    for (const [text, expected] of cases) {
      test(JSON.stringify(text), () => assert.match(rejection(text).text, expected));
    }
  });

  describe('duplicate keys, which JSON.parse would silently collapse', () => {
    test('at the top level', () => {
      const r = rejection('{"resourceType":"Patient","gender":"male","gender":"female"}');
      assert.deepEqual(r.expression, ['Patient.gender']);
      assert.match(r.text, /Duplicate JSON property "gender" at Patient\.gender \(line 1, column 43\)/);
    });

    test('nested in arrays, with the index of the element', () => {
      const text = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'A' }, { given: ['B'] }] }).replace(
        '"given"',
        '"family":"C","given"',
      ).replace('"given":["B"]', '"given":["B"],"family":"D"');
      assert.deepEqual(rejection(text).expression, ['Patient.name[1].family']);
    });

    test('inside a Bundle entry', () => {
      const text = '{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","status":"final"}},' +
        '{"resource":{"resourceType":"Observation","valueQuantity":{"value":1,"unit":"mg","value":2}}}]}';
      assert.deepEqual(rejection(text).expression, ['Bundle.entry[1].resource.valueQuantity.value']);
    });

    test('spelled with escapes', () => {
      assert.deepEqual(rejection('{"resourceType":"Patient","id":"1","\\u0069d":"2"}').expression, ['Patient.id']);
    });

    test('of a body that is not a resource', () => {
      assert.deepEqual(rejection('[{"a":1},{"b":{"c":1,"c":2}}]').expression, ['[1].b.c']);
    });

    test('the same key in sibling objects is fine', () => {
      assert.doesNotThrow(() => parseFhirJson('{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}'));
    });
  });

  describe('nesting depth', () => {
    const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    test('100 levels are allowed by default, 101 are not', () => {
      assert.doesNotThrow(() => parseFhirJson(nested(100)));
      assert.match(rejection(nested(101)).text, /nested deeper than 100 levels at line 1, column 101/);
    });

    test('the limit is configurable and counts objects too', () => {
      assert.match(rejection('{"a":{"b":{"c":{}}}}', { maxDepth: 3 }).text, /nested deeper than 3 levels/);
      assert.doesNotThrow(() => parseFhirJson('{"a":{"b":{"c":{}}}}', { maxDepth: 4 }));
    });

    test('a million open brackets are refused without exhausting the stack', () => {
      assert.match(rejection('['.repeat(1_000_000)).text, /nested deeper than 100 levels/);
    });
  });

  test('time grows linearly with the size of a transaction Bundle', () => {
    const dir = new URL('../../../shared/data/synthea-r4/', import.meta.url);
    const entries = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .slice(0, 3)
      .flatMap((f) => (JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as { entry: unknown[] }).entry);
    const bundle = (copies: number) =>
      JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: Array.from({ length: copies }, () => entries).flat() });
    // Shapes that would expose a quadratic key set or path: one very wide object, long escaped strings.
    const wide = (keys: number) => JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i])));
    const escaped = (chars: number) => JSON.stringify({ div: '<p>"\\x</p>\n'.repeat(chars / 12) });

    for (const [name, make, small] of [
      ['Bundle', bundle, 1],
      ['wide object', wide, 50_000],
      ['escaped strings', escaped, 500_000],
    ] as const) {
      const a = make(small);
      const b = make(small * 8);
      assert.ok(a.length > 400_000, `${name} input is multi-hundred-kB (${a.length})`);
      const time = (text: string) => {
        let best = Infinity;
        for (let i = 0; i < 3; i++) {
          const start = performance.now();
          parseFhirJson(text);
          best = Math.min(best, performance.now() - start);
        }
        return best;
      };
      const ratio = time(b) / Math.max(time(a), 1);
      // Linear is 8 here; quadratic would be 64. The margin absorbs GC and a busy CI machine.
      assert.ok(ratio < 24, `${name}: 8x the input took ${ratio.toFixed(1)}x the time`);
    }
  });
});
