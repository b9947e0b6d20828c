import { randomBytes } from 'node:crypto';
import { SignJWT, createLocalJWKSet, errors as joseErrors, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Database, SqlClient } from '../store/driver.js';
import { accessFacts, forgetAccessFacts } from './access-cache.js';
import { deleteRecord, getRecord, putRecord } from './adapter.js';
import { ClientNotApprovedError, tokenRefusal } from './clients.js';
import { ROLES, findUserByUsername, type Role } from './users.js';
import { ensureServerKeys, loadServerKeys, publicJwk } from './keys.js';
import { parseScopes, type Scope } from './scopes.js';

/**
 * What the FHIR API learns from a verified access token (a JWT, RFC 9068 `at+jwt`).
 * `fhirUser` is the relative reference of the signed-in user's resource (`Practitioner/9`);
 * the ID token carries the absolute URL, as SMART asks.
 */
export interface AccessClaims {
  iss: string;
  aud: string | string[];
  /** The user's account id, or the client id for a backend services token. */
  sub: string;
  client_id: string;
  /** Space-separated granted scopes, as issued. */
  scope: string;
  /** The same scopes parsed (v1 forms mapped to v2). */
  scopes: Scope[];
  /** `system` for backend services tokens. */
  role: Role | 'system';
  fhirUser?: string;
  /** Launch context: the Patient id in context. */
  patient?: string;
  /** Launch context: the Encounter id in context. */
  encounter?: string;
  /** The Organization id the user or system acts for. */
  organization?: string;
  region?: string;
  iat: number;
  exp: number;
  jti: string;
}

export class AccessTokenError extends Error {
  readonly code = 'invalid_token';
}

/** Kind of the `oauth_payload` rows recording live JWT access tokens; revocation deletes them. */
const ISSUED_ACCESS_TOKEN = 'IssuedAccessToken';

/**
 * Revokes the JWT access token `jti` (RFC 7009): its record is deleted, and this process stops
 * serving it from memory at once; the others hear of it by notification. True when it was on record.
 */
export async function revokeAccessToken(db: SqlClient, jti: string): Promise<boolean> {
  const revoked = await deleteRecord(db, ISSUED_ACCESS_TOKEN, jti);
  forgetAccessFacts(db, jti);
  return revoked;
}

/**
 * Records a freshly issued JWT access token, bound to its grant so that revoking the grant revokes
 * it, and naming its client so that revoking the client's registration revokes it too.
 */
export async function recordIssuedAccessToken(db: SqlClient, jti: string, exp: number, clientId: string, grantId?: string): Promise<void> {
  await putRecord(db, ISSUED_ACCESS_TOKEN, jti, { exp, clientId }, exp - Math.floor(Date.now() / 1000), grantId);
}

export interface VerifierOptions {
  db: Database;
  issuer: string;
  /** The FHIR base URL, the tokens' audience. */
  audience: string;
  /**
   * Also require the token to be on record as not revoked (from memory, see access-cache.ts).
   * Default true; false verifies the signature and claims only.
   */
  checkRevocation?: boolean;
}

/**
 * Verifies access tokens locally against the authorization server's keys in the database:
 * signature (RS256/ES256), `typ: at+jwt`, issuer, audience, expiry, then revocation.
 */
export function createAccessTokenVerifier(options: VerifierOptions): (token: string) => Promise<AccessClaims> {
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  let kids = new Set<string>();
  let loadedAt = 0;
  const load = async (force: boolean) => {
    if (keySet && !force) return keySet;
    if (force && Date.now() - loadedAt < 10_000 && keySet) return keySet;
    const keys = await ensureServerKeys(options.db);
    const publicKeys = keys.signing.map(publicJwk);
    keySet = createLocalJWKSet({ keys: publicKeys });
    kids = new Set(publicKeys.map((k) => k.kid!));
    loadedAt = Date.now();
    return keySet;
  };
  const verifyJwt = async (token: string): Promise<AccessClaims> => {
    if (typeof token !== 'string' || token.split('.').length !== 3) throw new AccessTokenError('not a JWT access token');
    let payload: JWTPayload;
    try {
      const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid?: string };
      const set = await load(!!header.kid && !kids.has(header.kid));
      ({ payload } = await jwtVerify(token, set, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['RS256', 'ES256'],
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JOSEError || error instanceof SyntaxError) throw new AccessTokenError(`the access token is not valid (${(error as Error).message})`);
      throw error;
    }
    return toAccessClaims(payload);
  };
  // A token's signature and claims do not change: checked once, its claims are kept by the token
  // text (unforgeable) until it expires; revocation is asked on every request.
  const verified = new Map<string, AccessClaims>();
  return async (token: string) => {
    let claims = verified.get(token);
    if (!claims || claims.exp * 1000 <= Date.now()) {
      verified.delete(token);
      claims = await verifyJwt(token);
      if (verified.size >= MAX_VERIFIED_TOKENS) verified.clear();
      verified.set(token, claims);
    }
    const { jti } = claims;
    const onRecord = async () => (await getRecord(options.db, ISSUED_ACCESS_TOKEN, jti)) !== undefined;
    if (options.checkRevocation !== false && !(await accessFacts(options.db).tokenLive(jti, onRecord))) {
      throw new AccessTokenError('the access token was revoked');
    }
    return claims;
  };
}

