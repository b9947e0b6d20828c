import { Readable } from 'node:stream';
import type { Resource } from '@medplum/fhirtypes';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ANONYMOUS_CONTEXT, accessContextFromClaims } from '../access/authenticate.js';
import type { AccessContext } from '../access/context.js';
import { accessPolicy, shareLinkAccess } from '../access/door.js';
import { AccessTokenError, type AccessClaims } from '../access/tokens.js';
import { type Config, DEFAULT_RATE_LIMITS } from '../config.js';
import { parseFhirJson, prettyJson } from '../fhir/json.js';
import { ERROR_CODES, FhirError, allOk, badRequest, fhirError, isFhirError, notAcceptable, notFound, payloadTooLarge, unauthorized, unsupportedMediaType, type ErrorCode } from '../fhir/outcome.js';
import type { FhirRequest, FhirResponse, InteractionContext } from '../rest/interaction.js';
import { etag } from '../rest/interaction.js';
import { STREAMED_ENTRIES, bundleChunks } from '../rest/everything-stream.js';
import { serialize } from '../rest/raw.js';
import { findRoute } from '../rest/routes.js';
import { FHIR_JSON_TYPE, acceptedTypes, preferredMediaType } from '../rest/media-types.js';
import { type ShareLinkResponse, shareLinkDirectFile, shareLinkFile, shareLinkManifest } from '../passport/share-links.js';
import type { Database } from '../store/driver.js';
import { Repository } from '../store/repository.js';
import { type HardeningSettings, registerHardening } from './hardening.js';
import { answerClientErrors } from './client-errors.js';
import { registerWebApp } from './web-app.js';
import { dicomWeb } from './dicomweb.js';
import type { ObjectStore } from '../imaging/object-store.js';
import { registerSubscriptionWebsocket } from './subscription-websocket.js';
import type { SubscriptionDelivery } from '../exchange/delivery.js';
import './request-context.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const JSON_TYPES = /^application\/(fhir\+json|json|json-patch\+json)\b/;
const FORM_TYPE = /^application\/x-www-form-urlencoded\b/;
const NDJSON_TYPE = /^application\/(fhir\+)?ndjson\b/;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export interface AppOptions {
  db: Database;
  config: Pick<Config, 'bodyLimit' | 'maxBundleEntries' | 'publicBaseUrl'>;
  logger?: Logger;
  /** The OAuth 2.0 / SMART authorization server, mounted beside the FHIR API when given. */
  authorization?: FastifyPluginAsync;
  /** Verifies a bearer access token (signature, issuer, audience, expiry, revocation). */
  verifyToken: (token: string) => Promise<AccessClaims>;
  /** False writes no audit records: the baseline of the access-overhead benchmark, never a deployment. */
  audit?: boolean;
  /** Rate limits and CORS origins (Config.hardening); the default limits and no other origins when not given. */
  hardening?: HardeningSettings;
  /** The built citizen app (web/dist), served at `/` when given and built. */
  webRoot?: string;
  /** The Subscription delivery worker, whose websocket channel is served when given. */
  subscriptionDelivery?: SubscriptionDelivery;
  /** The image store, whose DICOMweb service (src/http/dicomweb.ts) is served at /dicom-web when given. */
  imaging?: { store: ObjectStore };
}

/** FHIR paths anyone may read without a token: what the server can do, and how to sign in. */
const PUBLIC_PATHS = new Set(['metadata']);

