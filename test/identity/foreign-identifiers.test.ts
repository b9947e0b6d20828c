import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import {
  AZERBAIJANI_FIN_SYSTEM,
  BELARUS_PERSONAL_NUMBER_SYSTEM,
  foreignIdentifierSystem,
  KYRGYZ_PIN_SYSTEM,
  MOLDOVAN_IDNP_SYSTEM,
  RUSSIAN_PASSPORT_SYSTEM,
  SNILS_SYSTEM,
  UNIQUE_IDENTIFIER_SYSTEMS,
  UZBEK_PINFL_SYSTEM,
} from '../../src/fhir/identifier-systems.js';
import { blockingKeys } from '../../src/identity/blocking.js';
import { compare, compareForeignIds, FIELD_NAMES, preparePerson } from '../../src/identity/comparison.js';
import { idnpCheckDigit, snilsCheckNumber, validateForeignIdentifier } from '../../src/identity/foreign-identifiers.js';
import { patientIdentifierIssues } from '../../src/identity/patient-identifiers.js';
import { personRecordFromPatient } from '../../src/identity/person-record.js';

const valid = (system: string, value: string) => validateForeignIdentifier(system, value)?.valid;

describe('foreign identifier formats', () => {
  it('checks the SNILS check number, and not on numbers issued before the rule', () => {
    // The Pension Fund's own example: 112-233-445 95.
    assert.equal(snilsCheckNumber('112233445'), 95);
    assert.equal(valid(SNILS_SYSTEM, '11223344595'), true);
    assert.equal(valid(SNILS_SYSTEM, '11223344596'), false);
    assert.equal(valid(SNILS_SYSTEM, '00100199800'), true);
    assert.equal(valid(SNILS_SYSTEM, '112-233-445 95'), false, 'the stored form has no separators');
  });

  it('maps SNILS sums of 100 and 101 to 00 and larger ones modulo 101', () => {
    // 9·(9+8+…+1) = 405, and 405 mod 101 = 1
    assert.equal(snilsCheckNumber('999999999'), 1);
    // 7·9 + (8+7+…+1) = 99, below 100: the sum itself
    assert.equal(snilsCheckNumber('711111111'), 99);
    // 7·9 + (8+7+…+2) + 2·1 = 100 → 00
    assert.equal(snilsCheckNumber('711111112'), 0);
  });

  it('checks the IDNP check digit (weights 7, 3, 1)', () => {
    assert.equal(idnpCheckDigit('200304512345'), 7);
    assert.equal(valid(MOLDOVAN_IDNP_SYSTEM, '2003045123457'), true);
    assert.equal(valid(MOLDOVAN_IDNP_SYSTEM, '2003045123450'), false);
    assert.equal(valid(MOLDOVAN_IDNP_SYSTEM, '200304512345'), false);
  });

  it('reads the birth date inside Kyrgyz, Uzbek and Belarusian personal numbers', () => {
    assert.equal(valid(KYRGYZ_PIN_SYSTEM, '21505199000123'), true);
    assert.equal(valid(KYRGYZ_PIN_SYSTEM, '23102199000123'), false, '31 February');
    assert.equal(valid(KYRGYZ_PIN_SYSTEM, '31505199000123'), false, 'the first digit is the sex, 1 or 2');
    assert.equal(valid(UZBEK_PINFL_SYSTEM, '31505900270017'), true);
    assert.equal(valid(UZBEK_PINFL_SYSTEM, '33002900270017'), false);
    assert.equal(valid(BELARUS_PERSONAL_NUMBER_SYSTEM, '3150590A001PB1'), true);
    assert.equal(valid(BELARUS_PERSONAL_NUMBER_SYSTEM, '3150590X001PB1'), false, 'no such region letter');
  });

  it('takes passports of any state by their HL7 system, up to 9 letters and digits', () => {
    assert.equal(foreignIdentifierSystem('http://hl7.org/fhir/sid/passport-RUS')?.kind, 'document');
    assert.equal(valid('http://hl7.org/fhir/sid/passport-UZB', 'FA1234567'), true);
    assert.equal(valid('http://hl7.org/fhir/sid/passport-UZB', 'fa1234567'), false);
    assert.equal(valid('http://hl7.org/fhir/sid/passport-UZB', 'FA12345678'), false);
    assert.equal(validateForeignIdentifier('http://hl7.org/fhir/sid/passport-uz', 'x'), undefined);
    assert.equal(validateForeignIdentifier('urn:oid:1.2.3', 'anything'), undefined);
  });

  it('holds one living record per lifelong personal number, not per document', () => {
    assert.ok(UNIQUE_IDENTIFIER_SYSTEMS.Patient!.includes(SNILS_SYSTEM));
    assert.ok(!UNIQUE_IDENTIFIER_SYSTEMS.Patient!.includes(RUSSIAN_PASSPORT_SYSTEM));
    assert.equal(valid(AZERBAIJANI_FIN_SYSTEM, '5ZX7K2P'), true);
  });

  it('names the identifier of a Patient that breaks its format', () => {
    const patient: Patient = {
      resourceType: 'Patient',
      identifier: [
        { system: 'urn:oid:1.2.3', value: 'free form' },
        { system: SNILS_SYSTEM, value: '11223344596' },
      ],
    };
    const [issue, ...rest] = patientIdentifierIssues(patient);
    assert.equal(rest.length, 0);
    assert.deepEqual(issue!.expression, ['Patient.identifier[1].value']);
    assert.match(issue!.details!.text!, /not a valid SNILS: its check number should be 95/);
  });
});

