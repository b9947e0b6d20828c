import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { type AccessLogPage, accessLog } from '../../src/store/access-log.js';
import { auditAgent, auditEventOf, auditEventPayload, compactAuditRecord } from '../../src/access/audit-event.js';
import type { AccessContext } from '../../src/access/context.js';
import { accessPolicy, seedingAccess } from '../../src/access/door.js';
import { type ResourceScope, parseScopes } from '../../src/access/scopes.js';
import { isFhirError } from '../../src/fhir/outcome.js';
import { accessLogOperation } from '../../src/rest/access-log.js';
import type { FhirRequest, InteractionContext } from '../../src/rest/interaction.js';
import type { Database } from '../../src/store/driver.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';

const clinician: AccessContext = { role: 'clinician', subject: 'account-7', clientId: 'mis', fhirUser: 'Practitioner/9', organization: 'org-1', scopes: [], purposeOfUse: 'TREAT' };
const citizen: AccessContext = { role: 'citizen', subject: 'account-1', clientId: 'egov-app', fhirUser: 'Patient/p-1', scopes: [], purposeOfUse: 'PATRQT' };
const agent = auditAgent(clinician);

/**
 * Audit rows as the chains leave them: ties on `recorded` across chains and within one. The two
 * instants a microsecond apart are older records (a whole AuditEvent each, `legacy`): a compact
 * record's instant is kept to the millisecond.
 */
const ROWS: { chain: number; seq: number; recorded: string; patient: string; legacy?: true }[] = [
  { chain: 3, seq: 1, recorded: '2026-02-01T08:00:00.000Z', patient: 'p-1' },
  { chain: 3, seq: 2, recorded: '2026-02-01T09:00:00.000Z', patient: 'p-1' },
  { chain: 5, seq: 1, recorded: '2026-02-01T09:00:00.000Z', patient: 'p-1' },
  { chain: 5, seq: 2, recorded: '2026-02-01T09:00:00.000Z', patient: 'p-2' },
  { chain: 5, seq: 10, recorded: '2026-02-02T10:00:00.000Z', patient: 'p-1' },
  { chain: 70, seq: 11, recorded: '2026-02-02T10:00:00.000Z', patient: 'p-1' },
  { chain: 7, seq: 1, recorded: '2026-02-03T10:00:00.123456Z', patient: 'p-1', legacy: true },
  { chain: 7, seq: 2, recorded: '2026-02-03T10:00:00.123457Z', patient: 'p-1', legacy: true },
  { chain: 7, seq: 3, recorded: '2026-02-04T00:00:00.000Z', patient: 'p-3' },
];

/** Each row's link (distinct, so each record is served under an id of its own) and payload. */
const stored = ROWS.map((row) => {
  const hash = createHash('sha256').update(`${row.chain}/${row.seq}`).digest('hex');
  const input = { action: 'R', interaction: 'read', outcome: '0', context: clinician, patient: row.patient, entities: [`Observation/o-${row.chain}-${row.seq}`] } as const;
  const payload = row.legacy ? auditEventPayload({ ...input, recorded: row.recorded }, randomUUID()) : compactAuditRecord(input, agent);
  return { ...row, hash, payload };
});
const keyOf = (row: { chain: number; seq: number }) => `${row.chain}/${row.seq}`;
const hashOf = new Map(stored.map((row) => [keyOf(row), row.hash]));
/** The id each row is served under. */
const idOf = new Map(
  stored.map((row) => [
    keyOf(row),
    auditEventOf({ recorded: new Date(row.recorded).toISOString(), patient: row.patient, hash: row.hash, payload: row.payload, agent: row.legacy ? null : agent.text }).id,
  ]),
);

