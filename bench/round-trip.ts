/**
 * What one round trip to PostgreSQL costs in CPU apart from the work of its statement: a
 * prepared `SELECT $1::int`, sent one after another, over TCP on loopback and, when `--socket DIR`
 * names the server's socket folder, over its Unix socket; the CPU of this Node process and of the
 * server's backend, per round trip. Filing a lab message or making a write takes several round
 * trips (`npm run bench:lab -- --breakdown` counts them), and on these machines one costs about as
 * much CPU as the statement it carries: this is the yardstick for cutting them.
 *
 *   DATABASE_URL=postgres://…@127.0.0.1:… npx tsx bench/round-trip.ts [--socket /tmp/bench-pg]
 *
 * Environment: DATABASE_URL (required; the server on this machine), BENCH_ROUND_TRIPS (5000).
 */
import pg from 'pg';
import { processCpuMs } from './cpu.js';
import { envInteger } from './settings.js';

const trips = envInteger('BENCH_ROUND_TRIPS', 5000);
const serverUrl = process.env.DATABASE_URL;
if (!serverUrl) throw new Error('DATABASE_URL must name a PostgreSQL server on this machine');
const socketAt = process.argv.indexOf('--socket');
const socket = socketAt > 0 ? process.argv[socketAt + 1] : undefined;

/** Node µs, server µs and wall µs per round trip over the connection `url` names. */
async function measure(url: string): Promise<{ node: number; server: number; wall: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { pid } = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;
    const once = (i: number) => client.query({ name: 'round-trip', text: 'SELECT $1::int AS n', values: [i] });
    for (let i = 0; i < 500; i++) await once(i);
    const [node0, server0, wall0] = [process.cpuUsage(), await processCpuMs(pid), performance.now()];
    for (let i = 0; i < trips; i++) await once(i);
    const [node1, server1, wall1] = [process.cpuUsage(node0), await processCpuMs(pid), performance.now()];
    return { node: (node1.user + node1.system) / trips, server: ((server1! - server0!) * 1000) / trips, wall: ((wall1 - wall0) * 1000) / trips };
  } finally {
    await client.end();
  }
}

const sides: [string, string][] = [['TCP, loopback', serverUrl]];
if (socket) {
  const url = new URL(serverUrl);
  sides.push(['Unix socket', `postgres://${url.username}@/${url.pathname.slice(1)}?host=${encodeURIComponent(socket)}&port=${url.port || '5432'}`]);
}
console.log(`${trips} prepared SELECT $1::int, one after another, per round trip:`);
console.log(['connection'.padEnd(14), 'Node CPU µs', 'server CPU µs', 'wall µs'].join('  '));
for (const [name, url] of sides) {
  const { node, server, wall } = await measure(url);
  console.log([name.padEnd(14), node.toFixed(0).padStart(11), server.toFixed(0).padStart(13), wall.toFixed(0).padStart(7)].join('  '));
}
