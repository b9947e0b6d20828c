import { randomBytes, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { SqlClient } from '../store/driver.js';
import { parseScopes } from './scopes.js';

/**
 * The client registry: every app and every vendor system that may ask for tokens.
 *
 * - public apps (`token_endpoint_auth_method: none`): browser and mobile SMART apps, PKCE only;
 * - confidential symmetric (`client_secret_basic` / `client_secret_post`): a generated secret,
 *   shown once at registration;
 * - confidential asymmetric (`private_key_jwt`): a JWKS (inline `jwks` or `jwks_uri`) and an
 *   RS384 or ES384 assertion, as SMART Backend Services require
 *   (https://hl7.org/fhir/smart-app-launch/backend-services.html). A system using the
 *   `client_credentials` grant must be asymmetric and acts for exactly one `organization`.
 *
 * The registration's `scope` is the allow-list: a request may ask for any scope it covers
 * (`patient/*.rs` covers `patient/Observation.read`).
 */
export interface ClientRegistration {
  client_id?: string;
  client_name?: string;
  redirect_uris?: string[];
  grant_types?: string[];
  token_endpoint_auth_method?: 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  token_endpoint_auth_signing_alg?: 'RS384' | 'ES384';
  jwks?: { keys: JWK[] };
  jwks_uri?: string;
  scope?: string;
  /** The Organization id the client acts for. */
  organization?: string;
  /** SMART `launch_uri` for EHR launch, informational. */
  launch_uri?: string;
}

export interface RegisteredClient extends ClientRegistration {
  client_id: string;
  /** Present only in the response to the registration that generated it. */
  client_secret?: string;
  created_at?: string;
}

export class ClientRegistrationError extends Error {
  readonly status = 400;
}

/** Scopes the authorization server knows by name (besides clinical `patient|user|system/…` scopes). */
export const STATIC_SCOPES = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch', 'launch/patient', 'launch/encounter'];
const ASYMMETRIC_ALGS = new Set(['RS384', 'ES384']);
const AUTH_METHODS = new Set(['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt']);
const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials']);

/** Checks and completes a registration; returns the metadata to store (with a generated secret when one is needed). */
export function normalizeRegistration(input: ClientRegistration): RegisteredClient {
  const fail = (message: string): never => {
    throw new ClientRegistrationError(message);
  };
  if (typeof input !== 'object' || input === null) fail('the body must be a JSON object of client metadata');
  const clientId = input.client_id ?? randomUUID();
  if (!/^[A-Za-z0-9._~-]{1,128}$/.test(clientId)) fail('client_id: 1 to 128 unreserved URL characters');
  const grantTypes = input.grant_types ?? ['authorization_code', 'refresh_token'];
  if (!Array.isArray(grantTypes) || grantTypes.length === 0 || grantTypes.some((g) => !GRANT_TYPES.has(g))) {
    fail(`grant_types: a non-empty list of ${[...GRANT_TYPES].join(', ')}`);
  }
  const backend = grantTypes.includes('client_credentials');
  const interactive = grantTypes.includes('authorization_code');
  if (grantTypes.includes('refresh_token') && !interactive) fail('refresh_token needs authorization_code');
  const method = input.token_endpoint_auth_method ?? (backend || input.jwks || input.jwks_uri ? 'private_key_jwt' : 'none');
  if (!AUTH_METHODS.has(method)) fail(`token_endpoint_auth_method: one of ${[...AUTH_METHODS].join(', ')}`);
  if (backend && method !== 'private_key_jwt') fail('a client_credentials (backend services) client authenticates with private_key_jwt');
  if (backend && !input.organization) fail('a client_credentials (backend services) client acts for one organization: give its id');
  const redirectUris = input.redirect_uris ?? [];
  if (interactive && (!Array.isArray(redirectUris) || redirectUris.length === 0)) fail('redirect_uris: at least one for authorization_code');
  for (const uri of redirectUris) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(uri);
    } catch {
      fail(`redirect_uris: ${JSON.stringify(uri)} is not an absolute URL`);
    }
    if (parsed!.hash) fail('redirect_uris must not have a fragment');
  }
  const result: RegisteredClient = {
    client_id: clientId,
    ...(input.client_name ? { client_name: String(input.client_name) } : {}),
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    token_endpoint_auth_method: method,
    ...(input.organization ? { organization: String(input.organization) } : {}),
    ...(input.launch_uri ? { launch_uri: String(input.launch_uri) } : {}),
  };
  if (method === 'private_key_jwt') {
    const alg = input.token_endpoint_auth_signing_alg;
    if (!alg || !ASYMMETRIC_ALGS.has(alg)) fail('token_endpoint_auth_signing_alg: RS384 or ES384 for private_key_jwt');
    if (!!input.jwks === !!input.jwks_uri) fail('give exactly one of jwks or jwks_uri');
    if (input.jwks) {
      if (!Array.isArray(input.jwks.keys) || input.jwks.keys.length === 0) fail('jwks: { keys: [...] } with at least one public key');
      for (const key of input.jwks.keys) {
        if (key.d || key.k || key.p) fail('jwks must hold public keys only');
      }
      result.jwks = { keys: input.jwks.keys };
    } else {
      result.jwks_uri = String(input.jwks_uri);
    }
    result.token_endpoint_auth_signing_alg = alg;
  } else if (method !== 'none') {
    result.client_secret = randomBytes(32).toString('base64url');
  }
  if (input.scope !== undefined) {
    if (typeof input.scope !== 'string') fail('scope: a space-separated string');
    const tokens = input.scope.split(/\s+/).filter(Boolean);
    const parsed = parseScopes(input.scope);
    if (parsed.length !== new Set(tokens).size) fail('scope holds a malformed SMART scope');
    const unknown = parsed.filter((s) => s.kind === 'other');
    if (unknown.length) fail(`scope: unknown scope ${unknown.map((s) => s.raw).join(', ')}`);
    if (backend && parsed.some((s) => s.kind === 'resource' && s.context !== 'system')) fail('a backend services client asks only for system/ scopes');
    result.scope = [...new Set(tokens)].join(' ');
  }
  return result;
}

