import type { FastifyReply, FastifyRequest } from 'fastify';
import { ROUTES } from '../provider.js';
import type { AuthorizationServices } from '../routes.js';

/**
 * Everything else under the issuer goes to oidc-provider (authorize, token, introspection,
 * revocation, JWKS, registration of nothing), after two checks of our own on the way in.
 */
export async function oidcProvider(request: FastifyRequest, reply: FastifyReply, { prefix, callback }: AuthorizationServices): Promise<unknown> {
  const original = request.raw.url ?? '/';
  let path = original.slice(prefix.length) || '/';
  let body = typeof request.body === 'string' ? request.body : undefined;
  const endpoint = path.split('?')[0];

  if (endpoint === ROUTES.token && body !== undefined) {
    const refusal = assertionRefusal(body);
    if (refusal) return reply.code(401).send({ error: 'invalid_client', error_description: refusal });
  }
  if (endpoint === ROUTES.authorization) {
    // OpenID Connect drops offline_access unless prompt=consent; SMART apps do not send it, and
    // every authorization here asks for consent anyway.
    if (request.method === 'GET') path = withConsentPrompt(path, true);
    else if (body !== undefined) body = withConsentPrompt(body, false);
  }
  // oidc-provider finds its mount path as the part of originalUrl before url, and takes a body already read from `body`.
  const raw = Object.assign(request.raw, { originalUrl: `${prefix}${path}`, url: path }, body !== undefined && body.length > 0 ? { body } : {});
  reply.hijack();
  await callback(raw, reply.raw);
  // Hijacked: oidc-provider has answered on the raw response.
  return undefined;
}

function withConsentPrompt(text: string, isUrl: boolean): string {
  const [head = '', ...rest] = isUrl ? text.split('?') : ['', text];
  const params = new URLSearchParams(rest.join('?'));
  const scopes = (params.get('scope') ?? '').split(' ');
  if (!scopes.includes('offline_access')) return text;
  const prompts = (params.get('prompt') ?? '').split(' ').filter(Boolean);
  if (prompts.includes('consent') || prompts.includes('none')) return text;
  params.set('prompt', [...prompts, 'consent'].join(' '));
  return isUrl ? `${head}?${params.toString()}` : params.toString();
}

/** SMART Backend Services: an assertion's `exp` is at most five minutes ahead, and it has a `jti`. */
function assertionRefusal(body: string): string | undefined {
  const params = new URLSearchParams(body);
  const assertion = params.get('client_assertion');
  if (!assertion) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown; jti?: unknown };
    if (typeof payload.jti !== 'string' || !payload.jti) return 'the client assertion needs a jti';
    if (typeof payload.exp !== 'number') return 'the client assertion needs an exp';
    if (payload.exp > Math.floor(Date.now() / 1000) + 5 * 60 + 30) return 'the client assertion exp is more than five minutes ahead';
  } catch {
    return 'the client assertion is not a JWT';
  }
  return undefined;
}
