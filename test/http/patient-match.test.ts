import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UZBEK_PINFL_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { IIN_SYSTEM, buildIin } from '../../src/identity/iin.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const MATCH_GRADE = 'http://hl7.org/fhir/StructureDefinition/match-grade';
const iin = (birthDate: string, sex: 'male' | 'female', from = 1) => {
  for (let serial = from; ; serial++) {
    const value = buildIin({ birthDate, sex, serial });
    if (value) return value;
  }
};
const match = (resource: object, extra: object[] = []) => ({
  resourceType: 'Parameters',
  parameter: [{ name: 'resource', resource }, ...extra],
});

for (const driver of testDrivers()) describe(`Patient/$match (IHE PDQm) across scripts (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let nurlan: string;
  let twin: string;
  before(async () => {
    server = await startTestServer(driver);
    const registered = {
      resourceType: 'Patient',
      identifier: [{ system: IIN_SYSTEM, value: iin('1985-03-14', 'male') }],
      name: [{ family: 'Әбенов', given: ['Нұрлан'] }],
      gender: 'male',
      birthDate: '1985-03-14',
      telecom: [{ system: 'phone', value: '+7 701 555 12 34' }],
      address: [{ city: 'Алматы', postalCode: '050000' }],
    };
    nurlan = (await server.fhir('POST', 'Patient', registered)).body.id;
    twin = (
      await server.fhir('POST', 'Patient', {
        ...registered,
        identifier: [{ system: IIN_SYSTEM, value: iin('1985-03-14', 'male', 500) }],
        name: [{ family: 'Әбенов', given: ['Ерлан'] }],
      })
    ).body.id;
    await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Смагулова', given: ['Айгуль'] }], gender: 'female', birthDate: '1985-03-14' });
  });
  after(() => server.close());

  const grades = (reply: { body: any }) =>
    Object.fromEntries(reply.body.entry.map((e: any) => [e.resource.id, e.search.extension.find((x: any) => x.url === MATCH_GRADE).valueCode]));

  test('the same man registered in Latin script without his IIN is found, ahead of his twin', async () => {
    const reply = await server.fhir('POST', 'Patient/$match', match({ resourceType: 'Patient', name: [{ family: 'Abenov', given: ['Nurlan'] }], gender: 'male', birthDate: '1985-03-14', telecom: [{ system: 'phone', value: '87015551234' }] }));
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.type, 'searchset');
    assert.equal(reply.body.entry[0].resource.id, nurlan);
    assert.ok(['certain', 'probable'].includes(grades(reply)[nurlan]), JSON.stringify(grades(reply)));
    assert.ok(reply.body.entry[0].search.score > 0.5 && reply.body.entry[0].search.score <= 1);
    const twinEntry = reply.body.entry.find((e: any) => e.resource.id === twin);
    assert.ok(!twinEntry || twinEntry.search.score < reply.body.entry[0].search.score);
  });

  test('with the IIN the match is certain; onlyCertainMatches returns just it', async () => {
    const asked = { resourceType: 'Patient', identifier: [{ system: IIN_SYSTEM, value: iin('1985-03-14', 'male') }], name: [{ family: 'Абенов', given: ['Нурлан'] }], birthDate: '1985-03-14' };
    const reply = await server.fhir('POST', 'Patient/$match', match(asked, [{ name: 'onlyCertainMatches', valueBoolean: true }]));
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body.entry.map((e: any) => e.resource.id), [nurlan]);
    assert.equal(grades(reply)[nurlan], 'certain');
  });

  test('a registration with day and month swapped still finds her', async () => {
    const aigerim = (
      await server.fhir('POST', 'Patient', {
        resourceType: 'Patient',
        identifier: [{ system: IIN_SYSTEM, value: iin('1990-04-03', 'female') }],
        name: [{ family: 'Сейтқали', given: ['Айгерім'] }],
        gender: 'female',
        birthDate: '1990-04-03',
      })
    ).body.id;
    const reply = await server.fhir('POST', 'Patient/$match', match({ resourceType: 'Patient', name: [{ family: 'Seitkali', given: ['Aigerim'] }], gender: 'female', birthDate: '1990-03-04' }));
    assert.equal(reply.status, 200);
    assert.equal(reply.body.entry[0]?.resource.id, aigerim, JSON.stringify(reply.body.entry?.map((e: any) => e.search)));
  });

  test('a stranger born the same day is not offered, and count limits the answer', async () => {
    const reply = await server.fhir('POST', 'Patient/$match', match({ resourceType: 'Patient', name: [{ family: 'Жұмабаев', given: ['Серік'] }], gender: 'male', birthDate: '1985-03-14' }, [{ name: 'count', valueInteger: 1 }]));
    assert.equal(reply.status, 200);
    assert.ok(reply.body.entry.length <= 1);
    for (const entry of reply.body.entry) assert.notEqual(grades(reply)[entry.resource.id], 'certain');
  });

  test('a foreign registration without IIN or birth date is found by its personal number', async () => {
    const pinfl = { system: UZBEK_PINFL_SYSTEM, value: '31505900270017' };
    const rustam = (await server.fhir('POST', 'Patient', { resourceType: 'Patient', identifier: [pinfl], name: [{ family: 'Karimov', given: ['Rustam'] }], gender: 'male', birthDate: '1990-05-15' })).body.id;
    const reply = await server.fhir('POST', 'Patient/$match', match({ resourceType: 'Patient', identifier: [pinfl], name: [{ family: 'Каримов', given: ['Рустам'] }], gender: 'male' }));
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.entry[0]?.resource.id, rustam);
    assert.ok(['certain', 'probable'].includes(grades(reply)[rustam]));
  });

  test('bad requests are 400s; $match is defined on Patient only', async () => {
    assert.equal((await server.fhir('POST', 'Patient/$match', { resourceType: 'Patient' })).status, 400);
    assert.equal((await server.fhir('POST', 'Patient/$match', match({ resourceType: 'Patient', name: [{ family: 'X' }] }))).status, 400, 'nothing to block on');
    assert.equal((await server.fhir('POST', 'Observation/$match', match({ resourceType: 'Patient', birthDate: '1985-03-14' }))).status, 400);
  });
});

for (const driver of testDrivers()) describe(`Patient/$ihe-pix (IHE PIXm) cross-references identifiers (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let id: string;
  const nationalIin = iin('1979-11-30', 'female');
  before(async () => {
    server = await startTestServer(driver);
    id = (
      await server.fhir('POST', 'Patient', {
        resourceType: 'Patient',
        identifier: [
          { system: IIN_SYSTEM, value: nationalIin },
          { system: 'urn:oid:1.2.398.7.1.9.1.2', value: 'POLY-77-001' },
          { system: 'urn:oid:1.2.643.100.3', value: '112-233-445 95' },
        ],
        gender: 'female',
        birthDate: '1979-11-30',
      })
    ).body.id;
  });
  after(() => server.close());

  test('a polyclinic number leads to the IIN and the other identifiers, and to the Patient', async () => {
    const reply = await server.fhir('GET', `Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent('urn:oid:1.2.398.7.1.9.1.2|POLY-77-001')}`);
    assert.equal(reply.status, 200, reply.text);
    const identifiers = reply.body.parameter.filter((p: any) => p.name === 'targetIdentifier').map((p: any) => p.valueIdentifier.value);
    assert.deepEqual(identifiers.sort(), [nationalIin, '112-233-445 95'].sort());
    assert.deepEqual(reply.body.parameter.filter((p: any) => p.name === 'targetId').map((p: any) => p.valueReference.reference), [`Patient/${id}`]);
    const onlyIin = await server.fhir('GET', `Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent('urn:oid:1.2.398.7.1.9.1.2|POLY-77-001')}&targetSystem=${encodeURIComponent(IIN_SYSTEM)}`);
    assert.deepEqual(onlyIin.body.parameter.filter((p: any) => p.name === 'targetIdentifier').map((p: any) => p.valueIdentifier.value), [nationalIin]);
  });

  test('an unknown identifier is a 404 and a malformed one a 400', async () => {
    assert.equal((await server.fhir('GET', `Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent('urn:oid:1.2.3|nobody')}`)).status, 404);
    assert.equal((await server.fhir('GET', 'Patient/$ihe-pix?sourceIdentifier=nobar')).status, 400);
    assert.equal((await server.fhir('GET', 'Patient/$ihe-pix')).status, 400);
  });
});
