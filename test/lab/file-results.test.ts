import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Communication, ConceptMap, DiagnosticReport, Observation, Parameters } from '@medplum/fhirtypes';
import { HL7V2_FACILITY_SYSTEM, IIN_SYSTEM, placerOrderSystem } from '../../src/fhir/identifier-systems.js';
import { hl7v2IntakeAccess } from '../../src/access/door.js';
import { labCodeSystem, labOrderSystem } from '../../src/lab/oru-to-fhir.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const LOINC = 'http://loinc.org';
const V3 = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const AIGUL_IIN = '900101401238';
const LAB = 'kdl-fhir';
const CLINIC = 'poly7-fhir';

/** A results transaction as a FHIR-speaking lab sends it: conditional updates on its own identifiers, the patient by IIN. */
function results(order: string, potassium: number, glucose: number, status: Observation['status'] = 'final'): Bundle {
  const system = labOrderSystem(LAB);
  const subject = { identifier: { system: IIN_SYSTEM, value: AIGUL_IIN } };
  const observation = (key: string, code: { system: string; code: string; display?: string }, value: number, flag: string): Observation => ({
    resourceType: 'Observation',
    identifier: [{ system, value: `${order}/${key}` }],
    status,
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [code] },
    subject,
    effectiveDateTime: '2026-12-06T10:00:00+06:00',
    valueQuantity: { value, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    interpretation: [{ coding: [{ system: V3, code: flag }] }],
  });
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    identifier: [{ system, value: order }],
    basedOn: [{ reference: 'ServiceRequest/sr-aigul' }],
    status: status === 'corrected' ? 'corrected' : 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'CH' }] }],
    code: { coding: [{ system: LOINC, code: '24323-8' }] },
    subject,
    result: [{ reference: 'urn:uuid:00000000-0000-4000-8000-000000000001' }, { reference: 'urn:uuid:00000000-0000-4000-8000-000000000002' }],
  };
  const put = (fullUrl: string | undefined, resource: Observation | DiagnosticReport, identifier: string) => ({
    ...(fullUrl ? { fullUrl } : {}),
    resource,
    request: { method: 'PUT' as const, url: `${resource.resourceType}?identifier=${encodeURIComponent(`${system}|${identifier}`)}` },
  });
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      put('urn:uuid:00000000-0000-4000-8000-000000000001', observation('K', { system: LOINC, code: '2823-3', display: 'Potassium' }, potassium, potassium > 6 ? 'HH' : 'N'), `${order}/K`),
      put('urn:uuid:00000000-0000-4000-8000-000000000002', observation('GLU', { system: labCodeSystem(LAB), code: 'GLU', display: 'Глюкоза' }, glucose, 'N'), `${order}/GLU`),
      put(undefined, report, order),
    ],
  };
}

const references = (body: Parameters, name: string) => (body.parameter ?? []).filter((p) => p.name === name).map((p) => p.valueReference!.reference!);

