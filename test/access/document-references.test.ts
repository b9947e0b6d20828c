import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DocumentReference, Resource } from '@medplum/fhirtypes';
import { checkDocumentWrite } from '../../src/access/document-references.js';
import { type FhirError, isFhirError } from '../../src/fhir/outcome.js';
import type { WriteCheck } from '../../src/store/access-policy.js';

const stored: DocumentReference = {
  resourceType: 'DocumentReference',
  id: 'doc-1',
  meta: { versionId: '1', lastUpdated: '2026-11-20T10:00:00.000Z' },
  status: 'current',
  docStatus: 'preliminary',
  subject: { reference: 'Patient/p-1' },
  description: 'Discharge summary',
  content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/b-1', size: 10, hash: 'aGFzaA==' } }],
};

function write(resource: Resource, current?: Resource, extra: Partial<WriteCheck> = {}): WriteCheck {
  return {
    resourceType: resource.resourceType,
    id: resource.id ?? 'new',
    compartment: 'p-1',
    resource,
    ...(current ? { current: { compartment: 'p-1', author: 'Organization/a', visible: true, resource: () => current } } : {}),
    claims: [],
    held: [],
    ...extra,
  };
}

/** The refusal `check` throws: its status and the element it names. */
function refusal(check: () => unknown): { status: number; expression: string | undefined; text: string | undefined } {
  try {
    check();
  } catch (error) {
    assert.ok(isFhirError(error), String(error));
    const issue = (error as FhirError).outcome.issue[0];
    return { status: (error as FhirError).status, expression: issue?.expression?.[0], text: issue?.details?.text };
  }
  assert.fail('the write was allowed');
}

describe('documents are never silently edited (src/access/document-references.ts)', () => {
  test('an update may change docStatus, and status from current to entered-in-error; server meta is not content', () => {
    const { meta: _meta, ...sent } = stored;
    assert.deepEqual(checkDocumentWrite(write({ ...sent, docStatus: 'final' }, stored)), []);
    assert.deepEqual(checkDocumentWrite(write({ ...stored, status: 'entered-in-error' }, stored)), []);
  });

  test('any other change is a 422 at the changed element that says to publish a replacement', () => {
    const edited = refusal(() => checkDocumentWrite(write({ ...stored, description: 'Changed' }, stored)));
    assert.equal(edited.status, 422);
    assert.equal(edited.expression, 'DocumentReference.description');
    assert.match(edited.text!, /relatesTo replaces DocumentReference\/doc-1/);
    const attachment = refusal(() => checkDocumentWrite(write({ ...stored, content: [{ attachment: { ...stored.content[0]!.attachment, url: 'Binary/other' } }] }, stored)));
    assert.equal(attachment.expression, 'DocumentReference.content');
    const labelled = refusal(() => checkDocumentWrite(write({ ...stored, meta: { ...stored.meta, tag: [{ code: 'x' }] } }, stored)));
    assert.equal(labelled.expression, 'DocumentReference.meta');
  });

  test('superseded comes only from a replacement, and a retracted or superseded document stays so', () => {
    assert.equal(refusal(() => checkDocumentWrite(write({ ...stored, status: 'superseded' }, stored))).expression, 'DocumentReference.status');
    assert.deepEqual(checkDocumentWrite(write({ ...stored, status: 'superseded' }, stored, { entailedBy: 'DocumentReference/doc-2' })), []);
    for (const status of ['superseded', 'entered-in-error'] as const) {
      assert.equal(refusal(() => checkDocumentWrite(write({ ...stored, status: 'current' }, { ...stored, status }))).status, 422);
    }
  });

  test('a new document is published current; its replaces relation entails superseding the old one, if current and about the same patient', () => {
    const { id: _id, meta: _meta, ...fresh } = stored;
    assert.equal(refusal(() => checkDocumentWrite(write({ ...fresh, status: 'superseded' }))).expression, 'DocumentReference.status');
    const replacing = { ...fresh, id: 'doc-2', relatesTo: [{ code: 'replaces' as const, target: { reference: 'DocumentReference/doc-1' } }] };
    const [change, ...more] = checkDocumentWrite(write(replacing));
    assert.equal(more.length, 0);
    assert.deepEqual([change!.resourceType, change!.id, change!.expression], ['DocumentReference', 'doc-1', 'DocumentReference.relatesTo[0].target']);
    assert.equal((change!.change(stored) as DocumentReference).status, 'superseded');
    assert.equal(refusal(() => change!.change({ ...stored, status: 'superseded' })).status, 409);
    assert.equal(refusal(() => change!.change({ ...stored, subject: { reference: 'Patient/p-2' } })).status, 422);
    assert.equal(refusal(() => checkDocumentWrite(write({ ...replacing, relatesTo: [{ code: 'replaces', target: { reference: 'Binary/b-1' } }] }))).expression, 'DocumentReference.relatesTo[0].target');
    assert.equal(refusal(() => checkDocumentWrite(write({ ...replacing, relatesTo: [{ code: 'replaces', target: { reference: 'DocumentReference/doc-2' } }] }))).status, 422);
    assert.deepEqual(checkDocumentWrite(write({ ...replacing, relatesTo: [{ code: 'appends', target: { reference: 'DocumentReference/doc-1' } }] })), []);
  });

  test('a document is not deleted, nor is its content changed; a Binary that is no document\'s content may change', () => {
    assert.equal(refusal(() => checkDocumentWrite(write(stored, stored, { deletion: true }))).status, 409);
    const binary = { resourceType: 'Binary', id: 'b-1', contentType: 'application/pdf', data: 'JVBERg==', securityContext: { reference: 'DocumentReference/doc-1' } } as const;
    assert.equal(refusal(() => checkDocumentWrite(write({ ...binary, data: 'AAAA' }, binary))).status, 409);
    assert.equal(refusal(() => checkDocumentWrite(write(binary, binary, { deletion: true }))).status, 409);
    const { securityContext: _context, ...loose } = binary;
    assert.deepEqual(checkDocumentWrite(write({ ...loose, data: 'AAAA' }, loose)), []);
    const fhirDocument = { resourceType: 'Bundle', id: 'd-1', type: 'document' } as const;
    assert.equal(refusal(() => checkDocumentWrite(write(fhirDocument, fhirDocument, { deletion: true }))).status, 409);
    assert.deepEqual(checkDocumentWrite(write({ resourceType: 'Bundle', id: 'c-1', type: 'collection' }, { resourceType: 'Bundle', id: 'c-1', type: 'collection' })), []);
  });
});
