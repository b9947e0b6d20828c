import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuditEvent } from '@medplum/fhirtypes';
import { type AuditInput, PATIENT_PLACEHOLDER, auditEventPayload } from '../../src/access/audit-event.js';
import type { AccessContext } from '../../src/access/context.js';
import { validateResource } from '../../src/fhir/validate.js';

const clinician: AccessContext = {
  role: 'clinician',
  subject: 'account-7',
  clientId: 'polyclinic-mis',
  fhirUser: 'Practitioner/9',
  organization: 'org-1',
  scopes: [],
  purposeOfUse: 'TREAT',
  address: '10.1.2.3',
};

const read: AuditInput = {
  action: 'R',
  interaction: 'read',
  recorded: '2026-03-01T08:30:00.125Z',
  outcome: '0',
  context: clinician,
  patient: 'p-1',
  entities: ['Observation/obs-1'],
  observer: 'https://api.densaulyq.kz/fhir',
};

const event = (input: AuditInput) => JSON.parse(auditEventPayload(input)) as AuditEvent;
const codes = (codings: { system?: string; code?: string }[] | undefined) => (codings ?? []).map((c) => `${c.system}|${c.code}`);
const agentOfType = (e: AuditEvent, code: string) => e.agent.find((a) => a.type?.coding?.some((c) => c.code === code));
const errors = (resource: unknown) => validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');

