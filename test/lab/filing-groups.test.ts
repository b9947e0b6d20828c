import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Organization, Patient, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { accessPolicy, seedingAccess } from '../../src/access/door.js';
import { isFhirError } from '../../src/fhir/outcome.js';
import { parseMessage } from '../../src/hl7v2/parse.js';
import { ResultFilings } from '../../src/lab/filing-groups.js';
import { labResultsRoute } from '../../src/lab/intake.js';
import { oruToBundle } from '../../src/lab/oru-to-fhir.js';
import type { Database } from '../../src/store/driver.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';

const LAB = 'group-lab';
const FACILITY = 'GROUP_LAB';
const at = '20261207100000+0600';

/** A one-result ORU^R01 (a glucose) for `patient`, filler order `filler`, status `status`, mapped as the intake maps it. */
function results(filler: string, patient: string, value: number, status: 'P' | 'F' = 'F'): Bundle {
  const message = parseMessage(
    Buffer.from(
      [
        `MSH|^~\\&|LIS|${FACILITY}|DENSAULYQ|MOH_KZ|${at}||ORU^R01^ORU_R01|${filler}-${status}|P|2.5.1|||AL|NE||UNICODE UTF-8`,
        `PID|1||${patient}^^^KZ^PI||Тестова^Айгүл||19800101|F`,
        `OBR|1||${filler}^${FACILITY}|2345-7^Glucose^LN|||${at}|||||||${at}||||||||${at}||CH|${status}`,
        `OBX|1|NM|2345-7^Glucose^LN||${value}|mmol/L^^UCUM|3.9-6.1|N|||${status}|||${at}`,
      ].join('\r'),
    ),
  );
  return oruToBundle(message, { patient: { reference: `Patient/${patient}` }, organization: LAB });
}

for (const driver of testDrivers()) describe(`Lab results that arrive together are filed together (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  const route = labResultsRoute();
  /** The lab's system caller, as the MLLP intake makes one per message. */
  const caller = () =>
    new Repository(db, accessPolicy({ role: 'system', subject: `mllp|${FACILITY}`, clientId: 'densaulyq-mllp', organization: LAB, scopes: route.scopes, purposeOfUse: 'TREAT' }));
  /** The transaction (xmin) and version of each current DiagnosticReport whose identifier is one of `fillers`, by filler. */
  const reports = async (fillers: string[]) =>
    new Map(
      (
        await db.query<{ value: string; xid: string; version: string; status: string }>(
          `SELECT t.value, r.xmin::text AS xid, r.version_id::text AS version, r.content::jsonb->>'status' AS status FROM resource r
           JOIN search_token t ON t.resource_type = r.resource_type AND t.id = r.id AND t.code = 'identifier'
           WHERE r.resource_type = 'DiagnosticReport' AND NOT r.deleted AND t.value = ANY($1::text[])`,
          [fillers],
        )
      ).map((r) => [r.value, r]),
    );

  before(async () => {
    db = await driver.open();
    const seeding: Resource[] = [{ resourceType: 'Organization', id: LAB, name: 'Group lab' } satisfies Organization];
    for (const patient of ['g-1', 'g-2', 'g-3', 'g-stranger']) seeding.push({ resourceType: 'Patient', id: patient, name: [{ family: patient }] } satisfies Patient);
    // The lab performs a referral for every patient but the stranger: its care relationship.
    for (const patient of ['g-1', 'g-2', 'g-3']) {
      seeding.push({ resourceType: 'ServiceRequest', id: `sr-${patient}`, status: 'active', intent: 'order', code: { text: 'Glucose' }, subject: { reference: `Patient/${patient}` }, performer: [{ reference: `Organization/${LAB}` }] } satisfies ServiceRequest);
    }
    await new Repository(db, seedingAccess()).writeMany(seeding.map((resource) => ({ resource, id: resource.id! })), 'upsert');
  });
  after(() => db.close());

  test('messages handed over in one turn are filed in one transaction, each answered once it committed; one alone is filed at once', async () => {
    const filings = new ResultFilings();
    const lane = `${LAB}|${FACILITY}`;
    const fillers = ['T-1', 'T-2', 'T-3'];
    await Promise.all(fillers.map((filler, i) => filings.file(lane, caller(), results(filler, `g-${i + 1}`, 5 + i), LAB)));
    const filed = await reports(fillers);
    assert.deepEqual([...filed.keys()].sort(), fillers);
    assert.equal(new Set([...filed.values()].map((r) => r.xid)).size, 1, 'one transaction');
    await filings.file(lane, caller(), results('T-4', 'g-1', 6), LAB);
    assert.notEqual((await reports(['T-4'])).get('T-4')?.xid, filed.get('T-1')!.xid);
  });

  test('a message the lab may not file is refused alone: the others of its group are filed, each by itself', async () => {
    const filings = new ResultFilings();
    const lane = `${LAB}|${FACILITY}`;
    const outcomes = await Promise.allSettled([
      filings.file(lane, caller(), results('R-1', 'g-1', 5), LAB),
      filings.file(lane, caller(), results('R-2', 'g-stranger', 5), LAB),
      filings.file(lane, caller(), results('R-3', 'g-2', 5), LAB),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    const refusal = (outcomes[1] as PromiseRejectedResult).reason;
    assert.ok(isFhirError(refusal) && refusal.status === 404, String(refusal));
    const filed = await reports(['R-1', 'R-2', 'R-3']);
    assert.deepEqual([...filed.keys()].sort(), ['R-1', 'R-3']);
    assert.notEqual(filed.get('R-1')!.xid, filed.get('R-3')!.xid, 'filed alone');
  });

  test('two messages of one group naming the same result (preliminary, then final) are filed in order: the final is a new version, no duplicate', async () => {
    const filings = new ResultFilings();
    const lane = `${LAB}|${FACILITY}`;
    await Promise.all([filings.file(lane, caller(), results('D-1', 'g-3', 5.1, 'P'), LAB), filings.file(lane, caller(), results('D-1', 'g-3', 5.3, 'F'), LAB)]);
    const [count] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM search_token WHERE resource_type = 'DiagnosticReport' AND code = 'identifier' AND value = 'D-1'`,
    );
    assert.equal(count!.n, 1);
    const report = (await reports(['D-1'])).get('D-1')!;
    assert.deepEqual([report.version, report.status], ['2', 'final']);
  });

  test('senders do not share groups: two lanes file in transactions of their own', async () => {
    const filings = new ResultFilings();
    await Promise.all([filings.file('lane-a', caller(), results('L-1', 'g-1', 5), LAB), filings.file('lane-b', caller(), results('L-2', 'g-2', 5), LAB)]);
    const filed = await reports(['L-1', 'L-2']);
    assert.notEqual(filed.get('L-1')!.xid, filed.get('L-2')!.xid);
  });
});
