import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { InteractionDetails } from 'oidc-provider';
import type { Database } from '../store/driver.js';
import { deleteRecord, getRecord, pruneExpired, putRecord, takeRecord } from './adapter.js';
import {
  ClientRegistrationError,
  addClient,
  clientEvents,
  decideClient,
  getClient,
  listClients,
  removeClient,
  type ClientRegistration,
  type RegistryActor,
} from './clients.js';
import { pickLocale, t, type Locale } from './i18n.js';
import { ensureServerKeys } from './keys.js';
import { bindContextToGrant, contextOfGrant, createLaunch, findLaunch, isResourceId, type LaunchContext } from './launch.js';
import { renderConsent, renderError, renderLogin } from './pages.js';
import { ROUTES, TTL, createProvider } from './provider.js';
import { parseScopes, scopesAllowing, type Permission } from './scopes.js';
import { secretsEqual } from './secrets.js';
import { smartConfiguration } from './smart-configuration.js';
import { AccessTokenError, ISSUED_ACCESS_TOKEN, createAccessTokenVerifier, type AccessClaims } from './tokens.js';
import { UpstreamError, UpstreamProvider, type UpstreamAttempt, type UpstreamOptions } from './upstream.js';
import { DEFAULT_LOCKOUT, findUserById, findUserByUpstreamSubject, verifyPassword, type LockoutPolicy } from './users.js';

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

const UPSTREAM_LOGIN = 'UpstreamLogin';
const HTML = 'text/html; charset=utf-8';
const ADMIN_SECRET_HEADER = 'x-admin-secret';

/**
 * The authorization server as a Fastify plugin: oidc-provider under the issuer's path, the
 * sign-in and consent pages, the SMART configuration document, EHR launch contexts and the
 * client registry's admin API. Register it without a prefix: paths come from `issuer` and
 * `fhirBaseUrl`. Its security headers (CSP, framing, caching) come from src/http/hardening.ts,
 * which src/http/app.ts registers before it.
 */
