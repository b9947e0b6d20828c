import { badRequest } from '../fhir/outcome.js';

/**
 * A streaming reader of multipart/related bodies (RFC 2387 over RFC 2046 section 5.1.1), as
 * STOW-RS sends them (PS3.18 section 8.6.1.2): parts come one at a time, each body as chunks,
 * so a study of gigabytes never sits in memory. At most one boundary's length is held back
 * between chunks.
 */

export interface MultipartPart {
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The part's bytes; read it to the end before asking for the next part. */
  body: AsyncIterable<Buffer>;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
/** A part's headers are a few lines; more than this is not a DICOMweb part. */
const MAX_HEADER_BYTES = 16 * 1024;

/** The `boundary` parameter of a multipart Content-Type, or undefined. */
export function multipartBoundary(contentType: string): string | undefined {
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

export async function* multipartParts(source: AsyncIterable<Buffer>, boundary: string): AsyncGenerator<MultipartPart> {
  const reader = new ChunkReader(source);
  const first = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The preamble (usually none) ends at the first boundary line.
  if (!(await reader.skipPast(first))) throw badRequest(`The multipart body has no part: no line --${boundary}`);
  for (;;) {
    // After a boundary: "--" closes the body; otherwise optional padding and CRLF start a part.
    await reader.fill(2);
    if (reader.startsWith(Buffer.from('--'))) return;
    const lineEnd = await reader.indexOf(CRLF, MAX_HEADER_BYTES);
    if (lineEnd < 0) throw badRequest(`The multipart body ends inside a boundary line`);
    reader.consume(lineEnd + 2);
    const headerEnd = reader.startsWith(CRLF) ? -2 : await reader.indexOf(HEADER_END, MAX_HEADER_BYTES);
    if (headerEnd === -1) throw badRequest(`A part's headers do not end (no empty line within ${MAX_HEADER_BYTES} bytes)`);
    const headers = headerEnd === -2 ? {} : parseHeaders(reader.take(headerEnd).toString('latin1'));
    reader.consume(headerEnd === -2 ? 2 : 4);
    let finished = false;
    const body = async function* (): AsyncGenerator<Buffer> {
      for (;;) {
        const at = reader.buffered.indexOf(delimiter);
        if (at >= 0) {
          if (at > 0) yield reader.take(at);
          reader.consume(delimiter.length);
          finished = true;
          return;
        }
        // Everything but a possible start of the delimiter can go out now.
        const safe = reader.buffered.length - (delimiter.length - 1);
        if (safe > 0) yield reader.take(safe);
        const tail = reader.take(reader.buffered.length);
        const chunk = await reader.next();
        if (!chunk) throw badRequest(`The multipart body ends inside a part, without its closing boundary`);
        // The held-back tail goes out on its own unless the delimiter starts in it: copying it onto
        // every chunk would copy the whole body once more.
        const bridge = Buffer.concat([tail, chunk.subarray(0, delimiter.length - 1)]);
        const split = bridge.indexOf(delimiter);
        if (chunk.length < delimiter.length || (split >= 0 && split < tail.length)) reader.buffered = Buffer.concat([tail, chunk]);
        else {
          if (tail.length > 0) yield tail;
          reader.buffered = chunk;
        }
      }
    };
    yield { headers, body: body() };
    if (!finished) throw new Error('a multipart part was not read to its end');
  }
}

function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The bytes read so far and not yet consumed, over an async source of chunks. */
class ChunkReader {
  buffered: Buffer = Buffer.alloc(0);
  private readonly iterator: AsyncIterator<Buffer>;
  private done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** The source's next chunk, not buffered; undefined at its end. */
  async next(): Promise<Buffer | undefined> {
    if (this.done) return undefined;
    const next = await this.iterator.next();
    if (next.done) {
      this.done = true;
      return undefined;
    }
    return Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
  }

  /** Reads one more chunk into the buffer; false at the end of the source. */
  async more(): Promise<boolean> {
    const chunk = await this.next();
    if (!chunk) return false;
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    return true;
  }

  async fill(bytes: number): Promise<void> {
    while (this.buffered.length < bytes && (await this.more()));
  }

  startsWith(prefix: Buffer): boolean {
    return this.buffered.subarray(0, prefix.length).equals(prefix);
  }

  /** Where `needle` starts in what is buffered, reading on until it shows up; -1 after `limit` bytes or at the end. */
  async indexOf(needle: Buffer, limit: number): Promise<number> {
    for (;;) {
      const at = this.buffered.indexOf(needle);
      if (at >= 0) return at;
      if (this.buffered.length > limit || !(await this.more())) return -1;
    }
  }

  /** Drops everything up to and including `needle`; false when it never comes. */
  async skipPast(needle: Buffer): Promise<boolean> {
    for (;;) {
      const at = this.buffered.indexOf(needle);
      if (at >= 0) {
        this.consume(at + needle.length);
        return true;
      }
      this.consume(Math.max(0, this.buffered.length - needle.length));
      if (!(await this.more())) return false;
    }
  }

  take(bytes: number): Buffer {
    const taken = this.buffered.subarray(0, bytes);
    this.buffered = this.buffered.subarray(bytes);
    return taken;
  }

  consume(bytes: number): void {
    this.buffered = this.buffered.subarray(bytes);
  }
}
