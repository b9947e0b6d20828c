import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { importAccess } from '../../src/access/door.js';
import { importFiles } from '../../src/bulk/import.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

/**
 * Decimals as sent (https://hl7.org/fhir/R4/datatypes.html#decimal: "the precision of the decimal
 * value is significant"): every way in and every way out keeps `1.50` as `1.50`. The bodies are
 * written as text, since a JavaScript object cannot hold `1.50`.
 */

/** The decimals that JSON.parse and JSON.stringify would each rewrite. */
const SENT = ['1.50', '0.010', '1e-3', '100.00', '-0.0', '12345678901234567890', '2.5E+2'];

let codes = 0;
/** A LOINC-shaped code of its own per test, so searches see only that test's Observations. */
const newCode = () => `dec-${process.pid}-${++codes}`;

function observation(value: string, code: string, extra = ''): string {
  return (
    `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"${code}"}]},` +
    `"valueQuantity":{"value":${value},"unit":"mmol/L","system":"http://unitsofmeasure.org","code":"mmol/L"}${extra}}`
  );
}

/** Asserts that `text` carries the decimal exactly as `value`, as a JSON number. */
function carries(text: string, value: string, where: string): void {
  const escaped = value.replace(/[.+]/g, '\\$&');
  assert.match(text, new RegExp(`"value":${escaped}[,}\\]]`), `${where} keeps ${value}: ${text.slice(0, 400)}`);
}

