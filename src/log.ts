import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs on stdout. Callers log events and counts, never resource contents, names,
 * IINs or tokens; the redaction below is a second line of defence for headers that carry
 * secrets. Writes are buffered (4 KiB, flushed on exit): a synchronous write per request costs a
 * sixth of read throughput.
 */
export function createLogger(level: string): Logger {
  return pino(
    { level, redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.authorization'], remove: true } },
    pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
}
