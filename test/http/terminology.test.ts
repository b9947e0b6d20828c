/**
 * Codes shown in the reader's language (issue 14, item 3): the bundled terminology read and found
 * as CodeSystems and ValueSets, CodeSystem/$lookup and ValueSet/$expand, over a real server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';

const ICD10 = 'http://hl7.org/fhir/sid/icd-10';
const LOINC = 'http://loinc.org';
const IPS_PROBLEMS = 'http://densaulyq.kz/fhir/ValueSet/ips-problems';

const q = (params: Record<string, string>) => new URLSearchParams(params).toString();
const part = (parameters: Parameters, name: string) => parameters.parameter?.find((p) => p.name === name);
const designationsOf = (parameters: Parameters) =>
  (parameters.parameter ?? []).filter((p) => p.name === 'designation').map((p) => Object.fromEntries((p.part ?? []).map((x: ParametersParameter) => [x.name, x.valueCode ?? x.valueString ?? x.valueCoding?.code])));

function assertError(reply: FhirReply, status: number, expression?: string): string {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.body.resourceType, 'OperationOutcome');
  if (expression !== undefined) assert.deepEqual(reply.body.issue[0].expression, [expression], reply.text);
  return reply.body.issue[0].details.text;
}

for (const driver of testDrivers()) describe(`Terminology in Kazakh, Russian and English over the API (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  describe('CodeSystem and ValueSet resources', () => {
    test('a bundled code system reads by id as a fragment with designations in three languages', async () => {
      const reply = await server.fhir('GET', 'CodeSystem/icd-10');
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.url, ICD10);
      assert.equal(reply.body.content, 'fragment');
      const diabetes = reply.body.concept.find((c: { code: string }) => c.code === 'E11.9');
      assert.deepEqual(
        diabetes.designation.map((d: { language: string; value: string }) => [d.language, d.value]),
        [['kk', 'Асқынусыз 2 типті қант диабеті'], ['ru', 'Сахарный диабет 2 типа без осложнений'], ['en', 'Type 2 diabetes mellitus without complications']],
      );
    });

    test('code systems and value sets are found by url; the error codes stay where they were', async () => {
      const loinc = await server.fhir('GET', `CodeSystem?${q({ url: LOINC })}`);
      assert.equal(loinc.status, 200, loinc.text);
      assert.equal(loinc.body.total, 1);
      assert.equal(loinc.body.entry[0].resource.id, 'loinc');
      const problems = await server.fhir('GET', `ValueSet?${q({ url: IPS_PROBLEMS })}`);
      assert.equal(problems.body.entry?.[0]?.resource.id, 'ips-problems', problems.text);
      const read = await server.fhir('GET', 'ValueSet/ips-problems');
      assert.deepEqual(read.body, problems.body.entry[0].resource);
      assert.equal((await server.fhir('GET', 'CodeSystem/densaulyq-error')).body.url, 'http://densaulyq.kz/fhir/CodeSystem/error');
    });

    test('an operation the server lacks is no resource id: a 404 for the route, not a 400 for the id', async () => {
      const reply = await server.fhir('GET', 'CodeSystem/$subsumes');
      assertError(reply, 404);
      assert.equal(reply.body.issue[0].details.coding[0].code, 'unknown-route');
    });

    test('the CapabilityStatement lists $lookup on CodeSystem and $expand on ValueSet with their core definitions', async () => {
      const rest = (await server.fhir('GET', 'metadata')).body.rest[0];
      const operations = (type: string) => rest.resource.find((r: { type: string }) => r.type === type).operation;
      assert.deepEqual(operations('CodeSystem').filter((o: { name: string }) => o.name === 'lookup'), [{ name: 'lookup', definition: 'http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup' }]);
      assert.deepEqual(operations('ValueSet').filter((o: { name: string }) => o.name === 'expand'), [{ name: 'expand', definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand' }]);
    });
  });

  describe('CodeSystem/$lookup', () => {
    test('without a language the display is the code system’s own English; Accept-Language picks another; designations carry all three', async () => {
      const english = await server.fhir('GET', `CodeSystem/$lookup?${q({ system: ICD10, code: 'I10' })}`);
      assert.equal(english.status, 200, english.text);
      assert.equal(part(english.body, 'name')?.valueString, 'ICD-10 (WHO)');
      assert.equal(part(english.body, 'version')?.valueString, '2019');
      assert.equal(part(english.body, 'display')?.valueString, 'Essential (primary) hypertension');
      assert.deepEqual(designationsOf(english.body), [
        { language: 'kk', use: 'preferredForLanguage', value: 'Эссенциалды (біріншілік) артериялық гипертензия' },
        { language: 'ru', use: 'preferredForLanguage', value: 'Эссенциальная (первичная) гипертензия' },
        { language: 'en', use: 'preferredForLanguage', value: 'Essential (primary) hypertension' },
      ]);
      const russian = await server.fhir('GET', `CodeSystem/$lookup?${q({ system: ICD10, code: 'I10' })}`, undefined, { 'accept-language': 'ru-RU,ru;q=0.9,en;q=0.5' });
      assert.equal(part(russian.body, 'display')?.valueString, 'Эссенциальная (первичная) гипертензия');
    });

    test('displayLanguage wins over Accept-Language; a language the platform lacks gets English', async () => {
      const kazakh = await server.fhir('GET', `CodeSystem/$lookup?${q({ system: LOINC, code: '8867-4', displayLanguage: 'kk' })}`, undefined, { 'accept-language': 'ru' });
      assert.equal(part(kazakh.body, 'display')?.valueString, 'Жүрек соғу жиілігі');
      const german = await server.fhir('GET', `CodeSystem/$lookup?${q({ system: LOINC, code: '8867-4', displayLanguage: 'de' })}`, undefined, { 'accept-language': 'ru' });
      assert.equal(part(german.body, 'display')?.valueString, 'Heart rate');
    });

    test('POST takes a Coding; the instance level takes the system from the CodeSystem', async () => {
      const posted = await server.fhir('POST', 'CodeSystem/$lookup', {
        resourceType: 'Parameters',
        parameter: [
          { name: 'coding', valueCoding: { system: 'http://hl7.org/fhir/sid/cvx', code: '19' } },
          { name: 'displayLanguage', valueCode: 'ru' },
        ],
      });
      assert.equal(posted.status, 200, posted.text);
      assert.equal(part(posted.body, 'display')?.valueString, 'Вакцина БЦЖ');
      const ips = await server.fhir('GET', `CodeSystem/$lookup?${q({ system: 'http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips', code: 'no-known-allergies', displayLanguage: 'kk' })}`);
      assert.equal(part(ips.body, 'display')?.valueString, 'Белгілі аллергиялар жоқ', ips.text);
      // R4 defines $lookup at type level only (https://hl7.org/fhir/R4/codesystem-operation-lookup.html).
      const instance = await server.fhir('GET', `CodeSystem/atc/$lookup?${q({ code: 'A10BA02' })}`);
      assert.equal(instance.status, 404, instance.text);
    });

    test('property narrows the designations to those asked for', async () => {
      const kazakhOnly = await server.fhir('GET', `CodeSystem/$lookup?${q({ system: ICD10, code: 'E11.9' })}&property=lang.kk`);
      assert.deepEqual(designationsOf(kazakhOnly.body).map((d) => d.language), ['kk']);
      const versionOnly = await server.fhir('GET', `CodeSystem/$lookup?${q({ system: ICD10, code: 'E11.9', property: 'version' })}`);
      assert.deepEqual(designationsOf(versionOnly.body), []);
      assert.equal(part(versionOnly.body, 'version')?.valueString, '2019');
    });

    test('an unknown code is a 404 that says so in the reader’s language', async () => {
      const path = `CodeSystem/$lookup?${q({ system: ICD10, code: 'Z99.9' })}`;
      assert.match(assertError(await server.fhir('GET', path, undefined, { 'accept-language': 'kk' }), 404), /«Z99\.9» коды табылмады/);
      assert.match(assertError(await server.fhir('GET', path, undefined, { 'accept-language': 'ru' }), 404), /Код «Z99\.9» не найден/);
      assert.match(assertError(await server.fhir('GET', path), 404), /"Z99\.9" is not known/);
      assert.match(assertError(await server.fhir('GET', `CodeSystem/$lookup?${q({ system: 'http://example.org/x', code: 'a' })}`), 404), /not held/);
      assert.match(assertError(await server.fhir('GET', `CodeSystem/$lookup?${q({ system: ICD10, code: 'I10', version: '2010' })}`), 404), /Version 2010/);
      assertError(await server.fhir('GET', `CodeSystem/no-such-system/$lookup?code=I10`), 404);
    });

    test('missing, contradictory or unknown inputs are a 400 naming the parameter', async () => {
      assertError(await server.fhir('GET', `CodeSystem/$lookup?code=I10`), 400, 'system');
      assertError(await server.fhir('GET', `CodeSystem/$lookup?${q({ system: ICD10 })}`), 400, 'code');
      assertError(await server.fhir('GET', `CodeSystem/$lookup?${q({ system: ICD10, code: 'I10', coding: `${ICD10}|E11.9` })}`), 400, 'coding');
      assertError(await server.fhir('GET', `CodeSystem/$lookup?${q({ system: ICD10, code: 'I10', colour: 'red' })}`), 400, 'colour');
      assertError(await server.fhir('GET', `CodeSystem/$lookup?${q({ system: ICD10 })}&code=I10&code=E11.9`), 400, 'code');
      const posted = await server.fhir('POST', 'CodeSystem/$lookup', { resourceType: 'Parameters', parameter: [{ name: 'code', valueCode: 'I10' }] }, { 'accept-language': 'kk' });
      assert.match(assertError(posted, 400, 'system'), /«system» параметрі қажет/);
      assertError(await server.fhir('POST', 'CodeSystem/$lookup', { resourceType: 'Patient' }), 400, 'Parameters');
      assert.equal((await server.fhir('POST', 'CodeSystem/$lookup', { resourceType: 'Parameters', parameter: 'code=I10' })).status, 422);
      assert.equal((await server.fhir('POST', 'CodeSystem/$lookup', { resourceType: 'Parameters', parameter: [{ name: 'coding', valueCoding: { code: 5 } }] })).status, 422);
    });
  });

  describe('ValueSet/$expand', () => {
    test('filter matches the display in the chosen language; the expansion echoes its parameters', async () => {
      const reply = await server.fhir('GET', `ValueSet/$expand?${q({ url: IPS_PROBLEMS, filter: 'ДИАБЕТ', displayLanguage: 'ru' })}`);
      assert.equal(reply.status, 200, reply.text);
      const { expansion } = reply.body;
      assert.equal(reply.body.url, IPS_PROBLEMS);
      assert.equal(reply.body.compose, undefined);
      assert.match(expansion.identifier, /^urn:uuid:/);
      assert.ok(Math.abs(Date.parse(expansion.timestamp) - Date.now()) < 60_000);
      assert.deepEqual(expansion.contains.map((c: { code: string; display: string }) => [c.code, c.display]), [
        ['E11.9', 'Сахарный диабет 2 типа без осложнений'],
        ['15777000', 'Предиабет'],
      ]);
      assert.equal(expansion.total, 2);
      assert.equal(expansion.offset, 0);
      assert.deepEqual(expansion.parameter, [
        { name: 'displayLanguage', valueCode: 'ru' },
        { name: 'filter', valueString: 'ДИАБЕТ' },
      ]);
      const kazakh = await server.fhir('GET', `ValueSet/$expand?${q({ url: IPS_PROBLEMS, filter: 'қант' })}`, undefined, { 'accept-language': 'kk' });
      assert.deepEqual(kazakh.body.expansion.contains.map((c: { code: string }) => c.code), ['E11.9']);
      const byCode = await server.fhir('GET', `ValueSet/$expand?${q({ url: IPS_PROBLEMS, filter: 'j45' })}`);
      assert.deepEqual(byCode.body.expansion.contains.map((c: { display: string }) => c.display), ['Asthma, unspecified']);
    });

    test('count and offset page the expansion; total counts every match', async () => {
      const all = (await server.fhir('GET', `ValueSet/icd-10/$expand`)).body.expansion;
      const page = (await server.fhir('GET', `ValueSet/icd-10/$expand?${q({ offset: '2', count: '3' })}`)).body.expansion;
      assert.equal(page.total, all.total);
      assert.equal(page.offset, 2);
      assert.deepEqual(page.contains, all.contains.slice(2, 5));
      const beyond = (await server.fhir('GET', `ValueSet/icd-10/$expand?${q({ offset: '1000' })}`)).body.expansion;
      assert.equal(beyond.contains, undefined);
      assert.equal(beyond.total, all.total);
    });

    test('includeDesignations adds kk, ru and en; POST takes url or a ValueSet listing its codes', async () => {
      const posted = await server.fhir('POST', 'ValueSet/$expand', {
        resourceType: 'Parameters',
        parameter: [
          { name: 'url', valueUri: 'http://densaulyq.kz/fhir/ValueSet/cvx' },
          { name: 'filter', valueString: 'BCG' },
          { name: 'includeDesignations', valueBoolean: true },
        ],
      });
      assert.equal(posted.status, 200, posted.text);
      assert.deepEqual(posted.body.expansion.contains[0].designation.map((d: { language: string }) => d.language), ['kk', 'ru', 'en']);
      const sent = await server.fhir('POST', 'ValueSet/$expand', {
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'valueSet',
            resource: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: ICD10, concept: [{ code: 'I10' }, { code: 'X00', display: 'Mine' }] }] } },
          },
          { name: 'displayLanguage', valueCode: 'kk' },
        ],
      });
      assert.equal(sent.status, 200, sent.text);
      assert.deepEqual(sent.body.expansion.contains.map((c: { display: string }) => c.display), ['Эссенциалды (біріншілік) артериялық гипертензия', 'Mine']);
    });

    test('an R4 value set expands by its canonical URL with English displays', async () => {
      const reply = await server.fhir('GET', `ValueSet/$expand?${q({ url: 'http://hl7.org/fhir/ValueSet/administrative-gender' })}`);
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.body.expansion.contains.map((c: { code: string; display: string }) => `${c.code}:${c.display}`), ['male:Male', 'female:Female', 'other:Other', 'unknown:Unknown']);
    });

    test('bad input is a 400 naming the parameter; an unknown value set a 404', async () => {
      assertError(await server.fhir('GET', 'ValueSet/$expand'), 400, 'url');
      assertError(await server.fhir('GET', `ValueSet/$expand?${q({ url: IPS_PROBLEMS, count: '-1' })}`), 400, 'count');
      assertError(await server.fhir('GET', `ValueSet/$expand?${q({ url: IPS_PROBLEMS, includeDesignations: 'yes' })}`), 400, 'includeDesignations');
      assertError(await server.fhir('GET', `ValueSet/$expand?${q({ url: IPS_PROBLEMS, sort: 'code' })}`), 400, 'sort');
      assertError(await server.fhir('GET', `ValueSet/icd-10/$expand?${q({ url: IPS_PROBLEMS })}`), 400, 'url');
      const posted = await server.fhir('POST', 'ValueSet/$expand', { resourceType: 'Parameters', parameter: [{ name: 'valueSet', resource: { resourceType: 'Patient' } }] });
      assertError(posted, 400, "Parameters.parameter.where(name='valueSet')");
      const unknown = await server.fhir('GET', `ValueSet/$expand?${q({ url: 'http://example.org/ValueSet/none' })}`, undefined, { 'accept-language': 'ru' });
      assert.match(assertError(unknown, 404), /Набор значений/);
      assertError(await server.fhir('GET', `ValueSet/$expand?${q({ url: 'http://hl7.org/fhir/ValueSet/ucum-units' })}`), 404);
      assertError(await server.fhir('GET', 'ValueSet/no-such-set/$expand'), 404);
    });
  });
});