export async function authorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServerPlugin> {
  const { db, fhirBaseUrl } = options;
  const issuer = options.issuer.replace(/\/$/, '');
  const prefix = new URL(issuer).pathname.replace(/\/$/, '');
  if (!prefix) throw new Error('mount the authorization server under a path, e.g. http://host/auth');
  const fhirPath = new URL(fhirBaseUrl).pathname.replace(/\/$/, '');
  const interactionPath = `${prefix}/interaction`;
  const lockout = options.lockout ?? DEFAULT_LOCKOUT;

  const keys = await ensureServerKeys(db);
  const provider = createProvider({ db, issuer, fhirBaseUrl, keys, interactionPath });
  if (options.trustProxy) provider.proxy = true;
  const verifyAccessToken = createAccessTokenVerifier({ db, issuer, audience: fhirBaseUrl });
  const verifySignatureOnly = createAccessTokenVerifier({ db, issuer, audience: fhirBaseUrl, checkRevocation: false });
  const upstream = options.upstream ? new UpstreamProvider(options.upstream, `${issuer}/upstream/callback`) : undefined;

  // Token response and JWT access token introspection / revocation, around oidc-provider's own handling.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.status !== 200) return;
    if (ctx.path === ROUTES.revocation) {
      const claims = await verifySignatureOnly(String(ctx.oidc?.params?.token ?? '')).catch(() => undefined);
      // RFC 7009: a client revokes only the tokens issued to it.
      if (claims && claims.client_id === ctx.oidc?.client?.clientId) await deleteRecord(db, ISSUED_ACCESS_TOKEN, claims.jti);
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

  const callback = provider.callback();

  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    // Bodies reach oidc-provider untouched; our own forms are parsed where they are read.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 256 * 1024 }, (_request, body, done) => done(null, body));

    const prune = setInterval(() => void pruneExpired(db).catch(() => undefined), 10 * 60 * 1000);
    prune.unref();
    app.addHook('onClose', async () => clearInterval(prune));

    app.get(`${fhirPath}/.well-known/smart-configuration`, async (_request, reply) => {
      reply.header('Cache-Control', 'public, max-age=3600');
      return smartConfiguration(issuer);
    });

    // ---- interactions: sign-in and consent ----

    const localeOf = (request: FastifyRequest, details?: InteractionDetails): Locale =>
      pickLocale(details?.params.ui_locales as string | undefined, request.headers['accept-language']);

    const loadInteraction = async (request: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply): Promise<InteractionDetails | undefined> => {
      try {
        const details = await provider.interactionDetails(request.raw, reply.raw);
        if (details.uid === request.params.uid) return details;
      } catch {
        // falls through to the expired-session page
      }
      const locale = localeOf(request);
      reply.code(400).type(HTML).send(renderError(locale, t(locale, 'sessionExpired')));
      return undefined;
    };

    const clientName = async (details: InteractionDetails) => {
      const client = await provider.Client.find(String(details.params.client_id));
      return client?.clientName ?? String(details.params.client_id);
    };

    const loginPage = async (details: InteractionDetails, locale: Locale, extra: { error?: string; username?: string } = {}) =>
      renderLogin({
        locale,
        action: `${interactionPath}/${details.uid}/login`,
        clientName: await clientName(details),
        upstreamHref: upstream ? `${interactionPath}/${details.uid}/upstream` : undefined,
        ...extra,
      });

    const consentPage = async (details: InteractionDetails, locale: Locale, error?: string) => {
      const user = await findUserById(db, details.session!.accountId);
      return renderConsent({
        locale,
        action: `${interactionPath}/${details.uid}/consent`,
        clientName: await clientName(details),
        username: user?.username ?? '',
        scopes: parseScopes(consentScopes(details).join(' ')),
        askPatient: needsPatientChoice(details, user?.role, user?.fhirUser),
        error,
      });
    };

    app.get<{ Params: { uid: string } }>(`${interactionPath}/:uid`, async (request, reply) => {
      const details = await loadInteraction(request, reply);
      if (!details) return reply;
      const locale = localeOf(request, details);
      const html = details.prompt.name === 'login' ? await loginPage(details, locale) : await consentPage(details, locale);
      return reply.type(HTML).send(html);
    });

    app.post<{ Params: { uid: string } }>(`${interactionPath}/:uid/login`, async (request, reply) => {
      const details = await loadInteraction(request, reply);
      if (!details) return reply;
      const locale = localeOf(request, details);
      if (details.prompt.name !== 'login') return reply.code(400).type(HTML).send(renderError(locale, t(locale, 'sessionExpired')));
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
      const username = form.get('username') ?? '';
      const password = form.get('password') ?? '';
      const check = username && password ? await verifyPassword(db, username, password, lockout) : ({ ok: false, reason: 'invalid' } as const);
      if (!check.ok) {
        const error = t(locale, check.reason === 'locked' ? 'locked' : 'invalidCredentials');
        request.log.info({ event: 'login_failed', reason: check.reason }, 'password sign-in refused');
        return reply
          .code(check.reason === 'locked' ? 429 : 401)
          .type(HTML)
          .send(await loginPage(details, locale, { error, username }));
      }
      const returnTo = await provider.interactionResult(request.raw, reply.raw, { login: { accountId: check.user.id, amr: ['pwd'] } }, { mergeWithLastSubmission: false });
      return reply.redirect(returnTo, 303);
    });

    app.post<{ Params: { uid: string } }>(`${interactionPath}/:uid/consent`, async (request, reply) => {
      const details = await loadInteraction(request, reply);
      if (!details) return reply;
      const locale = localeOf(request, details);
      if (details.prompt.name !== 'consent' || !details.session) return reply.code(400).type(HTML).send(renderError(locale, t(locale, 'sessionExpired')));
      const form = new URLSearchParams(typeof request.body === 'string' ? request.body : '');
      if (form.get('decision') !== 'allow') {
        const returnTo = await provider.interactionResult(request.raw, reply.raw, { error: 'access_denied', error_description: 'the user denied access' }, { mergeWithLastSubmission: false });
        return reply.redirect(returnTo, 303);
      }
      const user = await findUserById(db, details.session.accountId);
      if (!user) return reply.code(400).type(HTML).send(renderError(locale, t(locale, 'sessionExpired')));
      const chosen = new Set(form.getAll('scope'));

      // Launch context: from the EHR's launch id, or chosen here for a standalone launch.
      let context: LaunchContext | undefined;
      const launchId = details.params.launch as string | undefined;
      if (launchId) {
        context = await findLaunch(db, launchId);
        if (!context) return reply.code(400).type(HTML).send(renderError(locale, t(locale, 'sessionExpired')));
        context = { ...context, needPatientBanner: false };
      } else if (chosen.has('launch/patient') && consentScopes(details).includes('launch/patient')) {
        if (needsPatientChoice(details, user.role, user.fhirUser)) {
          const patient = (form.get('patient') ?? '').trim();
          if (!isResourceId(patient)) return reply.code(400).type(HTML).send(await consentPage(details, locale, t(locale, 'patientRequired')));
          context = { patient, needPatientBanner: true };
        } else {
          context = { patient: user.fhirUser!.slice('Patient/'.length), needPatientBanner: true };
        }
      }

      const { details: missing } = details.prompt;
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: String(details.params.client_id) });
      // What the user unticked is recorded as rejected, so the consent prompt does not come back for it.
      const oidcScopes = (missing.missingOIDCScope as string[] | undefined) ?? [];
      const grantedOidc = oidcScopes.filter((s) => chosen.has(s));
      const rejectedOidc = oidcScopes.filter((s) => !chosen.has(s));
      if (grantedOidc.length) grant.addOIDCScope(grantedOidc.join(' '));
      if (rejectedOidc.length) grant.rejectOIDCScope(rejectedOidc.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims as string[]);
      for (const [indicator, scopes] of Object.entries((missing.missingResourceScopes as Record<string, string[]> | undefined) ?? {})) {
        const granted = scopes.filter((s) => chosen.has(s));
        const rejected = scopes.filter((s) => !chosen.has(s));
        if (granted.length) grant.addResourceScope(indicator, granted.join(' '));
        if (rejected.length) grant.rejectResourceScope(indicator, rejected.join(' '));
      }
      const grantId = await grant.save();
      if (context) await bindContextToGrant(db, grantId, context, TTL.Grant);
      const returnTo = await provider.interactionResult(request.raw, reply.raw, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return reply.redirect(returnTo, 303);
    });

    // ---- sign-in through the upstream identity provider ----

    if (upstream) {
      app.get<{ Params: { uid: string } }>(`${interactionPath}/:uid/upstream`, async (request, reply) => {
        const details = await loadInteraction(request, reply);
        if (!details) return reply;
        const attempt = upstream.newAttempt();
        await putRecord(db, UPSTREAM_LOGIN, attempt.state, { ...attempt, uid: details.uid }, 10 * 60);
        return reply.redirect(await upstream.authorizationUrl(attempt, localeOf(request, details)), 303);
      });

      // The upstream redirects here; the interaction cookie lives under the interaction's own path, so hop there.
      app.get<{ Querystring: Record<string, string> }>(`${prefix}/upstream/callback`, async (request, reply) => {
        const state = String(request.query.state ?? '');
        const attempt = state ? await getRecord<UpstreamAttempt & { uid: string }>(db, UPSTREAM_LOGIN, state) : undefined;
        const locale = localeOf(request);
        if (!attempt) return reply.code(400).type(HTML).send(renderError(locale, t(locale, 'sessionExpired')));
        const query = new URLSearchParams(request.query).toString();
        return reply.redirect(`${interactionPath}/${attempt.uid}/upstream/complete?${query}`, 303);
      });

      app.get<{ Params: { uid: string }; Querystring: Record<string, string> }>(`${interactionPath}/:uid/upstream/complete`, async (request, reply) => {
        const details = await loadInteraction(request, reply);
        if (!details) return reply;
        const locale = localeOf(request, details);
        const attempt = await takeRecord<UpstreamAttempt & { uid: string }>(db, UPSTREAM_LOGIN, String(request.query.state ?? ''));
        if (!attempt || attempt.uid !== details.uid || !request.query.code) {
          return reply.code(400).type(HTML).send(await loginPage(details, locale, { error: t(locale, 'upstreamFailed') }));
        }
        let subject: string;
        try {
          ({ subject } = await upstream.complete(attempt, String(request.query.code)));
        } catch (error) {
          // Our own messages only: another error's (a JSON SyntaxError) may quote what upstream sent.
          const reason = error instanceof UpstreamError ? error.message : (error as Error).name;
          request.log.warn({ event: 'upstream_login_failed', reason }, 'upstream sign-in failed');
          return reply.code(502).type(HTML).send(await loginPage(details, locale, { error: t(locale, 'upstreamFailed') }));
        }
        const user = await findUserByUpstreamSubject(db, subject);
        if (!user) return reply.code(403).type(HTML).send(await loginPage(details, locale, { error: t(locale, 'notLinked') }));
        const returnTo = await provider.interactionResult(request.raw, reply.raw, { login: { accountId: user.id, amr: ['fed'] } }, { mergeWithLastSubmission: false });
        return reply.redirect(returnTo, 303);
      });
    }

    // ---- EHR launch contexts ----

    /** The verified claims of the request's bearer token, if it has a valid one. */
    const bearerClaims = async (request: FastifyRequest): Promise<AccessClaims | undefined> => {
      const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
      if (!match) return undefined;
      return verifyAccessToken(match[1]!).catch((error: unknown) => {
        if (error instanceof AccessTokenError) return undefined;
        throw error;
      });
    };
    /** Who may call the launch API: the bootstrap secret, or a bearer token the check accepts. */
    const caller = async (request: FastifyRequest, check: (claims: AccessClaims) => boolean): Promise<string | undefined> => {
      const secret = request.headers[ADMIN_SECRET_HEADER];
      if (typeof secret === 'string' && options.adminSecret) return secretsEqual(secret, options.adminSecret) ? 'bootstrap-secret' : undefined;
      const claims = await bearerClaims(request);
      return claims && check(claims) ? claims.sub : undefined;
    };
    const refuse = (reply: FastifyReply) =>
      reply
        .code(401)
        .header('WWW-Authenticate', 'Bearer error="invalid_token"')
        .send({ error: 'invalid_token', error_description: 'an administrator or organization administrator token, or the admin secret, is required' });

    app.post(`${prefix}/launch`, async (request, reply) => {
      const who = await caller(
        request,
        (c) => ['clinician', 'administrator', 'system'].includes(c.role) && scopesAllowing(c.scopes, { context: ['user', 'system'], resourceType: 'Patient', permission: 'r' }).length > 0,
      );
      if (!who) return refuse(reply);
      const body = parseJson(request.body) as { patient?: unknown; encounter?: unknown } | undefined;
      if (!body || (body.patient !== undefined && !isResourceId(body.patient)) || (body.encounter !== undefined && !isResourceId(body.encounter))) {
        return reply.code(400).send({ error: 'invalid_request', error_description: 'send {"patient": id, "encounter": id} as JSON' });
      }
      const launch = await createLaunch(db, { ...(body.patient ? { patient: body.patient as string } : {}), ...(body.encounter ? { encounter: body.encounter as string } : {}) }, who);
      return reply.code(201).send({ launch, expires_in: 600 });
    });

    // ---- client registry admin API ----
    //
    // The platform administrator (or the bootstrap secret) registers, lists and removes clients;
    // a client acting for an organization it registers stays pending. Only that organization's own
    // administrator approves or revokes it, and sees only its organization's clients and events.

    const registryActor = async (request: FastifyRequest, permission: Permission): Promise<RegistryActor | undefined> => {
      const secret = request.headers[ADMIN_SECRET_HEADER];
      if (typeof secret === 'string' && options.adminSecret) {
        return secretsEqual(secret, options.adminSecret) ? { name: 'admin-secret', role: 'administrator', via: 'api' } : undefined;
      }
      const claims = await bearerClaims(request);
      if (!claims || (claims.role !== 'administrator' && claims.role !== 'organization-administrator')) return undefined;
      if (!scopesAllowing(claims.scopes, { context: ['user', 'system'], resourceType: '*', permission }).some((s) => s.query.length === 0)) return undefined;
      // The account as it is now: a role taken away, or an organization changed, counts at once.
      const user = await findUserById(db, claims.sub);
      if (!user || user.role !== claims.role) return undefined;
      if (user.role === 'administrator') return { name: user.username, role: 'administrator', via: 'api' };
      if (!user.organization || user.organization !== claims.organization) return undefined;
      return { name: user.username, role: 'organization-administrator', organization: user.organization, via: 'api' };
    };
    const forbid = (reply: FastifyReply, description: string) => reply.code(403).send({ error: 'access_denied', error_description: description });
    const noSuchClient = (reply: FastifyReply) => reply.code(404).send({ error: 'not_found', error_description: 'no such client' });

    app.post(`${prefix}/admin/clients`, async (request, reply) => {
      const actor = await registryActor(request, 'c');
      if (!actor) return refuse(reply);
      let body = parseJson(request.body) as ClientRegistration | undefined;
      const ownRegistration = actor.role === 'organization-administrator';
      if (ownRegistration && body && typeof body === 'object') {
        if (body.organization !== undefined && body.organization !== actor.organization) return forbid(reply, 'an organization administrator registers clients for its own organization only');
        body = { ...body, organization: actor.organization };
      }
      try {
        const client = await addClient(db, body as ClientRegistration, {
          registeredBy: actor,
          approvedBy: ownRegistration ? actor : undefined,
          validate: async (metadata) => {
            await (provider.Client as unknown as { validate(m: unknown): Promise<void> }).validate(metadata);
          },
        });
        return reply.code(201).send(client);
      } catch (error) {
        if (error instanceof ClientRegistrationError || (error as { error?: string }).error === 'invalid_client_metadata') {
          return reply.code(400).send({ error: 'invalid_client_metadata', error_description: (error as { error_description?: string }).error_description ?? (error as Error).message });
        }
        throw error;
      }
    });

    app.get(`${prefix}/admin/clients`, async (request, reply) => {
      const actor = await registryActor(request, 'r');
      if (!actor) return refuse(reply);
      return { clients: await listClients(db, actor.organization) };
    });

    app.get<{ Params: { id: string } }>(`${prefix}/admin/clients/:id`, async (request, reply) => {
      const actor = await registryActor(request, 'r');
      if (!actor) return refuse(reply);
      return (await getClient(db, request.params.id, actor.organization)) ?? noSuchClient(reply);
    });

    app.get<{ Params: { id: string } }>(`${prefix}/admin/clients/:id/events`, async (request, reply) => {
      const actor = await registryActor(request, 'r');
      if (!actor) return refuse(reply);
      const events = await clientEvents(db, request.params.id, actor.organization);
      return events.length ? { events } : noSuchClient(reply);
    });

    for (const decision of ['approve', 'revoke'] as const) {
      app.post<{ Params: { id: string } }>(`${prefix}/admin/clients/:id/${decision}`, async (request, reply) => {
        const actor = await registryActor(request, 'u');
        if (!actor) return refuse(reply);
        if (actor.role !== 'organization-administrator') return forbid(reply, `only the administrator of the client's organization may ${decision} it`);
        return (await decideClient(db, request.params.id, decision, actor)) ?? noSuchClient(reply);
      });
    }

    app.delete<{ Params: { id: string } }>(`${prefix}/admin/clients/:id`, async (request, reply) => {
      const actor = await registryActor(request, 'd');
      if (!actor) return refuse(reply);
      const removed = await removeClient(db, request.params.id, actor, actor.organization);
      return removed ? reply.code(204).send() : noSuchClient(reply);
    });

    // ---- everything else under the issuer: oidc-provider ----

    app.route({
      method: ['GET', 'POST', 'OPTIONS', 'HEAD'],
      url: `${prefix}/*`,
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        const raw = request.raw as IncomingMessage & { originalUrl?: string; body?: unknown };
        const original = raw.url ?? '/';
        let path = original.slice(prefix.length) || '/';
        let body = typeof request.body === 'string' ? request.body : undefined;
        const endpoint = path.split('?')[0];

        if (endpoint === ROUTES.token && body !== undefined) {
          const refusal = assertionRefusal(body);
          if (refusal) return reply.code(401).send({ error: 'invalid_client', error_description: refusal });
        }
        if (endpoint === ROUTES.authorization) {
          // OpenID Connect drops offline_access unless prompt=consent; SMART apps do not send it, and
          // every authorization here asks for consent anyway.
          if (request.method === 'GET') path = withConsentPrompt(path, true);
          else if (body !== undefined) body = withConsentPrompt(body, false);
        }
        // oidc-provider finds its mount path as the part of originalUrl before url.
        raw.originalUrl = `${prefix}${path}`;
        raw.url = path;
        if (body !== undefined && body.length > 0) raw.body = body;
        reply.hijack();
        await callback(raw, reply.raw);
      },
    });
  };

  return Object.assign(plugin, { verifyAccessToken, provider });
}

