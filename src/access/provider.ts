import Provider, { errors, type ClientInstance, type KoaContextWithOIDC } from 'oidc-provider';
import type { Database } from '../store/driver.js';
import { adapterFactory } from './adapter.js';
import { STATIC_SCOPES, tokenRefusal } from './clients.js';
import { pickLocale, t } from './i18n.js';
import type { ServerKeys } from './keys.js';
import { contextOfGrant, findLaunch } from './launch.js';
import { renderError } from './pages.js';
import { allowedByRegistration, parseScopes, type Scope } from './scopes.js';
import { recordIssuedAccessToken } from './tokens.js';
import { findUserById } from './users.js';

/** oidc-provider routes, relative to the issuer (`/auth`). */
export const ROUTES = {
  authorization: '/authorize',
  token: '/token',
  introspection: '/token/introspect',
  revocation: '/token/revoke',
  userinfo: '/userinfo',
  jwks: '/jwks',
  end_session: '/session/end',
} as const;

export const TTL = {
  AccessToken: 60 * 60,
  /** SMART Backend Services recommend five minutes. */
  ClientCredentials: 5 * 60,
  AuthorizationCode: 60,
  IdToken: 60 * 60,
  RefreshToken: 30 * 24 * 60 * 60,
  Interaction: 30 * 60,
  Session: 12 * 60 * 60,
  Grant: 30 * 24 * 60 * 60,
} as const;

/** Algorithms accepted for `private_key_jwt` client assertions: SMART requires RS384 and ES384. */
export const CLIENT_ASSERTION_ALGS = ['RS384', 'ES384'];

export interface ProviderOptions {
  db: Database;
  issuer: string;
  fhirBaseUrl: string;
  keys: ServerKeys;
  /** Path of the interaction pages, e.g. `/auth/interaction`. */
  interactionPath: string;
}

export function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/** The scope tokens in the order they were requested. */
function tokens(scope: string | undefined): string[] {
  return [...new Set((scope ?? '').split(' ').filter(Boolean))];
}

/**
 * Which of the requested scopes this client may receive for the FHIR API: the client's
 * registered allow-list (with SMART wildcards), `system/` scopes only through client_credentials,
 * `patient/` and `user/` only through a user's authorization.
 */
export function grantableScopes(requested: string | undefined, client: ClientInstance, grantType: 'client_credentials' | 'user'): string[] {
  let scopes: Scope[] = parseScopes(tokens(requested).join(' '));
  const registered = client.metadata().allowed_scope as string | undefined;
  if (registered !== undefined) scopes = allowedByRegistration(scopes, parseScopes(registered));
  return scopes
    .filter((s) => {
      if (s.kind === 'resource') return grantType === 'client_credentials' ? s.context === 'system' : s.context !== 'system';
      if (s.kind === 'other') return false;
      return grantType === 'user';
    })
    .map((s) => s.raw);
}

