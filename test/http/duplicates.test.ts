import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedingAccess } from '../../src/access/door.js';
import { UZBEK_PINFL_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { duplicatesScan } from '../../src/cli/duplicates.js';
import { scanDuplicates } from '../../src/identity/duplicate-scan.js';
import { IIN_SYSTEM, buildIin } from '../../src/identity/iin.js';
import { confirmDuplicateOperation, duplicatesOperation, rejectDuplicateOperation } from '../../src/rest/duplicates.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';
import { identityOperations } from '../support/identity-operations.js';
import { type TestServer, startTestServer } from '../support/server.js';

const iin = (birthDate: string, sex: 'male' | 'female', from = 1) => {
  for (let serial = from; ; serial++) {
    const value = buildIin({ birthDate, sex, serial });
    if (value) return value;
  }
};
const patients = (...ids: string[]) => ({ resourceType: 'Parameters', parameter: ids.map((id) => ({ name: 'patient', valueReference: { reference: `Patient/${id}` } })) });
const pairs = (reply: { body: any }) =>
  reply.body.parameter
    .filter((p: any) => p.name === 'candidate')
    .map((c: any) => c.part.filter((p: any) => p.name === 'patient').map((p: any) => p.valueReference.reference.slice(8)).sort().join('+'));

for (const driver of testDrivers()) describe(`the duplicates work list (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let call: ReturnType<typeof identityOperations>;
  const id: Record<string, string> = {};
  before(async () => {
    server = await startTestServer(driver);
    call = identityOperations(server);
    const create = async (name: string, resource: object) => {
      const reply = await server.fhir('POST', 'Patient', { resourceType: 'Patient', ...resource });
      assert.equal(reply.status, 201, reply.text);
      id[name] = reply.body.id;
    };
    const nurlan = { gender: 'male', birthDate: '1985-03-14', telecom: [{ system: 'phone', value: '+7 701 555 12 34' }], address: [{ city: 'Алматы', line: ['Абай даңғылы, 12-үй, 5-пәтер'] }] };
    await create('nurlan', { ...nurlan, identifier: [{ system: IIN_SYSTEM, value: iin('1985-03-14', 'male') }], name: [{ family: 'Әбенов', given: ['Нұрлан', 'Асқарұлы'] }] });
    await create('nurlanLatin', { ...nurlan, name: [{ family: 'Abenov', given: ['Nurlan'] }], telecom: [{ system: 'phone', value: '87015551234' }] });
    await create('twin', { ...nurlan, identifier: [{ system: IIN_SYSTEM, value: iin('1985-03-14', 'male', 400) }], name: [{ family: 'Әбенов', given: ['Дәурен', 'Асқарұлы'] }] });
    const rustam = { gender: 'male', birthDate: '1990-05-15', identifier: [{ system: UZBEK_PINFL_SYSTEM, value: '31505900270017' }] };
    await create('rustam', { ...rustam, name: [{ family: 'Karimov', given: ['Rustam'] }] });
    await create('rustamCyrillic', { ...rustam, active: false, name: [{ family: 'Каримов', given: ['Рустам'] }] });
    await create('rustamAgain', { gender: 'male', birthDate: '1990-05-15', name: [{ family: 'Каримов', given: ['Рустам'] }], identifier: [{ system: 'http://hl7.org/fhir/sid/passport-UZB', value: 'FA1234567' }] });
    await create('stranger', { gender: 'female', birthDate: '1970-01-01', name: [{ family: 'Петрова', given: ['Анна'] }] });
  });
  after(() => server.close());

  test('a scan lists the pairs above the review threshold, a twin at most for review, with the evidence per field', async () => {
    const report = await scanDuplicates(new Repository(server.db, seedingAccess()));
    assert.equal(report.patients, 6, 'inactive records are not scanned');
    assert.ok(report.blocking.candidatePairs < report.blocking.allPairs);
    const list = await call(duplicatesOperation, 'GET');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const found = pairs(list);
    assert.ok(found.includes([id.nurlan, id.nurlanLatin].sort().join('+')), JSON.stringify(found));
    assert.ok(found.includes([id.rustam, id.rustamAgain].sort().join('+')), JSON.stringify(found));
    const grade = (c: any) => c.part.find((p: any) => p.name === 'grade').valueCode;
    const withTwin = list.body.parameter.filter((p: any) => p.name === 'candidate' && JSON.stringify(p).includes(id.twin!));
    assert.ok(withTwin.every((c: any) => grade(c) === 'probable'), 'a twin sharing phone, flat and birthday may be reviewed, never linked');
    assert.equal(grade(list.body.parameter[0]), 'certain', 'the same man across scripts, same phone');
    assert.ok(!found.some((p: string) => p.includes(id.stranger!)));

    const candidate = list.body.parameter.find((p: any) => p.name === 'candidate');
    assert.ok(['certain', 'probable'].includes(candidate.part.find((p: any) => p.name === 'grade').valueCode));
    const birthDate = candidate.part.filter((p: any) => p.name === 'evidence').find((e: any) => e.part[0].valueCode === 'birthDate');
    assert.equal(birthDate.part.find((p: any) => p.name === 'level').valueCode, 'exact');
    const text = birthDate.part.find((p: any) => p.name === 'text');
    assert.equal(text.valueString, 'Birth date: the same');
    const translations = Object.fromEntries(text._valueString.extension.map((t: any) => [t.extension[0].valueCode, t.extension[1].valueString]));
    assert.deepEqual(translations, { kk: 'Туған күні: сәйкес келеді', ru: 'Дата рождения: совпадает' });
  });

  test('pages follow the cursor', async () => {
    const first = await call(duplicatesOperation, 'GET', undefined, [['_count', '1']]);
    assert.equal(pairs(first).length, 1);
    const next = first.body.parameter.find((p: any) => p.name === 'next').valueString;
    const second = await call(duplicatesOperation, 'GET', undefined, [['_count', '1'], ['_cursor', next]]);
    assert.equal(pairs(second).length, 1);
    assert.notDeepEqual(pairs(first), pairs(second));
    assert.equal((await call(duplicatesOperation, 'GET', undefined, [['_cursor', 'nonsense']])).status, 400);
  });

  test('a rejected pair is never proposed again, even after another scan', async () => {
    const rejected = await call(rejectDuplicateOperation, 'POST', patients(id.rustam!, id.rustamAgain!));
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
    await duplicatesScan(server.db); // as `densaulyq duplicates scan` runs it
    const found = pairs(await call(duplicatesOperation, 'GET'));
    assert.ok(!found.includes([id.rustam, id.rustamAgain].sort().join('+')), JSON.stringify(found));
    assert.equal((await call(rejectDuplicateOperation, 'POST', patients(id.rustam!, id.rustamAgain!))).status, 422, 'already decided');
    assert.equal((await call(rejectDuplicateOperation, 'POST', patients(id.nurlan!, id.stranger!))).status, 404, 'not on the list');
  });

  test('confirming merges the pair into the record with the IIN, and the pair leaves the list', async () => {
    const confirmed = await call(confirmDuplicateOperation, 'POST', patients(id.nurlanLatin!, id.nurlan!));
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const latin = (await server.fhir('GET', `Patient/${id.nurlanLatin}`)).body;
    assert.equal(latin.active, false);
    assert.deepEqual(latin.link, [{ other: { reference: `Patient/${id.nurlan}` }, type: 'replaced-by' }]);
    await scanDuplicates(new Repository(server.db, seedingAccess()));
    const found = pairs(await call(duplicatesOperation, 'GET'));
    assert.ok(!found.some((p: string) => p.includes(id.nurlanLatin!)), JSON.stringify(found));
    assert.equal((await call(confirmDuplicateOperation, 'POST', patients(id.nurlanLatin!, id.nurlan!))).status, 422);
  });
});
