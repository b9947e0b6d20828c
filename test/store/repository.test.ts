import { seedingAccess } from '../../src/access/door.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import type { FhirError } from '../../src/fhir/outcome.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import type { Database } from '../../src/store/driver.js';
import { migrate } from '../../src/store/migrations.js';
import { processAuditKey } from '../../src/store/audit-key.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';

const search = (repo: Repository, type: string, query: string) => repo.search(parseSearchRequest(type, new URLSearchParams(query)));

for (const driver of testDrivers()) describe(`storage: the repository (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  let repo: Repository;
  before(async () => {
    db = await driver.open();
    repo = new Repository(db, seedingAccess());
  });
  after(() => db.close());

  test('migrations are recorded and applying them again changes nothing', async () => {
    const before = await db.query<{ version: number }>(`SELECT version FROM schema_migration ORDER BY version`);
    await migrate(db, processAuditKey());
    const afterwards = await db.query<{ version: number }>(`SELECT version FROM schema_migration ORDER BY version`);
    assert.deepEqual(afterwards, before);
    assert.ok(before.length >= 1);
  });

  test('every version is kept; the current row follows the latest', async () => {
    const created = await repo.create({ resourceType: 'Patient', gender: 'male' } as Resource);
    await repo.update({ resourceType: 'Patient', id: created.id, gender: 'female' } as Resource & { id: string });
    const versions = await db.query<{ version_id: string; method: string }>(
      `SELECT version_id::text, method FROM resource_version WHERE id = $1 ORDER BY version_id`,
      [created.id],
    );
    assert.deepEqual(versions, [
      { version_id: '1', method: 'create' },
      { version_id: '2', method: 'update' },
    ]);
    assert.equal(JSON.parse((await repo.read('Patient', created.id)).json).gender, 'female');
    assert.equal(JSON.parse((await repo.vread('Patient', created.id, '1')).json).gender, 'male');
  });

  test('a failed transaction leaves nothing behind', async () => {
    const before = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource_version`);
    await assert.rejects(
      repo.transaction(async (tx) => {
        await tx.create({ resourceType: 'Patient' } as Resource);
        throw new Error('boom');
      }),
    );
    const afterwards = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource_version`);
    assert.deepEqual(afterwards, before);
  });

  test('a unique identifier is held once: refused to a second holder whether claimed alone or among many (a batch of 500, beyond the prepared sizes)', async () => {
    const patient = (iin: string) => ({ resourceType: 'Patient', identifier: [{ system: IIN_SYSTEM, value: iin }] }) as Resource;
    const held = await repo.create(patient('claims-000'));
    await assert.rejects(repo.create(patient('claims-000')), (error: FhirError) => error.status === 409 && /already belongs to Patient\//.test(error.message));
    const many = Array.from({ length: 500 }, (_, i) => ({ resource: patient(`claims-${String(i + 1).padStart(3, '0')}`), id: `claims-${i + 1}` }));
    const { stored } = await repo.writeMany(many, 'create');
    assert.equal(stored.length, 500);
    const again = [...many.slice(0, 40).map(({ resource }, i) => ({ resource, id: `claims-again-${i}` }))];
    await assert.rejects(repo.writeMany(again, 'create'), (error: FhirError & { item?: number }) => error.status === 409 && error.item === 0);
    const upsert = await repo.writeMany([{ resource: patient('claims-000'), id: 'claims-late' }, ...again.slice(0, 20)], 'upsert');
    assert.deepEqual(
      upsert.refused.map((r) => r.item),
      Array.from({ length: 21 }, (_, i) => i),
      `every claim another holds is refused; ${held.id} keeps its IIN`,
    );
  });

  test('search never returns a resource whose current version does not match (no stale index rows)', async () => {
    const created = await repo.create({ resourceType: 'Patient', name: [{ family: 'Ескі' }], gender: 'male' } as Resource);
    assert.equal((await search(repo, 'Patient', `family=Ескі&_id=${created.id}`)).entries.length, 1);
    await repo.update({ resourceType: 'Patient', id: created.id, name: [{ family: 'Жаңа' }], gender: 'female' } as Resource & { id: string });
    assert.equal((await search(repo, 'Patient', `family=Ескі&_id=${created.id}`)).entries.length, 0);
    assert.equal((await search(repo, 'Patient', `gender=male&_id=${created.id}`)).entries.length, 0);
    assert.equal((await search(repo, 'Patient', `family=жаңа&_id=${created.id}`)).entries.length, 1);
    await repo.delete('Patient', created.id);
    assert.equal((await search(repo, 'Patient', `family=Жаңа&_id=${created.id}`)).entries.length, 0);
    const leftovers = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM search_string WHERE id = $1`, [created.id]);
    assert.equal(leftovers[0]!.n, '0');
  });

  test('reindex rebuilds lost index rows page by page', async () => {
    const created = await repo.create({ resourceType: 'Patient', name: [{ family: 'Қайта' }] } as Resource);
    await db.query(`DELETE FROM search_string WHERE id = $1`, [created.id]);
    assert.equal((await search(repo, 'Patient', `family=Қайта&_id=${created.id}`)).entries.length, 0);
    let after: [string, string] | undefined;
    let pages = 0;
    for (;;) {
      const page = await repo.reindexPage({ after, limit: 1, resourceType: 'Patient' });
      if (page.count === 0) break;
      after = page.last;
      pages++;
    }
    assert.ok(pages >= 2);
    assert.equal((await search(repo, 'Patient', `family=Қайта&_id=${created.id}`)).entries.length, 1);
    assert.equal(await repo.countCurrent('Patient'), (await search(repo, 'Patient', '_count=1000')).entries.length);
  });

  const unknownParameter = (query: string) => () => parseSearchRequest('Patient', new URLSearchParams(query));

  test('a SearchParameter posted to the server is searchable: new writes at once, older ones after reindex; deleted, no longer', async () => {
    const url = 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName';
    const withMaidenName = (name: string) => ({ resourceType: 'Patient', extension: [{ url, valueString: name }] }) as Resource;
    const older = await repo.create(withMaidenName('Жұмабаева'));
    assert.throws(unknownParameter('mothers-maiden-name=x'), /Unknown search parameter/);
    const parameter = await repo.create({
      resourceType: 'SearchParameter',
      url: 'http://densaulyq.kz/fhir/SearchParameter/patient-mothers-maiden-name',
      name: 'MothersMaidenName',
      status: 'active',
      description: "Mother's maiden name",
      code: 'mothers-maiden-name',
      base: ['Patient'],
      type: 'string',
      expression: `Patient.extension.where(url = '${url}').value`,
    } as Resource);
    const newer = await repo.create(withMaidenName('Жұмабаева'));
    const found = async () => (await search(repo, 'Patient', 'mothers-maiden-name=жумабаева')).entries.map((e) => e.id).sort();
    assert.deepEqual(await found(), [newer.id]);
    let after: [string, string] | undefined;
    for (let page = await repo.reindexPage({ limit: 100, resourceType: 'Patient' }); page.count > 0; page = await repo.reindexPage({ after, limit: 100, resourceType: 'Patient' })) {
      after = page.last;
    }
    assert.deepEqual(await found(), [older.id, newer.id].sort());
    await repo.delete('SearchParameter', parameter.id);
    assert.throws(unknownParameter('mothers-maiden-name=x'), /Unknown search parameter/);
  });

  test('a SearchParameter is registered when its transaction commits, never when it rolls back', async () => {
    const definition = (code: string) =>
      ({ resourceType: 'SearchParameter', name: code, status: 'active', description: code, code, base: ['Patient'], type: 'string', expression: 'Patient.name.family' }) as Resource;
    await assert.rejects(
      repo.transaction(async (tx) => {
        await tx.create(definition('abandoned-family'));
        throw new Error('abandoned');
      }),
      /abandoned/,
    );
    assert.throws(unknownParameter('abandoned-family=x'), /Unknown search parameter/);
    const committed = await repo.transaction(async (tx) => {
      const stored = await tx.create(definition('committed-family'));
      assert.throws(unknownParameter('committed-family=x'), /Unknown search parameter/, 'not before the commit');
      return stored;
    });
    assert.doesNotThrow(unknownParameter('committed-family=x'));
    await repo.delete('SearchParameter', committed.id);
    assert.throws(unknownParameter('committed-family=x'), /Unknown search parameter/);
  });

  test('each clinical row carries its patient-compartment key', async () => {
    const patient = await repo.create({ resourceType: 'Patient' } as Resource);
    const observation = await repo.create({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { reference: `Patient/${patient.id}` },
    } as Resource);
    const practitioner = await repo.create({ resourceType: 'Practitioner' } as Resource);
    const rows = await db.query<{ id: string; compartment: string | null }>(
      `SELECT id, compartment FROM resource WHERE id = ANY($1::text[]) ORDER BY id`,
      [[patient.id, observation.id, practitioner.id]],
    );
    const byId = new Map(rows.map((r) => [r.id, r.compartment]));
    assert.equal(byId.get(patient.id), patient.id);
    assert.equal(byId.get(observation.id), patient.id);
    assert.equal(byId.get(practitioner.id), null);
  });

  test('search pages by keyset and every resource is seen exactly once, even while new ones arrive', async () => {
    const family = `Бет${Date.now()}`;
    for (let i = 0; i < 7; i++) await repo.create({ resourceType: 'Patient', name: [{ family }] } as Resource);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const request = parseSearchRequest('Patient', new URLSearchParams(`family=${family}&_count=3`));
      request.cursor = cursor;
      const page = await repo.search(request);
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.nextCursor;
      if (seen.length === 3) await repo.create({ resourceType: 'Patient', name: [{ family }] } as Resource);
    } while (cursor);
    assert.equal(seen.length, 8);
    assert.equal(new Set(seen).size, 8);
  });

  test('token, date, reference, quantity and string searches find what was indexed', async () => {
    const patient = await repo.create({ resourceType: 'Patient', birthDate: '1990-06-15', name: [{ family: 'Ғалымжан' }] } as Resource);
    await repo.create({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
      subject: { reference: `Patient/${patient.id}` },
      effectiveDateTime: '2024-03-10T08:30:00Z',
      valueQuantity: { value: 6.2, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    } as Resource);
    const find = async (type: string, query: string) => (await search(repo, type, query)).entries.length;
    assert.equal(await find('Patient', `birthdate=1990&_id=${patient.id}`), 1);
    assert.equal(await find('Patient', `birthdate=1991&_id=${patient.id}`), 0);
    assert.equal(await find('Patient', `name=ғали&_id=${patient.id}`), 1);
    assert.equal(await find('Patient', `name=ГАЛИ&_id=${patient.id}`), 1);
    assert.equal(await find('Observation', `subject=Patient/${patient.id}&code=http://loinc.org|2345-7`), 1);
    assert.equal(await find('Observation', `subject=Patient/${patient.id}&code=http://snomed.info/sct|2345-7`), 0);
    assert.equal(await find('Observation', `patient=${patient.id}&date=ge2024-03-01&date=lt2024-04`), 1);
    assert.equal(await find('Observation', `patient=${patient.id}&date=gt2024-03-10`), 0);
    assert.equal(await find('Observation', `patient=${patient.id}&value-quantity=gt6|http://unitsofmeasure.org|mmol/L`), 1);
    assert.equal(await find('Observation', `patient=${patient.id}&value-quantity=6.2`), 1);
    assert.equal(await find('Observation', `patient=${patient.id}&value-quantity=lt6`), 0);
  });
});
