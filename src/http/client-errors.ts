import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { fhirError, type FhirError } from '../fhir/outcome.js';

/** What Node's HTTP parser reports with a request it could not parse (https://nodejs.org/api/http.html#event-clienterror). */
interface ClientError extends Error {
  code?: string;
  rawPacket?: Buffer;
}

/**
 * Answers what Node's HTTP parser refuses before Fastify sees a request: a request-target with raw
 * UTF-8 (`curl 'localhost:8080/fhir/Patient?name=ГАЛИ'`, as people type it) is read again as its
 * percent-encoded form; anything else gets an OperationOutcome instead of Fastify's own JSON.
 */
export function answerClientErrors(server: Server): void {
  // Fastify's own listener answers with its JSON: this one takes its place.
  server.removeAllListeners('clientError');
  server.on('clientError', (error: ClientError, socket: Socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    if (error.code === 'HPE_INVALID_URL' && error.rawPacket && replayPercentEncoded(server, error.rawPacket, socket)) return;
    writeRaw(socket, refusalOf(error));
  });
}

function refusalOf(error: ClientError): FhirError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return fhirError('request-timeout', 'The request took too long to arrive');
  if (error.code === 'HPE_HEADER_OVERFLOW') return fhirError('headers-too-large', 'The request headers are too large');
  if (error.code === 'HPE_INVALID_URL') return fhirError('invalid-url', 'The URL holds characters that are not allowed; percent-encode them');
  return fhirError('invalid-request', 'The request is not valid HTTP');
}

function writeRaw(socket: Socket, error: FhirError): void {
  const body = JSON.stringify(error.outcome);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${error.status} ${error.code}\r\nContent-Type: application/fhir+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

const REQUEST_LINE = /^[A-Z]+ [\x21-\x7e]+ HTTP\/1\.[01]$/;

/**
 * Feeds the request again, with every byte above 0x7F of its request line percent-encoded, to the
 * server as a connection of its own (any Duplex may be one: https://nodejs.org/api/http.html#event-connection).
 * Only when the whole request is in the packet the parser failed on (a GET typed at a shell always
 * is); the answer closes the connection, since the parser of the original one is spent.
 */
function replayPercentEncoded(server: Server, packet: Buffer, socket: Socket): boolean {
  const lineEnd = packet.indexOf('\r\n');
  const headEnd = packet.indexOf('\r\n\r\n');
  if (lineEnd < 0 || headEnd < 0) return false;
  const line = percentEncodeHighBytes(packet.subarray(0, lineEnd));
  if (!REQUEST_LINE.test(line)) return false;
  const headers = packet.subarray(lineEnd + 2, headEnd + 2).toString('latin1');
  if (/^transfer-encoding:/im.test(headers)) return false;
  const length = Number(/^content-length:\s*(\d+)\s*$/im.exec(headers)?.[1] ?? 0);
  const body = packet.subarray(headEnd + 4);
  if (body.length < length) return false;
  const request = Buffer.concat([
    Buffer.from(`${line}\r\n${headers.replace(/^connection:.*\r\n/gim, '')}connection: close\r\n\r\n`, 'latin1'),
    body.subarray(0, length),
  ]);
  const replay = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      socket.write(chunk, done);
    },
    final(done) {
      socket.end();
      done();
    },
    destroy(error, done) {
      socket.destroy();
      done(error);
    },
  });
  // The client's address, for rate limits and the audit.
  Object.defineProperties(replay, {
    remoteAddress: { get: () => socket.remoteAddress },
    remotePort: { get: () => socket.remotePort },
    remoteFamily: { get: () => socket.remoteFamily },
  });
  socket.once('close', () => replay.destroy());
  server.emit('connection', replay);
  replay.push(request);
  return true;
}

function percentEncodeHighBytes(bytes: Buffer): string {
  let text = '';
  for (const byte of bytes) text += byte > 0x7f ? `%${byte.toString(16).toUpperCase()}` : String.fromCharCode(byte);
  return text;
}
