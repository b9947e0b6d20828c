import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { negotiateLocale, registerStructureDefinitions, validateResource } from '../../src/fhir/validate.js';

/**
 * Invalid resources and exactly what the validator must say about each: every issue as
 * `expression code`, warnings marked. A resource the spec forbids must never pass, and the
 * client must be told where.
 */
function found(resource: unknown): string[] {
  return validateResource(resource).map((i) => `${i.expression?.[0] ?? ''} ${i.code}${i.severity === 'warning' ? ' (warning)' : ''}`);
}

const patient = (extra: Record<string, unknown>) => ({ resourceType: 'Patient', ...extra });
const observation = (extra: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'Glucose' }, ...extra });

type Case = [name: string, resource: unknown, expected: string[]];

function cases(title: string, list: Case[]): void {
  describe(title, () => {
    for (const [name, resource, expected] of list) {
      test(name, () => assert.deepEqual(found(resource), expected, JSON.stringify(validateResource(resource), null, 1)));
    }
  });
}

cases('dates that do not exist on the calendar', [
  ['30 February', patient({ birthDate: '2020-02-30' }), ['Patient.birthDate value']],
  ['31 April in a dateTime', observation({ effectiveDateTime: '2021-04-31T10:00:00Z' }), ['Observation.effectiveDateTime value']],
  ['31 June in an instant', observation({ issued: '2021-06-31T10:00:00.000+06:00' }), ['Observation.issued value']],
  ['29 February 2024, a leap year', patient({ birthDate: '2024-02-29' }), []],
  ['29 February 2023', patient({ birthDate: '2023-02-29' }), ['Patient.birthDate value']],
  ['29 February 1900: divisible by 100, not by 400', patient({ birthDate: '1900-02-29' }), ['Patient.birthDate value']],
  ['29 February 2000: divisible by 400', patient({ birthDate: '2000-02-29' }), []],
  ['31 December, 31 January', observation({ effectivePeriod: { start: '2020-12-31T23:00:00Z', end: '2021-01-31T10:00:00Z' } }), []],
  ['month 13', patient({ birthDate: '2020-13-01' }), ['Patient.birthDate value']],
  ['day 0', patient({ birthDate: '2020-01-00' }), ['Patient.birthDate value']],
  ['year 0000', patient({ birthDate: '0000-01-01' }), ['Patient.birthDate value']],
  ['year and month only', patient({ birthDate: '1985-07' }), []],
  ['a dateTime with a time but no zone', observation({ effectiveDateTime: '2021-04-30T10:00:00' }), ['Observation.effectiveDateTime value']],
  ['an instant without seconds', observation({ issued: '2021-04-30T10:00Z' }), ['Observation.issued value']],
  ['an instant of a date only', observation({ issued: '2021-04-30' }), ['Observation.issued value']],
  ['hour 24', observation({ effectiveDateTime: '2021-04-30T24:00:00Z' }), ['Observation.effectiveDateTime value']],
  ['time 24:00', observation({ valueTime: '24:00:00' }), ['Observation.valueTime value']],
  ['time 23:59:59.999', observation({ valueTime: '23:59:59.999' }), []],
  ['zone +15:00', observation({ effectiveDateTime: '2021-04-30T10:00:00+15:00' }), ['Observation.effectiveDateTime value']],
  ['zone +14:00 and -14:00', observation({ effectivePeriod: { start: '2021-04-30T10:00:00+14:00', end: '2021-04-30T10:00:00-14:00' } }), []],
  ['zone +14:30', observation({ effectiveDateTime: '2021-04-30T10:00:00+14:30' }), ['Observation.effectiveDateTime value']],
  ['zone -05:60', observation({ effectiveDateTime: '2021-04-30T10:00:00-05:60' }), ['Observation.effectiveDateTime value']],
  ['a leap second at the end of December UTC', observation({ effectiveDateTime: '2016-12-31T23:59:60Z' }), []],
  ['the same leap second in Almaty time', observation({ effectiveDateTime: '2017-01-01T05:59:60+06:00' }), []],
  ['second 60 that is no leap second', observation({ effectiveDateTime: '2016-12-30T23:59:60Z' }), ['Observation.effectiveDateTime value']],
  ['second 60 in the middle of the day', observation({ effectiveDateTime: '2016-12-31T12:00:60Z' }), ['Observation.effectiveDateTime value']],
  ['a date that is a number', patient({ birthDate: 19900520 }), ['Patient.birthDate structure']],
]);

