import type { CodeSystem, Coding, OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * The one error type of the server. Every failure, from a malformed body to a version conflict,
 * is thrown as a FhirError so that the HTTP layer and the Bundle processor answer it the same way:
 * the status code plus the OperationOutcome as the body (or as `Bundle.entry.response.outcome`).
 *
 * Every issue carries a stable Densaulyq code in `issue.details.coding` (ERROR_CODES below), so a
 * client can act on an error and show it in its user's language without parsing the text.
 * https://hl7.org/fhir/R4/http.html#ops and https://hl7.org/fhir/R4/operationoutcome.html
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

  /** The Densaulyq code of the first issue: what a client branches on. */
  get code(): ErrorCode {
    return codeOf(this.outcome.issue[0]) ?? 'internal-error';
  }
}

export type IssueType = OperationOutcomeIssue['code'];
type Severity = OperationOutcomeIssue['severity'];

/** The canonical URL of the CodeSystem of Densaulyq's error and outcome codes. */
export const ERROR_SYSTEM = 'http://densaulyq.kz/fhir/CodeSystem/error';
/** Its id on this server: `GET [base]/CodeSystem/densaulyq-error`. */
export const ERROR_CODE_SYSTEM_ID = 'densaulyq-error';

interface Entry {
  /** The HTTP status answered with this code (200 for the informational ones). */
  status: number;
  /** The FHIR issue type it is reported with (https://hl7.org/fhir/R4/valueset-issue-type.html). */
  type: IssueType;
  kk: string;
  ru: string;
  en: string;
}

/**
 * The catalogue: every code the platform answers with, its status, issue type and what it means in
 * Kazakh, Russian and English. Codes are never renamed or reused; add new ones at the end of a group.
 */
