import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { CORE_INVARIANTS } from '../../src/fhir/validator/core-invariants.js';
import { coreDefinitions } from '../../src/fhir/validator/structure.js';
import { Walk } from '../../src/fhir/validator/walk.js';
import { populationResources } from '../../src/synth/population.js';

/**
 * The invariants compiled by hand must mean what their FHIRPath says: on every node of the
 * Synthea data and of a generated population where they apply, and on cases made to pass and to
 * fail each one, they agree with HL7's fhirpath.js. per-1 is the one deliberate difference.
 */

const synthea = new URL('../../../shared/data/synthea-r4/', import.meta.url);

/** Every expression of the R4 core with the element paths it is defined on. */
function coreExpressions(): Map<string, { keys: Set<string>; paths: Set<string> }> {
  const found = new Map<string, { keys: Set<string>; paths: Set<string> }>();
  for (const definition of new Set(coreDefinitions().values())) {
    for (const element of definition.snapshot?.element ?? []) {
      for (const constraint of element.constraint ?? []) {
        if (!constraint.expression) continue;
        const entry = found.get(constraint.expression) ?? { keys: new Set<string>(), paths: new Set<string>() };
        entry.keys.add(constraint.key);
        entry.paths.add(element.path);
        found.set(constraint.expression, entry);
      }
    }
  }
  return found;
}

const expressions = coreExpressions();
const ignoreTrace = (): void => undefined;

function byFhirpath(expression: string, base: string, node: unknown, resource: unknown): boolean {
  const result = fhirpath.evaluate(node as object, { base, expression }, { resource, rootResource: resource }, r4, { traceFn: ignoreTrace });
  return result.length === 1 && result[0] === true;
}

function byHand(expression: string, node: unknown, resource: Record<string, unknown>): boolean | undefined {
  const walk = new Walk('en');
  walk.frame = { resource, root: { resource }, containedIndex: -1 };
  return CORE_INVARIANTS.get(expression)!(node, walk);
}

function testResources(): Resource[] {
  const resources: Resource[] = [];
  for (const file of readdirSync(synthea).filter((f) => f.endsWith('.json'))) {
    for (const entry of (JSON.parse(readFileSync(new URL(file, synthea), 'utf8')) as Bundle).entry ?? []) resources.push(entry.resource!);
  }
  resources.push(...populationResources({ patients: 20, seed: 11 }));
  return resources;
}

