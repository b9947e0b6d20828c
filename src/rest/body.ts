import type { Resource } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcome.js';
import { assertValid } from '../fhir/validate.js';
import type { FhirRequest } from './interaction.js';

/**
 * The request's resource, checked to be of `resourceType` and valid against R4; a resource of
 * another type, or none, is a 400 and an invalid one a 422, before anything is written.
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
  assertValid(body);
  return body as Resource;
}
