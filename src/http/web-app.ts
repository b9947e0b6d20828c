import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClientRegistration } from '../access/index.js';

/** Where `vite build` (web/vite.config.ts) writes the citizen app. */
export const WEB_APP_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

/**
 * The citizen app as a SMART client (web/src/auth/smart.ts): public, PKCE only, acting for no
 * organization so no organization administrator has to approve it. `user/*.cruds` is the most
 * it may ask; the door narrows it to what each role may see.
 */
export function webAppClient(origin: string): ClientRegistration & { client_id: string } {
  return {
    client_id: 'densaulyq-web',
    client_name: 'Densaulyq',
    redirect_uris: [`${origin}/callback`],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'none',
    scope: 'openid fhirUser user/*.cruds',
  };
}

/**
 * The citizen app's pages: its own scripts, styles and images only; it talks to this origin
 * alone (/fhir, /auth/token). Style attributes React sets through the CSSOM need no 'unsafe-inline'.
 * 'wasm-unsafe-eval' lets the image viewer compile its WebAssembly decoders (JPEG, JPEG-LS,
 * JPEG 2000), its own files from this origin; it allows no eval() of script
 * (https://www.w3.org/TR/CSP3/#wasm-integration).
 */
export const WEB_APP_CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Paths that are never the app's: a miss there is the API's own 404, not the app's page. */
const NOT_APP = /^\/(fhir|dicom-web|auth|shl|\.well-known|healthz)(\/|\?|$)/;

/** Vite names built assets by content hash: they never change, so browsers keep them a year. */
function setHeaders(reply: FastifyReply, path: string): void {
  reply.header('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
  reply.header('content-security-policy', WEB_APP_CSP);
}

/**
 * Serves the built app (web/dist) at `/`; false when it is not built, and the API runs alone.
 * Returns the SPA fallback for the not-found handler: the app's index.html for a browser's GET
 * of an app path (`/results/718-7`), so a reload or a shared link opens that screen.
 */
export async function registerWebApp(app: FastifyInstance, root: string): Promise<((request: FastifyRequest, reply: FastifyReply) => boolean) | undefined> {
  if (!existsSync(join(root, 'index.html'))) return undefined;
  await app.register(fastifyStatic, { root, prefix: '/', wildcard: false, setHeaders, serveDotFiles: false });
  return (request, reply) => {
    if ((request.method !== 'GET' && request.method !== 'HEAD') || NOT_APP.test(request.url) || !(request.headers.accept ?? '').includes('text/html')) return false;
    void reply.sendFile('index.html');
    return true;
  };
}