for (const driver of testDrivers()) describe(`A laboratory files results over FHIR ($file-results), by the HL7 v2 route's code path (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let lab: Record<string, string>;
  let clinic: Record<string, string>;
  before(async () => {
    server = await startTestServer(driver);
    const put = async (resource: { resourceType: string; id: string }) => {
      const reply = await server.fhir('PUT', `${resource.resourceType}/${resource.id}`, resource);
      assert.ok(reply.status === 200 || reply.status === 201, reply.text);
    };
    await put({ resourceType: 'Organization', id: LAB, name: 'KDL' } as never);
    await put({ resourceType: 'Organization', id: CLINIC, name: 'Polyclinic 7', identifier: [{ system: HL7V2_FACILITY_SYSTEM, value: 'POLY_7' }] } as never);
    await put({ resourceType: 'Patient', id: 'aigul', identifier: [{ system: IIN_SYSTEM, value: AIGUL_IIN }], name: [{ family: 'Серікова' }], generalPractitioner: [{ reference: `Organization/${CLINIC}` }] } as never);
    await put({ resourceType: 'ServiceRequest', id: 'sr-aigul', status: 'active', intent: 'order', code: { coding: [{ system: LOINC, code: '24323-8' }] }, subject: { reference: 'Patient/aigul' }, requester: { reference: `Organization/${CLINIC}` }, performer: [{ reference: `Organization/${LAB}` }] } as never);
    lab = { authorization: `Bearer ${await server.token({ sub: 'kdl-lis', client_id: 'kdl-lis', scope: 'system/*.cruds', role: 'system', organization: LAB })}` };
    clinic = { authorization: `Bearer ${await server.token({ sub: 'poly7-doctor', scope: 'user/*.rs', role: 'clinician', organization: CLINIC })}` };
    const map: ConceptMap = {
      resourceType: 'ConceptMap',
      url: `http://densaulyq.test/ConceptMap/${LAB}-loinc`,
      status: 'active',
      group: [{ source: labCodeSystem(LAB), target: LOINC, element: [{ code: 'GLU', target: [{ code: '2345-7', display: 'Glucose [Moles/volume] in Serum or Plasma', equivalence: 'equivalent' }] }] }],
    };
    const created = await server.fhir('POST', 'ConceptMap', map, lab);
    assert.equal(created.status, 201, created.text);
  });
  after(() => server.close());

  test('the results are filed for the patient named by IIN, the local glucose code gains its LOINC coding, and the critical potassium alerts the ordering polyclinic', async () => {
    const reply = await server.fhir('POST', '$file-results', results('KDL-F-1', 6.9, 5.4), lab);
    assert.equal(reply.status, 200, reply.text);
    const filed = references(reply.body, 'filed');
    assert.equal(filed.length, 3);
    const [alertRef] = references(reply.body, 'alert');
    assert.ok(alertRef, 'a critical result raised an alert');
    const glucose = (await server.fhir('GET', `Observation?identifier=${encodeURIComponent(`${labOrderSystem(LAB)}|KDL-F-1/GLU`)}`)).body.entry[0].resource as Observation;
    assert.equal(glucose.subject?.reference, 'Patient/aigul');
    assert.deepEqual(glucose.code.coding?.map((c) => `${c.system}|${c.code}`), [`${LOINC}|2345-7`, `${labCodeSystem(LAB)}|GLU`]);
    const alert = (await server.fhir('GET', alertRef!, undefined, clinic)).body as Communication;
    assert.deepEqual(alert.recipient, [{ reference: `Organization/${CLINIC}` }], 'the requester of the ServiceRequest the report is based on');
    assert.equal(alert.priority, 'stat');
    assert.match(alert.payload?.[2]?.contentString ?? '', /^Critical laboratory result: Potassium: 6\.9 mmol\/L/);
    const inbox = await server.fhir('GET', `Communication?recipient=Organization/${CLINIC}&category=alert`, undefined, clinic);
    assert.ok(inbox.body.entry.some((e: { resource: Communication }) => e.resource.id === alert.id), "in the polyclinic's alerts");
  });

  test('a correction lands on the same resources as new versions; nothing normal raises an alert', async () => {
    const reply = await server.fhir('POST', '$file-results', results('KDL-F-1', 4.4, 5.6, 'corrected'), lab);
    assert.equal(reply.status, 200, reply.text);
    assert.ok(references(reply.body, 'filed').every((r) => r.endsWith('/_history/2')), references(reply.body, 'filed').join(' '));
    assert.deepEqual(references(reply.body, 'alert'), []);
    const lastn = await server.fhir('GET', `Observation/$lastn?patient=aigul&category=laboratory`, undefined, clinic);
    assert.equal(lastn.status, 200, lastn.text);
    assert.deepEqual(lastn.body.entry.map((e: { resource: Observation }) => e.resource.valueQuantity?.value).sort(), [4.4, 5.6]);
  });

  test('refused with the path and nothing filed: an unknown IIN, a wrong resource, not a transaction, a client that cannot raise alerts, a clinician', async () => {
    const unknown = results('KDL-F-2', 4, 5);
    for (const entry of unknown.entry!) (entry.resource as Observation).subject = { identifier: { system: IIN_SYSTEM, value: '850517345215' } };
    const noPatient = await server.fhir('POST', '$file-results', unknown, lab);
    assert.equal(noPatient.status, 422, noPatient.text);
    assert.deepEqual(noPatient.body.issue[0].expression, ['Bundle.entry[0].resource.subject.identifier']);
    const wrong = results('KDL-F-3', 4, 5);
    wrong.entry![0]!.resource = { resourceType: 'Patient' } as never;
    const wrongType = await server.fhir('POST', '$file-results', wrong, lab);
    assert.equal(wrongType.status, 400, wrongType.text);
    assert.deepEqual(wrongType.body.issue[0].expression, ['Bundle.entry[0].resource']);
    const batch = await server.fhir('POST', '$file-results', { ...results('KDL-F-4', 4, 5), type: 'batch' }, lab);
    assert.equal(batch.status, 400, batch.text);
    const narrow = { authorization: `Bearer ${await server.token({ sub: 'kdl-lis', client_id: 'kdl-lis', scope: 'system/Observation.cruds system/DiagnosticReport.cruds', role: 'system', organization: LAB })}` };
    assert.equal((await server.fhir('POST', '$file-results', results('KDL-F-5', 4, 5), narrow)).status, 403);
    assert.equal((await server.fhir('POST', '$file-results', results('KDL-F-6', 4, 5), clinic)).status, 403);
    const none = await server.fhir('GET', `DiagnosticReport?identifier=${encodeURIComponent(`${labOrderSystem(LAB)}|KDL-F-2`)}`);
    assert.deepEqual(none.body.entry ?? [], []);
  });

  test('a report whose placer number (PLAC) names the lab\'s order is based on it, with its results, and the lab takes the order on, done with the final report', async () => {
    await server.fhir('PUT', 'ServiceRequest/sr-placed', {
      resourceType: 'ServiceRequest', id: 'sr-placed', status: 'active', intent: 'order', identifier: [{ system: placerOrderSystem('POLY_7'), value: 'ORD-F-9' }],
      code: { coding: [{ system: LOINC, code: '24323-8' }] }, subject: { reference: 'Patient/aigul' }, requester: { reference: `Organization/${CLINIC}` }, performer: [{ reference: `Organization/${LAB}` }],
    });
    const bundle = results('KDL-F-9', 4.1, 5.2);
    const report = bundle.entry![2]!.resource as DiagnosticReport;
    delete report.basedOn;
    report.identifier!.push({ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'PLAC' }] }, system: placerOrderSystem('POLY_7'), value: 'ORD-F-9' });
    const reply = await server.fhir('POST', '$file-results', bundle, lab);
    assert.equal(reply.status, 200, reply.text);
    const filed = await server.fhir('GET', `DiagnosticReport?identifier=${encodeURIComponent(`${labOrderSystem(LAB)}|KDL-F-9`)}`);
    assert.deepEqual((filed.body.entry[0].resource as DiagnosticReport).basedOn, [{ reference: 'ServiceRequest/sr-placed' }]);
    assert.equal((await server.fhir('GET', 'Observation?based-on=ServiceRequest/sr-placed')).body.entry.length, 2);
    const tasks = await server.fhir('GET', 'Task?focus=ServiceRequest/sr-placed');
    assert.deepEqual(tasks.body.entry.map((e: { resource: { owner?: { reference?: string }; status: string } }) => [e.resource.owner?.reference, e.resource.status]), [[`Organization/${LAB}`, 'completed']]);
  });

  test('$hl7v2-messages: the review queue for an administrator with clinical access, each message with why, as received, and its ACK', async () => {
    const intake = new Repository(server.db, hl7v2IntakeAccess()).hl7v2Messages;
    const content = Buffer.from('MSH|^~\\&|LIS|KDL|||20261206||ORU^R01|Q1|P|2.5.1\rPID|1||000000000000\r', 'latin1');
    await intake.keep({ sender: 'LIS|KDL', controlId: 'Q1', messageType: 'ORU^R01', organization: LAB, status: 'review', reason: 'PID-3 holds no valid IIN', content, ack: Buffer.from('MSH|ack') });
    await intake.keep({ sender: 'LIS|KDL', controlId: 'Q2', messageType: 'ORU^R01', organization: LAB, status: 'processed', reason: null, content, ack: Buffer.from('MSH|ack') });
    const queue = await server.fhir('GET', '$hl7v2-messages');
    assert.equal(queue.status, 200, queue.text);
    const rows = queue.body.entry.map((e: { resource: Parameters }) => Object.fromEntries(e.resource.parameter!.map((p) => [p.name, p.valueString ?? p.valueCode ?? p.valueBase64Binary ?? p.valueReference?.reference])));
    assert.deepEqual(rows.map((r: Record<string, string>) => [r.controlId, r.status, r.reason]), [['Q1', 'review', 'PID-3 holds no valid IIN']]);
    assert.deepEqual(Buffer.from(rows[0].message, 'base64'), content, 'as received, byte for byte');
    const all = await server.fhir('GET', '$hl7v2-messages?status=review,processed&_count=10');
    assert.deepEqual(all.body.entry.map((e: { resource: Parameters }) => e.resource.parameter!.find((p) => p.name === 'controlId')?.valueString), ['Q2', 'Q1']);
    assert.equal((await server.fhir('GET', '$hl7v2-messages?status=lost')).status, 400);
    assert.equal((await server.fhir('GET', '$hl7v2-messages', undefined, clinic)).status, 403, 'the messages name patients: not for an organization');
  });
});
