import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

/**
 * Every shell example of the README, run as written against a server started the way `npm start`
 * starts it, on the embedded database the README's "Run it" describes (a fresh DATA_DIR, a few
 * demo patients). Only `http://localhost:8080` is pointed at the test's port. Left out: the
 * install-and-start line (the test does that) and `npm test` (this suite is part of it).
 */
const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

interface Example {
  line: string;
  /** `NAME=$(command)`: the variable the command's output is kept in for the lines after it. */
  assigns?: string;
  command: string;
}

async function readmeExamples(): Promise<Example[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  return blocks
    .flatMap((block) => block.split('\n'))
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !/\bnpm (install|test)\b/.test(line))
    .map((line) => {
      const assignment = /^([A-Z_]+)=\$\((.*)\)$/.exec(line);
      return assignment ? { line, assigns: assignment[1]!, command: assignment[2]! } : { line, command: line };
    });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('the README examples run as written (pglite: the embedded database of "Run it")', () => {
  let dataDir: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess | undefined;

  /** `npm start` is `tsx src/cli.ts serve`; this is the same without npm in between, so the test can stop it. */
  async function start(): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let output = '';
    await new Promise<void>((ready, failed) => {
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Densaulyq is running')) ready();
      };
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      child.once('exit', (code) => failed(new Error(`the server exited (${code}) before it was ready:\n${output}`)));
    });
  }

  async function stop(): Promise<void> {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'densaulyq-readme-'));
    port = await freePort();
    env = { ...process.env, DATA_DIR: dataDir, PORT: String(port), MLLP_PORT: '0', DEMO_PATIENTS: '3', LOG_LEVEL: 'warn', DATABASE_URL: '' };
    // The first start seeds the demo population and creates the demo accounts.
    await start();
  });
  after(async () => {
    await stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('every example succeeds', { timeout: 300_000 }, async () => {
    const examples = await readmeExamples();
    assert.ok(examples.some((e) => e.command.startsWith('curl')), 'the README has curl examples');
    const variables: Record<string, string> = {};
    for (const example of examples) {
      const command = example.command.replaceAll('http://localhost:8080', `http://127.0.0.1:${port}`);
      if (command.startsWith('curl ') && example.assigns) {
        // A value read from the API for the lines after it, the server running.
        const { stdout } = await run('bash', ['-c', command], { cwd: ROOT, env: { ...env, ...variables } });
        assert.notEqual(stdout.trim(), '', `${example.line} printed nothing`);
        variables[example.assigns] = stdout.trim();
        continue;
      }
      const saved = / -o (\S+)$/.exec(command)?.[1];
      if (command.startsWith('curl ') && saved) {
        // A download (the printed passport): saved where the test keeps its files, a PDF.
        const file = join(dataDir, saved);
        const { stdout } = await run('bash', ['-c', `${command.slice(0, -saved.length)}${file} -sS -w '%{http_code} %{content_type}'`], { cwd: ROOT, env: { ...env, ...variables } });
        assert.match(stdout, /^2\d\d application\/pdf/, example.line);
        assert.equal((await readFile(file)).subarray(0, 5).toString('latin1'), '%PDF-', example.line);
        continue;
      }
      if (command.startsWith('curl ')) {
        // The status and the type of what came back, after the body, which must be FHIR JSON.
        const { stdout } = await run('bash', ['-c', `${command} -sS -w '\\n%{http_code} %{content_type}'`], { cwd: ROOT, env: { ...env, ...variables } });
        const [status, type] = stdout.slice(stdout.lastIndexOf('\n') + 1).split(' ');
        assert.match(status!, /^2\d\d$/, `${example.line}\n${stdout}`);
        assert.match(type!, /^application\/fhir\+json/, example.line);
        assert.ok(JSON.parse(stdout.slice(0, stdout.lastIndexOf('\n'))).resourceType, example.line);
        continue;
      }
      // The README: with the embedded database, the command line runs while the server is stopped.
      await stop();
      try {
        const { stdout } = await run('bash', ['-c', command], { cwd: ROOT, env: { ...env, ...variables } });
        if (example.assigns) {
          assert.notEqual(stdout.trim(), '', `${example.line} printed nothing`);
          variables[example.assigns] = stdout.trim();
        }
      } finally {
        await start();
      }
    }
  });
});
