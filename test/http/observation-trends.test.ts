import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Observation, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { lastN } from '../../src/fhir/last-n.js';
import { bearer, buildWorld, LOINC, ORG, PATIENT, tokens, type Tokens } from '../access/world.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const UCUM = 'http://unitsofmeasure.org';
const LOCAL = 'http://lab.densaulyq.test/codes';
const GLUCOSE = '2339-0';
const HBA1C = '4548-4';
const CHOLESTEROL = '2093-3';

interface Result {
  id: string;
  code: { system?: string; code?: string }[] | string;
  at: string;
  value?: [number, string];
  range?: [number, number, string];
  category?: string;
}

function observation(patient: string, r: Result): Observation {
  return {
    resourceType: 'Observation',
    id: r.id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: r.category ?? 'laboratory' }] }],
    code: typeof r.code === 'string' ? { text: r.code } : { coding: r.code },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: r.at,
    ...(r.value ? { valueQuantity: { value: r.value[0], unit: r.value[1], system: UCUM, code: r.value[1] } } : {}),
    ...(r.range ? { referenceRange: [{ low: { value: r.range[0], unit: r.range[2], system: UCUM, code: r.range[2] }, high: { value: r.range[1], unit: r.range[2], system: UCUM, code: r.range[2] } }] } : {}),
  } as Observation;
}

const loinc = (code: string) => [{ system: LOINC, code }];

/** P1's laboratory record: glucose from two labs (one in mg/dL, one coding it locally beside LOINC), HbA1c with a tie, cholesterol, text-only codes. */
const RESULTS: Result[] = [
  { id: 'glu-1', code: loinc(GLUCOSE), at: '2026-01-10T08:00:00+05:00', value: [5.1, 'mmol/L'], range: [3.9, 5.5, 'mmol/L'] },
  { id: 'glu-2', code: loinc(GLUCOSE), at: '2026-03-10T08:00:00+05:00', value: [108, 'mg/dL'], range: [70, 99, 'mg/dL'] },
  { id: 'glu-3', code: [{ system: LOCAL, code: 'GLU' }, ...loinc(GLUCOSE)], at: '2026-05-10T08:00:00+05:00', value: [6.4, 'mmol/L'], range: [3.9, 5.5, 'mmol/L'] },
  { id: 'glu-4', code: [{ system: LOCAL, code: 'GLU' }], at: '2026-06-10T08:00:00+05:00', value: [7.2, 'mmol/L'] },
  { id: 'a1c-1', code: loinc(HBA1C), at: '2026-02-01T09:00:00+05:00', value: [6.1, '%'] },
  { id: 'a1c-2', code: loinc(HBA1C), at: '2026-04-01T09:00:00+05:00', value: [6.4, '%'] },
  { id: 'a1c-3', code: loinc(HBA1C), at: '2026-04-01T09:00:00+05:00', value: [6.5, '%'] },
  { id: 'chol-1', code: loinc(CHOLESTEROL), at: '2026-02-01T09:00:00+05:00', value: [5.2, 'mmol/L'] },
  { id: 'text-1', code: 'Text', at: '2026-02-02T09:00:00+05:00' },
  { id: 'text-2', code: 'text', at: '2026-02-03T09:00:00+05:00' },
  { id: 'vital-1', code: loinc('8867-4'), at: '2026-06-20T09:00:00+05:00', value: [72, '/min'], category: 'vital-signs' },
];

const ids = (bundle: Bundle) => (bundle.entry ?? []).map((e) => e.resource!.id!);
const part = (point: ParametersParameter, name: string) => point.part?.find((p) => p.name === name);

