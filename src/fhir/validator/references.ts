import { isResourceType } from '../definitions.js';
import type { JsonObject, RootFrame, Walk } from './walk.js';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RELATIVE = /^([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
// Conditional references are resolved by the transaction processor, which parses the query.
const CONDITIONAL = /^([A-Z][A-Za-z]+)\?[^\u0000-\u001f]+$/;
const ABSOLUTE = /^https?:\/\/[^\s/?#]+[^\s]*$/;
/** The resource type of an absolute URL that ends like a RESTful one: `…/Patient/123(/_history/2)`. */
const ABSOLUTE_TYPE = /\/([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const UUID = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const OID = /^urn:oid:[0-2](?:\.(?:0|[1-9]\d*))+$/;

/**
 * `Reference.reference` (https://hl7.org/fhir/R4/references.html#Reference): its form, the
 * resource type it names against the element's target types (`targetProfile`), and local
 * references to contained resources (https://hl7.org/fhir/R4/references.html#contained): `#id`
 * must name a contained resource of the same resource (ref-1), and `#` alone, the containing
 * resource, is only meaningful inside a contained resource (as R5 clarified ref-1).
 * `targets` undefined means any resource type.
 */
export function checkReference(value: unknown, targets: ReadonlySet<string> | undefined, walk: Walk): void {
  if (typeof value !== 'object' || value === null) return;
  const reference = (value as JsonObject).reference;
  if (typeof reference !== 'string' || reference.length === 0) return;
  let type: string | undefined;
  let formatOk = true;
  switch (reference.charCodeAt(0)) {
    case 0x23 /* # */:
      localReference(reference, targets, walk);
      return;
    case 0x75 /* u */:
      formatOk = UUID.test(reference) || OID.test(reference);
      break;
    case 0x68 /* h */:
      formatOk = ABSOLUTE.test(reference);
      type = formatOk ? ABSOLUTE_TYPE.exec(reference)?.[1] : undefined;
      // An absolute URL is anything a server chose; only a known type is checked against the targets.
      if (type !== undefined && !isResourceType(type)) type = undefined;
      break;
    default:
      type = (RELATIVE.exec(reference) ?? CONDITIONAL.exec(reference))?.[1];
      if (type === undefined) formatOk = false;
      else if (!isResourceType(type)) {
        walk.errorAt('reference', 'invalid', 'referenceUnknownType', { value: reference, type });
        return;
      }
  }
  if (!formatOk) walk.errorAt('reference', 'invalid', 'referenceFormat', { value: reference });
  else if (type !== undefined && targets !== undefined && !targets.has(type)) {
    walk.errorAt('reference', 'invalid', 'referenceTarget', { value: reference, allowed: [...targets].join(', '), type });
  }
}

function localReference(reference: string, targets: ReadonlySet<string> | undefined, walk: Walk): void {
  const frame = walk.frame;
  if (!frame) return;
  if (reference === '#') {
    if (frame.containedIndex < 0) walk.errorAt('reference', 'invalid', 'referenceToContainer');
    else (frame.root.referToContainer ??= new Set()).add(frame.containedIndex);
    return;
  }
  const id = reference.slice(1);
  if (!ID.test(id)) {
    walk.errorAt('reference', 'invalid', 'referenceFormat', { value: reference });
    return;
  }
  const root = frame.root;
  (root.localReferences ??= new Set()).add(reference);
  const type = containedTypes(root).get(id);
  if (type === undefined) walk.errorAt('reference', 'invalid', 'referenceNotContained', { value: reference });
  else if (targets !== undefined && !targets.has(type)) {
    walk.errorAt('reference', 'invalid', 'referenceTarget', { value: reference, allowed: [...targets].join(', '), type });
  }
}

function containedTypes(root: RootFrame): Map<string, string> {
  if (root.containedTypes) return root.containedTypes;
  const types = new Map<string, string>();
  const contained = root.resource.contained;
  if (Array.isArray(contained)) {
    for (const resource of contained) {
      const { id, resourceType } = (resource ?? {}) as JsonObject;
      if (typeof id === 'string' && typeof resourceType === 'string') types.set(id, resourceType);
    }
  }
  root.containedTypes = types;
  return types;
}

/** Canonicals and uris that start with `#` point into the resource too, and count for dom-3. */
export function noteLocalUri(value: unknown, walk: Walk): void {
  if (typeof value === 'string' && value.charCodeAt(0) === 0x23 && walk.frame) {
    const root = walk.frame.root;
    (root.localReferences ??= new Set()).add(value);
    if (value === '#' && walk.frame.containedIndex >= 0) (root.referToContainer ??= new Set()).add(walk.frame.containedIndex);
  }
}
