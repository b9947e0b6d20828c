import autocannon from 'autocannon';

/** What one scenario measured. Latencies are in milliseconds. */
export interface Measurement {
  /** Operations per second: requests, or resources for the bundle scenarios. */
  throughput: number;
  unit: 'req/s' | 'resources/s';
  p50: number;
  p95: number;
  p99: number;
  /** Operations completed in the measured window. */
  count: number;
  /** Non-2xx responses plus connection errors and timeouts. */
  errors: number;
  /** The first unexpected status seen, to say what went wrong. */
  firstErrorStatus?: number;
  seconds: number;
  /** For timed one-off operations (a 500-entry transaction): the median wall time. */
  medianMs?: number;
  /** CPU µs per operation in the measured window, where the load's `cpu` reads it. */
  cpu?: CpuPerOperation;
}

/** CPU time used so far, in ms: the server's process, and PostgreSQL's processes when known. */
export interface CpuReading {
  serverMs: number;
  databaseMs?: number;
}

export interface CpuPerOperation {
  serverUs: number;
  databaseUs?: number;
}

/** What `before`…`after` cost per each of `operations`. */
export function cpuPerOperation(before: CpuReading | undefined, after: CpuReading | undefined, operations: number): CpuPerOperation | undefined {
  if (!before || !after || operations === 0) return undefined;
  const per = (ms: number) => (ms * 1000) / operations;
  const database = before.databaseMs === undefined || after.databaseMs === undefined ? undefined : per(after.databaseMs - before.databaseMs);
  return { serverUs: per(after.serverMs - before.serverMs), ...(database === undefined ? {} : { databaseUs: database }) };
}

export interface LoadOptions {
  origin: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Builds the next request; called once per request on the load generator's side. */
  next: () => autocannon.Request;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** Reads the CPU the server side has used, before and after the measured window. */
  cpu?: () => Promise<CpuReading | undefined>;
}

/** The value below which `fraction` of the sorted samples fall (nearest rank). */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank]!;
}

function runCannon(options: LoadOptions, seconds: number, onResponse?: (status: number, ms: number) => void): Promise<autocannon.Result> {
  const instance = autocannon({
    url: options.origin,
    connections: options.connections,
    duration: seconds,
    timeout: 30,
    headers: { accept: 'application/fhir+json', ...options.headers },
    requests: [
      {
        setupRequest: (request) => {
          const next = options.next();
          // A request's own headers (content-type) add to the common ones (the bearer token), never replace them.
          return { ...request, ...next, headers: { ...request.headers, ...next.headers } };
        },
      },
    ],
  });
  if (onResponse) {
    // (client, statusCode, resBytes, responseTime in ms)
    (instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, status: number, _bytes: number, ms: number) => onResponse(status, ms));
  }
  return instance as unknown as Promise<autocannon.Result>;
}

/**
 * Closed-loop load over HTTP: `connections` clients, each sending its next request when the
 * last one answered, for `seconds` after a warm-up. Percentiles come from every response's
 * latency (autocannon's own histogram has no p95).
 */
export async function measureHttp(options: LoadOptions): Promise<Measurement> {
  if (options.warmupSeconds > 0) await runCannon(options, options.warmupSeconds);
  const latencies: number[] = [];
  let firstErrorStatus: number | undefined;
  const cpuBefore = await options.cpu?.();
  const result = await runCannon(options, options.seconds, (status, ms) => {
    latencies.push(ms);
    if ((status < 200 || status > 299) && firstErrorStatus === undefined) firstErrorStatus = status;
  });
  const cpu = cpuPerOperation(cpuBefore, await options.cpu?.(), result.requests.total);
  const sorted = Float64Array.from(latencies).sort();
  return {
    throughput: result.requests.total / result.duration,
    unit: 'req/s',
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    count: result.requests.total,
    errors: result.non2xx + result.errors + result.timeouts,
    firstErrorStatus,
    seconds: result.duration,
    ...(cpu ? { cpu } : {}),
  };
}

export interface FhirCall {
  status: number;
  text: string;
  ms: number;
}

/** One request with fetch (undici), timed from send to the last byte of the body. */
export async function call(url: string, init: RequestInit = {}): Promise<FhirCall> {
  const started = performance.now();
  const response = await fetch(url, {
    ...init,
    headers: { accept: 'application/fhir+json', ...(init.body ? { 'content-type': 'application/fhir+json' } : {}), ...init.headers },
  });
  const text = await response.text();
  return { status: response.status, text, ms: performance.now() - started };
}

/** A random item of `items` (a load's next id, family name or code). */
export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** A read or search scenario: a name, a label for the table, and the next request path drawn from a population. */
export interface PathScenario<Population> {
  name: string;
  label: string;
  next: (population: Population) => () => string;
}
