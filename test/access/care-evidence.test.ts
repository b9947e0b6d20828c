/**
 * The one door, closed (issue 10): care relationships come from evidence, not from the caller's
 * own word. Each attack found against the door is replayed here and must fail, or, for care an
 * organization declares about itself, be flagged, time-limited, told to the patient and listed
 * for review. Also: the relationship kinds and their verification states, one row each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Bundle, Communication, Parameters } from '@medplum/fhirtypes';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';
import { FIXED, HIV_LABEL, ICD10, IIN, LOINC, ORG, type Tokens, bearer, buildWorld, entryRefs, iin, tokens } from './world.js';
import { storedAuditEvents } from '../support/audit-events.js';

const SELF_DECLARED = 'self-declared';

for (const driver of testDrivers()) describe(`care relationships from evidence (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let tok: Tokens & Record<'registry' | 'orgAdminC' | 'orgAdminB' | 'citizenP3' | 'citizenP2' | 'launchedA' | 'systemAOnBehalf' | 'prober', string>;

  before(async () => {
    server = await startTestServer(driver);
    const base = await tokens(server);
    await buildWorld(server, base);
    const citizen = (patient: string) => server.token({ sub: `citizen-${patient}`, client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: `Patient/${patient}` });
    tok = {
      ...base,
      registry: await server.token({ sub: 'registry-1', client_id: 'civil-registry', scope: 'system/Patient.cruds system/RelatedPerson.cruds', role: 'registry' }),
      orgAdminC: await server.token({ sub: 'dpo-c', client_id: 'admin-console', scope: 'user/*.rs', role: 'organization-administrator', organization: ORG.C }),
      orgAdminB: await server.token({ sub: 'dpo-b', client_id: 'admin-console', scope: 'user/*.rs', role: 'organization-administrator', organization: ORG.B }),
      citizenP3: await citizen('p3'),
      citizenP2: await citizen('p2'),
      launchedA: await server.token({
        sub: 'clinician-a-launch',
        client_id: 'smart-ehr-app',
        scope: 'launch patient/*.rs user/Organization.rs',
        role: 'clinician',
        organization: ORG.A,
        patient: 'p2',
      }),
      systemAOnBehalf: await server.token({ sub: 'system-a', client_id: 'system-a', scope: 'system/*.cruds', role: 'system', organization: ORG.A }),
      // The probe limit is counted per process and account: an account of its own per driver.
      prober: await server.token({ sub: `clinician-c-probe-${driver.name}`, client_id: 'mis-c', scope: 'user/*.cruds', role: 'clinician', organization: ORG.C }),
    };
  });
  after(() => server?.close());

  type Who = keyof typeof tok;
  const as = (who: Who, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => server.fhir(method, path, body, { ...bearer(tok[who]), ...headers });
  const status = async (who: Who, path: string) => (await as(who, 'GET', path)).status;
  const ok = (reply: FhirReply, expected = [200, 201]) => {
    assert.ok(expected.includes(reply.status), `${reply.status}: ${reply.text}`);
    return reply.body;
  };
  const encounter = (patient: string, organization: string, status = 'in-progress') => ({
    resourceType: 'Encounter',
    status,
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EMER' },
    subject: { reference: `Patient/${patient}` },
    serviceProvider: { reference: `Organization/${organization}` },
  });
  /** The newest AuditEvent about `patient` by `subject`. */
  const lastAudit = async (patient: string, subject: string): Promise<AuditEvent | undefined> => {
    const events = await storedAuditEvents(server.db, 'e.patient = $1', [patient], 'e.recorded DESC, e.chain DESC, e.seq DESC LIMIT 50');
    return events.find((e) => e.agent.some((a) => a.requestor && a.who?.identifier?.value === subject));
  };
  const flagged = (e: AuditEvent | undefined) => (e?.meta?.security ?? []).some((s) => s.code === SELF_DECLARED);
  const notices = async (patient: string, topic: string) => {
    const bundle = ok(await as('adminClinical', 'GET', `Communication?subject=Patient/${patient}&_count=100`)) as Bundle<Communication>;
    return (bundle.entry ?? []).map((e) => e.resource!).filter((c) => c.category?.[0]?.text === topic);
  };
  const declarations = async (who: Who, query = '') => ok(await as(who, 'GET', `$care-declarations${query}`)) as Bundle<Parameters>;
  const part = (p: Parameters, name: string) => p.parameter?.find((x) => x.name === name);

  test('attack 1: an Encounter an organization writes about itself opens the record only as self-declared care: flagged, told, listed, time-limited', async () => {
    assert.equal(await status('clinicianC', 'Patient/p3'), 404, 'C has no relationship with P3');
    const created = ok(await as('clinicianC', 'POST', 'Encounter', encounter('p3', ORG.C)), [201]) as { id: string };
    assert.equal(await status('clinicianC', 'Patient/p3'), 200, 'walk-ins and emergencies are real: allowed');
    assert.ok(flagged(await lastAudit('p3', 'clinician-c')), 'the read is flagged self-declared in the audit (and so in the access log)');

    const told = await notices('p3', 'self-declared-care');
    assert.equal(told.length, 1, 'the patient is told once');
    assert.equal(told[0]!.payload?.length, 3, 'in kk, ru and en');
    assert.equal(await status('clinicianA', `Communication/${told[0]!.id}`), 404, "the notice is the patient's, not other organizations'");

    const listed = await declarations('orgAdminC');
    const mine = (listed.entry ?? []).map((e) => e.resource!).find((p) => part(p, 'evidence')?.valueReference?.reference === `Encounter/${created.id}`);
    assert.ok(mine, "listed for C's data-protection officer");
    assert.equal(part(mine!, 'status')?.valueCode, 'open');
    assert.equal(part(mine!, 'patient')?.valueReference?.reference, 'Patient/p3');
    const ofB = (await declarations('orgAdminB')).entry ?? [];
    assert.ok(ofB.every((e) => part(e.resource!, 'organization')?.valueReference?.reference === `Organization/${ORG.B}`), "B's officer sees B's own declarations only");
    assert.ok((await declarations('adminClinical', `?organization=${ORG.C}`)).entry?.length, 'the ministry sees them');
    assert.equal((await as('clinicianC', 'GET', '$care-declarations')).status, 403, 'a clinician does not review');

    // Time-limited: a day later (moved back here), the self-declared relationship is over.
    await server.db.query(`UPDATE care_relationship SET valid_until = now() - interval '1 second' WHERE patient = 'p3' AND party = $1`, [`Organization/${ORG.C}`]);
    assert.equal(await status('clinicianC', 'Patient/p3'), 404, 'expired unless corroborated');
  });

  test('attack 1: deleting the Encounter ends the access, never the record of it', async () => {
    const created = ok(await as('clinicianC', 'POST', 'Encounter', encounter('p2', ORG.C)), [201]) as { id: string };
    assert.equal(await status('clinicianC', 'Patient/p2'), 200);
    ok(await as('clinicianC', 'DELETE', `Encounter/${created.id}`), [200, 204]);
    assert.equal(await status('clinicianC', 'Patient/p2'), 404, 'access ends');
    const listed = (await declarations('adminClinical')).entry!.map((e) => e.resource!);
    assert.ok(listed.some((p) => part(p, 'evidence')?.valueReference?.reference === `Encounter/${created.id}`), 'the declaration stays on the review list');
  });

  test('attack 1: a transaction that creates an Encounter and reads $everything is flagged; so are EpisodeOfCare and a ServiceRequest naming oneself', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5b1c0d3e-5f1e-4c1a-9d1e-000000000001', resource: encounter('a18', ORG.C), request: { method: 'POST', url: 'Encounter' } },
        { request: { method: 'GET', url: 'Patient/a18/$everything' } },
      ],
    };
    const reply = await as('clinicianC', 'POST', '', bundle);
    ok(reply);
    assert.ok(flagged(await lastAudit('a18', 'clinician-c')), 'the $everything of the same transaction is flagged');

    const episode = { resourceType: 'EpisodeOfCare', status: 'active', patient: { reference: 'Patient/t2' }, managingOrganization: { reference: `Organization/${ORG.C}` } };
    ok(await as('clinicianC', 'POST', 'EpisodeOfCare', episode), [201]);
    const request = { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/w1' }, requester: { reference: `Organization/${ORG.C}` } };
    ok(await as('clinicianC', 'POST', 'ServiceRequest', request), [201]);
    const kinds = (await declarations('orgAdminC')).entry!.map((e) => `${part(e.resource!, 'patient')?.valueReference?.reference} ${part(e.resource!, 'kind')?.valueCode}`);
    assert.ok(kinds.includes('Patient/t2 episode'), kinds.join(', '));
    assert.ok(kinds.includes('Patient/w1 referral'), kinds.join(', '));
  });

  test('self-declared care is corroborated by the patient: directly, or with a one-time code the organization presents', async () => {
    ok(await as('clinicianC', 'POST', 'Encounter', encounter('p3', ORG.C)), [201]);
    assert.equal(await status('clinicianC', 'Patient/p3'), 200);
    assert.ok(flagged(await lastAudit('p3', 'clinician-c')));
    const code = ok(await as('citizenP3', 'POST', 'Patient/p3/$care-code', { resourceType: 'Parameters' })) as Parameters;
    const digits = part(code, 'code')!.valueString!;
    assert.match(digits, /^\d{6}$/);
    assert.equal((await as('clinicianB', 'POST', 'Patient/p3/$care-code', { resourceType: 'Parameters' })).status, 404, 'codes are the patient’s to give');
    const wrong = await as('clinicianC', 'POST', 'Patient/p3/$confirm-care', { resourceType: 'Parameters', parameter: [{ name: 'code', valueString: digits === '000000' ? '000001' : '000000' }] });
    assert.equal(wrong.status, 403);
    const confirmed = ok(await as('clinicianC', 'POST', 'Patient/p3/$confirm-care', { resourceType: 'Parameters', parameter: [{ name: 'code', valueString: digits }] })) as Parameters;
    assert.ok(part(confirmed, 'confirmed')!.valueInteger! >= 1);
    assert.equal((await as('clinicianC', 'POST', 'Patient/p3/$confirm-care', { resourceType: 'Parameters', parameter: [{ name: 'code', valueString: digits }] })).status, 403, 'a code is used once');
    assert.equal(await status('clinicianC', 'Patient/p3'), 200);
    assert.ok(!flagged(await lastAudit('p3', 'clinician-c')), 'now verified: an ordinary access');
    const row = await server.db.query<{ verified: boolean; valid_until: string | null }>(
      `SELECT verified, valid_until FROM care_relationship WHERE patient = 'p3' AND party = $1 AND kind = 'encounter'`,
      [`Organization/${ORG.C}`],
    );
    assert.ok(row.length > 0 && row.every((r) => r.verified && r.valid_until === null), 'verified, lasting as long as the encounter');

    ok(await as('clinicianB', 'POST', 'Encounter', encounter('p2', ORG.C)), [201, 404]);
    ok(await as('clinicianC', 'POST', 'Encounter', encounter('p2', ORG.C)), [201]);
    const byPatient = ok(await as('citizenP2', 'POST', 'Patient/p2/$confirm-care', { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${ORG.C}` } }] })) as Parameters;
    assert.ok(part(byPatient, 'confirmed')!.valueInteger! >= 1, 'the patient confirms in their app');
  });

  test('attack 2: an organization cannot rewrite the registry’s elements of a Patient, nor attach a patient to itself', async () => {
    const current = ok(await as('clinicianA', 'GET', 'Patient/p2')) as { resourceType: string; id: string; generalPractitioner?: unknown; name?: unknown; telecom?: unknown };
    const hijack = await as('clinicianA', 'PUT', 'Patient/p2', { resourceType: 'Patient', id: 'p2', generalPractitioner: [{ reference: `Organization/${ORG.A}` }] });
    assert.equal(hijack.status, 403, hijack.text);
    assert.match(JSON.stringify(hijack.body), /"expression":\["Patient\.(active|name|gender|birthDate)"\]/);
    const attach = await as('clinicianA', 'PUT', 'Patient/p2', { ...current, generalPractitioner: [{ reference: `Organization/${ORG.A}` }] });
    assert.equal(attach.status, 403, attach.text);
    assert.deepEqual((attach.body as { issue: { expression: string[] }[] }).issue[0]!.expression, ['Patient.generalPractitioner']);
    const iinDropped = await as('clinicianA', 'PUT', 'Patient/p2', { ...current, identifier: [] });
    assert.ok([403, 422].includes(iinDropped.status), iinDropped.text);
    assert.equal(((await server.fhir('GET', 'Patient/p2')).body as { identifier: { value: string }[] }).identifier[0]!.value, IIN.p2, 'the IIN stays');
    assert.equal(await status('clinicianB', 'Patient/p2'), 200, 'the real polyclinic keeps its patient');

    const contact = ok(await as('clinicianA', 'PUT', 'Patient/p2', { ...current, telecom: [{ system: 'phone', value: '+77010000000' }] }));
    assert.ok(contact, 'contact details are the organization’s to add');
    const local = await as('clinicianA', 'PUT', 'Patient/p2', {
      ...current,
      telecom: [{ system: 'phone', value: '+77010000000' }],
      identifier: [...((current as { identifier?: unknown[] }).identifier ?? []), { system: 'http://org-a.test/mrn', value: 'A-42' }],
    });
    assert.equal(local.status, 200, `its own local identifier: ${local.text}`);
  });

  test('attachment changes by the citizen’s request or the registry, and the patient is told', async () => {
    const before = (await notices('p3', 'attachment-changed')).length;
    const moved = await as('citizenP3', 'POST', 'Patient/p3/$attach', { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${ORG.C}` } }] });
    assert.equal(moved.status, 200, moved.text);
    assert.deepEqual((moved.body as { generalPractitioner: unknown }).generalPractitioner, [{ reference: `Organization/${ORG.C}` }]);
    assert.equal(await status('clinicianC', 'Observation/obs-p3'), 200, 'C is now P3’s polyclinic: verified');
    assert.ok(!flagged(await lastAudit('p3', 'clinician-c')));
    assert.equal(await status('clinicianB', 'Patient/p3'), 404, 'B no longer is');
    assert.equal((await notices('p3', 'attachment-changed')).length, before + 1, 'the patient is told');
    assert.equal((await as('clinicianA', 'POST', 'Patient/p3/$attach', { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${ORG.A}` } }] })).status, 403);
    const back = await as('registry', 'POST', 'Patient/p3/$attach', { resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${ORG.B}` } }] });
    assert.equal(back.status, 200, back.text);
    assert.equal(await status('clinicianB', 'Patient/p3'), 200);
  });

  test('attack 3: legal representation comes only from the registry', async () => {
    const child = 'child-x';
    const birth = new Date(Date.now() - 5 * 365 * 86_400_000).toISOString().slice(0, 10);
    ok(await server.fhir('PUT', `Patient/${child}`, { resourceType: 'Patient', id: child, birthDate: birth, gender: 'female', identifier: [{ system: IIN_SYSTEM, value: iin(birth, 'female', 700) }] }));
    const mother = {
      resourceType: 'RelatedPerson',
      patient: { reference: `Patient/${child}` },
      relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }],
      identifier: [{ system: IIN_SYSTEM, value: IIN.p3 }],
    };
    const forged = await as('systemA', 'POST', 'RelatedPerson', mother);
    assert.equal(forged.status, 403, forged.text);
    assert.deepEqual((forged.body as { issue: { expression: string[] }[] }).issue[0]!.expression, ['RelatedPerson.relationship']);
    assert.equal(await status('citizenP3', `Patient/${child}`), 404);
    ok(await as('registry', 'POST', 'RelatedPerson', mother), [201]);
    assert.equal(await status('citizenP3', `Patient/${child}`), 200, 'civil registration makes P3 the representative');
  });

  test('history: a past version is served only if the resource as it is now may be seen too', async () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { coding: [{ system: LOINC, code: '75622-1' }] }, subject: { reference: 'Patient/p7' } };
    const created = ok(await server.fhir('POST', 'Observation', obs), [201]) as { id: string };
    assert.equal(await status('clinicianA', `Observation/${created.id}/_history/1`), 200, 'unlabelled, A sees it');
    const labelled = await server.fhir('PUT', `Observation/${created.id}`, { ...obs, id: created.id, meta: { security: [HIV_LABEL] } });
    assert.equal(labelled.status, 200, `${created.id}: ${labelled.text}`);
    assert.equal(await status('clinicianA', `Observation/${created.id}`), 404, 'P7 hides HIV');
    assert.equal(await status('clinicianA', `Observation/${created.id}/_history/1`), 404, 'and so every earlier version');
    const instanceHistory = await as('clinicianA', 'GET', `Observation/${created.id}/_history`);
    assert.ok(instanceHistory.status === 404 || entryRefs(instanceHistory.body as never).length === 0, instanceHistory.text);
    const typeHistory = entryRefs(ok(await as('clinicianA', 'GET', 'Observation/_history?_count=1000')) as never);
    assert.ok(!typeHistory.includes(`Observation/${created.id}`));

    // Public health: a Condition that became notifiable does not open what it said before.
    const condition = (code: string) => ({
      resourceType: 'Condition',
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      code: { coding: [{ system: ICD10, code }] },
      subject: { reference: 'Patient/t1' },
    });
    const hiv = ok(await server.fhir('POST', 'Condition', condition('B20')), [201]) as { id: string };
    assert.equal(await status('publicHealth', `Condition/${hiv.id}`), 404);
    ok(await server.fhir('PUT', `Condition/${hiv.id}`, { ...condition('U07.1'), id: hiv.id }));
    assert.equal(await status('publicHealth', `Condition/${hiv.id}`), 200, 'COVID-19 is notifiable');
    assert.equal(await status('publicHealth', `Condition/${hiv.id}/_history/1`), 404, 'its HIV version is not');
    const versions = (ok(await as('publicHealth', 'GET', `Condition/${hiv.id}/_history`)) as Bundle).entry!.map((e) => e.resource!.meta!.versionId);
    assert.deepEqual(versions, ['2']);
  });

  test('attack 8: an IIN-existence answer is audited for that person and rate-limited', async () => {
    const probe = { resourceType: 'Patient', identifier: [{ system: IIN_SYSTEM, value: IIN.p3 }], name: [{ family: 'Probe' }] };
    const before = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_event WHERE patient = 'p3' AND payload LIKE '%identifier-conflict%'`);
    const reply = await as('prober', 'POST', 'Patient', probe);
    assert.equal(reply.status, 409);
    assert.doesNotMatch(reply.text, /p3/, 'the holder is not named');
    const after = await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_event WHERE patient = 'p3' AND payload LIKE '%identifier-conflict%'`);
    assert.equal(Number(after[0]!.n), Number(before[0]!.n) + 1, 'the answer is in P3’s access log');
    let last = reply;
    for (let i = 0; i < 12 && last.status !== 429; i++) last = await as('prober', 'POST', 'Patient', probe);
    assert.equal(last.status, 429, 'walking IINs is stopped');
  });

  test('attack 8: $import checks visibility before answering "unchanged", and a caller with limits may not choose ids', async () => {
    const hidden = ok(await server.fhir('GET', 'Observation/obs-p3')) as object;
    const asLine = (resource: object) => ({ body: `${JSON.stringify(resource)}\n`, headers: { ...bearer(tok.clinicianA), 'content-type': 'application/fhir+ndjson' } });
    const same = asLine(hidden);
    const reply = await server.fhir('POST', '$import', same.body, same.headers);
    assert.doesNotMatch(reply.text, /unchanged":1|"unchanged","valueInteger":1/, `the content of a hidden resource is not confirmed: ${reply.text}`);
    const chosen = asLine({ resourceType: 'Observation', id: 'chosen-by-a', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' } });
    await server.fhir('POST', '$import', chosen.body, chosen.headers);
    assert.equal((await server.fhir('GET', 'Observation/chosen-by-a')).status, 404, 'no update-as-create with a chosen id');
  });

  test('attack 8: a patient-scoped launch never reaches another patient through includes', async () => {
    const found = entryRefs(ok(await as('launchedA', 'GET', `Organization?_id=${ORG.A}&_revinclude=Encounter:service-provider`)) as never);
    assert.ok(found.includes(`Organization/${ORG.A}`));
    assert.ok(found.includes(`Encounter/${FIXED.encP2}`), 'the launch patient’s encounter');
    assert.ok(!found.includes(`Encounter/${FIXED.encP7}`), `P7's encounter is another patient's: ${found.join(', ')}`);
  });

  test('attack 8: X-On-Behalf-Of names only the client organization’s staff, recorded as asserted', async () => {
    const refused = await as('systemAOnBehalf', 'GET', 'Patient/p1', undefined, { 'x-on-behalf-of': `Practitioner/${FIXED.prB}` });
    assert.equal(refused.status, 403, refused.text);
    ok(await server.fhir('PUT', 'PractitionerRole/role-a', { resourceType: 'PractitionerRole', id: 'role-a', active: true, practitioner: { reference: `Practitioner/${FIXED.prA}` }, organization: { reference: `Organization/${ORG.A}` } }));
    const accepted = await as('systemAOnBehalf', 'GET', 'Patient/p1', undefined, { 'x-on-behalf-of': `Practitioner/${FIXED.prA}`, 'x-purpose-of-use': 'TREAT' });
    assert.equal(accepted.status, 200, accepted.text);
    const event = await lastAudit('p1', 'system-a');
    const user = event!.agent.find((a) => a.requestor)!;
    assert.equal(user.who?.reference, `Practitioner/${FIXED.prA}`);
    assert.deepEqual((user.extension ?? []).map((e) => e.valueCode).sort(), ['on-behalf-of', 'purpose-of-use'], 'both shown as asserted by the client');
  });

  test('relationship kinds and their verification states', async () => {
    const kinds = async (patient: string, party: string) =>
      (await server.db.query<{ kind: string; verified: boolean }>(`SELECT kind, verified FROM care_relationship WHERE patient = $1 AND party = $2 ORDER BY kind`, [patient, `Organization/${party}`])).map(
        (r) => `${r.kind}:${r.verified ? 'verified' : 'self-declared'}`,
      );
    // attached (registry, world): verified
    assert.deepEqual(await kinds('p1', ORG.A), ['attached:verified']);
    // encounter by an organization with a verified relationship: verified
    ok(await as('clinicianA', 'POST', 'Encounter', encounter('p1', ORG.A)), [201]);
    assert.deepEqual(await kinds('p1', ORG.A), ['attached:verified', 'encounter:verified']);
    // referral: A (verified with P1) refers to C; C accepting it (a Task) is verified
    const referral = ok(
      await as('clinicianA', 'POST', 'ServiceRequest', { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' }, requester: { reference: `Organization/${ORG.A}` }, performer: [{ reference: `Organization/${ORG.C}` }] }),
      [201],
    ) as { id: string };
    assert.deepEqual(await kinds('p1', ORG.C), [], 'a referral alone gives the receiver nothing until it accepts');
    const task = { resourceType: 'Task', status: 'accepted', intent: 'order', focus: { reference: `ServiceRequest/${referral.id}` }, for: { reference: 'Patient/p1' }, owner: { reference: `Organization/${ORG.C}` } };
    const accepted = ok(await as('clinicianC', 'POST', 'Task', task), [201]) as { id: string };
    assert.deepEqual(await kinds('p1', ORG.C), ['referral:verified']);
    ok(await as('clinicianC', 'PUT', `Task/${accepted.id}`, { ...task, id: accepted.id, status: 'in-progress' }));
    ok(await as('clinicianC', 'PUT', `Task/${accepted.id}`, { ...task, id: accepted.id, status: 'completed', executionPeriod: { end: new Date().toISOString() } }));
    const grace = await server.db.query<{ days: string }>(`SELECT extract(day FROM valid_until - now())::text AS days FROM care_relationship WHERE patient = 'p1' AND party = $1`, [`Organization/${ORG.C}`]);
    assert.equal(Number(grace[0]!.days), 13, 'completed: access for the grace period (14 days) only');
    // a Task accepting a referral nobody sent: self-declared
    ok(await as('clinicianB', 'POST', 'Task', { ...task, focus: { reference: 'ServiceRequest/sr-p5' }, for: { reference: 'Patient/p5' }, owner: { reference: `Organization/${ORG.B}` } }), [201]);
    assert.deepEqual(await kinds('p5', ORG.B), ['referral:self-declared']);
    // appointment the patient accepted, with a service of C: verified
    ok(await server.fhir('PUT', 'HealthcareService/cardio-c', { resourceType: 'HealthcareService', id: 'cardio-c', active: true, providedBy: { reference: `Organization/${ORG.C}` } }));
    const appointment = (patient: string) => ({
      resourceType: 'Appointment',
      status: 'booked',
      start: new Date(Date.now() + 3_600_000).toISOString(),
      end: new Date(Date.now() + 86_400_000).toISOString(),
      participant: [{ actor: { reference: `Patient/${patient}` }, status: 'accepted' }, { actor: { reference: 'HealthcareService/cardio-c' }, status: 'needs-action' }],
    });
    ok(await as('citizenP2', 'POST', 'Appointment', appointment('p2')), [201]);
    assert.ok((await kinds('p2', ORG.C)).includes('appointment:verified'));
    // an appointment at C that B books for its own patient: B cannot give C access
    ok(await as('clinicianB', 'POST', 'Appointment', appointment('t1')), [201]);
    assert.deepEqual(await kinds('t1', ORG.C), [], 'an organization cannot give another one access');
  });
});
