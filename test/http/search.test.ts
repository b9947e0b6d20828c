import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const LOINC = 'http://loinc.org';

for (const driver of testDrivers()) describe(`search: chains, _has, includes, sorting, paging, totals (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  const id: Record<string, string> = {};
  const create = async (key: string, resource: object) => {
    const reply = await server.fhir('POST', (resource as { resourceType: string }).resourceType, resource);
    assert.equal(reply.status, 201, reply.text);
    id[key] = reply.body.id;
    return reply.body.id as string;
  };
  const ids = (reply: { body: any }, mode = 'match') =>
    (reply.body.entry ?? []).filter((e: any) => e.search.mode === mode).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);
  const ref = (key: string, type: string) => `${type}/${id[key]}`;
  const search = async (path: string) => {
    const reply = await server.fhir('GET', path);
    assert.equal(reply.status, 200, reply.text);
    return reply;
  };

  before(async () => {
    server = await startTestServer(driver);
    await create('almaty', { resourceType: 'Organization', name: 'Алматы қалалық емханасы' });
    await create('astana', { resourceType: 'Organization', name: 'Астана' });
    await create('galym', { resourceType: 'Patient', name: [{ family: 'Әбенов', given: ['Ғалым'] }], gender: 'male', birthDate: '1980-05-01', managingOrganization: { reference: `Organization/${id.almaty}` } });
    await create('nurlan', { resourceType: 'Patient', name: [{ family: 'Сейтқали', given: ['Нұрлан'] }], gender: 'female', birthDate: '1990-01-01', managingOrganization: { reference: `Organization/${id.astana}` } });
    await create('third', { resourceType: 'Patient', name: [{ family: 'Иванова' }], gender: 'female' });
    await create('visit1', { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${id.galym}` } });
    await create('visit2', { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${id.nurlan}` } });
    const observation = (patient: string, code: string, value: number, date: string, encounter?: string) => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: LOINC, code }] },
      subject: { reference: `Patient/${id[patient]}` },
      ...(encounter ? { encounter: { reference: `Encounter/${id[encounter]}` } } : {}),
      effectiveDateTime: date,
      valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    await create('pulse1', observation('galym', '8867-4', 70, '2024-01-10', 'visit1'));
    await create('pulse2', observation('galym', '8867-4', 90, '2024-02-10'));
    await create('glucose', observation('nurlan', '2345-7', 5, '2023-12-01', 'visit2'));
  });
  after(() => server.close());

  test('a chain follows a reference, with and without a type modifier, two levels deep', async () => {
    assert.deepEqual(ids(await search('Observation?subject:Patient.name=ғали')).sort(), [ref('pulse1', 'Observation'), ref('pulse2', 'Observation')].sort());
    assert.deepEqual(ids(await search('Observation?subject.name=ГАЛИ')).length, 2);
    assert.deepEqual(ids(await search('Observation?patient.organization.name=астана')), [ref('glucose', 'Observation')]);
    assert.deepEqual(ids(await search('Encounter?subject.gender=female')), [ref('visit2', 'Encounter')]);
    assert.deepEqual(ids(await search('Observation?subject:Patient.name=nobody')), []);
  });

  test('name and address match any of their parts by prefix', async () => {
    const aliya = await create('aliya', {
      resourceType: 'Patient',
      name: [{ given: ['Әлия'], family: 'Ғалымова' }],
      address: [{ line: ['Абай даңғылы, 10'], city: 'Алматы', postalCode: '050000' }],
    });
    assert.deepEqual(ids(await search(`Patient?name=галымова&_id=${aliya}`)), [`Patient/${aliya}`]);
    assert.deepEqual(ids(await search(`Patient?name=әлия ғ&_id=${aliya}`)), [`Patient/${aliya}`], 'the whole name too');
    assert.deepEqual(ids(await search(`Patient?address=алматы&_id=${aliya}`)), [`Patient/${aliya}`]);
    assert.deepEqual(ids(await search(`Patient?address=050&_id=${aliya}`)), [`Patient/${aliya}`]);
    assert.deepEqual(ids(await search(`Patient?name=айгерім&_id=${aliya}`)), []);
    await server.fhir('DELETE', `Patient/${aliya}`);
  });

  test('_has finds what is referred to, nested too', async () => {
    assert.deepEqual(ids(await search(`Patient?_has:Observation:patient:code=${LOINC}|2345-7`)), [ref('nurlan', 'Patient')]);
    assert.deepEqual(ids(await search('Patient?_has:Encounter:subject:_has:Observation:encounter:code=8867-4')), [ref('galym', 'Patient')]);
    assert.deepEqual(ids(await search('Patient?_has:Observation:patient:code=0000-0')), []);
  });

  test('_include adds referenced resources once, marked include; :iterate follows them further', async () => {
    const reply = await search('Observation?code=8867-4&_include=Observation:patient');
    assert.equal(ids(reply).length, 2);
    assert.deepEqual(ids(reply, 'include'), [ref('galym', 'Patient')]);
    const iterated = await search(`Observation?_id=${id.pulse1}&_include=Observation:patient&_include:iterate=Patient:organization`);
    assert.deepEqual(ids(iterated, 'include').sort(), [ref('galym', 'Patient'), ref('almaty', 'Organization')].sort());
    const typed = await search(`Observation?_id=${id.pulse1}&_include=Observation:encounter:Encounter`);
    assert.deepEqual(ids(typed, 'include'), [ref('visit1', 'Encounter')]);
    const all = await search(`Observation?_id=${id.pulse1}&_include=*`);
    assert.deepEqual(ids(all, 'include').sort(), [ref('galym', 'Patient'), ref('visit1', 'Encounter')].sort());
  });

  test('_revinclude adds what refers to the matches', async () => {
    const reply = await search(`Patient?_id=${id.galym}&_revinclude=Observation:patient&_revinclude=Encounter:subject`);
    assert.deepEqual(ids(reply), [ref('galym', 'Patient')]);
    assert.deepEqual(ids(reply, 'include').sort(), [ref('pulse1', 'Observation'), ref('pulse2', 'Observation'), ref('visit1', 'Encounter')].sort());
  });

  test('_sort orders by parameters, several keys, descending with -; missing values sort last', async () => {
    assert.deepEqual(ids(await search('Observation?_sort=date')), [ref('glucose', 'Observation'), ref('pulse1', 'Observation'), ref('pulse2', 'Observation')]);
    assert.deepEqual(ids(await search('Observation?_sort=-date')), [ref('pulse2', 'Observation'), ref('pulse1', 'Observation'), ref('glucose', 'Observation')]);
    assert.deepEqual(ids(await search('Observation?_sort=code,-value-quantity')), [ref('glucose', 'Observation'), ref('pulse2', 'Observation'), ref('pulse1', 'Observation')]);
    const byBirth = ids(await search('Patient?_sort=birthdate'));
    assert.deepEqual(byBirth, [ref('galym', 'Patient'), ref('nurlan', 'Patient'), ref('third', 'Patient')]);
    const byBirthDown = ids(await search('Patient?_sort=-birthdate'));
    assert.deepEqual(byBirthDown, [ref('nurlan', 'Patient'), ref('galym', 'Patient'), ref('third', 'Patient')]);
  });

  test('paging with next links visits every match once, in order, also with _sort and missing values', async () => {
    for (const sort of ['', '&_sort=-birthdate', '&_sort=family', '&_sort=-_lastUpdated']) {
      const all = ids(await search(`Patient?_count=100${sort}`));
      const paged: string[] = [];
      let reply = await search(`Patient?_count=1${sort}`);
      for (;;) {
        paged.push(...ids(reply));
        const next = reply.body.link.find((l: any) => l.relation === 'next');
        if (!next) break;
        reply = await search(next.url.replace(server.base, ''));
      }
      assert.deepEqual(paged, all, sort);
      assert.equal(all.length, 3);
    }
  });

  test('_total=accurate counts, estimate estimates, _summary=count returns only the count', async () => {
    assert.equal((await search('Observation?code=8867-4&_total=accurate')).body.total, 2);
    const estimate = (await search('Observation?_total=estimate')).body.total;
    assert.equal(typeof estimate, 'number');
    const count = await search('Observation?code=8867-4&_summary=count');
    assert.equal(count.body.total, 2);
    assert.equal(count.body.entry.length, 0);
    assert.equal((await search('Observation?code=8867-4')).body.total, undefined, '_total is opt-in');
  });

  test('unknown parameters are a 400, or ignored and left out of self with handling=lenient', async () => {
    const strict = await server.fhir('GET', 'Patient?nonsense=1');
    assert.equal(strict.status, 400);
    assert.equal(strict.body.resourceType, 'OperationOutcome');
    const lenient = await server.fhir('GET', 'Patient?nonsense=1&gender=female', undefined, { prefer: 'handling=lenient' });
    assert.equal(lenient.status, 200);
    const self = lenient.body.link.find((l: any) => l.relation === 'self').url;
    assert.match(self, /gender=female/);
    assert.doesNotMatch(self, /nonsense/);
    assert.equal((await server.fhir('GET', 'Patient?gender.name=x')).status, 400, 'gender is no reference to chain');
    assert.equal((await server.fhir('GET', 'Patient?_has:Observation:code:code=x')).status, 400, '_has needs a reference parameter');
    assert.equal((await server.fhir('GET', 'Patient?_sort=nonsense')).status, 400);
    assert.equal((await server.fhir('GET', 'Observation?_include=Patient:organization')).status, 400, '_include from another type needs :iterate');
  });

  test('_list finds the items of a List', async () => {
    const list = await create('list', {
      resourceType: 'List',
      status: 'current',
      mode: 'working',
      entry: [{ item: { reference: `Patient/${id.nurlan}` } }, { item: { reference: `Observation/${id.pulse1}` } }],
    });
    assert.deepEqual(ids(await search(`Patient?_list=${list}`)), [ref('nurlan', 'Patient')]);
    assert.deepEqual(ids(await search(`Observation?_list=${list}`)), [ref('pulse1', 'Observation')]);
    assert.deepEqual(ids(await search(`Patient?_list=no-such-list`)), []);
  });

  test('_text searches the narrative and _content all text, in Cyrillic too', async () => {
    const condition = await create('diabetes', {
      resourceType: 'Condition',
      subject: { reference: `Patient/${id.galym}` },
      code: { text: 'ҚАНТ ДИАБЕТІ, 2 типі' },
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Науқас <b>инсулин</b> алады</p></div>' },
    });
    const found = async (query: string) => ids(await search(`Condition?${query}`));
    assert.deepEqual(await found('_content=қант'), [`Condition/${condition}`]);
    assert.deepEqual(await found('_content=КАНТ диабети'), [`Condition/${condition}`], 'words are ANDed, Kazakh letters fold');
    assert.deepEqual(await found('_content=қант туберкулез'), []);
    assert.deepEqual(await found('_content=туберкулез OR қант'), [`Condition/${condition}`]);
    assert.deepEqual(await found('_text=инсулин'), [`Condition/${condition}`]);
    assert.deepEqual(await found('_text=қант'), [], 'the code is not in the narrative');
    await server.fhir('PUT', `Condition/${condition}`, { resourceType: 'Condition', id: condition, subject: { reference: `Patient/${id.galym}` }, code: { text: 'гипертония' } });
    assert.deepEqual(await found('_content=қант'), [], 'an update replaces the words');
  });

  test('compartment search: Patient/[id]/[type] and Patient/[id]/* stay inside the patient\'s record', async () => {
    assert.deepEqual(ids(await search(`Patient/${id.galym}/Observation?code=8867-4`)).sort(), [ref('pulse1', 'Observation'), ref('pulse2', 'Observation')].sort());
    assert.deepEqual(ids(await search(`Patient/${id.nurlan}/Observation?code=8867-4`)), []);
    const everything = ids(await search(`Patient/${id.nurlan}/*`)).sort();
    assert.deepEqual(everything, [ref('nurlan', 'Patient'), ref('visit2', 'Encounter'), ref('glucose', 'Observation')].sort());
    assert.deepEqual(ids(await search(`Patient/${id.nurlan}/*?_type=Encounter`)), [ref('visit2', 'Encounter')]);
    assert.equal((await server.fhir('GET', `Encounter/${id.visit1}/Observation`)).status, 400, 'only the Patient compartment');
    assert.equal((await server.fhir('GET', `Patient/${id.galym}/Nonsense`)).status, 404);
  });

  test('system search across the types in _type, and by _id/_lastUpdated alone across all types', async () => {
    const both = ids(await search(`?_type=Patient,Organization&_id=${id.galym},${id.astana},${id.pulse1}`)).sort();
    assert.deepEqual(both, [ref('galym', 'Patient'), ref('astana', 'Organization')].sort());
    const named = ids(await search('?_type=Patient,Organization&name=астана'));
    assert.deepEqual(named, [ref('astana', 'Organization')]);
    assert.deepEqual(ids(await search(`?_id=${id.pulse1}`)), [ref('pulse1', 'Observation')]);
    assert.equal((await server.fhir('GET', '?name=x')).status, 400, 'a typed parameter needs _type');
    assert.equal((await server.fhir('GET', '?_type=Patient,Observation&gender=male')).status, 400, 'gender is not defined on Observation');
  });

  test('POST _search takes form parameters', async () => {
    const reply = await server.fhir('POST', 'Patient/_search', 'gender=female&_sort=birthdate', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(reply.status, 200);
    assert.deepEqual(ids(reply), [ref('nurlan', 'Patient'), ref('third', 'Patient')]);
  });
});
