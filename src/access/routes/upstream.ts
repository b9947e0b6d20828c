import type { FastifyReply, FastifyRequest } from 'fastify';
import { getRecord, putRecord, takeRecord } from '../adapter.js';
import { t } from '../i18n.js';
import type { AuthorizationServices } from '../routes.js';
import { UpstreamError, type UpstreamAttempt } from '../upstream.js';
import { findUserByUpstreamSubject } from '../users.js';
import { HTML, type InteractionRequest, loadInteraction, localeOf, loginPage, sessionExpired } from './interaction.js';

// Sign-in through the upstream identity provider (eGov ID); registered only when one is configured.

const UPSTREAM_LOGIN = 'UpstreamLogin';

type Attempt = UpstreamAttempt & { uid: string };

/** `GET {issuer}/interaction/:uid/upstream`: off to the upstream provider, the attempt remembered for ten minutes. */
export async function upstreamStart(request: InteractionRequest, reply: FastifyReply, services: AuthorizationServices): Promise<unknown> {
  const { upstream } = services;
  const details = await loadInteraction(request, reply, services);
  if (!details || !upstream) return reply;
  const attempt = upstream.newAttempt();
  await putRecord(services.db, UPSTREAM_LOGIN, attempt.state, { ...attempt, uid: details.uid }, 10 * 60);
  return reply.redirect(await upstream.authorizationUrl(attempt, localeOf(request, details)), 303);
}

/** `GET {issuer}/upstream/callback`: the interaction cookie lives under the interaction's own path, so hop there. */
export async function upstreamCallback(
  request: FastifyRequest<{ Querystring: Record<string, string> }>,
  reply: FastifyReply,
  { db, interactionPath }: AuthorizationServices,
): Promise<unknown> {
  const state = String(request.query.state ?? '');
  const attempt = state ? await getRecord<Attempt>(db, UPSTREAM_LOGIN, state) : undefined;
  if (!attempt) return sessionExpired(reply, localeOf(request));
  const query = new URLSearchParams(request.query).toString();
  return reply.redirect(`${interactionPath}/${attempt.uid}/upstream/complete?${query}`, 303);
}

/** `GET {issuer}/interaction/:uid/upstream/complete`: the upstream's code for its subject, signed in when linked to an account. */
export async function upstreamComplete(
  request: FastifyRequest<{ Params: { uid: string }; Querystring: Record<string, string> }>,
  reply: FastifyReply,
  services: AuthorizationServices,
): Promise<unknown> {
  const { db, upstream } = services;
  const details = await loadInteraction(request, reply, services);
  if (!details || !upstream) return reply;
  const locale = localeOf(request, details);
  const attempt = await takeRecord<Attempt>(db, UPSTREAM_LOGIN, String(request.query.state ?? ''));
  if (!attempt || attempt.uid !== details.uid || !request.query.code) {
    return reply.code(400).type(HTML).send(await loginPage(services, details, locale, { error: t(locale, 'upstreamFailed') }));
  }
  let subject: string;
  try {
    ({ subject } = await upstream.complete(attempt, String(request.query.code)));
  } catch (error) {
    // Our own messages only: another error's (a JSON SyntaxError) may quote what upstream sent.
    const reason = error instanceof UpstreamError ? error.message : error instanceof Error ? error.name : typeof error;
    request.log.warn({ event: 'upstream_login_failed', reason }, 'upstream sign-in failed');
    return reply.code(502).type(HTML).send(await loginPage(services, details, locale, { error: t(locale, 'upstreamFailed') }));
  }
  const user = await findUserByUpstreamSubject(db, subject);
  if (!user) return reply.code(403).type(HTML).send(await loginPage(services, details, locale, { error: t(locale, 'notLinked') }));
  const returnTo = await services.provider.interactionResult(request.raw, reply.raw, { login: { accountId: user.id, amr: ['fed'] } }, { mergeWithLastSubmission: false });
  return reply.redirect(returnTo, 303);
}
