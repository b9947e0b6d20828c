import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Observation, Resource } from '@medplum/fhirtypes';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import { seedingAccess } from '../../src/access/door.js';
import { compositeDefinition, storedRows } from '../../src/fhir/derived-index.js';
import { normalizeString } from '../../src/fhir/normalize.js';
import { extractSearchIndex, searchParameters } from '../../src/fhir/search-parameters.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import type { Database } from '../../src/store/driver.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';

/**
 * Parameters answered from other parameters' rows (src/fhir/derived-index.ts): Observation's
 * combo parameters and its composites on the resource itself get no rows of their own, and
 * searching them finds exactly what their FHIRPath expressions say, checked against HL7's
 * fhirpath engine over the Observations of the shared Synthea data.
 */
const SYNTHEA_DIR = join(import.meta.dirname, '../../../shared/data/synthea-r4');
const LOINC = 'http://loinc.org';

/** The Observations of the first Synthea bundles, as much of each as the searches here read. */
function syntheaObservations(limit: number): Observation[] {
  const observations: Observation[] = [];
  for (const file of readdirSync(SYNTHEA_DIR).filter((f) => f.endsWith('.json')).sort()) {
    const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as { entry: { resource: Resource }[] };
    for (const { resource } of bundle.entry) {
      if (resource.resourceType !== 'Observation') continue;
      const { status, code, category, valueQuantity, valueCodeableConcept, component, effectiveDateTime } = resource;
      observations.push({ resourceType: 'Observation', status, code, category, valueQuantity, valueCodeableConcept, component, effectiveDateTime });
      if (observations.length === limit) return observations;
    }
  }
  return observations;
}

const evaluate = (resource: Observation, expression: string) => fhirpath.evaluate(resource, expression, undefined, r4) as any[];
const hasCode = (concept: any, system: string | undefined, code: string) =>
  (concept?.coding ?? []).some((c: any) => c.code === code && (system === undefined || c.system === system));

