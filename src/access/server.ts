import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type Provider from 'oidc-provider';
import type { Database } from '../store/driver.js';
import { pruneExpired } from './adapter.js';
import { ensureServerKeys } from './keys.js';
import { contextOfGrant } from './launch.js';
import { ROUTES, createProvider } from './provider.js';
import { type AuthorizationServices, registerAuthorizationRoutes } from './routes.js';
import { createAccessTokenVerifier, revokeAccessToken, type AccessClaims } from './tokens.js';
import { UpstreamProvider, type UpstreamOptions } from './upstream.js';
import { DEFAULT_LOCKOUT, type LockoutPolicy } from './users.js';

export interface AuthorizationServerOptions {
  db: Database;
  /** The OAuth issuer, where the server is mounted, e.g. `http://localhost:8080/auth`. */
  issuer: string;
  /** The FHIR base URL: the audience of every access token, e.g. `http://localhost:8080/fhir`. */
  fhirBaseUrl: string;
  /** Sign in through an upstream OpenID provider (eGov ID); its redirect URI is `{issuer}/upstream/callback`. */
  upstream?: UpstreamOptions;
  /**
   * Bootstrap secret for the admin API (`X-Admin-Secret` header), compared in constant time;
   * e.g. from `DENSAULYQ_ADMIN_SECRET`. Without it only an administrator's access token works.
   */
  adminSecret?: string;
  lockout?: LockoutPolicy;
  /** Trust X-Forwarded-* from a reverse proxy when building URLs. */
  trustProxy?: boolean;
}

export type AuthorizationServerPlugin = FastifyPluginAsync & {
  /** Verifies an access token issued by this server; throws AccessTokenError. */
  verifyAccessToken(token: string): Promise<AccessClaims>;
  provider: Provider;
};

/**
 * The authorization server as a Fastify plugin: oidc-provider under the issuer's path, the
 * sign-in and consent pages, the SMART configuration document, EHR launch contexts and the
 * client registry's admin API, each one step from the table in src/access/routes.ts. Register it
 * without a prefix: paths come from `issuer` and `fhirBaseUrl`. Its security headers (CSP,
 * framing, caching) come from src/http/hardening.ts, which src/http/app.ts registers before it.
 */
export async function authorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServerPlugin> {
  const { db, fhirBaseUrl } = options;
  const issuer = options.issuer.replace(/\/$/, '');
  const prefix = new URL(issuer).pathname.replace(/\/$/, '');
  if (!prefix) throw new Error('mount the authorization server under a path, e.g. http://host/auth');
  const fhirPath = new URL(fhirBaseUrl).pathname.replace(/\/$/, '');
  const interactionPath = `${prefix}/interaction`;

  const keys = await ensureServerKeys(db);
  const provider = createProvider({ db, issuer, fhirBaseUrl, keys, interactionPath });
  if (options.trustProxy) provider.proxy = true;
  const verifyAccessToken = createAccessTokenVerifier({ db, issuer, audience: fhirBaseUrl });
  const verifySignatureOnly = createAccessTokenVerifier({ db, issuer, audience: fhirBaseUrl, checkRevocation: false });

  // Token response and JWT access token introspection / revocation, around oidc-provider's own handling.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.status !== 200) return;
    if (ctx.path === ROUTES.revocation) {
      const claims = await verifySignatureOnly(String(ctx.oidc?.params?.token ?? '')).catch(() => undefined);
      // RFC 7009: a client revokes only the tokens issued to it.
      if (claims && claims.client_id === ctx.oidc?.client?.clientId) await revokeAccessToken(db, claims.jti);
      return;
    }
    if (typeof ctx.body !== 'object' || !ctx.body) return;
    if (ctx.path === ROUTES.token && ctx.body.access_token) {
      const grant = ctx.oidc?.entities?.Grant as { jti: string } | undefined;
      const context = await contextOfGrant(db, grant?.jti);
      if (context?.patient) ctx.body.patient = context.patient;
      if (context?.encounter) ctx.body.encounter = context.encounter;
      if (context?.patient && context.needPatientBanner !== undefined) ctx.body.need_patient_banner = context.needPatientBanner;
    } else if (ctx.path === ROUTES.introspection && ctx.body.active === false) {
      const claims = await verifyAccessToken(String(ctx.oidc?.params?.token ?? '')).catch(() => undefined);
      const client = ctx.oidc?.client;
      if (!claims || !client) return;
      if (client.clientAuthMethod === 'none' && claims.client_id !== client.clientId) return;
      const { scopes: _scopes, ...rest } = claims;
      ctx.body = { ...rest, active: true, token_type: 'Bearer' };
    }
  });

  const services: AuthorizationServices = {
    db,
    provider,
    issuer,
    prefix,
    interactionPath,
    lockout: options.lockout ?? DEFAULT_LOCKOUT,
    upstream: options.upstream ? new UpstreamProvider(options.upstream, `${issuer}/upstream/callback`) : undefined,
    adminSecret: options.adminSecret,
    verifyAccessToken,
    callback: provider.callback(),
  };

  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    // Bodies reach oidc-provider untouched; our own forms are parsed where they are read.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_request, body, done) => done(null, body));

    const prune = setInterval(() => void pruneExpired(db).catch(() => undefined), 10 * 60 * 1000);
    prune.unref();
    app.addHook('onClose', async () => clearInterval(prune));

    registerAuthorizationRoutes(app, services, fhirPath);
  };

  return Object.assign(plugin, { verifyAccessToken, provider });
}