cases('numbers', [
  ['integer above 32 bits', observation({ valueInteger: 2147483648 }), ['Observation.valueInteger value']],
  ['integer below 32 bits', observation({ valueInteger: -2147483649 }), ['Observation.valueInteger value']],
  ['the 32-bit limits', observation({ component: [{ code: { text: 'a' }, valueInteger: 2147483647 }, { code: { text: 'b' }, valueInteger: -2147483648 }] }), []],
  ['integer with a fraction', observation({ valueInteger: 1.5 }), ['Observation.valueInteger value']],
  ['integer as a string', observation({ valueInteger: '1' }), ['Observation.valueInteger structure']],
  ['positiveInt 0', patient({ multipleBirthInteger: 1, communication: [{ language: { text: 'kk' } }], contact: [{ name: { text: 'A' } }] }), []],
  ['positiveInt 0 in Attachment.size? No: size is unsignedInt, 0 is fine', patient({ photo: [{ contentType: 'image/png', size: 0 }] }), []],
  ['unsignedInt -1', patient({ photo: [{ contentType: 'image/png', size: -1 }] }), ['Patient.photo[0].size value']],
  ['positiveInt 0 in Timing.repeat.frequency', { resourceType: 'MedicationRequest', status: 'active', intent: 'order', medicationCodeableConcept: { text: 'x' }, subject: { reference: 'Patient/1' }, dosageInstruction: [{ timing: { repeat: { frequency: 0 } } }] }, ['MedicationRequest.dosageInstruction[0].timing.repeat.frequency value']],
  ['decimal as a string', observation({ valueQuantity: { value: '1.5' } }), ['Observation.valueQuantity.value structure']],
  ['decimal', observation({ valueQuantity: { value: 1.5e-3 } }), []],
]);

cases('strings, codes, ids and uris', [
  ['code with a leading space', patient({ gender: ' male' }), ['Patient.gender value']],
  ['code with a trailing space', observation({ code: { coding: [{ system: 'http://loinc.org', code: '2339-0 ' }] } }), ['Observation.code.coding[0].code value']],
  ['code with a double space', observation({ code: { coding: [{ system: 'http://loinc.org', code: 'a  b' }] } }), ['Observation.code.coding[0].code value']],
  ['code with one inner space', observation({ code: { coding: [{ system: 'http://loinc.org', code: 'a b' }] } }), []],
  ['empty string', patient({ name: [{ family: '' }] }), ['Patient.name[0].family value']],
  ['whitespace-only string', patient({ name: [{ family: '   ' }] }), ['Patient.name[0].family value']],
  ['control character', patient({ name: [{ family: 'Ab\u0007ay' }] }), ['Patient.name[0].family value']],
  ['tab, CR and LF are allowed', patient({ name: [{ text: 'a\tb\r\nc' }] }), []],
  ['id with a space', patient({ id: 'a b' }), ['Patient.id value']],
  ['id of 65 characters', patient({ id: 'x'.repeat(65) }), ['Patient.id value']],
  ['id with an underscore', patient({ id: 'a_b' }), ['Patient.id value']],
  ['id of 64 characters', patient({ id: 'x'.repeat(64) }), []],
  ['uri with a space', observation({ code: { coding: [{ system: 'http://loinc .org', code: '1' }] } }), ['Observation.code.coding[0].system value']],
  ['uuid in upper case', { resourceType: 'Device', extension: [{ url: 'http://x.kz/e', valueUuid: 'urn:uuid:5F3E9A52-0C8E-4B5E-9F00-1234567890AB' }] }, ['Device.extension[0].valueUuid value']],
  ['oid with a leading zero', { resourceType: 'Device', extension: [{ url: 'http://x.kz/e', valueOid: 'urn:oid:1.02.3' }] }, ['Device.extension[0].valueOid value']],
  ['base64 with padding inside', patient({ photo: [{ contentType: 'image/png', data: 'ab=c' }] }), ['Patient.photo[0].data value']],
  ['base64 of a wrong length', patient({ photo: [{ contentType: 'image/png', data: 'abcde' }] }), ['Patient.photo[0].data value']],
  ['base64 with a character outside the alphabet', patient({ photo: [{ contentType: 'image/png', data: 'ab-_' }] }), ['Patient.photo[0].data value']],
  ['base64 with padding and line breaks', patient({ photo: [{ contentType: 'image/png', data: 'aGVs\nbG8=' }] }), []],
  ['boolean as a string', patient({ active: 'true' }), ['Patient.active structure']],
]);

