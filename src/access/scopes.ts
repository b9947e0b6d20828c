/**
 * SMART on FHIR scopes, parsed into one model whatever form the app sent.
 *
 * v2 clinical scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-fhir-resources):
 *   ( 'patient' | 'user' | 'system' ) '/' ( fhir-resource | '*' ) '.' ( 'c'? 'r'? 'u'? 'd'? 's'? ) [ '?' query ]
 * The permission letters keep that order, each at most once, at least one.
 *
 * v1 forms (`.read`, `.write`, `.*`) are still accepted and mapped as SMART 2 says
 * (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-clinical-data):
 * `read` -> `rs`, `write` -> `cud`, `*` -> `cruds`.
 *
 * A token that looks like a clinical scope but is malformed (`patient/Observation.sr`,
 * `patient/observation.read`) is dropped, so an enforcement point never reads it as a grant.
 */

export type ScopeContext = 'patient' | 'user' | 'system';
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

/** A scope granting access to FHIR resources. */
export interface ResourceScope {
  kind: 'resource';
  context: ScopeContext;
  /** A FHIR resource type, or `*` for all. */
  resourceType: string;
  /** The granted interactions, in `cruds` order. */
  permissions: readonly Permission[];
  /**
   * v2 finer-grained constraints (`?category=…`), as name/value pairs in request order; the
   * server must only return resources matching all of them.
   */
  query: ReadonlyArray<readonly [string, string]>;
  /** 1 when the app sent a v1 form (`.read`, `.write`, `.*`). */
  version: 1 | 2;
  /** The scope exactly as requested. */
  raw: string;
}

/** `launch`, `launch/patient`, `launch/encounter`: ask for launch context. */
export interface LaunchScope {
  kind: 'launch';
  /** undefined for the EHR-launch `launch` scope. */
  context?: 'patient' | 'encounter';
  raw: string;
}

/** `openid`, `fhirUser`, `profile`, `offline_access`, `online_access`. */
export interface IdentityScope {
  kind: 'identity';
  name: 'openid' | 'fhirUser' | 'profile' | 'offline_access' | 'online_access';
  raw: string;
}

/** Any other well-formed scope token; kept so callers can see it, never a grant of data. */
export interface OtherScope {
  kind: 'other';
  raw: string;
}

export type Scope = ResourceScope | LaunchScope | IdentityScope | OtherScope;

