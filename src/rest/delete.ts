import { preconditionFailed } from '../fhir/outcome.js';
import { type FhirRequest, type FhirResponse, type InteractionContext, parseETag, type InstanceParams, type TypeParams } from './interaction.js';

/** delete (https://hl7.org/fhir/R4/http.html#delete): versioned; deleting what is gone is a no-op 204. */
export async function remove(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const ifMatch = request.headers.ifMatch === undefined ? undefined : parseETag(request.headers.ifMatch);
  const stored = await context.repo.delete(params.type, params.id, ifMatch);
  return { status: 204, stored };
}

/** Conditional delete (https://hl7.org/fhir/R4/http.html#3.1.0.7.1): one match at most, else 412. */
export async function conditionalDelete(request: FhirRequest, params: TypeParams, context: InteractionContext): Promise<FhirResponse> {
  const criteria = new URLSearchParams(request.query);
  return context.repo.transaction(async (repo) => {
    await repo.lockCriteria(params.type, criteria);
    const ids = await repo.matchIds(params.type, criteria);
    if (ids.length > 1) throw preconditionFailed(`The criteria match ${ids.length} or more ${params.type} resources`);
    const stored = ids.length === 1 ? await repo.delete(params.type, ids[0]) : undefined;
    return { status: 204, stored };
  });
}
