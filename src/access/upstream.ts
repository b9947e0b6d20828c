import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/**
 * Sign-in through an upstream OpenID Connect provider (the national eGov ID in production),
 * configured by issuer URL: authorization code flow with PKCE, state and nonce, from our
 * sign-in page to the upstream and back. The upstream's subject (or a configured claim such
 * as the IIN) is mapped to a local account.
 */
export interface UpstreamOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The ID token claim that identifies the person; default `sub`. An IIN claim name fits eGov ID. */
  subjectClaim?: string;
  /** Scopes to ask the upstream for; default `openid`. */
  scope?: string;
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

export interface UpstreamAttempt {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export class UpstreamError extends Error {}

export class UpstreamProvider {
  private discovery?: Promise<Discovery>;
  private jwks?: ReturnType<typeof createRemoteJWKSet>;

  constructor(
    readonly options: UpstreamOptions,
    readonly redirectUri: string,
  ) {}

  private discover(): Promise<Discovery> {
    this.discovery ??= (async () => {
      const url = `${this.options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new UpstreamError(`upstream discovery answered ${response.status}`);
      const document = (await response.json()) as Discovery;
      if (document.issuer !== this.options.issuer) throw new UpstreamError('upstream discovery names another issuer');
      return document;
    })().catch((error) => {
      this.discovery = undefined;
      throw error;
    });
    return this.discovery;
  }

  newAttempt(): UpstreamAttempt {
    return { state: randomBytes(24).toString('base64url'), nonce: randomBytes(24).toString('base64url'), codeVerifier: randomBytes(32).toString('base64url') };
  }

  async authorizationUrl(attempt: UpstreamAttempt, locale?: string): Promise<string> {
    const { authorization_endpoint } = await this.discover();
    const url = new URL(authorization_endpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', this.options.clientId);
    url.searchParams.set('redirect_uri', this.redirectUri);
    url.searchParams.set('scope', this.options.scope ?? 'openid');
    url.searchParams.set('state', attempt.state);
    url.searchParams.set('nonce', attempt.nonce);
    url.searchParams.set('code_challenge', createHash('sha256').update(attempt.codeVerifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
    if (locale) url.searchParams.set('ui_locales', locale);
    return url.toString();
  }

  /** Exchanges the code and verifies the ID token; returns the person's identifier and the claims. */
  async complete(attempt: UpstreamAttempt, code: string): Promise<{ subject: string; claims: JWTPayload }> {
    const discovery = await this.discover();
    const response = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.redirectUri, code_verifier: attempt.codeVerifier }),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new UpstreamError(`upstream token endpoint answered ${response.status}`);
    const tokens = (await response.json()) as { id_token?: string };
    if (!tokens.id_token) throw new UpstreamError('upstream returned no ID token');
    this.jwks ??= createRemoteJWKSet(new URL(discovery.jwks_uri));
    const { payload } = await jwtVerify(tokens.id_token, this.jwks, { issuer: discovery.issuer, audience: this.options.clientId }).catch((error: Error) => {
      throw new UpstreamError(`upstream ID token rejected: ${error.message}`);
    });
    if (payload.nonce !== attempt.nonce) throw new UpstreamError('upstream ID token nonce mismatch');
    const subject = payload[this.options.subjectClaim ?? 'sub'];
    if (typeof subject !== 'string' || !subject) throw new UpstreamError('upstream ID token has no subject claim');
    return { subject, claims: payload };
  }
}
