import type { OperationOutcomeIssue, Patient } from '@medplum/fhirtypes';
import { validateForeignIdentifier } from './foreign-identifiers.js';
import { IIN_SYSTEM, validateIin } from './iin.js';

/**
 * The national rules on a Patient's identifiers (https://hl7.org/fhir/R4/patient.html#identifier):
 * each identifier of the IIN system must be a valid IIN — check digit, a real date — whose birth
 * date and sex agree with the record's, when the record states them; each identifier of a foreign
 * system (another CIS state's personal number, a passport) must have that system's format and,
 * where published, check digit. Issues name the element path.
 */
export function patientIdentifierIssues(patient: Patient): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  (patient.identifier ?? []).forEach((identifier, i) => {
    if (typeof identifier?.value !== 'string') return;
    const at = `Patient.identifier[${i}].value`;
    if (identifier.system !== IIN_SYSTEM) {
      const foreign = validateForeignIdentifier(identifier.system, identifier.value);
      if (foreign && !foreign.valid) issues.push(issue(`"${identifier.value}" is not a valid ${foreign.system.name}: ${foreign.reason}`, at));
      return;
    }
    const iin = validateIin(identifier.value);
    if (!iin.valid) {
      issues.push(issue(`"${identifier.value}" is not a valid IIN: ${iin.reason}`, at));
      return;
    }
    if (patient.birthDate && patient.birthDate !== iin.birthDate) {
      issues.push(issue(`The IIN says born ${iin.birthDate}, the record says ${patient.birthDate}`, at));
    }
    if ((patient.gender === 'male' || patient.gender === 'female') && patient.gender !== iin.sex) {
      issues.push(issue(`The IIN is a ${iin.sex}'s, the record says ${patient.gender}`, at));
    }
  });
  return issues;
}

function issue(text: string, expression: string): OperationOutcomeIssue {
  return { severity: 'error', code: 'value', details: { text }, expression: [expression] };
}
