import type { Config } from '../config.js';
import type { AuditKey } from '../store/audit-key.js';
import type { Database } from '../store/driver.js';

/** Somewhere a command writes text: the terminal, or the socket back to it (src/cli/command-socket.ts). */
export interface TextOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * Where a database command runs: in the `densaulyq` process on a database it opens itself, or
 * inside the running server on the server's own (the embedded database has one owner). Either
 * way the command reads and writes the same, so its output is the same.
 */
export interface CommandSession {
  /** The deployment's settings: the server's when the server runs the command. */
  readonly config: Config;
  /** The folder the command was typed in: relative paths in its arguments resolve against it. */
  readonly cwd: string;
  readonly stdout: TextOutput;
  readonly stderr: TextOutput;
  /** 1 when the command ran and found a problem (rejected lines, a tampered audit trail). */
  exitCode: number;
  /**
   * The database, with `key` checked against the audit chains' seals when given (AuditKeyMismatch
   * otherwise): `audit verify` must learn that a key is not the chains' key, not be refused.
   */
  database(key?: AuditKey): Promise<Database>;
}

/** A mistake in how the command was called: printed with the usage text, exit status 2. */
export class UsageError extends Error {}
