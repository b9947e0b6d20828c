import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** An account serve-target created in its database, and an access token it minted for it. */
export interface BenchAccount {
  /** The account id: the token's `sub`, which break-glass grants name. */
  subject: string;
  token: string;
}

/**
 * The accounts of a `fhir` target: an administrator granted clinical access (scope
 * `user/*.cruds`, sees everything: the existing scenarios and every preload) and a clinician of
 * organization BENCH_ORGANIZATION (scope `user/*.rs`: the access benchmark's door).
 */
export interface BenchAccounts {
  administrator: BenchAccount;
  clinician: BenchAccount;
}

/** Messages from serve-target.ts to the parent. */
export type TargetMessage =
  | { type: 'ready'; port: number; accounts?: BenchAccounts }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; message: string };

/** Messages from the parent to serve-target.ts. */
export type ParentMessage =
  | { type: 'profile-start'; id: number }
  | { type: 'profile-stop'; id: number; file: string }
  | { type: 'stop'; id: number };

type Command = ParentMessage extends infer M ? (M extends ParentMessage ? Omit<M, 'id'> : never) : never;

const SERVE_TARGET = fileURLToPath(new URL('./serve-target.ts', import.meta.url));

export interface TargetProcess {
  /** http://127.0.0.1:port */
  origin: string;
  pid: number;
  /** The `fhir` target's accounts; undefined for `bare`. */
  accounts: BenchAccounts | undefined;
  /** Starts a CPU profile inside the server (inspector Profiler). */
  profileStart(): Promise<void>;
  /** Stops the profile and writes it as a .cpuprofile file. */
  profileStop(file: string): Promise<void>;
  /** Closes the server and its database, and waits for the process to exit. */
  stop(): Promise<void>;
}

/** Starts serve-target.ts as `node --import tsx` with `env` added, and waits until it listens. */
export async function startTarget(env: Record<string, string | undefined>): Promise<TargetProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SERVE_TARGET], {
    env: { ...process.env, ...env },
    // stdout (request logs) goes to /dev/null; stderr stays visible for crashes.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<Extract<TargetMessage, { type: 'ready' }>>((resolve, reject) => {
    child.once('message', (message: TargetMessage) => {
      if (message.type === 'ready') resolve(message);
      else reject(new Error(`unexpected first message from the target: ${JSON.stringify(message)}`));
    });
    void exited.then((code) => reject(new Error(`the ${env.BENCH_TARGET} target exited with code ${code} before listening`)));
  });

  let nextId = 1;
  const request = (command: Command) =>
    new Promise<void>((resolve, reject) => {
      const id = nextId++;
      const onMessage = (message: TargetMessage) => {
        if (message.type === 'ready' || message.id !== id) return;
        child.off('message', onMessage);
        if (message.type === 'done') resolve();
        else reject(new Error(message.message));
      };
      child.on('message', onMessage);
      child.send({ ...command, id } as ParentMessage);
    });

  return {
    origin: `http://127.0.0.1:${ready.port}`,
    pid: child.pid!,
    accounts: ready.accounts,
    profileStart: () => request({ type: 'profile-start' }),
    profileStop: (file) => request({ type: 'profile-stop', file }),
    async stop() {
      if (child.exitCode !== null) return;
      await request({ type: 'stop' });
      await exited;
    },
  };
}

export type FhirTarget = TargetProcess & { accounts: BenchAccounts };

/** A `fhir` target: like startTarget, with the accounts it created. */
export async function startFhirTarget(env: Record<string, string | undefined>): Promise<FhirTarget> {
  const target = await startTarget({ ...env, BENCH_TARGET: 'fhir' });
  const { accounts } = target;
  if (!accounts) {
    await target.stop();
    throw new Error('the fhir target sent no accounts');
  }
  return { ...target, accounts };
}

/** The header a bench request sends as `account`. */
export function bearer(account: BenchAccount): { authorization: string } {
  return { authorization: `Bearer ${account.token}` };
}