export const ERROR_CODES = {
  'invalid-request': { status: 400, type: 'invalid', kk: 'Сұрау дұрыс емес', ru: 'Некорректный запрос', en: 'The request is not valid' },
  'invalid-structure': { status: 400, type: 'structure', kk: 'Сұрау денесі FHIR JSON емес', ru: 'Тело запроса не является FHIR JSON', en: 'The body is not FHIR JSON' },
  'invalid-url': { status: 400, type: 'invalid', kk: 'URL дұрыс кодталмаған', ru: 'URL закодирован некорректно', en: 'The URL is not validly encoded' },
  'unsupported-request': { status: 400, type: 'not-supported', kk: 'Бұл сұрау мұнда қолдау таппайды', ru: 'Этот запрос здесь не поддерживается', en: 'This request is not supported here' },
  'too-costly': { status: 400, type: 'too-costly', kk: 'Сұрауды орындау тым қымбат', ru: 'Запрос слишком дорог для выполнения', en: 'The request would cost too much to answer' },
  'login-required': { status: 401, type: 'login', kk: 'Қолжетімділік токені қажет', ru: 'Требуется токен доступа', en: 'An access token is required' },
  'invalid-token': { status: 401, type: 'login', kk: 'Қолжетімділік токені жарамсыз', ru: 'Токен доступа недействителен', en: 'The access token is not valid' },
  forbidden: { status: 403, type: 'forbidden', kk: 'Қолжетімділік жоқ', ru: 'Доступ запрещён', en: 'Access is denied' },
  'not-found': { status: 404, type: 'not-found', kk: 'Табылмады', ru: 'Не найдено', en: 'Not found' },
  'unknown-route': { status: 404, type: 'not-found', kk: 'Бұл мекенжайда ештеңе жоқ', ru: 'По этому адресу ничего нет', en: 'Nothing at this address' },
  'method-not-allowed': { status: 405, type: 'not-supported', kk: 'Бұл әдіске рұқсат жоқ', ru: 'Метод не разрешён', en: 'The method is not allowed here' },
  'not-acceptable': { status: 406, type: 'not-supported', kk: 'Сұралған пішім қолдау таппайды', ru: 'Запрошенный формат не поддерживается', en: 'The requested format is not supported' },
  'request-timeout': { status: 408, type: 'timeout', kk: 'Сұрау уақытында келмеді', ru: 'Истекло время ожидания запроса', en: 'The request timed out' },
  conflict: { status: 409, type: 'conflict', kk: 'Ағымдағы күйге қайшы', ru: 'Конфликт с текущим состоянием', en: 'Conflicts with the current state' },
  'identifier-in-use': { status: 409, type: 'duplicate', kk: 'Идентификатор басқа жазбаға тиесілі', ru: 'Идентификатор принадлежит другой записи', en: 'The identifier belongs to another record' },
  gone: { status: 410, type: 'deleted', kk: 'Ресурс жойылды', ru: 'Ресурс удалён', en: 'The resource was deleted' },
  'precondition-failed': { status: 412, type: 'conflict', kk: 'Алғышарт орындалмады', ru: 'Предусловие не выполнено', en: 'The precondition failed' },
  'multiple-matches': { status: 412, type: 'multiple-matches', kk: 'Бірнеше сәйкестік табылды', ru: 'Найдено несколько совпадений', en: 'More than one match' },
  'payload-too-large': { status: 413, type: 'too-long', kk: 'Сұрау тым үлкен', ru: 'Запрос слишком велик', en: 'The request is too large' },
  'unsupported-media-type': { status: 415, type: 'not-supported', kk: 'Дене түрі қолдау таппайды', ru: 'Тип содержимого не поддерживается', en: 'The body type is not supported' },
  'invalid-resource': { status: 422, type: 'invalid', kk: 'Ресурс тексеруден өтпеді', ru: 'Ресурс не прошёл проверку', en: 'The resource failed validation' },
  'too-many-requests': { status: 429, type: 'throttled', kk: 'Сұраулар тым көп', ru: 'Слишком много запросов', en: 'Too many requests' },
  'headers-too-large': { status: 431, type: 'too-long', kk: 'Сұрау тақырыптары тым үлкен', ru: 'Заголовки запроса слишком велики', en: 'The request headers are too large' },
  'internal-error': { status: 500, type: 'exception', kk: 'Сервердің ішкі қатесі', ru: 'Внутренняя ошибка сервера', en: 'Internal server error' },
  'not-implemented': { status: 501, type: 'not-supported', kk: 'Сервер мұны істемейді', ru: 'Сервер этого не поддерживает', en: 'The server does not do this' },
  unavailable: { status: 503, type: 'transient', kk: 'Қызмет уақытша қолжетімсіз', ru: 'Сервис временно недоступен', en: 'The service is temporarily unavailable' },
  'all-ok': { status: 200, type: 'informational', kk: 'Сәтті орындалды', ru: 'Выполнено успешно', en: 'All OK' },
  'count-withheld': { status: 200, type: 'suppressed', kk: 'Аз сан жасырылды', ru: 'Малое число скрыто', en: 'A small count was withheld' },
  'import-summary': { status: 200, type: 'informational', kk: 'Импорт қорытындысы', ru: 'Итоги импорта', en: 'Import summary' },
  'validation-issue': { status: 200, type: 'invalid', kk: 'Тексеру нәтижесі', ru: 'Результат проверки', en: 'Validation finding' },
} as const satisfies Record<string, Entry>;

export type ErrorCode = keyof typeof ERROR_CODES;
type CodeOfStatus<S extends number> = { [C in ErrorCode]: (typeof ERROR_CODES)[C]['status'] extends S ? C : never }[ErrorCode];

export function isFhirError(e: unknown): e is FhirError {
  return e instanceof FhirError;
}

/** Whether `code` is in the catalogue. */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The message of anything thrown: an Error's own, else the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The Coding of a catalogue code, for `issue.details.coding`. */
function errorCoding(code: ErrorCode): Coding {
  return { system: ERROR_SYSTEM, code, display: ERROR_CODES[code].en };
}

/** The Densaulyq code an issue carries, if any. */
export function codeOf(value: OperationOutcomeIssue | undefined): ErrorCode | undefined {
  const code = value?.details?.coding?.find((c) => c.system === ERROR_SYSTEM)?.code;
  return code !== undefined && isErrorCode(code) ? code : undefined;
}

