import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConceptMap, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { bearer, LOINC, tokens, type Tokens } from '../access/world.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const LAB_CODES = 'http://lab-a.densaulyq.test/codes';
const SNOMED = 'http://snomed.info/sct';

/** A laboratory's own test codes and their LOINC equivalents, as the lab keeps them through the API. */
const LAB_MAP: ConceptMap = {
  resourceType: 'ConceptMap',
  url: 'http://lab-a.densaulyq.test/ConceptMap/loinc',
  status: 'active',
  group: [
    {
      source: LAB_CODES,
      target: LOINC,
      element: [
        { code: 'GLU', target: [{ code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma', equivalence: 'equivalent' }] },
        { code: 'HB', target: [{ code: '718-7', equivalence: 'equivalent' }] },
        { code: 'OLD', target: [{ equivalence: 'unmatched' }] },
      ],
    },
    { source: LAB_CODES, target: SNOMED, element: [{ code: 'GLU', target: [{ code: '33747003', equivalence: 'wider' }] }] },
  ],
};

const parts = (match: ParametersParameter) => Object.fromEntries((match.part ?? []).map((p) => [p.name, p.valueCode ?? p.valueUri ?? p.valueCoding]));
const matches = (body: Parameters) => (body.parameter ?? []).filter((p) => p.name === 'match').map(parts);
const result = (body: Parameters) => body.parameter?.find((p) => p.name === 'result')?.valueBoolean;

for (const driver of testDrivers()) describe(`ConceptMap $translate: a laboratory's local codes to LOINC (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let t: Tokens;
  let mapId: string;
  before(async () => {
    server = await startTestServer(driver);
    t = await tokens(server);
    const created = await server.fhir('POST', 'ConceptMap', LAB_MAP, bearer(t.systemA));
    assert.equal(created.status, 201, created.text);
    mapId = created.body.id;
  });
  after(() => server.close());

  const translate = (query: string, actor: keyof Tokens = 'clinicianB', language = 'en') =>
    server.fhir('GET', `ConceptMap/$translate?${query}`, undefined, { ...bearer(t[actor]), 'accept-language': language });

  test('a local code finds its LOINC and SNOMED CT equivalents in the map that lists it; targetsystem keeps LOINC', async () => {
    const all = await translate(`system=${encodeURIComponent(LAB_CODES)}&code=GLU`);
    assert.equal(all.status, 200, all.text);
    assert.equal(result(all.body), true);
    assert.deepEqual(matches(all.body), [
      { equivalence: 'equivalent', concept: { system: LOINC, code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma' }, source: LAB_MAP.url },
      { equivalence: 'wider', concept: { system: SNOMED, code: '33747003' }, source: LAB_MAP.url },
    ]);
    const loinc = await translate(`system=${encodeURIComponent(LAB_CODES)}&code=GLU&targetsystem=${encodeURIComponent(LOINC)}`);
    assert.deepEqual(matches(loinc.body).map((m) => (m.concept as { code: string }).code), ['2345-7']);
  });

  test('by POST with a Coding, by the map\'s url, and on the map itself', async () => {
    const posted = await server.fhir('POST', 'ConceptMap/$translate', { resourceType: 'Parameters', parameter: [{ name: 'coding', valueCoding: { system: LAB_CODES, code: 'HB' } }, { name: 'url', valueUri: LAB_MAP.url }] }, bearer(t.clinicianA));
    assert.equal(posted.status, 200, posted.text);
    assert.deepEqual(matches(posted.body).map((m) => (m.concept as { code: string }).code), ['718-7']);
    const instance = await server.fhir('GET', `ConceptMap/${mapId}/$translate?system=${encodeURIComponent(LAB_CODES)}&code=HB`, undefined, bearer(t.clinicianA));
    assert.equal(instance.status, 200, instance.text);
    assert.equal(result(instance.body), true);
  });

  test('a code mapped to nothing, or not mapped at all, is result false with a message in the reader\'s language', async () => {
    const unmatched = await translate(`system=${encodeURIComponent(LAB_CODES)}&code=OLD`, 'clinicianB', 'ru');
    assert.equal(unmatched.status, 200, unmatched.text);
    assert.equal(result(unmatched.body), false);
    assert.deepEqual(matches(unmatched.body).map((m) => m.equivalence), ['unmatched']);
    assert.match(unmatched.body.parameter.find((p: ParametersParameter) => p.name === 'message').valueString, /Соответствие для кода/);
    const unknown = await translate(`system=${encodeURIComponent(LAB_CODES)}&code=NOPE`);
    assert.equal(result(unknown.body), false);
    assert.deepEqual(matches(unknown.body), []);
  });

  test('bad input is a 400 naming the parameter; an unknown map url a 404', async () => {
    const cases: [string, string][] = [
      ['code=GLU', 'system'],
      [`system=${encodeURIComponent(LAB_CODES)}`, 'code'],
      [`system=${encodeURIComponent(LAB_CODES)}&code=GLU&reverse=true`, 'reverse'],
      [`system=${encodeURIComponent(LAB_CODES)}&code=GLU&code=HB`, 'code'],
    ];
    for (const [query, parameter] of cases) {
      const reply = await translate(query);
      assert.equal(reply.status, 400, `${query}: ${reply.text}`);
      assert.deepEqual(reply.body.issue[0].expression, [parameter], query);
    }
    const missing = await translate(`system=${encodeURIComponent(LAB_CODES)}&code=GLU&url=${encodeURIComponent('http://nowhere.test/map')}`);
    assert.equal(missing.status, 404, missing.text);
  });

  test('the map is the laboratory\'s: another organization cannot change it', async () => {
    const changed = await server.fhir('PUT', `ConceptMap/${mapId}`, { ...LAB_MAP, id: mapId, status: 'retired' }, bearer(t.clinicianB));
    assert.equal(changed.status, 403, changed.text);
    const still = await translate(`system=${encodeURIComponent(LAB_CODES)}&code=GLU&targetsystem=${encodeURIComponent(LOINC)}`);
    assert.equal(result(still.body), true);
  });
});
