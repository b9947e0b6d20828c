import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Communication, DiagnosticReport, Observation, Organization, Patient, ServiceRequest } from '@medplum/fhirtypes';
import pino from 'pino';
import { hl7v2IntakeAccess, seedingAccess } from '../../src/access/door.js';
import { loadConfig } from '../../src/config.js';
import { HL7V2_FACILITY_SYSTEM, IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { labOrderSystem } from '../../src/lab/oru-to-fhir.js';
import { parseStored } from '../../src/store/stored-json.js';
import { component, header, repetition, segment } from '../../src/hl7v2/message.js';
import { parseMessage } from '../../src/hl7v2/parse.js';
import type { Hl7v2MessageStatus } from '../../src/store/hl7v2-messages.js';
import { Repository } from '../../src/store/repository.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { testDrivers } from '../support/database.js';
import { mllpClient } from '../hl7v2/mllp-client.js';
import { endpoint, fixture, withHeader } from './mllp-fixtures.js';

for (const driver of testDrivers()) {
  describe(`laboratory intake over MLLP, against a started server (${driver.name})`, { skip: driver.skip }, () => {
    let dataDir: string;
    let server: RunningServer;
    let drop: (() => Promise<void>) | undefined;
    const kept = (statuses: Hl7v2MessageStatus[]) => new Repository(server.db, hl7v2IntakeAccess()).hl7v2Messages.list(statuses);
    /** Sends `bytes` on a fresh connection and parses the answer. */
    const exchange = async (bytes: Buffer) => {
      const client = await mllpClient(server.mllp.port);
      await client.send(bytes);
      const answer = await client.next();
      client.end();
      return { bytes: answer, ack: parseMessage(answer) };
    };

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'lab-intake-'));
      const database = await driver.createForProcess();
      drop = database.drop;
      server = await startServer(
        loadConfig({ ...database.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MLLP_PORT: '0', DEMO_PATIENTS: '0', AUDIT_ANCHOR_SECONDS: '0' }),
        pino({ level: 'silent' }),
      );
      const seeding = new Repository(server.db, seedingAccess());
      const organizations: Organization[] = [
        { resourceType: 'Organization', id: 'kdl', name: 'KDL Almaty' },
        { resourceType: 'Organization', id: 'olymp', name: 'Olymp' },
        // The polyclinic that placed the order (OBR-2's namespace POLY_7): told of critical results.
        { resourceType: 'Organization', id: 'poly7', name: 'Polyclinic 7', identifier: [{ system: HL7V2_FACILITY_SYSTEM, value: 'POLY_7' }] },
      ];
      // Aigul's clinic referred her to KDL (an active ServiceRequest it performs): KDL may record her results.
      const aigul: Patient = { resourceType: 'Patient', id: 'aigul', identifier: [{ system: IIN_SYSTEM, value: '900101401238' }], name: [{ family: 'Серікова', given: ['Айгүл'] }], birthDate: '1990-01-01', gender: 'female', address: [{ line: ['Абай даңғылы 10'], city: 'Алматы', postalCode: '050000', country: 'KZ' }] };
      const dauren: Patient = { resourceType: 'Patient', id: 'dauren', identifier: [{ system: IIN_SYSTEM, value: '850517345215' }], name: [{ family: 'Нұрланов' }] };
      const referral: ServiceRequest = {
        resourceType: 'ServiceRequest',
        id: 'aigul-panel',
        status: 'active',
        intent: 'order',
        code: { coding: [{ system: 'http://loinc.org', code: '24323-8' }] },
        subject: { reference: 'Patient/aigul' },
        performer: [{ reference: 'Organization/kdl' }],
      };
      // A report under a KDL filler number that KDL did not write (migrated from elsewhere): KDL may not change it.
      const foreign: DiagnosticReport = {
        resourceType: 'DiagnosticReport',
        id: 'migrated',
        identifier: [{ system: labOrderSystem('kdl'), value: 'KDL-OLD-1' }],
        status: 'final',
        code: { text: 'Migrated report' },
        subject: { reference: 'Patient/aigul' },
      };
      await seeding.writeMany(
        [...organizations, endpoint('kdl-mllp', 'KDL_ALMATY', 'kdl'), endpoint('olymp-mllp', 'OLYMP', 'olymp', 'suspended'), aigul, dauren, referral, foreign].map((resource) => ({
          resource,
          id: resource.id!,
        })),
        'upsert',
      );
    });

    after(async () => {
      await server?.stop();
      await drop?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** The current resources of `type` with the lab's identifier `value`, as the platform sees them. */
    const filed = async <T,>(type: string, value: string) =>
      (await new Repository(server.db, seedingAccess()).search(parseSearchRequest(type, [['identifier', `${labOrderSystem('kdl')}|${value}`]]))).entries.map((e) => ({
        resource: parseStored(e) as T,
        versionId: e.versionId,
      }));

    it('accepts a registered lab\'s ORU^R01 with AA, files its results in the patient\'s record as the lab, and keeps the message', async () => {
      const { ack } = await exchange(fixture('oru-chemistry.hl7'));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      assert.equal(component(segment(ack, 'MSA'), 2), 'KDL000101');
      assert.equal(segment(ack, 'ERR'), undefined, 'filed: no note');
      assert.equal(header(ack).receivingFacility, 'KDL_ALMATY');
      const [report] = await filed<DiagnosticReport>('DiagnosticReport', 'KDL-55501');
      assert.equal(report?.resource.subject?.reference, 'Patient/aigul');
      assert.equal(report?.resource.status, 'final');
      assert.equal(report?.resource.result?.length, 5);
      assert.match(report!.resource.result![0]!.reference!, /^Observation\/[0-9a-f-]{36}$/, 'references resolved to the ids chosen');
      const [glucose] = await filed<Observation>('Observation', 'KDL-55501/2345-7/');
      assert.equal(glucose?.resource.valueQuantity?.value, 6.8);
      assert.deepEqual(glucose?.resource.performer, [{ reference: 'Organization/kdl' }]);
      const [message] = (await kept(['processed'])).filter((m) => m.controlId === 'KDL000101');
      assert.equal(message?.sender, 'LIS|KDL_ALMATY');
      assert.equal(message?.organization, 'kdl');
      assert.equal(message?.messageType, 'ORU^R01');
      assert.deepEqual(message?.content, fixture('oru-chemistry.hl7'), 'kept byte for byte');
      // Potassium 3.2 flagged LL: the polyclinic whose order it was is alerted, by the lab, in the same filing.
      const alerts = (await new Repository(server.db, seedingAccess()).search(parseSearchRequest('Communication', [['recipient', 'Organization/poly7']]))).entries.map((e) => parseStored(e) as Communication);
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]?.priority, 'stat');
      assert.deepEqual(alerts[0]?.sender, { reference: 'Organization/kdl' });
      assert.deepEqual(alerts[0]?.about, [{ reference: `DiagnosticReport/${report!.resource.id}` }]);
    });

    it('answers a resent control id with the first ACK, byte for byte, and keeps it once', async () => {
      const first = await exchange(fixture('oru-cbc.hl7'));
      const again = await exchange(fixture('oru-cbc.hl7'));
      assert.deepEqual(again.bytes, first.bytes);
      assert.equal((await kept(['received', 'processed', 'review', 'rejected'])).filter((m) => m.controlId === 'KDL000102').length, 1);
    });

    it('keeps one of two copies sent at once on two connections, and answers both alike', async () => {
      const copy = withHeader('oru-cbc.hl7', { 10: 'RACE-1' });
      const [a, b] = await Promise.all([exchange(copy), exchange(copy)]);
      assert.deepEqual(a.bytes, b.bytes);
      assert.equal(component(segment(a.ack, 'MSA'), 1), 'AA');
      assert.equal((await kept(['received', 'processed', 'review', 'rejected'])).filter((m) => m.controlId === 'RACE-1').length, 1);
    });

    it('files a correction over the first result: a new version of the same resources, the first kept in history', async () => {
      const { ack } = await exchange(fixture('oru-corrected.hl7'));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      const [glucose] = await filed<Observation>('Observation', 'KDL-55501/2345-7/');
      assert.equal(glucose?.resource.status, 'corrected');
      assert.equal(glucose?.resource.valueQuantity?.value, 5.4);
      assert.equal(glucose?.versionId, '2');
      const [report] = await filed<DiagnosticReport>('DiagnosticReport', 'KDL-55501');
      assert.equal(report?.resource.status, 'corrected');
      assert.equal((await filed<DiagnosticReport>('DiagnosticReport', 'KDL-55501')).length, 1, 'superseded, not duplicated');
      const history = await new Repository(server.db, seedingAccess()).history({ resourceType: 'Observation', id: glucose!.resource.id!, count: 10 });
      assert.deepEqual(history.entries.map((e) => (parseStored(e) as Observation).valueQuantity?.value), [5.4, 6.8]);
    });

    it('records in the patient\'s access log that the lab wrote her results', async () => {
      const log = await new Repository(server.db, seedingAccess()).accessLog('aigul', { count: 100 });
      const byLab = log.records
        .filter((r) => r.agent !== null && (JSON.parse(r.agent) as { org?: string; client?: string }).org === 'kdl')
        .map((r) => JSON.parse(r.payload) as { a: string; e?: string[] });
      assert.ok(byLab.some((p) => p.a === 'C' && p.e?.some((e) => e.startsWith('DiagnosticReport/'))), 'the lab\'s creation of the report');
      assert.ok(byLab.some((p) => p.a === 'U' && p.e?.some((e) => e.startsWith('Observation/'))), 'and its correction');
    });

    it('parks a message whose filing the door refuses, leaving nothing half-written', async () => {
      const bytes = Buffer.from(withHeader('oru-chemistry.hl7', { 10: 'REFUSED-1' }).toString().replaceAll('KDL-55501', 'KDL-OLD-1'));
      const { ack } = await exchange(bytes);
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      assert.equal(component(segment(ack, 'ERR'), 3), '207');
      assert.equal(component(segment(ack, 'ERR'), 4), 'I');
      assert.deepEqual(await filed('Observation', 'KDL-OLD-1/2345-7/'), [], 'the results of the refused report rolled back with it');
      const [report] = await filed<DiagnosticReport>('DiagnosticReport', 'KDL-OLD-1');
      assert.equal(report?.resource.code.text, 'Migrated report');
      const [parked] = (await kept(['review'])).filter((m) => m.controlId === 'REFUSED-1');
      assert.match(parked?.reason ?? '', /could not be filed/);
    });

    it('parks results for a patient the lab may not record for: AA with an informational ERR, kept for review, nothing filed', async () => {
      const { ack } = await exchange(withHeader('oru-cbc.hl7', { 10: 'PARK-1' }));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      assert.equal(component(segment(ack, 'ERR'), 4), 'I');
      assert.deepEqual(repetition(segment(ack, 'ERR'), 2).map((c) => c[0]), ['PID', '1', '3', '1']);
      assert.deepEqual(await filed('DiagnosticReport', 'KDL-55602'), []);
      const [parked] = (await kept(['review'])).filter((m) => m.controlId === 'PARK-1');
      assert.match(parked?.reason ?? '', /No patient the laboratory may record for/);
      assert.deepEqual(parked?.ack, (await exchange(withHeader('oru-cbc.hl7', { 10: 'PARK-1' }))).bytes, 'a resend gets the same note');
      const noIin = await exchange(Buffer.from(withHeader('oru-notes.hl7', { 10: 'PARK-2' }).toString().replace('900101401238', '900101401239')));
      assert.equal(component(segment(noIin.ack, 'MSA'), 1), 'AA');
      assert.match(component(segment(noIin.ack, 'ERR'), 7), /PID-3 holds no valid IIN/);
      assert.match(component(segment(noIin.ack, 'ERR'), 8), /тексеруге қалдырылды/);
    });

    it('without an IIN, files for the one patient the name, birth date, sex and address identify with certainty', async () => {
      const text = withHeader('oru-chemistry.hl7', { 10: 'DEMO-1' }).toString().replaceAll('KDL-55501', 'KDL-DEMO-1').replace('900101401238^^^KZ&1.2.398.7.1.1&ISO^NI~', '');
      assert.ok(!text.includes('900101401238'), 'the IIN is gone from PID-3');
      const { ack } = await exchange(Buffer.from(text));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AA');
      assert.equal(segment(ack, 'ERR'), undefined, 'filed: no note');
      const [report] = await filed<DiagnosticReport>('DiagnosticReport', 'KDL-DEMO-1');
      assert.equal(report?.resource.subject?.reference, 'Patient/aigul');
      const other = text.replace('Серікова^Айгүл^Болатқызы', 'Ахметова^Сәуле').replaceAll('KDL-DEMO-1', 'KDL-DEMO-2').replace('|DEMO-1|', '|DEMO-2|');
      const parked = await exchange(Buffer.from(other));
      assert.match(component(segment(parked.ack, 'ERR'), 7), /match no patient with certainty/, 'another name: no certain match, parked');
    });

    it('takes Cyrillic results in 8859/5 and Windows-1251, answering each in its own character set', async () => {
      for (const [name, charset] of [['oru-8859-5.hl7', '8859/5'], ['oru-windows-1251.hl7', 'WINDOWS-1251']] as const) {
        const { ack } = await exchange(fixture(name));
        assert.equal(component(segment(ack, 'MSA'), 1), 'AA', name);
        assert.equal(component(ack.segments[0], 18), charset);
      }
    });

    it('answers a bad segment with AE naming it and the original control id, and keeps the message as rejected', async () => {
      const { ack } = await exchange(fixture('oru-bad-segment.hl7'));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AE');
      assert.equal(component(segment(ack, 'MSA'), 2), 'KDL000109', 'the NAK still answers the message it refuses');
      assert.equal(component(segment(ack, 'ERR'), 3), '100');
      assert.equal(component(segment(ack, 'ERR'), 4), 'E');
      const [rejected] = (await kept(['rejected'])).filter((m) => m.controlId === 'KDL000109');
      assert.match(rejected?.reason ?? '', /Segment 4/);
      assert.deepEqual(rejected?.content, fixture('oru-bad-segment.hl7'));
    });

    it('answers text that is not what MSH-18 declares with AE 102 at MSH-18', async () => {
      const { ack } = await exchange(fixture('oru-wrong-encoding.hl7'));
      assert.equal(component(segment(ack, 'MSA'), 1), 'AE');
      assert.equal(component(segment(ack, 'MSA'), 2), 'KDL000108');
      assert.deepEqual(repetition(segment(ack, 'ERR'), 2), [['MSH'], ['1'], ['18'], ['1']]);
      assert.equal(component(segment(ack, 'ERR'), 3), '102');
    });

    it('rejects (AR) a type, trigger, processing id or version it does not take, and unknown or suspended senders', async () => {
      const cases: [Buffer, string, string][] = [
        [withHeader('oru-notes.hl7', { 9: 'SIU^S12^SIU_S12', 10: 'R-1' }), '200', 'MSH^1^9^1^1'],
        [withHeader('oru-notes.hl7', { 9: 'ORU^W01', 10: 'R-2' }), '201', 'MSH^1^9^1^2'],
        [withHeader('oru-notes.hl7', { 11: 'T', 10: 'R-3' }), '202', 'MSH^1^11^1'],
        [withHeader('oru-notes.hl7', { 12: '2.3', 10: 'R-4' }), '203', 'MSH^1^12^1'],
        [withHeader('oru-notes.hl7', { 4: 'NOBODY', 10: 'R-5' }), '204', 'MSH^1^4^1'],
        [withHeader('oru-notes.hl7', { 4: 'OLYMP', 10: 'R-6' }), '204', 'MSH^1^4^1'],
        [withHeader('oru-notes.hl7', { 4: 'OTHER,KDL_ALMATY', 10: 'R-9' }), '204', 'MSH^1^4^1'],
      ];
      for (const [bytes, code, location] of cases) {
        const { ack } = await exchange(bytes);
        const err = segment(ack, 'ERR');
        assert.equal(component(segment(ack, 'MSA'), 1), 'AR', code);
        assert.equal(component(err, 3), code);
        assert.equal(repetition(err, 2).map((c) => c[0]).join('^'), location);
      }
      const kazakh = await exchange(withHeader('oru-notes.hl7', { 4: 'NOBODY', 10: 'R-7' }));
      assert.match(component(segment(kazakh.ack, 'ERR'), 8), /^Жіберуші жүйе тіркелмеген/, 'ERR-8 for the lab\'s people, in Kazakh by default');
      const russian = await exchange(Buffer.from(withHeader('oru-notes.hl7', { 4: 'NOBODY', 10: 'R-8' }).toString().replace('UNICODE UTF-8', 'UNICODE UTF-8|ru')));
      assert.match(component(segment(russian.ack, 'ERR'), 8), /^Система-отправитель не зарегистрирована/, 'in Russian when MSH-19 says so');
      const reasons = (await kept(['rejected'])).filter((m) => m.controlId?.startsWith('R-') && Number(m.controlId.slice(2)) <= 6).map((m) => m.reason);
      assert.equal(reasons.length, 6);
      assert.ok((await kept(['rejected'])).some((m) => m.controlId === 'R-9'), 'a comma in MSH-4 is part of the name, not a second facility to search for');
      assert.ok(reasons.some((r) => /OLYMP.*not active/.test(r ?? '')));
    });

    it('takes a rejected message again once mended under the same control id', async () => {
      const broken = withHeader('oru-notes.hl7', { 12: '2.2', 10: 'MENDED-1' });
      assert.equal(component(segment((await exchange(broken)).ack, 'MSA'), 1), 'AR');
      assert.equal(component(segment((await exchange(withHeader('oru-notes.hl7', { 10: 'MENDED-1' }))).ack, 'MSA'), 1), 'AA');
    });

    it('answers what has no readable MSH with AR and an empty MSA-2, keeps it, and stays up for the next', async () => {
      const client = await mllpClient(server.mllp.port);
      await client.send('this is not HL7');
      const ack = parseMessage(await client.next());
      assert.equal(component(segment(ack, 'MSA'), 1), 'AR');
      assert.equal(component(segment(ack, 'MSA'), 2), '');
      await client.send(fixture('oru-microbiology.hl7'));
      assert.equal(component(segment(parseMessage(await client.next()), 'MSA'), 1), 'AA');
      client.end();
      assert.ok((await kept(['rejected'])).some((m) => m.sender === null && m.content.toString() === 'this is not HL7'));
    });
  });
}
