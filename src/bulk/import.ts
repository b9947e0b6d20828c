import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { isResourceType } from '../fhir/definitions.js';
import { parseFhirJson } from '../fhir/json.js';
import { isFhirError, outcome } from '../fhir/outcome.js';
import { validateResource } from '../fhir/validate.js';
import { patientIdentifierIssues } from '../identity/patient-identifiers.js';
import type { Repository } from '../store/repository.js';

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
  /** Resources per write statement. */
  batchSize?: number;
}

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Streams NDJSON lines into the store (https://hl7.org/fhir/uv/bulkdata/): each line is parsed
 * and validated on its own, valid ones are written in batches of one statement each, keeping
 * their ids, so running the same import again changes nothing. Memory stays bounded by the
 * batch size, whatever the input size: the next batch is validated while the last one is written.
 */
export async function importNdjson(lines: AsyncIterable<string>, file: string, options: ImportOptions, progress = newProgress()): Promise<ImportProgress> {
  const batchSize = options.batchSize ?? 500;
  let batch: { resource: Resource; id: string; line: number }[] = [];
  let pending: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  // The write of one batch runs while the next is parsed and validated; a failed write stops the import.
  const flush = async () => {
    const items = batch;
    batch = [];
    await pending;
    if (failure) throw failure.error;
    pending = options.repo.writeMany(items, 'upsert').then(
      async ({ stored, unchanged, refused }) => {
        progress.written += stored.length;
        progress.unchanged += unchanged;
        progress.rejected += refused.length;
        for (const { item, error } of refused) await options.onRejected({ file, line: items[item].line, outcome: error.outcome });
        options.onProgress?.(progress);
      },
      (error: unknown) => {
        failure = { error };
      },
    );
  };
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber++;
    if (text.trim() === '') continue;
    progress.read++;
    const checked = checkLine(text);
    if ('issues' in checked) {
      progress.rejected++;
      await options.onRejected({ file, line: lineNumber, outcome: outcome(checked.issues) });
      continue;
    }
    batch.push({ ...checked, line: lineNumber });
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length) await flush();
  await pending;
  if (failure) throw failure.error;
  return progress;
}

function checkLine(text: string): { resource: Resource; id: string } | { issues: OperationOutcome['issue'] } {
  let value: unknown;
  try {
    value = parseFhirJson(text);
  } catch (error) {
    if (isFhirError(error)) return { issues: error.outcome.issue };
    throw error;
  }
  const resource = value as Resource;
  if (!resource || typeof resource !== 'object' || !isResourceType(resource.resourceType)) {
    return { issues: [{ severity: 'error', code: 'structure', diagnostics: 'Each line must be one FHIR resource with a known resourceType', expression: ['resourceType'] }] };
  }
  if (typeof resource.id !== 'string' || !ID_PATTERN.test(resource.id)) {
    return { issues: [{ severity: 'error', code: 'required', diagnostics: 'A bulk-imported resource needs a valid id', expression: [`${resource.resourceType}.id`] }] };
  }
  const issues = validateResource(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
  if (resource.resourceType === 'Patient') issues.push(...patientIdentifierIssues(resource));
  return issues.length ? { issues } : { resource, id: resource.id };
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
