import { randomBytes, randomUUID } from 'node:crypto';
import type { JWK } from 'jose';
import type { Database, SqlClient } from '../store/driver.js';
import { forgetAccessFacts } from './access-cache.js';
import { parseScopes } from './scopes.js';
import { findUserByUsername } from './users.js';

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
 *
 * Separation of duties: a client that acts for an organization gets no token until that
 * organization's own administrator approves it (`registration_state`), so the platform
 * administrator, who may register clients, cannot alone open a way into an organization's
 * patients. Every registration, approval, revocation and removal is kept in `oauth_client_event`.
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

/** `approved` for a client acting for no organization; otherwise what its organization decided. */
export type RegistrationState = 'pending' | 'approved' | 'revoked';

export interface RegisteredClient extends ClientRegistration {
  client_id: string;
  /** Present only in the response to the registration that generated it. */
  client_secret?: string;
  created_at?: string;
  registration_state?: RegistrationState;
  /** Who registered it (a username, `admin-secret` or `operator`). */
  registered_by?: string;
  /** The organization administrator who last approved it, and when. */
  approved_by?: string;
  approved_at?: string;
}

/**
 * Who changes the registry, as its events record them: an account (username and role), the
 * bootstrap secret (`admin-secret`, acting as the platform administrator) or the operator at
 * the command line. `via: 'command-line'` with an account marks an approval the operator
 * recorded for that organization administrator (`client add --approved-by`).
 */
export interface RegistryActor {
  name: string;
  role: 'administrator' | 'organization-administrator' | 'operator';
  /** The organization an organization administrator acts for. */
  organization?: string;
  via: 'api' | 'command-line';
}

/** In-process registrations (the command line, seeding, tests) are the operator's. */
export const OPERATOR: RegistryActor = { name: 'operator', role: 'operator', via: 'command-line' };

export type ClientAction = 'register' | 'approve' | 'revoke' | 'remove';

/** One change to a registration. It names the client and the people deciding, nothing about patients. */
export interface ClientEvent {
  client_id: string;
  organization?: string;
  action: ClientAction;
  actor: string;
  actor_role: string;
  via: string;
  recorded: string;
}

export class ClientRegistrationError extends Error {
  readonly status = 400;
}

/** A token refused because the client's organization has not approved it (RFC 6749 §5.2 `unauthorized_client`). */
export class ClientNotApprovedError extends Error {
  readonly error = 'unauthorized_client';
}

/** Scopes the authorization server knows by name (besides clinical `patient|user|system/…` scopes). */
export const STATIC_SCOPES = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch', 'launch/patient', 'launch/encounter'];
/** The kind of key each assertion algorithm SMART Backend Services names is made with. */
const KEY_FITS: Record<string, (key: JWK) => boolean> = {
  RS384: (key) => key.kty === 'RSA',
  ES384: (key) => key.kty === 'EC' && key.crv === 'P-384',
};
const ASYMMETRIC_ALGS = new Set(Object.keys(KEY_FITS));
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
    const keys = Array.isArray(input.jwks?.keys) ? input.jwks.keys : undefined;
    const alg = input.token_endpoint_auth_signing_alg ?? (keys ? signingAlgOf(keys) : undefined);
    if (!alg || !ASYMMETRIC_ALGS.has(alg)) fail('token_endpoint_auth_signing_alg: RS384 or ES384 for private_key_jwt');
    if (!!input.jwks === !!input.jwks_uri) fail('give exactly one of jwks or jwks_uri');
    if (input.jwks) {
      if (!keys || keys.length === 0) fail('jwks: { keys: [...] } with at least one public key');
      for (const key of keys!) {
        if (key.d || key.k || key.p) fail('jwks must hold public keys only');
        if ((key.alg !== undefined && key.alg !== alg) || !KEY_FITS[alg!]!(key)) fail(`jwks: every key must be a ${alg} key (${alg === 'RS384' ? 'RSA' : 'EC P-384'})`);
      }
      result.jwks = { keys: input.jwks.keys };
    } else {
      result.jwks_uri = String(input.jwks_uri);
    }
    result.token_endpoint_auth_signing_alg = alg as 'RS384' | 'ES384';
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