for (const driver of testDrivers()) describe(`decimals kept as sent (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  async function create(text: string): Promise<{ id: string; text: string }> {
    const reply = await server.fhir('POST', 'Observation', text);
    assert.equal(reply.status, 201, reply.text);
    return { id: reply.body.id, text: reply.text };
  }

  test('create, read, vread, history, search, _pretty and _elements serve each decimal as sent', async () => {
    for (const value of SENT) {
      const code = newCode();
      const created = await create(observation(value, code));
      carries(created.text, value, 'the create response');
      for (const path of [`Observation/${created.id}`, `Observation/${created.id}/_history/1`, `Observation/${created.id}/_history`, `Observation?code=${code}`]) {
        carries((await server.fhir('GET', path)).text, value, path);
      }
      carries((await server.fhir('GET', `Observation/${created.id}?_pretty=true`)).text.replace(/"value": /g, '"value":'), value, '_pretty');
      carries((await server.fhir('GET', `Observation/${created.id}?_elements=valueQuantity`)).text, value, '_elements');
      carries((await server.fhir('GET', `Observation?code=${code}&_summary=data`)).text, value, 'search with _summary');
    }
  });

  test('update keeps each version as sent, and a change of precision alone is a new version', async () => {
    const code = newCode();
    const { id } = await create(observation('1.50', code));
    const withId = (value: string) => observation(value, code, `,"id":"${id}"`);
    const updated = await server.fhir('PUT', `Observation/${id}`, withId('2.50'));
    assert.equal(updated.status, 200, updated.text);
    carries(updated.text, '2.50', 'the update response');
    const precision = await server.fhir('PUT', `Observation/${id}`, withId('2.5'));
    assert.equal(precision.body.meta.versionId, '3', '2.5 is another statement than 2.50');
    carries(precision.text, '2.5', 'the update to 2.5');
    carries((await server.fhir('GET', `Observation/${id}/_history/1`)).text, '1.50', 'vread 1');
    carries((await server.fhir('GET', `Observation/${id}/_history/2`)).text, '2.50', 'vread 2');
    const history = (await server.fhir('GET', `Observation/${id}/_history`)).text;
    for (const value of ['1.50', '2.50', '2.5']) carries(history, value, 'history');
  });

  test('JSON Patch puts decimals in place as sent, and leaves the others as they were', async () => {
    const code = newCode();
    const { id } = await create(observation('1.50', code, ',"referenceRange":[{"low":{"value":0.10,"unit":"mmol/L"}}]'));
    const patch = (body: string) => server.fhir('PATCH', `Observation/${id}`, body, { 'content-type': 'application/json-patch+json' });
    const replaced = await patch('[{"op":"replace","path":"/valueQuantity/value","value":2.500}]');
    assert.equal(replaced.status, 200, replaced.text);
    carries(replaced.text, '2.500', 'a replaced value');
    carries(replaced.text, '0.10', 'an untouched value');
    const plain = await patch('[{"op":"replace","path":"/valueQuantity/value","value":2.5}]');
    carries(plain.text, '2.5', 'a value replaced by the same number at another precision');
    const added = await patch('[{"op":"add","path":"/referenceRange/-","value":{"high":{"value":7.00,"unit":"mmol/L"}}},{"op":"copy","from":"/referenceRange/0/low","path":"/referenceRange/1/low"}]');
    assert.equal(added.status, 200, added.text);
    carries(added.text, '7.00', 'an added object');
    assert.equal((added.text.match(/"value":0\.10[,}]/g) ?? []).length, 2, 'a copied decimal keeps its text');
    carries((await server.fhir('GET', `Observation/${id}`)).text, '7.00', 'read after patch');
  });

  test('transaction and batch, with Prefer: return=representation, and a JSON Patch inside a transaction', async () => {
    const code = newCode();
    const text = (type: string, entries: string[]) => `{"resourceType":"Bundle","type":"${type}","entry":[${entries.join(',')}]}`;
    const post = (value: string) => `{"fullUrl":"urn:uuid:${crypto.randomUUID()}","resource":${observation(value, code)},"request":{"method":"POST","url":"Observation"}}`;
    const transaction = await server.fhir('POST', '', text('transaction', [post('1.50'), post('0.010')]), { prefer: 'return=representation' });
    assert.equal(transaction.status, 200, transaction.text);
    carries(transaction.text, '1.50', 'the transaction response');
    carries(transaction.text, '0.010', 'the transaction response');
    const batch = await server.fhir('POST', '', text('batch', [post('100.00')]), { prefer: 'return=representation' });
    carries(batch.text, '100.00', 'the batch response');
    const id = transaction.body.entry[0].response.location.split('/')[1];
    const binary = Buffer.from('[{"op":"replace","path":"/valueQuantity/value","value":2.500}]').toString('base64');
    const patched = await server.fhir('POST', '', text('transaction', [
      `{"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"${binary}"},"request":{"method":"PATCH","url":"Observation/${id}"}}`,
    ]), { prefer: 'return=representation' });
    assert.equal(patched.status, 200, patched.text);
    carries(patched.text, '2.500', 'a transaction PATCH');
    const search = (await server.fhir('GET', `Observation?code=${code}`)).text;
    for (const value of ['2.500', '0.010', '100.00']) carries(search, value, 'search after the transaction');
  });

  test('$import and densaulyq import of NDJSON, then bulk export, keep the decimals', async () => {
    const code = newCode();
    const line = (id: string, value: string) => observation(value, code, `,"id":"${id}"`);
    const reply = await server.fhir('POST', '$import', [line('dec-import-1', '1.50'), line('dec-import-2', '1e-3')].join('\n'), { 'content-type': 'application/fhir+ndjson' });
    assert.match(reply.body.issue[0].diagnostics, /written 2, unchanged 0, rejected 0/, reply.text);
    carries((await server.fhir('GET', 'Observation/dec-import-1')).text, '1.50', '$import');
    carries((await server.fhir('GET', 'Observation/dec-import-2')).text, '1e-3', '$import');
    const again = await server.fhir('POST', '$import', [line('dec-import-1', '1.5'), line('dec-import-2', '1e-3')].join('\n'), { 'content-type': 'application/fhir+ndjson' });
    assert.match(again.body.issue[0].diagnostics, /written 1, unchanged 1/, '1.5 is not 1.50, 1e-3 is unchanged');

    const dir = await mkdtemp(join(tmpdir(), 'densaulyq-decimals-'));
    try {
      await writeFile(join(dir, 'Observation.ndjson'), `${line('dec-import-3', '100.00')}\n${line('dec-import-4', '-0.0')}\n`);
      const progress = await importFiles([join(dir, 'Observation.ndjson')], { repo: new Repository(server.db, importAccess()), onRejected: (r) => assert.fail(JSON.stringify(r)) });
      assert.equal(progress.written, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    carries((await server.fhir('GET', 'Observation/dec-import-3')).text, '100.00', 'densaulyq import');
    carries((await server.fhir('GET', 'Observation/dec-import-4')).text, '-0.0', 'densaulyq import');

    const kickOff = await server.fhir('GET', '$export?_type=Observation', undefined, { prefer: 'respond-async' });
    assert.equal(kickOff.status, 202, kickOff.text);
    const status = kickOff.headers.get('content-location')!.slice(server.base.length + 1);
    let manifest: { output: { url: string }[] } | undefined;
    for (const deadline = Date.now() + 30_000; !manifest; await new Promise((resolve) => setTimeout(resolve, 20))) {
      const polled = await server.fhir('GET', status);
      if (polled.status === 200) manifest = polled.body;
      else assert.ok(polled.status === 202 && Date.now() < deadline, polled.text);
    }
    let ndjson = '';
    for (const output of manifest.output) ndjson += (await server.fhir('GET', output.url.slice(server.base.length + 1), undefined, { accept: 'application/fhir+ndjson' })).text;
    for (const value of ['1.5', '1e-3', '100.00', '-0.0']) carries(ndjson, value, 'the bulk export');
  });

  describe('search and sort use the number, with the precision of the search value', () => {
    const code = newCode();
    const stored = ['1.50', '1.45', '1.549', '1.55', '1.4', '2', '0.010', '1e-3', '100.00'];
    const ids = new Map<string, string>();
    before(async () => {
      for (const value of stored) ids.set((await create(observation(value, code))).id, value);
    });

    /** The stored texts that a value-quantity search finds, in the order served. */
    async function found(query: string): Promise<string[]> {
      const reply = await server.fhir('GET', `Observation?code=${code}&${query}`);
      assert.equal(reply.status, 200, reply.text);
      return (reply.body.entry ?? []).map((e: { resource: { id: string } }) => ids.get(e.resource.id));
    }
    const sorted = (values: string[]) => [...values].sort((a, b) => Number(a) - Number(b));

    // https://hl7.org/fhir/R4/search.html#number: the implicit range is that of the search value's
    // precision (1.5 is [1.45, 1.55), 1.50 is [1.495, 1.505)); a stored value is compared by its number.
    const cases: [string, string[]][] = [
      ['1.5', ['1.50', '1.45', '1.549']],
      ['1.50', ['1.50']],
      ['eq1.5|http://unitsofmeasure.org|mmol/L', ['1.50', '1.45', '1.549']],
      ['1.5||mmol/L', ['1.50', '1.45', '1.549']],
      ['ne1.5', ['1.55', '1.4', '2', '0.010', '1e-3', '100.00']],
      ['gt1.5', ['1.549', '1.55', '2', '100.00']],
      ['lt1.5', ['1.45', '1.4', '0.010', '1e-3']],
      ['ge1.50', ['1.50', '1.549', '1.55', '2', '100.00']],
      ['le1.50', ['1.50', '1.45', '1.4', '0.010', '1e-3']],
      ['sa1.5', ['1.549', '1.55', '2', '100.00']],
      ['eb1.5', ['1.45', '1.4', '0.010', '1e-3']],
      ['ap1.5', ['1.50', '1.45', '1.549', '1.55', '1.4']],
      ['1e-2', ['0.010']],
      ['0.0010', ['1e-3']],
      ['100', ['100.00']],
      ['1e2', ['100.00']],
      ['0.0015', []],
    ];
    for (const [value, expected] of cases) {
      test(`value-quantity=${value}`, async () => {
        assert.deepEqual(sorted(await found(`value-quantity=${encodeURIComponent(value)}`)), sorted(expected));
      });
    }

    test('in canonical units: 1500 umol/L is 1.50 mmol/L', async () => {
      assert.deepEqual(await found(`value-quantity=${encodeURIComponent('1500|http://unitsofmeasure.org|umol/L')}`), ['1.50']);
    });

    test('_sort=value-quantity orders by the number, both ways', async () => {
      const ascending = sorted(stored);
      assert.deepEqual(await found('_sort=value-quantity'), ascending);
      assert.deepEqual(await found('_sort=-value-quantity'), [...ascending].reverse());
    });
  });

  test('a number parameter (RiskAssessment probability) keeps its decimals in $everything and _revinclude, and searches by precision', async () => {
    const patient = await server.fhir('POST', 'Patient', { resourceType: 'Patient', gender: 'female' });
    const risk = (value: string) =>
      `{"resourceType":"RiskAssessment","status":"final","subject":{"reference":"Patient/${patient.body.id}"},"prediction":[{"probabilityDecimal":${value}}]}`;
    const byId = new Map<string, string>();
    for (const value of ['0.250', '0.20', '0.3', '1e-1']) {
      const reply = await server.fhir('POST', 'RiskAssessment', risk(value));
      assert.equal(reply.status, 201, reply.text);
      assert.match(reply.text, new RegExp(`"probabilityDecimal":${value.replace('.', '\\.')}}`));
      byId.set(reply.body.id, value);
    }
    const found = async (query: string) =>
      ((await server.fhir('GET', `RiskAssessment?subject=Patient/${patient.body.id}&${query}`)).body.entry ?? []).map((e: { resource: { id: string } }) => byId.get(e.resource.id)).sort();
    assert.deepEqual(await found('probability=0.25'), ['0.250']);
    assert.deepEqual(await found('probability=0.2'), ['0.20']);
    assert.deepEqual(await found('probability=0.1'), ['1e-1']);
    assert.deepEqual(await found('probability=gt0.2'), ['0.250', '0.3']);
    assert.deepEqual(await found('probability=le0.25'), ['0.20', '0.250', '1e-1']);
    assert.deepEqual(await found('probability=ne0.30'), ['0.20', '0.250', '1e-1']);
    assert.deepEqual(await found('_sort=-probability&_count=1'), ['0.3']);
    for (const path of [`Patient/${patient.body.id}/$everything`, `Patient?_id=${patient.body.id}&_revinclude=RiskAssessment:subject`]) {
      const text = (await server.fhir('GET', path)).text;
      for (const value of byId.values()) assert.match(text, new RegExp(`"probabilityDecimal":${value.replace('.', '\\.')}}`), `${path} keeps ${value}`);
    }
  });

  test('numbers FHIR forbids are a 400 naming the element', async () => {
    for (const value of ['01.5', '+1', '.5', 'NaN', '1.', '-', 'Infinity', '1e']) {
      const reply = await server.fhir('POST', 'Observation', observation(value, 'bad'));
      assert.equal(reply.status, 400, `${value}: ${reply.text}`);
      assert.equal(reply.body.resourceType, 'OperationOutcome');
      assert.deepEqual(reply.body.issue[0].expression, ['Observation.valueQuantity.value'], value);
    }
    const integer = await server.fhir('POST', 'Patient', '{"resourceType":"Patient","multipleBirthInteger":2.0}');
    assert.equal(integer.status, 422, 'an integer has no fraction, even .0');
    assert.deepEqual(integer.body.issue[0].expression, ['Patient.multipleBirthInteger']);
  });

  test('any decimal FHIR allows round-trips through create and read byte for byte', async () => {
    // https://hl7.org/fhir/R4/datatypes.html#decimal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    const digits = (min: number, max: number) => fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));
    const decimal = fc
      .tuple(
        fc.constantFrom('', '-'),
        fc.oneof(fc.constant('0'), fc.tuple(fc.constantFrom(...'123456789'), digits(0, 24)).map(([a, b]) => a + b)),
        fc.option(digits(1, 24), { nil: undefined }),
        fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 30 })), { nil: undefined }),
      )
      .map(([sign, whole, fraction, exponent]) => `${sign}${whole}${fraction === undefined ? '' : `.${fraction}`}${exponent ? exponent[0] + exponent[1] + exponent[2] : ''}`);
    const prefix = '{"resourceType":"Observation",';
    await fc.assert(
      fc.asyncProperty(decimal, async (value) => {
        const sent = observation(value, 'round-trip');
        const created = await server.fhir('POST', 'Observation', sent);
        assert.equal(created.status, 201, created.text);
        const read = await server.fhir('GET', `Observation/${created.body.id}`);
        const { id, meta } = read.body;
        const expected = `${prefix}"id":"${id}","meta":{"versionId":"1","lastUpdated":"${meta.lastUpdated}"},${sent.slice(prefix.length)}`;
        assert.equal(read.text, expected);
      }),
      { numRuns: 60 },
    );
  });
});
