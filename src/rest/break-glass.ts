import type { Parameters } from '@medplum/fhirtypes';
import { breakGlassNotice } from '../access/patient-notices.js';
import { badRequest } from '../fhir/outcome.js';
import { parametersBody } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext, InstanceParams } from './interaction.js';

/** How long a break-glass grant lasts, unless the request asks for less. */
const MAX_MINUTES = 60;

/**
 * `POST Patient/[id]/$break-glass` (a Densaulyq operation): a clinician or organization system
 * without a care relationship reaches the patient's record in an emergency. The caller states
 * a reason; the grant lasts at most an hour; the grant and every access under it are flagged in
 * the audit trail; and the patient is told at once by a Communication in their own record
 * (which their app shows), in Kazakh, Russian and English.
 *
 * In: Parameters `reason` (string, required), `minutes` (integer, optional, at most 60).
 * Out: Parameters `expires` (instant).
 */
export async function breakGlassOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const body = parametersBody(request, `$break-glass takes a Parameters resource with a reason`, 'Parameters');
  const reason = body.parameter?.find((p) => p.name === 'reason')?.valueString?.trim();
  if (!reason) throw badRequest(`Breaking the glass needs a stated reason`, 'Parameters.parameter.where(name=\'reason\').valueString');
  if (reason.length > 1000) throw badRequest(`The reason is at most 1000 characters`, 'Parameters.parameter.where(name=\'reason\').valueString');
  const asked = body.parameter?.find((p) => p.name === 'minutes')?.valueInteger;
  if (asked !== undefined && (!Number.isInteger(asked) || asked < 1 || asked > MAX_MINUTES)) {
    throw badRequest(`minutes is an integer from 1 to ${MAX_MINUTES}`, 'Parameters.parameter.where(name=\'minutes\').valueInteger');
  }
  const patient = params.id;
  const { access } = context;
  const expires = await context.repo.recordBreakGlass(
    { patient, reason, minutes: asked ?? MAX_MINUTES, subject: access.subject, ...(access.organization ? { organization: access.organization } : {}) },
    breakGlassNotice(patient, access.organization ? `Organization/${access.organization}` : access.fhirUser, reason),
  );
  const result: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'expires', valueInstant: expires }] };
  return { status: 200, resource: result };
}