/** The Fastify adapter: HTTP in, FhirRequest to the route table, FhirResponse out. Nothing FHIR-specific happens here. */
export async function buildApp({ db, config, logger, authorization, verifyToken, audit = true, hardening, webRoot, subscriptionDelivery, imaging }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger | undefined,
    // Fastify's own request log lines carry the URL, whose query may hold names: ours below do not.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    // Answered below as an OperationOutcome: Fastify's own 503 is plain JSON.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
    // A URL Fastify cannot decode (`/fhir/Patient/%E0%A4%A`) fails before any route or error
    // handler runs; without this the client gets Fastify's own JSON instead of an OperationOutcome.
    frameworkErrors: (error, _request, reply) => {
      const failure = error.code === 'FST_ERR_BAD_URL' ? badRequest(`The URL is not validly percent-encoded`, undefined, 'invalid-url') : badRequest(error.message);
      return sendError(reply, failure);
    },
  });
  answerClientErrors(app.server);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (closing) return sendError(reply.header('connection', 'close').header('retry-after', '5'), fhirError('unavailable', 'The server is shutting down; try again shortly'));
  });
  await registerHardening(app, { db, ...(hardening ?? { rateLimits: DEFAULT_RATE_LIMITS, corsOrigins: [] }) });
  if (authorization) await app.register(authorization);
  if (subscriptionDelivery) await registerSubscriptionWebsocket(app, db, subscriptionDelivery);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  // Logs say what happened, never what was in it: no URL (the query may hold names), no bodies.
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, route: request.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.get('/healthz', async () => {
    await db.query('SELECT 1');
    return { status: 'ok' };
  });

  /**
   * Who asks, from the bearer token, before anything else runs (rate limits per client need it):
   * a request without a valid token gets nothing but the public paths.
   */
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = (request.params as { '*'?: string })['*'] ?? '';
    const header = request.headers.authorization;
    if (!header && PUBLIC_PATHS.has(path.replace(/\/$/, ''))) return;
    const token = /^Bearer +(\S+)$/i.exec(header ?? '')?.[1];
    // RFC 6750 section 3: a 401 names the scheme, and says when the token itself was the problem.
    reply.header('www-authenticate', token ? 'Bearer realm="densaulyq", error="invalid_token"' : 'Bearer realm="densaulyq"');
    if (!token) throw unauthorized(`Send an access token: Authorization: Bearer <token> (see /fhir/.well-known/smart-configuration)`);
    let claims: AccessClaims;
    try {
      claims = await verifyToken(token);
    } catch (error) {
      if (error instanceof AccessTokenError) throw unauthorized(`The access token is not valid, has expired or was revoked`, 'invalid-token');
      throw error;
    }
    const purposeOfUse = request.headers['x-purpose-of-use'];
    const onBehalfOf = request.headers['x-on-behalf-of'];
    reply.removeHeader('www-authenticate');
    request.accessContext = await accessContextFromClaims(db, claims, {
      ...(typeof purposeOfUse === 'string' ? { purposeOfUse } : {}),
      ...(typeof onBehalfOf === 'string' ? { onBehalfOf } : {}),
      address: request.ip,
    });
    if (!audit) request.accessContext.auditOff = true;
  };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const { fhirRequest, accepted } = toFhirRequest(request);
    const baseUrl = config.publicBaseUrl ?? `${request.protocol}://${request.host}/fhir`;
    const access: AccessContext = request.accessContext ?? ANONYMOUS_CONTEXT;
    const context: InteractionContext = { repo: new Repository(db, accessPolicy(access)), access, baseUrl, maxBundleEntries: config.maxBundleEntries };
    const { route, params } = findRoute(fhirRequest);
    const offered = [FHIR_JSON_TYPE, ...(route.produces ?? [])];
    const mediaType = preferredMediaType(accepted, offered);
    if (route.negotiates) fhirRequest.accept = accepted ?? '*/*';
    else if (!mediaType) throw notAcceptable(`This answers ${offered.join(' or ')}, not ${accepted}`);
    if (mediaType) fhirRequest.mediaType = mediaType;
    const response = await route.handler(fhirRequest, params, context);
    return send(reply, fhirRequest, response, baseUrl);
  };
  // Before the routes and the web app's plugin: a route keeps the error handler of when it was
  // registered, so one set after an awaited register would leave /fhir answering Fastify's own JSON.
  app.setErrorHandler<FastifyError>((error, request, reply) => {
    if (isFhirError(error)) return sendError(reply, error);
    const { statusCode: status, code } = error;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, payloadTooLarge(`The request body is larger than ${config.bodyLimit} bytes`));
    // Fastify refuses a body with an empty Content-Type before parseBody can say what to send.
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, unsupportedMediaType(`Send FHIR JSON (application/fhir+json), not a body without Content-Type`));
    // A plugin's or Fastify's own refusal: its status, under the catalogue's code for it.
    if (status && status >= 400 && status < 500) return sendError(reply, new FhirError(status, fhirError(codeOfStatus(status), error.message).outcome));
    // Name, SQLSTATE and frames only: a message can quote the data that failed (a value, a name).
    const { name, code: sqlstate, stack } = error;
    request.log.error({ err: { name, code: sqlstate, frames: stack?.split('\n').slice(1, 8).join('\n') } }, 'unexpected error');
    return sendError(reply, fhirError('internal-error', 'Internal server error'));
  });
  app.route({ method: [...METHODS], url: '/fhir', preValidation: authenticate, handler, exposeHeadRoute: false });
  app.route({ method: [...METHODS], url: '/fhir/*', preValidation: authenticate, handler, exposeHeadRoute: false });
  if (imaging) await app.register(dicomWeb({ db, store: imaging.store, authenticate, ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}) }));

  const webAppPage = webRoot ? await registerWebApp(app, webRoot) : undefined;
  app.setNotFoundHandler((request, reply) => {
    if (webAppPage?.(request, reply)) return;
    sendError(reply, notFound(`Nothing at ${request.method} ${request.url.split('?')[0]}`, 'unknown-route'));
  });

  // SMART Health Links (src/passport/share-links.ts): outside /fhir and without a token, the link
  // being the credential; answered in the SHL spec's forms (JSON errors, the JWE as application/jose).
  const origin = (request: FastifyRequest) => (config.publicBaseUrl ? new URL(config.publicBaseUrl).origin : `${request.protocol}://${request.host}`);
  const holder = (request: FastifyRequest, link: string) => (recipient?: string) =>
    new Repository(db, shareLinkAccess({ link, address: request.ip, ...(recipient ? { recipient } : {}) }));
  const sendShareLink = (reply: FastifyReply, response: ShareLinkResponse) =>
    reply.status(response.status).headers(response.headers ?? {}).header('content-type', response.contentType).send(response.body);
  await app.register(async (links) => {
    links.setErrorHandler<FastifyError>((error, request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) request.log.error({ err: { name: error.name, code: error.code } }, 'unexpected error');
      const description = status === 500 ? 'Internal server error' : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'The request body is too large' : 'Send a JSON body as application/json';
      return reply.status(status).header('content-type', 'application/json').send(JSON.stringify({ error: status === 500 ? 'server_error' : 'invalid_request', error_description: description }));
    });
    links.post<{ Params: { id: string } }>('/shl/:id', async (request, reply) =>
      sendShareLink(reply, await shareLinkManifest(request.params.id, { body: request.body as string | undefined, origin: origin(request) }, holder(request, request.params.id))),
    );
    // No HEAD: opening a link records a use (and uses up a single-use one).
    links.get<{ Params: { id: string }; Querystring: { recipient?: string } }>('/shl/:id', { exposeHeadRoute: false }, async (request, reply) =>
      sendShareLink(reply, await shareLinkDirectFile(request.params.id, typeof request.query.recipient === 'string' ? request.query.recipient : undefined, holder(request, request.params.id))),
    );
    links.get<{ Params: { id: string; token: string } }>('/shl/:id/file/:token', { exposeHeadRoute: false }, async (request, reply) =>
      sendShareLink(reply, await shareLinkFile(request.params.id, request.params.token, holder(request, request.params.id))),
    );
  });
  return app;
}

