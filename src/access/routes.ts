import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteGenericInterface } from 'fastify';
import type Provider from 'oidc-provider';
import type { Database } from '../store/driver.js';
import { approveClient, clientEventsRoute, listClientsRoute, readClient, registerClient, removeClientRoute, revokeClient } from './routes/client-registry.js';
import { consent } from './routes/consent.js';
import { createLaunchContext } from './routes/launch.js';
import { oidcProvider } from './routes/oidc.js';
import { passwordLogin, showInteraction } from './routes/sign-in.js';
import { smartConfigurationDocument } from './routes/smart-configuration.js';
import { upstreamCallback, upstreamComplete, upstreamStart } from './routes/upstream.js';
import type { AccessClaims } from './tokens.js';
import type { UpstreamProvider } from './upstream.js';
import type { LockoutPolicy } from './users.js';

/** What the authorization server's routes share, built once by `authorizationServer`. */
export interface AuthorizationServices {
  db: Database;
  provider: Provider;
  /** The issuer without a trailing slash, e.g. `http://localhost:8080/auth`. */
  issuer: string;
  /** The issuer's path (`/auth`): every route but the SMART configuration lives below it. */
  prefix: string;
  /** Where the sign-in and consent pages are (`/auth/interaction`). */
  interactionPath: string;
  lockout: LockoutPolicy;
  upstream?: UpstreamProvider;
  adminSecret?: string;
  verifyAccessToken(token: string): Promise<AccessClaims>;
  /** oidc-provider's own request handler. */
  callback: ReturnType<Provider['callback']>;
}

export interface AuthorizationRoute<R extends RouteGenericInterface = RouteGenericInterface> {
  method: HTTPMethods | HTTPMethods[];
  /** Below the issuer's path, or below the FHIR base's path when `under` is 'fhir'. */
  path: string;
  under?: 'issuer' | 'fhir';
  /** Registered only when the server signs in through an upstream identity provider. */
  needsUpstream?: boolean;
  handle(request: FastifyRequest<R>, reply: FastifyReply, services: AuthorizationServices): Promise<unknown>;
}

/**
 * Every route of the authorization server, in one table: the SMART configuration, the sign-in
 * and consent pages, upstream sign-in, EHR launch contexts, the client registry's admin API, and
 * oidc-provider for everything else under the issuer (registered last, as the catch-all).
 */
export const AUTHORIZATION_ROUTES: readonly AuthorizationRoute[] = [
  { method: 'GET', path: '/.well-known/smart-configuration', under: 'fhir', handle: smartConfigurationDocument },
  { method: 'GET', path: '/interaction/:uid', handle: showInteraction },
  { method: 'POST', path: '/interaction/:uid/login', handle: passwordLogin },
  { method: 'POST', path: '/interaction/:uid/consent', handle: consent },
  { method: 'GET', path: '/interaction/:uid/upstream', needsUpstream: true, handle: upstreamStart },
  { method: 'GET', path: '/upstream/callback', needsUpstream: true, handle: upstreamCallback },
  { method: 'GET', path: '/interaction/:uid/upstream/complete', needsUpstream: true, handle: upstreamComplete },
  { method: 'POST', path: '/launch', handle: createLaunchContext },
  { method: 'POST', path: '/admin/clients', handle: registerClient },
  { method: 'GET', path: '/admin/clients', handle: listClientsRoute },
  { method: 'GET', path: '/admin/clients/:id', handle: readClient },
  { method: 'GET', path: '/admin/clients/:id/events', handle: clientEventsRoute },
  { method: 'POST', path: '/admin/clients/:id/approve', handle: approveClient },
  { method: 'POST', path: '/admin/clients/:id/revoke', handle: revokeClient },
  { method: 'DELETE', path: '/admin/clients/:id', handle: removeClientRoute },
  { method: ['GET', 'POST', 'OPTIONS', 'HEAD'], path: '/*', handle: oidcProvider },
];

/** Registers the table's routes on `app`, the FHIR base's path being `fhirPath`. */
export function registerAuthorizationRoutes(app: FastifyInstance, services: AuthorizationServices, fhirPath: string): void {
  for (const route of AUTHORIZATION_ROUTES) {
    if (route.needsUpstream && !services.upstream) continue;
    app.route({
      method: route.method,
      url: `${route.under === 'fhir' ? fhirPath : services.prefix}${route.path}`,
      // oidc-provider answers HEAD itself; the other routes are Fastify's GET-with-HEAD as before.
      exposeHeadRoute: !Array.isArray(route.method),
      handler: (request, reply) => route.handle(request, reply, services),
    });
  }
}
