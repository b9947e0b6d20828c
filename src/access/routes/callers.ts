import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationServices } from '../routes.js';
import { secretsEqual } from '../secrets.js';
import { AccessTokenError, type AccessClaims } from '../tokens.js';

// Who calls the launch and client-registry APIs: the bootstrap secret, or a bearer token.

export const ADMIN_SECRET_HEADER = 'x-admin-secret';

/** The admin secret header when the server has one: compared in constant time, it decides alone. */
export function adminSecretMatches(request: FastifyRequest, { adminSecret }: AuthorizationServices): boolean | undefined {
  const secret = request.headers[ADMIN_SECRET_HEADER];
  if (typeof secret !== 'string' || !adminSecret) return undefined;
  return secretsEqual(secret, adminSecret);
}

/** The verified claims of the request's bearer token, if it has a valid one. */
export async function bearerClaims(request: FastifyRequest, { verifyAccessToken }: AuthorizationServices): Promise<AccessClaims | undefined> {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (!match?.[1]) return undefined;
  return verifyAccessToken(match[1]).catch((error: unknown) => {
    if (error instanceof AccessTokenError) return undefined;
    throw error;
  });
}

export function refuse(reply: FastifyReply): FastifyReply {
  return reply
    .code(401)
    .header('WWW-Authenticate', 'Bearer error="invalid_token"')
    .send({ error: 'invalid_token', error_description: 'an administrator or organization administrator token, or the admin secret, is required' });
}

export function parseJson(body: unknown): unknown {
  if (typeof body !== 'string' || !body) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
