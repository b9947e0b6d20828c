import { type Server, type Socket, createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/**
 * What the listener does with a message: the bytes of one frame in, the bytes of its
 * acknowledgment out. It knows nothing of labs or HL7; a rejection is a fault of the handler (it
 * owes every message an ACK, AE or AR included), so the connection is dropped and the sender,
 * hearing nothing, sends again.
 */
export type MessageHandler = (message: Buffer) => Promise<Buffer>;

export interface MllpOptions {
  host: string;
  /** 0: a free port, for tests. */
  port: number;
  /** PEM certificate chain and key: MLLP over TLS. */
  tls?: { cert: Buffer; key: Buffer };
  /** A frame growing past this many bytes is refused: the connection is closed. */
  maxMessageBytes: number;
  handler: MessageHandler;
  /** Told of refused frames and handler faults: which, never what the message or error said (it may name a patient). */
  onProblem?: (event: 'frame-too-large' | 'handler-failed') => void;
}

export interface MllpServer {
  /** The port listened on (the free one chosen when asked for 0). */
  port: number;
  /** Stops accepting connections, lets each connection finish the message in hand, then closes them. */
  close(): Promise<void>;
}

/** MLLP release 2 framing bytes (HL7 v2.5.1 Appendix C, C.4.3): <VT> message <FS><CR>. */
const START_BLOCK = 0x0b;
const END_BLOCK = 0x1c;
const CARRIAGE_RETURN = 0x0d;
/** A lab link sits open between batches, but not forever: an idle connection is closed after this. */
const IDLE_MS = 10 * 60_000;
/** Frames received but not yet answered on one connection before reading from it pauses. */
const MAX_QUEUED = 16;
/** How long a closing listener waits for a handler to finish before dropping its connection. */
const CLOSE_GRACE_MS = 10_000;

/**
 * An MLLP listener (HL7 v2.5.1 Appendix C, Minimal Lower Layer Protocol): several messages per
 * connection, each answered in the order received; frames may arrive in pieces or several to a
 * chunk; bytes outside a frame are ignored, as the protocol says a receiver should.
 */
export async function startMllpServer(options: MllpOptions): Promise<MllpServer> {
  const connections = new Set<Connection>();
  const accept = (socket: Socket) => {
    const connection = new Connection(socket, options, () => connections.delete(connection));
    connections.add(connection);
  };
  const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, accept) : createServer(accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  let closing: Promise<void> | undefined;
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of connections) connection.finish();
      });
      return closing;
    },
  };
}

/** One sender's connection: its framing state and the queue of messages awaiting their ACK. */
class Connection {
  /** The bytes of the frame being received (after its start block); undefined between frames. */
  private frame: Buffer[] | undefined;
  private frameBytes = 0;
  /** The previous chunk ended with an end block, its CR still to come. */
  private endPending = false;
  private queued = 0;
  private chain: Promise<void> = Promise.resolve();
  private finishing = false;

  constructor(
    private readonly socket: Socket,
    private readonly options: MllpOptions,
    onClose: () => void,
  ) {
    socket.setTimeout(IDLE_MS, () => socket.end());
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // A sender that vanishes mid-frame is no fault of ours; what it sent whole was answered already.
    socket.on('error', () => socket.destroy());
    socket.on('close', onClose);
  }

  /** Ends the connection once the messages in hand are answered. */
  finish(): void {
    this.finishing = true;
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    void this.chain.then(() => this.socket.end());
  }

  private receive(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.frame === undefined) {
        const start = chunk.indexOf(START_BLOCK, at);
        if (start < 0) return;
        this.frame = [];
        this.frameBytes = 0;
        this.endPending = false;
        at = start + 1;
        continue;
      }
      if (this.endPending) {
        this.endPending = false;
        if (chunk[at] === CARRIAGE_RETURN) {
          this.complete();
          at += 1;
          continue;
        }
        // An end block not followed by CR is data, as far as framing goes.
        this.append(Buffer.of(END_BLOCK));
        if (this.frame === undefined) return;
      }
      const end = chunk.indexOf(END_BLOCK, at);
      const restart = chunk.indexOf(START_BLOCK, at);
      if (restart >= 0 && (end < 0 || restart < end)) {
        // A new start block inside a frame: the sender gave up on the old one and begins again.
        this.frame = undefined;
        at = restart;
        continue;
      }
      if (end < 0) {
        this.append(chunk.subarray(at));
        return;
      }
      this.append(chunk.subarray(at, end));
      if (this.frame === undefined) return;
      if (end + 1 === chunk.length) {
        this.endPending = true;
        return;
      }
      if (chunk[end + 1] === CARRIAGE_RETURN) {
        this.complete();
        at = end + 2;
      } else {
        this.append(chunk.subarray(end, end + 1));
        if (this.frame === undefined) return;
        at = end + 1;
      }
    }
  }

  private append(bytes: Buffer): void {
    this.frameBytes += bytes.length;
    if (this.frameBytes > this.options.maxMessageBytes) {
      this.options.onProblem?.('frame-too-large');
      this.frame = undefined;
      this.socket.destroy();
      return;
    }
    this.frame!.push(bytes);
  }

  private complete(): void {
    const message = Buffer.concat(this.frame!);
    this.frame = undefined;
    if (this.finishing) return;
    this.queued += 1;
    if (this.queued >= MAX_QUEUED) this.socket.pause();
    this.chain = this.chain.then(() => this.answer(message));
  }

  private async answer(message: Buffer): Promise<void> {
    try {
      const ack = await this.options.handler(message);
      if (!this.socket.destroyed) this.socket.write(Buffer.concat([Buffer.of(START_BLOCK), ack, Buffer.of(END_BLOCK, CARRIAGE_RETURN)]));
    } catch {
      this.options.onProblem?.('handler-failed');
      this.socket.destroy();
    } finally {
      this.queued -= 1;
      if (this.queued < MAX_QUEUED && this.socket.isPaused()) this.socket.resume();
    }
  }
}
