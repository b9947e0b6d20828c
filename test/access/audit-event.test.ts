import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { AuditEvent } from '@medplum/fhirtypes';
import { type AuditInput, agentId, auditAgent, auditEventOf, auditEventPayload, compactAuditRecord } from '../../src/access/audit-event.js';
import type { AccessContext } from '../../src/access/context.js';
import type { ResourceScope } from '../../src/access/scopes.js';
import { validateResource } from '../../src/fhir/validate.js';
import type { AuditRecordRow } from '../../src/store/access-log.js';
import { isCompactRecord } from '../../src/store/audit-chain.js';

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
/** A granted scope: what the caller may do, which is not who acted. */
const SYSTEM_READ: ResourceScope = { kind: 'resource', context: 'system', resourceType: '*', permissions: ['r', 's'], query: [], version: 2, raw: 'system/*.rs' };
const citizen: AccessContext = { role: 'citizen', subject: 'account-1', clientId: 'egov-app', fhirUser: 'Patient/p-1', scopes: [], purposeOfUse: 'PATRQT' };

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

const ID = '5f0e8c3a-1b2d-4c6e-8f90-a1b2c3d4e5f6';
const event = (input: AuditInput, id = ID) => JSON.parse(auditEventPayload(input, id)) as AuditEvent;
const codes = (codings: { system?: string; code?: string }[] | undefined) => (codings ?? []).map((c) => `${c.system}|${c.code}`);
const agentOfType = (e: AuditEvent, code: string) => e.agent.find((a) => a.type?.coding?.some((c) => c.code === code));
const errors = (resource: unknown) => validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');

/** A link as the chain stores it (hex); its value does not matter here, only that it names the record. */
const linkOf = (text: string) => createHash('sha256').update(text).digest('hex');

/** The row the store keeps for `input`: its compact record, its columns and the agent row it names. */
function storedRow(input: AuditInput, hash = linkOf(JSON.stringify(input))): AuditRecordRow {
  const agent = auditAgent(input.context);
  const { recorded, ...rest } = input;
  return { recorded, patient: input.patient ?? null, hash, payload: compactAuditRecord(rest, agent), agent: agent.text };
}

