import { chmod, rm } from 'node:fs/promises';
import { type Socket, createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { isJsonObject } from '../fhir/json.js';
import { errorMessage } from '../fhir/outcome.js';
import { assertAuditKey } from '../store/audit-chain.js';
import type { Database } from '../store/driver.js';
import { runDatabaseCommand } from './commands.js';
import type { CommandSession, TextOutput } from './session.js';

// The embedded database (PGlite) has one owner: while the server runs, it is the server. So the
// server takes the command line's database commands on a Unix socket beside the database, and
// `densaulyq token` (import, audit verify, …) finding it live runs there instead of opening the
// folder itself. The socket is the owner's only (0600), as the data folder is: whoever may use
// it could open the database anyway.

/** One request per connection: the command line as typed and the folder it was typed in. */
interface CommandRequest {
  argv: string[];
  cwd: string;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
}

/** What comes back, one JSON object a line: output as it is written, then the exit status. */
type Frame = { stdout: string } | { stderr: string } | { exit: number };

/** Where a server holding the embedded database in `dataDir` takes commands. */
export function commandSocketPath(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'cli.sock');
}

export interface CommandListener {
  /** Stops taking commands, lets those running finish, and removes the socket. */
  close(): Promise<void>;
}

/** Serves database commands on `commandSocketPath(config)`, run on the server's own `db`. */
export async function serveCommands(db: Database, config: Config): Promise<CommandListener> {
  const path = commandSocketPath(config);
  if ((await probe(path)) === 'live') throw new Error(`another server already holds the database in ${config.dataDir} (${path} answers)`);
  // Left by a server that did not stop cleanly: nothing listens on it.
  await rm(path, { force: true });
  const running = new Set<Promise<void>>();
  const server = createServer((socket) => {
    const done = serveOne(socket, db, config).finally(() => running.delete(done));
    running.add(done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return {
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(running);
      await closed;
      await rm(path, { force: true });
    },
  };
}

async function serveOne(socket: Socket, db: Database, config: Config): Promise<void> {
  const send = (frame: Frame) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(frame)}\n`);
  };
  socket.on('error', () => {
    // The command line went away (Ctrl-C): the command still finishes, its output is dropped.
  });
  let request: CommandRequest;
  try {
    request = await readRequest(socket);
  } catch {
    socket.destroy();
    return;
  }
  const session: CommandSession = {
    config,
    cwd: request.cwd,
    stdout: { write: (text: string) => send({ stdout: text }), isTTY: request.stdoutIsTTY },
    stderr: { write: (text: string) => send({ stderr: text }), isTTY: request.stderrIsTTY },
    exitCode: 0,
    async database(key) {
      if (key) await assertAuditKey(db, key);
      return db;
    },
  };
  try {
    await runDatabaseCommand(request.argv, session);
  } catch (error) {
    session.stderr.write(`${errorMessage(error)}\n`);
    session.exitCode = 1;
  }
  send({ exit: session.exitCode });
  socket.end();
}

function readRequest(socket: Socket): Promise<CommandRequest> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\n');
      if (end === -1) {
        if (buffered.length > 1 << 20) reject(new Error('command request too long'));
        return;
      }
      socket.off('data', onData);
      try {
        const request: unknown = JSON.parse(buffered.slice(0, end));
        if (!isJsonObject(request)) throw new Error('not a command request');
        const { argv, cwd } = request;
        const args: readonly unknown[] = Array.isArray(argv) ? argv : [];
        if (!Array.isArray(argv) || !args.every((a): a is string => typeof a === 'string') || typeof cwd !== 'string') throw new Error('not a command request');
        resolve({ argv: [...args], cwd, stdoutIsTTY: request.stdoutIsTTY === true, stderrIsTTY: request.stderrIsTTY === true });
      } catch (error) {
        reject(error);
      }
    };
    socket.on('data', onData);
    socket.once('end', () => reject(new Error('no command request')));
  });
}

/** Whether a server answers on `path`. */
async function probe(path: string): Promise<'live' | 'absent'> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve('live');
    });
    socket.once('error', () => resolve('absent'));
  });
}

/**
 * Runs `argv` in the server holding the embedded database in `config.dataDir`, when one answers
 * on its socket, writing the command's output here as it comes: its exit status, or undefined
 * when no server listens (the caller then opens the database itself).
 */
export function runInServer(
  config: Pick<Config, 'dataDir'>,
  argv: readonly string[],
  terminal: { cwd: string; stdout: TextOutput; stderr: TextOutput },
): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(commandSocketPath(config));
    let connected = false;
    let buffered = '';
    let exit: number | undefined;
    socket.once('connect', () => {
      connected = true;
      const request: CommandRequest = {
        argv: [...argv],
        cwd: terminal.cwd,
        stdoutIsTTY: terminal.stdout.isTTY === true,
        stderrIsTTY: terminal.stderr.isTTY === true,
      };
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
        const frame = JSON.parse(buffered.slice(0, end)) as Frame;
        buffered = buffered.slice(end + 1);
        if ('stdout' in frame) terminal.stdout.write(frame.stdout);
        else if ('stderr' in frame) terminal.stderr.write(frame.stderr);
        else exit = frame.exit;
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // No socket, or one a stopped server left behind: nobody holds the database.
      if (!connected && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) resolve(undefined);
      else reject(error);
    });
    socket.once('close', () => {
      if (!connected) return;
      if (exit === undefined) reject(new Error('the server stopped before the command finished'));
      else resolve(exit);
    });
  });
}
