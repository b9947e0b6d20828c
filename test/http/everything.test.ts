/**
 * Patient/$everything (https://hl7.org/fhir/R4/patient-operation-everything.html): care dates,
 * _since, _type, paging that keeps every parameter, the Patient first, the resources outside any
 * compartment the record refers to, merged records, the type level, and large pages written
 * as they are serialized. Who sees what is the door's: tested here against the access world
 * (test/access/world.ts), as the authorization matrix does for every role.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mergeOperation } from '../../src/rest/merge.js';
import { unknownCareDates } from '../../src/rest/everything-dates.js';
import { testDrivers } from '../support/database.js';
import { identityOperations } from '../support/identity-operations.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';
import { FIXED, type Tokens, bearer, buildWorld, entryRefs, tokens } from '../access/world.js';

type Entry = { fullUrl?: string; resource?: { resourceType: string; id: string }; search?: { mode?: string } };

const refOf = (e: Entry) => `${e.resource!.resourceType}/${e.resource!.id}`;
const matches = (reply: FhirReply) => (reply.body.entry as Entry[]).filter((e) => e.search?.mode === 'match').map(refOf);
const includes = (reply: FhirReply) => (reply.body.entry as Entry[]).filter((e) => e.search?.mode === 'include').map(refOf).sort();
const nextOf = (reply: FhirReply) => (reply.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'next')?.url;
const below = (url: string) => url.slice(url.indexOf('/fhir/') + '/fhir/'.length);

test('every care date named is a date search parameter of its type', () => {
  assert.deepEqual(unknownCareDates(), []);
});

for (const driver of testDrivers()) describe(`Patient/$everything (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(driver);
  });
  after(() => server.close());

  const create = async (resource: { resourceType: string } & Record<string, unknown>): Promise<string> => {
    const reply = await server.fhir('POST', resource.resourceType, resource);
    assert.equal(reply.status, 201, reply.text);
    return reply.body.id;
  };
  const put = async (resource: { resourceType: string; id: string } & Record<string, unknown>) => {
    const reply = await server.fhir('PUT', `${resource.resourceType}/${resource.id}`, resource);
    assert.ok(reply.status < 300, reply.text);
  };
  const everything = async (path: string, headers?: Record<string, string>) => {
    const reply = await server.fhir('GET', path, undefined, headers);
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.body.type, 'searchset');
    return reply;
  };

  describe('one patient\'s record', () => {
    let patient: string;
    const ids: Record<string, string> = {};
    before(async () => {
      await put({ resourceType: 'Organization', id: 'ev-hospital', name: 'Городская больница №1', active: true });
      await put({ resourceType: 'Organization', id: 'ev-unrelated', name: 'Unrelated', active: true });
      await put({ resourceType: 'Practitioner', id: 'ev-doctor', name: [{ family: 'Нұрланова' }] });
      await put({ resourceType: 'PractitionerRole', id: 'ev-role', practitioner: { reference: 'Practitioner/ev-doctor' }, organization: { reference: 'Organization/ev-hospital' } });
      await put({ resourceType: 'Location', id: 'ev-ward', name: 'Терапия', managingOrganization: { reference: 'Organization/ev-hospital' } });
      await put({ resourceType: 'Medication', id: 'ev-metformin', code: { text: 'Metformin 500 mg' } });
      patient = await create({ resourceType: 'Patient', name: [{ family: 'Бекмуратова' }], birthDate: '1971-05-05', managingOrganization: { reference: 'Organization/ev-hospital' } });
      const subject = { reference: `Patient/${patient}` };
      ids.enc2019 = await create({
        resourceType: 'Encounter',
        status: 'finished',
        class: { code: 'IMP' },
        subject,
        period: { start: '2019-03-01', end: '2019-03-10' },
        location: [{ location: { reference: 'Location/ev-ward' } }],
      });
      ids.encSpanning = await create({ resourceType: 'Encounter', status: 'finished', class: { code: 'IMP' }, subject, period: { start: '2019-12-20', end: '2020-01-05' } });
      ids.obs2021 = await create({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'HbA1c' },
        subject,
        effectiveDateTime: '2021-06-01T09:00:00Z',
        performer: [{ reference: 'PractitionerRole/ev-role' }],
      });
      ids.obs2023 = await create({ resourceType: 'Observation', status: 'final', code: { text: 'HbA1c' }, subject, effectiveDateTime: '2023-02-01' });
      ids.conditionOnset2015 = await create({ resourceType: 'Condition', code: { text: 'Diabetes type 2' }, subject, onsetDateTime: '2015-04-01', recordedDate: '2020-06-01' });
      ids.conditionRecorded2020 = await create({ resourceType: 'Condition', code: { text: 'Hypertension' }, subject, recordedDate: '2020-06-01' });
      ids.conditionUndated = await create({ resourceType: 'Condition', code: { text: 'Penicillin allergy noted' }, subject });
      ids.prescription2020 = await create({
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        subject,
        medicationReference: { reference: 'Medication/ev-metformin' },
        authoredOn: '2020-02-02',
      });
      ids.device = await create({ resourceType: 'Device', patient: subject, deviceName: [{ name: 'Glucometer', type: 'user-friendly-name' }] });
    });
    const all = () => [
      `Patient/${patient}`,
      `Encounter/${ids.enc2019}`,
      `Encounter/${ids.encSpanning}`,
      `Observation/${ids.obs2021}`,
      `Observation/${ids.obs2023}`,
      `Condition/${ids.conditionOnset2015}`,
      `Condition/${ids.conditionRecorded2020}`,
      `Condition/${ids.conditionUndated}`,
      `MedicationRequest/${ids.prescription2020}`,
      `Device/${ids.device}`,
    ];

    test('the whole record in one searchset Bundle, the Patient first, with what it refers to outside any compartment', async () => {
      const reply = await everything(`Patient/${patient}/$everything`);
      assert.equal(matches(reply)[0], `Patient/${patient}`);
      assert.deepEqual([...matches(reply)].sort(), all().sort());
      // The Location's managing organization and the role's practitioner are followed too; the unrelated organization is not.
      assert.deepEqual(includes(reply), ['Location/ev-ward', 'Medication/ev-metformin', 'Organization/ev-hospital', 'Practitioner/ev-doctor', 'PractitionerRole/ev-role']);
      assert.equal(nextOf(reply), undefined);
    });

    test('start and end keep what was cared for in the range, by each type\'s care date; undated resources are always in', async () => {
      const reply = await everything(`Patient/${patient}/$everything?start=2020-01-01&end=2021-12-31`);
      assert.deepEqual([...matches(reply)].sort(), [
        `Patient/${patient}`,
        `Encounter/${ids.encSpanning}`,
        `Observation/${ids.obs2021}`,
        `Condition/${ids.conditionRecorded2020}`,
        `Condition/${ids.conditionUndated}`,
        `MedicationRequest/${ids.prescription2020}`,
        `Device/${ids.device}`,
      ].sort(), 'the 2019 stay, the 2023 result and the condition with a 2015 onset are out; the stay over new year is in');
      const onlyStart = await everything(`Patient/${patient}/$everything?start=2022`);
      assert.ok(matches(onlyStart).includes(`Observation/${ids.obs2023}`));
      assert.ok(!matches(onlyStart).includes(`Observation/${ids.obs2021}`));
      const onlyEnd = await everything(`Patient/${patient}/$everything?end=2019-06`);
      assert.ok(matches(onlyEnd).includes(`Encounter/${ids.enc2019}`));
      assert.ok(matches(onlyEnd).includes(`Condition/${ids.conditionOnset2015}`));
      assert.ok(!matches(onlyEnd).includes(`Encounter/${ids.encSpanning}`));
    });

    test('_type keeps those types; _since what changed since', async () => {
      const typed = await everything(`Patient/${patient}/$everything?_type=Observation&_type=Condition`);
      assert.deepEqual(
        [...matches(typed)].sort(),
        [`Observation/${ids.obs2021}`, `Observation/${ids.obs2023}`, `Condition/${ids.conditionOnset2015}`, `Condition/${ids.conditionRecorded2020}`, `Condition/${ids.conditionUndated}`].sort(),
      );
      const since = new Date().toISOString();
      await new Promise((resolve) => setTimeout(resolve, 5));
      const current = (await server.fhir('GET', `Observation/${ids.obs2023}`)).body;
      await put({ ...current, status: 'amended' });
      const changed = await everything(`Patient/${patient}/$everything?_since=${since}`);
      assert.deepEqual(matches(changed), [`Observation/${ids.obs2023}`]);
    });

    test('pages by _count, each next link keeping every parameter, together the whole record once', async () => {
      const first = await everything(`Patient/${patient}/$everything?_count=3&_type=Patient,Encounter,Observation,Condition,MedicationRequest,Device&start=2000`);
      assert.equal(matches(first)[0], `Patient/${patient}`, 'the Patient opens the record');
      const seen: string[] = [];
      let reply: FhirReply | undefined = first;
      for (let pages = 1; reply; pages++) {
        assert.ok(pages <= 5, 'at most four pages of three');
        assert.ok(matches(reply).length <= 3);
        seen.push(...matches(reply));
        const next = nextOf(reply);
        if (next) {
          const query = new URL(next).searchParams;
          assert.equal(query.get('_count'), '3');
          assert.equal(query.get('start'), '2000');
          assert.equal(query.get('_type'), 'Patient,Encounter,Observation,Condition,MedicationRequest,Device');
        }
        reply = next ? await everything(below(next)) : undefined;
      }
      assert.deepEqual([...seen].sort(), all().sort());
      assert.equal(new Set(seen).size, seen.length, 'no resource twice');
    });

    test('_summary and _elements shape each resource; _summary=count counts', async () => {
      const elements = await everything(`Patient/${patient}/$everything?_elements=id&_type=Condition`);
      for (const e of elements.body.entry as { resource: Record<string, unknown> }[]) assert.equal(e.resource.code, undefined);
      const count = await everything(`Patient/${patient}/$everything?_summary=count`);
      assert.equal(count.body.total, all().length);
      assert.equal(count.body.entry?.length ?? 0, 0);
    });

    test('bad input is a 400 naming the parameter', async () => {
      for (const [query, expression] of [
        ['start=yesterday', 'start'],
        ['end=2020-13', 'end'],
        ['_since=2020-01-01', '_since'],
        ['_type=Pateint', '_type'],
        ['_count=-1', '_count'],
        ['_summary=most', '_summary'],
        ['_cursor=not-a-cursor', '_cursor'],
        ['subject=x', 'subject'],
      ]) {
        const reply = await server.fhir('GET', `Patient/${patient}/$everything?${query}`);
        assert.equal(reply.status, 400, `${query}: ${reply.text}`);
        assert.equal(reply.body.resourceType, 'OperationOutcome');
        assert.deepEqual(reply.body.issue[0].expression, [expression], query);
      }
    });
  });

  test('a large record: 1,500 resources in one Bundle by default, written in pieces, and _count up to 10,000', async () => {
    const patient = await create({ resourceType: 'Patient', name: [{ family: 'Көпжазбалы' }] });
    const entry = Array.from({ length: 1500 }, (_, i) => ({
      request: { method: 'POST', url: 'Observation' },
      resource: { resourceType: 'Observation', status: 'final', code: { text: `glucose ${i}` }, subject: { reference: `Patient/${patient}` } },
    }));
    const written = await server.fhir('POST', '', { resourceType: 'Bundle', type: 'transaction', entry });
    assert.equal(written.status, 200, written.text.slice(0, 300));
    const reply = await everything(`Patient/${patient}/$everything`);
    assert.equal(reply.headers.get('transfer-encoding'), 'chunked', 'streamed, not sent as one string of known length');
    assert.equal(matches(reply).length, 1501);
    assert.equal(matches(reply)[0], `Patient/${patient}`);
    assert.equal(nextOf(reply), undefined);
    const paged = await everything(`Patient/${patient}/$everything?_count=1200`);
    assert.equal(matches(paged).length, 1200);
    const rest = await everything(below(nextOf(paged)!));
    assert.equal(matches(rest).length, 301);
    assert.equal(new Set([...matches(paged), ...matches(rest)]).size, 1501);
    const capped = await everything(`Patient/${patient}/$everything?_count=50000`);
    assert.equal(matches(capped).length, 1501, 'a _count above 10,000 is taken as 10,000');
  });

  describe('a merged record', () => {
    let source: string;
    let target: string;
    let later: string;
    let movedObservation: string;
    let lateLab: string;
    before(async () => {
      source = await create({ resourceType: 'Patient', name: [{ family: 'Сейітов', given: ['Ерлан'] }], birthDate: '1979-11-02' });
      target = await create({ resourceType: 'Patient', name: [{ family: 'Seitov', given: ['Erlan'] }], birthDate: '1979-11-02' });
      movedObservation = await create({ resourceType: 'Observation', status: 'final', code: { text: 'glucose' }, subject: { reference: `Patient/${source}` } });
      const merge = identityOperations(server);
      const pair = (from: string, into: string) => ({
        resourceType: 'Parameters',
        parameter: [
          { name: 'source-patient', valueReference: { reference: `Patient/${from}` } },
          { name: 'target-patient', valueReference: { reference: `Patient/${into}` } },
        ],
      });
      const merged = await merge(mergeOperation, 'POST', pair(source, target));
      assert.equal(merged.status, 200, JSON.stringify(merged.body));
      // The laboratory's system still knows the old id: its result arrives after the merge.
      lateLab = await create({ resourceType: 'DiagnosticReport', status: 'final', code: { text: 'Lipid panel' }, subject: { reference: `Patient/${source}` } });
      // And the survivor is merged in turn into a third record.
      later = await create({ resourceType: 'Patient', name: [{ family: 'Сейітов', given: ['Ерлан', 'Б.'] }], birthDate: '1979-11-02' });
      assert.equal((await merge(mergeOperation, 'POST', pair(target, later))).status, 200);
    });

    test('on the survivor: every Patient it replaced, transitively, and what still refers to them', async () => {
      const reply = await everything(`Patient/${later}/$everything`);
      const refs = matches(reply);
      assert.equal(refs[0], `Patient/${later}`, 'the survivor first');
      for (const ref of [`Patient/${target}`, `Patient/${source}`, `Observation/${movedObservation}`, `DiagnosticReport/${lateLab}`]) assert.ok(refs.includes(ref), `${ref} in ${refs}`);
    });

    test('on a replaced Patient: the survivor\'s record, saying so', async () => {
      const reply = await everything(`Patient/${source}/$everything`);
      assert.deepEqual([...matches(reply)].sort(), [...matches(await everything(`Patient/${later}/$everything`))].sort());
      const notice = (reply.body.entry as { search?: { mode?: string }; resource?: { issue?: { diagnostics?: string }[] } }[]).find((e) => e.search?.mode === 'outcome');
      assert.match(notice?.resource?.issue?.[0]?.diagnostics ?? '', new RegExp(`merged into Patient/${later}`));
    });
  });

  describe('through the door (the access world)', () => {
    let t: Tokens;
    before(async () => {
      t = await tokens(server);
      await buildWorld(server, t);
    });
    const as = (actor: keyof Tokens, path: string) => server.fhir('GET', path, undefined, bearer(t[actor]));

    test('a clinician sees the record of a patient in their care, not of one outside it', async () => {
      const p1 = await as('clinicianA', 'Patient/p1/$everything');
      assert.equal(p1.status, 200);
      assert.ok(entryRefs(p1.body).includes('Observation/obs-p1'));
      const p3 = await as('clinicianA', 'Patient/p3/$everything');
      assert.deepEqual(entryRefs(p3.body), []);
      // Narrowed by care dates, every type's share carries the door's condition.
      const dated = await as('clinicianA', 'Patient/p1/$everything?start=2000&end=2100');
      assert.equal(dated.status, 200, dated.text);
      assert.ok(entryRefs(dated.body).includes('Observation/obs-p1'), 'an undated Observation is always in');
      assert.deepEqual(entryRefs((await as('clinicianA', 'Patient/p3/$everything?start=2000')).body), []);
    });

    test('break-glass opens the record for the clinician who broke it', async () => {
      const token = await server.token({ sub: 'clinician-a-ev', client_id: 'mis-a', scope: 'user/*.cruds', role: 'clinician', organization: 'org-a' });
      const headers = bearer(token);
      assert.deepEqual(entryRefs((await server.fhir('GET', 'Patient/p3/$everything', undefined, headers)).body), []);
      const grant = await server.fhir('POST', 'Patient/p3/$break-glass', { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'Unconscious in the emergency room' }] }, headers);
      assert.equal(grant.status, 200, grant.text);
      const after = entryRefs((await server.fhir('GET', 'Patient/p3/$everything', undefined, headers)).body);
      for (const ref of ['Patient/p3', 'Observation/obs-p3', `Encounter/${FIXED.encP3}`]) assert.ok(after.includes(ref), `${ref} in ${after}`);
    });

    test('GET Patient/$everything: a citizen gets their own record and their child\'s, not an adult relative\'s', async () => {
      const reply = await as('citizenP1', 'Patient/$everything');
      assert.equal(reply.status, 200, reply.text);
      const refs = entryRefs(reply.body);
      for (const ref of ['Patient/p1', 'Observation/obs-p1', 'Patient/k', 'Observation/obs-k']) assert.ok(refs.includes(ref), `${ref} in ${refs}`);
      assert.ok(!refs.includes('Patient/a18') && !refs.includes('Observation/obs-a18'));
      assert.ok(!refs.some((ref) => ref.endsWith('/p3') || ref === 'Observation/obs-p3'));
      assert.equal((reply.body.entry as Entry[])[0]!.resource!.resourceType, 'Patient');
    });

    test('GET Patient/$everything by anyone else is refused, saying what to do instead', async () => {
      for (const actor of ['clinicianA', 'adminClinical', 'publicHealth'] as const) {
        const reply = await as(actor, 'Patient/$everything');
        assert.equal(reply.status, 403, `${actor}: ${reply.text}`);
        assert.equal(reply.body.resourceType, 'OperationOutcome');
        assert.match(reply.body.issue[0].diagnostics ?? reply.body.issue[0].details?.text, /Patient\/\[id\]\/\$everything/);
      }
    });
  });
});
