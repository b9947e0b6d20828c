import type { Binary, Bundle, DocumentReference, Resource } from '@medplum/fhirtypes';
import { jsonEqual } from '../fhir/validator/json-compare.js';
import { conflict, fhirError } from '../fhir/outcome.js';
import type { EntailedChange, WriteCheck } from '../store/access-policy.js';

/**
 * Documents are never silently edited (IHE MHD, https://profiles.ihe.net/ITI/MHD/ITI-65.html;
 * https://hl7.org/fhir/R4/documentreference.html). What a published document says is fixed; a
 * correction is a new document that replaces it. The rules, for every caller but the platform:
 *
 * - A DocumentReference is published `current`. Once written, only two things change: its
 *   `docStatus`, and its `status` from `current` to `entered-in-error` (it should never have
 *   been published) — by whoever may write it (its author organization or its custodian). Any
 *   other change is a 422 that says to publish a replacement.
 * - A DocumentReference whose `relatesTo` has `replaces` DocumentReference/x makes x `superseded`
 *   in the same transaction (a new version of x, its history kept), as the same caller, so only
 *   who may write x replaces it; x must be `current` and about the same patient (else 409 or 422).
 *   That is the only way to `superseded`; an MHD Document Source that also sends the old one as
 *   superseded in the transaction (MHD's own example does) changes nothing more by it.
 * - A DocumentReference is not deleted (409): `entered-in-error` retracts it, visibly.
 * - The content is fixed too: a Binary with a securityContext (a document's bytes) and a stored
 *   FHIR document (a Bundle of type document) are neither updated nor deleted (409).
 */
export function checkDocumentWrite(write: WriteCheck): EntailedChange[] {
  if (!DOCUMENT_TYPES.has(write.resourceType)) return [];
  const before = write.current?.resource();
  if (write.resourceType === 'DocumentReference') {
    if (write.deletion) {
      throw conflict(`A DocumentReference is not deleted: set its status to entered-in-error, or publish a replacement (relatesTo replaces)`, 'DocumentReference');
    }
    const after = write.resource as DocumentReference;
    if (!before) return publication(after, write.id);
    checkChange(before as DocumentReference, after, write.entailedBy);
    return [];
  }
  if (before && isFixedContent(before)) {
    throw conflict(
      `${write.resourceType}/${write.id} is the content of a published document and is not ${write.deletion ? 'deleted' : 'changed'}: publish a replacement document (relatesTo replaces) with new content`,
      write.resourceType,
    );
  }
  return [];
}

function isFixedContent(resource: Resource): boolean {
  if (resource.resourceType === 'Binary') return (resource as Binary).securityContext !== undefined;
  return resource.resourceType === 'Bundle' && (resource as Bundle).type === 'document';
}

/** The types these rules concern: others are not parsed for them. */
const DOCUMENT_TYPES = new Set(['DocumentReference', 'Binary', 'Bundle']);

const REPLACED = /^DocumentReference\/([A-Za-z0-9\-.]{1,64})$/;

/** A new DocumentReference: published current, and the documents it replaces made superseded. */
function publication(document: DocumentReference, id: string): EntailedChange[] {
  if (document.status !== 'current') {
    throw fhirError('invalid-resource', `A document is published with status current, not ${document.status}`, 'DocumentReference.status');
  }
  const changes: EntailedChange[] = [];
  for (const [i, relation] of (document.relatesTo ?? []).entries()) {
    if (relation.code !== 'replaces') continue;
    const expression = `DocumentReference.relatesTo[${i}].target`;
    const replaced = REPLACED.exec(relation.target.reference ?? '')?.[1];
    if (!replaced) throw fhirError('invalid-resource', `A replaced document is named as DocumentReference/[id]`, expression);
    if (replaced === id) throw fhirError('invalid-resource', `A document does not replace itself`, expression);
    changes.push({
      resourceType: 'DocumentReference',
      id: replaced,
      expression,
      change(current) {
        const old = current as DocumentReference;
        if (old.status !== 'current') {
          throw conflict(`DocumentReference/${replaced} is ${old.status}: only a current document is replaced`, expression);
        }
        if (old.subject?.reference !== document.subject?.reference) {
          throw fhirError('invalid-resource', `DocumentReference/${replaced} is about another patient than its replacement`, expression);
        }
        return { ...old, status: 'superseded' };
      },
    });
  }
  return changes;
}

/** What an update of a stored DocumentReference may change: docStatus, and status by the moves the rules above allow. */
function checkChange(before: DocumentReference, after: DocumentReference, entailedBy: string | undefined): void {
  if (before.status !== after.status) {
    const retracted = before.status === 'current' && after.status === 'entered-in-error';
    const superseded = before.status === 'current' && after.status === 'superseded' && entailedBy?.startsWith('DocumentReference/');
    if (!retracted && !superseded) {
      throw fhirError(
        'invalid-resource',
        before.status === 'current'
          ? `A current document becomes entered-in-error, or superseded by publishing its replacement (relatesTo replaces), not ${after.status}`
          : `A ${before.status} document does not change status`,
        'DocumentReference.status',
      );
    }
  }
  const fixed = (document: DocumentReference) => {
    const { meta, status: _status, docStatus: _docStatus, ...content } = document;
    const { versionId: _v, lastUpdated: _l, ...kept } = meta ?? {};
    return { ...content, ...(Object.keys(kept).length ? { meta: kept } : {}) };
  };
  const was = fixed(before);
  const is = fixed(after);
  if (!jsonEqual(was, is)) {
    const changed = [...new Set([...Object.keys(was), ...Object.keys(is)])].filter((key) => !jsonEqual(was[key as keyof typeof was], is[key as keyof typeof is]));
    throw fhirError(
      'invalid-resource',
      `A published document is not edited (only its status, to entered-in-error, and docStatus change): publish a replacement DocumentReference with relatesTo replaces DocumentReference/${before.id}`,
      `DocumentReference.${changed[0] ?? 'status'}`,
    );
  }
}