for (const driver of testDrivers()) describe(`the citizen's access log (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  before(async () => {
    db = await driver.open();
    await db.query(`INSERT INTO audit_agent (id, agent) VALUES ($1, $2)`, [agent.id, agent.text]);
    for (const row of stored) {
      await db.query(`INSERT INTO audit_event (chain, seq, recorded, patient, hash, payload) VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6)`, [
        row.chain,
        row.seq,
        row.recorded,
        row.patient,
        row.hash,
        row.payload,
      ]);
    }
  });
  after(() => db.close());

  /** The rows about `patients`, newest first, ties broken by chain then seq, descending. */
  const newestFirst = (patients: string[], since = '') =>
    ROWS.filter((r) => patients.includes(r.patient) && r.recorded >= since).sort((a, b) => b.recorded.localeCompare(a.recorded) || b.chain - a.chain || b.seq - a.seq);
  /** The links of those rows, as the store pages them. */
  const expected = (patients: string[], since = '') => newestFirst(patients, since).map((r) => hashOf.get(keyOf(r)));
  /** The ids of their AuditEvents, as the operation serves them. */
  const expectedIds = (patients: string[]) => newestFirst(patients).map((r) => idOf.get(keyOf(r)));

  async function everyPage(patients: string[], count: number, since?: string) {
    const hashes: string[] = [];
    let cursor: string | undefined;
    do {
      const page: AccessLogPage = await accessLog(db, patients, { count, cursor, since });
      assert.ok(page.records.length <= count);
      hashes.push(...page.records.map((r) => r.hash));
      cursor = page.nextCursor;
    } while (cursor);
    return hashes;
  }

  test('pages newest first by keyset, ties in time broken by chain and seq, instants a microsecond apart kept apart', async () => {
    for (const count of [1, 2, 3, 100]) assert.deepEqual(await everyPage(['p-1'], count), expected(['p-1']), `count ${count}`);
    const first = await accessLog(db, ['p-1'], { count: 1 });
    assert.equal(first.records[0]?.hash, hashOf.get('7/2'));
    assert.equal(auditEventOf(first.records[0]!).recorded, '2026-02-03T10:00:00.123457Z', 'an older record is served with its own instant');
  });

  test('several patients at once (a representative and those they act for), and _since', async () => {
    assert.deepEqual(await everyPage(['p-1', 'p-3'], 2), expected(['p-1', 'p-3']));
    assert.deepEqual(await everyPage(['p-1'], 2, '2026-02-02'), expected(['p-1'], '2026-02-02'));
    assert.deepEqual((await accessLog(db, ['nobody'], { count: 5 })).records, []);
  });

  test('a compact record comes with the text of the agent it names and is served whole; an older record as it was written', async () => {
    const { records } = await accessLog(db, ['p-1', 'p-2', 'p-3'], { count: 100 });
    assert.equal(records.length, ROWS.length);
    for (const record of records) {
      const row = stored.find((s) => s.hash === record.hash)!;
      assert.equal(record.patient, row.patient);
      assert.equal(record.payload, row.payload);
      assert.equal(record.recorded, new Date(row.recorded).toISOString(), 'to the millisecond');
      const event = auditEventOf(record);
      assert.equal(event.id, idOf.get(keyOf(row)));
      if (row.legacy) {
        assert.equal(record.agent, null, 'an older record names no agent row');
        assert.deepEqual(event, JSON.parse(row.payload));
        continue;
      }
      assert.equal(record.agent, agent.text);
      assert.match(event.id!, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(event.recorded, record.recorded);
      const user = event.agent.find((a) => a.requestor);
      assert.equal(user?.who?.reference, 'Practitioner/9');
      assert.equal(user?.who?.identifier?.value, 'account-7');
      assert.ok(event.agent.some((a) => a.who?.reference === 'Organization/org-1'));
      assert.deepEqual(event.entity?.map((e) => e.what?.reference), [`Patient/${row.patient}`, `Observation/o-${row.chain}-${row.seq}`]);
    }
    assert.equal(new Set(records.map((r) => auditEventOf(r).id)).size, records.length, 'every record has an id of its own');
  });

  test('a cursor that is not one is a 400', async () => {
    await assert.rejects(accessLog(db, ['p-1'], { count: 1, cursor: 'not-a-cursor' }), (e) => isFhirError(e) && e.status === 400);
  });

  describe('GET Patient/[id]/$access-log', () => {
    // p-1 is attached to the clinician's organization; `hidden` to another one.
    before(async () => {
      const platform = new Repository(db, seedingAccess());
      await platform.update({ resourceType: 'Patient', id: 'p-1', generalPractitioner: [{ reference: 'Organization/org-1' }] });
      await platform.update({ resourceType: 'Patient', id: 'hidden', generalPractitioner: [{ reference: 'Organization/org-2' }] });
    });
    const call = (access: AccessContext, id: string, query: [string, string][] = []) => {
      const request: FhirRequest = { method: 'GET', path: `Patient/${id}/$access-log`, query, headers: {} };
      const repo = new Repository(db, accessPolicy(access));
      const context: InteractionContext = { repo, access, baseUrl: 'https://api.example/fhir', maxBundleEntries: 100 };
      return accessLogOperation(request, { type: 'Patient', id }, context);
    };
    const status = (promise: Promise<unknown>) => promise.then(() => 200, (e) => (isFhirError(e) ? e.status : 500));

    test('the patient reads a searchset of AuditEvents, newest first, and follows the next link to the end', async () => {
      const ids: (string | undefined)[] = [];
      let query: [string, string][] = [['_count', '3']];
      for (;;) {
        const response = await call(citizen, 'p-1', query);
        assert.equal(response.status, 200);
        const bundle = response.resource as Bundle<AuditEvent>;
        assert.equal(bundle.type, 'searchset');
        for (const entry of bundle.entry ?? []) {
          assert.equal(entry.fullUrl, `urn:uuid:${entry.resource?.id}`);
          assert.equal(entry.search?.mode, 'match');
          assert.equal(entry.resource?.resourceType, 'AuditEvent');
          assert.equal(entry.resource?.agent.find((a) => a.requestor)?.who?.reference, 'Practitioner/9', 'who acted, from the agent row or the older record');
          ids.push(entry.resource?.id);
        }
        const next = bundle.link?.find((l) => l.relation === 'next')?.url;
        if (!next) break;
        assert.ok(next.startsWith('https://api.example/fhir/Patient/p-1/$access-log?_count=3&_cursor='));
        query = [...new URL(next).searchParams] as [string, string][];
      }
      assert.deepEqual(ids, expectedIds(['p-1']));
    });

    test('only the patient, an administrator with clinical access, or the platform; a clinician who sees the record does not', async () => {
      const administrator: AccessContext = { ...clinician, role: 'administrator', fhirUser: undefined };
      assert.equal(await status(call(clinician, 'p-1')), 403);
      assert.equal(await status(call(administrator, 'p-1')), 404, 'without clinical access the record is not there to them');
      assert.equal(await status(call({ ...administrator, clinicalAccess: true }, 'p-1')), 200);
      assert.ok((await new Repository(db, seedingAccess()).accessLog('p-1', { count: 5 })).records.length > 0, 'the platform');
      assert.equal(await status(call(citizen, 'p-1', [['_sort', 'date']])), 400);
    });

    test('a read is in the patient\'s log by the time its answer is given, naming who read what', async () => {
      await new Repository(db, seedingAccess()).update({ resourceType: 'Patient', id: 'p-read', generalPractitioner: [{ reference: 'Organization/org-1' }] });
      const before = (await accessLog(db, ['p-read'], { count: 10 })).records.length;
      const scopes = parseScopes('user/*.rs').filter((scope): scope is ResourceScope => scope.kind === 'resource');
      const read = await new Repository(db, accessPolicy({ ...clinician, scopes })).read('Patient', 'p-read');
      assert.equal(read.id, 'p-read');
      // Read at once, as another request would: nothing may be served before its record is committed.
      const { records } = await accessLog(db, ['p-read'], { count: 10 });
      assert.equal(records.length, before + 1, 'the read is recorded before the reader has the data');
      const event = auditEventOf(records[0]!);
      assert.deepEqual(event.subtype?.map((c) => c.code), ['read']);
      assert.equal(event.agent.find((a) => a.requestor)?.who?.reference, 'Practitioner/9');
      assert.deepEqual(event.entity?.map((e) => e.what?.reference), ['Patient/p-read', 'Patient/p-read']);
    });

    test('a patient the caller may not see is a 404, whatever the role, so the log tells nothing of who exists', async () => {
      assert.equal(await status(call(citizen, 'hidden')), 404);
      assert.equal(await status(call(clinician, 'hidden')), 404);
    });
  });
});
