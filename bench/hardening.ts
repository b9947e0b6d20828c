/**
 * What the hardening hooks (src/http/hardening.ts) cost per request: a dummy FHIR route over
 * loopback, bare and hardened (limits counted but never reached), with and without an Origin.
 * The server runs in a child process so that it and autocannon each get a core.
 *
 *   npx tsx bench/hardening.ts        (BENCH_SECONDS, 5; BENCH_CONNECTIONS, 16)
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { addClient } from '../src/access/clients.js';
import { registerHardening } from '../src/http/hardening.js';
import '../src/http/request-context.js';
import { openDatabase } from '../src/store/open.js';
import { envInteger } from './settings.js';

const ORIGIN = 'https://app.example.kz';
const BODY = JSON.stringify({ resourceType: 'Patient', id: 'p-1', name: [{ family: 'Example' }] });

async function serve(hardened: boolean): Promise<void> {
  const app = Fastify();
  if (hardened) {
    const db = await openDatabase({});
    await addClient(db, { client_id: 'bench-app', redirect_uris: [`${ORIGIN}/callback`], token_endpoint_auth_method: 'none' });
    await registerHardening(app, { db, corsOrigins: [], rateLimits: { perIp: 1e9, perClient: 1e9, login: 1e9 } });
  }
  // What the token check leaves behind, so the per-client limit counts.
  app.addHook('preHandler', async (request) => {
    request.accessContext = { role: 'system', subject: 'bench', clientId: 'bench', scopes: [], purposeOfUse: 'TREAT' };
  });
  app.get('/fhir/*', async (_request, reply) => reply.type('application/fhir+json').send(BODY));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.send!(typeof address === 'object' && address ? address.port : 0);
}

async function measure(hardened: boolean, headers: Record<string, string>): Promise<{ rps: number; p50: number; p99: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', hardened ? 'hardened' : 'bare'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve(m as number)));
  const url = `http://127.0.0.1:${port}/fhir/Patient/p-1`;
  const connections = envInteger('BENCH_CONNECTIONS', 16);
  await autocannon({ url, connections, duration: 1, headers });
  const result = await autocannon({ url, connections, duration: envInteger('BENCH_SECONDS', 5), headers });
  child.kill();
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3] === 'hardened');
} else {
  const runs: [string, boolean, Record<string, string>][] = [
    ['bare', false, {}],
    ['hardened', true, {}],
    ['hardened, Origin', true, { origin: ORIGIN }],
  ];
  const rows = [];
  for (const [name, hardened, headers] of runs) rows.push({ name, ...(await measure(hardened, headers)) });
  const bare = rows[0]!.rps;
  for (const row of rows) {
    const delta = Math.round(1e6 / row.rps - 1e6 / bare);
    const extra = row === rows[0] ? '' : `  ${delta >= 0 ? '+' : ''}${delta} µs/request`;
    console.log(`${row.name.padEnd(18)} ${Math.round(row.rps).toString().padStart(7)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms${extra}`);
  }
}
