import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Communication, ConceptMap, DiagnosticReport, Observation, Organization, Patient, ServiceRequest, Specimen, Task } from '@medplum/fhirtypes';
import pino from 'pino';
import { accessPolicy, hl7v2IntakeAccess, seedingAccess } from '../../src/access/door.js';
import { parseScopes, resourceScopes } from '../../src/access/scopes.js';
import { loadConfig } from '../../src/config.js';
import { HL7V2_FACILITY_SYSTEM, IIN_SYSTEM, placerOrderSystem } from '../../src/fhir/identifier-systems.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { component, header, repetition, segment } from '../../src/hl7v2/message.js';
import { parseMessage } from '../../src/hl7v2/parse.js';
import { ORDER_PARKED } from '../../src/lab/orders.js';
import { labCodeSystem, labOrderSystem } from '../../src/lab/oru-to-fhir.js';
import { Repository } from '../../src/store/repository.js';
import { parseStored } from '../../src/store/stored-json.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { testDrivers } from '../support/database.js';
import { mllpClient } from '../hl7v2/mllp-client.js';
import { endpoint, fixture, withHeader } from './mllp-fixtures.js';

const LOINC = 'http://loinc.org';
const AIGUL_IIN = '900101401238';
const DAUREN_IIN = '850517345215';
/** A fixture's message about Aigul made about Dauren. */
const forDauren = (text: string) => text.replace(AIGUL_IIN, DAUREN_IIN).replace('Серікова^Айгүл^Болатқызы', 'Нұрланов^Дәурен').replace('|19900101|F', '|19850517|M');

