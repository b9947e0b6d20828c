import { randomUUID } from 'node:crypto';
import fs, { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';

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
const WRITE_BYTES = 1 << 20;

// The callback forms with a bare descriptor: a FileHandle per object cost more of the event loop than the writes.
const openFile = promisify(fs.open);
const writevFile = promisify(fs.writev);
const fsyncFile = promisify(fs.fsync);
const closeFile = promisify(fs.close);

/** Writes every byte of `chunks` (a writev may write fewer); returns how many. */
async function writeAll(fd: number, chunks: Buffer[]): Promise<number> {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  let written = 0;
  while (written < total) {
    let { bytesWritten } = await writevFile(fd, chunks);
    written += bytesWritten;
    while (chunks.length > 0 && bytesWritten >= chunks[0]!.length) bytesWritten -= chunks.shift()!.length;
    if (chunks.length > 0) chunks[0] = chunks[0]!.subarray(bytesWritten);
  }
  return total;
}

/** Keys are paths of the platform's own making; anything climbing out of the folder is a bug. */
const KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** Objects as files under `dir`; written to a temporary name and renamed, so a reader never sees half a file. */
export class FsObjectStore implements ObjectStore {
  private readonly dir: string;
  /** Folders made already: a recursive mkdir per object is a few system calls each, for nothing. */
  private readonly made = new Set<string>();

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** Runs `write` with the folder of `path` there, made (again) when missing: it may have been removed meanwhile. */
  private async inFolder<T>(path: string, write: () => Promise<T>): Promise<T> {
    const folder = dirname(path);
    if (!this.made.has(folder)) await this.makeFolder(folder);
    try {
      return await write();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.made.delete(folder);
      await this.makeFolder(folder);
      return write();
    }
  }

  private async makeFolder(folder: string): Promise<void> {
    await mkdir(folder, { recursive: true });
    // Bounded: one entry per series is small, but a store lives for months.
    if (this.made.size >= 10_000) this.made.clear();
    this.made.add(folder);
  }

  private path(key: string): string {
    if (!KEY.test(key) || key.split('/').some((segment) => segment === '..' || segment === '.')) throw new Error(`not an object key: ${key}`);
    return `${this.dir}${sep}${key.split('/').join(sep)}`;
  }

  async put(key: string, body: Readable): Promise<{ size: number }> {
    const path = this.path(key);
    const partial = `${path}.${randomUUID()}.partial`;
    let size = 0;
    try {
      // Opened before the body is read: a write that failed after reading it could not be tried again.
      const file = await this.inFolder(path, () => openFile(partial, 'w'));
      try {
        // Chunks gathered to WRITE_BYTES and written with one writev: a system call and a thread-pool round per chunk cost more than the bytes.
        let gathered: Buffer[] = [];
        let gatheredBytes = 0;
        for await (const chunk of body) {
          gathered.push(chunk as Buffer);
          gatheredBytes += (chunk as Buffer).length;
          if (gatheredBytes >= WRITE_BYTES) {
            size += await writeAll(file, gathered);
            gathered = [];
            gatheredBytes = 0;
          }
        }
        size += await writeAll(file, gathered);
        await fsyncFile(file);
      } finally {
        await closeFile(file);
      }
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { size };
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable | undefined> {
    const path = this.path(key);
    if (range?.end !== undefined && range.end > range.start) {
      // With its end known the object is opened without a stat first: one round trip fewer per instance of a series.
      let fd: number;
      try {
        fd = await openFile(path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      return createReadStream(path, { fd, highWaterMark: READ_CHUNK, start: range.start, end: range.end - 1 });
    }
    const size = await this.size(key);
    if (size === undefined) return undefined;
    // createReadStream's `end` is inclusive; ours is exclusive. An empty range reads nothing.
    if (range && (range.end ?? size) <= range.start) return Readable.from([]);
    // 1 MiB reads: a series retrieved as multipart passes each chunk through a generator, and 64 KiB ones made that the cost.
    // The end always given: a stream that knows it allocates what is left, not 1 MiB to copy a smaller file out of.
    const start = range?.start ?? 0;
    return createReadStream(path, { highWaterMark: READ_CHUNK, start, end: Math.min(range?.end ?? size, size) - 1 });
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
    const source = this.path(from);
    await this.inFolder(target, () => rename(source, target));
  }
}
