import { createHash } from 'node:crypto';
import type { Attachment, Binary, Bundle, Composition, DocumentReference, Resource } from '@medplum/fhirtypes';
import { isJsonObject } from '../fhir/json.js';
import { fhirError, isFhirError } from '../fhir/outcome.js';
import type { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';

/** The content type of a FHIR document published as a Bundle (https://hl7.org/fhir/R4/documents.html). */
export const FHIR_DOCUMENT_TYPE = 'application/fhir+json';

/** A resource a write carries, and the `Type/id` it will be stored under when known (a transaction's creates and updates). */
export interface Carried {
  resource: Resource;
  identity?: string;
}

const CONTENT = /^(Binary|Bundle)\/([A-Za-z0-9\-.]{1,64})$/;

/**
 * What a Document Recipient does with a publication (IHE MHD ITI-65,
 * https://profiles.ihe.net/ITI/MHD/ITI-65.html), for a new DocumentReference (stored as
 * `identity`) and what the write carries with it: every `content.attachment.url` must name the
 * document's bytes — a Binary, or a FHIR document (Bundle of type document, Composition first) — carried in
 * the same write (its urn:uuid fullUrl, which the transaction rewrote to `Type/id`) or stored in
 * the same patient's record and visible to the caller; else a 422 at the url.
 *
 * For a Binary, `attachment.contentType`, `size` and `hash` (base64 SHA-1, R4
 * https://hl7.org/fhir/R4/datatypes.html#Attachment) must match its bytes when given (422 at the
 * element) and are filled in when not; a Binary carried without a securityContext gets the
 * DocumentReference as its own, so it is read exactly by who may read the document
 * (src/store/security-context.ts). For a FHIR document, contentType is application/fhir+json
 * and size and hash are not filled: its bytes are the server's serialization, not the publisher's.
 * Changes the document and the resources in `carried` in place, before they are written.
 */
export async function preparePublication(document: DocumentReference, identity: string | undefined, carried: readonly Carried[], repo: Repository): Promise<void> {
  const byIdentity = new Map(carried.flatMap((c) => (c.identity ? [[c.identity, c.resource] as const] : [])));
  const patient = document.subject?.reference;
  // Not validated yet in a transaction (each entry is, when written): what is malformed is left to the validator.
  if (!Array.isArray(document.content)) return;
  for (const [i, content] of document.content.entries()) {
    const attachment = isJsonObject(content) ? content.attachment : undefined;
    if (!isJsonObject(attachment) || typeof attachment.url !== 'string') continue;
    const at = `DocumentReference.content[${i}].attachment`;
    const match = CONTENT.exec(attachment.url);
    if (!match) {
      throw fhirError('invalid-resource', `attachment.url must name the document's Binary or Bundle: in this transaction by its fullUrl, or stored as Binary/[id]`, `${at}.url`);
    }
    const [reference, type, id] = match;
    const together = byIdentity.get(reference);
    const target = together ?? (await storedContent(repo, type!, id!, patient, `${at}.url`));
    if (target.resourceType === 'Binary') {
      const binary = target as Binary;
      checkBinary(attachment, binary, at);
      if (together && !binary.securityContext && identity) binary.securityContext = { reference: identity };
    } else {
      checkFhirDocument(attachment, target as Bundle, patient, at);
    }
  }
}

/** The content stored under `Type/id`, when the caller sees it and it is in the document's patient's record. */
async function storedContent(repo: Repository, type: string, id: string, patient: string | undefined, expression: string): Promise<Resource> {
  const stored = await repo.read(type, id).catch((error: unknown) => {
    if (isFhirError(error) && (error.status === 404 || error.status === 410 || error.status === 403)) {
      throw fhirError('invalid-resource', `${type}/${id} is not known: publish the document's content in the same transaction`, expression);
    }
    throw error;
  });
  if (!stored.compartment || `Patient/${stored.compartment}` !== patient) {
    throw fhirError('invalid-resource', `${type}/${id} is not part of the record of ${patient ?? 'the document\'s subject'}`, expression);
  }
  return parseStored(stored);
}

function checkBinary(attachment: Attachment, binary: Binary, at: string): void {
  const bytes = Buffer.from(typeof binary.data === 'string' ? binary.data : '', 'base64');
  if (attachment.contentType === undefined) attachment.contentType = binary.contentType;
  else if (attachment.contentType !== binary.contentType) {
    throw fhirError('invalid-resource', `attachment.contentType ${attachment.contentType} differs from the Binary's ${binary.contentType}`, `${at}.contentType`);
  }
  if (attachment.size === undefined) attachment.size = bytes.length;
  else if (attachment.size !== bytes.length) {
    throw fhirError('invalid-resource', `attachment.size ${attachment.size} differs from the Binary's ${bytes.length} bytes`, `${at}.size`);
  }
  const hash = createHash('sha1').update(bytes).digest('base64');
  if (attachment.hash === undefined) attachment.hash = hash;
  else if (attachment.hash !== hash) {
    throw fhirError('invalid-resource', `attachment.hash is not the SHA-1 of the Binary's bytes (base64): it is ${hash}`, `${at}.hash`);
  }
}

function checkFhirDocument(attachment: Attachment, bundle: Bundle, patient: string | undefined, at: string): void {
  const composition = bundle.entry?.[0]?.resource as Composition | undefined;
  if (bundle.type !== 'document' || composition?.resourceType !== 'Composition') {
    throw fhirError('invalid-resource', `A Bundle attached to a document is a FHIR document: type document, its Composition first`, `${at}.url`);
  }
  const subject = composition.subject?.reference;
  if (subject?.startsWith('Patient/') && subject !== patient) {
    throw fhirError('invalid-resource', `The FHIR document's Composition is about ${subject}, the DocumentReference about ${patient ?? 'no patient'}`, `${at}.url`);
  }
  if (attachment.contentType === undefined) attachment.contentType = FHIR_DOCUMENT_TYPE;
  else if (attachment.contentType !== FHIR_DOCUMENT_TYPE) {
    throw fhirError('invalid-resource', `A FHIR document is attached as ${FHIR_DOCUMENT_TYPE}, not ${attachment.contentType}`, `${at}.contentType`);
  }
}