/** An issue with its Densaulyq code; `type` overrides the catalogue's issue type (e.g. the validator's `structure`). */
export function codedIssue(
  code: ErrorCode,
  text: string,
  options: { severity?: Severity; expression?: string | string[]; type?: IssueType; diagnostics?: string } = {},
): OperationOutcomeIssue {
  const { severity = ERROR_CODES[code].status < 300 ? 'information' : 'error', expression, type = ERROR_CODES[code].type, diagnostics } = options;
  const result: OperationOutcomeIssue = { severity, code: type, details: { coding: [errorCoding(code)], text } };
  if (diagnostics !== undefined) result.diagnostics = diagnostics;
  if (expression !== undefined) result.expression = Array.isArray(expression) ? expression : [expression];
  return result;
}

/**
 * An OperationOutcome carrying the given issues. An issue built without a code (the validator's,
 * a translated one) gets `code`, else the catalogue's code for its issue type, so none leaves uncoded.
 */
export function outcome(issues: OperationOutcomeIssue[], code?: ErrorCode): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues.map((i) => coded(i, code)) };
}

/** Any catalogue code as a FhirError with its own status. */
export function fhirError(code: ErrorCode, text: string, expression?: string): FhirError {
  return new FhirError(ERROR_CODES[code].status, outcome([codedIssue(code, text, { expression })]));
}

/** The informational outcome returned by successful operations that have nothing else to say. */
export function allOk(text = 'All OK'): OperationOutcome {
  return outcome([codedIssue('all-ok', text)]);
}

/**
 * 400 Bad Request: the request itself is wrong (syntax, parameters, unparseable body). `code` is a
 * catalogue code of status 400, or (as before codes existed) a FHIR issue type, reported under the
 * 400 code of that type (`invalid-request` when none).
 */
export function badRequest(text: string, expression?: string, code: CodeOfStatus<400> | IssueType = 'invalid-request'): FhirError {
  if (isErrorCode(code)) return fhirError(code, text, expression);
  const known = Object.keys(ERROR_CODES)
    .filter(isErrorCode)
    .find((c) => ERROR_CODES[c].status === 400 && ERROR_CODES[c].type === code);
  return new FhirError(400, outcome([codedIssue(known ?? 'invalid-request', text, { expression, type: code })]));
}

/**
 * 422 Unprocessable Entity: the body is a resource, but fails validation.
 * https://hl7.org/fhir/R4/http.html#create
 */
export function unprocessable(issues: OperationOutcomeIssue[]): FhirError {
  const reported = issues.length > 0 ? issues : [codedIssue('invalid-resource', 'Resource failed validation')];
  return new FhirError(422, outcome(reported, 'invalid-resource'));
}

/** 404 Not Found: the resource, version or endpoint is not known. */
export function notFound(text: string, code: CodeOfStatus<404> = 'not-found'): FhirError {
  return fhirError(code, text);
}

/**
 * 410 Gone: the resource existed but its current version is a deletion.
 * https://hl7.org/fhir/R4/http.html#read
 */
export function gone(text: string): FhirError {
  return fhirError('gone', text);
}

/** 409 Conflict: the write collides with the current state (e.g. an id reused across types). */
export function conflict(text: string, expression?: string, code: CodeOfStatus<409> = 'conflict'): FhirError {
  return fhirError(code, text, expression);
}

/**
 * 412 Precondition Failed: If-Match did not match, or a conditional write matched several resources.
 * https://hl7.org/fhir/R4/http.html#concurrency
 */
export function preconditionFailed(text: string): FhirError {
  return fhirError('precondition-failed', text);
}

/** 412 Precondition Failed with `multiple-matches`: a conditional interaction found more than one match. */
export function multipleMatches(text: string): FhirError {
  return fhirError('multiple-matches', text);
}

/** 406 Not Acceptable: no format the client accepts can be produced (`Accept`, `_format`). */
export function notAcceptable(text: string): FhirError {
  return fhirError('not-acceptable', text);
}

/** 415 Unsupported Media Type: the body is not `application/fhir+json` (or plain JSON). */
export function unsupportedMediaType(text: string): FhirError {
  return fhirError('unsupported-media-type', text);
}

/** 413 Payload Too Large: the body, or a Bundle's entry count, exceeds the configured limit. */
export function payloadTooLarge(text: string): FhirError {
  return fhirError('payload-too-large', text);
}

