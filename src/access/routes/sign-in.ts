import type { FastifyReply } from 'fastify';
import { t } from '../i18n.js';
import type { AuthorizationServices } from '../routes.js';
import { verifyPassword } from '../users.js';
import { HTML, type InteractionRequest, consentPage, loadInteraction, localeOf, loginPage, sessionExpired } from './interaction.js';

/** `GET {issuer}/interaction/:uid`: the page the interaction's prompt asks for, sign-in or consent. */
export async function showInteraction(request: InteractionRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const details = await loadInteraction(request, reply, services);
  if (!details) return reply;
  const locale = localeOf(request, details);
  if (details.prompt.name === 'login') return reply.type(HTML).send(await loginPage(services, details, locale));
  if (!details.session) return sessionExpired(reply, locale);
  return reply.type(HTML).send(await consentPage(services, details, details.session.accountId, locale));
}

/** `POST {issuer}/interaction/:uid/login`: username and password, with brute-force lockout (src/access/users.ts). */
export async function passwordLogin(request: InteractionRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const details = await loadInteraction(request, reply, services);
  if (!details) return reply;
  const locale = localeOf(request, details);
  if (details.prompt.name !== 'login') return sessionExpired(reply, locale);
  const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  const check = username && password ? await verifyPassword(services.db, username, password, services.lockout) : ({ ok: false, reason: 'invalid' } as const);
  if (!check.ok) {
    const error = t(locale, check.reason === 'locked' ? 'locked' : 'invalidCredentials');
    request.log.info({ event: 'login_failed', reason: check.reason }, 'password sign-in refused');
    return reply
      .code(check.reason === 'locked' ? 429 : 401)
      .type(HTML)
      .send(await loginPage(services, details, locale, { error, username }));
  }
  const returnTo = await services.provider.interactionResult(request.raw, reply.raw, { login: { accountId: check.user.id, amr: ['pwd'] } }, { mergeWithLastSubmission: false });
  return reply.redirect(returnTo, 303);
}
