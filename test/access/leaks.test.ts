/**
 * No leaks (issue 5, item 4): the clinician of organization A may not see patient P3 (attached to
 * B; A's only encounter with P3 is finished). Every side channel the issue lists is tried here —
 * _include, _revinclude, chains, _has, _list, _total and _summary=count, history, $everything,
 * bulk export, conditional operations and their error messages, 404 versus 403 and its timing —
 * and nothing of P3 may show. Each probe that expects nothing is paired with a control by a
 * caller who does see P3 (clinician of B, or the administrator with clinical access), so a probe
 * that finds nothing because it is broken cannot pass as a probe that found nothing because the
 * door held.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';
import {
  COMMON_CODE,
  FAMILY,
  FIXED,
  IIN,
  OBSERVATION_IDS,
  P3_ONLY_CODE,
  type Actor,
  type Tokens,
  type World,
  bearer,
  buildWorld,
  entryRefs,
  finishExport,
  forgedAuditEvent,
  tokens,
} from './world.js';

/** What of P3 exists in the world (besides the Device, see its own test). */
const P3_REFS = ['Patient/p3', 'Observation/obs-p3', `Condition/${FIXED.condP3}`, `Encounter/${FIXED.encP3}`];
const enc = encodeURIComponent;

for (const driver of testDrivers()) describe(`no leaks of P3 to the clinician of A (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let tok: Tokens;
  let world: World;

  before(async () => {
    server = await startTestServer(driver);
    tok = await tokens(server);
    world = await buildWorld(server, tok);
  });
  after(() => server?.close());

  const as = (actor: Actor, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    server.fhir(method, path, body, { ...bearer(tok[actor]), ...headers });
  const A = (path: string) => as('clinicianA', 'GET', path);
  const refsOf = async (actor: Actor, path: string) => {
    const reply = await as(actor, 'GET', path);
    assert.equal(reply.status, 200, `${path}: ${reply.text}`);
    return entryRefs(reply.body);
  };
  const noneOfP3 = (refs: string[], what: string) => assert.deepEqual(refs.filter((r) => P3_REFS.includes(r)), [], `${what} shows P3's data`);
  /** The Observation as the administrator with clinical access sees it now. */
  const truth = async (ref: string) => as('adminClinical', 'GET', ref);
  /** An OperationOutcome with the ids in its text replaced, to compare two answers' shapes. */
  const shape = (reply: FhirReply, ...ids: string[]) => {
    let text = reply.text;
    for (const id of ids) text = text.split(id).join('<id>');
    return { status: reply.status, body: JSON.parse(text) as unknown };
  };

  test('_include does not follow references to P3, nor to an item P7 hid from A', async () => {
    // enc-p2 (A's active encounter with P2) gives as its reason P3's Condition; enc-p7 gives B's hidden HIV result.
    const path = `Encounter?_id=${FIXED.encP2},${FIXED.encP7}&_include=Encounter:reason-reference`;
    assert.deepEqual(await refsOf('clinicianA', path), [`Encounter/${FIXED.encP2}`, `Encounter/${FIXED.encP7}`]);
    assert.deepEqual(await refsOf('adminClinical', path), [`Condition/${FIXED.condP3}`, `Encounter/${FIXED.encP2}`, `Encounter/${FIXED.encP7}`, `Observation/${world.obsP7HivB}`].sort());
    // obs-p1 derives from obs-p3; iterate over the includes too.
    const derived = 'Observation?_id=obs-p1&_include=Observation:derived-from&_include:iterate=Observation:subject';
    assert.deepEqual(await refsOf('clinicianA', derived), ['Observation/obs-p1', 'Patient/p1']);
    assert.deepEqual(await refsOf('adminClinical', derived), ['Observation/obs-p1', 'Observation/obs-p3', 'Patient/p1', 'Patient/p3']);
    // A's own List names obs-p1 and obs-p3.
    assert.deepEqual(await refsOf('clinicianA', `List?_id=${world.listA}&_include=List:item`), [`List/${world.listA}`, 'Observation/obs-p1']);
    // The wildcard.
    noneOfP3(await refsOf('clinicianA', `Encounter?_id=${FIXED.encP2}&_include=*`), 'Encounter _include=*');
  });

  test('_revinclude on visible resources adds no invisible ones', async () => {
    const refs = await refsOf('clinicianA', 'Patient?_revinclude=Observation:subject&_count=100');
    noneOfP3(refs, 'Patient _revinclude');
    assert.ok(!refs.includes(`Observation/${world.obsP7HivB}`), 'B\'s HIV result, hidden by P7\'s consent, was revincluded');
    assert.ok(refs.includes(`Observation/${world.obsP7HivA}`), 'A\'s own HIV result of P7 stays visible to A');
    const org = 'Organization?_id=org-a&_revinclude=Encounter:service-provider';
    assert.deepEqual(await refsOf('clinicianA', org), [`Encounter/${FIXED.encP2}`, `Encounter/${FIXED.encP7}`, 'Organization/org-a']);
    assert.ok((await refsOf('clinicianB', org)).includes(`Encounter/${FIXED.encP3}`), 'control: B sees P3\'s encounter at A');
    noneOfP3(await refsOf('clinicianA', 'Organization?_id=org-a,org-b&_revinclude=*'), 'Organization _revinclude=*');
    noneOfP3(await refsOf('clinicianA', `Practitioner?_revinclude=*&_count=100`), 'Practitioner _revinclude=*');
  });

  test('chained parameters cannot match through P3', async () => {
    const byName = `Observation?subject.name=${enc(FAMILY.p3)}`;
    const byIin = `Observation?subject:Patient.identifier=${enc(`${IIN_SYSTEM}|${IIN.p3}`)}`;
    const encounterByName = `Encounter?patient.family=${enc(FAMILY.p3)}`;
    for (const path of [byName, byIin, encounterByName]) {
      assert.deepEqual(await refsOf('clinicianA', path), [], path);
      assert.notDeepEqual(await refsOf('clinicianB', path), [], `control: ${path} finds P3's data for B`);
    }
    const counted = await A(`${byIin}&_total=accurate`);
    assert.equal(counted.body.total, 0);
    // Chained the other way round, through the organization: still only A's visible patients.
    assert.deepEqual(await refsOf('clinicianA', `Patient?general-practitioner.name=${enc('Organization B')}`), ['Patient/p2']);
  });

  test('_has cannot match through P3, nor through an item hidden from A', async () => {
    const probes: [string, string[]][] = [
      [`Patient?_has:Observation:subject:code=${P3_ONLY_CODE}`, ['Patient/p3']],
      [`Organization?_has:Encounter:service-provider:patient=p3`, ['Organization/org-a']],
      [`Organization?_has:Patient:general-practitioner:_has:Observation:subject:code=${P3_ONLY_CODE}`, ['Organization/org-b']],
      [`Practitioner?_has:ServiceRequest:requester:subject=p5`, [`Practitioner/${FIXED.prB}`]],
    ];
    for (const [path, seenByAdministrator] of probes) {
      assert.deepEqual(await refsOf('clinicianA', path), [], path);
      assert.deepEqual(await refsOf('adminClinical', path), seenByAdministrator, `control: ${path}`);
    }
    const hidden = `Patient?_has:Observation:subject:identifier=${enc(`${OBSERVATION_IDS}|obs-p7-hiv-b`)}`;
    assert.deepEqual(await refsOf('clinicianA', hidden), [], 'P7 found through the HIV result P7 hid from A');
    assert.deepEqual(await refsOf('adminClinical', hidden), ['Patient/p7']);
    const own = `Patient?_has:Observation:subject:identifier=${enc(`${OBSERVATION_IDS}|obs-p7-hiv-a`)}`;
    assert.deepEqual(await refsOf('clinicianA', own), ['Patient/p7'], 'A\'s own hidden-category item stays usable to A');
  });

  test('_list shows only the visible items of a visible List', async () => {
    assert.deepEqual(await refsOf('clinicianA', `Observation?_list=${world.listA}`), ['Observation/obs-p1']);
    assert.deepEqual(await refsOf('adminClinical', `Observation?_list=${world.listA}`), ['Observation/obs-p1', 'Observation/obs-p3']);
    assert.deepEqual(await refsOf('clinicianA', `Observation?_list=${world.listAdmin}`), [], 'a List A may not see');
    assert.deepEqual(await refsOf('clinicianA', `Observation?_list=no-such-list`), []);
  });

  test('_total=accurate and _summary=count count the visible entries only', async () => {
    for (const type of ['Observation', 'Patient', 'Condition', 'Encounter']) {
      const page = await A(`${type}?_total=accurate&_count=1000`);
      assert.equal(page.status, 200);
      noneOfP3(entryRefs(page.body), type);
      assert.equal(page.body.total, page.body.entry.length, `${type}: _total`);
      const count = await A(`${type}?_summary=count`);
      assert.equal(count.body.total, page.body.entry.length, `${type}: _summary=count`);
      const zero = await A(`${type}?_count=0&_total=accurate`);
      assert.equal(zero.body.total, page.body.entry.length, `${type}: _count=0`);
    }
    for (const path of [`Observation?code=${P3_ONLY_CODE}`, 'Observation?subject=p3', 'Observation?patient=Patient/p3', 'Patient?_id=p3', `Patient?identifier=${enc(`${IIN_SYSTEM}|${IIN.p3}`)}`]) {
      assert.equal((await A(`${path}&_summary=count`)).body.total, 0, path);
      assert.equal((await as('clinicianB', 'GET', `${path}&_summary=count`)).body.total, 1, `control: ${path}`);
    }
    assert.equal((await A('Patient/p3/Observation?_summary=count')).body.total, 0);
  });

  test('history (instance, type, system) shows none of P3\'s versions', async () => {
    const instance = await A('Observation/obs-p3/_history');
    const unknown = await A('Observation/never-used/_history');
    assert.equal(instance.status, 404);
    assert.deepEqual(shape(instance, 'obs-p3'), shape(unknown, 'never-used'));
    assert.equal((await A('Patient/p3/_history')).status, 404);
    assert.equal((await A('Observation/obs-p3/_history/1')).status, 404);
    noneOfP3(await refsOf('clinicianA', 'Observation/_history?_count=1000'), 'type history');
    noneOfP3(await refsOf('clinicianA', 'Patient/_history?_count=1000'), 'Patient type history');
    noneOfP3(await refsOf('clinicianA', '_history?_count=1000'), 'system history');
    noneOfP3(await refsOf('clinicianA', `_history?_count=1000&_at=${new Date().toISOString()}`), 'system history _at');
    noneOfP3(await refsOf('clinicianA', '_history?_count=1000&_since=2000-01-01'), 'system history _since');
    assert.ok((await refsOf('adminClinical', '_history?_count=1000')).includes('Observation/obs-p3'), 'control');
  });

  test('$everything on P3 answers as for an unknown patient, with nothing in it', async () => {
    const p3 = await A('Patient/p3/$everything');
    const unknown = await A('Patient/nobody/$everything');
    assert.equal(p3.status, unknown.status);
    assert.deepEqual(entryRefs(p3.body), []);
    assert.deepEqual(entryRefs(unknown.body), []);
    assert.deepEqual(await refsOf('clinicianA', 'Patient/p3/*'), []);
    assert.deepEqual(await refsOf('clinicianA', 'Patient/p3/$everything?_type=Observation,Condition'), []);
    // The control sees P3's record, their pacemaker and the organizations it refers to.
    assert.deepEqual(await refsOf('clinicianB', 'Patient/p3/$everything'), [...P3_REFS, `Device/${FIXED.devP3}`, 'Organization/org-a', 'Organization/org-b'].sort(), 'control');
  });

  test('bulk export: the clinician\'s files hold exactly what the clinician may see', async () => {
    const types = ['Patient', 'Observation', 'Condition', 'Encounter'];
    const visible = (await Promise.all(types.map((t) => refsOf('clinicianA', `${t}?_count=1000`)))).flat().sort();
    const headers = { ...bearer(tok.clinicianA), prefer: 'respond-async' };
    const system = await finishExport(server, await server.fhir('GET', `$export?_type=${types.join(',')}`, undefined, headers), headers);
    assert.deepEqual(system.refs, visible);
    noneOfP3(system.refs, 'system export');
    const patients = await finishExport(server, await server.fhir('GET', `Patient/$export?_type=${types.join(',')}`, undefined, headers), headers);
    assert.deepEqual(patients.refs, visible);
    // A Group of P1 and P3 (in P1's compartment, so A may write and read it): P1's data only.
    const group = await as('clinicianA', 'POST', 'Group', {
      resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p1' } }, { entity: { reference: 'Patient/p3' } }],
    });
    assert.equal(group.status, 201, group.text);
    const members = await finishExport(server, await server.fhir('GET', `Group/${group.body.id}/$export?_type=Observation,Condition,Patient`, undefined, headers), headers);
    assert.deepEqual(members.refs, (await refsOf('clinicianA', 'Observation?subject=p1,p3')).concat(await refsOf('clinicianA', 'Condition?subject=p1,p3'), ['Patient/p1']).sort());
  });

  test('another caller\'s export job is, to them, not there', async () => {
    const headers = { ...bearer(tok.clinicianB), prefer: 'respond-async' };
    const job = await finishExport(server, await server.fhir('GET', '$export?_type=Observation', undefined, headers), headers);
    assert.ok(job.refs.includes('Observation/obs-p3'), 'control: B exports P3\'s Observation');
    const unknownStatus = await A('$export-status/00000000-0000-4000-8000-000000000000');
    assert.equal(unknownStatus.status, 404);
    for (const actor of ['clinicianA', 'systemA', 'citizenP3', 'adminClinical'] as const) {
      const status = await as(actor, 'GET', job.statusPath);
      assert.equal(status.status, 404, `${actor} reads B's job status`);
      assert.deepEqual(shape(status, job.statusPath.split('/').pop()!), shape(unknownStatus, '00000000-0000-4000-8000-000000000000'));
      for (const output of job.outputPaths) assert.equal((await as(actor, 'GET', output)).status, 404, `${actor} downloads B's file`);
      assert.equal((await as(actor, 'DELETE', job.statusPath)).status, 404, `${actor} cancels B's job`);
    }
    assert.equal((await as('clinicianB', 'GET', job.statusPath)).status, 200, 'the job is still there for B');
  });

  test('conditional create: criteria matching only an invisible resource do not reveal it', async () => {
    const criteria = { 'if-none-exist': `identifier=${OBSERVATION_IDS}|obs-p3` };
    const body = { resourceType: 'Observation', status: 'final', code: { text: 'probe' }, subject: { reference: 'Patient/p1' } };
    const reply = await as('clinicianA', 'POST', 'Observation', body, criteria);
    assert.equal(reply.status, 201, reply.text);
    assert.notEqual(reply.body.id, 'obs-p3');
    assert.doesNotMatch(reply.text, /obs-p3|p3\b/);
    // The same criteria by B, who sees P3: the match.
    assert.equal((await as('clinicianB', 'POST', 'Observation', { ...body, subject: { reference: 'Patient/p3' } }, criteria)).body.id, 'obs-p3');
    // A Patient with P3's IIN, conditional or not: refused (the IIN is taken) without naming P3.
    const patient = { resourceType: 'Patient', identifier: [{ system: IIN_SYSTEM, value: IIN.p3 }], name: [{ family: 'Другая' }] };
    const conditions: Record<string, string>[] = [{}, { 'if-none-exist': `identifier=${IIN_SYSTEM}|${IIN.p3}` }];
    for (const headers of conditions) {
      const duplicate = await as('clinicianA', 'POST', 'Patient', patient, headers);
      assert.equal(duplicate.status, 409, duplicate.text);
      assert.doesNotMatch(duplicate.text, /\bp3\b/, 'the 409 names P3\'s record');
    }
  });

  test('conditional operations count and touch only visible matches', async () => {
    const ident = `${OBSERVATION_IDS}|shared-1`;
    const of = (patient: string) => ({ resourceType: 'Observation', status: 'final', identifier: [{ system: OBSERVATION_IDS, value: 'shared-1' }], code: { text: 'shared' }, subject: { reference: `Patient/${patient}` } });
    const hidden = await server.fhir('PUT', 'Observation/shared-p3', { ...of('p3'), id: 'shared-p3' });
    assert.equal(hidden.status, 201);
    const mine = await as('clinicianA', 'POST', 'Observation', of('p1'));
    assert.equal(mine.status, 201);
    // Two match in the store, one for A: A's is found, not a 412 "several match" that would tell of the other.
    const found = await as('clinicianA', 'POST', 'Observation', of('p1'), { 'if-none-exist': `identifier=${ident}` });
    assert.equal(found.status, 200, found.text);
    assert.equal(found.body.id, mine.body.id);
    const updated = await as('clinicianA', 'PUT', `Observation?identifier=${enc(ident)}`, { ...of('p1'), status: 'amended' });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.body.id, mine.body.id);
    const removed = await as('clinicianA', 'DELETE', `Observation?identifier=${enc(ident)}`);
    assert.equal(removed.status, 204, removed.text);
    assert.equal((await truth(`Observation/${mine.body.id}`)).status, 410);
    const untouched = await truth('Observation/shared-p3');
    assert.equal(untouched.status, 200);
    assert.equal(untouched.body.meta.versionId, '1');
    // Criteria matching only the invisible one, with its id in the body: the same 404 as for an id never used.
    const onlyHidden = `Observation?identifier=${enc(ident)}`;
    const intoHidden = await as('clinicianA', 'PUT', onlyHidden, { ...of('p3'), id: 'shared-p3', status: 'amended' });
    const intoNothing = await as('clinicianA', 'PUT', onlyHidden, { ...of('p3'), id: 'never-used', status: 'amended' });
    assert.equal(intoHidden.status, 404, intoHidden.text);
    assert.deepEqual(shape(intoHidden, 'shared-p3'), shape(intoNothing, 'never-used'));
    assert.equal((await truth('Observation/shared-p3')).body.meta.versionId, '1');
  });

  test('PUT to an invisible id is a 404, as to an id never used; nothing is written', async () => {
    const body = (id: string) => ({ resourceType: 'Observation', id, status: 'amended', code: { text: 'overwrite' }, subject: { reference: 'Patient/p1' } });
    const invisible = await as('clinicianA', 'PUT', 'Observation/obs-p3', body('obs-p3'));
    const unused = await as('clinicianA', 'PUT', 'Observation/never-used-2', body('never-used-2'));
    assert.equal(invisible.status, 404, invisible.text);
    assert.deepEqual(shape(invisible, 'obs-p3'), shape(unused, 'never-used-2'));
    const patient = await as('clinicianA', 'PUT', 'Patient/p3', { resourceType: 'Patient', id: 'p3', generalPractitioner: [{ reference: 'Organization/org-a' }] });
    assert.equal(patient.status, 404, 'A attaches P3 to itself by overwriting the invisible Patient');
    const obs = await truth('Observation/obs-p3');
    assert.equal(obs.body.meta.versionId, '1');
    assert.equal((await truth('Patient/p3')).body.meta.versionId, '1');
    assert.equal((await truth('Observation/never-used-2')).status, 404);
  });

  test('DELETE of an invisible resource deletes nothing, and answers as for an unknown id', async () => {
    const invisible = await as('clinicianA', 'DELETE', 'Observation/obs-p3');
    const unused = await as('clinicianA', 'DELETE', 'Observation/never-used-3');
    assert.equal(invisible.status, unused.status);
    assert.equal(invisible.text, unused.text);
    for (const ref of ['Patient/p3', `Condition/${FIXED.condP3}`]) await as('clinicianA', 'DELETE', ref);
    for (const ref of ['Observation/obs-p3', 'Patient/p3', `Condition/${FIXED.condP3}`]) {
      const now = await truth(ref);
      assert.equal(now.status, 200, `${ref} was deleted by a caller who may not see it`);
      assert.equal(now.body.meta.versionId, '1');
    }
    const withVersion = await as('clinicianA', 'DELETE', 'Observation/obs-p3', undefined, { 'if-match': 'W/"1"' });
    const unusedWithVersion = await as('clinicianA', 'DELETE', 'Observation/never-used-3', undefined, { 'if-match': 'W/"1"' });
    assert.deepEqual(shape(withVersion, 'obs-p3'), shape(unusedWithVersion, 'never-used-3'), 'If-Match tells an invisible resource from an absent one');
  });

  test('reading an invisible resource answers exactly as reading an unknown id (404, same OperationOutcome)', async () => {
    const pairs: [string, string][] = [
      ['Observation/obs-p3', 'Observation/never-used'],
      ['Patient/p3', 'Patient/nobody'],
      [`Condition/${FIXED.condP3}`, 'Condition/nothing'],
      ['Observation/obs-p3/_history/1', 'Observation/never-used/_history/1'],
      ['Patient/p3/$access-log', 'Patient/nobody/$access-log'],
    ];
    for (const [invisible, unknown] of pairs) {
      const seen = await A(invisible);
      const absent = await A(unknown);
      assert.equal(seen.status, 404, invisible);
      const idOf = (path: string) => path.split('/')[1]!;
      assert.deepEqual(shape(seen, idOf(invisible)), shape(absent, idOf(unknown)), `${invisible} vs ${unknown}`);
      assert.equal(seen.headers.get('content-type'), absent.headers.get('content-type'));
      assert.equal(seen.headers.get('etag'), null);
    }
    // The same for P6, whose Consent denies A, and B's HIV result P7 hid.
    assert.deepEqual(shape(await A('Patient/p6'), 'p6'), shape(await A('Patient/nobody'), 'nobody'));
    assert.deepEqual(shape(await A(`Observation/${world.obsP7HivB}`), world.obsP7HivB), shape(await A('Observation/never-used'), 'never-used'));
  });

  test('timing: reads of invisible and of unknown ids take about as long (medians within 3x)', async () => {
    const time = async (path: string) => {
      const start = process.hrtime.bigint();
      const reply = await A(path);
      const elapsed = Number(process.hrtime.bigint() - start);
      assert.equal(reply.status, 404);
      return elapsed;
    };
    const invisible: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 10; i++) {
      await time('Observation/obs-p3');
      await time(`Observation/warm-${i}`);
    }
    for (let i = 0; i < 50; i++) {
      // Interleaved, so drift in the machine's load falls on both alike.
      invisible.push(await time(i % 2 ? 'Observation/obs-p3' : `Condition/${FIXED.condP3}`));
      unknown.push(await time(i % 2 ? `Observation/unknown-${i}` : `Condition/unknown-${i}`));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const [a, b] = [median(invisible), median(unknown)];
    assert.ok(Math.max(a, b) / Math.min(a, b) < 3, `median invisible ${(a / 1e6).toFixed(2)} ms, unknown ${(b / 1e6).toFixed(2)} ms`);
  });

  test('analysts: no resource leaves the store, counts under 10 are withheld', async () => {
    const analyst = (path: string) => as('analyst', 'GET', path);
    for (const path of ['Observation/obs-p3', 'Patient/p3', 'Observation', `Observation?code=${P3_ONLY_CODE}`, 'Patient/p3/$everything', 'Observation/obs-p3/_history']) {
      assert.equal((await analyst(path)).status, 403, path);
    }
    // Parameters that narrow to a person are refused even for counts.
    for (const path of ['Observation?subject=p3', `Patient?identifier=${enc(IIN.p3)}`, 'Patient?_id=p3', `Observation?subject.name=${enc(FAMILY.p3)}`, `Patient?_has:Observation:subject:code=${P3_ONLY_CODE}`, `Patient?family=${enc(FAMILY.p3)}`]) {
      assert.equal((await analyst(`${path}&_summary=count`)).status, 403, path);
    }
    const small = await analyst(`Observation?code=${P3_ONLY_CODE}&_summary=count`);
    assert.equal(small.status, 200);
    assert.equal(small.body.total, undefined, 'a count of 1 was given');
    assert.deepEqual(entryRefs(small.body), []);
    assert.equal(small.body.entry.find((e: { search?: { mode?: string } }) => e.search?.mode === 'outcome')?.resource.issue[0].code, 'suppressed');
    // 11 records: published perturbed (src/store/aggregate-count.ts), within 3 and never under 10.
    const large = await analyst(`Observation?code=${COMMON_CODE}&_summary=count`);
    assert.ok(large.body.total >= 10 && Math.abs(large.body.total - 11) <= 3, large.text);
    assert.deepEqual(entryRefs(large.body), []);
  });

  test('analysts: counts of 10 or more are given for every parameter they may count by', async () => {
    const analyst = (path: string) => as('analyst', 'GET', path);
    // Dates bound to the month; the same 11 records as by code alone, so the same perturbed answer.
    const since = await analyst(`Observation?code=${COMMON_CODE}&_lastUpdated=gt2000-01&_summary=count`);
    const byCode = await analyst(`Observation?code=${COMMON_CODE}&_summary=count`);
    assert.ok(since.body.total >= 10 && Math.abs(since.body.total - 11) <= 3, `_lastUpdated: ${since.text}`);
    assert.equal(since.body.total, byCode.body.total);
    const all = await analyst('Observation?_summary=count');
    assert.ok(all.body.total >= 15 - 3, `no filter (15 or more, perturbed by up to 3): ${all.text}`);
  });

  test('no one can write an AuditEvent through the API', async () => {
    const before = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_event WHERE payload LIKE '%someone else%'`);
    for (const actor of ['adminClinical', 'adminNoClinical', 'clinicianA', 'systemA', 'citizenP1', 'citizenP3'] as const) {
      assert.equal((await as(actor, 'POST', 'AuditEvent', forgedAuditEvent())).status, 403, `${actor} POST`);
      assert.equal((await as(actor, 'PUT', 'AuditEvent/forged', forgedAuditEvent('forged'))).status, 403, `${actor} PUT`);
      assert.equal((await as(actor, 'DELETE', 'AuditEvent/forged')).status, 403, `${actor} DELETE`);
    }
    // The all-seeing administrator of the test server, too, and inside a transaction.
    assert.equal((await server.fhir('POST', 'AuditEvent', forgedAuditEvent())).status, 403);
    const bundle = await server.fhir('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ fullUrl: 'urn:uuid:6b1c1e5e-3f7a-4f57-9d35-0a0f5f8a0b01', resource: forgedAuditEvent(), request: { method: 'POST', url: 'AuditEvent' } }],
    });
    assert.equal(bundle.status, 403, bundle.text);
    const batch = await server.fhir('POST', '', { resourceType: 'Bundle', type: 'batch', entry: [{ resource: forgedAuditEvent(), request: { method: 'POST', url: 'AuditEvent' } }] });
    assert.ok(batch.status === 403 || batch.body?.entry?.[0]?.response?.status?.startsWith('403'), batch.text);
    const patch = await server.fhir('PATCH', 'AuditEvent/forged', [{ op: 'replace', path: '/outcome', value: '4' }], { 'content-type': 'application/json-patch+json' });
    assert.ok(patch.status === 403 || patch.status === 404, patch.text);
    const stored = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource WHERE resource_type = 'AuditEvent'`);
    assert.equal(stored[0]!.n, '0');
    const after = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_event WHERE payload LIKE '%someone else%'`);
    assert.equal(after[0]!.n, before[0]!.n);
  });

  // Beyond the issue's list: found while building this suite.

  test('a Device implanted in P3 is P3\'s data: not readable or searchable by A', async () => {
    assert.equal((await A(`Device/${FIXED.devP3}`)).status, 404, 'Device.patient = P3, yet A reads it');
    assert.deepEqual(await refsOf('clinicianA', 'Device?patient=p3'), []);
    assert.deepEqual(await refsOf('citizenP1', 'Device?patient=p3'), [], 'another citizen finds P3\'s implant');
    assert.deepEqual(await refsOf('clinicianB', 'Device?patient=p3'), [`Device/${FIXED.devP3}`], 'control');
  });

  test('a token without a Patient scope cannot search by Patient data through a chain', async () => {
    const reply = await as('observationsOnly', 'GET', `Observation?subject.family=${enc(FAMILY.p1)}`);
    assert.ok(reply.status === 403 || entryRefs(reply.body).length === 0, `user/Observation.rs matched Observations by their patient's family name: ${entryRefs(reply.body).join(', ')}`);
  });

  test('reference ids named by visible resources do not make the hidden ones readable', async () => {
    // A sees enc-p2, which names Condition/cond-p3 as its reason: the id is known, the resource stays out of reach.
    const encounter = await A(`Encounter/${FIXED.encP2}`);
    assert.equal(encounter.body.reasonReference[0].reference, `Condition/${FIXED.condP3}`);
    for (const path of [`Condition/${FIXED.condP3}`, `Condition?_id=${FIXED.condP3}`, `Condition/${FIXED.condP3}/_history`]) {
      const reply = await A(path);
      assert.ok(reply.status === 404 || entryRefs(reply.body).length === 0, path);
    }
  });

  test('the compartment of a visible patient does not reach P3\'s items', async () => {
    assert.deepEqual(await refsOf('clinicianA', 'Patient/p1/Observation?_id=obs-p3'), []);
    assert.deepEqual(await refsOf('clinicianA', 'Patient/p1/Observation?subject=p3'), []);
    const relative = await A(`Patient/p1/Condition?_id=${FIXED.condP3}&_total=accurate`);
    assert.equal(relative.body.total, 0);
  });

  test('a final sweep: nothing A can list of any type of the world is or names P3', async () => {
    for (const type of ['Patient', 'Observation', 'Condition', 'Encounter', 'EpisodeOfCare', 'ServiceRequest', 'Consent', 'RelatedPerson', 'List', 'Binary', 'Group', 'Communication']) {
      const page = await A(`${type}?_count=1000`);
      assert.equal(page.status, 200, `${type}: ${page.text}`);
      noneOfP3(entryRefs(page.body), type);
      for (const entry of page.body.entry ?? []) {
        const json = JSON.stringify(entry.resource);
        // A wrote P3 into its own Group (the bulk export test): that reference is A's own knowledge.
        if (entry.resource.resourceType === 'Group') continue;
        assert.doesNotMatch(json, /"Patient\/p3"/, `${type}/${entry.resource.id} names P3`);
      }
    }
  });
});