function codeOfStatus(status: number): ErrorCode {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).find((code) => ERROR_CODES[code].status === status) ?? 'invalid-request';
}

/** The request for the handlers, and the media types the client accepts (`_format` when given, else Accept). */
function toFhirRequest(request: FastifyRequest): { fhirRequest: FhirRequest; accepted: string | undefined } {
  const url = request.url;
  const mark = url.indexOf('?');
  const rawPath = mark < 0 ? url : url.slice(0, mark);
  const path = rawPath.replace(/^\/fhir\/?/, '').replace(/\/$/, '');
  const query = mark < 0 ? [] : [...new URLSearchParams(url.slice(mark + 1))];
  const headers = request.headers;
  const header = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const fhirRequest: FhirRequest = {
    method: request.method as FhirRequest['method'],
    path,
    query: query.filter(([k]) => k !== '_format' && k !== '_pretty'),
    headers: {
      ifMatch: header('if-match'),
      ifNoneExist: header('if-none-exist'),
      ifNoneMatch: header('if-none-match'),
      ifModifiedSince: header('if-modified-since'),
      prefer: header('prefer'),
      contentType: header('content-type'),
      acceptLanguage: header('accept-language'),
    },
    body: parseBody(request),
  };
  return { fhirRequest, accepted: acceptedTypes(query.find(([k]) => k === '_format')?.[1], header('accept')) };
}

