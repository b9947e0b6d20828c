import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { isResourceType } from '../fhir/definitions.js';
import { parseFhirJson } from '../fhir/json.js';
import { isFhirError } from '../fhir/outcome.js';
import { validateResource } from '../fhir/validate.js';
import { patientIdentifierIssues } from '../identity/patient-identifiers.js';
import { type PreparedResource, prepareResource } from '../store/prepared-resource.js';

/** One NDJSON line made ready to write, or the issues that keep it out; `resource` only in the thread that parsed it. */
export type PreparedLine = { line: number; prepared: PreparedResource; resource?: Resource } | { line: number; issues: OperationOutcomeIssue[] };

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Parses, validates and prepares one line (https://hl7.org/fhir/uv/bulkdata/): the CPU work of an
 * import, the same in a worker thread and in the importing one. Decimals keep their text.
 */
export function prepareLine(text: string, line: number): PreparedLine {
  let value: unknown;
  try {
    value = parseFhirJson(text);
  } catch (error) {
    if (isFhirError(error)) return { line, issues: error.outcome.issue };
    throw error;
  }
  const resource = value as Resource;
  if (!resource || typeof resource !== 'object' || !isResourceType(resource.resourceType)) {
    return { line, issues: [{ severity: 'error', code: 'structure', diagnostics: 'Each line must be one FHIR resource with a known resourceType', expression: ['resourceType'] }] };
  }
  if (typeof resource.id !== 'string' || !ID_PATTERN.test(resource.id)) {
    return { line, issues: [{ severity: 'error', code: 'required', diagnostics: 'A bulk-imported resource needs a valid id', expression: [`${resource.resourceType}.id`] }] };
  }
  const issues = validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (resource.resourceType === 'Patient') issues.push(...patientIdentifierIssues(resource));
  return issues.length ? { line, issues } : { line, prepared: prepareResource(resource, resource.id), resource };
}