/** Verified tokens whose claims are kept; past it the map starts over. */
const MAX_VERIFIED_TOKENS = 10_000;

/** A role a token may carry: an account's, or `system` for a backend services client. */
function isTokenRole(value: string): value is AccessClaims['role'] {
  return value === 'system' || (ROLES as readonly string[]).includes(value);
}

/** The claims of a verified payload (jwtVerify checked exp, iat, jti, sub and client_id are present); a malformed one is refused. */
function toAccessClaims(payload: JWTPayload): AccessClaims {
  const text = (name: string): string | undefined => {
    const value = payload[name];
    return typeof value === 'string' ? value : undefined;
  };
  const { iss, aud, sub, iat, exp, jti } = payload;
  const clientId = text('client_id');
  const role = text('role') ?? 'system';
  if (iss === undefined || aud === undefined || sub === undefined || iat === undefined || exp === undefined || jti === undefined || clientId === undefined) {
    throw new AccessTokenError('the access token lacks a required claim');
  }
  if (!isTokenRole(role)) throw new AccessTokenError(`the access token names no known role`);
  const scope = text('scope') ?? '';
  const claims: AccessClaims = { iss, aud, sub, client_id: clientId, scope, scopes: parseScopes(scope), role, iat, exp, jti };
  for (const name of ['fhirUser', 'patient', 'encounter', 'organization', 'region'] as const) {
    const value = text(name);
    if (value !== undefined) claims[name] = value;
  }
  return claims;
}

export interface MintOptions {
  issuer: string;
  /** The FHIR base URL. */
  fhirBaseUrl: string;
  /** Lifetime in seconds; default one hour. */
  ttlSeconds?: number;
}

type MintClaims = Omit<AccessClaims, 'iss' | 'aud' | 'iat' | 'exp' | 'jti' | 'scopes'>;

/** Signs an access token with the server's RS256 key, exactly as the token endpoint would, and records it. */
export async function mintAccessToken(db: Database, claims: MintClaims, options: MintOptions): Promise<{ access_token: string; expires_in: number; claims: AccessClaims }> {
  const keys = await ensureServerKeys(db);
  const jwk = keys.signing.find((k) => k.alg === 'RS256')!;
  const key = await importJWK(jwk as JWK, 'RS256');
  const ttl = options.ttlSeconds ?? 3600;
  const now = Math.floor(Date.now() / 1000);
  const jti = randomBytes(24).toString('base64url');
  const body: Record<string, unknown> = { ...claims };
  for (const [name, value] of Object.entries(body)) if (value === undefined) delete body[name];
  const token = await new SignJWT(body)
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: jwk.kid })
    .setIssuer(options.issuer)
    .setAudience(options.fhirBaseUrl)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .setJti(jti)
    .sign(key);
  await recordIssuedAccessToken(db, jti, now + ttl, claims.client_id);
  return {
    access_token: token,
    expires_in: ttl,
    claims: { ...claims, iss: options.issuer, aud: options.fhirBaseUrl, iat: now, exp: now + ttl, jti, scopes: parseScopes(claims.scope) },
  };
}

/** The client id written into tokens minted by the CLI (`densaulyq token`). */
export const CLI_CLIENT_ID = 'densaulyq-cli';

/** `densaulyq token --user NAME`: a token for a local account, for scripts and tests. */
export async function issueTokenForUser(db: Database, username: string, scope: string, options: MintOptions): Promise<string> {
  const user = await findUserByUsername(db, username);
  if (!user) throw new Error(`no user named ${username}`);
  const patient = user.role === 'citizen' && user.fhirUser?.startsWith('Patient/') ? user.fhirUser.slice('Patient/'.length) : undefined;
  const { access_token } = await mintAccessToken(
    db,
    {
      sub: user.id,
      client_id: CLI_CLIENT_ID,
      scope,
      role: user.role,
      fhirUser: user.fhirUser,
      patient,
      organization: user.organization,
      region: user.region,
    },
    options,
  );
  return access_token;
}

/**
 * `densaulyq token --client ID`: a backend services token for a registered client, for scripts and
 * tests; refused (ClientNotApprovedError) while the client's organization has not approved it.
 */
export async function issueTokenForClient(db: Database, clientId: string, scope: string, options: MintOptions): Promise<string> {
  const rows = await db.query<{ organization: string | null }>(`SELECT organization FROM oauth_client WHERE client_id = $1`, [clientId]);
  if (!rows[0]) throw new Error(`no client ${clientId}`);
  const refusal = await tokenRefusal(db, clientId);
  if (refusal) throw new ClientNotApprovedError(refusal);
  const { access_token } = await mintAccessToken(
    db,
    { sub: clientId, client_id: clientId, scope, role: 'system', organization: rows[0].organization ?? undefined },
    { ttlSeconds: 300, ...options },
  );
  return access_token;
}

/** The public JWKS (for `jwks_uri` consumers that are not the provider itself). */
export async function publicJwks(db: Database): Promise<{ keys: JWK[] }> {
  const keys = await loadServerKeys(db);
  return { keys: keys.signing.map(publicJwk) };
}
