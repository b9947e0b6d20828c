import type { FhirRequest, FhirResponse, InteractionContext, RouteParams } from './interaction.js';
import { notModified, subset } from './read.js';

/** vread (https://hl7.org/fhir/R4/http.html#vread). */
export async function vread(request: FhirRequest, params: RouteParams<':type/:id/_history/:vid'>, context: InteractionContext): Promise<FhirResponse> {
  const stored = await context.repo.vread(params.type, params.id, params.vid);
  if (notModified(request, stored.versionId, stored.lastUpdated)) return { status: 304, stored };
  return subset(request, stored);
}
