import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { authorizationServer, type AuthorizationServerOptions, type AuthorizationServerPlugin } from '../../src/access/server.js';
import { issueTokenForUser } from '../../src/access/tokens.js';
import { addUser, findUserByUsername } from '../../src/access/users.js';
import { buildApp } from '../../src/http/app.js';
import type { Database } from '../../src/store/driver.js';
import type { TestDriver } from '../support/database.js';

export const ADMIN_SECRET = 'test-admin-secret-0123456789';

export interface AuthServer {
  app: FastifyInstance;
  db: Database;
  origin: string;
  issuer: string;
  fhirBase: string;
  plugin: AuthorizationServerPlugin;
  close(): Promise<void>;
}

/** A loopback port nobody listens on now (the issuer must be known before the server starts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startAuthServer(
  driver: TestDriver,
  options: Partial<Omit<AuthorizationServerOptions, 'db' | 'issuer' | 'fhirBaseUrl'>> & { port?: number; withFhirApi?: boolean } = {},
): Promise<AuthServer> {
  const { port: wanted, withFhirApi, ...serverOptions } = options;
  const db = await driver.open();
  const port = wanted ?? (await freePort());
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}/auth`;
  const fhirBase = `${origin}/fhir`;
  const plugin = await authorizationServer({ db, issuer, fhirBaseUrl: fhirBase, adminSecret: ADMIN_SECRET, ...serverOptions });
  // With the FHIR API, the whole server as `npm start` builds it: sign-in and data on one port.
  const app = withFhirApi
    ? await buildApp({ db, config: { bodyLimit: 1 << 20, maxBundleEntries: 100 }, authorization: plugin, verifyToken: plugin.verifyAccessToken })
    : Fastify({ logger: false });
  if (!withFhirApi) await app.register(plugin);
  await app.listen({ port, host: '127.0.0.1' });
  return {
    app,
    db,
    origin,
    issuer,
    fhirBase,
    plugin,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

interface StoredCookie {
  host: string;
  name: string;
  value: string;
  path: string;
}

/** A user agent: keeps cookies (by name and path), never follows redirects by itself. */
export class Browser {
  private cookies: StoredCookie[] = [];
  constructor(private readonly acceptLanguage = 'en') {}

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const cookie = this.cookies
      .filter((c) => c.host === target.host)
      .filter((c) => target.pathname === c.path || target.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', cookie);
    if (!headers.has('accept-language')) headers.set('accept-language', this.acceptLanguage);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) this.store(line, target);
    return response;
  }

  private store(line: string, target: URL): void {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const value = pair!.slice(eq + 1);
    let path = target.pathname.replace(/\/[^/]*$/, '') || '/';
    let expired = false;
    for (const attribute of attributes) {
      const [key, val] = attribute.split('=');
      const lower = key!.toLowerCase();
      if (lower === 'path') path = val ?? '/';
      if (lower === 'expires' && val && Date.parse(val) < Date.now()) expired = true;
      if (lower === 'max-age' && Number(val) <= 0) expired = true;
    }
    this.cookies = this.cookies.filter((c) => !(c.host === target.host && c.name === name && c.path === path));
    if (!expired && value) this.cookies.push({ host: target.host, name, value, path });
  }

  /** Follows redirects (303/302) until one leaves for `stopAt` or a page is rendered. */
  async follow(response: Response, stopAt: string): Promise<{ response: Response; url: string }> {
    let current = response;
    let url = current.url;
    for (let hops = 0; hops < 10; hops++) {
      if (current.status < 300 || current.status >= 400) return { response: current, url };
      const location = new URL(current.headers.get('location')!, url).toString();
      if (location.startsWith(stopAt)) return { response: current, url: location };
      url = location;
      current = await this.fetch(location);
    }
    throw new Error('too many redirects');
  }
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function form(fields: Record<string, string | string[]>): RequestInit {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() };
}

