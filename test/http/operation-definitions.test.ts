import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OperationDefinition, OperationDefinitionParameter } from '@medplum/fhirtypes';
import { DENSAULYQ_OPERATION_BASE, STANDARD_OPERATION_IDS } from '../../src/rest/operation-definitions.js';
import { ROUTES, type Route } from '../../src/rest/routes.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const OURS = ROUTES.filter((route) => route.definition?.startsWith(`${DENSAULYQ_OPERATION_BASE}/`));
/** The canonical URLs of the standard definitions the server holds (R4's and the IPS `$summary`). */
const STANDARD_URLS = new Set([...STANDARD_OPERATION_IDS.filter((id) => id !== 'summary').map((id) => `http://hl7.org/fhir/OperationDefinition/${id}`), 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary']);
/** Routes of standard operations the server implements: held to the same guarantees, at each level the definition defines. */
const STANDARD = ROUTES.filter((route) => route.definition !== undefined && STANDARD_URLS.has(route.definition));

/** A value of the parameter's type that its handler accepts. */
const SAMPLE: Partial<Record<NonNullable<OperationDefinitionParameter['type']>, string>> = {
  integer: '5',
  instant: '2026-01-01T00:00:00Z',
  boolean: 'false',
  code: 'open',
  id: 'org-1',
  date: '2026-01-01',
};
/** Values by parameter name, where the type's sample is not one the parameter takes. */
const SAMPLE_BY_NAME: Record<string, string> = { _type: 'Observation,Condition', displayLanguage: 'ru', language: 'kk', unit: 'mmol/L' };

const PATIENT_IDENTIFIER = { system: 'http://densaulyq.test/od', value: 'od-1' };
/**
 * What an operation needs beside the parameter tried, where it cannot run without (type-level
 * `$summary` finds its patient by identifier; `$lookup` needs a code and its system, `$expand` a
 * value set, `$series` a patient and a test, `$translate` a code system), by route pattern; and the instance each instance-level route is tried on.
 */
const COMPANIONS: Record<string, Record<string, string>> = {
  'Patient/$summary': { identifier: `${PATIENT_IDENTIFIER.system}|${PATIENT_IDENTIFIER.value}` },
  'CodeSystem/$lookup': { system: 'http://loinc.org', code: '8867-4' },
  'ValueSet/$expand': { url: 'http://densaulyq.kz/fhir/ValueSet/loinc' },
  'Observation/$series': { patient: 'od-unknown', code: 'http://loinc.org|2339-0' },
  'ConceptMap/$translate': { system: 'http://densaulyq.test/lab-codes' },
  'ConceptMap/:id/$translate': { system: 'http://densaulyq.test/lab-codes' },
};
const INSTANCE_OF_TYPE: Record<string, string> = { ValueSet: 'loinc', ConceptMap: 'od-map' };

/** The parameter names an error points at: `name`, `name-identifier` or `Parameters.parameter.where(name='name')…`. */
function namedIn(expression: string): string {
  return /where\(name='([^']+)'\)/.exec(expression)?.[1] ?? expression;
}

for (const driver of testDrivers()) describe(`Densaulyq operations are described by served OperationDefinitions (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let patient: string;
  /** Standard operations are tried as the patient themself (a type-level `$everything` answers a citizen only). */
  let citizen: Record<string, string>;
  before(async () => {
    server = await startTestServer(driver);
    patient = (await server.fhir('POST', 'Patient', { resourceType: 'Patient', identifier: [PATIENT_IDENTIFIER], name: [{ family: 'Сейітов' }] })).body.id;
    const map = await server.fhir('PUT', 'ConceptMap/od-map', { resourceType: 'ConceptMap', id: 'od-map', url: 'http://densaulyq.test/ConceptMap/od', status: 'active' });
    assert.equal(map.status, 201, map.text);
    citizen = { authorization: `Bearer ${await server.token({ sub: 'citizen-od', client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: `Patient/${patient}` })}` };
  });
  after(() => server.close());

  test('there are routes of ours to check', () => {
    assert.ok(OURS.length >= 11, `only ${OURS.length}`);
    assert.ok(STANDARD.some((route) => route.name === '$everything' && route.level === 'type'));
    assert.ok(STANDARD.some((route) => route.name === '$everything' && route.level === 'instance'));
  });

  for (const id of STANDARD_OPERATION_IDS) {
    test(`the standard OperationDefinition/${id} is served by id and found by its canonical URL`, async () => {
      const read = await server.fhir('GET', `OperationDefinition/${id}`);
      assert.equal(read.status, 200, read.text);
      assert.equal(read.body.resourceType, 'OperationDefinition');
      assert.equal(read.body.affectsState, false);
      const found = await server.fhir('GET', `OperationDefinition?url=${encodeURIComponent(read.body.url)}`);
      assert.equal(found.status, 200, found.text);
      assert.deepEqual(found.body.entry.map((e: { resource: unknown }) => e.resource), [read.body]);
    });
  }

  test('Patient-everything is R4\'s: start, end, _since, _type and _count in, the Bundle out', async () => {
    const read = await server.fhir('GET', 'OperationDefinition/Patient-everything');
    assert.deepEqual(read.body.parameter.map((p: OperationDefinitionParameter) => `${p.use} ${p.name}`), ['in start', 'in end', 'in _since', 'in _type', 'in _count', 'out return']);
    assert.equal(read.body.url, 'http://hl7.org/fhir/OperationDefinition/Patient-everything');
  });

  test('the IPS $summary: identifier, profile and the language of its narratives in, the document out', async () => {
    const read = await server.fhir('GET', 'OperationDefinition/summary');
    assert.equal(read.body.url, 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary');
    assert.deepEqual(read.body.parameter.map((p: OperationDefinitionParameter) => `${p.use} ${p.name}`), ['in identifier', 'in profile', 'in language', 'in share', 'out return']);
    assert.deepEqual([read.body.type, read.body.instance, read.body.resource], [true, true, ['Patient']]);
  });

  for (const route of [...OURS, ...STANDARD]) {
    const standard = STANDARD.includes(route);
    describe(`${route.method} ${route.pattern}`, () => {
      let definition: OperationDefinition;
      before(async () => {
        const found = await server.fhir('GET', `OperationDefinition?url=${encodeURIComponent(route.definition!)}`);
        assert.equal(found.status, 200, found.text);
        assert.equal(found.body.entry?.length, 1, `${route.definition} resolves to one OperationDefinition`);
        definition = found.body.entry[0].resource;
      });

      test('its canonical URL resolves, and its id reads the same resource', async () => {
        assert.equal(definition.url, route.definition);
        const read = await server.fhir('GET', `OperationDefinition/${definition.id}`);
        assert.equal(read.status, 200, read.text);
        assert.deepEqual(read.body, definition);
      });

      test('it defines the operation the route serves, at its level', () => {
        assert.equal(`$${definition.code}`, route.name);
        if (standard) {
          // One standard definition may serve several levels, each its own route.
          assert.equal(definition[route.level], true);
          for (const level of ['system', 'type', 'instance'] as const) {
            if (definition[level]) assert.ok(ROUTES.some((r) => r.definition === route.definition && r.level === level), `no ${level}-level route for ${definition.url}`);
          }
        } else {
          assert.equal(definition.system, route.level === 'system');
          assert.equal(definition.type, route.level === 'type');
          assert.equal(definition.instance, route.level === 'instance');
        }
        if (route.types) assert.deepEqual(definition.resource, route.types);
        if (route.method === 'GET') assert.equal(definition.affectsState, false, 'an operation invoked by GET changes nothing');
      });

      test('the CapabilityStatement lists it', async () => {
        const metadata = await server.fhir('GET', 'metadata');
        const rest = metadata.body.rest[0];
        const listed = route.level === 'system' ? rest.operation : rest.resource.find((r: { type: string }) => r.type === route.types?.[0]).operation;
        assert.ok(listed.some((o: { name: string; definition: string }) => `$${o.name}` === route.name && o.definition === route.definition));
      });

      test('its parameters are the ones the handler reads', async () => {
        const inputs = (definition.parameter ?? []).filter((p) => p.use === 'in');
        const path = pathOf(route, patient);
        const headers = standard ? citizen : undefined;
        if (route.method === 'GET') {
          // GET operations refuse what they do not read, naming it; each declared one is taken.
          const refused = await server.fhir('GET', `${path}?undeclared=1`, undefined, headers);
          assert.equal(refused.status, 400, refused.text);
          assert.deepEqual(refused.body.issue[0].expression, ['undeclared']);
          for (const input of inputs) {
            const value = SAMPLE_BY_NAME[input.name!] ?? SAMPLE[input.type!];
            if (value === undefined) continue;
            const companions = COMPANIONS[`${route.types?.[0]}/${route.level === 'instance' ? ':id/' : ''}${route.name}`];
            if (companions && input.name! in companions) continue;
            const query = new URLSearchParams({ ...companions, [input.name!]: value });
            const reply = await server.fhir('GET', `${path}?${query}`, undefined, headers);
            assert.equal(reply.status, 200, `${input.name}=${value}: ${reply.text}`);
          }
        } else {
          // An empty Parameters: the handler complains about a parameter it reads, which must be declared.
          const reply = await server.fhir('POST', path, { resourceType: 'Parameters' }, headers);
          if (inputs.some((p) => p.min! > 0) || reply.status >= 400) {
            assert.ok(reply.status >= 400, `${route.name} without its required parameters: ${reply.text}`);
            const named = reply.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? []).map(namedIn);
            if (inputs.some((p) => p.min! > 0)) assert.ok(named.length > 0, reply.text);
            for (const name of named) assert.ok(inputs.some((p) => p.name === name), `${route.name} reads "${name}", which its OperationDefinition does not declare`);
          }
        }
      });
    });
  }
});

function pathOf(route: Route, patient: string): string {
  const type = route.types?.[0] ?? '';
  return route.pattern.replace(':type', type).replace(':id', INSTANCE_OF_TYPE[type] ?? patient);
}
