import type { Patient, Resource } from '@medplum/fhirtypes';
import { badRequest, unprocessable } from '../fhir/outcome.js';
import { assertValid, negotiateLocale } from '../fhir/validate.js';
import { patientIdentifierIssues } from '../identity/patient-identifiers.js';
import type { FhirRequest } from './interaction.js';

/**
 * The request's resource, checked to be of `resourceType`, valid against R4 and, for a Patient,
 * against the IIN rules; a resource of another type, or none, is a 400 and an invalid one a 422,
 * before anything is written.
 */
export function resourceBody(request: FhirRequest, resourceType: string): Resource {
  const body = request.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`The request needs a ${resourceType} resource as its body`, resourceType);
  }
  const type = (body as { resourceType?: unknown }).resourceType;
  if (type !== resourceType) {
    throw badRequest(`Expected a ${resourceType} resource but the body is ${typeof type === 'string' ? `a ${type}` : 'not a resource'}`, `${resourceType}.resourceType`);
  }
  assertValid(body, { locale: negotiateLocale(request.headers.acceptLanguage) });
  if (resourceType === 'Patient') {
    const issues = patientIdentifierIssues(body as Patient);
    if (issues.length) throw unprocessable(issues);
  }
  return body as Resource;
}