describe('$lastn selection (R4 operation-observation-lastn)', () => {
  const at = (effective: number | null, codings: string[], id: string, text: string | null = null) => ({ id, codings, text, effective });
  test('codes sharing a coding group transitively; text-only codes group by exact text', () => {
    const chosen = lastN([at(1, ['l|a'], 'x1'), at(2, ['l|b'], 'x2'), at(3, ['l|a', 'l|c'], 'x3'), at(4, ['l|c', 'l|b'], 'x4'), at(5, [], 't1', 'Text'), at(6, [], 't2', 'text')], 1);
    assert.deepEqual(chosen, ['t2', 't1', 'x4']);
  });
  test('a tie at the limit is kept whole, and unknown times sort last', () => {
    assert.deepEqual(lastN([at(1, ['l|a'], 'a'), at(3, ['l|a'], 'b'), at(3, ['l|a'], 'c'), at(null, ['l|a'], 'd')], 1), ['b', 'c']);
    assert.deepEqual(lastN([at(null, ['l|a'], 'd'), at(1, ['l|a'], 'a')], 2), ['a', 'd']);
  });
});

for (const driver of testDrivers()) describe(`Observation $lastn and $series: trends per test (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let t: Tokens;
  before(async () => {
    server = await startTestServer(driver);
    t = await tokens(server);
    await buildWorld(server, t);
    for (const result of RESULTS) {
      const reply = await server.fhir('PUT', `Observation/${result.id}`, observation(PATIENT.p1, result));
      assert.ok(reply.status === 200 || reply.status === 201, reply.text);
    }
  });
  after(() => server.close());

  const lastn = (query: string, actor: keyof Tokens = 'citizenP1') => server.fhir('GET', `Observation/$lastn?${query}`, undefined, bearer(t[actor]));

  test('the newest laboratory result of each test, the local glucose code joined to LOINC glucose through the result coded both ways', async () => {
    const reply = await lastn(`patient=${PATIENT.p1}&category=laboratory`);
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.type, 'searchset');
    // HbA1c's two newest share their time: both come back.
    assert.deepEqual(ids(reply.body), ['glu-4', 'a1c-2', 'a1c-3', 'text-2', 'text-1', 'chol-1']);
    assert.ok(reply.body.link[0].url.includes('Observation/$lastn?patient='), reply.body.link[0].url);
  });

  test('max=3 gives up to three per test, newest first; a code narrows to one test', async () => {
    const reply = await lastn(`patient=${PATIENT.p1}&code=${LOINC}|${GLUCOSE}&max=3`);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(ids(reply.body), ['glu-3', 'glu-2', 'glu-1']);
    const elements = await lastn(`subject=Patient/${PATIENT.p1}&code=${LOINC}|${HBA1C}&max=1&_elements=valueQuantity`);
    assert.deepEqual(ids(elements.body), ['a1c-2', 'a1c-3']);
    assert.equal(elements.body.entry[0].resource.effectiveDateTime, undefined, '_elements applies');
  });

  test('the door applies: an organization without a relationship to P1 gets an empty set, and the citizen\'s access is in P1\'s access log', async () => {
    const stranger = await lastn(`patient=${PATIENT.p1}&category=laboratory`, 'clinicianC');
    assert.equal(stranger.status, 200, stranger.text);
    assert.deepEqual(ids(stranger.body), []);
    const log = await server.fhir('GET', `Patient/${PATIENT.p1}/$access-log?_count=50`, undefined, bearer(t.citizenP1));
    assert.equal(log.status, 200, log.text);
    const lastnRecords = log.body.entry.filter((e: { resource: { subtype?: { code?: string }[] } }) => e.resource.subtype?.some((s) => s.code === '$lastn'));
    assert.ok(lastnRecords.length >= 2, JSON.stringify(log.body.entry.map((e: { resource: { subtype?: unknown } }) => e.resource.subtype)));
    assert.ok(lastnRecords.some((e: { resource: { agent: { who?: { identifier?: { value?: string } } }[] } }) => JSON.stringify(e.resource.agent).includes(ORG.C)), 'the refused organization is recorded too');
  });

  test('bad requests are 400s naming the parameter', async () => {
    const cases: [string, string][] = [
      [`category=laboratory`, 'patient'],
      [`patient=${PATIENT.p1}`, 'category'],
      [`patient=${PATIENT.p1}&category=laboratory&max=0`, 'max'],
      [`patient=${PATIENT.p1}&category=laboratory&max=abc`, 'max'],
      [`patient=${PATIENT.p1}&category=laboratory&max=2&max=3`, 'max'],
      [`patient=${PATIENT.p1}&category=laboratory&_sort=date`, '_sort'],
      [`patient=${PATIENT.p1}&category=laboratory&_count=5`, '_count'],
      [`patient=${PATIENT.p1}&category=laboratory&undeclared=1`, 'undeclared'],
    ];
    for (const [query, parameter] of cases) {
      const reply = await lastn(query);
      assert.equal(reply.status, 400, `${query}: ${reply.text}`);
      assert.equal(reply.body.resourceType, 'OperationOutcome');
      assert.deepEqual(reply.body.issue[0].expression, [parameter], query);
    }
  });

  test('$series: glucose from both labs in one unit, oldest first, the mg/dL result and its range converted with the value as recorded kept', async () => {
    const reply = await server.fhir('GET', `Observation/$series?patient=${PATIENT.p1}&code=${LOINC}|${GLUCOSE}`, undefined, bearer(t.citizenP1));
    assert.equal(reply.status, 200, reply.text);
    const body = reply.body as Parameters;
    assert.equal(body.parameter?.find((p) => p.name === 'unit')?.valueCode, 'mmol/L', 'the newest result\'s unit');
    const points = body.parameter!.filter((p) => p.name === 'point');
    assert.deepEqual(points.map((p) => part(p, 'observation')?.valueReference?.reference), ['Observation/glu-1', 'Observation/glu-2', 'Observation/glu-3']);
    const converted = points[1]!;
    assert.deepEqual(part(converted, 'value')?.valueQuantity, { value: 5.99481, unit: 'mmol/L', system: UCUM, code: 'mmol/L' });
    assert.deepEqual(part(converted, 'recorded')?.valueQuantity, { value: 108, unit: 'mg/dL', system: UCUM, code: 'mg/dL' });
    assert.equal(part(converted, 'high')?.valueQuantity?.value, 5.49524);
    assert.equal(part(points[0]!, 'recorded'), undefined, 'a value already in the unit is not repeated');
  });

  test('$series in a unit asked for; a value that does not convert is marked, and bad input is a 400', async () => {
    const reply = await server.fhir('GET', `Observation/$series?patient=${PATIENT.p1}&code=${LOINC}|${GLUCOSE}&unit=${encodeURIComponent('mg/dL')}&date=ge2026-02-01`, undefined, bearer(t.citizenP1));
    assert.equal(reply.status, 200, reply.text);
    const points = (reply.body as Parameters).parameter!.filter((p) => p.name === 'point');
    assert.deepEqual(points.map((p) => part(p, 'value')?.valueQuantity?.value), [108, 115.3]);
    const a1c = await server.fhir('GET', `Observation/$series?patient=${PATIENT.p1}&code=${LOINC}|${HBA1C}&unit=mmol/L`, undefined, bearer(t.citizenP1));
    assert.equal(a1c.status, 200, a1c.text);
    const first = (a1c.body as Parameters).parameter!.find((p) => p.name === 'point')!;
    assert.equal(part(first, 'comparable')?.valueBoolean, false);
    assert.equal(part(first, 'value')?.valueQuantity?.code, '%');
    for (const [query, parameter] of [
      [`code=${LOINC}|${GLUCOSE}`, 'patient'],
      [`patient=${PATIENT.p1}`, 'code'],
      [`patient=${PATIENT.p1}&code=${LOINC}|${GLUCOSE}&unit=furlongs`, 'unit'],
      [`patient=${PATIENT.p1}&code=${LOINC}|${GLUCOSE}&_count=3`, '_count'],
    ]) {
      const bad = await server.fhir('GET', `Observation/$series?${query}`, undefined, bearer(t.citizenP1));
      assert.equal(bad.status, 400, `${query}: ${bad.text}`);
      assert.deepEqual(bad.body.issue[0].expression, [parameter], query);
    }
  });
});
