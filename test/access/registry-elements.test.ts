import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identifier, Patient } from '@medplum/fhirtypes';
import { assertRegistryElementsKept } from '../../src/access/registry-elements.js';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { isFhirError } from '../../src/fhir/outcome.js';

const number = (organization: string, value: string): Identifier => ({ system: `http://example.org/mrn/${organization}`, value, assigner: { reference: `Organization/${organization}` } });
const patient = (identifier: Identifier[]): Patient => ({ resourceType: 'Patient', id: 'p', identifier, name: [{ family: 'Омаров' }], birthDate: '1972-11-02' });
const refused = (run: () => void, expression: string) =>
  assert.throws(run, (error: unknown) => isFhirError(error) && error.outcome.issue?.[0]?.expression?.[0] === expression);

describe('what an organization may change of a Patient the registry keeps', () => {
  const before = patient([{ system: IIN_SYSTEM, value: '721102323452' }, number('city', 'M-1'), number('poly', 'P-1')]);

  it('retires its own number (a merge in its system) but no other organization’s, nor the IIN', () => {
    assertRegistryElementsKept(before, patient([before.identifier![0]!, { ...number('city', 'M-1'), use: 'old' }, number('poly', 'P-1')]), 'Organization/city');
    refused(() => assertRegistryElementsKept(before, patient([before.identifier![0]!, number('city', 'M-1'), { ...number('poly', 'P-1'), use: 'old' }]), 'Organization/city'), 'Patient.identifier[2]');
    refused(() => assertRegistryElementsKept(before, patient([number('city', 'M-1'), number('poly', 'P-1')]), 'Organization/city'), 'Patient.identifier[0]');
    refused(() => assertRegistryElementsKept(before, patient([before.identifier![0]!, { ...number('city', 'M-1'), use: 'old' }, number('poly', 'P-1')])), 'Patient.identifier[1]');
  });

  it('an IIN marked as assigned by the organization is still the registry’s', () => {
    const claimed = patient([{ system: IIN_SYSTEM, value: '721102323452', assigner: { reference: 'Organization/city' } }]);
    refused(() => assertRegistryElementsKept(claimed, patient([]), 'Organization/city'), 'Patient.identifier[0]');
  });
});