/** The scope checkboxes offered on a consent page. */
export function offeredScopes(html: string): string[] {
  return [...html.matchAll(/name="scope" value="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"'));
}

export function formAction(html: string): string {
  const match = /<form method="post" action="([^"]+)"/.exec(html);
  if (!match) throw new Error(`no form in page: ${html.slice(0, 300)}`);
  return match[1]!.replace(/&amp;/g, '&');
}

export function decodeJwt(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

export const REDIRECT_URI = 'http://127.0.0.1:1/callback';

export interface AuthorizeRun {
  browser: Browser;
  verifier: string;
  code?: string;
  redirect: URL;
}

/** The authorization request of a SMART app with PKCE (S256), to this server's FHIR base by default. */
export function authorizeUrl(
  server: AuthServer,
  params: { clientId: string; scope: string; challenge: string; launch?: string; aud?: string; uiLocales?: string },
): string {
  const url = new URL(`${server.issuer}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: params.clientId,
    redirect_uri: REDIRECT_URI,
    scope: params.scope,
    state: 'state-123',
    aud: params.aud ?? server.fhirBase,
    code_challenge: params.challenge,
    code_challenge_method: 'S256',
    ...(params.launch ? { launch: params.launch } : {}),
    ...(params.uiLocales ? { ui_locales: params.uiLocales } : {}),
  }).toString();
  return url.toString();
}

/**
 * Drives an authorization code flow in a browser: authorize, sign in, consent, back to the
 * app's redirect URI. `consent` may change the form before it is sent.
 */
export async function authorize(
  server: AuthServer,
  params: { clientId: string; scope: string; username: string; password: string; launch?: string; aud?: string; uiLocales?: string },
  consent: (html: string, fields: Record<string, string | string[]>) => void = () => {},
  browser = new Browser(),
): Promise<AuthorizeRun> {
  const { verifier, challenge } = pkce();
  const url = authorizeUrl(server, { ...params, challenge });
  let step = await browser.follow(await browser.fetch(url), REDIRECT_URI);
  if (step.url.startsWith(REDIRECT_URI)) return { browser, verifier, redirect: new URL(step.url) };
  let html = await step.response.text();
  const login = await browser.fetch(new URL(formAction(html), server.origin).toString(), form({ username: params.username, password: params.password }));
  step = await browser.follow(login, REDIRECT_URI);
  if (step.url.startsWith(REDIRECT_URI)) return { browser, verifier, redirect: new URL(step.url) };
  html = await step.response.text();
  if (step.response.status !== 200 || !html.includes('name="decision"')) throw new Error(`expected the consent page, got ${step.response.status}: ${html.slice(0, 500)}`);
  const fields: Record<string, string | string[]> = { decision: 'allow', scope: offeredScopes(html) };
  consent(html, fields);
  const decided = await browser.fetch(new URL(formAction(html), server.origin).toString(), form(fields));
  step = await browser.follow(decided, REDIRECT_URI);
  if (!step.url.startsWith(REDIRECT_URI)) throw new Error(`expected a redirect to the app, got ${step.response.status}: ${(await step.response.text()).slice(0, 500)}`);
  const redirect = new URL(step.url);
  return { browser, verifier, redirect, code: redirect.searchParams.get('code') ?? undefined };
}

export async function tokenRequest(server: AuthServer, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, body: await response.json() };
}

/** A token of the organization's own administrator (an account made for it on first use). */
export async function organizationAdministratorToken(server: AuthServer, organization: string): Promise<string> {
  const username = `administrator-of-${organization}`;
  if (!(await findUserByUsername(server.db, username))) await addUser(server.db, { username, role: 'organization-administrator', organization });
  return issueTokenForUser(server.db, username, 'user/*.cruds', { issuer: server.issuer, fhirBaseUrl: server.fhirBase });
}

/** Approves a client as its organization's administrator does, through the admin API. */
export async function approveClient(server: AuthServer, clientId: string, organization: string): Promise<void> {
  const token = await organizationAdministratorToken(server, organization);
  const response = await fetch(`${server.issuer}/admin/clients/${encodeURIComponent(clientId)}/approve`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, await response.text());
}
