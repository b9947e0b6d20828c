/**
 * Buffers read into and used again once their bytes are written. Why: on the virtual machines
 * this runs on, a fresh buffer for every read cost more than the bytes themselves (new memory
 * faulted in page by page, then collected): a series read through fresh 1 MiB buffers took
 * several times the CPU of the same reads into reused ones.
 */

/** A chunk of bytes in a pooled buffer: call `release` once, when nothing needs the bytes any more. */
export interface PooledChunk {
  bytes: Buffer;
  release(): void;
}

export class BufferPool {
  private readonly free: Buffer[] = [];

  /** Buffers of `size` bytes; at most `keep` are held while unused (the rest go to the collector). */
  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.keep && buffer.length === this.size) this.free.push(buffer);
  }

  /** A chunk of `buffer`'s first `length` bytes that gives the buffer back when released (once, however often called). */
  chunk(buffer: Buffer, length: number): PooledChunk {
    let released = false;
    return {
      bytes: buffer.subarray(0, length),
      release: () => {
        if (released) return;
        released = true;
        this.give(buffer);
      },
    };
  }
}
