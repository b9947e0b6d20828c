import { FhirRequestError } from '../fhir/client.js';

/** The `common:errors.*` key saying in plain words what went wrong. */
export function errorKey(error: unknown): string {
  if (!(error instanceof FhirRequestError)) return 'errors.network';
  const { status } = error;
  if (status === 401) return 'errors.unauthorized';
  if (status === 403) return 'errors.forbidden';
  if (status === 404 || status === 410) return 'errors.notFound';
  if (status === 429) return 'errors.tooMany';
  if (status >= 500) return 'errors.server';
  return 'errors.invalid';
}

/**
 * The server's own words, when they help: an OperationOutcome's diagnostics for a refused
 * request (what was wrong with it), never for a server failure or a missing record.
 */
export function errorDetails(error: unknown): string | undefined {
  if (!(error instanceof FhirRequestError) || error.status >= 500 || error.status === 404 || error.status === 401) return undefined;
  const diagnostics = error.outcome?.issue?.map((issue) => issue.diagnostics ?? issue.details?.text).filter((text): text is string => Boolean(text));
  return diagnostics && diagnostics.length > 0 ? diagnostics.join(' ') : undefined;
}
