/**
 * A server under load, in its own process so it does not share an event loop (or a core) with
 * autocannon. BENCH_TARGET picks what it serves:
 *
 * - `fhir`: the Densaulyq app (`buildApp`) on PGlite (BENCH_DATA_DIR) or PostgreSQL (DATABASE_URL);
 * - `bare`: one Fastify route that returns BENCH_BARE_FILE's JSON from memory — the ceiling a
 *   FHIR read is compared to.
 *
 * It listens on 127.0.0.1 port 0 and talks to the parent over IPC (see target-process.ts):
 * `ready` with the port, then `profile-start` / `profile-stop` (a CPU profile of one scenario,
 * via the inspector) and `stop`.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Session } from 'node:inspector/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { createAccessTokenVerifier } from '../src/access/tokens.js';
import { buildApp } from '../src/http/app.js';
import { createLogger } from '../src/log.js';
import type { Database } from '../src/store/driver.js';
import { openDatabase } from '../src/store/open.js';
import type { ParentMessage, TargetMessage } from './target-process.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** The issuer and audience of the tokens bench clients send. */
export const BENCH_ISSUER = 'http://densaulyq.bench/auth';
export const BENCH_AUDIENCE = 'http://densaulyq.bench/fhir';

async function serveBare(): Promise<FastifyInstance> {
  const file = process.env.BENCH_BARE_FILE;
  if (!file) throw new Error('BENCH_BARE_FILE is required for the bare target');
  const json = await readFile(file, 'utf8');
  const app = Fastify({ logger: false });
  // Same URL shape and content type as a FHIR read, nothing else: no database, no routing table.
  app.get('/bare/Patient/:id', (_request, reply) => {
    reply.header('content-type', FHIR_JSON).send(json);
  });
  return app;
}

async function serveFhir(): Promise<{ app: FastifyInstance; db: Database }> {
  const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL || undefined, dataDir: process.env.BENCH_DATA_DIR || undefined });
  const level = process.env.BENCH_LOG_LEVEL ?? 'info';
  // Like `npm start`: pino at info logs one line per request; stdout is /dev/null here.
  const logger = level === 'off' ? undefined : createLogger(level);
  const verifyToken = createAccessTokenVerifier({ db, issuer: BENCH_ISSUER, audience: BENCH_AUDIENCE });
  const app = await buildApp({ db, logger, config: { bodyLimit: 64 * 1024 * 1024, maxBundleEntries: 20_000 }, verifyToken });
  return { app, db };
}

function send(message: TargetMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const target = process.env.BENCH_TARGET;
  let app: FastifyInstance;
  let db: Database | undefined;
  if (target === 'bare') app = await serveBare();
  else if (target === 'fhir') ({ app, db } = await serveFhir());
  else throw new Error(`BENCH_TARGET must be fhir or bare, not ${target}`);

  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= app.close().then(() => db?.close()));
  let session: Session | undefined;
  process.on('message', (message: ParentMessage) => {
    void (async () => {
      try {
        if (message.type === 'profile-start') {
          session = new Session();
          session.connect();
          await session.post('Profiler.enable');
          await session.post('Profiler.setSamplingInterval', { interval: 200 });
          await session.post('Profiler.start');
          send({ type: 'done', id: message.id });
        } else if (message.type === 'profile-stop') {
          if (!session) throw new Error('no profile is running');
          const { profile } = await session.post('Profiler.stop');
          session.disconnect();
          session = undefined;
          await mkdir(dirname(message.file), { recursive: true });
          await writeFile(message.file, JSON.stringify(profile));
          send({ type: 'done', id: message.id });
        } else if (message.type === 'stop') {
          await close();
          process.send?.({ type: 'done', id: message.id } satisfies TargetMessage, () => process.exit(0));
        }
      } catch (error) {
        send({ type: 'failed', id: message.id, message: (error as Error).stack ?? String(error) });
      }
    })();
  });
  // The parent went away without saying stop: don't linger holding the database.
  process.on('disconnect', () => {
    void close().finally(() => process.exit(0));
  });
  send({ type: 'ready', port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
