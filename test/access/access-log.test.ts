import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { accessLog } from '../../src/store/access-log.js';
import { auditEventPayload } from '../../src/access/audit-event.js';
import type { AccessContext } from '../../src/access/context.js';
import { accessPolicy, seedingAccess } from '../../src/access/door.js';
import { isFhirError } from '../../src/fhir/outcome.js';
import { accessLogOperation } from '../../src/rest/access-log.js';
import type { FhirRequest, InteractionContext } from '../../src/rest/interaction.js';
import type { Database } from '../../src/store/driver.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';

const clinician: AccessContext = { role: 'clinician', subject: 'account-7', clientId: 'mis', fhirUser: 'Practitioner/9', organization: 'org-1', scopes: [], purposeOfUse: 'TREAT' };
const citizen: AccessContext = { role: 'citizen', subject: 'account-1', clientId: 'egov-app', fhirUser: 'Patient/p-1', scopes: [], purposeOfUse: 'PATRQT' };

/** Audit rows as the chains leave them: ties on `recorded` across chains and within one, instants a microsecond apart. */
const ROWS: { chain: number; seq: number; recorded: string; patient: string }[] = [
  { chain: 3, seq: 1, recorded: '2026-02-01T08:00:00Z', patient: 'p-1' },
  { chain: 3, seq: 2, recorded: '2026-02-01T09:00:00Z', patient: 'p-1' },
  { chain: 5, seq: 1, recorded: '2026-02-01T09:00:00Z', patient: 'p-1' },
  { chain: 5, seq: 2, recorded: '2026-02-01T09:00:00Z', patient: 'p-2' },
  { chain: 5, seq: 10, recorded: '2026-02-02T10:00:00Z', patient: 'p-1' },
  { chain: 5, seq: 11, recorded: '2026-02-02T10:00:00Z', patient: 'p-1' },
  { chain: 7, seq: 1, recorded: '2026-02-03T10:00:00.123456Z', patient: 'p-1' },
  { chain: 7, seq: 2, recorded: '2026-02-03T10:00:00.123457Z', patient: 'p-1' },
  { chain: 7, seq: 3, recorded: '2026-02-04T00:00:00Z', patient: 'p-3' },
];

for (const driver of testDrivers()) describe(`the citizen's access log (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  const idOf = new Map<string, string>();
  before(async () => {
    db = await driver.open();
    for (const row of ROWS) {
      const payload = auditEventPayload({ action: 'R', interaction: 'read', recorded: row.recorded, outcome: '0', context: clinician, patient: row.patient });
      idOf.set(`${row.chain}/${row.seq}`, JSON.parse(payload).id);
      await db.query(`INSERT INTO audit_event (chain, seq, recorded, patient, hash, payload) VALUES ($1, $2, $3, $4, '\\x00', $5)`, [
        row.chain,
        row.seq,
        row.recorded,
        row.patient,
        payload,
      ]);
    }
  });
  after(() => db.close());

  /** The ids of the rows about `patients`, newest first, ties broken by chain then seq, descending. */
  const expected = (patients: string[], since = '') =>
    ROWS.filter((r) => patients.includes(r.patient) && r.recorded >= since)
      .sort((a, b) => b.recorded.localeCompare(a.recorded) || b.chain - a.chain || b.seq - a.seq)
      .map((r) => idOf.get(`${r.chain}/${r.seq}`));

  async function everyPage(patients: string[], count: number, since?: string) {
    const ids: (string | undefined)[] = [];
    let cursor: string | undefined;
    do {
      const page = await accessLog(db, patients, { count, cursor, since });
      assert.ok(page.events.length <= count);
      ids.push(...page.events.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    return ids;
  }

  test('pages newest first by keyset, ties in time broken by chain and seq, instants a microsecond apart kept apart', async () => {
    for (const count of [1, 2, 3, 100]) assert.deepEqual(await everyPage(['p-1'], count), expected(['p-1']), `count ${count}`);
    const first = await accessLog(db, ['p-1'], { count: 1 });
    assert.equal(first.events[0]?.resourceType, 'AuditEvent');
    assert.equal(first.events[0]?.recorded, '2026-02-03T10:00:00.123457Z');
  });

  test('several patients at once (a representative and those they act for), and _since', async () => {
    assert.deepEqual(await everyPage(['p-1', 'p-3'], 2), expected(['p-1', 'p-3']));
    assert.deepEqual(await everyPage(['p-1'], 2, '2026-02-02'), expected(['p-1'], '2026-02-02'));
    assert.deepEqual((await accessLog(db, ['nobody'], { count: 5 })).events, []);
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
          ids.push(entry.resource?.id);
        }
        const next = bundle.link?.find((l) => l.relation === 'next')?.url;
        if (!next) break;
        assert.ok(next.startsWith('https://api.example/fhir/Patient/p-1/$access-log?_count=3&_cursor='));
        query = [...new URL(next).searchParams] as [string, string][];
      }
      assert.deepEqual(ids, expected(['p-1']));
    });

    test('only the patient, an administrator with clinical access, or the platform; a clinician who sees the record does not', async () => {
      const administrator: AccessContext = { ...clinician, role: 'administrator', fhirUser: undefined };
      assert.equal(await status(call(clinician, 'p-1')), 403);
      assert.equal(await status(call(administrator, 'p-1')), 404, 'without clinical access the record is not there to them');
      assert.equal(await status(call({ ...administrator, clinicalAccess: true }, 'p-1')), 200);
      assert.ok((await new Repository(db, seedingAccess()).accessLog('p-1', { count: 5 })).events.length > 0, 'the platform');
      assert.equal(await status(call(citizen, 'p-1', [['_sort', 'date']])), 400);
    });

    test('a patient the caller may not see is a 404, whatever the role, so the log tells nothing of who exists', async () => {
      assert.equal(await status(call(citizen, 'hidden')), 404);
      assert.equal(await status(call(clinician, 'hidden')), 404);
    });
  });
});
