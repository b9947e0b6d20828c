import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Immunization, ImmunizationEvaluation, ImmunizationRecommendation, Parameters } from '@medplum/fhirtypes';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { bearer, buildWorld, IIN, ORG, tokens, type Tokens } from '../access/world.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const CVX = 'http://hl7.org/fhir/sid/cvx';
const DOSE_STATE = 'http://densaulyq.kz/fhir/CodeSystem/immunization-dose-state';
const IMMDS_FORECAST = 'http://hl7.org/fhir/us/immds/OperationDefinition/ImmDSForecastOperation';

/** P1's children, attached to organization B: P1 sees them as their representative, B's clinician by attachment. */
const CHILD = { newborn: 'imm-newborn', oneYear: 'imm-one-year', seven: 'imm-seven' } as const;
const BIRTH = { [CHILD.newborn]: '2026-11-20', [CHILD.oneYear]: '2025-10-01', [CHILD.seven]: '2019-06-10' } as const;

const immunization = (patient: string, cvx: string, date: string, id?: string): Immunization => ({
  resourceType: 'Immunization',
  ...(id ? { id } : {}),
  status: 'completed',
  vaccineCode: { coding: [{ system: CVX, code: cvx }] },
  patient: { reference: `Patient/${patient}` },
  occurrenceDateTime: `${date}T09:30:00+05:00`,
});

/** The one-year-old's record: everything up to the 3-month visit, nothing since (the 4-month doses are missing). */
const ONE_YEAR_HISTORY: [string, string][] = [
  ['08', '2025-10-02'],
  ['19', '2025-10-03'],
  ['146', '2025-12-01'],
  ['133', '2025-12-01'],
  ['120', '2026-01-02'],
];

/** The seven-year-old's whole childhood calendar, each on time. */
const SEVEN_YEAR_HISTORY: [string, string][] = [
  ['08', '2019-06-11'],
  ['19', '2019-06-12'],
  ['146', '2019-08-10'],
  ['133', '2019-08-10'],
  ['120', '2019-09-13'],
  ['146', '2019-10-15'],
  ['133', '2019-10-15'],
  ['03', '2020-06-10'],
  ['133', '2020-06-10'],
  ['120', '2020-12-10'],
  ['83', '2021-06-10'],
  ['83', '2021-12-10'],
  ['03', '2025-06-10'],
  ['130', '2025-06-10'],
];

interface Forecast {
  recommendation: ImmunizationRecommendation;
  evaluations: ImmunizationEvaluation[];
}

function forecastOf(body: Parameters): Forecast {
  assert.equal(body.resourceType, 'Parameters');
  const recommendation = body.parameter?.filter((p) => p.name === 'recommendation') ?? [];
  assert.equal(recommendation.length, 1, 'one recommendation');
  return {
    recommendation: recommendation[0]!.resource as ImmunizationRecommendation,
    evaluations: (body.parameter ?? []).filter((p) => p.name === 'evaluation').map((p) => p.resource as ImmunizationEvaluation),
  };
}

/** `series dose` → its state, as the app lists the calendar. */
function states(recommendation: ImmunizationRecommendation): Map<string, string> {
  return new Map(recommendation.recommendation.map((r) => [`${r.series} ${r.doseNumberPositiveInt}`, r.forecastStatus.coding!.find((c) => c.system === DOSE_STATE)!.code!]));
}

