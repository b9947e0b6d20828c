import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SqlClient } from '../store/driver.js';
import { type AuditHead, auditHeads, headsDigest } from './audit-verify.js';

/**
 * Anchors: the audit chains' heads at a moment, kept outside the database, so that removing the
 * newest records and rewinding a chain's head (which leaves the chain consistent with itself) is
 * found by `audit verify` (src/access/audit-verify.ts). The running server writes one at an
 * interval when a head moved, and one when it stops.
 */
export interface AuditAnchor {
  /** When the heads were read (ISO 8601 instant). */
  written: string;
  /** `headsDigest(heads)`: one value to publish or sign. */
  digest: string;
  heads: AuditHead[];
}

/**
 * Where anchors are kept. The folder is the default; in production it belongs on storage the
 * database's administrators cannot write (another machine, or an object store with a retention lock).
 */
export interface AnchorStore {
  /** Where the anchors are, for messages. */
  readonly location: string;
  save(anchor: AuditAnchor): Promise<void>;
  /** The newest anchor; undefined when none was saved. */
  latest(): Promise<AuditAnchor | undefined>;
}

/** The anchor of `heads`, read at `written`. */
export function anchorOf(heads: AuditHead[], written: string): AuditAnchor {
  return { written, digest: headsDigest(heads), heads };
}

/**
 * The anchor in `text` (as `FolderAnchorStore` and `audit verify --write-anchor` write it), or
 * undefined when it is not one: malformed, or its digest does not match its heads.
 */
export function parseAnchor(text: string): AuditAnchor | undefined {
  let value: { written?: unknown; digest?: unknown; heads?: unknown };
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const heads = value?.heads;
  const valid =
    Array.isArray(heads) &&
    heads.every((h: AuditHead) => Number.isInteger(h?.chain) && Number.isInteger(h?.seq) && /^[0-9a-f]{64}$/.test(h?.hash)) &&
    value.digest === headsDigest(heads);
  if (!valid) return undefined;
  return { written: typeof value.written === 'string' ? value.written : '', digest: value.digest as string, heads };
}

/** One file per anchor, named by the instant its heads were read, so the names sort in time. */
const ANCHOR_FILE = /^(\d{4}-\d{2}-\d{2})T\d{2}-\d{2}-\d{2}\.\d{3}Z-[0-9a-f]{6}\.json$/;

/**
 * Anchors as files in one folder, each written whole or not at all (a temporary file, synced,
 * then renamed). The newest anchor is all `audit verify` needs; of the days before the newest
 * anchor's day, the last anchor of each is kept as a history and the others are removed.
 */
export class FolderAnchorStore implements AnchorStore {
  constructor(readonly location: string) {}

  async save(anchor: AuditAnchor): Promise<void> {
    await mkdir(this.location, { recursive: true });
    const name = `${anchor.written.replace(/:/g, '-')}-${randomBytes(3).toString('hex')}.json`;
    if (!ANCHOR_FILE.test(name)) throw new Error(`an anchor needs an ISO 8601 UTC instant, not "${anchor.written}"`);
    const temporary = join(this.location, `.${name}.tmp`);
    const file = await open(temporary, 'wx');
    try {
      await file.writeFile(`${JSON.stringify(anchor, null, 2)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, join(this.location, name));
    await this.prune();
  }

  async latest(): Promise<AuditAnchor | undefined> {
    const newest = (await this.names()).at(-1);
    if (!newest) return undefined;
    const path = join(this.location, newest);
    const anchor = parseAnchor(await readFile(path, 'utf8'));
    if (!anchor) throw new Error(`${path} is not an audit anchor`);
    return anchor;
  }

  private async names(): Promise<string[]> {
    const entries = await readdir(this.location).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    return entries.filter((name) => ANCHOR_FILE.test(name)).sort();
  }

  private async prune(): Promise<void> {
    const names = await this.names();
    const today = ANCHOR_FILE.exec(names.at(-1) ?? '')?.[1];
    const lastOfDay = new Map(names.map((name) => [ANCHOR_FILE.exec(name)![1]!, name]));
    const removable = names.filter((name) => {
      const day = ANCHOR_FILE.exec(name)![1]!;
      return day !== today && lastOfDay.get(day) !== name;
    });
    await Promise.all(removable.map((name) => rm(join(this.location, name), { force: true })));
  }
}

export interface AnchorWriter {
  /** Stops the interval and writes a last anchor (when a head moved), for the shutdown. */
  stop(): Promise<void>;
}

/**
 * Writes the chains' heads to `store` now, then every `seconds` (0: only now and at stop), each
 * time only when they changed since the newest anchor. A failed write goes to `onError` and the
 * next interval tries again; the anchors are a check on the database, not a condition for serving.
 */
export async function startAnchorWriter(options: {
  db: SqlClient;
  store: AnchorStore;
  seconds: number;
  onError: (error: Error) => void;
}): Promise<AnchorWriter> {
  const { db, store, seconds, onError } = options;
  let lastDigest = await store.latest().then(
    (anchor) => anchor?.digest,
    (error: Error) => {
      onError(error);
      return undefined;
    },
  );
  const writeIfMoved = async () => {
    // The instant before the heads are read: a later name of this writer never holds older heads.
    const written = new Date().toISOString();
    const anchor = anchorOf(await auditHeads(db), written);
    if (anchor.digest === lastDigest) return;
    await store.save(anchor);
    lastDigest = anchor.digest;
  };
  // One write at a time: a slow store makes intervals wait instead of piling up.
  let running = Promise.resolve();
  const tick = () => (running = running.then(writeIfMoved).catch(onError));
  await tick();
  const timer = seconds > 0 ? setInterval(tick, seconds * 1000) : undefined;
  timer?.unref();
  return {
    async stop() {
      clearInterval(timer);
      await tick();
    },
  };
}
