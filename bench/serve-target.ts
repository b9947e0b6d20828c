/**
 * A server under load, in its own process so it does not share an event loop (or a core) with
 * autocannon. BENCH_TARGET picks what it serves:
 *
 * - `fhir`: the Densaulyq app (`buildApp`) on PGlite (BENCH_DATA_DIR) or PostgreSQL (DATABASE_URL),
 *   audited unless BENCH_AUDIT=off (the access benchmark's baseline). It owns its database, so it
 *   creates the accounts the bench clients act as and mints their tokens (see BenchAccounts);
 *   the clinician acts for organization BENCH_ORGANIZATION (default `bench-clinic`).
 *   BENCH_OPEN=on makes it an open server, the honest limit the door is measured against: every
 *   request is the administrator with clinical access, no token is checked (nothing is verified
 *   or looked up), no audit. Only this bench script can do that: the product has no such setting;
 * - `bare`: one Fastify route that returns BENCH_BARE_FILE's JSON from memory — the ceiling a
 *   FHIR read is compared to.
 *
 * It listens on 127.0.0.1 port 0 and talks to the parent over IPC (see target-process.ts):
 * `ready` with the port and the accounts, then `profile-start` / `profile-stop` (a CPU profile
 * of one scenario, via the inspector) and `stop`.
 */
import { randomBytes } from 'node:crypto';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Session } from 'node:inspector/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { type AccessClaims, createAccessTokenVerifier, mintAccessToken } from '../src/access/tokens.js';
import { addUser } from '../src/access/users.js';
import { buildApp } from '../src/http/app.js';
import { FsObjectStore } from '../src/imaging/object-store.js';
import { tuneHeapForServing } from '../src/heap.js';
import { createLogger } from '../src/log.js';
import type { Database } from '../src/store/driver.js';
import { openDatabase } from '../src/store/open.js';
import type { BenchAccounts, ParentMessage, TargetMessage } from './target-process.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** The issuer and audience of the tokens bench clients send. */
export const BENCH_ISSUER = 'http://densaulyq.bench/auth';
export const BENCH_AUDIENCE = 'http://densaulyq.bench/fhir';
/** The organization the bench clinician acts for, unless BENCH_ORGANIZATION names another. */
export const BENCH_ORGANIZATION = 'bench-clinic';
/** Longer than any bench run, so no token expires under load. */
const TOKEN_TTL_SECONDS = 24 * 3600;

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

/**
 * The accounts the bench acts as, each with a token minted as the token endpoint would (so the
 * verifier checks it like any other, revocation look-up included). Names are unique per process:
 * two targets may share one database.
 */
async function createAccounts(db: Database): Promise<BenchAccounts & { administratorClaims: AccessClaims }> {
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const organization = process.env.BENCH_ORGANIZATION || BENCH_ORGANIZATION;
  const mint = async (subject: string, claims: { role: 'administrator' | 'clinician'; scope: string; organization?: string }) => {
    const minted = await mintAccessToken(
      db,
      { sub: subject, client_id: 'densaulyq-bench', ...claims },
      { issuer: BENCH_ISSUER, fhirBaseUrl: BENCH_AUDIENCE, ttlSeconds: TOKEN_TTL_SECONDS },
    );
    return { account: { subject, token: minted.access_token }, claims: minted.claims };
  };
  const administrator = await addUser(db, { username: `bench-administrator-${suffix}`, role: 'administrator', clinicalAccess: true });
  const clinician = await addUser(db, { username: `bench-clinician-${suffix}`, role: 'clinician', organization });
  const admin = await mint(administrator.id, { role: 'administrator', scope: 'user/*.cruds' });
  return {
    administrator: admin.account,
    clinician: (await mint(clinician.id, { role: 'clinician', scope: 'user/*.rs', organization })).account,
    administratorClaims: admin.claims,
  };
}

async function serveFhir(): Promise<{ app: FastifyInstance; db: Database; accounts: BenchAccounts }> {
  const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL || undefined, dataDir: process.env.BENCH_DATA_DIR || undefined });
  const level = process.env.BENCH_LOG_LEVEL ?? 'info';
  // Like `npm start`: pino at info logs one line per request; stdout is /dev/null here.
  const logger = level === 'off' ? undefined : createLogger(level);
  const open = process.env.BENCH_OPEN === 'on';
  let openClaims: AccessClaims | undefined;
  const verifyToken = open
    ? async () => {
        if (!openClaims) throw new Error('the open target answers once its accounts exist');
        return openClaims;
      }
    : createAccessTokenVerifier({ db, issuer: BENCH_ISSUER, audience: BENCH_AUDIENCE });
  const audit = !open && process.env.BENCH_AUDIT !== 'off';
  const app = await buildApp({
    db,
    logger,
    config: { bodyLimit: 64 * 1024 * 1024, maxBundleEntries: 20_000 },
    verifyToken,
    audit,
    // Load from one address at bench rates: the rate limits would measure themselves.
    hardening: { rateLimits: { perIp: 0, perClient: 0, login: 0 }, corsOrigins: [] },
    ...(process.env.BENCH_IMAGES_DIR ? { imaging: { store: new FsObjectStore(process.env.BENCH_IMAGES_DIR) } } : {}),
  });
  const { administratorClaims, ...accounts } = await createAccounts(db);
  openClaims = administratorClaims;
  return { app, db, accounts };
}

function send(message: TargetMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  // Each target runs as the product's server does.
  tuneHeapForServing();
  const target = process.env.BENCH_TARGET;
  let app: FastifyInstance;
  let db: Database | undefined;
  let accounts: BenchAccounts | undefined;
  if (target === 'bare') app = await serveBare();
  else if (target === 'fhir') ({ app, db, accounts } = await serveFhir());
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
  send({ type: 'ready', port, ...(accounts ? { accounts } : {}) });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