/** 405 Method Not Allowed: the interaction does not exist for this URL. */
export function methodNotAllowed(text: string): FhirError {
  return fhirError('method-not-allowed', text);
}

/**
 * 501 by default: a valid FHIR request for something this server does not do.
 * Pass 400 when the request must be refused as sent, e.g. an unknown search parameter under
 * `Prefer: handling=strict` (https://hl7.org/fhir/R4/search.html#errors).
 */
export function notSupported(text: string, status: 400 | 501 = 501): FhirError {
  return fhirError(status === 400 ? 'unsupported-request' : 'not-implemented', text);
}

/**
 * 400 Bad Request with `too-costly`: the request is valid but would cost too much to answer
 * (unbounded `_total`, over-deep chains, huge `_include` fan-out).
 */
export function tooCostly(text: string): FhirError {
  return fhirError('too-costly', text);
}

/** 401 Unauthorized: no credentials (`login-required`), or invalid ones (`invalid-token`). */
export function unauthorized(text: string, code: CodeOfStatus<401> = 'login-required'): FhirError {
  return fhirError(code, text);
}

/** 403 Forbidden: authenticated, but access policy denies this interaction. */
export function forbidden(text: string, expression?: string): FhirError {
  return fhirError('forbidden', text, expression);
}

/** 429 Too Many Requests: rate limit reached. */
export function tooManyRequests(text: string): FhirError {
  return fhirError('too-many-requests', text);
}

/**
 * 500 Internal Server Error for anything thrown that is not a FhirError. The cause's message
 * stays out of the outcome so internals (SQL, paths) do not leak to clients; log the cause.
 */
export function toFhirError(e: unknown): FhirError {
  if (e instanceof FhirError) return e;
  return fhirError('internal-error', 'Internal server error');
}

/**
 * The catalogue as the CodeSystem the server serves, with the Kazakh and Russian meanings as
 * designations. https://hl7.org/fhir/R4/codesystem.html
 */
export function errorCodeSystem(): CodeSystem {
  return {
    resourceType: 'CodeSystem',
    id: ERROR_CODE_SYSTEM_ID,
    url: ERROR_SYSTEM,
    version: '1',
    name: 'DensaulyqError',
    title: 'Densaulyq error and outcome codes',
    status: 'active',
    experimental: false,
    publisher: 'Densaulyq',
    description: "The codes in OperationOutcome.issue.details.coding of every Densaulyq outcome; each names the HTTP status it is answered with.",
    caseSensitive: true,
    content: 'complete',
    count: Object.keys(ERROR_CODES).length,
    property: [{ code: 'status', description: 'The HTTP status answered with this code', type: 'integer' }],
    concept: Object.entries(ERROR_CODES).map(([code, entry]) => ({
      code,
      display: entry.en,
      designation: (['kk', 'ru', 'en'] as const).map((language) => ({ language, value: entry[language] })),
      property: [{ code: 'status', valueInteger: entry.status }],
    })),
  };
}

/** Issue types a code-less issue is reported under; any other error type is `invalid-request`. */
const CODE_OF_TYPE: Partial<Record<IssueType, ErrorCode>> = {
  informational: 'all-ok',
  suppressed: 'count-withheld',
  forbidden: 'forbidden',
  'not-found': 'not-found',
  deleted: 'gone',
  conflict: 'conflict',
  duplicate: 'identifier-in-use',
  'multiple-matches': 'multiple-matches',
  'too-long': 'payload-too-large',
  'too-costly': 'too-costly',
  throttled: 'too-many-requests',
  login: 'login-required',
  exception: 'internal-error',
  transient: 'unavailable',
  structure: 'invalid-structure',
  'not-supported': 'unsupported-request',
};

function coded(value: OperationOutcomeIssue, given?: ErrorCode): OperationOutcomeIssue {
  if (codeOf(value)) return value;
  const code = given ?? CODE_OF_TYPE[value.code] ?? (value.severity === 'information' ? 'all-ok' : 'invalid-request');
  return { ...value, details: { ...value.details, coding: [...(value.details?.coding ?? []), errorCoding(code)] } };
}

function describe(value: OperationOutcome): string {
  const first = value.issue?.[0];
  return first?.details?.text ?? first?.diagnostics ?? first?.code ?? 'FHIR error';
}