/** The scopes the consent page offers: those the app asked for that this client may receive. */
function consentScopes(details: InteractionDetails): string[] {
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
  const offered = new Set([...(missing.missingOIDCScope ?? []), ...Object.values(missing.missingResourceScopes ?? {}).flat()]);
  return String(details.params.scope ?? '')
    .split(' ')
    .filter((s) => s && offered.has(s))
    .filter((s, i, all) => all.indexOf(s) === i);
}

/** A standalone `launch/patient` by anyone but a citizen who is themself the Patient: they type the patient's id. */
function needsPatientChoice(details: InteractionDetails, role: string | undefined, fhirUser: string | undefined): boolean {
  if (details.params.launch) return false;
  if (!consentScopes(details).includes('launch/patient')) return false;
  return !(role === 'citizen' && fhirUser?.startsWith('Patient/'));
}

function withConsentPrompt(text: string, isUrl: boolean): string {
  const [head, query] = isUrl ? [text.split('?')[0]!, text.split('?').slice(1).join('?')] : ['', text];
  const params = new URLSearchParams(query);
  const scopes = (params.get('scope') ?? '').split(' ');
  if (!scopes.includes('offline_access')) return text;
  const prompts = (params.get('prompt') ?? '').split(' ').filter(Boolean);
  if (prompts.includes('consent') || prompts.includes('none')) return text;
  params.set('prompt', [...prompts, 'consent'].join(' '));
  return isUrl ? `${head}?${params.toString()}` : params.toString();
}

/** SMART Backend Services: an assertion's `exp` is at most five minutes ahead, and it has a `jti`. */
function assertionRefusal(body: string): string | undefined {
  const params = new URLSearchParams(body);
  const assertion = params.get('client_assertion');
  if (!assertion) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown; jti?: unknown };
    if (typeof payload.jti !== 'string' || !payload.jti) return 'the client assertion needs a jti';
    if (typeof payload.exp !== 'number') return 'the client assertion needs an exp';
    if (payload.exp > Math.floor(Date.now() / 1000) + 5 * 60 + 30) return 'the client assertion exp is more than five minutes ahead';
  } catch {
    return 'the client assertion is not a JWT';
  }
  return undefined;
}

function parseJson(body: unknown): unknown {
  if (typeof body !== 'string' || !body) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
