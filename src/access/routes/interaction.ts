// What the sign-in, consent and upstream routes share: the interaction, its pages, the user's language.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionDetails } from 'oidc-provider';
import { pickLocale, t, type Locale } from '../i18n.js';
import { renderConsent, renderError, renderLogin } from '../pages.js';
import type { AuthorizationServices } from '../routes.js';
import { parseScopes } from '../scopes.js';
import { findUserById } from '../users.js';

export const HTML = 'text/html; charset=utf-8';

export type InteractionRequest = FastifyRequest<{ Params: { uid: string } }>;

export const localeOf = (request: FastifyRequest, details?: InteractionDetails): Locale =>
  pickLocale(details?.params.ui_locales, request.headers['accept-language']);

/** The HTML error page saying the sign-in session is gone, in the user's language. */
export function sessionExpired(reply: FastifyReply, locale: Locale): FastifyReply {
  return reply.code(400).type(HTML).send(renderError(locale, t(locale, 'sessionExpired')));
}

/** The interaction of the request's `:uid`, or undefined after answering with the expired-session page. */
export async function loadInteraction(request: InteractionRequest, reply: FastifyReply, { provider }: AuthorizationServices): Promise<InteractionDetails | undefined> {
  try {
    const details = await provider.interactionDetails(request.raw, reply.raw);
    if (details.uid === request.params.uid) return details;
  } catch {
    // falls through to the expired-session page
  }
  sessionExpired(reply, localeOf(request));
  return undefined;
}

async function clientName({ provider }: AuthorizationServices, details: InteractionDetails): Promise<string> {
  const client = await provider.Client.find(String(details.params.client_id));
  return client?.clientName ?? String(details.params.client_id);
}

export async function loginPage(
  services: AuthorizationServices,
  details: InteractionDetails,
  locale: Locale,
  extra: { error?: string; username?: string } = {},
): Promise<string> {
  return renderLogin({
    locale,
    action: `${services.interactionPath}/${details.uid}/login`,
    clientName: await clientName(services, details),
    upstreamHref: services.upstream ? `${services.interactionPath}/${details.uid}/upstream` : undefined,
    ...extra,
  });
}

export async function consentPage(services: AuthorizationServices, details: InteractionDetails, accountId: string, locale: Locale, error?: string): Promise<string> {
  const user = await findUserById(services.db, accountId);
  return renderConsent({
    locale,
    action: `${services.interactionPath}/${details.uid}/consent`,
    clientName: await clientName(services, details),
    username: user?.username ?? '',
    scopes: parseScopes(consentScopes(details).join(' ')),
    askPatient: needsPatientChoice(details, user?.role, user?.fhirUser),
    error,
  });
}

/** The scopes the consent page offers: those the app asked for that this client may receive. */
export function consentScopes(details: InteractionDetails): string[] {
  const missing = details.prompt.details;
  const offered = new Set([...(missing.missingOIDCScope ?? []), ...Object.values(missing.missingResourceScopes ?? {}).flat()]);
  return String(details.params.scope ?? '')
    .split(' ')
    .filter((s) => s && offered.has(s))
    .filter((s, i, all) => all.indexOf(s) === i);
}

/** A standalone `launch/patient` by anyone but a citizen who is themself the Patient: they type the patient's id. */
export function needsPatientChoice(details: InteractionDetails, role: string | undefined, fhirUser: string | undefined): boolean {
  if (details.params.launch) return false;
  if (!consentScopes(details).includes('launch/patient')) return false;
  return !(role === 'citizen' && fhirUser?.startsWith('Patient/'));
}