for (const driver of testDrivers()) {
  describe(`laboratory orders over MLLP, and the results that answer them (${driver.name})`, { skip: driver.skip }, () => {
    let dataDir: string;
    let server: RunningServer;
    let drop: (() => Promise<void>) | undefined;
    const platform = () => new Repository(server.db, seedingAccess());
    const exchange = async (bytes: Buffer) => {
      const client = await mllpClient(server.mllp.port);
      await client.send(bytes);
      const answer = await client.next();
      client.end();
      return parseMessage(answer);
    };
    const find = async <T,>(type: string, params: [string, string][]) =>
      (await platform().search(parseSearchRequest(type, params))).entries.map((e) => ({ ...(parseStored(e) as T), versionId: e.versionId }));
    const order = async (placer: string) => (await find<ServiceRequest & { id: string }>('ServiceRequest', [['identifier', `${placerOrderSystem('POLY_7')}|${placer}`]]))[0];
    const report = async (filler: string) => (await find<DiagnosticReport & { id: string }>('DiagnosticReport', [['identifier', `${labOrderSystem('kdl')}|${filler}`]]))[0];
    /** KDL's system caller, as the lab's REST client would be. */
    const kdl = () =>
      new Repository(
        server.db,
        accessPolicy({ role: 'system', subject: 'kdl-lis', clientId: 'kdl-lis', organization: 'kdl', scopes: resourceScopes(parseScopes('system/Patient.rs')), purposeOfUse: 'TREAT' }),
      );

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'lab-orders-'));
      const database = await driver.createForProcess();
      drop = database.drop;
      server = await startServer(
        loadConfig({ ...database.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MLLP_PORT: '0', DEMO_PATIENTS: '0', AUDIT_ANCHOR_SECONDS: '0' }),
        pino({ level: 'silent' }),
      );
      const facility = (value: string) => [{ system: HL7V2_FACILITY_SYSTEM, value }];
      const organizations: Organization[] = [
        { resourceType: 'Organization', id: 'kdl', name: 'KDL Almaty', identifier: facility('KDL_ALMATY') },
        { resourceType: 'Organization', id: 'poly7', name: 'Polyclinic 7', identifier: facility('POLY_7') },
      ];
      // Both attached to Polyclinic 7 (the registry's word): the polyclinic's verified relationship. KDL has none.
      const attached = { generalPractitioner: [{ reference: 'Organization/poly7' }] };
      const patients: Patient[] = [
        { resourceType: 'Patient', id: 'aigul', identifier: [{ system: IIN_SYSTEM, value: AIGUL_IIN }], name: [{ family: 'Серікова', given: ['Айгүл'] }], birthDate: '1990-01-01', gender: 'female', ...attached },
        { resourceType: 'Patient', id: 'dauren', identifier: [{ system: IIN_SYSTEM, value: '850517345215' }], name: [{ family: 'Нұрланов', given: ['Дәурен'] }], birthDate: '1985-05-17', gender: 'male', ...attached },
      ];
      // KDL's own code for a blood count, mapped to LOINC by KDL's ConceptMap.
      const map: ConceptMap = {
        resourceType: 'ConceptMap',
        id: 'kdl-loinc',
        url: 'http://densaulyq.test/ConceptMap/kdl-loinc',
        status: 'active',
        group: [{ source: labCodeSystem('kdl'), target: LOINC, element: [{ code: 'OAK', target: [{ code: '58410-2', display: 'CBC panel - Blood by Automated count', equivalence: 'equivalent' }] }] }],
      };
      await platform().writeMany(
        [...organizations, endpoint('kdl-mllp', 'KDL_ALMATY', 'kdl'), endpoint('poly7-mllp', 'POLY_7', 'poly7'), ...patients, map].map((resource) => ({ resource, id: resource.id! })),
        'upsert',
      );
    });

    after(async () => {
      await server?.stop();
      await drop?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('records a polyclinic\'s OML^O21 as the order its lab performs, answered ORL^O22', async () => {
      assert.deepEqual(await kdl().matchIds('Patient', new URLSearchParams([['identifier', `${IIN_SYSTEM}|${AIGUL_IIN}`]])), [], 'before the order, KDL does not see Aigul');
      const ack = await exchange(fixture('oml-metabolic.hl7'));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      assert.equal(segment(ack, 'ERR'), undefined, 'recorded: no note');
      assert.deepEqual(repetition(ack.segments[0], 9), [['ORL'], ['O22'], ['ORL_O22']]);
      assert.equal(header(ack).receivingFacility, 'POLY_7');
      const request = await order('ORD-9001');
      assert.equal(request?.status, 'active');
      assert.equal(request?.intent, 'order');
      assert.equal(request?.priority, 'stat');
      assert.equal(request?.code?.coding?.[0]?.code, '24323-8');
      assert.equal(request?.subject?.reference, 'Patient/aigul');
      assert.deepEqual(request?.requester, { reference: 'Organization/poly7' });
      assert.deepEqual(request?.performer, [{ reference: 'Organization/kdl' }]);
      assert.equal(request?.authoredOn, '2026-12-06T08:25:00+06:00');
      assert.equal(request?.reasonCode?.[0]?.coding?.[0]?.code, 'E11.9');
      assert.equal(request?.note?.[0]?.text, 'Науқас аш қарынға келді.');
      const [specimen] = await find<Specimen>('Specimen', [['identifier', `${placerOrderSystem('POLY_7')}|ORD-9001/specimen/ORD-9001-1`]]);
      assert.equal(specimen?.type?.coding?.[0]?.code, 'SER');
      assert.deepEqual(request?.specimen, [{ reference: `Specimen/${(specimen as Specimen).id}` }]);
      assert.deepEqual(specimen?.request, [{ reference: `ServiceRequest/${request!.id}` }]);
    });

    it('files the lab\'s results for the order (not parked) based on it, the lab taking the order on, and alerts the requester of a critical one', async () => {
      const ack = await exchange(fixture('oru-ordered.hl7'));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      assert.equal(segment(ack, 'ERR'), undefined, 'filed, not parked');
      const request = await order('ORD-9001');
      const filed = await report('KDL-9001');
      assert.equal(filed?.subject?.reference, 'Patient/aigul');
      assert.equal(filed?.status, 'final');
      assert.deepEqual(filed?.basedOn, [{ reference: `ServiceRequest/${request!.id}` }]);
      const results = await find<Observation>('Observation', [['based-on', `ServiceRequest/${request!.id}`]]);
      assert.equal(results.length, 2, 'each result based on the order too');
      const [task] = await find<Task>('Task', [['focus', `ServiceRequest/${request!.id}`]]);
      assert.equal(task?.status, 'completed', 'taken on, and done: the report is final');
      assert.deepEqual(task?.owner, { reference: 'Organization/kdl' });
      assert.deepEqual(await kdl().matchIds('Patient', new URLSearchParams([['identifier', `${IIN_SYSTEM}|${AIGUL_IIN}`]])), ['aigul'], 'KDL now finds her by IIN (for the grace period after)');
      const alerts = await find<Communication>('Communication', [['recipient', 'Organization/poly7']]);
      assert.equal(alerts.length, 1, 'potassium 6.9 HH alerts the polyclinic that ordered it');
      assert.deepEqual(alerts[0]?.about, [{ reference: `DiagnosticReport/${filed!.id}` }]);
      assert.match(alerts[0]?.payload?.[2]?.contentString ?? '', /Potassium.*6\.9/);
    });

    it('revokes the order on ORC-1 CA: a new version of the same ServiceRequest, the first kept in its history', async () => {
      const cancel = Buffer.from(withHeader('oml-metabolic.hl7', { 10: 'POLY7-000313' }).toString().replace('ORC|NW|', 'ORC|CA|'));
      const ack = await exchange(cancel);
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      const request = await order('ORD-9001');
      assert.equal(request?.status, 'revoked');
      assert.equal(request?.versionId, '2');
      const history = await platform().history({ resourceType: 'ServiceRequest', id: request!.id, count: 10 });
      assert.deepEqual(history.entries.map((e) => (parseStored(e) as ServiceRequest).status), ['revoked', 'active']);
    });

    it('takes ORM^O01 v2.3.1 the same way, answered ORR^O02, the lab\'s local code given its LOINC by the lab\'s ConceptMap', async () => {
      const ack = await exchange(fixture('orm-blood-count.hl7'));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      assert.deepEqual(repetition(ack.segments[0], 9), [['ORR'], ['O02'], ['ORR_O02']]);
      const request = await order('ORD-9002');
      assert.equal(request?.status, 'active');
      assert.equal(request?.priority, 'routine');
      assert.equal(request?.subject?.reference, 'Patient/dauren');
      assert.deepEqual(request?.code?.coding?.map((c) => `${c.system}|${c.code}`), [`${LOINC}|58410-2`, `${labCodeSystem('kdl')}|OAK`]);
    });

    it('closes the patient to the lab again when the order it is working on is cancelled', async () => {
      const preliminary = forDauren(withHeader('oru-ordered.hl7', { 10: 'KDL000313' }).toString()).replaceAll('ORD-9001', 'ORD-9002').replaceAll('KDL-9001', 'KDL-9002').replace('||CH|F', '||CH|P').replaceAll('|||F|||', '|||P|||');
      assert.equal(segment(await exchange(Buffer.from(preliminary)), 'ERR'), undefined, 'filed on the order');
      const request = await order('ORD-9002');
      assert.equal((await find<Task>('Task', [['focus', `ServiceRequest/${request!.id}`]]))[0]?.status, 'in-progress', 'preliminary: still at work');
      assert.deepEqual(await kdl().matchIds('Patient', new URLSearchParams([['identifier', `${IIN_SYSTEM}|${DAUREN_IIN}`]])), ['dauren']);
      const cancel = Buffer.from(withHeader('orm-blood-count.hl7', { 10: 'POLY7-000316' }).toString().replace('ORC|NW|', 'ORC|CA|'));
      assert.equal(component(segment(await exchange(cancel), 'MSA'), 1), 'AA');
      assert.equal((await order('ORD-9002'))?.status, 'revoked');
      assert.equal((await find<Task>('Task', [['focus', `ServiceRequest/${request!.id}`]]))[0]?.status, 'cancelled', 'the lab\'s taking on of it withdrawn by the polyclinic');
      assert.deepEqual(await kdl().matchIds('Patient', new URLSearchParams([['identifier', `${IIN_SYSTEM}|${DAUREN_IIN}`]])), []);
    });

    it('rejects (AR) an order for a receiving lab not registered, at MSH-6, with ERR-8 in the sender\'s language', async () => {
      const ack = await exchange(withHeader('oml-metabolic.hl7', { 6: 'NOLAB', 10: 'POLY7-000399' }));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AR');
      assert.deepEqual(repetition(ack.segments[0], 9), [['ORL'], ['O22'], ['ORL_O22']]);
      const err = segment(ack, 'ERR');
      assert.equal(component(err, 3), '204');
      assert.equal(repetition(err, 2).map((c) => c[0]).join('^'), 'MSH^1^6^1');
      assert.equal(component(err, 8), ORDER_PARKED.unknownLab.kk);
      const russian = await exchange(Buffer.from(withHeader('oml-metabolic.hl7', { 6: 'NOLAB', 10: 'POLY7-000398' }).toString().replace('UNICODE UTF-8', 'UNICODE UTF-8|ru')));
      assert.equal(component(segment(russian, 'ERR'), 8), ORDER_PARKED.unknownLab.ru);
      const english = await exchange(Buffer.from(withHeader('oml-metabolic.hl7', { 6: 'NOLAB', 10: 'POLY7-000397' }).toString().replace('UNICODE UTF-8', 'UNICODE UTF-8|en')));
      assert.equal(component(segment(english, 'ERR'), 8), ORDER_PARKED.unknownLab.en);
      assert.equal(await order('ORD-9001').then((r) => r?.status), 'revoked', 'nothing written');
    });

    it('files a result parked for want of its order once the order arrives, and settles the message processed', async () => {
      const renumber = (text: string) => forDauren(text).replaceAll('ORD-9001', 'ORD-9003').replaceAll('KDL-9001', 'KDL-9003');
      const early = await exchange(Buffer.from(renumber(withHeader('oru-ordered.hl7', { 10: 'KDL000312' }).toString())));
      assert.equal(component(segment(early, 'MSA'), 1), 'AA');
      assert.equal(component(segment(early, 'ERR'), 4), 'I', 'no order yet: parked');
      assert.equal(await report('KDL-9003'), undefined);
      const intake = new Repository(server.db, hl7v2IntakeAccess()).hl7v2Messages;
      assert.ok((await intake.list(['review'])).some((m) => m.controlId === 'KDL000312'));
      const ack = await exchange(Buffer.from(renumber(withHeader('oml-metabolic.hl7', { 10: 'POLY7-000314' }).toString())));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      const request = await order('ORD-9003');
      const filed = await report('KDL-9003');
      assert.equal(filed?.subject?.reference, 'Patient/dauren');
      assert.deepEqual(filed?.basedOn, [{ reference: `ServiceRequest/${request!.id}` }]);
      const [message] = (await intake.list(['processed'])).filter((m) => m.controlId === 'KDL000312');
      assert.equal(message?.status, 'processed');
      assert.equal(component(segment(parseMessage(message!.ack), 'MSA'), 1), 'AA');
    });

    it('parks an order for a patient the polyclinic may not record for, with ERR-8 for its people', async () => {
      const ack = await exchange(Buffer.from(withHeader('oml-metabolic.hl7', { 10: 'POLY7-000315' }).toString().replace(AIGUL_IIN, '880321300126').replaceAll('ORD-9001', 'ORD-9004')));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      assert.equal(component(segment(ack, 'ERR'), 4), 'I');
      assert.equal(component(segment(ack, 'ERR'), 8), ORDER_PARKED.noPatient.kk);
      assert.equal(await order('ORD-9004'), undefined);
    });
  });
}