function parseBody(request: FastifyRequest): unknown {
  const body = request.body as string | undefined;
  if (body === undefined || body === '') return undefined;
  const type = request.headers['content-type'] ?? '';
  if (JSON_TYPES.test(type)) return parseFhirJson(body);
  if (FORM_TYPE.test(type) || NDJSON_TYPE.test(type)) return body;
  throw unsupportedMediaType(`Send FHIR JSON (application/fhir+json), not ${type || 'a body without Content-Type'}`);
}

function send(reply: FastifyReply, request: FhirRequest, response: FhirResponse, baseUrl: string) {
  const url = reply.request.url;
  const pretty = url.includes('_pretty=true') && /[?&]_pretty=true(&|$)/.test(url);
  const { stored } = response;
  reply.status(response.status).header('content-type', response.contentType ?? FHIR_JSON);
  for (const [name, value] of Object.entries(response.headers ?? {})) reply.header(name, value);
  if (stored && !stored.deleted) {
    reply.header('etag', etag(stored)).header('last-modified', new Date(stored.lastUpdated).toUTCString());
    if (response.status === 201) reply.header('location', `${baseUrl}/${stored.resourceType}/${stored.id}/_history/${stored.versionId}`);
  }
  if (response.status === 304) return reply.removeHeader('content-type').send();
  if (request.method === 'HEAD') return reply.send();
  if (response.body === '') return reply.removeHeader('content-type').send();
  // A FHIR resource served as prepared text (the CapabilityStatement) is pretty-printed on request like any other.
  if (typeof response.body === 'string' && pretty && !response.contentType) return reply.send(prettyJson(response.body));
  if (response.gzipped) {
    reply.header('vary', 'accept-encoding');
    if (acceptsGzip(reply.request.headers['accept-encoding'])) return reply.header('content-encoding', 'gzip').send(response.gzipped);
  }
  if (response.body !== undefined) return reply.send(response.body);
  const prefer = request.headers.prefer ?? '';
  const writes = request.method !== 'GET' && !!stored;
  if (writes && /return=minimal/.test(prefer)) return reply.send();
  if ((writes || response.status === 204) && /return=OperationOutcome/.test(prefer)) {
    return reply.status(response.status === 204 ? 200 : response.status).send(serialize(allOk(`${request.method} ${request.path}: ${response.status}`), pretty));
  }
  if (response.status === 204) return reply.removeHeader('content-type').send();
  const { resource } = response;
  // A large Bundle (a page of $everything) goes out piece by piece, never as one more copy of itself.
  if (resource?.resourceType === 'Bundle' && !pretty && (resource.entry?.length ?? 0) > STREAMED_ENTRIES) return reply.send(Readable.from(bundleChunks(resource), { objectMode: false }));
  if (resource) return reply.send(serialize(resource, pretty));
  if (stored) return reply.send(pretty ? prettyJson(stored.json) : stored.json);
  return reply.send();
}

/** Whether an Accept-Encoding header admits gzip (RFC 9110 section 12.5.3: `gzip;q=0` refuses it). */
function acceptsGzip(header: string | undefined): boolean {
  return (header ?? '').split(',').some((part) => {
    const [coding, ...parameters] = part.trim().toLowerCase().split(';');
    const q = parameters.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return (coding === 'gzip' || coding === 'x-gzip' || coding === '*') && (q === undefined || Number(q.slice(2)) > 0);
  });
}

function sendError(reply: FastifyReply, error: FhirError) {
  return reply.status(error.status).header('content-type', FHIR_JSON).send(serialize(error.outcome as Resource));
}
