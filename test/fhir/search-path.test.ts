import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type TypedValue, evalFhirPathTyped, getSearchParameterDetails, parseFhirPath, toTypedValue } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { resourceTypes } from '../../src/fhir/definitions.js';
import { extractSearchIndex, extractSearchIndexByFhirPath, referenceTargets, searchParameters } from '../../src/fhir/search-parameters.js';
import { compileSearchPath } from '../../src/fhir/search-path.js';
import { populationResources } from '../../src/synth/population.js';

const synthea = new URL('../../../shared/data/synthea-r4/', import.meta.url);

/** The Synthea transaction bundles' resources: with their `urn:uuid:` references, and as the server stores them (`Type/id`). */
function syntheaResources(): { asSent: Resource[]; asStored: Resource[] } {
  const asSent: Resource[] = [];
  const asStored: Resource[] = [];
  for (const name of readdirSync(synthea).filter((n) => n.endsWith('.json'))) {
    const text = readFileSync(new URL(name, synthea), 'utf8');
    const bundle = JSON.parse(text) as Bundle;
    asSent.push(...bundle.entry!.map((e) => e.resource!));
    const stored = new Map(bundle.entry!.map((e) => [e.fullUrl!, `${e.resource!.resourceType}/${e.fullUrl!.replace('urn:uuid:', '')}`]));
    const rewritten = JSON.parse(text, (key, value) => (key === 'reference' && stored.has(value) ? stored.get(value) : value)) as Bundle;
    asStored.push(...rewritten.entry!.map((e) => e.resource!));
  }
  return { asSent, asStored };
}

function expressionOf(resourceType: string, code: string) {
  return getSearchParameterDetails(resourceType, searchParameters(resourceType)[code]).parsedExpression;
}

function byFhirPath(resource: Resource, code: string): TypedValue[] {
  const typed = toTypedValue(resource);
  return evalFhirPathTyped(expressionOf(resource.resourceType, code), [typed], { '%resource': typed });
}

function compiled(resource: Resource, code: string): TypedValue[] {
  const path = compileSearchPath(expressionOf(resource.resourceType, code));
  assert.ok(path, `${resource.resourceType}.${code} compiles`);
  return path(toTypedValue(resource));
}

/** Every parameter of the resource, compiled against Medplum's evaluator; a throw must be a throw in both. */
function assertSameValues(resource: Resource): number {
  let compared = 0;
  for (const parameter of Object.values(searchParameters(resource.resourceType))) {
    const expression = getSearchParameterDetails(resource.resourceType, parameter).parsedExpression;
    const path = compileSearchPath(expression);
    if (!path) continue;
    const typed = toTypedValue(resource);
    const outcome = (evaluate: () => TypedValue[]) => {
      try {
        return { values: evaluate() };
      } catch {
        return { threw: true };
      }
    };
    const byMedplum = outcome(() => evalFhirPathTyped(expression, [typed], { '%resource': typed }));
    assert.deepStrictEqual(outcome(() => path(typed)), byMedplum, `${resource.resourceType}.${parameter.code}`);
    compared++;
  }
  return compared;
}

function assertSameRows(resources: Iterable<Resource>): number {
  let count = 0;
  for (const resource of resources) {
    assert.deepStrictEqual(extractSearchIndex(resource), extractSearchIndexByFhirPath(resource), `${resource.resourceType}/${resource.id}`);
    assertSameValues(resource);
    count++;
  }
  return count;
}