export function createProvider(options: ProviderOptions): Provider {
  const { db, issuer, fhirBaseUrl, keys } = options;

  const configuration = {
    adapter: adapterFactory(db),
    clients: [],
    jwks: { keys: keys.signing },
    cookies: {
      keys: keys.cookie,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    routes: ROUTES,
    scopes: STATIC_SCOPES,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['preferred_username'] },
    // SMART puts fhirUser in the ID token even though an access token is issued as well.
    conformIdTokenClaims: false,
    async findAccount(_ctx: KoaContextWithOIDC, id: string) {
      const user = await findUserById(db, id);
      if (!user) return undefined;
      return {
        accountId: user.id,
        async claims(_use: string, scope: string) {
          const granted = new Set(scope.split(' '));
          return {
            sub: user.id,
            ...(granted.has('fhirUser') && user.fhirUser ? { fhirUser: `${fhirBaseUrl.replace(/\/$/, '')}/${user.fhirUser}` } : {}),
            ...(granted.has('profile') ? { preferred_username: user.username } : {}),
          };
        },
      };
    },
    extraParams: {
      /** SMART: `aud` is required and must name this FHIR server, so tokens cannot be phished for another. */
      async aud(ctx: KoaContextWithOIDC, value: string | undefined) {
        if (ctx.oidc.route !== 'authorization' && ctx.oidc.route !== 'resume') return;
        if (!value) throw new errors.InvalidRequest('aud is required: the FHIR base URL of the server the app will call');
        if (!sameUrl(value, fhirBaseUrl)) throw new errors.InvalidRequest('aud does not name this FHIR server');
      },
      /** EHR launch: the opaque id must name a live launch context. */
      async launch(ctx: KoaContextWithOIDC, value: string | undefined) {
        if (value === undefined || ctx.oidc.route !== 'authorization') return;
        if (!(await findLaunch(db, value))) throw new errors.InvalidRequest('launch is unknown or expired');
      },
    },
    extraClientMetadata: { properties: ['organization', 'allowed_scope', 'launch_uri'] },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    enabledJWA: {
      clientAuthSigningAlgValues: CLIENT_ASSERTION_ALGS,
      idTokenSigningAlgValues: ['RS256', 'ES256'],
    },
    pkce: { methods: ['S256'], required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A public client may introspect only its own tokens; confidential clients (resource servers) any.
        allowedPolicy: async (ctx: KoaContextWithOIDC, client: ClientInstance, token: { clientId: string }) =>
          !(client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client.clientId),
      },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // SMART apps name the FHIR server with `aud`, not `resource`: every token is for it.
        defaultResource: async () => fhirBaseUrl,
        useGrantedResource: async () => true,
        // Asked for every token of the FHIR API (each grant type) and at authorization: where a
        // client its organization has not approved is refused.
        async getResourceServerInfo(ctx: KoaContextWithOIDC, indicator: string, client: ClientInstance) {
          if (!sameUrl(indicator, fhirBaseUrl)) throw new errors.InvalidTarget('the only resource is this FHIR server');
          const refusal = await tokenRefusal(db, client.clientId);
          if (refusal) throw new errors.UnauthorizedClient(refusal);
          const credentials = ctx.oidc.params?.grant_type === 'client_credentials';
          const requested =
            ctx.oidc.params?.scope ?? ctx.oidc.entities?.AuthorizationCode?.scope ?? ctx.oidc.entities?.RefreshToken?.scope ?? undefined;
          const scope = grantableScopes(requested, client, credentials ? 'client_credentials' : 'user').join(' ');
          return {
            scope,
            audience: fhirBaseUrl,
            accessTokenFormat: 'jwt',
            accessTokenTTL: credentials ? TTL.ClientCredentials : TTL.AccessToken,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    async extraTokenClaims(_ctx: KoaContextWithOIDC, token: { kind: string; accountId?: string; grantId?: string; client?: ClientInstance; clientId: string }) {
      if (token.kind === 'ClientCredentials') {
        const organization = token.client?.metadata().organization as string | undefined;
        return { role: 'system', ...(organization ? { organization } : {}) };
      }
      if (!token.accountId) return undefined;
      const user = await findUserById(db, token.accountId);
      if (!user) return undefined;
      const context = await contextOfGrant(db, token.grantId);
      const claims: Record<string, string> = { role: user.role };
      if (user.fhirUser) claims.fhirUser = user.fhirUser;
      if (user.organization) claims.organization = user.organization;
      if (user.region) claims.region = user.region;
      if (context?.patient) claims.patient = context.patient;
      if (context?.encounter) claims.encounter = context.encounter;
      return claims;
    },
    formats: {
      customizers: {
        // Every JWT access token is recorded (id, expiry, grant) so revocation and grant revocation reach it.
        async jwt(_ctx: KoaContextWithOIDC, token: { grantId?: string; clientId: string }, jwt: { payload: { jti: string; exp: number } }) {
          await recordIssuedAccessToken(db, jwt.payload.jti, jwt.payload.exp, token.clientId, token.grantId);
        },
      },
    },
    // A grant is made by each consent: launch context differs from one authorization to the next.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const grantId = ctx.oidc.result?.consent?.grantId as string | undefined;
      return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
    },
    // SMART: `offline_access` and `online_access` both ask for a refresh token.
    async issueRefreshToken(_ctx: KoaContextWithOIDC, client: ClientInstance, code: { scopes: Set<string> }) {
      return client.grantTypeAllowed('refresh_token') && (code.scopes.has('offline_access') || code.scopes.has('online_access'));
    },
    async expiresWithSession(_ctx: KoaContextWithOIDC, code: { scopes: Set<string> }) {
      return !code.scopes.has('offline_access');
    },
    clientBasedCORS(_ctx: KoaContextWithOIDC, origin: string, client: ClientInstance) {
      // Browser apps call the token endpoint from the origin of a registered redirect URI.
      return (client.redirectUris ?? []).some((uri: string) => {
        try {
          return new URL(uri).origin === origin;
        } catch {
          return false;
        }
      });
    },
    interactions: {
      url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `${options.interactionPath}/${interaction.uid}`,
    },
    async renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }) {
      const locale = pickLocale(ctx.oidc?.params?.ui_locales, ctx.get('accept-language'));
      ctx.type = 'html';
      ctx.body = renderError(locale, `${t(locale, 'requestFailed')} (${out.error}${out.error_description ? `: ${out.error_description}` : ''})`);
    },
    ttl: { ...TTL },
  };

  const provider = new Provider(issuer, configuration);
  return provider;
}
