import { randomUUID } from 'node:crypto';
import fs, { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { BufferPool, type PooledChunk } from './buffer-pool.js';

/**
 * Where DICOM instances live, behind one interface: the filesystem under the data folder by
 * default (FsObjectStore), S3-compatible storage in production (src/imaging/s3-object-store.ts).
 * The key of an instance is `studies/{study}/{series}/{sop}.dcm`.
 */
export interface ObjectStore {
  /**
   * Stores the bytes under `key` (overwrites); resolves once durable, with its size in bytes. A
   * Readable is such a source. `scratch`: the key is a new temporary one that nothing reads before
   * this resolves, so the store may write it in place rather than make it appear whole.
   */
  put(key: string, body: AsyncIterable<Buffer>, options?: { scratch?: boolean }): Promise<{ size: number }>;
  /** The object's bytes, or a byte range (inclusive start, exclusive end); undefined if absent. */
  get(key: string, range?: { start: number; end?: number }): Promise<Readable | undefined>;
  /** Its size, or undefined if absent. */
  size(key: string): Promise<number | undefined>;
  delete(key: string): Promise<void>;
  /**
   * The bytes `start` to `end` (exclusive) in chunks of buffers the store uses again, each to be
   * released once written; undefined if absent. Without it, `objectChunks` reads `get`'s stream.
   */
  chunks?(key: string, range: { start: number; end: number }): Promise<ChunkSource | undefined>;
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

/**
 * An object's bytes in chunks to release once written. `return` closes it whether or not it was
 * read: an answer broken off closes what it opened ahead.
 */
export type ChunkSource = AsyncIterableIterator<PooledChunk> & { return(): Promise<IteratorResult<PooledChunk>> };

/** An object's bytes as released chunks: the store's own pooled ones, or `get`'s with nothing to give back. */
export async function objectChunks(store: ObjectStore, key: string, range: { start: number; end: number }): Promise<ChunkSource | undefined> {
  if (store.chunks) return store.chunks(key, range);
  const stream = await store.get(key, range);
  if (!stream) return undefined;
  const chunks = stream[Symbol.asyncIterator]();
  const source: ChunkSource = {
    [Symbol.asyncIterator]: () => source,
    next: async () => {
      const next = await chunks.next();
      return next.done ? { done: true, value: undefined } : { done: false, value: { bytes: next.value as Buffer, release: () => undefined } };
    },
    return: async () => {
      stream.destroy();
      return { done: true, value: undefined };
    },
  };
  return source;
}

/**
 * Whether two objects hold the same bytes, compared in step (a resent instance is checked against
 * the stored one this way rather than by a digest of every instance received); undefined if
 * either is absent.
 */
export async function sameBytes(store: ObjectStore, a: string, b: string): Promise<boolean | undefined> {
  const [sizeA, sizeB] = await Promise.all([store.size(a), store.size(b)]);
  if (sizeA === undefined || sizeB === undefined) return undefined;
  if (sizeA !== sizeB) return false;
  const [left, right] = await Promise.all([objectChunks(store, a, { start: 0, end: sizeA }), objectChunks(store, b, { start: 0, end: sizeB })]);
  let l: { chunk: PooledChunk; at: number } | undefined;
  let r: { chunk: PooledChunk; at: number } | undefined;
  const next = async (source: ChunkSource) => {
    const { done, value } = await source.next();
    return done ? undefined : { chunk: value, at: 0 };
  };
  try {
    if (!left || !right) return undefined;
    for (;;) {
      l ??= await next(left);
      r ??= await next(right);
      // The sizes are equal: both end together unless a file changed meanwhile.
      if (!l || !r) return !l && !r;
      const length = Math.min(l.chunk.bytes.length - l.at, r.chunk.bytes.length - r.at);
      if (!l.chunk.bytes.subarray(l.at, l.at + length).equals(r.chunk.bytes.subarray(r.at, r.at + length))) return false;
      l.at += length;
      r.at += length;
      if (l.at === l.chunk.bytes.length) {
        l.chunk.release();
        l = undefined;
      }
      if (r.at === r.chunk.bytes.length) {
        r.chunk.release();
        r = undefined;
      }
    }
  } finally {
    l?.chunk.release();
    r?.chunk.release();
    await Promise.all([left?.return(), right?.return()]);
  }
}

const READ_CHUNK = 1 << 20;
/** The buffers objects are read into (`chunks`): a few per answer being written, kept for the next. */
const READ_POOL = new BufferPool(READ_CHUNK, 64);
const WRITE_BYTES = 1 << 20;

// The callback forms with a bare descriptor: a FileHandle per object cost more of the event loop than the writes.
const openFile = promisify(fs.open);
const writevFile = promisify(fs.writev);
const fsyncFile = promisify(fs.fsync);
// Closed in place: a close has nothing to wait for (the bytes are synced, or were only read), and a
// thread-pool round costs several times the call on these virtual machines (futex wake-ups).
const closeFile = (fd: number) => fs.closeSync(fd);
const readFile = (fd: number, buffer: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => fs.read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));

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

/**
 * A file's bytes from `at` to `end` in pooled buffers, each chunk read while the one before is
 * being written (and the first as soon as the file is opened); closed at its end, on an error,
 * or by `return`.
 */
class FileChunks implements ChunkSource {
  private closed = false;
  private pending: Promise<PooledChunk | undefined> | undefined;

  constructor(
    private readonly fd: number,
    private at: number,
    private readonly end: number,
  ) {
    this.pending = this.read();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private read(): Promise<PooledChunk | undefined> | undefined {
    if (this.closed || this.at >= this.end) return undefined;
    const buffer = READ_POOL.take();
    const length = Math.min(buffer.length, this.end - this.at);
    const position = this.at;
    this.at += length;
    const reading = readFile(this.fd, buffer, 0, length, position).then(
      (read) => {
        // A file shorter than the range ends here.
        if (read < length) this.at = this.end;
        if (read > 0) return READ_POOL.chunk(buffer, read);
        READ_POOL.give(buffer);
        return undefined;
      },
      (error: unknown) => {
        READ_POOL.give(buffer);
        throw error;
      },
    );
    // Awaited by next() or return(); until then a failure must not count as unhandled.
    reading.catch(() => undefined);
    return reading;
  }

  async next(): Promise<IteratorResult<PooledChunk>> {
    const reading = this.pending;
    this.pending = undefined;
    const chunk = await reading?.catch(async (error: unknown) => {
      await this.return();
      throw error;
    });
    if (!chunk) return this.return();
    this.pending = this.read();
    return { done: false, value: chunk };
  }

  async return(): Promise<IteratorResult<PooledChunk>> {
    if (!this.closed) {
      this.closed = true;
      const reading = this.pending;
      this.pending = undefined;
      (await reading?.catch(() => undefined))?.release();
      closeFile(this.fd);
    }
    return { done: true, value: undefined };
  }
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

  async put(key: string, body: AsyncIterable<Buffer>, options?: { scratch?: boolean }): Promise<{ size: number }> {
    const path = this.path(key);
    const partial = options?.scratch ? path : `${path}.${randomUUID()}.partial`;
    let size = 0;
    try {
      // Opened before the body is read: a write that failed after reading it could not be tried again.
      const file = await this.inFolder(path, () => openFile(partial, 'w'));
      try {
        // Chunks gathered to WRITE_BYTES and written with one writev: a system call and a thread-pool round per chunk cost more than the bytes.
        let gathered: Buffer[] = [];
        let gatheredBytes = 0;
        for await (const chunk of body) {
          gathered.push(chunk);
          gatheredBytes += chunk.length;
          if (gatheredBytes >= WRITE_BYTES) {
            size += await writeAll(file, gathered);
            gathered = [];
            gatheredBytes = 0;
          }
        }
        size += await writeAll(file, gathered);
        await fsyncFile(file);
      } finally {
        closeFile(file);
      }
      if (partial !== path) await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { size };
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<Readable | undefined> {
    const path = this.path(key);
    const size = await this.size(key);
    if (size === undefined) return undefined;
    // createReadStream's `end` is inclusive; ours is exclusive. An empty range reads nothing.
    if (range && (range.end ?? size) <= range.start) return Readable.from([]);
    // The end always given: a stream that knows it allocates what is left, not 1 MiB to copy a smaller file out of.
    const start = range?.start ?? 0;
    return createReadStream(path, { highWaterMark: READ_CHUNK, start, end: Math.min(range?.end ?? size, size) - 1 });
  }

  async chunks(key: string, range: { start: number; end: number }): Promise<ChunkSource | undefined> {
    const fd = await this.openForReading(key);
    return fd === undefined ? undefined : new FileChunks(fd, range.start, range.end);
  }

  /** A descriptor of the object's file, or undefined if absent. */
  private async openForReading(key: string): Promise<number | undefined> {
    try {
      return await openFile(this.path(key), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
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
