import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * The one error type of the server. Every failure, from a malformed body to a version conflict,
 * is thrown as a FhirError so that the HTTP layer and the Bundle processor answer it the same way:
 * the status code plus the OperationOutcome as the body (or as `Bundle.entry.response.outcome`).
 *
 * The builders below are the catalogue: each pairs an HTTP status with the issue code FHIR uses
 * for it, so the pairing is decided once, here.
 * https://hl7.org/fhir/R4/http.html#ops and https://hl7.org/fhir/R4/valueset-issue-type.html
 */
export class FhirError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;

  constructor(status: number, outcome: OperationOutcome) {
    super(describe(outcome));
    this.name = 'FhirError';
    this.status = status;
    this.outcome = outcome;
  }
}

export type IssueType = OperationOutcomeIssue['code'];

export function isFhirError(e: unknown): e is FhirError {
  return e instanceof FhirError;
}

/** An OperationOutcome carrying the given issues. */
export function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** The informational outcome returned by successful operations that have nothing else to say. */
export function allOk(text = 'All OK'): OperationOutcome {
  return outcome([{ severity: 'information', code: 'informational', details: { text } }]);
}

/** 400 Bad Request: the request itself is wrong (syntax, parameters, unparseable body). */
export function badRequest(text: string, expression?: string, code: IssueType = 'invalid'): FhirError {
  return error(400, code, text, expression);
}

/**
 * 422 Unprocessable Entity: the body is a resource, but fails validation.
 * https://hl7.org/fhir/R4/http.html#create
 */
export function unprocessable(issues: OperationOutcomeIssue[]): FhirError {
  const reported = issues.length > 0 ? issues : [issue('error', 'invalid', 'Resource failed validation')];
  return new FhirError(422, outcome(reported));
}

/** 404 Not Found: the resource, version or endpoint is not known. */
export function notFound(text: string): FhirError {
  return error(404, 'not-found', text);
}

/**
 * 410 Gone: the resource existed but its current version is a deletion.
 * https://hl7.org/fhir/R4/http.html#read
 */
export function gone(text: string): FhirError {
  return error(410, 'deleted', text);
}

/** 409 Conflict: the write collides with the current state (e.g. an id reused across types). */
export function conflict(text: string): FhirError {
  return error(409, 'conflict', text);
}

/**
 * 412 Precondition Failed: If-Match did not match, or a conditional write matched several resources.
 * https://hl7.org/fhir/R4/http.html#concurrency
 */
export function preconditionFailed(text: string): FhirError {
  return error(412, 'conflict', text);
}

/** 412 Precondition Failed with `multiple-matches`: a conditional interaction found more than one match. */
export function multipleMatches(text: string): FhirError {
  return error(412, 'multiple-matches', text);
}

/** 406 Not Acceptable: no format the client accepts can be produced (`Accept`, `_format`). */
export function notAcceptable(text: string): FhirError {
  return error(406, 'not-supported', text);
}

/** 415 Unsupported Media Type: the body is not `application/fhir+json` (or plain JSON). */
export function unsupportedMediaType(text: string): FhirError {
  return error(415, 'not-supported', text);
}

/** 413 Payload Too Large: the body, or a Bundle's entry count, exceeds the configured limit. */
export function payloadTooLarge(text: string): FhirError {
  return error(413, 'too-long', text);
}

/** 405 Method Not Allowed: the interaction does not exist for this URL. */
export function methodNotAllowed(text: string): FhirError {
  return error(405, 'not-supported', text);
}

/**
 * 501 by default: a valid FHIR request for something this server does not do.
 * Pass 400 when the request must be refused as sent, e.g. an unknown search parameter under
 * `Prefer: handling=strict` (https://hl7.org/fhir/R4/search.html#errors).
 */
export function notSupported(text: string, status: 400 | 501 = 501): FhirError {
  return error(status, 'not-supported', text);
}

/**
 * 400 Bad Request with `too-costly`: the request is valid but would cost too much to answer
 * (unbounded `_total`, over-deep chains, huge `_include` fan-out).
 */
export function tooCostly(text: string): FhirError {
  return error(400, 'too-costly', text);
}

/** 401 Unauthorized: no or invalid credentials. */
export function unauthorized(text: string): FhirError {
  return error(401, 'login', text);
}

/** 403 Forbidden: authenticated, but access policy denies this interaction. */
export function forbidden(text: string, expression?: string): FhirError {
  return error(403, 'forbidden', text, expression);
}

/** 429 Too Many Requests: rate limit reached. */
export function tooManyRequests(text: string): FhirError {
  return error(429, 'throttled', text);
}

/**
 * 500 Internal Server Error for anything thrown that is not a FhirError. The cause's message
 * stays out of the outcome so internals (SQL, paths) do not leak to clients; log the cause.
 */
export function toFhirError(e: unknown): FhirError {
  if (e instanceof FhirError) return e;
  return error(500, 'exception', 'Internal server error');
}

function error(status: number, code: IssueType, text: string, expression?: string): FhirError {
  return new FhirError(status, outcome([issue('error', code, text, expression)]));
}

function issue(
  severity: OperationOutcomeIssue['severity'],
  code: IssueType,
  text: string,
  expression?: string,
): OperationOutcomeIssue {
  return expression === undefined
    ? { severity, code, details: { text } }
    : { severity, code, details: { text }, expression: [expression] };
}

function describe(value: OperationOutcome): string {
  const first = value.issue?.[0];
  return first?.details?.text ?? first?.diagnostics ?? first?.code ?? 'FHIR error';
}
