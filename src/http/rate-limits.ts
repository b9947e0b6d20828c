import rateLimit, { type CreateRateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { pickLocale, t } from '../access/i18n.js';
import { renderError } from '../access/pages.js';
import { tooManyRequests } from '../fhir/outcome.js';
import type {} from './request-context.js';

/** Requests per minute; 0 switches a limit off. */
export interface RateLimits {
  /** Every request, by client address (IPv6 by /64). */
  perIp: number;
  /** Authenticated requests, by the OAuth client id of the verified token. */
  perClient: number;
  /** Credential-bearing POSTs to the token endpoints and the sign-in pages, by client address. */
  login: number;
  /**
   * The public SMART Health Link endpoints (`/shl/…`, where the link is the credential), by
   * client address; SHARE_LINK_LIMIT unless given. Passcode guesses are also counted per link.
   */
  shareLinks?: number;
}

/** Requests per minute from one address to the SMART Health Link endpoints: a few people opening links, not a scan. */
const SHARE_LINK_LIMIT = 30;

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

const WINDOW_MS = 60_000;
// In-memory counters, per process. A key evicted from the LRU starts a fresh window, so it must
// hold every address and client seen within a minute.
const KEYS_KEPT = 50_000;
// The issuer is `{origin}/auth` (src/server.ts): its token endpoints (token, introspect, revoke) and
// sign-in forms take secrets and passwords. Their GETs only render pages and count as any request.
const LOGIN_PATH = /^\/auth\/(token|interaction\/)/;
const SHARE_LINK_PATH = /^\/shl\//;
const FHIR_PATH = /^\/fhir(\/|\?|$)/;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * Per address on every request before any work (onRequest), a stricter per-address limit on the
 * sign-in endpoints, and per OAuth client after authentication.
 */
export async function registerRateLimits(app: FastifyInstance, limits: RateLimits): Promise<void> {
  // Only the plugin's store and counting are used (createRateLimit); the hooks below answer 429
  // themselves, as an OperationOutcome on /fhir, whatever error handler the app has.
  await app.register(rateLimit, { global: false });
  // Each limiter gets a store of its own; `cache` (its LRU size) is read by the store, though the type omits it.
  const limiter = (max: number, keyGenerator?: (request: FastifyRequest) => string) =>
    max > 0 ? app.createRateLimit({ max, timeWindow: WINDOW_MS, cache: KEYS_KEPT, ...(keyGenerator ? { keyGenerator } : {}) } as CreateRateLimitOptions) : undefined;

  const perIp = limiter(limits.perIp);
  const login = limiter(limits.login);
  const shareLinks = limiter(limits.shareLinks ?? SHARE_LINK_LIMIT);
  if (perIp || login || shareLinks) {
    app.addHook('onRequest', async (request, reply) => {
      if (perIp && (await refused(perIp, request, reply, 'Too many requests from this address'))) return reply;
      if (login && request.method === 'POST' && LOGIN_PATH.test(request.url) && (await refused(login, request, reply, 'Too many sign-in attempts from this address'))) {
        return reply;
      }
      if (shareLinks && SHARE_LINK_PATH.test(request.url) && (await refused(shareLinks, request, reply, 'Too many share-link requests from this address'))) return reply;
    });
  }

  const perClient = limiter(limits.perClient, (request) => request.accessContext!.clientId);
  if (!perClient) return;
  // The client id is known only once the token is verified, so this cannot be an onRequest hook,
  // and a global preHandler would run before a preHandler added after it. It is appended to each
  // route's own preHandlers, which run after every app-level preHandler and after those the route
  // declared itself: whichever way the bearer token is verified, it has been by now.
  const byClient: preHandlerAsyncHookHandler = async (request, reply) => {
    if (request.accessContext && (await refused(perClient, request, reply, 'Too many requests from this client'))) return reply;
  };
  app.addHook('onRoute', (route) => {
    const own = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    // A new array: routes may share one (`/fhir` and `/fhir/*`), which would count each request twice.
    route.preHandler = [...own, byClient];
  });
}

/** Counts the request; over the limit, answers 429 with Retry-After and says so. */
async function refused(limit: Limiter, request: FastifyRequest, reply: FastifyReply, text: string): Promise<boolean> {
  const state = await limit(request);
  if (state.isAllowed || !state.isExceeded) return false;
  reply.code(429).header('retry-after', String(Math.max(1, state.ttlInSeconds)));
  if (FHIR_PATH.test(request.url)) {
    reply.header('content-type', FHIR_JSON).send(JSON.stringify(tooManyRequests(text).outcome));
  } else if (request.url.startsWith('/auth/interaction/')) {
    const locale = pickLocale(undefined, request.headers['accept-language']);
    reply.type('text/html; charset=utf-8').send(renderError(locale, t(locale, 'tooManyRequests')));
  } else {
    reply.send({ error: 'too_many_requests', error_description: text });
  }
  return true;
}