const IDENTITY: readonly IdentityScope['name'][] = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access'];
const CONTEXTS: readonly ScopeContext[] = ['patient', 'user', 'system'];
const PERMISSIONS: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];
const CLINICAL = /^(patient|user|system)\/([A-Za-z*][A-Za-z0-9]*)\.([^?]*)(?:\?(.*))?$/;
const RESOURCE_TYPE = /^(\*|[A-Z][A-Za-z0-9]*)$/;
const V2_PERMISSIONS = /^c?r?u?d?s?$/;
const V1_PERMISSIONS: Record<string, readonly Permission[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

/** Parses one scope token; undefined when it is a malformed clinical scope. */
export function parseScope(token: string): Scope | undefined {
  const identity = IDENTITY.find((name) => name === token);
  if (identity) return { kind: 'identity', name: identity, raw: token };
  if (token === 'launch') return { kind: 'launch', raw: token };
  if (token === 'launch/patient') return { kind: 'launch', context: 'patient', raw: token };
  if (token === 'launch/encounter') return { kind: 'launch', context: 'encounter', raw: token };
  const match = CLINICAL.exec(token);
  if (!match) {
    // Something shaped like a clinical scope that the pattern refused is malformed, not "other".
    return /^(patient|user|system)\//.test(token) ? undefined : { kind: 'other', raw: token };
  }
  const [, , resourceType, letters] = match;
  const queryText: string | undefined = match[4];
  const context = CONTEXTS.find((c) => c === match[1]);
  if (!context || !RESOURCE_TYPE.test(resourceType)) return undefined;
  // Own keys only: `Observation.toString` names no permissions.
  const v1 = Object.hasOwn(V1_PERMISSIONS, letters) ? V1_PERMISSIONS[letters] : undefined;
  if (v1) {
    if (queryText !== undefined) return undefined; // constraints exist only in v2
    return { kind: 'resource', context, resourceType, permissions: v1, query: [], version: 1, raw: token };
  }
  if (letters.length === 0 || !V2_PERMISSIONS.test(letters)) return undefined;
  const query: Array<readonly [string, string]> = [];
  if (queryText !== undefined) {
    if (queryText.length === 0) return undefined;
    for (const [name, value] of new URLSearchParams(queryText)) {
      if (!name) return undefined;
      query.push([name, value]);
    }
  }
  return { kind: 'resource', context, resourceType, permissions: PERMISSIONS.filter((p) => letters.includes(p)), query, version: 2, raw: token };
}

/** Parses a space-separated scope string (as in a token's `scope` claim), dropping malformed clinical scopes. */
export function parseScopes(scope: string | undefined | null): Scope[] {
  if (!scope) return [];
  const seen = new Set<string>();
  const scopes: Scope[] = [];
  for (const token of scope.split(/\s+/)) {
    if (!token || seen.has(token)) continue;
    seen.add(token);
    const parsed = parseScope(token);
    if (parsed) scopes.push(parsed);
  }
  return scopes;
}

/** The scope in v2 syntax (`patient/Observation.rs?category=laboratory`). */
export function formatScope(scope: Scope): string {
  if (scope.kind !== 'resource') return scope.raw;
  const base = `${scope.context}/${scope.resourceType}.${scope.permissions.join('')}`;
  return scope.query.length ? `${base}?${new URLSearchParams(scope.query.map(([name, value]) => [name, value])).toString()}` : base;
}

export function resourceScopes(scopes: readonly Scope[]): ResourceScope[] {
  return scopes.filter((s): s is ResourceScope => s.kind === 'resource');
}

/**
 * True when `granted` allows everything `requested` asks for: same context, the same or a
 * wildcard resource type, a superset of the permissions, and no constraint that `requested`
 * does not also carry.
 */
export function scopeCovers(granted: ResourceScope, requested: ResourceScope): boolean {
  if (granted.context !== requested.context) return false;
  if (granted.resourceType !== '*' && granted.resourceType !== requested.resourceType) return false;
  if (!requested.permissions.every((p) => granted.permissions.includes(p))) return false;
  return granted.query.every(([name, value]) => requested.query.some(([n, v]) => n === name && v === value));
}

export interface AccessRequest {
  /** Which scope contexts may satisfy the request; all three when omitted. */
  context?: ScopeContext | readonly ScopeContext[];
  resourceType: string;
  permission: Permission;
}

/**
 * The resource scopes that allow one interaction on one resource type. Constraints (`query`)
 * are returned with the scope: the caller must apply them as search filters.
 */
export function scopesAllowing(scopes: readonly Scope[], request: AccessRequest): ResourceScope[] {
  const contexts = request.context === undefined ? undefined : new Set(typeof request.context === 'string' ? [request.context] : request.context);
  return resourceScopes(scopes).filter(
    (s) =>
      (!contexts || contexts.has(s.context)) &&
      (s.resourceType === '*' || s.resourceType === request.resourceType) &&
      s.permissions.includes(request.permission),
  );
}

/** True when some scope allows the interaction without any constraint. */
export function permitsUnconstrained(scopes: readonly Scope[], request: AccessRequest): boolean {
  return scopesAllowing(scopes, request).some((s) => s.query.length === 0);
}

/** Filters the requested scope tokens down to those the client's registered scopes allow (with wildcards). */
export function allowedByRegistration(requested: readonly Scope[], registered: readonly Scope[]): Scope[] {
  const registeredResource = resourceScopes(registered);
  const registeredOther = new Set(registered.filter((s) => s.kind !== 'resource').map((s) => s.raw));
  return requested.filter((s) => (s.kind === 'resource' ? registeredResource.some((g) => scopeCovers(g, s)) : registeredOther.has(s.raw)));
}
