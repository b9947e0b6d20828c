import type { FastifyInstance } from 'fastify';
import { addUser } from '../../src/access/users.js';
import { type AccessClaims, createAccessTokenVerifier, mintAccessToken } from '../../src/access/tokens.js';
import { buildApp } from '../../src/http/app.js';
import type { ObjectStore } from '../../src/imaging/object-store.js';
import type { Database } from '../../src/store/driver.js';
import type { TestDriver } from './database.js';

export interface FhirReply {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when there was none. */
  body: any;
  text: string;
}

/** The issuer and audience of test tokens: fixed, since the port is known only after listening. */
export const TEST_ISSUER = 'http://densaulyq.test/auth';
export const TEST_AUDIENCE = 'http://densaulyq.test/fhir';
export const NO_RATE_LIMITS = { perIp: 0, perClient: 0, login: 0, shareLinks: 0 };

export type TokenClaims = Omit<AccessClaims, 'iss' | 'aud' | 'iat' | 'exp' | 'jti' | 'scopes' | 'client_id'> & { client_id?: string };

export interface TestServer {
  app: FastifyInstance;
  db: Database;
  base: string;
  /**
   * Sends a request to the FHIR API over a real socket; objects are sent as FHIR JSON. Without an
   * `authorization` header it carries the token of an administrator granted clinical access (who
   * sees everything, audited); pass `authorization: ''` to send none.
   */
  fhir(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<FhirReply>;
  /** The `client|subject` of the default token: the owner of what its requests start (export jobs). */
  defaultOwner: string;
  /** An access token, signed by the server's keys, carrying these claims. */
  token(claims: TokenClaims): Promise<string>;
  close(): Promise<void>;
}

/** The FHIR API on a fresh database of `driver`'s kind, listening on a free loopback port. */
export async function startTestServer(driver: TestDriver, options: { bodyLimit?: number; maxBundleEntries?: number; imaging?: { store: ObjectStore } } = {}): Promise<TestServer> {
  const db = await driver.open();
  const app = await buildApp({
    db,
    config: { bodyLimit: options.bodyLimit ?? 64 * 1024 * 1024, maxBundleEntries: options.maxBundleEntries ?? 20_000 },
    verifyToken: createAccessTokenVerifier({ db, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
    // Suites send thousands of requests a minute from one address; test/http/hardening.test.ts tests the limits.
    hardening: { rateLimits: NO_RATE_LIMITS, corsOrigins: [] },
    ...(options.imaging ? { imaging: options.imaging } : {}),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `http://127.0.0.1:${port}/fhir`;
  const token = async ({ client_id, ...claims }: TokenClaims) =>
    (await mintAccessToken(db, { client_id: client_id ?? 'test-app', ...claims }, { issuer: TEST_ISSUER, fhirBaseUrl: TEST_AUDIENCE })).access_token;
  const administrator = await addUser(db, { username: `test-administrator-${port}`, role: 'administrator', clinicalAccess: true });
  const defaultToken = await token({ sub: administrator.id, scope: 'user/*.cruds', role: 'administrator' });
  return {
    app,
    db,
    base,
    token,
    defaultOwner: `test-app|${administrator.id}`,
    async fhir(method, path, body, headers = {}) {
      const { authorization = `Bearer ${defaultToken}`, ...rest } = headers;
      const init: RequestInit = { method, headers: { ...rest, ...(authorization ? { authorization } : {}) } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/fhir+json';
      }
      const response = await fetch(`${base}${path.startsWith('/') || path === '' ? path : '/' + path}`, init);
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: jsonOf(text), text };
    },
    async close() {
      await app.close();
      await db.close();
    },
  };
}

/** A response text as JSON, or undefined when it is empty or not JSON (an error page). */
export function jsonOf(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