for (const driver of testDrivers()) describe(`parameters read from other parameters' rows (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  let repo: Repository;
  const stored = new Map<string, Observation>();
  const observations = syntheaObservations(600);

  before(async () => {
    db = await driver.open();
    repo = new Repository(db, seedingAccess());
    for (const observation of observations) {
      const created = await repo.create(observation);
      stored.set(created.id!, observation);
    }
  });
  after(() => db.close());

  /** The ids `query` finds, and the ids `oracle` picks out of what was stored: they must be the same. */
  async function agree(query: string, oracle: (o: Observation) => boolean): Promise<number> {
    const params = new URLSearchParams(query);
    params.set('_count', '1000');
    const result = await repo.search(parseSearchRequest('Observation', params));
    const found = result.entries.map((e) => e.id).sort();
    const expected = [...stored].filter(([, o]) => oracle(o)).map(([id]) => id).sort();
    assert.deepEqual(found, expected, query);
    return found.length;
  }

  /** Codes present on observations and on components, to search by. (The oracles use `ofType`: HL7's engine refuses `as` on several components, as FHIRPath says.) */
  const codes = () => [...new Set(observations.flatMap((o) => evaluate(o, 'Observation.code.coding.code | Observation.component.code.coding.code')))].sort();

  test('the data has what the checks need: components, quantities, coded values', () => {
    assert.ok(observations.length >= 300, `${observations.length} Observations`);
    assert.ok(observations.some((o) => o.component?.some((c) => c.valueQuantity)), 'components with quantities');
    assert.ok(observations.some((o) => o.valueCodeableConcept), 'coded values');
  });

  test('combo and resource-level composite parameters write no rows of their own', () => {
    const rows = observations.map((o) => extractSearchIndex(o));
    const codesWritten = new Set(rows.flatMap((r) => [...r.token, ...r.number].map((row) => row[0])));
    for (const code of ['combo-code', 'combo-value-quantity', 'combo-value-concept', 'code-value-quantity', 'code-value-concept', 'combo-code-value-quantity']) {
      assert.ok(![...codesWritten].some((c) => c === code || c.startsWith(`${code}$`) || c.startsWith(`${code}:`)), `${code} has rows`);
    }
    assert.ok(codesWritten.has('component-code-value-quantity'), 'component composites keep their keyed rows');
    assert.deepEqual(storedRows('Observation', 'combo-code'), { codes: ['code', 'component-code'] });
    const parameters = searchParameters('Observation');
    assert.deepEqual(compositeDefinition('Observation', parameters['combo-code-value-quantity']!, parameters)?.branches, [
      { kind: 'derived', codes: [['code'], ['value-quantity']] },
      { kind: 'stored', code: 'component-code-value-quantity' },
    ]);
  });

  test('a coded concept is one token row, its display the row\'s text; a text no code row carries is its own row', () => {
    const tokens = (code: Record<string, unknown>) =>
      extractSearchIndex({ resourceType: 'Observation', status: 'final', code } as unknown as Resource).token.filter((row) => row[0] === 'code');
    const glucose = { system: LOINC, code: '2345-7', display: 'Glucose' };
    assert.deepEqual(tokens({ coding: [glucose], text: 'glucose' }), [['code', LOINC, '2345-7', 'glucose']]);
    assert.deepEqual(tokens({ coding: [glucose], text: 'Қандағы глюкоза' }), [
      ['code', LOINC, '2345-7', 'glucose'],
      ['code', null, null, normalizeString('Қандағы глюкоза')],
    ]);
    assert.deepEqual(tokens({ coding: [glucose, { ...glucose, display: 'Глюкоза' }, { display: 'Sugar' }] }), [
      ['code', LOINC, '2345-7', 'glucose'],
      ['code', null, null, 'глюкоза'],
      ['code', null, null, 'sugar'],
    ]);
    assert.deepEqual(tokens({ text: 'Free text only' }), [['code', null, null, 'free text only']]);
  });

  test('combo-code finds the code of the observation or of a component', async () => {
    let matched = 0;
    for (const code of codes()) {
      matched += await agree(`combo-code=${code}`, (o) => evaluate(o, 'Observation.code | Observation.component.code').some((c) => hasCode(c, undefined, code)));
    }
    assert.ok(matched > 0);
    await agree('combo-code:missing=true', (o) => evaluate(o, 'Observation.code | Observation.component.code').length === 0);
  });

  test('combo-value-quantity and combo-value-concept read both levels', async () => {
    const quantities = (o: Observation) => evaluate(o, 'Observation.value.ofType(Quantity) | Observation.component.value.ofType(Quantity)').map((q) => q.value as number);
    for (const threshold of [0, 50, 120, 140, 1000]) {
      await agree(`combo-value-quantity=gt${threshold}`, (o) => quantities(o).some((v) => v > threshold));
    }
    const concepts = [...new Set(observations.flatMap((o) => evaluate(o, 'Observation.value.ofType(CodeableConcept).coding.code')))];
    assert.ok(concepts.length > 0);
    for (const code of concepts) {
      await agree(`combo-value-concept=${code}`, (o) => evaluate(o, 'Observation.value.ofType(CodeableConcept) | Observation.component.value.ofType(CodeableConcept)').some((c) => hasCode(c, undefined, code)));
    }
    await agree('combo-value-quantity:missing=false', (o) => quantities(o).length > 0);
  });

  test('composites hold on one element: the observation, a component, or either', async () => {
    /** Elements of the base with a coding `code` and a Quantity above `threshold`. */
    const elementMatch = (base: string, code: string, threshold: number) => (o: Observation) =>
      evaluate(o, base).some((e) => hasCode(e.code, LOINC, code) && typeof e.valueQuantity?.value === 'number' && e.valueQuantity.value > threshold);
    let matched = 0;
    for (const code of codes()) {
      for (const threshold of [0, 80, 140]) {
        matched += await agree(`code-value-quantity=${LOINC}|${code}$gt${threshold}`, elementMatch('Observation', code, threshold));
        matched += await agree(`component-code-value-quantity=${LOINC}|${code}$gt${threshold}`, elementMatch('Observation.component', code, threshold));
        matched += await agree(`combo-code-value-quantity=${LOINC}|${code}$gt${threshold}`, elementMatch('Observation | Observation.component', code, threshold));
      }
    }
    assert.ok(matched > 0);
    const coded = observations.find((o) => o.valueCodeableConcept?.coding?.[0]?.code)!;
    const [key, value] = [coded.code.coding![0]!, coded.valueCodeableConcept!.coding![0]!];
    const conceptMatch = (o: Observation) => hasCode(o.code, key.system, key.code!) && hasCode(o.valueCodeableConcept, undefined, value.code!);
    assert.ok((await agree(`code-value-concept=${key.system}|${key.code}$${value.code}`, conceptMatch)) > 0);
    await agree(`combo-code-value-concept=${key.system}|${key.code}$${value.code}`, conceptMatch);
    // A composite has a value on an element where every component has one.
    const bothOn = (base: string) => (o: Observation) => evaluate(o, base).some((e) => (e.code?.coding ?? []).some((c: any) => c.code) && e.valueQuantity);
    await agree('code-value-quantity:missing=true', (o) => !bothOn('Observation')(o));
    await agree('component-code-value-quantity:missing=false', bothOn('Observation.component'));
    await agree('combo-code-value-quantity:missing=false', bothOn('Observation | Observation.component'));
    await agree('combo-code-value-concept:missing=true', (o) =>
      !evaluate(o, 'Observation | Observation.component').some((e) => (e.code?.coding ?? []).some((c: any) => c.code) && e.valueCodeableConcept));
  });

  test('sorting by a combo parameter sorts by the values of both levels', async () => {
    const params = new URLSearchParams({ _sort: 'combo-value-quantity', 'combo-value-quantity:missing': 'false', _count: '1000' });
    const result = await repo.search(parseSearchRequest('Observation', params));
    const lowest = result.entries.map((e) => Math.min(...evaluate(stored.get(e.id)!, 'Observation.value.ofType(Quantity).value | Observation.component.value.ofType(Quantity).value')));
    assert.ok(lowest.length > 0);
    assert.deepEqual(lowest, [...lowest].sort((a, b) => a - b));
  });

  describe('a reference parameter to one type is read from the general one', () => {
    const ids: Record<string, string> = {};
    before(async () => {
      const patient = await repo.create({ resourceType: 'Patient', name: [{ family: 'Әбілқайыр' }] } as Resource);
      const group = await repo.create({ resourceType: 'Group', type: 'person', actual: true } as Resource);
      const observation = (subject: Record<string, unknown>, code: string) =>
        repo.create({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: LOINC, code }] }, subject } as unknown as Resource);
      ids.patient = patient.id!;
      ids.group = group.id!;
      ids.ofPatient = (await observation({ reference: `Patient/${patient.id}` }, 'alias-1')).id!;
      ids.ofGroup = (await observation({ reference: `Group/${group.id}` }, 'alias-1')).id!;
      ids.byIdentifier = (await observation({ type: 'Patient', identifier: { system: 'urn:iin', value: '900101300123' } }, 'alias-1')).id!;
      ids.elsewhere = (await observation({ reference: 'https://other.example/fhir/Patient/9' }, 'alias-1')).id!;
    });
    const search = async (type: string, query: string) => {
      const result = await repo.search(parseSearchRequest(type, new URLSearchParams(query)));
      return [...result.entries, ...result.included].map((e) => `${e.resourceType}/${e.id}`).sort();
    };
    const names = (...keys: string[]) => keys.map((k) => `${k === 'patient' ? 'Patient' : k === 'group' ? 'Group' : 'Observation'}/${ids[k]}`).sort();

    test('patient has no rows of its own, and storedRows says whose it reads', () => {
      assert.deepEqual(storedRows('Observation', 'patient'), { codes: ['subject'], targetType: 'Patient' });
      assert.deepEqual(storedRows('Encounter', 'practitioner'), { codes: ['participant'], targetType: 'Practitioner' });
      const rows = extractSearchIndex({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/1' } } as Resource);
      assert.deepEqual(rows.reference.map((r) => r[0]), ['subject']);
    });

    test('searches, :missing, chains, _has and includes by patient see only the Patient subjects', async () => {
      assert.deepEqual(await search('Observation', 'code=alias-1&patient=' + ids.patient), names('ofPatient'));
      assert.deepEqual(await search('Observation', 'code=alias-1&subject=Group/' + ids.group), names('ofGroup'));
      assert.deepEqual(await search('Observation', 'code=alias-1&patient:missing=false'), names('ofPatient', 'byIdentifier', 'elsewhere'));
      assert.deepEqual(await search('Observation', 'code=alias-1&patient:missing=true'), names('ofGroup'));
      assert.deepEqual(await search('Observation', 'code=alias-1&patient:identifier=urn:iin|900101300123'), names('byIdentifier'));
      assert.deepEqual(await search('Observation', 'code=alias-1&patient=https://other.example/fhir/Patient/9'), names('elsewhere'));
      assert.deepEqual(await search('Observation', 'code=alias-1&patient.name=Әбілқайыр'), names('ofPatient'));
      assert.deepEqual(await search('Patient', `_id=${ids.patient}&_has:Observation:patient:code=alias-1`), names('patient'));
      assert.deepEqual(await search('Group', `_id=${ids.group}&_has:Observation:subject:code=alias-1`), names('group'));
      assert.deepEqual(await search('Observation', 'code=alias-1&subject=Group/' + ids.group + '&_include=Observation:patient'), names('ofGroup'));
      assert.deepEqual(await search('Observation', 'code=alias-1&patient=' + ids.patient + '&_include=Observation:patient'), names('ofPatient', 'patient'));
      assert.deepEqual(await search('Group', `_id=${ids.group}&_revinclude=Observation:patient`), names('group'));
      assert.deepEqual(await search('Patient', `_id=${ids.patient}&_revinclude=Observation:patient`), names('patient', 'ofPatient'));
    });
  });
});
