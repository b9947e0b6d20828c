import type { FastifyReply } from 'fastify';
import { t } from '../i18n.js';
import { bindContextToGrant, findLaunch, isResourceId, type LaunchContext } from '../launch.js';
import { TTL } from '../provider.js';
import type { AuthorizationServices } from '../routes.js';
import { findUserById } from '../users.js';
import { HTML, type InteractionRequest, consentPage, consentScopes, loadInteraction, localeOf, needsPatientChoice, sessionExpired } from './interaction.js';

/**
 * `POST {issuer}/interaction/:uid/consent`: the scopes the user ticked become the grant, the
 * unticked ones rejected, and the launch context (EHR launch, or the patient chosen here) bound to it.
 */
export async function consent(request: InteractionRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const { db, provider } = services;
  const details = await loadInteraction(request, reply, services);
  if (!details) return reply;
  const locale = localeOf(request, details);
  if (details.prompt.name !== 'consent' || !details.session) return sessionExpired(reply, locale);
  const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
  if (form.get('decision') !== 'allow') {
    const returnTo = await provider.interactionResult(request.raw, reply.raw, { error: 'access_denied', error_description: 'the user denied access' }, { mergeWithLastSubmission: false });
    return reply.redirect(returnTo, 303);
  }
  const { accountId } = details.session;
  const user = await findUserById(db, accountId);
  if (!user) return sessionExpired(reply, locale);
  const chosen = new Set(form.getAll('scope'));

  // Launch context: from the EHR's launch id, or chosen here for a standalone launch.
  let context: LaunchContext | undefined;
  const launchId = details.params.launch;
  if (launchId) {
    context = await findLaunch(db, launchId);
    if (!context) return sessionExpired(reply, locale);
    context = { ...context, needPatientBanner: false };
  } else if (chosen.has('launch/patient') && consentScopes(details).includes('launch/patient')) {
    if (needsPatientChoice(details, user.role, user.fhirUser)) {
      const patient = (form.get('patient') ?? '').trim();
      if (!isResourceId(patient)) return reply.code(400).type(HTML).send(await consentPage(services, details, accountId, locale, t(locale, 'patientRequired')));
      context = { patient, needPatientBanner: true };
    } else if (user.fhirUser) {
      context = { patient: user.fhirUser.slice('Patient/'.length), needPatientBanner: true };
    }
  }

  const { details: missing } = details.prompt;
  const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  // What the user unticked is recorded as rejected, so the consent prompt does not come back for it.
  const oidcScopes = missing.missingOIDCScope ?? [];
  const grantedOidc = oidcScopes.filter((s) => chosen.has(s));
  const rejectedOidc = oidcScopes.filter((s) => !chosen.has(s));
  if (grantedOidc.length) grant.addOIDCScope(grantedOidc.join(' '));
  if (rejectedOidc.length) grant.rejectOIDCScope(rejectedOidc.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    const granted = scopes.filter((s) => chosen.has(s));
    const rejected = scopes.filter((s) => !chosen.has(s));
    if (granted.length) grant.addResourceScope(indicator, granted.join(' '));
    if (rejected.length) grant.rejectResourceScope(indicator, rejected.join(' '));
  }
  const grantId = await grant.save();
  if (context) await bindContextToGrant(db, grantId, context, TTL.Grant);
  const returnTo = await provider.interactionResult(request.raw, reply.raw, { consent: { grantId } }, { mergeWithLastSubmission: true });
  return reply.redirect(returnTo, 303);
}
