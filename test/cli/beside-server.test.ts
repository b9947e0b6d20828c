import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { commandSocketPath } from '../../src/cli/command-socket.js';
import { loadConfig } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { densaulyq } from '../support/cli.js';
import { testDrivers } from '../support/database.js';

for (const driver of testDrivers()) {
  describe(`the command line beside a running server (${driver.name})`, { skip: driver.skip }, () => {
    let dir: string;
    let env: Record<string, string>;
    let drop: () => Promise<void>;
    let server: RunningServer | undefined;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'densaulyq-beside-'));
      const database = await driver.createForProcess();
      drop = database.drop;
      // One environment for the server and the command line, as in a deployment: with PostgreSQL the
      // command mints its token itself, for the issuer PUBLIC_ORIGIN names.
      env = { ...database.env, DATA_DIR: join(dir, 'data'), DEMO_PATIENTS: '0', PUBLIC_ORIGIN: 'http://localhost:8080' };
      server = await startServer(loadConfig({ ...env, PORT: '0', HOST: '127.0.0.1', MLLP_PORT: '0' }), pino({ level: 'silent' }));
    });
    after(async () => {
      await server?.stop();
      await drop?.();
      await rm(dir, { recursive: true, force: true });
    });

    const fhir = (path: string, token: string) => fetch(`${server!.url}/fhir/${path}`, { headers: { authorization: `Bearer ${token}` } });

    it('adds an account, gets it a token the server accepts, and verifies the audit trail, the server running', async () => {
      const added = await densaulyq(['user', 'add', '--username', 'dana', '--role', 'administrator', '--clinical-access'], env);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /^dana {2}\S{16}\n$/, 'the generated password, printed once');

      const issued = await densaulyq(['token', '--user', 'dana'], env);
      assert.equal(issued.code, 0, issued.stderr);
      const token = issued.stdout.trim();
      assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      assert.equal((await fhir('Patient', token)).status, 200, 'the running server accepts the token');

      const verified = await densaulyq(['audit', 'verify'], env);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      assert.match(verified.stdout, /^audit trail intact: \d+ chains, \d+ records in/);
      assert.match(verified.stdout, /checked against the newest anchor in /, 'the server wrote one at start');
    });

    it('reports a usage mistake the same way, with the usage text and exit status 2', async () => {
      const mistaken = await densaulyq(['token'], env);
      assert.equal(mistaken.code, 2);
      assert.match(mistaken.stderr, /^Unknown use of token\n\nUsage: densaulyq <command>/);
    });

    it(
      driver.name === 'pglite' ? 'the server takes the commands on a socket only its owner may open' : 'the server opens no socket: PostgreSQL takes the command line itself',
      async () => {
        const socket = await stat(commandSocketPath({ dataDir: join(dir, 'data') })).catch(() => undefined);
        if (driver.name === 'pglite') {
          assert.ok(socket, 'a socket in DATA_DIR');
          assert.ok(socket.isSocket());
          assert.equal(socket.mode & 0o777, 0o600);
        } else {
          assert.equal(socket, undefined);
        }
      },
    );

    it('opens the database itself once the server has stopped, with the same output', async () => {
      await server!.stop();
      server = undefined;
      assert.equal(await stat(commandSocketPath({ dataDir: join(dir, 'data') })).catch(() => undefined), undefined, 'the socket goes with the server');
      const issued = await densaulyq(['token', '--user', 'dana'], env);
      assert.equal(issued.code, 0, issued.stderr);
      assert.match(issued.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const mistaken = await densaulyq(['token'], env);
      assert.equal(mistaken.code, 2);
      assert.match(mistaken.stderr, /^Unknown use of token\n\nUsage: densaulyq <command>/);
    });
  });
}