describe('compiled search paths', () => {
  test('every R4 search parameter compiles except three that Medplum evaluates', () => {
    const fallback: string[] = [];
    let compiledCount = 0;
    for (const type of resourceTypes) {
      for (const parameter of Object.values(searchParameters(type))) {
        if (compileSearchPath(getSearchParameterDetails(type, parameter).parsedExpression)) compiledCount++;
        else fallback.push(`${type}.${parameter.code}`);
      }
    }
    // entry[0] indexing and exists()/and/!= are not search path shapes worth compiling.
    assert.deepEqual(fallback.sort(), ['Bundle.composition', 'Bundle.message', 'Patient.deceased']);
    assert.ok(compiledCount > 2700, String(compiledCount));
  });

  test('the Synthea bundles index exactly as with Medplum alone, as sent and as stored', () => {
    const { asSent, asStored } = syntheaResources();
    assert.equal(assertSameRows(asSent), 5039);
    assert.equal(assertSameRows(asStored), 5039);
  });

  test('a synthetic population of 200 patients indexes exactly as with Medplum alone', () => {
    assert.ok(assertSameRows(populationResources({ patients: 200, seed: 3 })) > 10_000);
  });

  test('choice types are read from the key of the type present, typed as Medplum types them', () => {
    const quantity = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 5.2, unit: 'mmol/L' } } as Resource;
    assert.deepEqual(compiled(quantity, 'value-quantity'), [{ type: 'Quantity', value: { value: 5.2, unit: 'mmol/L' } }]);
    assert.deepEqual(compiled(quantity, 'value-concept'), []);
    const concept = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueCodeableConcept: { text: 'positive' }, effectiveDateTime: '2024-02-29T10:00:00Z' } as Resource;
    assert.deepEqual(compiled(concept, 'value-concept'), [{ type: 'CodeableConcept', value: { text: 'positive' } }]);
    assert.deepEqual(compiled(concept, 'date'), [{ type: 'dateTime', value: '2024-02-29T10:00:00Z' }]);
    const period = { resourceType: 'Condition', subject: { reference: 'Patient/1' }, onsetPeriod: { start: '2020' }, abatementString: 'in remission' } as Resource;
    assert.deepEqual(compiled(period, 'onset-date'), [{ type: 'Period', value: { start: '2020' } }]);
    assert.deepEqual(compiled(period, 'abatement-string'), [{ type: 'string', value: 'in remission' }]);
    // Medplum's `.as(dateTime)` does not filter, so a string abatement is an abatement-date value too.
    assert.deepEqual(compiled(period, 'abatement-date'), byFhirPath(period, 'abatement-date'));
    for (const resource of [quantity, concept, period]) assertSameValues(resource);
  });

  test('a null primitive extension stops the choice-type search at its type, as in Medplum', () => {
    // value[x] lists string before dateTime: `_valueString: null` hides the dateTime from Medplum.
    const observation = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, _valueString: null, valueDateTime: '2020' } as unknown as Resource;
    assert.deepEqual(compiled(observation, 'value-date'), []);
    assertSameValues(observation);
  });

  test('paths through Resource elements type each resource by its resourceType', () => {
    const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', id: 'p' } }, { resource: { resourceType: 'Group', id: 'g' } }] };
    for (const text of ['Bundle.entry.resource', 'Bundle.entry.resource.ofType(Group)', 'Bundle.entry.resource as Patient']) {
      const expression = parseFhirPath(text);
      const typed = toTypedValue(bundle);
      assert.deepEqual(compileSearchPath(expression)!(typed), evalFhirPathTyped(expression, [typed]), text);
    }
    assert.deepEqual(compileSearchPath(parseFhirPath('Bundle.entry.resource'))!(toTypedValue(bundle)).map((v) => v.type), ['Patient', 'Group']);
  });

  test('primitive types keep their FHIR names and arrays are flattened in order', () => {
    const patient = {
      resourceType: 'Patient',
      birthDate: '1990-05-01',
      active: true,
      gender: 'female',
      name: [{ family: 'Ахметова', given: ['Айгүл', 'Нұрлан'] }, { given: ['Aigul'] }],
      address: [{ city: 'Almaty' }, { city: 'Astana', line: ['Mangilik El 1'] }],
    } as Resource;
    assert.deepEqual(compiled(patient, 'birthdate'), [{ type: 'date', value: '1990-05-01' }]);
    assert.deepEqual(compiled(patient, 'active'), [{ type: 'boolean', value: true }]);
    assert.deepEqual(compiled(patient, 'gender'), [{ type: 'code', value: 'female' }]);
    assert.deepEqual(compiled(patient, 'given'), ['Айгүл', 'Нұрлан', 'Aigul'].map((value) => ({ type: 'string', value })));
    assert.deepEqual(compiled(patient, 'address-city'), ['Almaty', 'Astana'].map((value) => ({ type: 'string', value })));
    assertSameValues(patient);
  });

  test('primitive extensions: a value with extensions, extensions without a value, and parallel arrays', () => {
    const absent = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] };
    const patients = [
      { resourceType: 'Patient', _birthDate: absent },
      { resourceType: 'Patient', birthDate: '1990-05-01', _birthDate: absent },
      { resourceType: 'Patient', name: [{ given: ['Aigul', 'Dana'], _given: [null, absent] }] },
      { resourceType: 'Patient', name: [{ _given: [absent] }] },
      { resourceType: 'Patient', _gender: absent, _active: absent },
    ] as unknown as Resource[];
    for (const patient of patients) assertSameValues(patient);
    // The merged value is unwrapped to the plain string, so the row is the same as without extensions.
    assert.deepEqual(compiled(patients[1], 'birthdate'), [{ type: 'date', value: '1990-05-01' }]);
    assert.deepEqual(extractSearchIndex(patients[1]).date, extractSearchIndex({ resourceType: 'Patient', birthDate: '1990-05-01' }).date);
    assert.deepEqual(compiled(patients[0], 'birthdate'), [{ type: 'date', value: absent }]);
    // Medplum rejects a primitive extension that is not an object; so does the compiled path.
    assertSameValues({ resourceType: 'Patient', _birthDate: 'oops' } as unknown as Resource);
    assert.throws(() => compiled({ resourceType: 'Patient', birthDate: '1990', _birthDate: 'oops' } as unknown as Resource, 'birthdate'));
  });

  test('where(resolve() is X) reads the type of relative references only, like Medplum resolve()', () => {
    const observation = (reference: Record<string, unknown>) =>
      ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: reference }) as Resource;
    const cases: [Record<string, unknown>, boolean][] = [
      [{ reference: 'Patient/123' }, true],
      [{ reference: 'Patient/123/_history/2' }, true],
      [{ reference: 'Patient?identifier=http://iin.kz|900101300123' }, true],
      [{ type: 'Patient', identifier: { system: 'http://iin.kz', value: '900101300123' } }, true],
      [{ identifier: { system: 'http://iin.kz', value: '900101300123' } }, false],
      [{ reference: 'Group/7' }, false],
      [{ reference: 'https://fhir.example.kz/fhir/Patient/123' }, false],
      [{ reference: 'urn:uuid:6a1b9a7e-6a38-4f4b-8ad0-3c3f5d1c0b11' }, false],
      [{ reference: '#p1' }, false],
      [{ display: 'no reference at all' }, false],
      [{ reference: '' }, false],
      [{ resource: { resourceType: 'Patient' } }, true],
    ];
    for (const [reference, isPatient] of cases) {
      const resource = observation(reference);
      assert.deepEqual(compiled(resource, 'patient'), isPatient ? [{ type: 'Reference', value: reference }] : [], JSON.stringify(reference));
      assertSameValues(resource);
    }
    // `subject` has no resolve() filter: every form is a subject row, the absolute URL parsed to its type and id.
    assert.deepEqual(referenceTargets(observation({ reference: 'https://fhir.example.kz/fhir/Patient/123' }), 'subject'), [
      { type: 'Patient', id: '123', reference: 'https://fhir.example.kz/fhir/Patient/123' },
    ]);
    assert.deepEqual(referenceTargets(observation({ reference: 'https://fhir.example.kz/fhir/Patient/123' }), 'patient'), []);
  });

  test('contained references stay contained; a contained resource is typed by its resourceType', () => {
    const request = {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      contained: [{ resourceType: 'Medication', id: 'm1', code: { text: 'Metformin' } }],
      medicationReference: { reference: '#m1' },
      subject: { reference: 'Patient/1' },
    } as Resource;
    assert.deepEqual(compiled(request, 'medication'), [{ type: 'Reference', value: { reference: '#m1' } }]);
    assert.deepEqual(extractSearchIndex(request).reference.filter(([code]) => code === 'medication'), [['medication', null, null, '#m1']]);
    assertSameValues(request);
  });

  test('as, ofType and unions: filtered by type, duplicates removed as Medplum does', () => {
    const plan = {
      resourceType: 'PlanDefinition',
      status: 'active',
      useContext: [
        { code: { code: 'age' }, valueRange: { low: { value: 18 }, high: { value: 65 } } },
        { code: { code: 'focus' }, valueCodeableConcept: { text: 'diabetes' } },
        { code: { code: 'program' }, valueQuantity: { value: 3 } },
      ],
      relatedArtifact: [
        { type: 'depends-on', resource: 'Library/a' },
        { type: 'composed-of', resource: 'PlanDefinition/b' },
      ],
      library: ['Library/a', 'Library/c'],
    } as Resource;
    assert.deepEqual(compiled(plan, 'context'), [{ type: 'CodeableConcept', value: { text: 'diabetes' } }]);
    assert.deepEqual(compiled(plan, 'context-quantity').map((v) => v.type), ['Quantity', 'Range']);
    // `relatedArtifact.where(type = 'depends-on').resource | library`: Library/a once.
    assert.deepEqual(compiled(plan, 'depends-on').map((v) => v.value), ['Library/a', 'Library/c']);
    assertSameValues(plan);
    const substance = { resourceType: 'Substance', code: { text: 'Aspirin' }, ingredient: [{ substanceCodeableConcept: { text: 'Aspirin' } }] } as Resource;
    assert.deepEqual(compiled(substance, 'code'), [{ type: 'CodeableConcept', value: { text: 'Aspirin' } }]);
    assertSameValues(substance);
  });

  test('where(system = literal) keeps a contact point only when its one system matches', () => {
    const practitioner = {
      resourceType: 'Practitioner',
      telecom: [{ system: 'phone', value: '+7 701 000 0000' }, { system: 'email', value: 'Doc@Example.kz' }, { value: 'no system' }],
    } as Resource;
    assert.deepEqual(compiled(practitioner, 'email'), [{ type: 'ContactPoint', value: { system: 'email', value: 'Doc@Example.kz' } }]);
    assert.deepEqual(extractSearchIndex(practitioner).token.filter(([code]) => code === 'email'), [['email', 'email', 'doc@example.kz', null]]);
    assertSameValues(practitioner);
    // FHIRPath `=` between a collection of two and one literal is false.
    const twoSystems = { resourceType: 'Practitioner', telecom: [{ system: ['email', 'phone'], value: 'x' }] } as unknown as Resource;
    assert.deepEqual(compiled(twoSystems, 'email'), []);
    assertSameValues(twoSystems);
  });

  test('empty and missing elements give no values', () => {
    const empty = [
      { resourceType: 'Patient' },
      { resourceType: 'Patient', name: [], identifier: [{}], birthDate: '', address: [{ city: '' }], telecom: [{}] },
      { resourceType: 'Observation', valueString: '', code: {}, subject: {} },
      { resourceType: 'Patient', name: [{ given: [] }], managingOrganization: { reference: 'Organization/1', extension: [] } },
    ] as Resource[];
    for (const resource of empty) assertSameValues(resource);
    assert.deepEqual(compiled(empty[1], 'birthdate'), []);
    assert.deepEqual(compiled(empty[2], 'value-string'), []);
  });

  test('the Person parameters shared with RelatedPerson yield nothing for the RelatedPerson part', () => {
    const person = { resourceType: 'Person', name: [{ family: 'Seitkali' }], telecom: [{ system: 'email', value: 'a@b.kz' }], birthDate: '1980' } as Resource;
    assert.deepEqual(compiled(person, 'email').length, 1);
    assert.deepEqual(compiled(person, 'birthdate'), [{ type: 'date', value: '1980' }]);
    assertSameValues(person);
  });

  test('randomly damaged resources evaluate as with Medplum, throws included', () => {
    const { asStored } = syntheaResources();
    const samples = [...new Map(asStored.map((r) => [r.resourceType, r])).values()];
    const oddity = fc.oneof(
      fc.constantFrom<unknown>(null, '', {}, [], [null], [{}], 0, false, 'Patient/9', '#c1', 'urn:uuid:1', { reference: 'Group/2' }),
      fc.constantFrom<unknown>({ extension: [{ url: 'u', valueString: 's' }] }, [null, { id: 'x' }], { resource: { resourceType: 'Patient' } }),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.array(fc.tuple(fc.nat(), fc.boolean(), oddity), { minLength: 1, maxLength: 4 }), (sample, damage) => {
        const resource = structuredClone(sample) as unknown as Record<string, unknown>;
        for (const [at, underscore, value] of damage) {
          const nodes: Record<string, unknown>[] = [];
          const collect = (node: unknown) => {
            if (Array.isArray(node)) node.forEach(collect);
            else if (node && typeof node === 'object') {
              nodes.push(node as Record<string, unknown>);
              Object.values(node).forEach(collect);
            }
          };
          collect(resource);
          const node = nodes[at % nodes.length];
          const keys = Object.keys(node).filter((k) => k !== 'resourceType');
          if (keys.length === 0) continue;
          const key = keys[at % keys.length];
          node[underscore ? '_' + key : key] = structuredClone(value);
        }
        assertSameValues(resource as unknown as Resource);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
