/**
 * Consent and break-glass (issue 5, items 2, 3 and 5): consents take effect, and stop taking
 * effect, on the next request; a hidden item stays visible to its author and under break-glass;
 * break-glass needs a reason, is for clinicians and organization systems only, is flagged in the
 * audit, shows in the patient's access log, tells the patient, and expires; one AuditEvent per
 * patient per interaction, on an intact hash chain.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Bundle, Communication } from '@medplum/fhirtypes';
import { verifyAuditChain } from '../../src/access/audit-verify.js';
import { testDrivers } from '../support/database.js';
import { type FhirReply, type TestServer, startTestServer } from '../support/server.js';
import { storedAuditEvents } from '../support/audit-events.js';
import {
  FIXED,
  HIV_LABEL,
  HIV_CODE,
  LOINC,
  ORG,
  type Tokens,
  type World,
  bearer,
  buildWorld,
  denyOrganizationConsent,
  entryRefs,
  hideLabelConsent,
  tokens,
} from './world.js';

const REASON = 'Brought in unconscious; no relatives reachable';
const BTG = 'BTG';

for (const driver of testDrivers()) describe(`consent and break-glass (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let tok: Tokens & Record<'breakGlassA' | 'otherClinicianA' | 'readOnlyA' | 'citizenP6' | 'citizenP7', string>;
  let world: World;

  before(async () => {
    server = await startTestServer(driver);
    const base = await tokens(server);
    world = await buildWorld(server, base);
    const clinicianOfA = (sub: string, scope = 'user/*.cruds') =>
      server.token({ sub, client_id: 'mis-a', scope, role: 'clinician', organization: ORG.A, fhirUser: `Practitioner/${FIXED.prA}` });
    const citizen = (patient: string) => server.token({ sub: `citizen-${patient}`, client_id: 'egov-app', scope: 'user/*.cruds', role: 'citizen', fhirUser: `Patient/${patient}` });
    tok = {
      ...base,
      breakGlassA: await clinicianOfA('clinician-a-emergency'),
      otherClinicianA: await clinicianOfA('clinician-a-colleague'),
      readOnlyA: await clinicianOfA('clinician-a-readonly', 'user/*.rs'),
      citizenP6: await citizen('p6'),
      citizenP7: await citizen('p7'),
    };
  });
  after(() => server?.close());

  type Who = keyof typeof tok;
  const as = (who: Who, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    server.fhir(method, path, body, { ...bearer(tok[who]), ...headers });
  const status = async (who: Who, path: string) => (await as(who, 'GET', path)).status;
  const refs = async (who: Who, path: string) => {
    const reply = await as(who, 'GET', path);
    assert.equal(reply.status, 200, reply.text);
    return entryRefs(reply.body);
  };
  const written = (reply: FhirReply, expected = [200, 201]) => {
    assert.ok(expected.includes(reply.status), `${reply.status}: ${reply.text}`);
    return reply.body;
  };
  const breakGlass = (who: Who, patient: string, parameter: object[] = [{ name: 'reason', valueString: REASON }]) =>
    as(who, 'POST', `Patient/${patient}/$break-glass`, { resourceType: 'Parameters', parameter });
  const auditCount = async () => Number((await server.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_event`))[0]!.n);
  /** The AuditEvents about `patient` recorded for the account or client `subject`, oldest first. */
  const auditsOf = async (patient: string, subject: string): Promise<AuditEvent[]> => {
    return (await storedAuditEvents(server.db, 'e.patient = $1', [patient])).filter((e) => e.agent.some((a) => a.requestor && a.who?.identifier?.value === subject));
  };
  const isFlagged = (e: AuditEvent) =>
    (e.meta?.security ?? []).some((s) => s.code === BTG) &&
    e.agent.some((a) => a.requestor && (a.purposeOfUse ?? []).some((p) => p.coding?.some((c) => c.code === 'ETREAT')));

  test('a Consent denying A takes effect on the next request; so do its revocation and its end', async () => {
    assert.equal(await status('clinicianA', 'Patient/p1'), 200);
    const consent = written(await as('citizenP1', 'POST', 'Consent', denyOrganizationConsent('ignored', 'p1', ORG.A)));
    for (const who of ['clinicianA', 'systemA'] as const) {
      assert.equal(await status(who, 'Patient/p1'), 404, `${who} after the denial`);
      assert.equal(await status(who, 'Observation/obs-p1'), 404);
      assert.deepEqual(await refs(who, 'Observation?subject=p1'), []);
      assert.deepEqual(await refs(who, 'Patient/p1/$everything'), []);
    }
    assert.equal(await status('citizenP1', 'Observation/obs-p1'), 200, 'the patient still reads their own record');

    written(await as('citizenP1', 'PUT', `Consent/${consent.id}`, { ...denyOrganizationConsent(consent.id, 'p1', ORG.A, 'inactive') }));
    assert.equal(await status('clinicianA', 'Observation/obs-p1'), 200, 'after the Consent became inactive');

    written(await as('citizenP1', 'PUT', `Consent/${consent.id}`, denyOrganizationConsent(consent.id, 'p1', ORG.A)));
    assert.equal(await status('clinicianA', 'Observation/obs-p1'), 404, 'after it became active again');

    // A denial whose period has ended denies nothing; one that ends later does.
    const ended = { ...denyOrganizationConsent(consent.id, 'p1', ORG.A) };
    (ended.provision.provision[0] as Record<string, unknown>).period = { start: '2020-01-01', end: '2021-01-01' };
    written(await as('citizenP1', 'PUT', `Consent/${consent.id}`, ended));
    assert.equal(await status('clinicianA', 'Observation/obs-p1'), 200, 'after the denial\'s period ended');
    (ended.provision.provision[0] as Record<string, unknown>).period = { start: '2020-01-01', end: '2999-01-01' };
    written(await as('citizenP1', 'PUT', `Consent/${consent.id}`, ended));
    assert.equal(await status('clinicianA', 'Observation/obs-p1'), 404, 'while the denial\'s period runs');

    const deleted = await as('citizenP1', 'DELETE', `Consent/${consent.id}`);
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal(await status('clinicianA', 'Observation/obs-p1'), 200, 'after the Consent was deleted');
  });

  test('hiding a label hides the labelled items on the next request; removing the rule shows them again', async () => {
    const hiv = written(
      await server.fhir('PUT', 'Observation/obs-p1-hiv', {
        resourceType: 'Observation', id: 'obs-p1-hiv', meta: { security: [HIV_LABEL] }, status: 'final',
        code: { coding: [{ system: LOINC, code: HIV_CODE }] }, subject: { reference: 'Patient/p1' },
      }),
    );
    const visibleBefore = (await as('clinicianA', 'GET', 'Observation?subject=p1&_summary=count')).body.total as number;
    assert.equal(await status('clinicianA', `Observation/${hiv.id}`), 200);

    const consent = written(await as('citizenP1', 'POST', 'Consent', hideLabelConsent('ignored', 'p1', 'HIV')));
    assert.equal(await status('clinicianA', `Observation/${hiv.id}`), 404, 'the HIV item after HIV was hidden');
    assert.equal(await status('clinicianA', 'Observation/obs-p1'), 200, 'unlabelled items stay visible');
    assert.ok(!(await refs('clinicianA', 'Observation?subject=p1')).includes(`Observation/${hiv.id}`));
    assert.equal((await as('clinicianA', 'GET', 'Observation?subject=p1&_summary=count')).body.total, visibleBefore - 1);
    assert.deepEqual(await refs('clinicianA', `Patient?_has:Observation:subject:code=${HIV_CODE}&_id=p1`), [], '_has through the hidden item');
    assert.equal(await status('citizenP1', `Observation/${hiv.id}`), 200, 'the patient sees what they hid');

    written(await as('citizenP1', 'PUT', `Consent/${consent.id}`, hideLabelConsent(consent.id, 'p1', 'PSY')));
    assert.equal(await status('clinicianA', `Observation/${hiv.id}`), 200, 'hiding another category (PSY) shows HIV again');

    written(await as('citizenP1', 'PUT', `Consent/${consent.id}`, hideLabelConsent(consent.id, 'p1', 'HIV')));
    assert.equal(await status('clinicianA', `Observation/${hiv.id}`), 404);
    const { provision: _removed, ...withoutProvision } = hideLabelConsent(consent.id, 'p1', 'HIV');
    written(await as('citizenP1', 'PUT', `Consent/${consent.id}`, withoutProvision));
    assert.equal(await status('clinicianA', `Observation/${hiv.id}`), 200, 'after the hiding provision was removed');
  });

  test('a hidden item stays visible to the organization that wrote it, and to no other', async () => {
    for (const who of ['clinicianA', 'systemA', 'otherClinicianA'] as const) {
      assert.equal(await status(who, `Observation/${world.obsP7HivA}`), 200, `${who}: A wrote it`);
      assert.equal(await status(who, `Observation/${world.obsP7HivB}`), 404, `${who}: B wrote it`);
    }
    assert.equal(await status('citizenP7', `Observation/${world.obsP7HivB}`), 200, 'the patient sees it');
    // B treats P7 again: B sees its own hidden item, not A's.
    const visit = written(
      await server.fhir('POST', 'Encounter', {
        resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject: { reference: 'Patient/p7' }, serviceProvider: { reference: `Organization/${ORG.B}` },
      }),
    );
    assert.equal(await status('clinicianB', 'Observation/obs-p7'), 200);
    assert.equal(await status('clinicianB', `Observation/${world.obsP7HivB}`), 200, 'B wrote it');
    assert.equal(await status('clinicianB', `Observation/${world.obsP7HivA}`), 404, 'A wrote it');
    written(await server.fhir('PUT', `Encounter/${visit.id}`, { ...visit, status: 'finished' }));
    assert.equal(await status('clinicianB', `Observation/${world.obsP7HivB}`), 404, 'once B\'s encounter is finished');
  });

  test('break-glass needs a stated reason, and minutes from 1 to 60', async () => {
    const bad: [string, unknown][] = [
      ['no body', undefined],
      ['no reason', { resourceType: 'Parameters', parameter: [] }],
      ['a blank reason', { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: '   ' }] }],
      ['minutes 0', { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: REASON }, { name: 'minutes', valueInteger: 0 }] }],
      ['minutes 61', { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: REASON }, { name: 'minutes', valueInteger: 61 }] }],
      ['not Parameters', { resourceType: 'Basic', code: { text: REASON } }],
    ];
    for (const [what, body] of bad) {
      const reply = await as('breakGlassA', 'POST', 'Patient/p3/$break-glass', body);
      assert.equal(reply.status, 400, `${what}: ${reply.text}`);
    }
    assert.equal((await server.db.query(`SELECT 1 FROM break_glass`)).length, 0, 'a refused request left a grant');
    assert.equal(await status('breakGlassA', 'Patient/p3'), 404);
  });

  test('only clinicians and organization systems may break the glass', async () => {
    for (const who of ['citizenP1', 'citizenP3', 'publicHealth', 'analyst', 'adminNoClinical', 'adminClinical'] as const) {
      const reply = await breakGlass(who, 'p3');
      assert.equal(reply.status, 403, `${who}: ${reply.text}`);
    }
    assert.equal((await breakGlass('breakGlassA', 'nobody')).status, 404, 'an unknown patient');
    assert.equal((await server.db.query(`SELECT 1 FROM break_glass`)).length, 0);
    assert.deepEqual(await refs('adminClinical', 'Patient/p3/Communication'), [], 'no notification for a refused request');
  });

  test('after break-glass the clinician reads P3\'s record, every access flagged BTG / ETREAT', async () => {
    assert.equal(await status('breakGlassA', 'Observation/obs-p3'), 404, 'before');
    const reply = await breakGlass('breakGlassA', 'p3');
    assert.equal(reply.status, 200, reply.text);
    const expires = Date.parse(reply.body.parameter.find((p: { name: string }) => p.name === 'expires').valueInstant);
    assert.ok(expires > Date.now() && expires <= Date.now() + 61 * 60_000, `expires ${new Date(expires).toISOString()}`);

    assert.equal(await status('breakGlassA', 'Patient/p3'), 200);
    assert.equal(await status('breakGlassA', 'Observation/obs-p3'), 200);
    assert.equal(await status('breakGlassA', `Condition/${FIXED.condP3}`), 200);
    assert.deepEqual(await refs('breakGlassA', 'Observation?subject=p3'), ['Observation/obs-p3']);
    assert.ok((await refs('breakGlassA', 'Patient/p3/$everything')).includes(`Encounter/${FIXED.encP3}`));
    // The grant is the clinician's, not the organization's.
    assert.equal(await status('otherClinicianA', 'Observation/obs-p3'), 404, 'a colleague at A');
    assert.equal(await status('clinicianA', 'Observation/obs-p3'), 404, 'another clinician of A');

    const events = await auditsOf('p3', 'clinician-a-emergency');
    const reads = events.filter((e) => e.subtype?.some((s) => s.code === 'read'));
    assert.equal(reads.length, 3, 'one audit record per read');
    assert.ok(events.length >= 5, `${events.length} records`);
    for (const event of events) assert.ok(isFlagged(event), `not flagged: ${JSON.stringify(event.subtype)} ${JSON.stringify(event.meta)}`);
    const grant = events.find((e) => e.subtype?.some((s) => s.code === '$break-glass'));
    assert.ok(grant, 'the grant itself is audited');
    assert.ok(grant.agent.some((a) => a.who?.reference === `Organization/${ORG.A}`));
    assert.ok(grant.agent.some((a) => a.purposeOfUse?.some((p) => p.text === REASON)), 'with its reason');
  });

  test('break-glass overrides the consent: a denied organization, a hidden category', async () => {
    assert.equal(await status('breakGlassA', 'Patient/p6'), 404);
    assert.equal(await status('breakGlassA', `Observation/${world.obsP7HivB}`), 404);
    assert.equal((await breakGlass('breakGlassA', 'p6', [{ name: 'reason', valueString: REASON }, { name: 'minutes', valueInteger: 5 }])).status, 200);
    assert.equal((await breakGlass('breakGlassA', 'p7')).status, 200);
    assert.equal(await status('breakGlassA', 'Patient/p6'), 200, 'P6 denied A by Consent');
    assert.equal(await status('breakGlassA', 'Observation/obs-p6'), 200);
    assert.equal(await status('breakGlassA', `Observation/${world.obsP7HivB}`), 200, 'P7 hid HIV from A');
    const p6 = await auditsOf('p6', 'clinician-a-emergency');
    // The read before the glass was broken was refused by P6's Consent, and recorded so (issue 15).
    assert.deepEqual(p6.filter((e) => e.outcome === '4').map((e) => e.subtype?.[0]?.code), ['read']);
    for (const event of [...p6.filter((e) => e.outcome === '0'), ...(await auditsOf('p7', 'clinician-a-emergency'))]) {
      assert.ok(isFlagged(event), 'flagged');
    }
    assert.equal(await status('clinicianA', `Observation/${world.obsP7HivB}`), 404, 'not for the others of A');
  });

  test('P3\'s access log shows the break-glass: who, from which organization, why', async () => {
    const reply = await as('citizenP3', 'GET', 'Patient/p3/$access-log?_count=100');
    assert.equal(reply.status, 200, reply.text);
    const events = (reply.body as Bundle<AuditEvent>).entry!.map((e) => e.resource!);
    const grant = events.find((e) => e.subtype?.some((s) => s.code === '$break-glass'));
    assert.ok(grant, 'the break-glass is in the log');
    assert.ok((grant.meta?.security ?? []).some((s) => s.code === BTG));
    assert.ok(grant.agent.some((a) => a.who?.reference === `Organization/${ORG.A}`), 'the organization');
    assert.ok(grant.agent.some((a) => a.requestor && a.who?.identifier?.value === 'clinician-a-emergency' && a.who?.reference === `Practitioner/${FIXED.prA}`), 'the person');
    assert.ok(grant.agent.some((a) => a.purposeOfUse?.some((p) => p.text === REASON)), 'the reason');
    const flaggedReads = events.filter((e) => e.subtype?.some((s) => s.code === 'read') && isFlagged(e));
    assert.ok(flaggedReads.length >= 3, `${flaggedReads.length} flagged reads in the log`);
    assert.equal((await as('citizenP1', 'GET', 'Patient/p3/$access-log')).status, 404, 'another citizen');
    assert.equal((await as('breakGlassA', 'GET', 'Patient/p3/$access-log')).status, 403, 'the clinician who broke the glass');
  });

  test('P3 is told: a Communication in P3\'s own record', async () => {
    const bundle = (await as('citizenP3', 'GET', 'Patient/p3/Communication')).body as Bundle<Communication>;
    const messages = (bundle.entry ?? []).map((e) => e.resource!);
    assert.equal(messages.length, 1, JSON.stringify(messages));
    const [message] = messages;
    assert.equal(message!.subject?.reference, 'Patient/p3');
    assert.deepEqual(message!.recipient, [{ reference: 'Patient/p3' }]);
    assert.equal(message!.sender?.reference, `Organization/${ORG.A}`);
    assert.equal(message!.reasonCode?.[0]?.text, REASON);
    assert.equal(message!.payload?.length, 3, 'kk, ru, en');
    assert.ok(message!.payload!.every((p) => p.contentString?.includes(REASON)));
  });

  test('the grant expires: then P3 is out of reach again', async () => {
    await server.db.query(`UPDATE break_glass SET expires_at = now() - interval '1 second' WHERE subject = $1 AND patient = 'p3'`, ['clinician-a-emergency']);
    const before = (await auditsOf('p3', 'clinician-a-emergency')).length;
    assert.equal(await status('breakGlassA', 'Patient/p3'), 404);
    assert.equal(await status('breakGlassA', 'Observation/obs-p3'), 404);
    assert.deepEqual(await refs('breakGlassA', 'Observation?subject=p3'), []);
    // Nothing was read; the search naming P3 is recorded as tried, no longer under break-glass.
    const after = (await auditsOf('p3', 'clinician-a-emergency')).slice(before);
    assert.equal(after.length, 1, 'nothing was read, the search naming P3 recorded once');
    assert.ok(!isFlagged(after[0]!), 'recorded as break-glass after the grant expired');
    assert.equal(await status('breakGlassA', 'Patient/p6'), 200, 'the other grants still run');
  });

  test('an organization system may break the glass; a clinician whose app only reads may not', async () => {
    const system = await breakGlass('systemA', 't2');
    assert.equal(system.status, 200, system.text);
    assert.equal(await status('systemA', `Condition/${FIXED.condT2Tb}`), 200);
    const readOnly = await breakGlass('readOnlyA', 't1');
    assert.equal(readOnly.status, 403, `breaking the glass is for treating: a read-only token may not (${readOnly.text})`);
    assert.equal(await status('readOnlyA', 'Patient/t1'), 404);
    assert.equal((await refs('adminClinical', 'Patient/t1/Communication')).length, 0, 'no grant, nothing to tell T1');
  });

  test('the patient can revoke a Consent recorded for them by someone else', async () => {
    assert.equal(await status('clinicianA', 'Patient/p6'), 404);
    const revoked = await as('citizenP6', 'PUT', `Consent/${FIXED.consentP6}`, denyOrganizationConsent(FIXED.consentP6, 'p6', ORG.A, 'inactive'));
    try {
      assert.equal(revoked.status, 200, `P6 could not revoke the Consent the administrator recorded for them: ${revoked.text}`);
      assert.equal(await status('clinicianA', 'Patient/p6'), 200);
    } finally {
      written(await server.fhir('PUT', `Consent/${FIXED.consentP6}`, denyOrganizationConsent(FIXED.consentP6, 'p6', ORG.A)));
    }
  });

  test('one AuditEvent per patient per interaction', async () => {
    const measure = async (what: string, expected: number, run: () => Promise<FhirReply>, patients?: string[]) => {
      const before = await auditCount();
      const reply = await run();
      assert.ok(reply.status < 300, `${what}: ${reply.status} ${reply.text.slice(0, 300)}`);
      assert.equal((await auditCount()) - before, expected, `${what}: audit records added`);
      if (patients) {
        const rows = await server.db.query<{ patient: string }>(`SELECT patient FROM audit_event ORDER BY recorded DESC, chain DESC, seq DESC LIMIT $1`, [expected]);
        assert.deepEqual(rows.map((r) => r.patient).sort(), [...patients].sort(), `${what}: the patients`);
      }
      return reply;
    };
    const A = (method: string, path: string, body?: unknown) => () => as('clinicianA', method, path, body);
    await measure('a read', 1, A('GET', 'Observation/obs-p1'), ['p1']);
    await measure('a vread', 1, A('GET', 'Observation/obs-p1/_history/1'), ['p1']);
    await measure('a read of a resource outside any compartment', 0, A('GET', 'Organization/org-a'));
    await measure('a search of resources outside any compartment', 0, A('GET', 'Organization'));
    await measure('a search that finds nothing and names no patient', 0, A('GET', 'Observation?code=nothing'));
    await measure('a search naming a patient, finding nothing: about them all the same', 1, A('GET', 'Observation?subject=p3'), ['p3']);
    await measure('a search returning 3 patients\' Observations', 3, A('GET', 'Observation?_id=obs-p1,obs-p2,obs-p4'), ['p1', 'p2', 'p4']);
    await measure('a search returning several Observations of one patient', 1, A('GET', 'Observation?subject=p1'), ['p1']);
    await measure('a search with _include of each Observation\'s patient', 2, A('GET', 'Observation?_id=obs-p1,obs-p2&_include=Observation:subject'), ['p1', 'p2']);
    await measure('a search with _revinclude', 2, A('GET', 'Patient?_id=p1,p2&_revinclude=Observation:subject'), ['p1', 'p2']);
    await measure('Patient/$everything', 1, A('GET', 'Patient/p1/$everything'), ['p1']);
    await measure('a type history', 4, A('GET', 'Patient/_history'), ['p1', 'p2', 'p4', 'p7']);
    const created = await measure('a create', 1, A('POST', 'Observation', { resourceType: 'Observation', status: 'final', code: { text: 'audit' }, subject: { reference: 'Patient/p1' } }), ['p1']);
    await measure('an update', 1, A('PUT', `Observation/${created.body.id}`, { ...created.body, status: 'amended' }), ['p1']);
    await measure('a delete', 1, A('DELETE', `Observation/${created.body.id}`), ['p1']);
    await measure('a citizen reading their own record', 1, () => as('citizenP1', 'GET', 'Patient/p1'), ['p1']);
    await measure('an instance history', 1, A('GET', 'Observation/obs-p1/_history'), ['p1']);
  });

  test('the audit hash chain is intact after all of it', async () => {
    const verification = await verifyAuditChain(server.db);
    assert.equal(verification.problemCount, 0, JSON.stringify(verification.problems.slice(0, 5)));
    assert.ok(verification.ok);
    assert.ok(verification.records > 50, `${verification.records} records`);
  });
});
