import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Encounter, Observation, Patient } from '@medplum/fhirtypes';
import { accessPolicy, seedingAccess } from '../../src/access/door.js';
import { parseScopes, resourceScopes } from '../../src/access/scopes.js';
import { isFhirError } from '../../src/fhir/outcome.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { shareAuditKey } from '../../src/store/audit-append.js';
import type { Database, SqlClient } from '../../src/store/driver.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';

const ORG = 'reach-org';
const glucose = (patient: string): Observation => ({ resourceType: 'Observation', status: 'final', code: { text: 'Glucose' }, subject: { reference: `Patient/${patient}` } });

for (const driver of testDrivers()) describe(`the door's reach within a write's transaction (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  /** The door's reach checks of writes, counted as they reach the database. */
  let asked = 0;
  let counting: Database;
  const count = (client: SqlClient): SqlClient => ({
    ...client,
    query: (sql, params, options) => {
      if (/AS compartment, 'Patient'::text AS resource_type/.test(sql)) asked++;
      return client.query(sql, params, options);
    },
  });
  const clinician = () =>
    new Repository(counting, accessPolicy({ role: 'clinician', subject: 'reach-doctor', clientId: 'mis', organization: ORG, scopes: resourceScopes(parseScopes('user/*.cruds')), purposeOfUse: 'TREAT' }));

  before(async () => {
    db = await driver.open();
    counting = shareAuditKey(db, { ...db, ...count(db), transaction: (work) => db.transaction((tx) => work(count(tx))) });
    await new Repository(db, seedingAccess()).writeMany(
      [
        { resource: { resourceType: 'Organization', id: ORG, name: 'Reach clinic' }, id: ORG },
        { resource: { resourceType: 'Patient', id: 'reach-1', name: [{ family: 'Бірінші' }] } satisfies Patient, id: 'reach-1' },
      ],
      'upsert',
    );
  });
  after(() => db.close());

  test('asked once per patient in a transaction; a write that opens the record makes it ask again, and the next write is let through', async () => {
    asked = 0;
    const written = await clinician().transaction(async (tx) => {
      const refused = async () => {
        const error = await tx.create(glucose('reach-1')).then(() => undefined, (e: unknown) => e);
        assert.ok(isFhirError(error) && error.status === 404, String(error));
      };
      await refused();
      await refused();
      assert.equal(asked, 1, 'the second refusal is the first answer');
      // The clinic admits the patient: its Encounter is its care relationship.
      await tx.create({ resourceType: 'Encounter', status: 'in-progress', class: { code: 'AMB' }, subject: { reference: 'Patient/reach-1' }, serviceProvider: { reference: `Organization/${ORG}` } } satisfies Encounter);
      const first = await tx.create(glucose('reach-1'));
      const second = await tx.create(glucose('reach-1'));
      assert.equal(asked, 2, 'asked again after the Encounter, once');
      return [first.id, second.id];
    });
    const found = await new Repository(db, seedingAccess()).search(parseSearchRequest('Observation', [['subject', 'Patient/reach-1']]));
    assert.deepEqual(found.entries.map((e) => e.id).sort(), [...written].sort());
  });

  test('a new transaction asks afresh', async () => {
    asked = 0;
    await clinician().transaction((tx) => tx.create(glucose('reach-1')));
    await clinician().transaction((tx) => tx.create(glucose('reach-1')));
    assert.equal(asked, 2);
  });
});
