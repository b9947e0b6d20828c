import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { SqlClient } from '../store/driver.js';
import { AllowedOrigins } from './allowed-origins.js';
import { registerRateLimits, type RateLimits } from './rate-limits.js';

export type { RateLimits } from './rate-limits.js';

/** What the environment decides (Config.hardening, src/config.ts). */
export interface HardeningSettings {
  rateLimits: RateLimits;
  /** Origins allowed across origins besides those of registered redirect URIs (CORS_ORIGINS). */
  corsOrigins: readonly string[];
  /** How long the allowed-origin set is used before the client registry is read again; 30 s by default. */
  originsMaxAgeMs?: number;
}

export interface HardeningOptions extends HardeningSettings {
  /** Where the registered clients are (table oauth_client), for CORS. */
  db: SqlClient;
}

const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const CORS_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'Prefer', 'If-Match', 'If-None-Exist', 'If-None-Match', 'If-Modified-Since', 'X-Purpose-Of-Use'];
// Retry-After and WWW-Authenticate too: an app must be able to read why it was refused.
const CORS_EXPOSED_HEADERS = ['ETag', 'Location', 'Content-Location', 'Last-Modified', 'Retry-After', 'WWW-Authenticate'];
/** Matches no origin: the preflight is still answered here, without Access-Control-Allow-Origin. */
const NO_ORIGIN: string[] = [];

// JSON needs nothing from a browser. The sign-in pages (src/access/pages.ts) use an inline
// <style>; oidc-provider's form_post page adds its script's hash to an existing script-src. No
// form-action: after sign-in and consent the forms redirect to the app's own redirect URI.
const API_CSP = "default-src 'none'; frame-ancestors 'none'";
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";
const COMMON_HEADERS: [string, string][] = [
  ['strict-transport-security', 'max-age=31536000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
  ['referrer-policy', 'no-referrer'],
  // Clinical data and tokens stay out of proxy and browser caches; a route may still say otherwise.
  ['cache-control', 'no-store'],
];

/**
 * Security headers, CORS for registered apps and rate limits, for the FHIR API and the
 * authorization server alike. Call on the root instance before anything else is registered:
 * hooks reach only routes registered after them.
 */
export async function registerHardening(app: FastifyInstance, options: HardeningOptions): Promise<void> {
  // On the raw response, in the first hook: oidc-provider's routes hijack the reply, so headers
  // given to Fastify's reply would never be written for them; a route's own reply.header() still wins.
  app.addHook('onRequest', (request, reply, done) => {
    for (const [name, value] of COMMON_HEADERS) reply.raw.setHeader(name, value);
    reply.raw.setHeader('content-security-policy', request.url.startsWith('/auth/') ? PAGE_CSP : API_CSP);
    done();
  });

  const allowed = new AllowedOrigins(options.db, options.corsOrigins, options.originsMaxAgeMs ?? 30_000, app.log);
  // Before the rate limits, so that a browser app can read its 429. The preflight is answered
  // here for every path; oidc-provider would otherwise answer /auth/token's with any Origin.
  // Its own client-based check still decides the token request itself (clientBasedCORS).
  await app.register(cors, {
    hook: 'onRequest',
    origin: async (origin: string | undefined) => (origin ? ((await allowed.allows(origin)) ? origin : NO_ORIGIN) : false),
    methods: CORS_METHODS,
    allowedHeaders: CORS_REQUEST_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
  });

  await registerRateLimits(app, options.rateLimits);
}
