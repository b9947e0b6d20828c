import { badRequest, preconditionFailed } from '../fhir/outcome.js';
import { resourceBody } from './body.js';
import { type FhirRequest, type FhirResponse, type InteractionContext, hasId, parseETag, type InstanceParams, type TypeParams } from './interaction.js';

/** update, update-as-create with a client id (https://hl7.org/fhir/R4/http.html#update), with If-Match. */
export async function update(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const resource = resourceBody(request, params.type);
  if (!hasId(resource)) throw badRequest(`The ${params.type} in an update needs an id equal to the URL's`, `${params.type}.id`);
  if (resource.id !== params.id) throw badRequest(`The body's id "${resource.id}" differs from the URL's "${params.id}"`, `${params.type}.id`);
  const ifMatch = request.headers.ifMatch === undefined ? undefined : parseETag(request.headers.ifMatch);
  const { stored, created } = await context.repo.update(resource, ifMatch);
  return { status: created ? 201 : 200, stored };
}

/**
 * Conditional update (https://hl7.org/fhir/R4/http.html#cond-update): no match creates, one
 * match is updated, several are a 412.
 */
export async function conditionalUpdate(request: FhirRequest, params: TypeParams, context: InteractionContext): Promise<FhirResponse> {
  const resource = resourceBody(request, params.type);
  const criteria = new URLSearchParams(request.query);
  const ifMatch = request.headers.ifMatch === undefined ? undefined : parseETag(request.headers.ifMatch);
  return context.repo.transaction(async (repo) => {
    await repo.lockCriteria(params.type, criteria);
    const ids = await repo.matchIds(params.type, criteria);
    if (ids.length > 1) throw preconditionFailed(`The criteria match ${ids.length} or more ${params.type} resources`);
    if (ids.length === 1 && resource.id !== undefined && resource.id !== ids[0]) {
      throw badRequest(`The body's id "${resource.id}" differs from the matching resource's`, `${params.type}.id`);
    }
    const id = ids[0] ?? resource.id;
    if (id === undefined) return { status: 201, stored: await repo.create(resource, request.assignedId) };
    const { stored, created } = await repo.update({ ...resource, id }, ifMatch);
    return { status: created ? 201 : 200, stored };
  });
}