describe('foreign identifiers in matching', () => {
  const registration = (id: string, identifier: Patient['identifier'], family = 'Karimov', given = 'Rustam'): ReturnType<typeof preparePerson> =>
    preparePerson(personRecordFromPatient({ resourceType: 'Patient', id, identifier, name: [{ family, given: [given] }], birthDate: '1990-05-15', gender: 'male' }));
  const pinfl = { system: UZBEK_PINFL_SYSTEM, value: '31505900270017' };

  it('compares a shared personal number as exact, two of one state as different, two passports as nothing', () => {
    assert.equal(compareForeignIds([`${SNILS_SYSTEM}|11223344595`], [`${SNILS_SYSTEM}|11223344595`]), 0);
    assert.equal(compareForeignIds([`${SNILS_SYSTEM}|11223344595`], [`${SNILS_SYSTEM}|00100199800`]), 2);
    assert.equal(compareForeignIds(['http://hl7.org/fhir/sid/passport-RUS|751234567'], ['http://hl7.org/fhir/sid/passport-RUS|759999999']), 3);
  });

  it('a foreign registration without an IIN shares a blocking key and an identifier agreement with its duplicate', () => {
    const first = registration('a', [pinfl]);
    const second = registration('b', [pinfl, { system: 'http://hl7.org/fhir/sid/passport-UZB', value: 'FA1234567' }], 'Каримов', 'Рустам');
    assert.ok(blockingKeys(first).includes(`x${UZBEK_PINFL_SYSTEM}|31505900270017`));
    assert.ok(blockingKeys(second).some((key) => blockingKeys(first).includes(key)));
    assert.equal(compare(first, second)[FIELD_NAMES.indexOf('iin')], 0);
    const other = registration('c', [{ system: UZBEK_PINFL_SYSTEM, value: '31505900270025' }]);
    assert.equal(compare(first, other)[FIELD_NAMES.indexOf('iin')], 2);
  });

  it('leaves values out of matching that break their format', () => {
    const record = personRecordFromPatient({ resourceType: 'Patient', identifier: [{ system: UZBEK_PINFL_SYSTEM, value: '123' }] });
    assert.equal(record.foreignIds, undefined);
  });
});
