import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ERROR_SYSTEM,
  FhirError,
  allOk,
  badRequest,
  conflict,
  forbidden,
  gone,
  isFhirError,
  methodNotAllowed,
  multipleMatches,
  notAcceptable,
  notFound,
  notSupported,
  outcome,
  payloadTooLarge,
  preconditionFailed,
  toFhirError,
  tooCostly,
  tooManyRequests,
  unauthorized,
  unprocessable,
  unsupportedMediaType,
} from '../../src/fhir/outcome.js';

describe('error catalogue', () => {
  const cases: [FhirError, number, string, string][] = [
    [badRequest('x'), 400, 'invalid', 'invalid-request'],
    [badRequest('x', undefined, 'structure'), 400, 'structure', 'invalid-structure'],
    [badRequest('x', undefined, 'not-supported'), 400, 'not-supported', 'unsupported-request'],
    [badRequest('x', undefined, 'invalid-url'), 400, 'invalid', 'invalid-url'],
    [notFound('x'), 404, 'not-found', 'not-found'],
    [gone('x'), 410, 'deleted', 'gone'],
    [conflict('x'), 409, 'conflict', 'conflict'],
    [preconditionFailed('x'), 412, 'conflict', 'precondition-failed'],
    [multipleMatches('x'), 412, 'multiple-matches', 'multiple-matches'],
    [notAcceptable('x'), 406, 'not-supported', 'not-acceptable'],
    [unsupportedMediaType('x'), 415, 'not-supported', 'unsupported-media-type'],
    [payloadTooLarge('x'), 413, 'too-long', 'payload-too-large'],
    [methodNotAllowed('x'), 405, 'not-supported', 'method-not-allowed'],
    [notSupported('x'), 501, 'not-supported', 'not-implemented'],
    [notSupported('x', 400), 400, 'not-supported', 'unsupported-request'],
    [tooCostly('x'), 400, 'too-costly', 'too-costly'],
    [unauthorized('x'), 401, 'login', 'login-required'],
    [forbidden('x'), 403, 'forbidden', 'forbidden'],
    [tooManyRequests('x'), 429, 'throttled', 'too-many-requests'],
  ];
  for (const [error, status, type, code] of cases) {
    test(`${status} ${type} carries one error issue with the text and the code ${code}`, () => {
      assert.ok(error instanceof Error);
      assert.ok(isFhirError(error));
      assert.equal(error.status, status);
      assert.equal(error.code, code);
      assert.equal(error.outcome.resourceType, 'OperationOutcome');
      assert.deepEqual(error.outcome.issue, [{ severity: 'error', code: type, details: { coding: [{ system: ERROR_SYSTEM, code, display: error.outcome.issue[0]!.details!.coding![0]!.display }], text: 'x' } }]);
      assert.equal(error.message, 'x');
    });
  }

  test('badRequest names the offending expression', () => {
    assert.deepEqual(badRequest('Unknown parameter', 'foo').outcome.issue[0].expression, ['foo']);
  });

  test('unprocessable is a 422 carrying every validation issue', () => {
    const issues = [
      { severity: 'error' as const, code: 'code-invalid' as const, details: { text: 'a' }, expression: ['Patient.gender'] },
      { severity: 'warning' as const, code: 'structure' as const, details: { text: 'b' } },
    ];
    const error = unprocessable(issues);
    assert.equal(error.status, 422);
    assert.equal(error.code, 'invalid-resource');
    assert.deepEqual(error.outcome.issue.map(({ details, ...rest }) => ({ ...rest, details: { text: details?.text } })), issues);
    assert.ok(error.outcome.issue.every((i) => i.details?.coding?.[0]?.code === 'invalid-resource'));
    assert.equal(unprocessable([]).outcome.issue.length, 1, 'never an outcome without issues');
  });

  test('outcome and allOk build OperationOutcome resources', () => {
    assert.deepEqual(outcome([]), { resourceType: 'OperationOutcome', issue: [] });
    const ok = allOk('Deleted');
    assert.equal(ok.issue[0]!.severity, 'information');
    assert.equal(ok.issue[0]!.code, 'informational');
    assert.equal(ok.issue[0]!.details?.text, 'Deleted');
    assert.equal(ok.issue[0]!.details?.coding?.[0]?.code, 'all-ok');
  });

  test('toFhirError keeps FhirErrors and hides the details of anything else behind a 500', () => {
    const known = notFound('Patient/1 is not known');
    assert.equal(toFhirError(known), known);
    const unknown = toFhirError(new Error('relation "resources" does not exist'));
    assert.equal(unknown.status, 500);
    assert.equal(unknown.outcome.issue[0]!.code, 'exception');
    assert.equal(unknown.code, 'internal-error');
    assert.doesNotMatch(JSON.stringify(unknown.outcome), /relation/);
    assert.equal(isFhirError(new Error('x')), false);
    assert.equal(isFhirError(null), false);
  });
});
