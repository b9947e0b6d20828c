import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import type { Database } from '../../src/store/driver.js';
import { openTestDatabase } from './database.js';

export interface FhirReply {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or undefined when there was none. */
  body: any;
  text: string;
}

export interface TestServer {
  app: FastifyInstance;
  db: Database;
  base: string;
  /** Sends a request to the FHIR API over a real socket; objects are sent as FHIR JSON. */
  fhir(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<FhirReply>;
  close(): Promise<void>;
}

export async function startTestServer(options: { bodyLimit?: number; maxBundleEntries?: number } = {}): Promise<TestServer> {
  const db = await openTestDatabase();
  const app = await buildApp({
    db,
    config: { bodyLimit: options.bodyLimit ?? 64 * 1024 * 1024, maxBundleEntries: options.maxBundleEntries ?? 20_000 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `http://127.0.0.1:${port}/fhir`;
  return {
    app,
    db,
    base,
    async fhir(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/fhir+json';
      }
      const response = await fetch(`${base}${path.startsWith('/') || path === '' ? path : '/' + path}`, init);
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    async close() {
      await app.close();
      await db.close();
    },
  };
}
