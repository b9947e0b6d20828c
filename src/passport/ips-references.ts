import type { Reference, Resource } from '@medplum/fhirtypes';
import { isJsonObject } from '../fhir/json.js';

/** A literal reference's target: `Type/id` (the key of the document's entries) and the version it names, if any. */
export interface Target {
  key: string;
  type: string;
  id: string;
  version?: string;
}

const LITERAL = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/**
 * The target of a literal reference as a document resolves it
 * (https://hl7.org/fhir/R4/bundle.html#references): relative, or absolute on this server's base;
 * anything else (another server, a URN) names nothing the document holds.
 */
export function targetOf(reference: string, baseUrl: string): Target | undefined {
  const local = reference.startsWith(`${baseUrl}/`) ? reference.slice(baseUrl.length + 1) : reference;
  const match = LITERAL.exec(local);
  if (!match) return undefined;
  const [, type, id, version] = match;
  return { key: `${type}/${id}`, type: type!, id: id!, ...(version ? { version } : {}) };
}

/**
 * Every Reference with a literal `reference` in a resource, contained resources included (their
 * `#id` references stay: they resolve inside the resource).
 */
export function literalReferences(value: unknown, found: Reference[] = []): Reference[] {
  if (Array.isArray(value)) {
    for (const item of value) literalReferences(item, found);
  } else if (isJsonObject(value)) {
    if (typeof value.reference === 'string' && !value.reference.startsWith('#')) found.push(value as Reference);
    for (const child of Object.values(value)) if (typeof child === 'object' && child !== null) literalReferences(child, found);
  }
  return found;
}

/**
 * Makes a reference that the document cannot resolve a plain description of its target: the
 * `display` kept (or, without one, the reference's text), the literal reference removed, so no
 * reference in the document dangles while what the record said stays readable.
 */
export function detach(reference: Reference): void {
  const literal = reference.reference!;
  delete reference.reference;
  reference.display ??= literal;
}

/** Whether a resource of the document is the version a reference names (any, when it names none). */
export function isVersion(resource: Resource, target: Target): boolean {
  return target.version === undefined || resource.meta?.versionId === target.version;
}
