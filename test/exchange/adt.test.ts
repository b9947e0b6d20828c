import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Communication, Encounter, Endpoint, Identifier, Organization, Parameters, Patient } from '@medplum/fhirtypes';
import pino from 'pino';
import { duplicateScanAccess, hl7v2IntakeAccess, seedingAccess } from '../../src/access/door.js';
import { addUser } from '../../src/access/users.js';
import { mintAccessToken } from '../../src/access/tokens.js';
import { loadConfig } from '../../src/config.js';
import { PARKED } from '../../src/exchange/adt.js';
import { medicalRecordSystem, visitNumberSystem } from '../../src/exchange/adt-to-fhir.js';
import { HL7V2_FACILITY_SYSTEM, IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { scanDuplicates } from '../../src/identity/duplicate-scan.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { encodeText } from '../../src/hl7v2/charset.js';
import { MLLP_CONNECTION_TYPE } from '../../src/hl7v2/intake.js';
import { component, repetition, segment } from '../../src/hl7v2/message.js';
import { parseMessage } from '../../src/hl7v2/parse.js';
import { SENDER_MERGE } from '../../src/store/duplicate-candidates.js';
import type { Hl7v2MessageStatus } from '../../src/store/hl7v2-messages.js';
import { Repository } from '../../src/store/repository.js';
import { parseStored } from '../../src/store/stored-json.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { mllpClient } from '../hl7v2/mllp-client.js';
import { testDrivers } from '../support/database.js';

const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url)).toString('utf8');
/** A fixture's text with MSH fields replaced (`{ 10: 'X1' }` sets MSH-10) and other text swapped. */
function message(name: string, fields: Record<number, string> = {}, swaps: [string, string][] = []): string {
  const [msh, ...rest] = fixture(name).split('\r');
  const parts = msh!.split('|');
  for (const [n, value] of Object.entries(fields)) parts[Number(n) - 1] = value;
  let text = [parts.join('|'), ...rest].join('\r');
  for (const [from, to] of swaps) text = text.replaceAll(from, to);
  return text;
}

const ORIGIN = 'http://densaulyq.test';
const CITY = 'city';
const MRN = (value: string): Identifier => ({
  use: 'usual',
  type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
  system: medicalRecordSystem(CITY, 'CITY_HOSP'),
  value,
  assigner: { reference: `Organization/${CITY}` },
});
const person = (id: string, iin: string | undefined, family: string, given: string, birthDate: string, gender: Patient['gender'], extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  id,
  identifier: iin ? [{ system: IIN_SYSTEM, value: iin }] : [],
  name: [{ family, given: [given] }],
  birthDate,
  gender,
  ...extra,
});
const attached = { generalPractitioner: [{ reference: `Organization/${CITY}` }] };

