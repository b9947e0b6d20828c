import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Where DICOM instances live, behind one interface: the filesystem under the data folder by
 * default (FsObjectStore), S3-compatible storage in production (src/imaging/s3-object-store.ts).
 * The key of an instance is `studies/{study}/{series}/{sop}.dcm`.
 */
export interface ObjectStore {
  /** Stores the stream under `key` (overwrites); resolves once durable, with its size in bytes. */
  put(key: string, body: Readable): Promise<{ size: number }>;
  /** The object's bytes, or a byte range (inclusive start, exclusive end); undefined if absent. */
  get(key: string, range?: { start: number; end?: number }): Promise<Readable | undefined>;
  /** Its size, or undefined if absent. */
  size(key: string): Promise<number | undefined>;
  delete(key: string): Promise<void>;
  /**
   * Renames `from` to `to` (overwrites), where the store can do it without copying the bytes
   * (a filesystem rename, an S3 CopyObject); `moveObject` copies through the process otherwise.
   */
  move?(from: string, to: string): Promise<void>;
}

/** Moves an object: by the store's own `move` when it has one, else by copying and deleting. */
export async function moveObject(store: ObjectStore, from: string, to: string): Promise<void> {
  if (store.move) return store.move(from, to);
  const body = await store.get(from);
  if (!body) throw new Error(`object ${from} is absent`);
  await store.put(to, body);
  await store.delete(from);
}

const READ_CHUNK = 1 << 20;

/** Keys are paths of the platform's own making; anything climbing out of the folder is a bug. */
const KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Objects as files under `dir`; written to a temporary name and renamed, so a reader never sees half a file. */
export class FsObjectStore implements ObjectStore {
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  private path(key: string): string {
    if (!KEY.test(key) || key.split('/').some((segment) => segment === '..' || segment === '.')) throw new Error(`not an object key: ${key}`);
    return `${this.dir}${sep}${key.split('/').join(sep)}`;
  }

  async put(key: string, body: Readable): Promise<{ size: number }> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.${randomUUID()}.partial`;
    try {
      await pipeline(body, createWriteStream(partial, { flush: true }));
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { size: (await stat(path)).size };
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable | undefined> {
    const path = this.path(key);
    const size = await this.size(key);
    if (size === undefined) return undefined;
    // createReadStream's `end` is inclusive; ours is exclusive. An empty range reads nothing.
    if (range && (range.end ?? size) <= range.start) return Readable.from([]);
    // 1 MiB reads: a series retrieved as multipart passes each chunk through a generator, and 64 KiB ones made that the cost.
    return createReadStream(path, { highWaterMark: READ_CHUNK, ...(range ? { start: range.start, ...(range.end !== undefined ? { end: range.end - 1 } : {}) } : {}) });
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const info = await stat(this.path(key));
      return info.isFile() ? info.size : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async move(from: string, to: string): Promise<void> {
    const target = this.path(to);
    await mkdir(dirname(target), { recursive: true });
    await rename(this.path(from), target);
  }
}
