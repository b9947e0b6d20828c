import { seedingAccess } from '../../src/access/door.js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { isFhirError } from '../../src/fhir/outcome.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import type { Database } from '../../src/store/driver.js';
import { Repository } from '../../src/store/repository.js';
import { testDrivers } from '../support/database.js';

/**
 * Value-level search to FHIR R4 (https://hl7.org/fhir/R4/search.html): every parameter type,
 * prefix and modifier, each with a case that matches and one that does not. Each check is
 * confined to the resources it created (`_id`), so checks share one database.
 */
for (const driver of testDrivers()) describe(`search values (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  let repo: Repository;
  before(async () => {
    db = await driver.open();
    repo = new Repository(db, seedingAccess());
  });
  after(() => db.close());

  const create = async (resource: Record<string, unknown>) => (await repo.create(resource as unknown as Resource)).id;

  /** The names (keys of `ids`) of the resources that `query` finds among `ids`. */
  async function found(type: string, query: string, ids: Record<string, string>): Promise<string[]> {
    const params = new URLSearchParams(query);
    params.append('_id', Object.values(ids).join(','));
    const result = await repo.search(parseSearchRequest(type, params));
    const byId = new Map(Object.entries(ids).map(([name, id]) => [id, name]));
    return result.entries.map((e) => byId.get(e.id)!).sort();
  }

  /** Asserts that `query` is refused with a 400 that names the parameter. */
  async function refused(type: string, query: string, expression: string): Promise<void> {
    await assert.rejects(
      async () => repo.search(parseSearchRequest(type, new URLSearchParams(query))),
      (error: unknown) => {
        assert.ok(isFhirError(error), `expected a FhirError, got ${String(error)}`);
        assert.equal(error.status, 400);
        assert.deepEqual(error.outcome.issue[0]?.expression, [expression]);
        return true;
      },
    );
  }

  describe('number', () => {
    let ids: Record<string, string>;
    before(async () => {
      const risk = (probability: number) => ({ resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/x' }, prediction: [{ probabilityDecimal: probability }] });
      ids = { p99_4: await create(risk(99.4)), p99_5: await create(risk(99.5)), p100: await create(risk(100)), p100_2: await create(risk(100.2)), p100_5: await create(risk(100.5)), p104: await create(risk(104)), p120: await create(risk(120)) };
    });
    test('100 has implicit precision: [99.5, 100.5)', async () => {
      assert.deepEqual(await found('RiskAssessment', 'probability=100', ids), ['p100', 'p100_2', 'p99_5']);
    });
    test('100.00 is more precise: [99.995, 100.005)', async () => {
      assert.deepEqual(await found('RiskAssessment', 'probability=100.00', ids), ['p100']);
    });
    test('1e2 is one significant figure, [95, 105) as the spec reads it', async () => {
      assert.deepEqual(await found('RiskAssessment', 'probability=1e2', ids), ['p100', 'p100_2', 'p100_5', 'p104', 'p99_4', 'p99_5']);
    });
    test('gt, lt, ge, le ignore the precision: they compare with exactly 100', async () => {
      assert.deepEqual(await found('RiskAssessment', 'probability=gt100', ids), ['p100_2', 'p100_5', 'p104', 'p120']);
      assert.deepEqual(await found('RiskAssessment', 'probability=lt100', ids), ['p99_4', 'p99_5']);
      assert.deepEqual(await found('RiskAssessment', 'probability=ge100', ids), ['p100', 'p100_2', 'p100_5', 'p104', 'p120']);
      assert.deepEqual(await found('RiskAssessment', 'probability=le100', ids), ['p100', 'p99_4', 'p99_5']);
    });
    test('sa and eb: starts after, ends before', async () => {
      assert.deepEqual(await found('RiskAssessment', 'probability=sa104', ids), ['p120']);
      assert.deepEqual(await found('RiskAssessment', 'probability=eb99.5', ids), ['p99_4']);
    });
    test('ne: outside the implicit range', async () => {
      assert.deepEqual(await found('RiskAssessment', 'probability=ne100', ids), ['p100_5', 'p104', 'p120', 'p99_4']);
    });
    test('ap: within 10% of the value', async () => {
      assert.deepEqual(await found('RiskAssessment', 'probability=ap115', ids), ['p104', 'p120']);
      assert.deepEqual(await found('RiskAssessment', 'probability=ap50', ids), []);
    });
    test('a malformed number is a 400 naming the parameter', async () => {
      await refused('RiskAssessment', 'probability=gtabc', 'probability');
    });
  });

  describe('date', () => {
    let ids: Record<string, string>;
    before(async () => {
      const encounter = (period: Record<string, string>) => ({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period });
      ids = {
        june2024: await create(encounter({ start: '2024-06-10T09:00:00Z', end: '2024-06-10T10:00:00Z' })),
        spanning: await create(encounter({ start: '2023-12-20', end: '2024-01-10' })),
        ongoing: await create(encounter({ start: '2025-02-01' })),
        early: await create(encounter({ start: '2020-01-01', end: '2020-01-02' })),
      };
    });
    test('eq: a date of 2024 covers the whole year; the period must lie inside it', async () => {
      assert.deepEqual(await found('Encounter', 'date=2024', ids), ['june2024']);
      assert.deepEqual(await found('Encounter', 'date=2024-06-10', ids), ['june2024']);
      assert.deepEqual(await found('Encounter', 'date=2024-06-11', ids), []);
    });
    test('ne: the period is not inside the value', async () => {
      assert.deepEqual(await found('Encounter', 'date=ne2024', ids), ['early', 'ongoing', 'spanning']);
    });
    test('gt and lt: periods overlap the time after (before) the value; an ongoing period never ends', async () => {
      assert.deepEqual(await found('Encounter', 'date=gt2024', ids), ['ongoing']);
      assert.deepEqual(await found('Encounter', 'date=gt2030', ids), ['ongoing']);
      assert.deepEqual(await found('Encounter', 'date=lt2024', ids), ['early', 'spanning']);
    });
    test('ge and le also take periods inside the value', async () => {
      assert.deepEqual(await found('Encounter', 'date=ge2024', ids), ['june2024', 'ongoing']);
      assert.deepEqual(await found('Encounter', 'date=le2024-06-10', ids), ['early', 'june2024', 'spanning']);
    });
    test('sa and eb: starts after, ends before', async () => {
      assert.deepEqual(await found('Encounter', 'date=sa2024', ids), ['ongoing']);
      assert.deepEqual(await found('Encounter', 'date=eb2024', ids), ['early']);
      assert.deepEqual(await found('Encounter', 'date=eb2020', ids), []);
    });
    test('ap: within 10% of the time between the value and now', async () => {
      assert.deepEqual(await found('Encounter', 'date=ap2024-06-09', ids), ['june2024']);
      assert.deepEqual(await found('Encounter', 'date=ap2010', ids), []);
    });
    test('a time with a zone is compared as an instant', async () => {
      assert.deepEqual(await found('Encounter', 'date=ge2024-06-10T14:30:00%2B05:00', ids), ['june2024', 'ongoing']);
      assert.deepEqual(await found('Encounter', 'date=ge2024-06-10T15:30:00%2B05:00', ids), ['ongoing']);
    });
    test(':missing', async () => {
      const none = await create({ resourceType: 'Encounter', status: 'planned', class: { code: 'AMB' } });
      assert.deepEqual(await found('Encounter', 'date:missing=true', { ...ids, none }), ['none']);
      assert.deepEqual(await found('Encounter', 'date:missing=false', { none }), []);
    });
    test('a malformed date is a 400 naming the parameter', async () => {
      await refused('Encounter', 'date=2024-13', 'date');
      await refused('Encounter', 'date:exact=2024', 'date:exact');
    });
  });

  describe('string', () => {
    let ids: Record<string, string>;
    before(async () => {
      ids = {
        galym: await create({ resourceType: 'Patient', name: [{ family: 'Ғалым', given: ['Әлия'] }] }),
        eve: await create({ resourceType: 'Patient', name: [{ family: 'Evelyn' }] }),
        severine: await create({ resourceType: 'Patient', name: [{ family: 'Séverine' }] }),
      };
    });
    test('default: starts with, ignoring case, accents and Kazakh letter variants', async () => {
      assert.deepEqual(await found('Patient', 'family=ГАЛИ', ids), ['galym']);
      assert.deepEqual(await found('Patient', 'family=ғалы', ids), ['galym']);
      assert.deepEqual(await found('Patient', 'family=алым', ids), []);
      assert.deepEqual(await found('Patient', 'name=eve', ids), ['eve']);
      assert.deepEqual(await found('Patient', 'name=seve', ids), ['severine']);
      assert.deepEqual(await found('Patient', 'name=lyn', ids), []);
    });
    test(':contains matches anywhere (the spec: eve finds Evelyn and Severine)', async () => {
      assert.deepEqual(await found('Patient', 'name:contains=eve', ids), ['eve', 'severine']);
      assert.deepEqual(await found('Patient', 'name:contains=xyz', ids), []);
    });
    test(':exact is the whole string, case and accents included', async () => {
      assert.deepEqual(await found('Patient', 'family:exact=Evelyn', ids), ['eve']);
      assert.deepEqual(await found('Patient', 'family:exact=evelyn', ids), []);
      assert.deepEqual(await found('Patient', 'family:exact=Severine', ids), []);
      assert.deepEqual(await found('Patient', 'family:exact=Séverine', ids), ['severine']);
    });
    test('an escaped comma is part of the value, not a separator', async () => {
      const comma = await create({ resourceType: 'Patient', name: [{ family: 'Smith, Jr' }] });
      assert.deepEqual(await found('Patient', 'family:exact=Smith\\, Jr', { comma }), ['comma']);
      assert.deepEqual(await found('Patient', 'family:exact=Smith', { comma }), []);
    });
    test('a modifier strings do not take is a 400', async () => {
      await refused('Patient', 'name:text=eve', 'name:text');
    });
  });
  describe('token', () => {
    const LOINC = 'http://loinc.org';
    const DIABETES = 'http://example.org/CodeSystem/diabetes';
    let ids: Record<string, string>;
    let conditions: Record<string, string>;
    before(async () => {
      const observation = (code: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code });
      ids = {
        glucose: await create(observation({ coding: [{ system: LOINC, code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma' }], text: 'Қандағы глюкоза' })),
        bare: await create(observation({ coding: [{ code: '2345-7' }] })),
        snomed: await create(observation({ coding: [{ system: 'http://snomed.info/sct', code: '271649006' }] })),
        piped: await create(observation({ coding: [{ system: 'urn:example', code: 'a|b$c' }] })),
      };
      await create({
        resourceType: 'CodeSystem',
        url: DIABETES,
        status: 'active',
        content: 'complete',
        concept: [{ code: 'diabetes', concept: [{ code: 'type1' }, { code: 'type2', concept: [{ code: 'type2-insulin' }] }] }, { code: 'other' }],
      });
      await create({
        resourceType: 'ValueSet',
        url: 'http://example.org/ValueSet/glucose-and-type2',
        status: 'active',
        compose: {
          include: [
            { system: LOINC, concept: [{ code: '2345-7' }] },
            { system: DIABETES, filter: [{ property: 'concept', op: 'is-a', value: 'type2' }] },
          ],
          exclude: [{ system: DIABETES, concept: [{ code: 'type2-insulin' }] }],
        },
      });
      await create({ resourceType: 'ValueSet', url: 'http://example.org/ValueSet/all-diabetes', status: 'active', compose: { include: [{ system: DIABETES }] } });
      const condition = (code: string) => ({ resourceType: 'Condition', subject: { reference: 'Patient/x' }, code: { coding: [{ system: DIABETES, code }] } });
      conditions = {
        diabetes: await create(condition('diabetes')),
        type1: await create(condition('type1')),
        type2: await create(condition('type2')),
        insulin: await create(condition('type2-insulin')),
        other: await create(condition('other')),
      };
    });
    test('system|code, code, |code and system| (the four forms of the spec)', async () => {
      assert.deepEqual(await found('Observation', `code=${LOINC}|2345-7`, ids), ['glucose']);
      assert.deepEqual(await found('Observation', 'code=2345-7', ids), ['bare', 'glucose']);
      assert.deepEqual(await found('Observation', 'code=|2345-7', ids), ['bare']);
      assert.deepEqual(await found('Observation', `code=${LOINC}|`, ids), ['glucose']);
      assert.deepEqual(await found('Observation', `code=${LOINC}|2345-8`, ids), []);
    });
    test('escaped | and $ are part of the code', async () => {
      assert.deepEqual(await found('Observation', 'code=urn:example|a\\|b\\$c', ids), ['piped']);
      assert.deepEqual(await found('Observation', 'code=urn:example|a', ids), []);
    });
    test(':not keeps resources without the code', async () => {
      assert.deepEqual(await found('Observation', `code:not=${LOINC}|2345-7`, ids), ['bare', 'piped', 'snomed']);
    });
    test(':text searches CodeableConcept.text and Coding.display', async () => {
      assert.deepEqual(await found('Observation', 'code:text=ҚАНДАҒЫ', ids), ['glucose']);
      assert.deepEqual(await found('Observation', 'code:text=glucose', ids), ['glucose']);
      assert.deepEqual(await found('Observation', 'code:text=insulin', ids), []);
    });
    test(':in expands concept lists, filtered code systems and excludes of a stored ValueSet', async () => {
      assert.deepEqual(await found('Observation', 'code:in=http://example.org/ValueSet/glucose-and-type2', ids), ['glucose']);
      assert.deepEqual(await found('Condition', 'code:in=http://example.org/ValueSet/glucose-and-type2', conditions), ['type2']);
      assert.deepEqual(await found('Condition', 'code:in=http://example.org/ValueSet/all-diabetes', conditions), ['diabetes', 'insulin', 'other', 'type1', 'type2']);
      assert.deepEqual(await found('Condition', 'code:in=http://example.org/ValueSet/unknown', conditions), []);
    });
    test(':not-in keeps resources none of whose codes is in the value set', async () => {
      assert.deepEqual(await found('Condition', 'code:not-in=http://example.org/ValueSet/glucose-and-type2', conditions), ['diabetes', 'insulin', 'other', 'type1']);
      assert.deepEqual(await found('Condition', 'code:not-in=http://example.org/ValueSet/all-diabetes', conditions), []);
    });
    test(':below and :above follow the concept hierarchy of a stored CodeSystem', async () => {
      assert.deepEqual(await found('Condition', `code:below=${DIABETES}|type2`, conditions), ['insulin', 'type2']);
      assert.deepEqual(await found('Condition', `code:below=${DIABETES}|diabetes`, conditions), ['diabetes', 'insulin', 'type1', 'type2']);
      assert.deepEqual(await found('Condition', `code:above=${DIABETES}|type2-insulin`, conditions), ['diabetes', 'insulin', 'type2']);
      assert.deepEqual(await found('Condition', `code:above=${DIABETES}|type1`, conditions), ['diabetes', 'type1']);
      assert.deepEqual(await found('Condition', `code:below=http://example.org/unknown|type2`, conditions), []);
      await refused('Condition', 'code:below=type2', 'code:below');
    });
    test('boolean tokens', async () => {
      const living = { alive: await create({ resourceType: 'Patient', deceasedBoolean: false }), dead: await create({ resourceType: 'Patient', deceasedBoolean: true }) };
      assert.deepEqual(await found('Patient', 'deceased=false', living), ['alive']);
      assert.deepEqual(await found('Patient', 'deceased=true', living), ['dead']);
    });
    test(':missing', async () => {
      const some = { coded: ids.glucose!, uncoded: await create({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'x' }) };
      assert.deepEqual(await found('Observation', 'value-concept:missing=true', some), ['coded', 'uncoded']);
      assert.deepEqual(await found('Observation', 'combo-code:missing=false', some), ['coded', 'uncoded']);
      assert.deepEqual(await found('Observation', 'value-string:missing=true', some), ['coded']);
    });
    test('a modifier tokens do not take is a 400', async () => {
      await refused('Observation', 'code:exact=x', 'code:exact');
      await refused('Observation', 'code:contains=x', 'code:contains');
    });
  });

  describe('reference', () => {
    let ids: Record<string, string>;
    before(async () => {
      const observation = (subject: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject });
      ids = {
        patient: await create(observation({ reference: 'Patient/p1' })),
        group: await create(observation({ reference: 'Group/p1' })),
        remote: await create(observation({ reference: 'http://other.example.org/fhir/Patient/p1' })),
      };
    });
    test('[type]/[id], [id] and :[type]', async () => {
      assert.deepEqual(await found('Observation', 'subject=Patient/p1', ids), ['patient', 'remote']);
      assert.deepEqual(await found('Observation', 'subject=p1', ids), ['group', 'patient', 'remote']);
      assert.deepEqual(await found('Observation', 'subject:Group=p1', ids), ['group']);
      assert.deepEqual(await found('Observation', 'subject=Patient/p2', ids), []);
      await refused('Observation', 'subject:Group=Patient/p1', 'subject:Group');
    });
    test('an absolute URL', async () => {
      assert.deepEqual(await found('Observation', 'subject=http://other.example.org/fhir/Patient/p1', ids), ['patient', 'remote']);
      assert.deepEqual(await found('Observation', 'subject=http://other.example.org/fhir/Patient/p2', ids), []);
    });
    test('a version in the reference is ignored', async () => {
      assert.deepEqual(await found('Observation', 'subject=Group/p1/_history/3', ids), ['group']);
    });
    test(':missing', async () => {
      const none = await create({ resourceType: 'Observation', status: 'final', code: { text: 'x' } });
      assert.deepEqual(await found('Observation', 'subject:missing=true', { ...ids, none }), ['none']);
      assert.deepEqual(await found('Observation', 'subject:missing=false', { ...ids, none }), ['group', 'patient', 'remote']);
    });
    test('a modifier references do not take is a 400', async () => {
      await refused('Observation', 'subject:below=Patient/p1', 'subject:below');
    });
  });

  describe('uri', () => {
    let ids: Record<string, string>;
    before(async () => {
      const valueSet = (url: string) => ({ resourceType: 'ValueSet', status: 'active', url });
      ids = {
        fhir: await create(valueSet('http://acme.org/fhir/')),
        vs123: await create(valueSet('http://acme.org/fhir/ValueSet/123')),
        other: await create(valueSet('http://acme.org/fhirx/ValueSet/1')),
      };
    });
    test('equality', async () => {
      assert.deepEqual(await found('ValueSet', 'url=http://acme.org/fhir/ValueSet/123', ids), ['vs123']);
      assert.deepEqual(await found('ValueSet', 'url=http://acme.org/fhir/ValueSet/12', ids), []);
    });
    test(':above (the spec: url:above=http://acme.org/fhir/ValueSet/123/_history/5)', async () => {
      assert.deepEqual(await found('ValueSet', 'url:above=http://acme.org/fhir/ValueSet/123/_history/5', ids), ['fhir', 'vs123']);
      assert.deepEqual(await found('ValueSet', 'url:above=http://acme.org/', ids), []);
    });
    test(':below by whole path segments (the spec: url:below=http://acme.org/fhir/)', async () => {
      assert.deepEqual(await found('ValueSet', 'url:below=http://acme.org/fhir/', ids), ['fhir', 'vs123']);
      assert.deepEqual(await found('ValueSet', 'url:below=http://acme.org/fh', ids), []);
    });
    test('a modifier uris do not take is a 400', async () => {
      await refused('ValueSet', 'url:contains=acme', 'url:contains');
    });
  });
  describe('quantity', () => {
    const UCUM = 'http://unitsofmeasure.org';
    let ids: Record<string, string>;
    before(async () => {
      const glucose = (value: number, code: string, system: string | undefined = UCUM) => ({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
        valueQuantity: { value, unit: code, ...(system ? { system } : {}), code },
      });
      ids = {
        umol6000: await create(glucose(6000, 'umol/L')),
        mmol5_4: await create(glucose(5.4, 'mmol/L')),
        mgdl100: await create(glucose(100, 'mg/dL')),
        local: await create(glucose(5.4, 'mmol/L', 'http://example.org/units')),
      };
    });
    test('6000 umol/L is found in mmol/L through UCUM canonical units', async () => {
      assert.deepEqual(await found('Observation', `value-quantity=gt5|${UCUM}|mmol/L`, ids), ['mmol5_4', 'umol6000']);
      assert.deepEqual(await found('Observation', `value-quantity=lt5|${UCUM}|mmol/L`, ids), []);
      assert.deepEqual(await found('Observation', `value-quantity=6|${UCUM}|mmol/L`, ids), ['umol6000']);
      assert.deepEqual(await found('Observation', `value-quantity=6000|${UCUM}|umol/L`, ids), ['umol6000']);
    });
    test('||code: any system, the unit compared as written and canonically', async () => {
      assert.deepEqual(await found('Observation', 'value-quantity=5.4||mmol/L', ids), ['local', 'mmol5_4']);
      assert.deepEqual(await found('Observation', 'value-quantity=gt5||mmol/L', ids), ['local', 'mmol5_4', 'umol6000']);
      assert.deepEqual(await found('Observation', 'value-quantity=5.4||mg/dL', ids), []);
    });
    test('a number alone ignores the unit; a unit of another dimension finds nothing', async () => {
      assert.deepEqual(await found('Observation', 'value-quantity=5.4', ids), ['local', 'mmol5_4']);
      assert.deepEqual(await found('Observation', `value-quantity=gt0|${UCUM}|kg`, ids), []);
    });
    test('prefixes in canonical units: ge, le, ne, ap, sa, eb', async () => {
      assert.deepEqual(await found('Observation', `value-quantity=ge6|${UCUM}|mmol/L`, ids), ['umol6000']);
      assert.deepEqual(await found('Observation', `value-quantity=le5.4|${UCUM}|mmol/L`, ids), ['mmol5_4']);
      assert.deepEqual(await found('Observation', `value-quantity=ne6|${UCUM}|mmol/L`, ids), ['mmol5_4']);
      assert.deepEqual(await found('Observation', `value-quantity=ap5.8|${UCUM}|mmol/L`, ids), ['mmol5_4', 'umol6000']);
      assert.deepEqual(await found('Observation', `value-quantity=sa5.5|${UCUM}|mmol/L`, ids), ['umol6000']);
      assert.deepEqual(await found('Observation', `value-quantity=eb5.5|${UCUM}|mmol/L`, ids), ['mmol5_4']);
      assert.deepEqual(await found('Observation', `value-quantity=1|${UCUM}|g/L`, ids), ['mgdl100']);
    });
    test('a malformed quantity is a 400 naming the parameter', async () => {
      await refused('Observation', 'value-quantity=5|mmol/L', 'value-quantity');
      await refused('Observation', 'value-quantity=five', 'value-quantity');
    });
  });

  describe('identifiers', () => {
    const V2 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
    let ids: Record<string, string>;
    before(async () => {
      const patient = (type: string, value: string) => ({ resourceType: 'Patient', identifier: [{ type: { coding: [{ system: V2, code: type }] }, system: 'urn:example:mrn', value }] });
      ids = { mr: await create(patient('MR', '446053')), dl: await create(patient('DL', '446053')) };
    });
    test(':of-type matches the identifier type and value together (the spec example)', async () => {
      assert.deepEqual(await found('Patient', `identifier:of-type=${V2}|MR|446053`, ids), ['mr']);
      assert.deepEqual(await found('Patient', `identifier:of-type=${V2}|MR|446054`, ids), []);
      await refused('Patient', `identifier:of-type=${V2}|MR`, 'identifier:of-type');
    });
    test('reference :identifier matches Reference.identifier', async () => {
      const byIdentifier = {
        logical: await create({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { identifier: { system: 'urn:oid:1.2.398', value: '900101300123' } } }),
        literal: await create({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1', identifier: { system: 'urn:oid:1.2.398', value: '850202400456' } } }),
      };
      assert.deepEqual(await found('Observation', 'subject:identifier=urn:oid:1.2.398|900101300123', byIdentifier), ['logical']);
      assert.deepEqual(await found('Observation', 'subject:identifier=850202400456', byIdentifier), ['literal']);
      assert.deepEqual(await found('Observation', 'subject:identifier=urn:oid:1.2.398|1', byIdentifier), []);
    });
  });

  describe('composite', () => {
    const LOINC = 'http://loinc.org';
    const UCUM = 'http://unitsofmeasure.org';
    let ids: Record<string, string>;
    before(async () => {
      const pressure = (systolic: number, diastolic: number) => ({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: LOINC, code: '85354-9' }] },
        component: [
          { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: systolic, system: UCUM, code: 'mm[Hg]' } },
          { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: diastolic, system: UCUM, code: 'mm[Hg]' } },
        ],
      });
      ids = {
        high: await create(pressure(150, 95)),
        normal: await create(pressure(118, 76)),
        glucose: await create({ resourceType: 'Observation', status: 'final', code: { coding: [{ system: LOINC, code: '2345-7', display: 'Glucose' }], text: 'Glucose in serum' }, valueQuantity: { value: 6.3, system: UCUM, code: 'mmol/L' } }),
      };
    });
    test('code-value-quantity (the spec example)', async () => {
      assert.deepEqual(await found('Observation', `code-value-quantity=${LOINC}|2345-7$gt5`, ids), ['glucose']);
      assert.deepEqual(await found('Observation', `code-value-quantity=${LOINC}|2345-7$lt5`, ids), []);
      assert.deepEqual(await found('Observation', `code-value-quantity=2345-7$gt5|${UCUM}|mmol/L`, ids), ['glucose']);
      assert.deepEqual(await found('Observation', `code-value-quantity=2345-7$gt5000|${UCUM}|umol/L`, ids), ['glucose']);
    });
    test('a composite keys by codes: the display or text of a concept is not a code', async () => {
      assert.deepEqual(await found('Observation', `code-value-quantity=Glucose$gt5`, ids), []);
      assert.deepEqual(await found('Observation', `combo-code-value-quantity=Glucose in serum$gt5`, ids), []);
      assert.deepEqual(await found('Observation', `code-value-quantity=|Glucose$gt5`, ids), []);
    });
    test('component-code-value-quantity holds on the same component', async () => {
      assert.deepEqual(await found('Observation', `component-code-value-quantity=${LOINC}|8480-6$gt140`, ids), ['high']);
      assert.deepEqual(await found('Observation', `component-code-value-quantity=${LOINC}|8462-4$lt80`, ids), ['normal']);
      // 95 is a diastolic value: it must not pass for a systolic one.
      assert.deepEqual(await found('Observation', `component-code-value-quantity=${LOINC}|8480-6$95`, ids), []);
      assert.deepEqual(await found('Observation', `component-code-value-quantity=${LOINC}|8462-4$95`, ids), ['high']);
    });
    test('combo-code-value-quantity looks at the observation and its components', async () => {
      assert.deepEqual(await found('Observation', `combo-code-value-quantity=8480-6$ge118`, ids), ['high', 'normal']);
      assert.deepEqual(await found('Observation', `combo-code-value-quantity=2345-7$6.3`, ids), ['glucose']);
    });
    test(':missing and malformed composites', async () => {
      assert.deepEqual(await found('Observation', 'component-code-value-quantity:missing=true', ids), ['glucose']);
      await refused('Observation', `code-value-quantity=${LOINC}|2345-7`, 'code-value-quantity');
      await refused('Observation', `code-value-quantity=${LOINC}|$5`, 'code-value-quantity');
      await refused('Observation', `code-value-quantity:not=${LOINC}|2345-7$5`, 'code-value-quantity:not');
    });
    test('a composite with a reference component: DocumentReference relationship', async () => {
      const docs = {
        replacing: await create({ resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { url: 'x' } }], relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/old' } }] }),
        appending: await create({ resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { url: 'x' } }], relatesTo: [{ code: 'appends', target: { reference: 'DocumentReference/old' } }] }),
      };
      assert.deepEqual(await found('DocumentReference', 'relationship=DocumentReference/old$replaces', docs), ['replacing']);
      assert.deepEqual(await found('DocumentReference', 'relationship=DocumentReference/other$replaces', docs), []);
    });
  });

  describe('near', () => {
    let ids: Record<string, string>;
    before(async () => {
      const location = (name: string, latitude: number, longitude: number) => ({ resourceType: 'Location', name, position: { latitude, longitude } });
      ids = { astana: await create(location('Астана', 51.1694, 71.4491)), almaty: await create(location('Алматы', 43.222, 76.8512)) };
    });
    test('near Astana within 50 km finds only Astana; 1000 km finds Almaty too (about 970 km away)', async () => {
      assert.deepEqual(await found('Location', 'near=51.18|71.45|50|km', ids), ['astana']);
      assert.deepEqual(await found('Location', 'near=51.18|71.45|950|km', ids), ['astana']);
      assert.deepEqual(await found('Location', 'near=51.18|71.45|1000|km', ids), ['almaty', 'astana']);
      assert.deepEqual(await found('Location', 'near=51.18|71.45|1000000|m', ids), ['almaty', 'astana']);
    });
    test('km when units are absent; a default distance when the distance is', async () => {
      assert.deepEqual(await found('Location', 'near=43.25|76.9|10', ids), ['almaty']);
      assert.deepEqual(await found('Location', 'near=43.25|76.9', ids), ['almaty']);
      assert.deepEqual(await found('Location', 'near=0|0', ids), []);
    });
    test('malformed near is a 400', async () => {
      await refused('Location', 'near=91|0|1|km', 'near');
      await refused('Location', 'near=51|71|1|kg', 'near');
      await refused('Location', 'near:missing=maybe', 'near:missing');
      await refused('Location', 'near:below=51|71', 'near:below');
    });
  });
});
