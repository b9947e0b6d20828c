import type { StructureDefinition } from '@medplum/fhirtypes';
import { isJsonObject } from '../fhir/json.js';
import { allOk, badRequest, outcome } from '../fhir/outcome.js';
import { negotiateLocale, validateResource } from '../fhir/validate.js';
import { parseStored } from '../store/stored-json.js';
import { isParameters } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext, AnyLevelParams, TypeParams } from './interaction.js';

/**
 * $validate (https://hl7.org/fhir/R4/resource-operation-validate.html) at type and instance
 * level: the body is the resource, or Parameters with `resource` and optionally `profile`
 * (a StructureDefinition held by this server, by canonical URL). The answer is always an
 * OperationOutcome with status 200; its issues say whether the resource is valid.
 */
export async function validateOperation(request: FhirRequest, params: TypeParams & Pick<AnyLevelParams, 'id'>, context: InteractionContext): Promise<FhirResponse> {
  let resource: unknown = request.body;
  let profileUrl: string | undefined = request.query.find(([k]) => k === 'profile')?.[1];
  if (isParameters(resource)) {
    const parameters = resource.parameter ?? [];
    profileUrl = parameters.find((p) => p.name === 'profile')?.valueUri ?? parameters.find((p) => p.name === 'profile')?.valueCanonical ?? profileUrl;
    resource = parameters.find((p) => p.name === 'resource')?.resource;
  }
  if (resource === undefined && params.id) resource = JSON.parse((await context.repo.read(params.type, params.id)).json);
  if (resource === undefined) throw badRequest(`$validate needs a resource`, 'Parameters.parameter.resource');
  const resourceType = isJsonObject(resource) ? resource.resourceType : undefined;
  if (resourceType !== params.type) {
    throw badRequest(`$validate on ${params.type} was given a ${resourceType}`, `${params.type}.resourceType`);
  }
  const profile = profileUrl ? await findProfile(profileUrl, context) : undefined;
  const issues = validateResource(resource, { profile, locale: negotiateLocale(request.headers.acceptLanguage) });
  const result = issues.length ? outcome(issues, 'validation-issue') : allOk('Validation passed');
  return { status: 200, resource: result };
}


async function findProfile(url: string, context: InteractionContext): Promise<StructureDefinition> {
  const [canonical] = url.split('|');
  const request = { resourceType: 'StructureDefinition', query: new URLSearchParams({ url: canonical }) };
  const ids = await context.repo.matchIds(request.resourceType, request.query, 1);
  if (ids.length === 0) throw badRequest(`Profile ${url} is not held by this server`, 'Parameters.parameter.profile');
  return parseStored<StructureDefinition>(await context.repo.read('StructureDefinition', ids[0]));
}
