import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs. Callers log events and counts, never resource contents, names, IINs or
 * tokens; the redaction below is a second line of defence for headers that carry secrets.
 */
export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.authorization'], remove: true } });
}
