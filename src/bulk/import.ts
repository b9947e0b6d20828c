import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { outcome } from '../fhir/outcome.js';
import type { PreparedResource } from '../store/prepared-resource.js';
import type { Repository } from '../store/repository.js';
import type { PreparedLine } from './prepare-line.js';
import { type PreparePool, inThread } from './prepare-pool.js';

export interface RejectedLine {
  file: string;
  line: number;
  outcome: OperationOutcome;
}

export interface ImportProgress {
  read: number;
  written: number;
  unchanged: number;
  rejected: number;
}

export interface ImportOptions {
  repo: Repository;
  /** Called for every line that is not imported, with its OperationOutcome: nothing is dropped silently. */
  onRejected: (rejected: RejectedLine) => void | Promise<void>;
  onProgress?: (progress: ImportProgress) => void;
  /** Lines per batch: prepared together, and written in one transaction. */
  batchSize?: number;
  /** Where lines are parsed, validated and indexed (src/bulk/prepare-pool.ts); in this thread when omitted. */
  pool?: PreparePool;
}

/**
 * Streams NDJSON lines into the store (https://hl7.org/fhir/uv/bulkdata/): each line is parsed,
 * validated and prepared on its own (in worker threads when `pool` has them), valid ones are
 * written in batches through the repository (the door's write rules and the audit), keeping
 * their ids, so running the same import again changes nothing. Batches are written in the
 * order of the lines while the pool prepares the next ones; at most `pool.capacity` batches are
 * in flight, so memory stays bounded whatever the input size.
 */
export async function importNdjson(lines: AsyncIterable<string>, file: string, options: ImportOptions, progress = newProgress()): Promise<ImportProgress> {
  const batchSize = options.batchSize ?? 500;
  const pool = options.pool ?? inThread();
  const inFlight: Promise<PreparedLine[]>[] = [];
  const submit = (batch: [number, string][]) => {
    const prepared = pool.prepare(batch);
    // Awaited in turn below; until then a failure must not count as unhandled.
    prepared.catch(() => undefined);
    inFlight.push(prepared);
  };
  const writeNext = async () => {
    const results = await inFlight.shift()!;
    const rejected: RejectedLine[] = [];
    const items: { prepared: PreparedResource; resource?: Resource; line: number }[] = [];
    for (const result of results) {
      if ('issues' in result) rejected.push({ file, line: result.line, outcome: outcome(result.issues) });
      else items.push(result);
    }
    const { stored, unchanged, refused } = await options.repo.writePrepared(items, 'upsert');
    for (const { item, error } of refused) rejected.push({ file, line: items[item]!.line, outcome: error.outcome });
    progress.written += stored.length;
    progress.unchanged += unchanged;
    progress.rejected += rejected.length;
    for (const line of rejected.sort((a, b) => a.line - b.line)) await options.onRejected(line);
    options.onProgress?.(progress);
  };
  let batch: [number, string][] = [];
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber++;
    if (text.trim() === '') continue;
    progress.read++;
    batch.push([lineNumber, text]);
    if (batch.length < batchSize) continue;
    submit(batch);
    batch = [];
    if (inFlight.length > pool.capacity) await writeNext();
  }
  if (batch.length) submit(batch);
  while (inFlight.length) await writeNext();
  return progress;
}

function newProgress(): ImportProgress {
  return { read: 0, written: 0, unchanged: 0, rejected: 0 };
}

/** The NDJSON files of a path: the file itself, or the `.ndjson` files of a folder, in name order. */
export async function ndjsonFiles(path: string): Promise<string[]> {
  if ((await stat(path)).isFile()) return [path];
  return (await readdir(path)).filter((name) => name.endsWith('.ndjson')).sort().map((name) => join(path, name));
}

/** Imports NDJSON files one after another; the progress adds up across files. */
export async function importFiles(paths: string[], options: ImportOptions): Promise<ImportProgress> {
  const progress = newProgress();
  for (const path of paths) {
    const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
    await importNdjson(lines, path, options, progress);
  }
  return progress;
}
