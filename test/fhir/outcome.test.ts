import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
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
  const cases: [FhirError, number, string][] = [
    [badRequest('x'), 400, 'invalid'],
    [badRequest('x', undefined, 'structure'), 400, 'structure'],
    [notFound('x'), 404, 'not-found'],
    [gone('x'), 410, 'deleted'],
    [conflict('x'), 409, 'conflict'],
    [preconditionFailed('x'), 412, 'conflict'],
    [multipleMatches('x'), 412, 'multiple-matches'],
    [notAcceptable('x'), 406, 'not-supported'],
    [unsupportedMediaType('x'), 415, 'not-supported'],
    [payloadTooLarge('x'), 413, 'too-long'],
    [methodNotAllowed('x'), 405, 'not-supported'],
    [notSupported('x'), 501, 'not-supported'],
    [notSupported('x', 400), 400, 'not-supported'],
    [tooCostly('x'), 400, 'too-costly'],
    [unauthorized('x'), 401, 'login'],
    [forbidden('x'), 403, 'forbidden'],
    [tooManyRequests('x'), 429, 'throttled'],
  ];
  for (const [error, status, code] of cases) {
    test(`${status} ${code} carries one error issue with the text`, () => {
      assert.ok(error instanceof Error);
      assert.ok(isFhirError(error));
      assert.equal(error.status, status);
      assert.equal(error.outcome.resourceType, 'OperationOutcome');
      assert.deepEqual(error.outcome.issue, [{ severity: 'error', code, details: { text: 'x' } }]);
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
    assert.deepEqual(error.outcome.issue, issues);
    assert.equal(unprocessable([]).outcome.issue.length, 1, 'never an outcome without issues');
  });

  test('outcome and allOk build OperationOutcome resources', () => {
    assert.deepEqual(outcome([]), { resourceType: 'OperationOutcome', issue: [] });
    assert.deepEqual(allOk('Deleted'), {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational', details: { text: 'Deleted' } }],
    });
  });

  test('toFhirError keeps FhirErrors and hides the details of anything else behind a 500', () => {
    const known = notFound('Patient/1 is not known');
    assert.equal(toFhirError(known), known);
    const unknown = toFhirError(new Error('relation "resources" does not exist'));
    assert.equal(unknown.status, 500);
    assert.equal(unknown.outcome.issue[0].code, 'exception');
    assert.doesNotMatch(JSON.stringify(unknown.outcome), /relation/);
    assert.equal(isFhirError(new Error('x')), false);
    assert.equal(isFhirError(null), false);
  });
});