cases('element names, cardinality and JSON shape', [
  ['unknown element', patient({ foo: 1 }), ['Patient.foo structure']],
  ['unknown element deep inside', observation({ component: [{ code: { text: 'a' } }, { code: { coding: [{ system: 'http://loinc.org', cod: '1' }] } }] }), ['Observation.component[1].code.coding[0].cod structure']],
  ['element named like an Object.prototype member', patient({ name: [{ family: 'x', constructor: 1 }] }), ['Patient.name[0].constructor structure']],
  ['missing required element', { resourceType: 'Observation', code: { text: 'x' } }, ['Observation.status required']],
  ['missing required element of a backbone element', observation({ component: [{ valueString: 'x' }] }), ['Observation.component[0].code required']],
  ['missing required element of a data type', patient({ extension: [{ valueString: 'x' }] }), ['Patient.extension[0].url required']],
  ['missing required choice element', { resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/1' } }, ['MedicationRequest.medication required']],
  ['single value where an array is required', patient({ name: { family: 'x' } }), ['Patient.name structure']],
  ['array where one value is allowed', patient({ gender: ['male'] }), ['Patient.gender structure']],
  ['empty array', patient({ name: [] }), ['Patient.name structure']],
  ['null', patient({ gender: null }), ['Patient.gender structure']],
  ['null in an array', patient({ name: [null] }), ['Patient.name[0] structure']],
  ['empty object (ele-1)', observation({ effectivePeriod: {} }), ['Observation.effectivePeriod invariant']],
  ['object with only an id (ele-1)', observation({ effectivePeriod: { id: 'p' } }), ['Observation.effectivePeriod invariant']],
  ['a string where an object belongs', observation({ code: 'glucose' }), ['Observation.code structure']],
]);

cases('choice types', [
  ['two types of one choice', observation({ valueString: 'x', valueInteger: 1 }), ['Observation structure']],
  ['a type the choice does not allow', observation({ valueUri: 'http://x' }), ['Observation.valueUri structure']],
  ['the choice by its bare name', observation({ value: 1 }), ['Observation.value structure']],
  ['a choice type with the value of another type', observation({ valueBoolean: 'yes' }), ['Observation.valueBoolean structure']],
  ['one type of each of two choices', observation({ valueString: 'x', effectiveDateTime: '2021-01-01' }), []],
]);

cases('primitive extensions', [
  ['an extension in place of a value', patient({ _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' }] } }), []],
  ['an extension next to the value', patient({ birthDate: '1990-01-01', _birthDate: { extension: [{ url: 'http://x.kz/e', valueDateTime: '1990-01-01T10:00:00+06:00' }] } }), []],
  ['an empty extension object without a value (ele-1)', patient({ _birthDate: {} }), ['Patient.birthDate invariant']],
  ['an unknown element in the extension object', patient({ _birthDate: { foo: 1 } }), ['Patient.birthDate.foo structure']],
  ['arrays of values and extensions', patient({ name: [{ given: ['a', null], _given: [null, { extension: [{ url: 'http://x.kz/e', valueString: 'b' }] }] }] }), []],
  ['null without an extension', patient({ name: [{ given: ['a', null] }] }), ['Patient.name[0].given[1] structure']],
  ['arrays of different lengths', patient({ name: [{ given: ['a'], _given: [null, { extension: [{ url: 'http://x.kz/e', valueString: 'b' }] }] }] }), ['Patient.name[0].given structure']],
  ['a bad value inside an extension of a primitive', patient({ _birthDate: { extension: [{ url: 'http://x.kz/e', valueDate: '2021-02-29' }] } }), ['Patient.birthDate.extension[0].valueDate value']],
  ['_x of a complex element', patient({ _name: [{ id: 'x' }] }), ['Patient._name structure']],
  ['an extension with a value and extensions (ext-1)', patient({ extension: [{ url: 'http://x.kz/e', valueString: 'a', extension: [{ url: 'b', valueString: 'c' }] }] }), ['Patient.extension[0] invariant']],
  ['an extension with neither (ext-1)', patient({ extension: [{ url: 'http://x.kz/e' }] }), ['Patient.extension[0] invariant']],
]);

cases('required and extensible bindings', [
  ['a code outside a required value set', patient({ gender: 'unknown-gender' }), ['Patient.gender code-invalid']],
  ['a Coding outside a required value set', observation({ valueQuantity: { value: 1, comparator: '~' } }), ['Observation.valueQuantity.comparator code-invalid']],
  [
    'a CodeableConcept with no coding of a required value set',
    { resourceType: 'Condition', subject: { reference: 'Patient/1' }, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'bogus' }] } },
    ['Condition.clinicalStatus code-invalid'],
  ],
  [
    'an extensible binding is a warning',
    patient({ identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'SS' }] }, value: '1' }] }),
    ['Patient.identifier[0].type code-invalid (warning)'],
  ],
  ['an extensible binding accepts text alone', patient({ identifier: [{ type: { text: 'IIN' }, value: '1' }] }), []],
  ['a value set over SNOMED CT is not checked', observation({ bodySite: { coding: [{ system: 'http://snomed.info/sct', code: '1' }] } }), []],
]);

