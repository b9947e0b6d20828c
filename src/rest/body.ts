import type { Parameters, Resource } from '@medplum/fhirtypes';
import { isJsonObject } from '../fhir/json.js';
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
  if (!isJsonObject(body)) {
    throw badRequest(`The request needs a ${resourceType} resource as its body`, resourceType);
  }
  const type = body.resourceType;
  if (type !== resourceType) {
    throw badRequest(`Expected a ${resourceType} resource but the body is ${typeof type === 'string' ? `a ${type}` : 'not a resource'}`, `${resourceType}.resourceType`);
  }
  assertValid(body, { locale: negotiateLocale(request.headers.acceptLanguage) });
  if (body.resourceType === 'Patient') {
    const issues = patientIdentifierIssues(body);
    if (issues.length) throw unprocessable(issues);
  }
  return body;
}

/**
 * Whether a body is a Parameters resource, by its resourceType. Only that is checked: the rest is
 * JSON from the wire, and each operation checks the parameters it reads (or validates the whole).
 */
export function isParameters(value: unknown): value is Parameters {
  return isJsonObject(value) && value.resourceType === 'Parameters';
}

/** The request's body as the Parameters resource an operation takes (see isParameters), else a 400 saying `text`. */
export function parametersBody(request: FhirRequest, text: string, expression?: string): Parameters {
  const body = request.body;
  if (!isParameters(body)) throw badRequest(text, expression);
  return body;
}
