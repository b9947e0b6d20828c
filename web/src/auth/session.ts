/**
 * The signed-in session, pure: what the app keeps of a token response. Claims are read from our
 * own authorization server's JWT access token (src/access/provider.ts adds role, fhirUser,
 * organization, region); the FHIR API verifies it, the app only shows and routes by them.
 */
export interface Session {
  accessToken: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  scope: string;
  role: string;
  username?: string;
  fhirUser?: string;
  organization?: string;
  region?: string;
  /** The citizen's own Patient id (from fhirUser). */
  patient?: string;
}

export interface TokenResponse {
  access_token: string;
  expires_in?: number;
  scope?: string;
  patient?: string;
}

/** The payload of a JWT, unverified (the server verifies it); undefined when it is not one. */
export function jwtPayload(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const payload: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function sessionFromToken(response: TokenResponse, now = Date.now()): Session {
  const claims = jwtPayload(response.access_token) ?? {};
  const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  const fhirUser = text('fhirUser');
  const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  const role = text('role') ?? 'citizen';
  const self = role === 'citizen' && fhirUser?.startsWith('Patient/') ? fhirUser.slice('Patient/'.length) : undefined;
  const patient = self ?? response.patient;
  return {
    accessToken: response.access_token,
    expiresAt: exp ?? now + (response.expires_in ?? 300) * 1000,
    scope: response.scope ?? text('scope') ?? '',
    role,
    ...optional({ username: text('username') ?? text('sub'), fhirUser, organization: text('organization'), region: text('region'), patient }),
  };
}

/** Only the fields that have a value. */
function optional<T extends Record<string, string | undefined>>(fields: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<Record<keyof T, string>>;
}

export function isCitizen(session: Session): boolean {
  return session.role === 'citizen';
}

/** A `curl` example against the FHIR API with this token, for the staff page. */
export function curlExample(fhirBase: string, token: string, path = 'Patient?_count=5'): string {
  return `curl -H 'Authorization: Bearer ${token}' -H 'Accept: application/fhir+json' '${fhirBase}/${path}'`;
}