cases('references and contained resources', [
  ['a reference that is no reference', observation({ subject: { reference: 'bad ref' } }), ['Observation.subject.reference invalid']],
  ['a reference to a type the element does not allow', observation({ subject: { reference: 'Medication/1' } }), ['Observation.subject.reference invalid']],
  ['an absolute reference to a type the element does not allow', observation({ subject: { reference: 'https://fhir.kz/r4/Medication/1' } }), ['Observation.subject.reference invalid']],
  ['an absolute reference of any other form', observation({ subject: { reference: 'https://fhir.kz/r4/patients?id=1' } }), []],
  ['urn:uuid', observation({ subject: { reference: 'urn:uuid:5f3e9a52-0c8e-4b5e-9f00-1234567890ab' } }), []],
  ['a local reference to a contained resource', observation({ contained: [{ resourceType: 'Patient', id: 'p1' }], subject: { reference: '#p1' } }), []],
  ['a local reference to nothing (ref-1)', observation({ subject: { reference: '#p1' } }), ['Observation.subject.reference invalid']],
  [
    'a local reference to a contained resource of another type',
    observation({ contained: [{ resourceType: 'Medication', id: 'm1' }], subject: { reference: '#m1' } }),
    ['Observation.subject.reference invalid'],
  ],
  ['a contained resource nobody refers to (dom-3)', observation({ contained: [{ resourceType: 'Patient', id: 'p1' }] }), ['Observation.contained[0] invariant']],
  [
    'a contained resource that refers to its container with #',
    { resourceType: 'Patient', contained: [{ resourceType: 'Provenance', id: 'p', target: [{ reference: '#' }], recorded: '2021-01-01T00:00:00Z', agent: [{ who: { reference: 'Practitioner/1' } }] }] },
    [],
  ],
  ['# outside a contained resource', observation({ subject: { reference: '#' } }), ['Observation.subject.reference invalid']],
  [
    'contained resources inside a contained resource (dom-2)',
    observation({ contained: [{ resourceType: 'Patient', id: 'p1', contained: [{ resourceType: 'Patient', id: 'p2' }] }], subject: { reference: '#p1' } }),
    ['Observation.contained[0].contained invariant'],
  ],
  [
    'a contained resource with a version (dom-4) and security labels (dom-5)',
    observation({ contained: [{ resourceType: 'Patient', id: 'p1', meta: { versionId: '2', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] } }], subject: { reference: '#p1' } }),
    ['Observation.contained[0].meta invariant', 'Observation.contained[0].meta invariant'],
  ],
  [
    'a contained resource is validated as a resource',
    observation({ contained: [{ resourceType: 'Patient', id: 'p1', birthDate: '2023-02-29', foo: 1 }], subject: { reference: '#p1' } }),
    ['Observation.contained[0].birthDate value', 'Observation.contained[0].foo structure'],
  ],
  ['a contained resource of an unknown type', observation({ contained: [{ resourceType: 'Nope', id: 'x' }] }), ['Observation.contained[0].resourceType not-supported', 'Observation.contained[0] invariant']],
]);

