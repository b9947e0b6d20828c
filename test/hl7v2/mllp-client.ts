import { type Socket, connect } from 'node:net';
import { connect as connectTls } from 'node:tls';

/** A lab system's end of an MLLP link, for tests: writes raw bytes, reads framed answers in order. */
export interface MllpClient {
  /** Sends `bytes` as they are (frames, pieces of frames, garbage). */
  write(bytes: Buffer | string): Promise<void>;
  /** Sends one message in an MLLP frame. */
  send(message: Buffer | string): Promise<void>;
  /** The next answer's bytes (without framing); rejects if the connection closes first. */
  next(timeoutMs?: number): Promise<Buffer>;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  end(): void;
}

export const frame = (message: Buffer | string) => Buffer.concat([Buffer.of(0x0b), Buffer.from(message), Buffer.of(0x1c, 0x0d)]);

export async function mllpClient(port: number, options: { tls?: { ca: Buffer } } = {}): Promise<MllpClient> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = options.tls
      ? connectTls({ host: '127.0.0.1', port, ca: options.tls.ca, servername: 'localhost' }, () => resolve(s))
      : connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  let pending = Buffer.alloc(0);
  const answers: Buffer[] = [];
  const waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      for (const w of waiting.splice(0)) w.reject(new Error('connection closed before an answer'));
      resolve();
    }),
  );
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const start = pending.indexOf(0x0b);
      const end = pending.indexOf(Buffer.of(0x1c, 0x0d));
      if (start < 0 || end < 0) break;
      const answer = pending.subarray(start + 1, end);
      pending = pending.subarray(end + 2);
      const w = waiting.shift();
      if (w) w.resolve(answer);
      else answers.push(answer);
    }
  });
  const write = (bytes: Buffer | string) => new Promise<void>((resolve, reject) => socket.write(bytes, (e) => (e ? reject(e) : resolve())));
  return {
    write,
    send: (message) => write(frame(message)),
    next(timeoutMs = 10_000) {
      const ready = answers.shift();
      if (ready) return Promise.resolve(ready);
      if (isClosed) return Promise.reject(new Error('connection closed before an answer'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer in time')), timeoutMs);
        waiting.push({
          resolve: (b) => (clearTimeout(timer), resolve(b)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
    closed,
    end: () => socket.end(),
  };
}