for (const driver of testDrivers()) describe(`Patient $immds-forecast: the national calendar, what is due (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let t: Tokens;
  before(async () => {
    server = await startTestServer(driver);
    t = await tokens(server);
    await buildWorld(server, t);
    for (const [i, id] of Object.values(CHILD).entries()) {
      const put = async (resource: { resourceType: string; id: string }) => {
        const reply = await server.fhir('PUT', `${resource.resourceType}/${resource.id}`, resource);
        assert.ok(reply.status === 200 || reply.status === 201, reply.text);
      };
      await put({ resourceType: 'Patient', id, name: [{ family: 'Абенова', given: ['Екпе'] }], gender: 'male', birthDate: BIRTH[id], generalPractitioner: [{ reference: `Organization/${ORG.B}` }] } as never);
      await put({
        resourceType: 'RelatedPerson',
        id: `rp-${id}`,
        active: true,
        patient: { reference: `Patient/${id}` },
        relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'FTH' }] }],
        identifier: [{ system: IIN_SYSTEM, value: IIN.p1 }],
      } as never);
      const history = id === CHILD.oneYear ? ONE_YEAR_HISTORY : id === CHILD.seven ? SEVEN_YEAR_HISTORY : [];
      for (const [j, [cvx, date]] of history.entries()) await put(immunization(id, cvx, date, `${id}-${i}-${j}`) as never);
    }
  });
  after(() => server.close());

  test('the citizen sees their one-year-old\'s missed 4-month doses overdue and the next ones moved after them', async () => {
    const reply = await server.fhir('GET', `Patient/${CHILD.oneYear}/$immds-forecast?assessmentDate=2026-10-15`, undefined, { ...bearer(t.citizenP1), 'accept-language': 'en' });
    assert.equal(reply.status, 200, reply.text);
    const { recommendation, evaluations } = forecastOf(reply.body);
    assert.equal(recommendation.patient.reference, `Patient/${CHILD.oneYear}`);
    assert.equal(recommendation.date, '2026-10-15');
    const state = states(recommendation);
    for (const key of ['dtp 3', 'polio 3', 'hib 3', 'hepb 3', 'pcv 2']) assert.equal(state.get(key), 'overdue', key);
    for (const key of ['hepb 1', 'hepb 2', 'bcg 1', 'dtp 1', 'dtp 2', 'pcv 1']) assert.equal(state.get(key), 'given', key);
    assert.equal(state.get('mmr 1'), 'due');
    assert.equal(state.get('pcv 3'), 'upcoming');
    const dtp3 = recommendation.recommendation.find((r) => r.series === 'dtp' && r.doseNumberPositiveInt === 3)!;
    assert.deepEqual(dtp3.forecastStatus.coding?.[0]?.code, 'overdue');
    assert.deepEqual(dtp3.vaccineCode?.[0]?.coding?.map((c) => c.code), ['146', 'J07CA09']);
    assert.deepEqual(
      dtp3.dateCriterion?.map((c) => `${c.code.coding?.[0]?.code} ${c.value}`),
      ['30981-5 2026-01-30', '30980-7 2026-02-01', '59778-1 2026-03-01', '59777-3 2032-09-30'],
    );
    assert.equal(dtp3.description, 'Overdue since 01/03/2026');
    const given = recommendation.recommendation.find((r) => r.series === 'bcg')!;
    assert.deepEqual(given.supportingImmunization, [{ reference: `Immunization/${CHILD.oneYear}-1-1`, display: '2025-10-03' }]);
    assert.equal(evaluations.length, 10, 'the five doses, once per series each counts for');
    assert.ok(evaluations.every((e) => e.doseStatus.coding?.[0]?.code === 'valid' && e.patient.reference === `Patient/${CHILD.oneYear}`));
  });

  test('the child\'s clinician (attached to B) gets the same forecast, in Russian when asked', async () => {
    const citizen = await server.fhir('GET', `Patient/${CHILD.oneYear}/$immds-forecast?assessmentDate=2026-10-15`, undefined, bearer(t.citizenP1));
    const reply = await server.fhir('GET', `Patient/${CHILD.oneYear}/$immds-forecast?assessmentDate=2026-10-15`, undefined, { ...bearer(t.clinicianB), 'accept-language': 'ru' });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(states(forecastOf(reply.body).recommendation), states(forecastOf(citizen.body).recommendation));
    const mmr = forecastOf(reply.body).recommendation.recommendation.find((r) => r.series === 'mmr')!;
    assert.equal(mmr.targetDisease?.text, 'Корь, краснуха, эпидемический паротит');
    assert.equal(mmr.forecastStatus.text, 'Пора сделать');
    const kazakh = forecastOf(citizen.body).recommendation.recommendation.find((r) => r.series === 'mmr')!;
    assert.equal(kazakh.forecastStatus.text, 'Салу уақыты келді', 'Kazakh without Accept-Language');
    const today = await server.fhir('GET', `Patient/${CHILD.oneYear}/$immds-forecast`, undefined, bearer(t.clinicianB));
    assert.equal(today.status, 200, today.text);
    assert.equal(forecastOf(today.body).recommendation.date, new Date(Date.now() + 5 * 3_600_000).toISOString().slice(0, 10), 'today in Kazakhstan (UTC+5) by default');
  });

  test('the door: a stranger, another organization\'s clinician and another citizen get 404, and nothing of the record', async () => {
    for (const actor of ['clinicianC', 'citizenP3'] as const) {
      for (const method of ['GET', 'POST'] as const) {
        const reply = await server.fhir(method, `Patient/${CHILD.oneYear}/$immds-forecast${method === 'GET' ? '?assessmentDate=2026-10-15' : ''}`, method === 'POST' ? { resourceType: 'Parameters' } : undefined, bearer(t[actor]));
        assert.equal(reply.status, 404, `${actor} ${method}: ${reply.text}`);
        assert.equal(reply.body.resourceType, 'OperationOutcome');
        assert.doesNotMatch(reply.text, /2025-10-0|recommendation/);
      }
    }
    const unknown = await server.fhir('GET', 'Patient/no-such-child/$immds-forecast', undefined, bearer(t.citizenP1));
    assert.equal(unknown.status, 404, unknown.text);
  });

  test('a newborn by POST with the assessment date in the body: hepatitis B and BCG due now, then overdue after the fourth day', async () => {
    const ask = (date: string) =>
      server.fhir('POST', `Patient/${CHILD.newborn}/$immds-forecast`, { resourceType: 'Parameters', parameter: [{ name: 'assessmentDate', valueDate: date }] }, bearer(t.citizenP1));
    const first = await ask('2026-11-21');
    assert.equal(first.status, 200, first.text);
    const day1 = states(forecastOf(first.body).recommendation);
    assert.deepEqual([day1.get('hepb 1'), day1.get('bcg 1'), day1.get('dtp 1'), day1.get('mmr 1')], ['due', 'due', 'upcoming', 'upcoming']);
    assert.deepEqual(forecastOf(first.body).evaluations, []);
    const day6 = states(forecastOf((await ask('2026-11-26')).body).recommendation);
    assert.deepEqual([day6.get('hepb 1'), day6.get('bcg 1')], ['overdue', 'overdue']);
  });

  test('a complete seven-year-old: every childhood dose given, only the Td booster at 16 ahead', async () => {
    const reply = await server.fhir('GET', `Patient/${CHILD.seven}/$immds-forecast?assessmentDate=2026-09-01`, undefined, bearer(t.clinicianB));
    assert.equal(reply.status, 200, reply.text);
    const { recommendation, evaluations } = forecastOf(reply.body);
    const open = [...states(recommendation)].filter(([, state]) => state !== 'given');
    assert.deepEqual(open, [['td 1', 'upcoming']]);
    assert.equal(evaluations.length, 25, 'each dose once per series it counts for');
  });

  test('the ImmDS form: the patient and history sent at type and system level, early and late doses judged by their intervals', async () => {
    const sent: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'patient', resource: { resourceType: 'Patient', id: 'sent-1', birthDate: '2024-01-15', gender: 'female' } },
        { name: 'immunization', resource: immunization('sent-1', '146', '2024-02-10', 'early') },
        { name: 'immunization', resource: immunization('sent-1', '146', '2024-03-20', 'first') },
        { name: 'immunization', resource: immunization('sent-1', '120', '2024-04-01', 'too-soon') },
        { name: 'immunization', resource: { ...immunization('sent-1', '03', '2024-11-15'), identifier: [{ system: 'urn:test', value: 'mmr-early' }] } },
      ],
    };
    const dated: Parameters = { ...sent, parameter: [{ name: 'assessmentDate', valueDate: '2024-12-01' }, ...sent.parameter!] };
    for (const [path, body] of [['Patient/$immds-forecast', dated], ['$immds-forecast', dated], ['$immds-forecast?assessmentDate=2024-12-01', sent]] as const) {
      const reply = await server.fhir('POST', path, body, bearer(t.citizenP3));
      assert.equal(reply.status, 200, `${path}: ${reply.text}`);
      const { recommendation, evaluations } = forecastOf(reply.body);
      assert.equal(recommendation.patient.reference, 'Patient/sent-1');
      const state = states(recommendation);
      assert.deepEqual([state.get('dtp 1'), state.get('dtp 2'), state.get('mmr 1'), state.get('hpv 1')], ['given', 'overdue', 'upcoming', 'upcoming']);
      const dtp2 = recommendation.recommendation.find((r) => r.series === 'dtp' && r.doseNumberPositiveInt === 2)!;
      assert.equal(dtp2.dateCriterion?.[0]?.value, '2024-04-17', 'earliest: four weeks after the dose that counted');
      const notValid = evaluations.filter((e) => e.doseStatus.coding?.[0]?.code === 'notvalid').map((e) => `${e.series} ${e.immunizationEvent.reference ?? e.immunizationEvent.identifier?.value}`);
      assert.deepEqual(notValid.sort(), ['dtp Immunization/early', 'dtp Immunization/too-soon', 'hib Immunization/early', 'hib Immunization/too-soon', 'mmr mmr-early', 'polio Immunization/early', 'polio Immunization/too-soon']);
    }
  });

  test('bad input is a 400 OperationOutcome naming where it is', async () => {
    const patient = { resourceType: 'Patient', birthDate: '2024-01-15' };
    const cases: [string, string, unknown, string][] = [
      ['GET', `Patient/${CHILD.oneYear}/$immds-forecast?assessmentDate=2026-02-30`, undefined, 'assessmentDate'],
      ['GET', `Patient/${CHILD.oneYear}/$immds-forecast?assessmentDate=2026-10`, undefined, 'assessmentDate'],
      ['GET', `Patient/${CHILD.oneYear}/$immds-forecast?assessmentDate=2020-01-01`, undefined, 'assessmentDate'],
      ['GET', `Patient/${CHILD.oneYear}/$immds-forecast?patient=x`, undefined, 'patient'],
      ['POST', `Patient/${CHILD.oneYear}/$immds-forecast`, { resourceType: 'Parameters', parameter: [{ name: 'assessmentDate', valueString: 'tomorrow' }] }, 'Parameters.parameter[0].valueDate'],
      ['POST', `Patient/${CHILD.oneYear}/$immds-forecast`, { resourceType: 'Parameters', parameter: [{ name: 'patient', resource: patient }] }, 'Parameters.parameter[0].name'],
      ['POST', `Patient/${CHILD.oneYear}/$immds-forecast`, { resourceType: 'Observation' }, 'Parameters'],
      ['POST', `Patient/${CHILD.oneYear}/$immds-forecast?assessmentDate=2026-10-15`, { resourceType: 'Parameters', parameter: [{ name: 'assessmentDate', valueDate: '2026-10-16' }] }, 'Parameters.parameter[0]'],
      ['POST', 'Patient/$immds-forecast?patient=x', { resourceType: 'Parameters', parameter: [{ name: 'patient', resource: patient }] }, 'patient'],
      ['POST', 'Patient/$immds-forecast', { resourceType: 'Parameters', parameter: [{ name: 'assessmentDate', valueDate: '2026-01-01' }] }, "Parameters.parameter.where(name='patient')"],
      ['POST', 'Patient/$immds-forecast', { resourceType: 'Parameters', parameter: [{ name: 'patient', resource: { resourceType: 'Patient', birthDate: '2099-01-01' } }] }, 'Parameters.parameter[0].resource.birthDate'],
      ['POST', 'Patient/$immds-forecast', { resourceType: 'Parameters', parameter: [{ name: 'patient', resource: { resourceType: 'Patient', birthDate: '2024-01' } }] }, 'Parameters.parameter[0].resource.birthDate'],
      ['POST', 'Patient/$immds-forecast', { resourceType: 'Parameters', parameter: [{ name: 'patient', resource: { resourceType: 'Observation' } }] }, 'Parameters.parameter[0].resource'],
      ['POST', '$immds-forecast', { resourceType: 'Parameters', parameter: [{ name: 'patient', resource: patient }, { name: 'immunization', resource: patient }] }, 'Parameters.parameter[1].resource'],
      [
        'POST',
        '$immds-forecast',
        { resourceType: 'Parameters', parameter: [{ name: 'patient', resource: { ...patient, id: 'a' } }, { name: 'immunization', resource: immunization('b', '19', '2024-01-16') }] },
        'Parameters.parameter[1].resource.patient',
      ],
      ['POST', '$immds-forecast', { resourceType: 'Parameters', parameter: [{ name: 'patient', resource: patient }, { name: 'dose', valueInteger: 1 }] }, 'Parameters.parameter[1].name'],
      ['POST', '$immds-forecast', { resourceType: 'Parameters', parameter: { name: 'patient', resource: patient } }, 'Parameters.parameter'],
      ['POST', '$immds-forecast', { resourceType: 'Parameters', parameter: [{ name: 'patient', resource: patient }, null] }, 'Parameters.parameter[1]'],
    ];
    for (const [method, path, body, expression] of cases) {
      const reply = await server.fhir(method, path, body, bearer(t.citizenP1));
      assert.equal(reply.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${reply.text}`);
      assert.equal(reply.body.resourceType, 'OperationOutcome');
      assert.deepEqual(reply.body.issue[0].expression, [expression], `${method} ${path} ${JSON.stringify(body)}`);
    }
    const get = await server.fhir('GET', 'Patient/$immds-forecast', undefined, bearer(t.citizenP1));
    assert.equal(get.status, 405, get.text);
  });

  test("the clinician's forecast is in the child's access log: who read the record, and which doses", async () => {
    const log = await server.fhir('GET', `Patient/${CHILD.seven}/$access-log?_count=50`, undefined, bearer(t.citizenP1));
    assert.equal(log.status, 200, log.text);
    const byClinician = (log.body.entry as { resource: AuditEvent }[])
      .map((e) => e.resource)
      .filter((event) => event.agent.some((a) => a.who?.reference === 'Practitioner/pr-b') && event.agent.some((a) => a.who?.reference === `Organization/${ORG.B}`));
    // The Patient read and the search of the doses, each recorded for the child.
    assert.deepEqual(byClinician.map((event) => event.subtype?.[0]?.code).sort(), ['read', 'search-type']);
    assert.ok(byClinician.every((event) => event.entity?.some((e) => e.what?.reference === `Patient/${CHILD.seven}`)));
  });

  test('its OperationDefinition is served and the CapabilityStatement lists it on Patient and at system level', async () => {
    const found = await server.fhir('GET', `OperationDefinition?url=${encodeURIComponent(IMMDS_FORECAST)}`);
    assert.equal(found.status, 200, found.text);
    const definition = found.body.entry[0].resource;
    assert.equal(definition.code, 'immds-forecast');
    assert.deepEqual(
      definition.parameter.map((p: { use: string; name: string }) => `${p.use} ${p.name}`),
      ['in assessmentDate', 'in patient', 'in immunization', 'out evaluation', 'out recommendation'],
    );
    const rest = (await server.fhir('GET', 'metadata')).body.rest[0];
    const onPatient = rest.resource.find((r: { type: string }) => r.type === 'Patient').operation;
    assert.ok(onPatient.some((o: { name: string; definition: string }) => o.name === 'immds-forecast' && o.definition === IMMDS_FORECAST));
    assert.ok(rest.operation.some((o: { name: string; definition: string }) => o.name === 'immds-forecast' && o.definition === IMMDS_FORECAST));
  });
});
