import type { Resource } from '@medplum/fhirtypes';
import fastJsonPatch from 'fast-json-patch';
import { hasNumberTexts, markNumberTexts, numberText, parseJsonText, setNumberText, stringifyFhir } from '../fhir/json.js';
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
        const operation = operations[index] as fastJsonPatch.Operation;
        const placed = placedNumberText(patched, operation);
        // Not yet checked: applyOperation validates the operation (its third argument) before applying it.
        patched = fastJsonPatch.applyOperation(patched, placed.operation, true, true, true, index).newDocument;
        keepPlacedNumberText(patched, placed);
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

/** An operation as applied, and the text of the number it puts in place (`2.500`), if it puts a number. */
interface Placed {
  operation: fastJsonPatch.Operation;
  number?: { text: string | undefined };
}

/**
 * Decimals a patch puts in place keep the text they were sent or stored in, like every decimal
 * (src/fhir/json.ts): a `value` of the operation, or what `copy` and `move` take from elsewhere.
 * `copy` clones by a JSON round trip that would drop the texts, so it becomes an `add` of a clone
 * that keeps them.
 */
function placedNumberText(document: Resource, operation: fastJsonPatch.Operation): Placed {
  if (operation.op === 'add' || operation.op === 'replace') {
    return typeof operation.value === 'number' ? { operation, number: { text: numberText(operation, 'value') } } : { operation };
  }
  if (operation.op !== 'copy' && operation.op !== 'move') return { operation };
  const from = pointerSegments(operation.from);
  const source = from && resolve(document, from);
  if (!source) return { operation };
  const value = (source.holder as Record<string, unknown>)[source.key];
  if (typeof value === 'number') return { operation, number: { text: numberText(source.holder, source.key) } };
  if (operation.op === 'copy' && hasNumberTexts(value)) return { operation: { op: 'add', path: operation.path, value: parseJsonText(stringifyFhir(value)) } };
  return { operation };
}

function keepPlacedNumberText(document: Resource, placed: Placed): void {
  const { operation } = placed;
  if (operation.op !== 'add' && operation.op !== 'replace' && operation.op !== 'copy' && operation.op !== 'move') return;
  const path = pointerSegments(operation.path);
  if (!path?.length) return;
  const target = resolve(document, path);
  if (!target) return;
  // `-` appends: the number is the array's last item.
  const key = Array.isArray(target.holder) && target.key === '-' ? String(target.holder.length - 1) : target.key;
  const at = [...path.slice(0, -1), key];
  if (placed.number) setNumberText(document, at, placed.number.text);
  else if (hasNumberTexts((target.holder as Record<string, unknown>)[key])) markNumberTexts(document, at);
}

/** The reference tokens of a JSON Pointer (RFC 6901), unescaped; undefined for what is no pointer. */
function pointerSegments(pointer: unknown): string[] | undefined {
  if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) return undefined;
  return pointer === '' ? [] : pointer.slice(1).split('/').map(fastJsonPatch.unescapePathComponent);
}

/** The object or array holding the last token of `path`, if every container on the way exists. */
function resolve(document: unknown, path: string[]): { holder: object; key: string } | undefined {
  if (path.length === 0) return undefined;
  let holder: unknown = document;
  for (const segment of path.slice(0, -1)) {
    if (typeof holder !== 'object' || holder === null || !Object.hasOwn(holder, segment)) return undefined;
    holder = (holder as Record<string, unknown>)[segment];
  }
  return typeof holder === 'object' && holder !== null ? { holder, key: path[path.length - 1] } : undefined;
}
