import type { Resource } from '@medplum/fhirtypes';
import fastJsonPatch from 'fast-json-patch';
import { badRequest, errorMessage, unsupportedMediaType } from '../fhir/outcome.js';
import { resourceBody } from './body.js';
import { type FhirRequest, type FhirResponse, type InteractionContext, hasId, parseETag, type InstanceParams } from './interaction.js';
import { parseStored } from '../store/stored-json.js';

const JSON_PATCH = 'application/json-patch+json';

/**
 * patch with JSON Patch (https://hl7.org/fhir/R4/http.html#patch): applied to the current
 * version under its row lock, validated like an update; id and resourceType may not change.
 */
export async function patch(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  if (!request.headers.contentType?.startsWith(JSON_PATCH)) {
    throw unsupportedMediaType(`PATCH takes a JSON Patch document (${JSON_PATCH})`);
  }
  const operations = request.body;
  if (!Array.isArray(operations)) throw badRequest(`A JSON Patch document is an array of operations`, 'JSONPatch');
  const ifMatch = request.headers.ifMatch === undefined ? undefined : parseETag(request.headers.ifMatch);
  return context.repo.transaction(async (repo) => {
    const current = await repo.read(params.type, params.id);
    let patched = parseStored<Resource>(current);
    // One operation at a time because fast-json-patch reports every validation failure as
    // operation 0, and its prototype guard throws a bare TypeError with no index at all.
    for (let index = 0; index < operations.length; index++) {
      try {
        // Not yet checked: applyOperation validates the operation (its third argument) before applying it.
        patched = fastJsonPatch.applyOperation(patched, operations[index] as fastJsonPatch.Operation, true, true, true, index).newDocument;
      } catch (error) {
        // First line only: JsonPatchError appends the operation and the whole document to its message.
        throw badRequest(`JSON Patch operation ${index} failed: ${errorMessage(error).split('\n')[0]}`, `JSONPatch[${index}]`);
      }
    }
    if (patched?.resourceType !== params.type || patched.id !== params.id || !hasId(patched)) {
      throw badRequest(`A patch may not change the resource's type or id`, `${params.type}.id`);
    }
    resourceBody({ ...request, body: patched }, params.type);
    const { stored } = await repo.update(patched, ifMatch ?? current.versionId);
    return { status: 200, stored };
  });
}