describe('hand-compiled invariants', () => {
  test('each is an R4 core expression', () => {
    for (const expression of CORE_INVARIANTS.keys()) assert.ok(expressions.has(expression), expression);
  });

  test('agree with fhirpath.js on every node of the Synthea data and a generated population', () => {
    // Every node of every resource by its path in the R4 model (`Quantity`, `Timing.repeat`), with its resource.
    const nodes = new Map<string, [node: unknown, resource: Record<string, unknown>][]>();
    const add = (path: string, node: unknown, resource: Record<string, unknown>) => {
      if (!nodes.has(path)) nodes.set(path, []);
      nodes.get(path)!.push([node, resource]);
    };
    for (const resource of testResources()) {
      const root = resource as unknown as Record<string, unknown>;
      add(resource.resourceType, resource, root);
      for (const node of fhirpath.evaluate(resource, 'descendants()', {}, r4, { resolveInternalTypes: false }) as { path: string; data: unknown }[]) {
        add(node.path, node.data, root);
      }
    }
    let compared = 0;
    for (const expression of CORE_INVARIANTS.keys()) {
      if (expressions.get(expression)!.keys.has('per-1')) continue;
      for (const path of expressions.get(expression)!.paths) {
        for (const [node, resource] of nodes.get(path) ?? []) {
          assert.equal(byHand(expression, node, resource), byFhirpath(expression, path, node, resource), `${expression} on ${JSON.stringify(node)}`);
          compared++;
        }
      }
    }
    assert.ok(compared > 10_000, `compared ${compared}`);
  });

  const coding = (system: string, code: string) => ({ coding: [{ system, code }] });
  const clinical = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
  const verification = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
  const allergyVerification = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';
  const ext = { extension: [{ url: 'http://x.kz/e', valueString: 'x' }] };

  /** Nodes made to pass and to fail each hand-compiled invariant, by key and the path they sit on. */
  const cases: Record<string, [path: string, nodes: unknown[]]> = {
    'qty-3': ['Quantity', [{ value: 1 }, { code: 'mg' }, { code: 'mg', system: 'http://unitsofmeasure.org' }, { code: 'mg', _system: ext }, { _code: ext }]],
    'sqty-1': ['Quantity', [{ value: 1 }, { comparator: '<' }, { _comparator: ext }]],
    'cpt-2': ['ContactPoint', [{ value: '1' }, { value: '1', system: 'phone' }, { system: 'phone' }, { _value: ext }]],
    'att-1': ['Attachment', [{ data: 'AAAA' }, { data: 'AAAA', contentType: 'text/plain' }, { url: 'http://x' }]],
    'obs-6': ['Observation', [{ valueString: 'x' }, { valueString: 'x', dataAbsentReason: { text: 'x' } }, { dataAbsentReason: { text: 'x' } }, { _valueString: ext, dataAbsentReason: { text: 'x' } }, { valueQuantity: { value: 1 }, dataAbsentReason: { text: 'x' } }]],
    'obs-7': [
      'Observation',
      [
        { code: coding('http://loinc.org', '1'), valueString: 'x', component: [{ code: coding('http://loinc.org', '1') }] },
        { code: coding('http://loinc.org', '1'), valueString: 'x', component: [{ code: coding('http://loinc.org', '2') }] },
        { code: coding('http://loinc.org', '1'), component: [{ code: coding('http://loinc.org', '1') }] },
        { code: { coding: [{ system: 'http://loinc.org', code: '1', display: 'a' }] }, valueString: 'x', component: [{ code: { coding: [{ code: '1', system: 'http://loinc.org', display: 'a' }] } }] },
        { code: { coding: [{ system: 'http://loinc.org', code: '1', display: 'a' }] }, valueString: 'x', component: [{ code: { coding: [{ code: '1', system: 'http://loinc.org' }] } }] },
        { code: { text: 'x' }, valueString: 'x', component: [{ code: coding('http://loinc.org', '1') }] },
      ],
    ],
    'obs-3': ['Observation.referenceRange', [{ low: { value: 1 } }, { high: { value: 1 } }, { text: 'x' }, { type: { text: 'x' } }, { _text: ext }]],
    'con-4': [
      'Condition',
      [{ abatementDateTime: '2020' }, { abatementString: 'x', clinicalStatus: coding(clinical, 'resolved') }, { abatementAge: { value: 1 }, clinicalStatus: coding(clinical, 'active') }, { clinicalStatus: coding(clinical, 'active') }, { abatementString: 'x', clinicalStatus: coding('http://other', 'resolved') }],
    ],
    'con-5': ['Condition', [{ verificationStatus: coding(verification, 'entered-in-error'), clinicalStatus: coding(clinical, 'active') }, { verificationStatus: coding(verification, 'entered-in-error') }, { verificationStatus: coding(verification, 'confirmed'), clinicalStatus: coding(clinical, 'active') }]],
    'ait-1': ['AllergyIntolerance', [{}, { clinicalStatus: { text: 'x' } }, { verificationStatus: coding(allergyVerification, 'entered-in-error') }, { verificationStatus: coding(allergyVerification, 'confirmed') }]],
    'ait-2': ['AllergyIntolerance', [{ verificationStatus: coding(allergyVerification, 'entered-in-error'), clinicalStatus: { text: 'x' } }, { verificationStatus: coding(allergyVerification, 'entered-in-error') }, { clinicalStatus: { text: 'x' } }]],
    'org-1': ['Organization', [{}, { name: 'x' }, { identifier: [{ value: '1' }] }, { _name: ext }, { active: true }]],
    'org-2': ['Organization.address', [{ use: 'home' }, { use: 'work' }, {}, { _use: ext }]],
    'pat-1': ['Patient.contact', [{ gender: 'male' }, { name: { text: 'x' } }, { telecom: [{ value: '1' }] }, { address: { city: 'x' } }, { organization: { reference: 'Organization/1' } }]],
    'prr-1': ['ServiceRequest', [{ orderDetail: [{ text: 'x' }] }, { orderDetail: [{ text: 'x' }], code: { text: 'x' } }, {}]],
    'cpl-3': ['CarePlan.activity', [{ detail: { status: 'completed' }, reference: { reference: 'x' } }, { detail: { status: 'completed' } }, { reference: { reference: 'x' } }]],
    'tim-1': ['Timing.repeat', [{ duration: 1 }, { duration: 1, durationUnit: 'h' }, {}]],
    'tim-2': ['Timing.repeat', [{ period: 1 }, { period: 1, periodUnit: 'h' }, {}]],
    'tim-4': ['Timing.repeat', [{ duration: -1 }, { duration: 0 }, { duration: 2 }, {}]],
    'tim-5': ['Timing.repeat', [{ period: -1 }, { period: 0 }, {}]],
    'tim-6': ['Timing.repeat', [{ periodMax: 2 }, { periodMax: 2, period: 1 }, {}]],
    'tim-7': ['Timing.repeat', [{ durationMax: 2 }, { durationMax: 2, duration: 1 }, {}]],
    'tim-8': ['Timing.repeat', [{ countMax: 2 }, { countMax: 2, count: 1 }, {}]],
    'tim-9': ['Timing.repeat', [{ offset: 1 }, { offset: 1, when: ['MORN'] }, { offset: 1, when: ['C'] }, { offset: 1, when: ['MORN', 'CM'] }, { when: ['C'] }, {}]],
    'tim-10': ['Timing.repeat', [{ timeOfDay: ['10:00:00'] }, { timeOfDay: ['10:00:00'], when: ['MORN'] }, { when: ['MORN'] }]],
    'imm-1': ['Immunization.education', [{ documentType: 'x' }, { reference: 'http://x' }, { publicationDate: '2020-01-01' }]],
    'gol-1': ['Goal.target', [{ detailQuantity: { value: 1 } }, { detailQuantity: { value: 1 }, measure: { text: 'x' } }, { measure: { text: 'x' } }, {}]],
    'app-1': ['Appointment.participant', [{ type: [{ text: 'x' }] }, { actor: { reference: 'Patient/1' } }, { status: 'accepted' }]],
    'ppc-1': ['Consent', [{ policy: [{ uri: 'http://x' }] }, { policyRule: { text: 'x' } }, {}]],
  };

  test('agree with fhirpath.js on cases made to pass and to fail each', () => {
    const keys = new Set<string>();
    for (const [expression, entry] of expressions) {
      if (!CORE_INVARIANTS.has(expression) || entry.keys.has('per-1')) continue;
      const key = [...entry.keys].find((k) => cases[k]) ?? assert.fail(`no cases for ${[...entry.keys].join(', ')}`);
      keys.add(key);
      const [path, nodes] = cases[key]!;
      const outcomes = new Set<boolean>();
      for (const node of nodes) {
        const resource = { resourceType: path.split('.')[0]!, ...(path.includes('.') ? {} : (node as object)) };
        const expected = byFhirpath(expression, path, node, resource);
        assert.equal(byHand(expression, node, resource), expected, `${key} on ${JSON.stringify(node)}`);
        outcomes.add(expected);
      }
      assert.equal(outcomes.size, 2, `${key}: the cases must make it pass and fail`);
    }
    assert.deepEqual([...keys].sort(), Object.keys(cases).sort());
  });

  describe('per-1: the boundaries of start and end, as R5 words it', () => {
    const per1 = 'start.hasValue().not() or end.hasValue().not() or (start <= end)';
    const holds = (start: string, end: string) => byHand(per1, { start, end }, { resourceType: 'Encounter' });
    const r4Holds = (start: string, end: string) => byFhirpath(per1, 'Period', { start, end }, { resourceType: 'Encounter' });

    test('agrees with fhirpath.js where both values have the same precision', () => {
      for (const [start, end] of [
        ['2020-05-01', '2020-05-02'],
        ['2020-05-02', '2020-05-01'],
        ['2020-05-01', '2020-05-01'],
        ['2020-05-01T10:00:00Z', '2020-05-01T09:59:59Z'],
        ['2020-05-01T10:00:00+06:00', '2020-05-01T05:00:00Z'],
        ['2020-05-01T10:00:00+06:00', '2020-05-01T03:59:59Z'],
        ['2020', '2021'],
        ['2021', '2020'],
        ['2020-05', '2020-04'],
      ]) {
        assert.equal(holds(start!, end!), r4Holds(start!, end!), `${start} to ${end}`);
      }
    });

    test('differs where R4 is empty for want of precision: such periods are in order', () => {
      // fhirpath.js answers empty (a failure) for all of these: the precisions differ.
      for (const [start, end] of [
        ['2020', '2020-05-01'],
        ['2020-05-01', '2020-05-01T10:00:00Z'],
        ['2020-05', '2020-05-31T23:00:00+06:00'],
      ]) {
        assert.equal(r4Holds(start!, end!), false, `${start} to ${end} under R4`);
        assert.equal(holds(start!, end!), true, `${start} to ${end}`);
      }
      // The end's second lasts until its last millisecond.
      assert.equal(r4Holds('2020-05-01T10:00:00.5Z', '2020-05-01T10:00:00Z'), false);
      assert.equal(holds('2020-05-01T10:00:00.5Z', '2020-05-01T10:00:00Z'), true);
    });

    test('still fails a period plainly out of order, whatever the precision', () => {
      assert.equal(holds('2021', '2020-05-01'), false);
      assert.equal(holds('2020-05-02T15:00:00Z', '2020-05-01'), false, 'the date ends at 14:00 UTC the next day at the latest');
      assert.equal(holds('2020-05-02T13:00:00Z', '2020-05-01'), true, 'in zone -14:00 the date ends later');
      assert.equal(holds('0050-01-01', '0049-12-31'), false);
    });
  });
});