/**
 * The assertion algorithm of a key set registered without `token_endpoint_auth_signing_alg`
 * (`client add --jwks`): the keys' own `alg`, else RS384 for RSA keys and ES384 for P-384 keys,
 * the two SMART Backend Services name. Undefined when the keys disagree.
 */
function signingAlgOf(keys: JWK[]): string | undefined {
  const algs = new Set(keys.map((key) => key.alg ?? [...ASYMMETRIC_ALGS].find((alg) => KEY_FITS[alg]!(key))));
  return algs.size === 1 ? [...algs][0] : undefined;
}

export interface RegistrationOptions {
  /** Who registers; default the operator. */
  registeredBy?: RegistryActor;
  /**
   * The organization's administrator approving in the same act: their own registration over the
   * API, or the one the operator names with `client add --approved-by`.
   */
  approvedBy?: RegistryActor;
  /** Checks the metadata as the token endpoint will read it (oidc-provider's own validation). */
  validate?: (metadata: Record<string, unknown>) => Promise<void>;
}

/**
 * Registers a client; the returned object carries the generated secret, if any, for this once.
 * A client acting for an organization starts `pending` unless that organization's administrator
 * approves it here.
 */
export async function addClient(db: Database, metadata: ClientRegistration, options: RegistrationOptions = {}): Promise<RegisteredClient> {
  const client = normalizeRegistration(metadata);
  if (options.validate) await options.validate(providerMetadata(client));
  const registeredBy = options.registeredBy ?? OPERATOR;
  const { approvedBy } = options;
  if (approvedBy && !(client.organization && isAdministratorOf(approvedBy, client.organization))) {
    throw new ClientRegistrationError(`only an organization administrator of ${client.organization ?? 'its organization'} approves a client acting for it`);
  }
  const state: RegistrationState = !client.organization || approvedBy ? 'approved' : 'pending';
  try {
    const row = await db.transaction(async (tx) => {
      const [inserted] = await tx.query<ClientRow>(
        `INSERT INTO oauth_client (client_id, metadata, organization, registration_state, registered_by, approved_by, approved_at)
         VALUES ($1, $2::jsonb, $3, $4, $5, $6::text, CASE WHEN $6::text IS NULL THEN NULL ELSE now() END) RETURNING ${CLIENT_COLUMNS}`,
        [client.client_id, JSON.stringify(client), client.organization ?? null, state, registeredBy.name, approvedBy?.name ?? null],
      );
      await recordEvent(tx, client.client_id, client.organization, 'register', registeredBy);
      if (approvedBy) await recordEvent(tx, client.client_id, client.organization, 'approve', approvedBy);
      return inserted!;
    });
    return { ...publicView(row), ...(client.client_secret ? { client_secret: client.client_secret } : {}) };
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw new ClientRegistrationError(`client_id ${client.client_id} is already registered`);
    throw error;
  }
}

/**
 * An organization administrator's approval or revocation of a client of their own organization;
 * undefined when their organization has no such client. Revoking deletes the records of the
 * client's tokens, grants and codes, so its access tokens stop working at once (the FHIR API
 * checks that record on every request) and its refresh tokens with them.
 */