for (const driver of testDrivers()) {
  describe(`HL7 v2 ADT from a hospital over MLLP, against a started server (${driver.name})`, { skip: driver.skip }, () => {
    let dataDir: string;
    let server: RunningServer;
    let drop: (() => Promise<void>) | undefined;
    const platform = () => new Repository(server.db, seedingAccess());
    const kept = (statuses: Hl7v2MessageStatus[]) => new Repository(server.db, hl7v2IntakeAccess()).hl7v2Messages.list(statuses);
    const exchange = async (text: string | Buffer) => {
      const client = await mllpClient(server.mllp.port);
      await client.send(text);
      const answer = await client.next();
      client.end();
      return { bytes: answer, ack: parseMessage(answer) };
    };
    const msa = (ack: ReturnType<typeof parseMessage>) => component(segment(ack, 'MSA'), 1);
    const patient = async (id: string) => parseStored<Patient>(await platform().read('Patient', id));
    const visits = async (number: string) =>
      (await platform().search(parseSearchRequest('Encounter', [['identifier', `${visitNumberSystem(CITY)}|${number}`]]))).entries.map((e) => ({
        resource: { ...parseStored<Encounter>(e), id: e.id },
        versionId: e.versionId,
      }));

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'adt-'));
      const database = await driver.createForProcess();
      drop = database.drop;
      server = await startServer(
        loadConfig({ ...database.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', MLLP_PORT: '0', DEMO_PATIENTS: '0', AUDIT_ANCHOR_SECONDS: '0', PUBLIC_ORIGIN: ORIGIN }),
        pino({ level: 'silent' }),
      );
      const city: Organization = { resourceType: 'Organization', id: CITY, name: 'City Hospital No. 1' };
      const endpoint: Endpoint = {
        resourceType: 'Endpoint',
        id: 'city-mllp',
        status: 'active',
        identifier: [{ system: HL7V2_FACILITY_SYSTEM, value: 'CITY_HOSP' }],
        connectionType: MLLP_CONNECTION_TYPE,
        managingOrganization: { reference: `Organization/${CITY}` },
        payloadType: [{ text: 'HL7 v2 ADT' }],
        address: 'mllp:CITY_HOSP',
      };
      const people = [
        person('asel', '850314412340', 'Нұрланова', 'Әсел', '1985-03-14', 'female', attached),
        // Berik has never been to City Hospital: nothing relates them.
        person('berik', '721102323452', 'Омаров', 'Берік', '1972-11-02', 'male'),
        person('gulnar', '790909477772', 'Әлиева', 'Гүлнар', '1979-09-09', 'female'),
        person('dana', '010505645670', 'Сейітова', 'Дана', '2001-05-05', 'female', attached),
        person('yerlan', '900721334568', 'Жұмабаев', 'Ерлан', '1990-07-21', 'male', attached),
        // Two records of City Hospital's that are two persons here (one registered before he had an IIN).
        person('marat', '680130356786', 'Сапаров', 'Марат', '1968-01-30', 'male', { ...attached, identifier: [{ system: IIN_SYSTEM, value: '680130356786' }, MRN('M-500')] }),
        person('marat-2', undefined, 'Сапаров', 'Марат', '1968-01-30', 'male', { ...attached, identifier: [MRN('M-501')] }),
      ];
      await platform().writeMany([city, endpoint, ...people].map((resource) => ({ resource, id: resource.id! })), 'upsert');
    });

    after(async () => {
      await server?.stop();
      await drop?.();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('A04 then A03 for an attached patient: one Encounter, updated to finished, both versions kept; each ACK is ACK^<trigger>^ACK', async () => {
      const registered = await exchange(message('adt-a04.hl7'));
      assert.equal(msa(registered.ack), 'AA');
      assert.equal(segment(registered.ack, 'ERR'), undefined, 'written: no note');
      assert.deepEqual(repetition(registered.ack.segments[0], 9), [['ACK'], ['A04'], ['ACK']]);
      const [arrived] = await visits('V-2001');
      assert.equal(arrived?.resource.status, 'arrived');
      assert.equal(arrived?.resource.class.code, 'AMB');
      assert.equal(arrived?.resource.subject?.reference, 'Patient/asel');
      assert.equal(arrived?.resource.serviceProvider?.reference, `Organization/${CITY}`);
      assert.equal(arrived?.resource.period?.start, '2026-12-06T10:00:00+06:00');
      assert.equal(arrived?.resource.location?.[0]?.location.display, 'CITY_HOSP / THERAPY / 205');
      assert.equal(arrived?.resource.participant?.[0]?.individual?.display, 'Ахметов Серік Болатұлы');

      const discharged = await exchange(message('adt-a03.hl7'));
      assert.equal(msa(discharged.ack), 'AA');
      assert.deepEqual(repetition(discharged.ack.segments[0], 9), [['ACK'], ['A03'], ['ACK']]);
      const all = await visits('V-2001');
      assert.equal(all.length, 1, 'the discharge updates the visit the registration made');
      const [finished] = all;
      assert.equal(finished?.versionId, '2');
      assert.equal(finished?.resource.status, 'finished');
      assert.deepEqual(finished?.resource.period, { start: '2026-12-06T10:00:00+06:00', end: '2026-12-06T12:25:00+06:00' });
      assert.equal(finished?.resource.hospitalization?.dischargeDisposition?.coding?.[0]?.code, '01');
      const history = await platform().history({ resourceType: 'Encounter', id: finished!.resource.id!, count: 10 });
      assert.deepEqual(history.entries.map((e) => parseStored<Encounter>(e).status), ['finished', 'arrived']);
      assert.ok((await patient('asel')).identifier?.some((i) => i.value === 'M-100' && i.system === medicalRecordSystem(CITY, 'CITY_HOSP')), 'the hospital’s number added');
      assert.ok((await kept(['processed'])).some((m) => m.controlId === 'CITY0002' && m.messageType === 'ADT^A03'));
    });

    it('answers a resent control id with the first ACK, byte for byte, and writes it once', async () => {
      const first = await exchange(message('adt-a04.hl7', { 10: 'CITY0010' }, [['V-2001', 'V-2002']]));
      const again = await exchange(message('adt-a04.hl7', { 10: 'CITY0010' }, [['V-2001', 'V-2002']]));
      assert.deepEqual(again.bytes, first.bytes);
      assert.equal((await kept(['received', 'processed', 'review', 'rejected'])).filter((m) => m.controlId === 'CITY0010').length, 1);
      assert.equal((await visits('V-2002'))[0]?.versionId, '1');
    });

    it('A08 updates the visit it names (a new bed) and keeps its state', async () => {
      const { ack } = await exchange(message('adt-a04.hl7', { 9: 'ADT^A08^ADT_A01', 10: 'CITY0011' }, [['V-2001', 'V-2002'], ['THERAPY^205', 'THERAPY^207']]));
      assert.equal(msa(ack), 'AA');
      assert.deepEqual(repetition(ack.segments[0], 9), [['ACK'], ['A08'], ['ACK']]);
      const [updated] = await visits('V-2002');
      assert.equal(updated?.versionId, '2');
      assert.equal(updated?.resource.status, 'arrived', 'an update changes no state');
      assert.equal(updated?.resource.location?.[0]?.location.display, 'CITY_HOSP / THERAPY / 207');
    });

    it('A01 for a patient the hospital has no relationship with: the Encounter is written as self-declared care, flagged in the access log, told to the patient', async () => {
      const { ack } = await exchange(message('adt-a01.hl7'));
      assert.equal(msa(ack), 'AA');
      assert.equal(segment(ack, 'ERR'), undefined);
      const [admitted] = await visits('V-3001');
      assert.equal(admitted?.resource.subject?.reference, 'Patient/berik');
      assert.equal(admitted?.resource.status, 'in-progress');
      assert.equal(admitted?.resource.class.code, 'EMER');
      assert.equal(admitted?.resource.hospitalization?.admitSource?.coding?.[0]?.code, '7');
      const byCity = (await platform().accessLog('berik', { count: 100 })).records
        .filter((r) => r.agent !== null && (JSON.parse(r.agent) as { org?: string }).org === CITY)
        .map((r) => JSON.parse(r.payload) as { a: string; b?: string });
      assert.ok(byCity.length > 0 && byCity.some((p) => p.b === 'self-declared'), `flagged self-declared: ${JSON.stringify(byCity)}`);
      const notices = (await platform().search(parseSearchRequest('Communication', [['subject', 'Patient/berik']]))).entries.map((e) => parseStored<Communication>(e));
      assert.ok(notices.some((c) => c.category?.[0]?.text === 'self-declared-care'), 'Berik is told');
      const declared = await platform().careDeclarations({ count: 10, patient: 'berik' });
      assert.equal(declared.rows[0]?.party, `Organization/${CITY}`, 'listed for review');
    });

    it('A28 with a birth date the registry does not have: the registry’s Patient keeps its facts, the message is kept for review with the difference', async () => {
      const { ack } = await exchange(message('adt-a28-conflict.hl7'));
      assert.equal(msa(ack), 'AA');
      const err = segment(ack, 'ERR');
      assert.equal(component(err, 4), 'I');
      assert.equal(component(err, 3), '0');
      assert.equal(component(err, 8), PARKED.differs.kk);
      assert.deepEqual(repetition(err, 2).map((c) => c[0]), ['PID', '1', '7', '1'], 'ERR-2 points at the birth date');
      const dana = await patient('dana');
      assert.equal(dana.birthDate, '2001-05-05');
      assert.deepEqual(dana.name, [{ family: 'Сейітова', given: ['Дана'] }]);
      const [parked] = (await kept(['review'])).filter((m) => m.controlId === 'CITY0004');
      assert.match(parked?.reason ?? '', /differs from the national registry in birthDate/);
    });

    it('A31 (v2.4) adds the hospital’s number to the registry’s Patient and nothing else', async () => {
      const before = await patient('yerlan');
      const { ack } = await exchange(message('adt-a31.hl7'));
      assert.equal(msa(ack), 'AA');
      assert.equal(segment(ack, 'ERR'), undefined);
      const after = await patient('yerlan');
      assert.deepEqual(after.identifier, [...before.identifier!, MRN('M-300')]);
      assert.deepEqual({ ...after, identifier: undefined, meta: undefined }, { ...before, identifier: undefined, meta: undefined });
    });

    it('A40 (v2.3.1) of two numbers of one Patient: the merged number kept as old, the surviving one added', async () => {
      const { ack } = await exchange(message('adt-a40-same.hl7'));
      assert.equal(msa(ack), 'AA');
      assert.equal(segment(ack, 'ERR'), undefined);
      const numbers = (await patient('yerlan')).identifier!.filter((i) => i.system === medicalRecordSystem(CITY, 'CITY_HOSP'));
      assert.deepEqual(numbers.map((i) => [i.value, i.use]), [['M-300', 'old'], ['M-301', 'usual']]);
    });

    it('A40 of two Patients: nothing merged, the pair goes on the registry’s duplicates work list, AA with an informational ERR', async () => {
      const { ack } = await exchange(message('adt-a40-two.hl7'));
      assert.equal(msa(ack), 'AA');
      assert.equal(component(segment(ack, 'ERR'), 4), 'I');
      assert.equal(component(segment(ack, 'ERR'), 8), PARKED.mergeProposed.kk);
      assert.notEqual((await patient('marat-2')).active, false, 'no merge');
      const pair = await platform().duplicates.find('marat', 'marat-2');
      assert.equal(pair?.status, 'open');
      assert.ok(pair?.evidence.some((e) => e.field === SENDER_MERGE));
      assert.ok(pair?.evidence.some((e) => e.field === 'birthDate' && e.level === 'exact'), 'with the matcher’s evidence');
      // The registry's scan finds the pair too, and refreshes it: the hospital's word stays among its evidence.
      await scanDuplicates(new Repository(server.db, duplicateScanAccess()));
      const rescanned = await platform().duplicates.find('marat', 'marat-2');
      assert.equal(rescanned?.status, 'open');
      assert.deepEqual(rescanned?.evidence.filter((e) => e.field === SENDER_MERGE).length, 1);
    });

    it('parks visits of patients it cannot find, with AA and an informational ERR, never dropped', async () => {
      const unknown = await exchange(message('adt-a01.hl7', { 10: 'CITY0020' }, [['721102323452', '950101300016'], ['V-3001', 'V-3002']]));
      assert.equal(msa(unknown.ack), 'AA');
      assert.equal(component(segment(unknown.ack, 'ERR'), 3), '204');
      assert.deepEqual(repetition(segment(unknown.ack, 'ERR'), 2).map((c) => c[0]), ['PID', '1', '3', '1']);
      assert.deepEqual(await visits('V-3002'), []);
      // No IIN, a number the hospital never sent: nobody is identified with certainty.
      const anonymous = await exchange(message('adt-a04.hl7', { 9: 'ADT^A08^ADT_A01', 10: 'CITY0021' }, [['850314412340^^^KZ^NI~', ''], ['M-100', 'M-999'], ['Нұрланова^Әсел', 'Белгісіз']]));
      assert.equal(msa(anonymous.ack), 'AA');
      assert.match(component(segment(anonymous.ack, 'ERR'), 7), /no valid IIN/);
      assert.equal(component(segment(anonymous.ack, 'ERR'), 8), PARKED.notIdentified.kk);
      assert.deepEqual(
        (await kept(['review'])).filter((m) => m.controlId === 'CITY0020' || m.controlId === 'CITY0021').map((m) => m.messageType).sort(),
        ['ADT^A01', 'ADT^A08'],
      );
    });

    it('answers content it cannot map with AE naming where: no PV1 on an A01, a date that is no date', async () => {
      const noVisit = await exchange(message('adt-a01.hl7', { 10: 'CITY0030' }).split('\rPV1|')[0] + '\r');
      assert.equal(msa(noVisit.ack), 'AE');
      assert.equal(component(segment(noVisit.ack, 'ERR'), 3), '100');
      assert.equal(component(segment(noVisit.ack, 'ERR'), 2), 'PV1');
      const badDate = await exchange(message('adt-a01.hl7', { 10: 'CITY0031' }, [['20261206025500+0600', 'yesterday']]));
      assert.equal(msa(badDate.ack), 'AE');
      assert.equal(component(segment(badDate.ack, 'ERR'), 3), '102');
      assert.deepEqual(repetition(segment(badDate.ack, 'ERR'), 2).map((c) => c[0]), ['PV1', '1', '44', '1']);
      const badClass = await exchange(message('adt-a01.hl7', { 10: 'CITY0032' }, [['|E|ER^', '|X|ER^']]));
      assert.equal(component(segment(badClass.ack, 'ERR'), 3), '102');
      assert.ok((await kept(['rejected'])).some((m) => m.controlId === 'CITY0031' && /PV1-44/.test(m.reason ?? '')));
    });

    it('rejects (AR 201) a trigger it does not take', async () => {
      const { ack } = await exchange(message('adt-a01.hl7', { 9: 'ADT^A05^ADT_A05', 10: 'CITY0040' }));
      assert.equal(msa(ack), 'AR');
      assert.equal(component(segment(ack, 'ERR'), 3), '201');
      assert.deepEqual(repetition(ack.segments[0], 9), [['ACK'], ['A05'], ['ACK']]);
    });

    it('registers a visitor without an IIN from an A28 sent in 8859/5 or Windows-1251, the Cyrillic names decoded', async () => {
      const cases = [
        ['iso-8859-5', '8859/5', 'F-1', 'Петров', 'Иван'],
        ['windows-1251', 'WINDOWS-1251', 'F-2', 'Сидорова', 'Мария'],
      ] as const;
      for (const [encoding, charset, number, family, given] of cases) {
        const text = message('adt-a28-visitor.hl7', { 10: `CITY-${number}`, 18: charset }, [['F-1', number], ['Петров^Иван^Сергеевич', `${family}^${given}`]]);
        const { ack } = await exchange(encodeText(text, encoding));
        assert.equal(msa(ack), 'AA', charset);
        assert.equal(component(ack.segments[0], 18), charset);
        const found = await platform().search(parseSearchRequest('Patient', [['identifier', `${medicalRecordSystem(CITY, 'CITY_HOSP')}|${number}`]]));
        assert.equal(found.entries.length, 1, charset);
        assert.deepEqual(parseStored<Patient>(found.entries[0]!).name, [{ family, given: [given] }]);
      }
      // Registering gives the hospital no relationship; admitting the visitor by its own number does, as self-declared care.
      const visitor = message('adt-a01.hl7', { 10: 'CITY0060' }, [['721102323452^^^KZ^NI', 'F-1^^^CITY_HOSP^MR'], ['Омаров^Берік', 'Петров^Иван'], ['19721102', '19800101'], ['V-3001', 'V-3003']]);
      const { ack } = await exchange(visitor);
      assert.equal(msa(ack), 'AA');
      assert.equal(segment(ack, 'ERR'), undefined);
      const [visit] = await visits('V-3003');
      const [registered] = (await platform().search(parseSearchRequest('Patient', [['identifier', `${medicalRecordSystem(CITY, 'CITY_HOSP')}|F-1`]]))).entries;
      assert.equal(visit?.resource.subject?.reference, `Patient/${registered!.id}`);
    });

    it('A28 of an IIN the hospital cannot find is parked: no second record of an IIN holder, none made for an unknown IIN', async () => {
      // Gulnar is registered, but not in City Hospital's care: registering her is not an admission.
      for (const [iin, controlId] of [['790909477772', 'CITY0050'], ['950101300016', 'CITY0051']] as const) {
        const { ack } = await exchange(message('adt-a28-conflict.hl7', { 10: controlId }, [['010505645670', iin], ['Сейітова^Дана', 'Әлиева^Гүлнар'], ['20010605', '19790909']]));
        assert.equal(msa(ack), 'AA');
        assert.equal(component(segment(ack, 'ERR'), 3), '204');
        assert.equal(component(segment(ack, 'ERR'), 8), PARKED.noPatient.kk);
        const holders = await platform().search(parseSearchRequest('Patient', [['identifier', `${IIN_SYSTEM}|${iin}`]]));
        assert.equal(holders.entries.length, iin === '790909477772' ? 1 : 0);
      }
      assert.ok(!(await patient('gulnar')).identifier?.some((i) => i.value === 'M-200'), 'her record unchanged');
    });

    it('$hl7v2-messages?type=ADT lists the ADT messages kept for review, for an administrator with clinical access', async () => {
      const administrator = await addUser(server.db, { username: `adt-reviewer-${driver.name}`, role: 'administrator', clinicalAccess: true });
      const { access_token } = await mintAccessToken(server.db, { client_id: 'admin-console', sub: administrator.id, scope: 'user/*.cruds', role: 'administrator' }, {
        issuer: `${ORIGIN}/auth`,
        fhirBaseUrl: `${ORIGIN}/fhir`,
      });
      const response = await fetch(`${server.url}/fhir/$hl7v2-messages?type=ADT&status=review`, { headers: { authorization: `Bearer ${access_token}` } });
      assert.equal(response.status, 200);
      const bundle = (await response.json()) as Bundle<Parameters>;
      const listed = (bundle.entry ?? []).map((e) => Object.fromEntries((e.resource?.parameter ?? []).map((p) => [p.name, p.valueString ?? p.valueCode])));
      assert.ok(listed.length >= 4);
      assert.ok(listed.every((m) => m.messageType?.startsWith('ADT^') && m.status === 'review'));
      assert.deepEqual(
        ['CITY0004', 'CITY0007', 'CITY0020', 'CITY0021'].filter((id) => listed.some((m) => m.controlId === id)),
        ['CITY0004', 'CITY0007', 'CITY0020', 'CITY0021'],
      );
      // The registrar reads the hospital's merge among the pair's evidence, in words.
      const duplicates = (await (await fetch(`${server.url}/fhir/Patient/$duplicates`, { headers: { authorization: `Bearer ${access_token}` } })).json()) as Parameters;
      const texts = JSON.stringify(duplicates);
      assert.match(texts, /Merged by an organization’s system: asserted, not verified/);
    });
  });
}