describe('invariants left to fhirpath.js', () => {
  test('every R4 core expression compiles in fhirpath.js', () => {
    const failed: string[] = [];
    for (const [expression, { keys, paths }] of expressions) {
      try {
        fhirpath.compile({ base: [...paths][0]!, expression }, r4);
      } catch {
        failed.push(...keys);
      }
    }
    assert.deepEqual(failed, []);
  });

  test('an invariant evaluated by fhirpath.js is reported with its key', async () => {
    const { validateResource } = await import('../../src/fhir/validate.js');
    // bdl-1: total only when the Bundle is a search or history result
    const issues = validateResource({ resourceType: 'Bundle', type: 'collection', total: 1 });
    assert.deepEqual(issues.map((i) => [i.expression?.[0], i.code, i.details?.text]), [['Bundle', 'invariant', 'Constraint bdl-1 failed: total only when a search or history']]);
  });

  test('ctm-1 needs resolve(), which validation does not do, and is skipped', async () => {
    const { validateResource } = await import('../../src/fhir/validate.js');
    const careTeam = { resourceType: 'CareTeam', participant: [{ member: { reference: 'Organization/1' }, onBehalfOf: { reference: 'Organization/2' } }] };
    assert.deepEqual(validateResource(careTeam), []);
  });
});