export async function decideClient(db: Database, clientId: string, decision: 'approve' | 'revoke', actor: RegistryActor): Promise<RegisteredClient | undefined> {
  if (actor.role !== 'organization-administrator' || !actor.organization) throw new Error('only an organization administrator approves or revokes clients');
  const state: RegistrationState = decision === 'approve' ? 'approved' : 'revoked';
  const decided = await db.transaction(async (tx) => {
    const [current] = await tx.query<ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM oauth_client WHERE client_id = $1 AND organization = $2 FOR UPDATE`, [clientId, actor.organization]);
    if (!current) return undefined;
    if (current.registration_state === state) return publicView(current);
    const [updated] =
      decision === 'approve'
        ? await tx.query<ClientRow>(`UPDATE oauth_client SET registration_state = 'approved', approved_by = $2, approved_at = now() WHERE client_id = $1 RETURNING ${CLIENT_COLUMNS}`, [
            clientId,
            actor.name,
          ])
        : await tx.query<ClientRow>(`UPDATE oauth_client SET registration_state = 'revoked' WHERE client_id = $1 RETURNING ${CLIENT_COLUMNS}`, [clientId]);
    if (decision === 'revoke') await deleteTokensOf(tx, clientId);
    await recordEvent(tx, clientId, actor.organization, decision, actor);
    return publicView(updated!);
  });
  if (decision === 'revoke') forgetAccessFacts(db);
  return decided;
}

/**
 * Keeps a public app the platform itself ships (the citizen app) registered as given: added when
 * missing, registered again when its redirect URI or scopes changed (a new PUBLIC_ORIGIN), else
 * left alone, so each start-up records nothing new.
 */
export async function ensurePublicClient(db: Database, metadata: ClientRegistration & { client_id: string }): Promise<RegisteredClient> {
  const wanted = normalizeRegistration({ ...metadata, token_endpoint_auth_method: 'none' });
  const existing = await getClient(db, wanted.client_id);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (existing && !existing.organization && same(existing.redirect_uris, wanted.redirect_uris) && same(existing.scope, wanted.scope) && same(existing.grant_types, wanted.grant_types)) {
    return existing;
  }
  if (existing) await removeClient(db, wanted.client_id);
  return addClient(db, wanted);
}

/** The stored registration without its secret; with `organization`, only a client acting for it. */
export async function getClient(db: SqlClient, clientId: string, organization?: string): Promise<RegisteredClient | undefined> {
  const rows = await db.query<ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM oauth_client WHERE client_id = $1 AND ($2::text IS NULL OR organization = $2)`, [clientId, organization ?? null]);
  return rows[0] && publicView(rows[0]);
}

/** Every registration, or with `organization` those acting for it. */
export async function listClients(db: SqlClient, organization?: string): Promise<RegisteredClient[]> {
  const rows = await db.query<ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM oauth_client WHERE $1::text IS NULL OR organization = $1 ORDER BY created_at, client_id`, [organization ?? null]);
  return rows.map(publicView);
}

/** Removes a registration (with `organization`, only one acting for it) and every token it holds. */
export async function removeClient(db: Database, clientId: string, actor: RegistryActor = OPERATOR, organization?: string): Promise<boolean> {
  const removed = await db.transaction(async (tx) => {
    const rows = await tx.query<{ organization: string | null }>(
      `DELETE FROM oauth_client WHERE client_id = $1 AND ($2::text IS NULL OR organization = $2) RETURNING organization`,
      [clientId, organization ?? null],
    );
    if (!rows[0]) return false;
    await deleteTokensOf(tx, clientId);
    await recordEvent(tx, clientId, rows[0].organization ?? undefined, 'remove', actor);
    return true;
  });
  forgetAccessFacts(db);
  return removed;
}

/** A client's registration events, oldest first; with `organization`, only those of clients acting for it. */
export async function clientEvents(db: SqlClient, clientId: string, organization?: string): Promise<ClientEvent[]> {
  const rows = await db.query<{ client_id: string; organization: string | null; action: ClientAction; actor: string; actor_role: string; via: string; recorded: Date | string }>(
    `SELECT client_id, organization, action, actor, actor_role, via, recorded FROM oauth_client_event
     WHERE client_id = $1 AND ($2::text IS NULL OR organization = $2) ORDER BY id`,
    [clientId, organization ?? null],
  );
  return rows.map((r) => ({
    client_id: r.client_id,
    ...(r.organization ? { organization: r.organization } : {}),
    action: r.action,
    actor: r.actor,
    actor_role: r.actor_role,
    via: r.via,
    recorded: new Date(r.recorded).toISOString(),
  }));
}

/**
 * Whether a client may receive tokens now: undefined when it may, else why not, for an
 * `unauthorized_client` error. A client acting for an organization needs that organization's approval.
 */
export async function tokenRefusal(db: SqlClient, clientId: string): Promise<string | undefined> {
  const rows = await db.query<{ organization: string | null; registration_state: RegistrationState }>(
    `SELECT organization, registration_state FROM oauth_client WHERE client_id = $1`,
    [clientId],
  );
  const row = rows[0];
  if (!row) return `no client ${clientId}`;
  if (row.registration_state === 'pending') return `this client acts for organization ${row.organization}, whose administrator has not approved it yet`;
  if (row.registration_state === 'revoked') return `organization ${row.organization} has revoked this client`;
  return undefined;
}

/** The organization administrator an operator names (`client add --approved-by`), as the events will record them. */
export async function organizationAdministratorNamed(db: SqlClient, username: string, via: RegistryActor['via']): Promise<RegistryActor> {
  const user = await findUserByUsername(db, username);
  if (!user || user.role !== 'organization-administrator' || !user.organization) throw new ClientRegistrationError(`${username} is not an organization administrator`);
  return { name: user.username, role: user.role, organization: user.organization, via };
}

/** Client metadata as oidc-provider reads it: its `scope` holds only the scopes it knows by name, the full allow-list goes in `allowed_scope`. */
export function providerMetadata(client: RegisteredClient): Record<string, unknown> {
  const {
    scope,
    launch_uri: _launchUri,
    created_at: _created,
    registration_state: _state,
    registered_by: _registeredBy,
    approved_by: _approvedBy,
    approved_at: _approvedAt,
    ...rest
  } = client;
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

function isAdministratorOf(actor: RegistryActor, organization: string): boolean {
  return actor.role === 'organization-administrator' && actor.organization === organization;
}

/**
 * The records oidc-provider and the token recorder keep per client (access token ids, grants,
 * codes, refresh tokens) all name it as `clientId`: deleting them revokes whatever it holds.
 */
async function deleteTokensOf(tx: SqlClient, clientId: string): Promise<void> {
  await tx.query(`DELETE FROM oauth_payload WHERE payload->>'clientId' = $1`, [clientId]);
}

async function recordEvent(tx: SqlClient, clientId: string, organization: string | undefined, action: ClientAction, actor: RegistryActor): Promise<void> {
  await tx.query(`INSERT INTO oauth_client_event (client_id, organization, action, actor, actor_role, via) VALUES ($1, $2, $3, $4, $5, $6)`, [
    clientId,
    organization ?? null,
    action,
    actor.name,
    actor.role,
    actor.via,
  ]);
}

const CLIENT_COLUMNS = `metadata, created_at, registration_state, registered_by, approved_by, approved_at`;

interface ClientRow {
  metadata: RegisteredClient | string;
  created_at: Date | string;
  registration_state: RegistrationState;
  registered_by: string | null;
  approved_by: string | null;
  approved_at: Date | string | null;
}

function publicView(row: ClientRow): RegisteredClient {
  const metadata = typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as RegisteredClient) : row.metadata;
  const { client_secret: _secret, ...rest } = metadata;
  return {
    ...rest,
    created_at: new Date(row.created_at).toISOString(),
    registration_state: row.registration_state,
    ...(row.registered_by ? { registered_by: row.registered_by } : {}),
    ...(row.approved_by ? { approved_by: row.approved_by } : {}),
    ...(row.approved_at ? { approved_at: new Date(row.approved_at).toISOString() } : {}),
  };
}