cases('invariants', [
  ['a period that ends before it starts (per-1)', observation({ effectivePeriod: { start: '2021-05-02', end: '2021-05-01' } }), ['Observation.effectivePeriod invariant']],
  ['a period of different precisions in order (per-1, as R5 reads it)', observation({ effectivePeriod: { start: '2021', end: '2021-05-01T10:00:00Z' } }), []],
  ['a unit code without its system (qty-3)', observation({ valueQuantity: { value: 1, code: 'mg' } }), ['Observation.valueQuantity invariant']],
  [
    'a value next to a data absent reason (obs-6)',
    observation({ valueString: 'x', dataAbsentReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'unknown' }] } }),
    ['Observation invariant'],
  ],
  ['a patient contact with nothing to contact (pat-1)', patient({ contact: [{ gender: 'male' }] }), ['Patient.contact[0] invariant']],
  ['a home address of an organization (org-2)', { resourceType: 'Organization', name: 'Emhana', address: [{ use: 'home', city: 'Almaty' }] }, ['Organization.address[0] invariant']],
  ['an organization without a name or identifier (org-1)', { resourceType: 'Organization', active: true }, ['Organization invariant']],
  ['narrative with a script (txt-1)', patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>' } }), ['Patient.text.div invariant']],
  ['narrative with an event attribute (txt-1)', patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">a</p></div>' } }), ['Patient.text.div invariant']],
  ['narrative outside the XHTML namespace (txt-1)', patient({ text: { status: 'generated', div: '<div>a</div>' } }), ['Patient.text.div invariant']],
  ['narrative that is not well formed (txt-1)', patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>a</div>' } }), ['Patient.text.div invariant']],
  ['narrative of whitespace (txt-2)', patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"> <p/> </div>' } }), ['Patient.text.div invariant']],
  ['narrative with a table, an image and entities', patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><table><tr><td style="color:red">A&amp;B&#160;</td></tr></table><img src="#a" alt=""/></div>' } }), []],
]);

describe('every issue of a resource, in one answer', () => {
  test('errors in several places are all reported', () => {
    assert.deepEqual(
      found({
        resourceType: 'Observation',
        code: { coding: [{ system: 'http://loinc.org', code: ' x' }] },
        effectiveDateTime: '2021-04-31T10:00:00Z',
        component: [{ code: { text: 'a' } }, { code: { coding: [{ system: 'a b', code: '1' }] }, valueQuantity: { value: 1, code: 'mg' } }],
        foo: true,
      }),
      [
        'Observation.code.coding[0].code value',
        'Observation.effectiveDateTime value',
        'Observation.component[1].code.coding[0].system value',
        'Observation.component[1].valueQuantity invariant',
        'Observation.foo structure',
        'Observation.status required',
      ],
    );
  });

  test('a message names the fault', () => {
    const [issue] = validateResource(patient({ birthDate: '2023-02-29' }));
    assert.equal(issue!.details!.text, '"2023-02-29" is not on the calendar: 2023-02 has 28 days');
  });
});

describe('profiles', () => {
  const SD = 'http://hl7.org/fhir/StructureDefinition/';
  const KZ = 'http://densaulyq.kz/fhir/StructureDefinition/';
  const IIN = 'http://densaulyq.kz/fhir/sid/iin';
  const LOINC = 'http://loinc.org';
  const profile = (name: string, type: string, element: object[], baseDefinition = SD + type) => ({
    resourceType: 'StructureDefinition' as const,
    url: KZ + name,
    name,
    status: 'active' as const,
    kind: (/^[A-Z]/.test(type) && type !== 'Extension' ? 'resource' : 'complex-type') as 'resource' | 'complex-type',
    abstract: false,
    type,
    baseDefinition,
    derivation: 'constraint' as const,
    differential: { element },
  });

  /** An extension whose value is a code of the required value set publication-status. */
  const attachmentStatus = profile('attachment-status', 'Extension', [
    { id: 'Extension', path: 'Extension', max: '1' },
    { id: 'Extension.extension', path: 'Extension.extension', max: '0' },
    { id: 'Extension.url', path: 'Extension.url', fixedUri: KZ + 'attachment-status' },
    { id: 'Extension.value[x]', path: 'Extension.value[x]', min: 1, type: [{ code: 'code' }], binding: { strength: 'required', valueSet: 'http://hl7.org/fhir/ValueSet/publication-status' } },
  ]);

  /** A national Patient: one IIN (identifiers sliced by system), the attachment status extension, a birth date. */
  const kzPatient = profile('kz-patient', 'Patient', [
    { id: 'Patient.extension', path: 'Patient.extension', slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' } },
    { id: 'Patient.extension:attachmentStatus', path: 'Patient.extension', sliceName: 'attachmentStatus', min: 1, max: '1', type: [{ code: 'Extension', profile: [KZ + 'attachment-status'] }] },
    { id: 'Patient.identifier', path: 'Patient.identifier', min: 1, slicing: { discriminator: [{ type: 'value', path: 'system' }], rules: 'open' } },
    { id: 'Patient.identifier:iin', path: 'Patient.identifier', sliceName: 'iin', min: 1, max: '1' },
    { id: 'Patient.identifier:iin.system', path: 'Patient.identifier.system', min: 1, fixedUri: IIN },
    { id: 'Patient.identifier:iin.value', path: 'Patient.identifier.value', min: 1 },
    { id: 'Patient.name', path: 'Patient.name', max: '1' },
    { id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1 },
    { id: 'Patient.deceased[x]', path: 'Patient.deceased[x]', type: [{ code: 'boolean' }] },
    { id: 'Patient.maritalStatus', path: 'Patient.maritalStatus', patternCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus' }] } },
  ]);

  /** Blood pressure: two components sliced by code, closed and in order, each a Quantity in mm[Hg]; no value of its own. */
  const component = (slice: string, code: string) => [
    { id: `Observation.component:${slice}`, path: 'Observation.component', sliceName: slice, min: 1, max: '1' },
    { id: `Observation.component:${slice}.code`, path: 'Observation.component.code', patternCodeableConcept: { coding: [{ system: LOINC, code }] } },
    { id: `Observation.component:${slice}.value[x]`, path: 'Observation.component.value[x]', min: 1, type: [{ code: 'Quantity' }] },
    { id: `Observation.component:${slice}.value[x].code`, path: 'Observation.component.value[x].code', min: 1, fixedCode: 'mm[Hg]' },
  ];
  const bloodPressure = profile('blood-pressure', 'Observation', [
    { id: 'Observation', path: 'Observation' },
    { id: 'Observation.code', path: 'Observation.code', patternCodeableConcept: { coding: [{ system: LOINC, code: '85354-9' }] } },
    { id: 'Observation.subject', path: 'Observation.subject', min: 1, type: [{ code: 'Reference', targetProfile: [SD + 'Patient'] }] },
    { id: 'Observation.value[x]', path: 'Observation.value[x]', max: '0' },
    { id: 'Observation.component', path: 'Observation.component', min: 2, slicing: { discriminator: [{ type: 'pattern', path: 'code' }], ordered: true, rules: 'closed' } },
    ...component('systolic', '8480-6'),
    ...component('diastolic', '8462-4'),
  ]);

  /** A collection of one Patient and any Observations: entries sliced by the type of their resource, closed. */
  const patientRecord = profile('patient-record', 'Bundle', [
    { id: 'Bundle.type', path: 'Bundle.type', fixedCode: 'collection' },
    { id: 'Bundle.entry', path: 'Bundle.entry', slicing: { discriminator: [{ type: 'type', path: 'resource' }], rules: 'closed' } },
    { id: 'Bundle.entry:patient', path: 'Bundle.entry', sliceName: 'patient', min: 1, max: '1' },
    { id: 'Bundle.entry:patient.resource', path: 'Bundle.entry.resource', min: 1, type: [{ code: 'Patient' }] },
    { id: 'Bundle.entry:observation', path: 'Bundle.entry', sliceName: 'observation', min: 0, max: '*' },
    { id: 'Bundle.entry:observation.resource', path: 'Bundle.entry.resource', min: 1, type: [{ code: 'Observation' }] },
  ]);

  /** Contacts sliced by whether they name an organization, and extensions by the profile they conform to. */
  const kzContacts = profile('kz-contacts', 'Patient', [
    { id: 'Patient.contact', path: 'Patient.contact', slicing: { discriminator: [{ type: 'exists', path: 'organization' }], rules: 'open' } },
    { id: 'Patient.contact:employer', path: 'Patient.contact', sliceName: 'employer', min: 0, max: '1' },
    { id: 'Patient.contact:employer.organization', path: 'Patient.contact.organization', min: 1 },
    { id: 'Patient.contact:person', path: 'Patient.contact', sliceName: 'person', min: 1, max: '*' },
    { id: 'Patient.contact:person.organization', path: 'Patient.contact.organization', max: '0' },
    { id: 'Patient.contact:person.name', path: 'Patient.contact.name', min: 1 },
    { id: 'Patient.extension', path: 'Patient.extension', slicing: { discriminator: [{ type: 'profile', path: '$this' }], rules: 'closed' } },
    { id: 'Patient.extension:status', path: 'Patient.extension', sliceName: 'status', max: '1', type: [{ code: 'Extension', profile: [KZ + 'attachment-status'] }] },
  ]);

  /** Bounds on values, in a differential that names only the elements it changes, not their parents. */
  const kzBounds = profile('kz-bounds', 'Patient', [
    { id: 'Patient.name.family', path: 'Patient.name.family', maxLength: 20 },
    { id: 'Patient.multipleBirth[x]', path: 'Patient.multipleBirth[x]', type: [{ code: 'integer' }], minValueInteger: 1, maxValueInteger: 9 },
    { id: 'Patient.contact:guardian.relationship', path: 'Patient.contact.relationship', min: 1 },
  ]);

  registerStructureDefinitions([attachmentStatus, kzPatient, bloodPressure, patientRecord, kzContacts, kzBounds] as StructureDefinition[]);

  const status = (code: unknown) => ({ url: KZ + 'attachment-status', valueCode: code });
  const iin = { system: IIN, value: '900101300123' };
  const conforming = patient({ meta: { profile: [KZ + 'kz-patient'] }, extension: [status('active')], identifier: [iin], birthDate: '1990-01-01' });
  const errorsOf = (resource: unknown, profileOf?: StructureDefinition) =>
    validateResource(resource, profileOf ? { profile: profileOf } : undefined)
      .filter((i) => i.severity !== 'information')
      .map((i) => `${i.expression?.[0] ?? ''} ${i.code}`);
  const claims = (name: string, resource: Record<string, unknown>) => ({ ...resource, meta: { profile: [KZ + name] } });

  cases('a national Patient profile claimed in meta.profile', [
    ['a conforming patient', conforming, []],
    ['without the claim the profile is not applied', { ...conforming, meta: undefined, extension: undefined, identifier: undefined }, []],
    ['no IIN: a slice below its minimum', { ...conforming, identifier: [{ system: 'http://x.kz/other', value: '1' }] }, ['Patient.identifier structure']],
    ['no identifier at all', { ...conforming, identifier: undefined }, ['Patient.identifier required', 'Patient.identifier structure']],
    ['an IIN without its value', { ...conforming, identifier: [{ system: IIN }] }, ['Patient.identifier[0].value required']],
    ['two IINs: a slice above its maximum', { ...conforming, identifier: [iin, { ...iin, value: '900101300124' }] }, ['Patient.identifier structure']],
    ['a birth date is required', { ...conforming, birthDate: undefined }, ['Patient.birthDate required']],
    ['one name at most', { ...conforming, name: [{ family: 'A' }, { family: 'B' }] }, ['Patient.name structure']],
    ['deceased as a boolean only', { ...conforming, deceasedDateTime: '2020-01-01' }, ['Patient.deceasedDateTime structure']],
    ['marital status from another code system: the pattern', { ...conforming, maritalStatus: { coding: [{ system: 'http://x.kz/ms', code: 'M' }] } }, ['Patient.maritalStatus code-invalid (warning)', 'Patient.maritalStatus value']],
    ['the extension is required', { ...conforming, extension: undefined }, ['Patient.extension structure']],
    ['the extension by its own definition: a required binding', { ...conforming, extension: [status('bogus')] }, ['Patient.extension[0].valueCode code-invalid']],
    ['the extension by its own definition: the type of its value', { ...conforming, extension: [{ url: KZ + 'attachment-status', valueString: 'active' }] }, ['Patient.extension[0].valueString structure', 'Patient.extension[0].value required']],
    ['a profile of another type', { ...conforming, meta: { profile: [KZ + 'blood-pressure'] } }, ['Patient.meta.profile[0] invalid']],
  ]);

  test('the extension definition holds wherever the extension appears', () => {
    assert.deepEqual(found(patient({ extension: [status('bogus')] })), ['Patient.extension[0].valueCode code-invalid']);
    assert.deepEqual(found(observation({ extension: [status('retired')] })), []);
  });

  test('a profile the server does not hold is noted, not checked', () => {
    const issues = validateResource(patient({ meta: { profile: ['http://example.org/StructureDefinition/unknown'] } }));
    assert.deepEqual(issues.map((i) => [i.severity, i.code, i.expression?.[0]]), [['information', 'not-found', 'Patient.meta.profile[0]']]);
  });

  const systolic = { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } };
  const diastolic = { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 80, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } };
  const pressure = claims('blood-pressure', observation({ code: { coding: [{ system: LOINC, code: '85354-9' }] }, subject: { reference: 'Patient/1' }, component: [systolic, diastolic] }));

  cases('blood pressure: components sliced by code, closed, ordered', [
    ['conforming', pressure, []],
    ['components in the wrong order', { ...pressure, component: [diastolic, systolic] }, ['Observation.component[1] structure']],
    ['a component of no slice', { ...pressure, component: [systolic, diastolic, { code: { coding: [{ system: LOINC, code: '8867-4' }] }, valueQuantity: { value: 60 } }] }, ['Observation.component[2] structure']],
    ['no systolic', { ...pressure, component: [diastolic] }, ['Observation.component structure', 'Observation.component required']],
    ['a unit other than the fixed one', { ...pressure, component: [systolic, { ...diastolic, valueQuantity: { ...diastolic.valueQuantity, code: 'kPa' } }] }, ['Observation.component[1].valueQuantity.code value']],
    ['a component value of a type the slice took away', { ...pressure, component: [systolic, { code: diastolic.code, valueString: '80' }] }, ['Observation.component[1].valueString structure', 'Observation.component[1].value required']],
    ['a value of its own, which the profile forbids', { ...pressure, valueQuantity: { value: 1 } }, ['Observation.valueQuantity structure']],
    ['a code outside the pattern', { ...pressure, code: { coding: [{ system: LOINC, code: '8867-4' }] } }, ['Observation.code value']],
    ['a subject that is no Patient', { ...pressure, subject: { reference: 'Group/1' } }, ['Observation.subject.reference invalid']],
    ['no subject', { ...pressure, subject: undefined }, ['Observation.subject required']],
  ]);

  const recordOf = (...resources: object[]) => claims('patient-record', { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) });
  cases('entries sliced by the type of their resource', [
    ['one patient and observations', recordOf(patient({}), observation({}), observation({})), []],
    ['two patients', recordOf(patient({}), patient({})), ['Bundle.entry structure']],
    ['an organization, which no slice takes', recordOf(patient({}), { resourceType: 'Organization', name: 'Emhana' }), ['Bundle.entry[1] structure']],
    ['a fixed type', { ...recordOf(patient({})), type: 'searchset' }, ['Bundle.type value']],
  ]);

  const person = { name: { text: 'Aigerim' }, relationship: [{ text: 'mother' }] };
  const employer = { organization: { reference: 'Organization/1' } };
  cases('contacts sliced by whether an element exists, extensions by the profile they conform to', [
    ['a person and an employer', claims('kz-contacts', patient({ contact: [person, employer] })), []],
    ['two employers', claims('kz-contacts', patient({ contact: [person, employer, employer] })), ['Patient.contact structure']],
    ['no person', claims('kz-contacts', patient({ contact: [employer] })), ['Patient.contact structure']],
    ['an extension that conforms', claims('kz-contacts', patient({ contact: [person], extension: [status('draft')] })), []],
    ['an extension that conforms to no slice of a closed slicing', claims('kz-contacts', patient({ contact: [person], extension: [{ url: 'http://x.kz/other', valueString: 'x' }] })), ['Patient.extension[0] structure']],
  ]);

  cases('bounds of values, and a differential without the parents of what it changes', [
    ['within bounds', claims('kz-bounds', patient({ name: [{ family: 'Nurlanov' }], multipleBirthInteger: 2 })), []],
    ['a family name longer than maxLength', claims('kz-bounds', patient({ name: [{ family: 'N'.repeat(21) }] })), ['Patient.name[0].family value']],
    ['a number above maxValue', claims('kz-bounds', patient({ multipleBirthInteger: 12 })), ['Patient.multipleBirthInteger value']],
    ['a number below minValue', claims('kz-bounds', patient({ multipleBirthInteger: 0 })), ['Patient.multipleBirthInteger value']],
    ['a type the profile took away', claims('kz-bounds', patient({ multipleBirthBoolean: true })), ['Patient.multipleBirthBoolean structure']],
  ]);

  test('$validate with a profile passed in, and the profile with only a partial snapshot', () => {
    const snapshotOnly = {
      ...profile('patient-with-birthdate', 'Patient', []),
      differential: undefined,
      snapshot: { element: [{ id: 'Patient', path: 'Patient', min: 0, max: '*' }, { id: 'Patient.birthDate', path: 'Patient.birthDate', min: 1, max: '1', base: { path: 'Patient.birthDate', min: 0, max: '1' }, type: [{ code: 'date' }] }] },
    } as StructureDefinition;
    assert.deepEqual(errorsOf(patient({ gender: 'male' }), snapshotOnly), ['Patient.birthDate required']);
    assert.deepEqual(errorsOf(patient({ gender: 'male', birthDate: '1990-01-01' }), snapshotOnly), []);
    assert.deepEqual(errorsOf(patient({ gender: 'bogus', birthDate: '1990-02-30' }), snapshotOnly), ['Patient.gender code-invalid', 'Patient.birthDate value'], 'base rules once each');
  });
});

describe('messages in Kazakh, Russian and English', () => {
  const invalid = patient({ birthDate: '2023-02-29', gender: 'x', foo: 1 });

  test('the same codes and paths in every language, the text in the one asked for', () => {
    const byLocale = (['kk', 'ru', 'en'] as const).map((locale) => validateResource(invalid, { locale }));
    for (const issues of byLocale) assert.deepEqual(issues.map((i) => `${i.expression?.[0]} ${i.code}`), ['Patient.birthDate value', 'Patient.gender code-invalid', 'Patient.foo structure']);
    assert.equal(byLocale[0]![0]!.details!.text, '«2023-02-29» күнтізбеде жоқ: 2023-02 айында 28 күн бар');
    assert.equal(byLocale[1]![0]!.details!.text, '«2023-02-29» нет в календаре: в 2023-02 28 дней');
    assert.equal(byLocale[2]![0]!.details!.text, '"2023-02-29" is not on the calendar: 2023-02 has 28 days');
    assert.equal(byLocale[1]![2]!.details!.text, 'В Patient нет элемента «foo»');
  });

  test('English unless asked otherwise', () => {
    assert.deepEqual(validateResource(invalid).map((i) => i.details?.text), validateResource(invalid, { locale: 'en' }).map((i) => i.details?.text));
  });

  test('the language from Accept-Language', () => {
    assert.equal(negotiateLocale('ru-RU,ru;q=0.9,en;q=0.8'), 'ru');
    assert.equal(negotiateLocale('kk'), 'kk');
    assert.equal(negotiateLocale('de, en;q=0.5, kk;q=0.7'), 'kk');
    assert.equal(negotiateLocale('en-GB;q=0.2, ru;q=0'), 'en');
    assert.equal(negotiateLocale('de, fr'), 'en');
    assert.equal(negotiateLocale('*'), 'en');
    assert.equal(negotiateLocale(undefined), 'en');
  });
});