describe('the audit record: a FHIR R4 AuditEvent after IHE BALP', () => {
  test('a read is a valid AuditEvent with the BALP codes: who, for which organization, through which app, what, why', () => {
    const e = event(read);
    assert.deepEqual(errors(e), []);
    assert.match(e.id!, /^[0-9a-f-]{36}$/);
    assert.deepEqual(e.meta?.profile, ['https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead']);
    assert.deepEqual(codes([e.type]), ['http://terminology.hl7.org/CodeSystem/audit-event-type|rest']);
    assert.deepEqual(codes(e.subtype), ['http://hl7.org/fhir/restful-interaction|read']);
    assert.equal(e.action, 'R');
    assert.equal(e.recorded, read.recorded);
    assert.equal(e.outcome, '0');

    const user = agentOfType(e, 'IRCP')!;
    assert.equal(user.requestor, true);
    assert.equal(user.who?.reference, 'Practitioner/9');
    assert.deepEqual(user.who?.identifier, { system: 'http://densaulyq.kz/fhir/sid/account', value: 'account-7' });
    assert.deepEqual(user.role?.[0]?.coding?.[0], { system: 'http://densaulyq.kz/fhir/CodeSystem/access-role', code: 'clinician', display: 'Clinician' });
    assert.deepEqual(codes(user.purposeOfUse?.[0]?.coding), ['http://terminology.hl7.org/CodeSystem/v3-ActReason|TREAT']);
    assert.equal(agentOfType(e, 'PROV')?.who?.reference, 'Organization/org-1');
    // BALP read: the client receives the data (Destination Role ID), the server sends it (Source Role ID).
    const client = agentOfType(e, '110152')!;
    assert.deepEqual(client.who?.identifier, { system: 'http://densaulyq.kz/fhir/sid/oauth-client', value: 'polyclinic-mis' });
    assert.deepEqual(client.network, { address: '10.1.2.3', type: '2' });
    assert.deepEqual(agentOfType(e, '110153')?.network, { address: 'https://api.densaulyq.kz/fhir', type: '5' });
    assert.deepEqual(codes(e.source.type), ['http://terminology.hl7.org/CodeSystem/security-source-type|4']);

    const [patient, data] = e.entity!;
    assert.equal(patient?.what?.reference, 'Patient/p-1');
    assert.deepEqual(codes([patient!.type!, patient!.role!]), ['http://terminology.hl7.org/CodeSystem/audit-entity-type|1', 'http://terminology.hl7.org/CodeSystem/object-role|1']);
    assert.equal(data?.what?.reference, 'Observation/obs-1');
    assert.deepEqual(codes([data!.type!, data!.role!]), ['http://terminology.hl7.org/CodeSystem/audit-entity-type|2', 'http://terminology.hl7.org/CodeSystem/object-role|4']);
  });

  test('a search records its query base64-encoded in a Query entity; writes and deletes take the BALP agent types of their own', () => {
    const query = 'code=http://loinc.org|8867-4&_count=10';
    const search = event({ ...read, action: 'E', interaction: 'search-type', entities: undefined, query });
    assert.deepEqual(errors(search), []);
    assert.equal(search.meta?.profile?.[0], 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientQuery');
    const queryEntity = search.entity!.find((x) => x.role?.code === '24')!;
    assert.equal(queryEntity.type?.code, '2');
    assert.equal(Buffer.from(queryEntity.query!, 'base64').toString('utf8'), query);
    assert.ok(agentOfType(search, '110153') && agentOfType(search, 'IRCP'), 'a query is sent by the client (Source Role ID)');
    const unfiltered = event({ ...read, action: 'E', interaction: 'search-type', entities: undefined, query: '' });
    assert.deepEqual(errors(unfiltered), []);
    assert.equal(unfiltered.entity?.length, 1, 'a search without parameters records no query entity');

    const update = event({ ...read, action: 'U', interaction: 'update' });
    assert.equal(update.meta?.profile?.[0], 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientUpdate');
    assert.equal(agentOfType(update, 'AUT')?.requestor, true);
    const removal = event({ ...read, action: 'D', interaction: 'delete' });
    assert.ok(agentOfType(removal, '110150') && agentOfType(removal, 'custodian'));
    for (const e of [update, removal]) assert.deepEqual(errors(e), []);
  });

  test('the placeholder stands verbatim where the Patient id goes, so SQL replace() gives the right reference', () => {
    const payload = auditEventPayload({ ...read, patient: PATIENT_PLACEHOLDER });
    assert.ok(payload.includes(`"Patient/${PATIENT_PLACEHOLDER}"`));
    const filled = JSON.parse(payload.replaceAll(PATIENT_PLACEHOLDER, 'p-42.a')) as AuditEvent;
    assert.equal(filled.entity?.[0]?.what?.reference, 'Patient/p-42.a');
    assert.deepEqual(errors(filled), []);
  });

  test('break-glass is flagged: meta.security BTG, purpose emergency treatment plus BTG carrying the stated reason', () => {
    const reason = 'Unconscious on arrival; "allergies?"\nNo relative reachable';
    const e = event({ ...read, basis: 'break-glass', reason });
    assert.deepEqual(errors(e), []);
    assert.deepEqual(codes(e.meta?.security), ['http://terminology.hl7.org/CodeSystem/v3-ActReason|BTG']);
    const purposes = agentOfType(e, 'IRCP')!.purposeOfUse!;
    assert.deepEqual(purposes.map((p) => p.coding?.[0]?.code), ['ETREAT', 'BTG']);
    assert.equal(purposes[1]!.text, reason);

    const grant = event({ ...read, action: 'E', interaction: '$break-glass', entities: undefined, basis: 'break-glass', reason: 'cardiac arrest' });
    assert.deepEqual(errors(grant), []);
    assert.deepEqual(codes([grant.type]), ['http://dicom.nema.org/resources/ontology/DCM|110113']);
    assert.deepEqual(codes(grant.subtype), [
      'http://dicom.nema.org/resources/ontology/DCM|110127',
      'http://hl7.org/fhir/restful-interaction|operation',
      'http://densaulyq.kz/fhir/CodeSystem/operation|$break-glass',
    ]);
    assert.equal(event(read).meta?.security, undefined, 'an ordinary read carries no BTG label');
  });

  test('only references and codes: no names, and nothing of the resource read', () => {
    const citizen: AccessContext = { role: 'citizen', subject: 'account-1', clientId: 'egov-app', fhirUser: 'Patient/p-1', scopes: [], purposeOfUse: 'PATRQT' };
    const payload = auditEventPayload({ ...read, context: citizen });
    const e = JSON.parse(payload) as AuditEvent;
    assert.deepEqual(errors(e), []);
    assert.doesNotMatch(payload, /"name"|"given"|"family"|"text"/);
    for (const agent of e.agent) assert.equal(agent.who?.display === undefined || agent.who.display === read.observer, true);
    assert.equal(e.meta?.profile, undefined, 'without the client address the BALP profile is not claimed');
    assert.equal(agentOfType(e, 'PROV'), undefined);
  });

  test('a refused request is recorded with its outcome and claims no BALP profile (they cover successes)', () => {
    const e = event({ ...read, outcome: '4' });
    assert.equal(e.outcome, '4');
    assert.equal(e.meta, undefined);
    assert.notEqual(event(read).id, e.id);
  });

  test('building one takes a few microseconds', (t) => {
    const input: AuditInput = { ...read, patient: PATIENT_PLACEHOLDER, entities: ['Observation/1', 'Observation/2', 'Condition/3'] };
    for (let i = 0; i < 2_000; i++) auditEventPayload(input);
    const runs = 50_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < runs; i++) auditEventPayload(input);
    const micros = Number(process.hrtime.bigint() - started) / 1000 / runs;
    t.diagnostic(`${micros.toFixed(2)} µs per AuditEvent`);
    assert.ok(micros < 50, `${micros} µs`);
  });
});
