import { preconditionFailed } from '../fhir/outcome.js';
import { resourceBody } from './body.js';
import { preparePublication } from '../exchange/documents.js';
import type { FhirRequest, FhirResponse, InteractionContext, TypeParams } from './interaction.js';

/**
 * create and conditional create (https://hl7.org/fhir/R4/http.html#ccreate): with If-None-Exist,
 * one match returns it (200), several are a 412, none creates (201).
 */
export async function create(request: FhirRequest, params: TypeParams, context: InteractionContext): Promise<FhirResponse> {
  const resource = resourceBody(request, params.type);
  // A DocumentReference posted alone publishes a document whose content is already stored.
  if (resource.resourceType === 'DocumentReference') await preparePublication(resource, undefined, [], context.repo);
  const criteria = request.headers.ifNoneExist;
  if (criteria === undefined) {
    const stored = await context.repo.create(resource, request.assignedId);
    return { status: 201, stored };
  }
  const search = new URLSearchParams(criteria.replace(/^[A-Za-z]*\?/, ''));
  return context.repo.transaction(async (repo) => {
    await repo.lockCriteria(params.type, search);
    const ids = await repo.matchIds(params.type, search);
    if (ids.length > 1) throw preconditionFailed(`If-None-Exist criteria match ${ids.length} or more ${params.type} resources`);
    if (ids.length === 1) return { status: 200, stored: await repo.read(params.type, ids[0]) };
    return { status: 201, stored: await repo.create(resource, request.assignedId) };
  });
}