describe('the audit record: a FHIR R4 AuditEvent after IHE BALP', () => {
  test('a read is a valid AuditEvent with the BALP codes: who, for which organization, through which app, what, why', () => {
    const e = event(read);
    assert.deepEqual(errors(e), []);
    assert.equal(e.id, ID, 'the id given is the id written');
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

  test('values from the request are JSON-encoded on their own: a patient id, reason or query cannot break out of its string', () => {
    const hostile = '"},"outcome":"0","x":{"a":"';
    const e = event({ ...read, patient: `p-${hostile}`, entities: [`Observation/${hostile}`], basis: 'break-glass', reason: hostile, query: hostile });
    assert.equal(e.outcome, '0');
    assert.equal(e.entity?.[0]?.what?.reference, `Patient/p-${hostile}`);
    assert.equal(e.entity?.[1]?.what?.reference, `Observation/${hostile}`);
    assert.equal(agentOfType(e, 'IRCP')?.purposeOfUse?.[1]?.text, hostile);
    assert.equal('x' in e, false);
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
    const payload = auditEventPayload({ ...read, context: citizen }, ID);
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
  });

  test('building one takes a few microseconds, a compact record less', (t) => {
    const input: AuditInput = { ...read, entities: ['Observation/1', 'Observation/2', 'Condition/3'] };
    const agent = auditAgent(clinician);
    const time = (build: () => string) => {
      for (let i = 0; i < 2_000; i++) build();
      const runs = 50_000;
      const started = process.hrtime.bigint();
      for (let i = 0; i < runs; i++) build();
      return Number(process.hrtime.bigint() - started) / 1000 / runs;
    };
    const whole = time(() => auditEventPayload(input, ID));
    const compact = time(() => compactAuditRecord(input, agent));
    t.diagnostic(`${whole.toFixed(2)} µs per AuditEvent, ${compact.toFixed(2)} µs per compact record`);
    assert.ok(whole < 50, `${whole} µs`);
    assert.ok(compact < 50, `${compact} µs`);
  });
});

describe('the compact audit record and the AuditEvent it is served as', () => {
  /** Inputs covering each part of the record that the compact form leaves to the agent row, the columns or the vocabulary. */
  const inputs: Record<string, AuditInput> = {
    'a clinician reads an Observation (observer the default)': { ...read, observer: undefined },
    'a read observed by a named server': read,
    'a read of the Patient itself and of another patient\'s resource': { ...read, entities: ['Patient/p-1', 'Patient/p-2', 'Patient/p-1/_history/3'] },
    'a search with its query': { ...read, action: 'E', interaction: 'search-type', entities: undefined, query: 'code=http://loinc.org|8867-4&_count=10&name=Әлия' },
    'a search without parameters': { ...read, action: 'E', interaction: 'search-type', entities: undefined, query: '' },
    'a read under break-glass, with its reason': { ...read, basis: 'break-glass', reason: 'Unconscious on arrival; "allergies?"\nNo relative reachable' },
    'the break-glass grant': { ...read, action: 'E', interaction: '$break-glass', entities: ['Patient/p-1'], basis: 'break-glass', reason: 'cardiac arrest' },
    'a read on self-declared care': { ...read, basis: 'self-declared' },
    'a system acting for a practitioner, with a purpose it states': {
      ...read,
      context: { role: 'system', subject: 'mis-4', clientId: 'mis-4', organization: 'org-agents', onBehalfOf: 'Practitioner/doc-7', purposeOfUse: 'CAREMGT', purposeAsserted: true, scopes: [SYSTEM_READ], address: '10.9.9.9' },
    },
    'a citizen without an address or organization': { ...read, context: citizen },
    'a refused update': { ...read, action: 'U', interaction: 'update', outcome: '4' },
    'a delete': { ...read, action: 'D', interaction: 'delete', outcome: '0' },
    'an operation with no patient': { ...read, action: 'E', interaction: '$export', patient: undefined, entities: undefined, outcome: '8' },
  };

  for (const [what, input] of Object.entries(inputs)) {
    test(`round-trips to the AuditEvent of the same input: ${what}`, () => {
      const row = storedRow(input);
      assert.ok(isCompactRecord(row.payload), row.payload);
      const served = auditEventOf(row);
      assert.deepEqual(served, event(input, served.id!));
      assert.deepEqual(errors(served), []);
    });
  }

  test('the flags survive the round trip: meta.security for break-glass and self-declared, asserted-by-client, the query in base64', () => {
    const glass = auditEventOf(storedRow(inputs['a read under break-glass, with its reason']!));
    assert.deepEqual(codes(glass.meta?.security), ['http://terminology.hl7.org/CodeSystem/v3-ActReason|BTG']);
    assert.deepEqual(agentOfType(glass, 'IRCP')?.purposeOfUse?.map((p) => p.coding?.[0]?.code), ['ETREAT', 'BTG']);
    const declared = auditEventOf(storedRow(inputs['a read on self-declared care']!));
    assert.deepEqual(codes(declared.meta?.security), ['http://densaulyq.kz/fhir/CodeSystem/access-basis|self-declared']);
    const system = auditEventOf(storedRow(inputs['a system acting for a practitioner, with a purpose it states']!));
    const user = system.agent.find((a) => a.requestor)!;
    assert.deepEqual(user.extension?.map((e) => e.valueCode), ['on-behalf-of', 'purpose-of-use']);
    assert.equal(user.who?.reference, 'Practitioner/doc-7');
    assert.deepEqual(codes(user.purposeOfUse?.[0]?.coding), ['http://terminology.hl7.org/CodeSystem/v3-ActReason|CAREMGT']);
    const search = auditEventOf(storedRow(inputs['a search with its query']!));
    const query = search.entity?.find((e) => e.role?.code === '24')?.query;
    assert.equal(Buffer.from(query!, 'base64').toString('utf8'), inputs['a search with its query']!.query);
  });

  test('the record holds codes and references only: who acted is the agent row, the patient and instant are columns', () => {
    const row = storedRow({ ...read, observer: undefined });
    assert.doesNotMatch(row.payload, /account-7|polyclinic-mis|Practitioner\/9|org-1|10\.1\.2\.3|p-1|2026-03-01/);
    assert.equal(JSON.parse(row.payload).g, auditAgent(clinician).id);
    // The same row under another patient or instant is served as about that patient, at that instant.
    const moved = auditEventOf({ ...row, patient: 'p-2', recorded: '2026-03-02T00:00:00.000Z' });
    assert.equal(moved.entity?.[0]?.what?.reference, 'Patient/p-2');
    assert.equal(moved.recorded, '2026-03-02T00:00:00.000Z');
  });

  test('the record of a clinician reading an Observation is under 160 bytes, where its AuditEvent takes kilobytes', (t) => {
    const input: AuditInput = { ...read, observer: undefined, entities: ['Observation/0b5a1c7e-3f7e-4a7e-9d3b-5f0a2b9c8d71'] };
    const compact = Buffer.byteLength(compactAuditRecord(input, auditAgent(clinician)));
    const whole = Buffer.byteLength(auditEventPayload(input, randomUUID()));
    t.diagnostic(`${compact} bytes compact, ${whole} bytes as an AuditEvent`);
    assert.ok(compact < 160, `${compact} bytes`);
    assert.ok(whole > 10 * compact, `${whole} bytes`);
  });

  test('the agent row is named by the digest of its text: the same caller the same row, any difference another', () => {
    const agent = auditAgent(clinician);
    assert.deepEqual(auditAgent({ ...clinician, scopes: [{ ...SYSTEM_READ, context: 'user', raw: 'user/*.rs' }] }), agent, 'scopes are not part of who acted');
    assert.equal(agent.id, agentId(agent.text));
    assert.match(agent.id, /^[A-Za-z0-9_-]{16}$/);
    const others = [
      { ...clinician, address: '10.1.2.4' },
      { ...clinician, purposeOfUse: 'ETREAT' },
      { ...clinician, purposeAsserted: true },
      { ...clinician, organization: 'org-2' },
      { ...clinician, fhirUser: undefined, onBehalfOf: 'Practitioner/9' },
      { ...clinician, role: 'administrator' as const },
    ];
    const ids = new Set([agent.id, ...others.map((c) => auditAgent(c).id)]);
    assert.equal(ids.size, others.length + 1);
    assert.notEqual(agentId(agent.text.replace('account-7', 'account-8')), agent.id, 'a changed agent text no longer matches its id');
  });

  test('the served id is a UUID made from the record\'s link: the same for the same link, another for another', () => {
    const hash = linkOf('record 1');
    const row = storedRow(read, hash);
    const id = auditEventOf(row).id!;
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'an RFC 9562 version 8 UUID');
    assert.equal(auditEventOf({ ...row }).id, id, 'stable across reads');
    assert.equal(auditEventOf(storedRow({ ...read, outcome: '4' }, hash)).id, id, 'it names the link, whatever the record');
    assert.notEqual(auditEventOf(storedRow(read, linkOf('record 2'))).id, id);
    // Its bits are the link's first 128, but for the version and variant.
    const plain = id.replaceAll('-', '');
    for (const [i, digit] of [...plain].entries()) if (i !== 12 && i !== 16) assert.equal(digit, hash[i], `digit ${i}`);
  });

  test('a record written before records were compact (a whole AuditEvent) is served as it was written', () => {
    const whole = auditEventPayload(read, ID);
    assert.equal(isCompactRecord(whole), false);
    const served = auditEventOf({ recorded: read.recorded, patient: 'p-1', hash: linkOf(whole), payload: whole, agent: null });
    assert.deepEqual(served, JSON.parse(whole));
    assert.equal(served.id, ID);
  });

  test('a compact record whose agent row is gone is still served, as an unknown agent, never as someone else', () => {
    const row = storedRow(read);
    const served = auditEventOf({ ...row, agent: null });
    assert.deepEqual(errors(served), []);
    const user = served.agent.find((a) => a.requestor)!;
    assert.equal(user.who?.identifier?.value, 'unknown');
    assert.equal(user.who?.reference, undefined);
    assert.equal(served.entity?.[0]?.what?.reference, 'Patient/p-1');
  });
});