/** Registers a client; the returned object carries the generated secret, if any, for this once. */
export async function addClient(db: SqlClient, metadata: ClientRegistration, validate?: (metadata: Record<string, unknown>) => Promise<void>): Promise<RegisteredClient> {
  const client = normalizeRegistration(metadata);
  if (validate) await validate(providerMetadata(client) as Record<string, unknown>);
  try {
    await db.query(`INSERT INTO oauth_client (client_id, metadata, organization) VALUES ($1, $2::jsonb, $3)`, [
      client.client_id,
      JSON.stringify(client),
      client.organization ?? null,
    ]);
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new ClientRegistrationError(`client_id ${client.client_id} is already registered`);
    throw error;
  }
  return client;
}

/** The stored registration without its secret. */
export async function getClient(db: SqlClient, clientId: string): Promise<RegisteredClient | undefined> {
  const rows = await db.query<{ metadata: RegisteredClient | string; created_at: Date | string }>(`SELECT metadata, created_at FROM oauth_client WHERE client_id = $1`, [clientId]);
  return rows[0] && publicView(rows[0]);
}

export async function listClients(db: SqlClient): Promise<RegisteredClient[]> {
  const rows = await db.query<{ metadata: RegisteredClient | string; created_at: Date | string }>(`SELECT metadata, created_at FROM oauth_client ORDER BY created_at, client_id`);
  return rows.map(publicView);
}

export async function removeClient(db: SqlClient, clientId: string): Promise<boolean> {
  const rows = await db.query(`DELETE FROM oauth_client WHERE client_id = $1 RETURNING client_id`, [clientId]);
  return rows.length > 0;
}

/** Client metadata as oidc-provider reads it: its `scope` holds only the scopes it knows by name, the full allow-list goes in `allowed_scope`. */
export function providerMetadata(client: RegisteredClient): Record<string, unknown> {
  const { scope, launch_uri: _launchUri, created_at: _created, ...rest } = client;
  const grantTypes = client.grant_types ?? [];
  const metadata: Record<string, unknown> = {
    ...rest,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
  };
  if (scope !== undefined) {
    metadata.allowed_scope = scope;
    const statics = scope.split(' ').filter((s) => STATIC_SCOPES.includes(s));
    if (statics.length) metadata.scope = statics.join(' ');
  }
  return metadata;
}

function publicView(row: { metadata: RegisteredClient | string; created_at: Date | string }): RegisteredClient {
  const metadata = typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as RegisteredClient) : row.metadata;
  const { client_secret: _secret, ...rest } = metadata;
  return { ...rest, created_at: new Date(row.created_at).toISOString() };
}
