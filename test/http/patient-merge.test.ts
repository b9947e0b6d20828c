import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IIN_SYSTEM, buildIin } from '../../src/identity/iin.js';
import { mergeOperation, unmergeOperation } from '../../src/rest/merge.js';
import { validateResource } from '../../src/fhir/validate.js';
import { testDrivers } from '../support/database.js';
import { identityOperations } from '../support/identity-operations.js';
import { type TestServer, startTestServer } from '../support/server.js';

const iin = (birthDate: string, sex: 'male' | 'female', from = 1) => {
  for (let serial = from; ; serial++) {
    const value = buildIin({ birthDate, sex, serial });
    if (value) return value;
  }
};
const pair = (source: string, target: string, extra: object[] = []) => ({
  resourceType: 'Parameters',
  parameter: [
    { name: 'source-patient', valueReference: { reference: `Patient/${source}` } },
    { name: 'target-patient', valueReference: { reference: `Patient/${target}` } },
    ...extra,
  ],
});
const part = (reply: { body: any }, name: string) => reply.body.parameter.find((p: any) => p.name === name)?.resource;

for (const driver of testDrivers()) describe(`Patient/$merge and $unmerge (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let call: ReturnType<typeof identityOperations>;
  let serial = 1;
  before(async () => {
    server = await startTestServer(driver);
    call = identityOperations(server);
  });
  after(() => server.close());

  const create = async (resource: object): Promise<string> => {
    const reply = await server.fhir('POST', resource && (resource as any).resourceType, resource);
    assert.equal(reply.status, 201, reply.text);
    return reply.body.id;
  };
  const read = async (path: string) => (await server.fhir('GET', path)).body;
  const ids = async (path: string) => ((await read(path)).entry ?? []).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`).sort();

  /** The same man registered twice: with his IIN at the polyclinic, without it at the hospital. */
  const registerTwice = async () => {
    const erlanIin = iin('1979-11-02', 'male', serial);
    serial = Number(erlanIin.slice(7, 11)) + 1;
    const source = await create({
      resourceType: 'Patient',
      identifier: [{ system: IIN_SYSTEM, value: erlanIin }, { system: 'urn:oid:1.2.398.7.1', value: 'POLY-77' }],
      name: [{ family: 'Сейітов', given: ['Ерлан'] }],
      gender: 'male',
      birthDate: '1979-11-02',
    });
    const target = await create({ resourceType: 'Patient', name: [{ family: 'Seitov', given: ['Erlan'] }], gender: 'male', birthDate: '1979-11-02' });
    const encounter = await create({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${source}` } });
    const observation = await create({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'glucose' },
      subject: { reference: `Patient/${source}` },
      encounter: { reference: `Encounter/${encounter}` },
    });
    const versioned = await create({ resourceType: 'Condition', subject: { reference: `Patient/${source}/_history/1` }, code: { text: 'diabetes' } });
    const own = await create({ resourceType: 'Observation', status: 'final', code: { text: 'weight' }, subject: { reference: `Patient/${target}` } });
    const group = await create({ resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${source}` } }] });
    return { source, target, encounter, observation, versioned, own, group, erlanIin };
  };

  test('preview shows the outcome and changes nothing', async () => {
    const { source, target, observation } = await registerTwice();
    const reply = await call(mergeOperation, 'POST', pair(source, target, [{ name: 'preview', valueBoolean: true }]));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.match(part(reply, 'outcome').issue[0].details.text, /would move 4 resources/);
    assert.deepEqual(part(reply, 'result').link, [{ other: { reference: `Patient/${source}` }, type: 'replaces' }]);
    assert.equal((await read(`Observation/${observation}`)).subject.reference, `Patient/${source}`);
    assert.equal((await read(`Patient/${source}`)).active, undefined);
  });

  test('merge links the records, moves every reference, and the target compartment sees all data', async () => {
    const made = await registerTwice();
    const { source, target, erlanIin } = made;
    const reply = await call(mergeOperation, 'POST', pair(source, target));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(part(reply, 'input').resourceType, 'Parameters');

    const sourceNow = await read(`Patient/${source}`);
    assert.equal(sourceNow.active, false);
    assert.deepEqual(sourceNow.link, [{ other: { reference: `Patient/${target}` }, type: 'replaced-by' }]);
    const targetNow = await read(`Patient/${target}`);
    assert.deepEqual(targetNow.link, [{ other: { reference: `Patient/${source}` }, type: 'replaces' }]);
    assert.deepEqual(
      targetNow.identifier,
      [{ system: IIN_SYSTEM, value: erlanIin }, { system: 'urn:oid:1.2.398.7.1', value: 'POLY-77', use: 'old' }],
      'the IIN becomes the survivor’s own, other identifiers are kept as old',
    );

    const everything = await ids(`Patient/${target}/*?_count=100`);
    for (const moved of [`Encounter/${made.encounter}`, `Observation/${made.observation}`, `Condition/${made.versioned}`, `Observation/${made.own}`]) {
      assert.ok(everything.includes(moved), `${moved} in ${everything}`);
    }
    assert.deepEqual(await ids(`Observation?subject=Patient/${source}`), []);
    assert.deepEqual(await ids(`Observation?subject=Patient/${target}`), [`Observation/${made.observation}`, `Observation/${made.own}`].sort());
    assert.equal((await read(`Group/${made.group}`)).member[0].entity.reference, `Patient/${target}`);
    assert.equal((await read(`Condition/${made.versioned}`)).subject.reference, `Patient/${target}`);

    const records = await read(`Provenance?target=Patient/${source}`);
    assert.equal(records.entry.length, 1);
    const record = records.entry[0].resource;
    assert.equal(record.activity.coding[0].code, 'merge');
    assert.deepEqual(validateResource(record).filter((i) => i.severity === 'error'), []);
    assert.equal(record.target.length, 2 + 4, 'both Patients and the four moved resources');

    const again = await call(mergeOperation, 'POST', pair(source, target));
    assert.equal(again.status, 422);
    assert.equal(again.body.resourceType, 'OperationOutcome');
    assert.match(again.body.issue[0].details.text, /already merged/);
    const someone = await create({ resourceType: 'Patient', name: [{ family: 'Other' }] });
    assert.equal((await call(mergeOperation, 'POST', pair(someone, source))).status, 422, 'nothing merges into a merged record');

    const taken = await server.fhir('POST', 'Patient', { resourceType: 'Patient', identifier: [{ system: IIN_SYSTEM, value: erlanIin }] });
    assert.equal(taken.status, 409, 'the IIN now belongs to the survivor');
    assert.match(taken.body.issue[0].details.text, new RegExp(`Patient/${target}`));

    // unmerge puts it back; what changed since the merge stays
    await server.fhir('PUT', `Observation/${made.observation}`, {
      ...(await read(`Observation/${made.observation}`)),
      status: 'amended',
    });
    const later = await create({ resourceType: 'Observation', status: 'final', code: { text: 'pulse' }, subject: { reference: `Patient/${target}` } });
    const undone = await call(unmergeOperation, 'POST', pair(source, target));
    assert.equal(undone.status, 200, JSON.stringify(undone.body));
    const sourceBack = await read(`Patient/${source}`);
    assert.equal(sourceBack.active, undefined);
    assert.equal(sourceBack.link, undefined);
    const targetBack = await read(`Patient/${target}`);
    assert.equal(targetBack.link, undefined);
    assert.equal(targetBack.identifier, undefined);
    assert.deepEqual(await ids(`Observation?subject=Patient/${source}`), [`Observation/${made.observation}`]);
    assert.equal((await read(`Observation/${made.observation}`)).status, 'amended');
    assert.deepEqual(await ids(`Observation?subject=Patient/${target}`), [`Observation/${later}`, `Observation/${made.own}`].sort());
    assert.equal((await read(`Condition/${made.versioned}`)).subject.reference, `Patient/${source}/_history/1`);
    assert.equal((await read(`Group/${made.group}`)).member[0].entity.reference, `Patient/${source}`);
    assert.ok((await ids(`Patient/${source}/*`)).includes(`Encounter/${made.encounter}`));
    assert.equal((await server.fhir('POST', 'Patient', { resourceType: 'Patient', identifier: [{ system: IIN_SYSTEM, value: erlanIin }] })).status, 409);

    const twice = await call(unmergeOperation, 'POST', pair(source, target));
    assert.equal(twice.status, 422);
    assert.match(twice.body.issue[0].details.text, /not merged into/);
    const unmergeRecord = (await read(`Provenance?target=Patient/${source}&_sort=-_lastUpdated`)).entry[0].resource;
    assert.equal(unmergeRecord.activity.coding[0].code, 'unmerge');
  });

  test('two records carrying the same IIN merge, the inactive one as source', async () => {
    const value = iin('1990-01-20', 'female');
    const target = await create({ resourceType: 'Patient', identifier: [{ system: IIN_SYSTEM, value }], gender: 'female', birthDate: '1990-01-20' });
    const source = await create({ resourceType: 'Patient', active: false, identifier: [{ system: IIN_SYSTEM, value }], name: [{ family: 'Әлиева' }] });
    const reply = await call(mergeOperation, 'POST', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'source-patient', valueReference: { reference: `Patient/${source}` } },
        { name: 'target-patient-identifier', valueIdentifier: { system: IIN_SYSTEM, value } },
      ],
    });
    assert.equal(reply.status, 422, 'two Patients hold the IIN, so the identifier names neither alone');
    const merged = await call(mergeOperation, 'POST', pair(source, target));
    assert.equal(merged.status, 200, JSON.stringify(merged.body));
    assert.deepEqual(part(merged, 'result').identifier, [{ system: IIN_SYSTEM, value }]);
    const undone = await call(unmergeOperation, 'POST', pair(source, target));
    assert.equal(undone.status, 200, JSON.stringify(undone.body));
    assert.equal(part(undone, 'result').active, false);
  });

  test('result-patient replaces the target’s content; it must be the target', async () => {
    const source = await create({ resourceType: 'Patient', name: [{ family: 'Ким', given: ['Ольга'] }], birthDate: '1960-06-06' });
    const target = await create({ resourceType: 'Patient', name: [{ family: 'Kim', given: ['Olga'] }] });
    const wrong = await call(mergeOperation, 'POST', pair(source, target, [{ name: 'result-patient', resource: { resourceType: 'Patient', id: source } }]));
    assert.equal(wrong.status, 422);
    const reply = await call(mergeOperation, 'POST', pair(source, target, [{ name: 'result-patient', resource: { resourceType: 'Patient', id: target, name: [{ family: 'Kim', given: ['Olga'] }], birthDate: '1960-06-06' } }]));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const targetNow = await read(`Patient/${target}`);
    assert.equal(targetNow.birthDate, '1960-06-06');
    assert.deepEqual(targetNow.link, [{ other: { reference: `Patient/${source}` }, type: 'replaces' }]);
    await call(unmergeOperation, 'POST', pair(source, target));
    assert.equal((await read(`Patient/${target}`)).birthDate, undefined, 'untouched since the merge: the prior content comes back');
  });

  test('records without identifiers merge into a valid target', async () => {
    const source = await create({ resourceType: 'Patient', name: [{ family: 'Жоқ' }] });
    const target = await create({ resourceType: 'Patient', name: [{ family: 'Zhok' }] });
    const reply = await call(mergeOperation, 'POST', pair(source, target));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const targetNow = await read(`Patient/${target}`);
    assert.equal('identifier' in targetNow, false);
    assert.deepEqual(validateResource(targetNow).filter((i) => i.severity === 'error'), []);
  });

  test('a record with more resources than one include page moves whole', async () => {
    const source = await create({ resourceType: 'Patient', name: [{ family: 'Көп' }] });
    const target = await create({ resourceType: 'Patient', name: [{ family: 'Kop' }] });
    const entry = Array.from({ length: 1100 }, (_, i) => ({
      resource: { resourceType: 'Observation', status: 'final', code: { text: `reading ${i}` }, subject: { reference: `Patient/${source}` } },
      request: { method: 'POST', url: 'Observation' },
    }));
    assert.equal((await server.fhir('POST', '', { resourceType: 'Bundle', type: 'transaction', entry })).status, 200);
    const reply = await call(mergeOperation, 'POST', pair(source, target));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.match(part(reply, 'outcome').issue[0].details.text, /1100 resources moved/);
    assert.equal((await read(`Observation?subject=Patient/${target}&_summary=count`)).total, 1100);
    assert.equal((await read(`Observation?subject=Patient/${source}&_summary=count`)).total, 0);
  });

  test('only a caller who sees every record may merge', async () => {
    const source = await create({ resourceType: 'Patient', name: [{ family: 'Бір' }] });
    const target = await create({ resourceType: 'Patient', name: [{ family: 'Bir' }] });
    const clinician = identityOperations(server, { role: 'clinician', sub: 'doctor', client_id: 'mis', organization: 'clinic', scope: 'user/*.cruds' });
    assert.equal((await clinician(mergeOperation, 'POST', pair(source, target))).status, 403);
    assert.equal((await clinician(unmergeOperation, 'POST', pair(source, target))).status, 403);
  });

  test('bad requests are answered as OperationOutcomes', async () => {
    const someone = await create({ resourceType: 'Patient', name: [{ family: 'Bir' }] });
    assert.equal((await call(mergeOperation, 'POST', pair(someone, someone))).status, 422);
    assert.equal((await call(mergeOperation, 'POST', pair(someone, 'does-not-exist'))).status, 422);
    assert.equal((await call(mergeOperation, 'POST', { resourceType: 'Parameters' })).status, 400);
    assert.equal((await call(mergeOperation, 'POST', { resourceType: 'Patient' })).status, 400);
  });
});
