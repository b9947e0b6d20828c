import { type Locale } from '../i18n/locale.js';
import { type Session, type TokenResponse, sessionFromToken } from './session.js';

/**
 * SMART App Launch, standalone, as a public client with PKCE
 * (https://hl7.org/fhir/smart-app-launch/app-launch.html). A small client rather than
 * `fhirclient`: that library bundles polyfills and Node shims worth more than this whole
 * file, and the app needs only discovery, the redirect and the code exchange.
 * The token lives in sessionStorage only: gone when the tab closes or on sign-out.
 */
export const CLIENT_ID = 'densaulyq-web';
/**
 * `user/*.cruds` for every role: the authorization server grants what the client's registration
 * allows whoever signs in, and the door (src/access/door.ts) narrows it by role — a citizen to
 * their own and their children's records (so the family screen can switch), staff as their role
 * allows. No `launch/patient`: staff would be asked for a patient on the consent page.
 */
export const SCOPE = 'openid fhirUser user/*.cruds';

const SESSION_KEY = 'densaulyq.session';
const PENDING_KEY = 'densaulyq.pending';

interface SmartConfiguration {
  authorization_endpoint: string;
  token_endpoint: string;
  revocation_endpoint?: string;
}

interface Pending {
  state: string;
  verifier: string;
  tokenEndpoint: string;
  returnTo: string;
}

export function fhirBase(): string {
  return `${location.origin}/fhir`;
}

export function redirectUri(): string {
  return `${location.origin}/callback`;
}

async function smartConfiguration(): Promise<SmartConfiguration> {
  const response = await fetch(`${fhirBase()}/.well-known/smart-configuration`, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`smart-configuration: ${response.status}`);
  return (await response.json()) as SmartConfiguration;
}

function randomText(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The S256 code challenge of a verifier (RFC 7636 §4.2). */
export async function codeChallenge(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

/** Goes to the platform's sign-in page, in the app's language (`ui_locales`). */
export async function signIn(locale: Locale, returnTo = '/'): Promise<void> {
  const configuration = await smartConfiguration();
  const pending: Pending = { state: randomText(16), verifier: randomText(), tokenEndpoint: configuration.token_endpoint, returnTo };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(configuration.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: SCOPE,
    state: pending.state,
    aud: fhirBase(),
    code_challenge: await codeChallenge(pending.verifier),
    code_challenge_method: 'S256',
    ui_locales: locale,
  }).toString();
  location.assign(url.toString());
}

/** Exchanges the code the sign-in returned for a token; returns where the user was going. */
export async function completeSignIn(callback: URL): Promise<{ session: Session; returnTo: string }> {
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as Pending | null;
  sessionStorage.removeItem(PENDING_KEY);
  const code = callback.searchParams.get('code');
  if (!pending || !code || callback.searchParams.get('state') !== pending.state) {
    throw new Error(callback.searchParams.get('error_description') ?? callback.searchParams.get('error') ?? 'no pending sign-in');
  }
  const response = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri(), client_id: CLIENT_ID, code_verifier: pending.verifier }),
  });
  if (!response.ok) throw new Error(`token: ${response.status}`);
  const session = sessionFromToken((await response.json()) as TokenResponse);
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return { session, returnTo: pending.returnTo };
}

/** The current session, unless there is none or its token has expired. */
export function currentSession(now = Date.now()): Session | undefined {
  const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
  if (!session || session.expiresAt <= now) {
    sessionStorage.removeItem(SESSION_KEY);
    return undefined;
  }
  return session;
}

/** Forgets the token here and asks the server to revoke it (best effort: it expires anyway). */
export async function signOut(session: Session | undefined): Promise<void> {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (!session) return;
  try {
    const { revocation_endpoint: endpoint } = await smartConfiguration();
    if (endpoint) {
      await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: session.accessToken, token_type_hint: 'access_token', client_id: CLIENT_ID }),
      });
    }
  } catch {
    // Offline: the token is already gone from this browser and expires on its own.
  }
}
