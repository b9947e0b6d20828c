import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** 32 random bytes: the HMAC-SHA256 key length RFC 2104 section 3 recommends (the hash's output length). */
const KEY_BYTES = 32;
/** SHA-256's block length, to which RFC 2104 pads the key before XOR with ipad and opad. */
const BLOCK_BYTES = 64;

/**
 * The secret of the audit chain's links (https://www.rfc-editor.org/rfc/rfc2104): kept in a file
 * outside the database, so an administrator who can rewrite the tables cannot recompute the
 * links after rewriting a record. It never enters a table or a statement's text; the database
 * sessions that append records hold its padded forms in session settings (see `sessionPads`).
 */
export class AuditKey {
  readonly #secret: Buffer;

  constructor(secret: Buffer) {
    if (secret.length !== KEY_BYTES) throw new Error(`an audit key has ${KEY_BYTES} bytes, not ${secret.length}`);
    this.#secret = Buffer.from(secret);
  }

  static generate(): AuditKey {
    return new AuditKey(randomBytes(KEY_BYTES));
  }

  /** hash_n = HMAC-SHA256(key, hash_{n-1} || utf8(payload_n)), hex, as `auditSteps` computes it in SQL. */
  link(previousHex: string, payload: string): string {
    return createHmac('sha256', this.#secret).update(previousHex, 'hex').update(payload, 'utf8').digest('hex');
  }

  /** The seal over the link from which a chain is keyed (`audit_keyed_from`; the migration that made it computes it in SQL). */
  seal(chain: number, seq: number, hashHex: string): string {
    return createHmac('sha256', this.#secret).update(`densaulyq-audit-keyed-from:${chain}:${seq}:`, 'utf8').update(hashHex, 'hex').digest('hex');
  }

  /**
   * RFC 2104's (K xor ipad) and (K xor opad), hex: SQL computes
   * sha256(outer || sha256(inner || message)) with them, which is HMAC without an extension.
   */
  sessionPads(): [inner: string, outer: string] {
    const block = Buffer.alloc(BLOCK_BYTES);
    this.#secret.copy(block);
    const pad = (byte: number) => Buffer.from(block.map((b) => b ^ byte)).toString('hex');
    return [pad(0x36), pad(0x5c)];
  }

  /** A digest that names the key without revealing it, to tell keys apart in messages. */
  fingerprint(): string {
    return createHash('sha256').update('densaulyq-audit-key-fingerprint:').update(this.#secret).digest('hex').slice(0, 16);
  }
}

/**
 * Reads the key file (64 hexadecimal digits). With `create`, a missing file is made with a new
 * random key, readable by its owner only (mode 0600); a second process starting at the same
 * moment reads the file the first one made.
 */
export async function loadAuditKey(path: string, options: { create: boolean }): Promise<AuditKey> {
  const text = await readFile(path, 'utf8').catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    if (!options.create) throw new Error(`the audit key file ${path} does not exist (AUDIT_KEY_FILE)`);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const created = `${randomBytes(KEY_BYTES).toString('hex')}\n`;
    try {
      await writeFile(path, created, { mode: 0o600, flag: 'wx' });
      return created;
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
      return readFile(path, 'utf8');
    }
  });
  const hex = text.trim();
  if (!new RegExp(`^[0-9a-fA-F]{${KEY_BYTES * 2}}$`).test(hex)) {
    throw new Error(`the audit key file ${path} must hold ${KEY_BYTES} bytes as ${KEY_BYTES * 2} hexadecimal digits`);
  }
  return new AuditKey(Buffer.from(hex, 'hex'));
}

let processKey: AuditKey | undefined;

/**
 * A key made for this process and saved nowhere, for databases opened without one (tests and
 * benches): what is appended with it can be verified by this process only.
 */
export function processAuditKey(): AuditKey {
  processKey ??= AuditKey.generate();
  return processKey;
}
