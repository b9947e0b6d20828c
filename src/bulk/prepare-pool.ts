import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { registeredSearchParameters } from '../fhir/search-parameters.js';
import { heldStructureDefinitions } from '../fhir/validate.js';
import { type PreparedLine, prepareLine } from './prepare-line.js';

export interface PrepareJob {
  job: number;
  /** [line number, text] */
  lines: [number, string][];
}

export interface PrepareReply {
  job: number;
  results: PreparedLine[];
}

/** Where the CPU work of an import runs: this thread, or a pool of worker threads. */
export interface PreparePool {
  /** Batches the pool works on at once; the importer keeps this many in flight, so memory stays bounded. */
  readonly capacity: number;
  prepare(lines: [number, string][]): Promise<PreparedLine[]>;
  close(): Promise<void>;
}

/** Prepares in the importing thread, between its writes: for small loads, where starting threads costs more. */
export function inThread(): PreparePool {
  return {
    capacity: 1,
    prepare: async (lines) => lines.map(([line, text]) => prepareLine(text, line)),
    close: async () => undefined,
  };
}

/** One thread per core: the importing thread's writes mostly wait on the database. */
export function defaultWorkers(): number {
  return availableParallelism();
}

const WORKER_ENTRY = new URL('./prepare-worker.mjs', import.meta.url);

/**
 * `size` worker threads (node:worker_threads) that parse, validate and prepare batches of lines
 * with the SearchParameters and StructureDefinitions this thread holds now. A thread that fails
 * (an exception, or its exit) fails every batch in flight and every later one: the import stops,
 * having written only whole batches before it.
 */
export function workerPool(size: number, entry: URL = WORKER_ENTRY): PreparePool {
  const workerData = { searchParameters: registeredSearchParameters(), structureDefinitions: heldStructureDefinitions() };
  const pending = new Map<number, { resolve: (results: PreparedLine[]) => void; reject: (error: Error) => void }>();
  const queue: PrepareJob[] = [];
  const idle: Worker[] = [];
  const busy = new Map<Worker, number>();
  let failure: Error | undefined;
  let nextJob = 0;
  let closed = false;
  const fail = (error: Error) => {
    failure ??= new Error(`A bulk-load worker thread failed: ${error.message}`, { cause: error });
    for (const { reject } of pending.values()) reject(failure);
    pending.clear();
    queue.length = 0;
    for (const worker of [...idle, ...busy.keys()]) void worker.terminate();
  };
  const dispatch = () => {
    while (idle.length > 0 && queue.length > 0) {
      const worker = idle.pop()!;
      const job = queue.shift()!;
      busy.set(worker, job.job);
      worker.postMessage(job);
    }
  };
  const workers = Array.from({ length: size }, () => {
    const worker = new Worker(entry, { workerData });
    worker.on('message', ({ job, results }: PrepareReply) => {
      busy.delete(worker);
      idle.push(worker);
      pending.get(job)?.resolve(results);
      pending.delete(job);
      dispatch();
    });
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!closed) fail(new Error(`exited with code ${code}`));
    });
    idle.push(worker);
    return worker;
  });
  return {
    capacity: 2 * size,
    prepare(lines) {
      if (failure) return Promise.reject(failure);
      const job = nextJob++;
      return new Promise<PreparedLine[]>((resolve, reject) => {
        pending.set(job, { resolve, reject });
        queue.push({ job, lines });
        dispatch();
      });
    },
    async close() {
      closed = true;
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
