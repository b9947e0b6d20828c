import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Group } from '@medplum/fhirtypes';
import { isResourceType, resourceTypes } from '../fhir/definitions.js';
import { badRequest, isFhirError } from '../fhir/outcome.js';
import { type SearchRequest, parseSearchRequest } from '../fhir/search-request.js';
import { directoryExportAccess } from '../access/door.js';
import type { BulkJob } from '../store/bulk-jobs.js';
import type { Database } from '../store/driver.js';
import { Repository, type SearchResult, type StoredResource } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';

/**
 * FHIR Bulk Data export (https://hl7.org/fhir/uv/bulkdata/export.html): plan, then read every
 * resource in scope through the Repository in keyset pages, and write NDJSON files of at most
 * `exportLimits.fileSize` resources. A job keeps its state in `bulk_job` / `bulk_output`, with a checkpoint
 * after each file, so any API process can serve it and a job whose process died is resumed from
 * its last file by whichever process next answers its status.
 */

/** Sizes of an export's reads and files; tests lower them to exercise splitting and resuming. */
export const exportLimits = {
  /** Resources read per Repository.search call. */
  pageSize: 2000,
  /** Resources per output file (at least; files end on a page boundary); a type with more is split. */
  fileSize: 10_000,
};
/** A running job refreshes its heartbeat at least this often (ms), and checks for cancellation. */
const HEARTBEAT_MS = 1000;
/** A job silent for this long (s) is taken to have lost its process, and may be taken over. */
export const STALE_SECONDS = 30;

/** `application/fhir+ndjson` is the IG's required format; the other two are its abbreviations. */
export const OUTPUT_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];

export type ExportLevel = 'system' | 'patient' | 'group';

/** What an export reads, normalized at kick-off and stored with the job. */
export interface ExportParameters {
  level: ExportLevel;
  /** The resource types read, in this order. */
  types: string[];
  /** Only resources changed after this instant (ISO, ms precision). */
  since?: string;
  /** `_typeFilter` queries per type (`status=active&...`); several for one type are ORed. */
  typeFilters: Record<string, string[]>;
  groupId?: string;
  /** Group level: the member Patients, whose compartments are exported. */
  patients?: string[];
}

export interface ExportRequest {
  level: ExportLevel;
  /** `_type` values, each possibly comma-separated. */
  types?: string[];
  /** `_since`, an instant. */
  since?: string;
  /** `_typeFilter` values, each a comma-separated list of `Type?query`. */
  typeFilter?: string[];
  outputFormat?: string;
  groupId?: string;
  patients?: string[];
}

const INSTANT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** Search result parameters have no meaning inside an export's `_typeFilter`. */
const RESULT_PARAMETERS = new Set(['_count', '_sort', '_total', '_summary', '_elements', '_cursor', '_include', '_revinclude', '_contained', '_containedType']);

/** Validates export parameters (a 400 for anything the server cannot honour) and normalizes them. */
export function planExport(request: ExportRequest): ExportParameters {
  // An unencoded `+` in a query string arrives as a space: `application/fhir ndjson`.
  const format = (request.outputFormat ?? OUTPUT_FORMATS[0]).replace(/ /g, '+');
  if (!OUTPUT_FORMATS.includes(format)) {
    throw badRequest(`_outputFormat "${format}" is not supported; use application/fhir+ndjson`, '_outputFormat', 'not-supported');
  }
  const asked = (request.types ?? []).flatMap((v) => v.split(',')).map((t) => t.trim()).filter(Boolean);
  for (const type of asked) {
    if (!isResourceType(type)) throw badRequest(`_type names an unknown resource type "${type}"`, '_type');
  }
  let since: string | undefined;
  if (request.since !== undefined) {
    if (!INSTANT_PATTERN.test(request.since) || Number.isNaN(Date.parse(request.since))) {
      throw badRequest(`_since must be an instant such as 2026-01-31T12:00:00Z, not "${request.since}"`, '_since');
    }
    since = new Date(request.since).toISOString();
  }
  const typeFilters: Record<string, string[]> = {};
  for (const filter of (request.typeFilter ?? []).flatMap((v) => v.split(',')).map((f) => f.trim()).filter(Boolean)) {
    const question = filter.indexOf('?');
    const type = question < 0 ? filter : filter.slice(0, question);
    const query = question < 0 ? '' : filter.slice(question + 1);
    if (!isResourceType(type)) throw badRequest(`_typeFilter "${filter}" does not start with a resource type and "?"`, '_typeFilter');
    if (asked.length > 0 && !asked.includes(type)) throw badRequest(`_typeFilter "${filter}" is for ${type}, which _type does not ask for`, '_typeFilter');
    const params = [...new URLSearchParams(query)];
    if (params.length === 0) throw badRequest(`_typeFilter "${filter}" has no search parameters`, '_typeFilter');
    for (const [key] of params) {
      if (RESULT_PARAMETERS.has(key)) throw badRequest(`_typeFilter "${filter}": ${key} cannot be used in an export filter`, '_typeFilter');
    }
    parseSearchRequest(type, params); // a 400 for unknown parameters or malformed values
    (typeFilters[type] ??= []).push(new URLSearchParams(params).toString());
  }
  const types = asked.length > 0 ? [...new Set(asked)] : [...resourceTypes];
  return {
    level: request.level,
    types,
    ...(since ? { since } : {}),
    typeFilters,
    ...(request.groupId ? { groupId: request.groupId } : {}),
    ...(request.patients ? { patients: request.patients } : {}),
  };
}

/**
 * The Patients a Group export covers: `Group.member.entity` references to Patient, active
 * members only (https://hl7.org/fhir/uv/bulkdata/export.html#endpoint---group-of-patients).
 */
export async function groupMembers(repo: Repository, groupId: string): Promise<string[]> {
  const group = parseStored<Group>((await repo.read('Group', groupId)));
  const ids = new Set<string>();
  for (const member of group.member ?? []) {
    if (member.inactive) continue;
    const match = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(member.entity?.reference ?? '');
    if (match) ids.add(match[1]);
  }
  return [...ids];
}

/** Where a scan is: the next page to read. */
interface Position {
  typeIndex: number;
  filterIndex: number;
  cursor?: string;
}

interface Page {
  type: string;
  entries: StoredResource[];
  /** The position after this page. */
  next: Position;
  /** The last page of its type. */
  typeDone: boolean;
}

function searchRequest(parameters: ExportParameters, type: string, filter: string | undefined, transactionTime: string): SearchRequest {
  const request = parseSearchRequest(type, filter ? new URLSearchParams(filter) : []);
  // Nothing changed after transactionTime: the next export's _since picks it up instead.
  const bounds: [string, string][] = [['_lastUpdated', `le${transactionTime}`]];
  if (parameters.since) bounds.push(['_lastUpdated', `gt${parameters.since}`]);
  // _lastUpdated is defined on Resource, so the same for every type, but the parameter registry
  // does not list it for the types that are not DomainResources (Binary, Bundle, Parameters).
  request.filters.push(...parseSearchRequest('Patient', bounds).filters);
  request.count = exportLimits.pageSize;
  // By id, the keyset is `id > cursor` on the primary key: each page an index range, however deep.
  request.sort = [{ code: '_id', descending: false }];
  if (parameters.level === 'patient') request.compartments = 'any';
  if (parameters.level === 'group') request.compartments = parameters.patients ?? [];
  return request;
}

/**
 * Every resource in scope, page by page, from `from` on. Several `_typeFilter`s on one type run
 * one after the other and are ORed: a resource matched by an earlier one is not repeated.
 */
async function* scan(repo: Repository, parameters: ExportParameters, transactionTime: string, from: Position): AsyncGenerator<Page> {
  const { types } = parameters;
  for (let t = from.typeIndex; t < types.length; t++) {
    const type = types[t];
    const filters: (string | undefined)[] = parameters.typeFilters[type] ?? [undefined];
    const seen = filters.length > 1 ? new Set<string>() : undefined;
    for (let f = t === from.typeIndex ? from.filterIndex : 0; f < filters.length; f++) {
      const request = searchRequest(parameters, type, filters[f], transactionTime);
      request.cursor = t === from.typeIndex && f === from.filterIndex ? from.cursor : undefined;
      const lastFilter = f === filters.length - 1;
      let pending = prefetch(repo, request);
      do {
        const result = await pending;
        const entries = seen ? result.entries.filter((e) => !seen.has(e.id) && !!seen.add(e.id)) : result.entries;
        request.cursor = result.nextCursor;
        // Read the next page while the caller writes this one (on PostgreSQL they overlap).
        if (result.nextCursor) pending = prefetch(repo, { ...request });
        const next: Position = result.nextCursor
          ? { typeIndex: t, filterIndex: f, cursor: result.nextCursor }
          : lastFilter
            ? { typeIndex: t + 1, filterIndex: 0 }
            : { typeIndex: t, filterIndex: f + 1 };
        yield { type, entries, next, typeDone: !result.nextCursor && lastFilter };
      } while (request.cursor);
    }
  }
}

/** Starts a search whose failure is reported when it is awaited, not as an unhandled rejection if it never is. */
function prefetch(repo: Repository, request: SearchRequest): Promise<SearchResult> {
  const result = repo.search(request);
  result.catch(() => undefined);
  return result;
}

/** Where a job can resume: after its last written file. */
interface Checkpoint extends Position {
  /** The seq of the next output file. */
  seq: number;
  /** The seq of the first file of the type at typeIndex (redone from there when it cannot resume mid-way). */
  typeStartSeq: number;
}

/** The `progress` column: the lease, the checkpoint, and what to show in X-Progress. */
interface JobProgress {
  runner: string;
  checkpoint: Checkpoint;
  exported: number;
  type?: string;
}

const START: Checkpoint = { typeIndex: 0, filterIndex: 0, seq: 0, typeStartSeq: 0 };

// A job's JSON columns hold only what this file wrote there: ExportParameters and JobProgress.
function jobParameters(job: BulkJob): ExportParameters {
  return JSON.parse(job.parameters) as ExportParameters;
}

function jobProgress(progress: string): JobProgress {
  return JSON.parse(progress) as JobProgress;
}

/** Thrown inside a runner that must stop: the job was cancelled or another runner took it over. */
class JobReleased extends Error {}

/** Jobs running in this process, so a cancel here stops them at once and status does not claim them. */
const running = new Map<string, AbortController>();

export interface KickOff {
  /** The kick-off request URL. */
  request: string;
  parameters: ExportParameters;
}

/**
 * Records a new export job and starts it in the background; returns its id at once. The job is
 * the caller's (the door's `jobOwner`) and reads through `repo`, bound to their access.
 */
export async function startExportJob(repo: Repository, kickOff: KickOff): Promise<string> {
  const id = randomUUID();
  const runner = randomUUID();
  const progress: JobProgress = { runner, checkpoint: START, exported: 0 };
  await repo.exportJobs.create({
    id,
    kind: `export-${kickOff.parameters.level}`,
    request: kickOff.request,
    parameters: JSON.stringify(kickOff.parameters),
    transactionTime: new Date().toISOString(),
    progress: JSON.stringify(progress),
  });
  launch(repo, id, runner);
  return id;
}

/**
 * Takes over a job whose runner has fallen silent (its process stopped) and resumes it here.
 * Status polling calls this, so an orphaned job continues as soon as its client asks about it.
 */
export async function resumeIfOrphaned(repo: Repository, job: BulkJob): Promise<void> {
  if (job.status !== 'in-progress' || running.has(job.id) || job.idleSeconds < STALE_SECONDS) return;
  const runner = randomUUID();
  if (await repo.exportJobs.claimStale(job.id, runner, STALE_SECONDS)) launch(repo, job.id, runner);
}

/** Stops a job running in this process (others notice the deleted row at their next heartbeat). */
export function abortLocalJob(id: string): void {
  running.get(id)?.abort();
}

export function isRunningHere(id: string): boolean {
  return running.has(id);
}

function launch(repo: Repository, id: string, runner: string): void {
  const controller = new AbortController();
  running.set(id, controller);
  // Not awaited: the kick-off answers 202 while the job runs.
  void runJob(repo, id, runner, controller.signal)
    .catch(async (error: unknown) => {
      if (error instanceof JobReleased || controller.signal.aborted) return;
      // The client sees what it can act on; a database error's text (SQL, values) stays out.
      const message = isFhirError(error) ? error.message : 'The export failed on the server; run it again';
      await repo.exportJobs.finish(id, runner, 'failed', undefined, message).catch(() => undefined);
    })
    .finally(() => {
      if (running.get(id) === controller) running.delete(id);
    });
}

async function runJob(repo: Repository, id: string, runner: string, signal: AbortSignal): Promise<void> {
  await yieldToEventLoop();
  const job = await repo.exportJobs.read(id);
  if (!job || job.status !== 'in-progress' || !job.progress) return;
  const parameters = jobParameters(job);
  let checkpoint = jobProgress(job.progress).checkpoint;
  // A type read with several _typeFilters cannot resume mid-way (the ids already seen are lost): redo it.
  const type = parameters.types[checkpoint.typeIndex];
  if (type && (parameters.typeFilters[type]?.length ?? 0) > 1 && (checkpoint.filterIndex > 0 || checkpoint.cursor)) {
    checkpoint = { typeIndex: checkpoint.typeIndex, filterIndex: 0, seq: checkpoint.typeStartSeq, typeStartSeq: checkpoint.typeStartSeq };
  }
  await repo.exportJobs.deleteOutputsFrom(id, checkpoint.seq);
  let exported = (await repo.exportJobs.listOutputs(id)).reduce((n, o) => n + o.count, 0);

  let lines: string[] = [];
  let lastBeat = Date.now();
  /** The file being written while the next pages are read (they overlap on PostgreSQL); one at a time. */
  let writing: Promise<void> | undefined;
  let writingDone = true;
  const progressText = (current?: string) => JSON.stringify({ runner, checkpoint, exported, type: current } satisfies JobProgress);
  const check = () => {
    if (signal.aborted) throw new JobReleased();
  };

  for await (const page of scan(repo, parameters, job.transactionTime, checkpoint)) {
    check();
    for (const entry of page.entries) lines.push(entry.json);
    exported += page.entries.length;
    if (lines.length >= exportLimits.fileSize || (page.typeDone && lines.length > 0)) {
      await writing;
      const content = lines.join('\n') + '\n';
      const count = lines.length;
      const seq = checkpoint.seq;
      lines = [];
      checkpoint = { ...page.next, seq: seq + 1, typeStartSeq: page.typeDone ? seq + 1 : checkpoint.typeStartSeq };
      const progress = progressText(page.type);
      writingDone = false;
      // The file and the checkpoint after it commit together: a resumed job never repeats or skips a file.
      writing = repo
        .transaction(async (tx) => {
          if (!(await tx.exportJobs.updateProgress(id, runner, progress))) throw new JobReleased();
          await tx.exportJobs.appendOutput(id, seq, page.type, count, content);
        })
        .finally(() => {
          writingDone = true;
          lastBeat = Date.now();
        });
      writing.catch(() => undefined); // awaited before the next file and at the end
    } else {
      // Nothing buffered at the end of a type: the next one is a safe place to resume from.
      if (page.typeDone) checkpoint = { ...page.next, seq: checkpoint.seq, typeStartSeq: checkpoint.seq };
      // While a file is being written, its transaction is the heartbeat (and holds the newer checkpoint).
      if (writingDone && Date.now() - lastBeat >= HEARTBEAT_MS) {
        await writing; // a failed write stops the job before its checkpoint could be recorded
        if (!(await repo.exportJobs.updateProgress(id, runner, progressText(page.type)))) throw new JobReleased();
        lastBeat = Date.now();
      }
    }
    // PGlite answers on the same thread: let HTTP requests in between pages.
    await yieldToEventLoop();
  }
  await writing;
  check();
  await repo.exportJobs.finish(id, runner, 'completed', progressText());
}

/** The X-Progress text of a running job. */
export function describeProgress(job: BulkJob): string {
  if (!job.progress) return 'queued';
  const progress = jobProgress(job.progress);
  const parameters = jobParameters(job);
  const total = parameters.types.length;
  const at = Math.min(progress.checkpoint.typeIndex + 1, total);
  return `${progress.exported} resources exported; ${progress.type ?? 'starting'} (type ${at} of ${total})`;
}

export interface DirectoryExportOptions {
  db: Database;
  outDir: string;
  types?: string[];
  /** Only resources changed after this instant. */
  since?: string;
  /** `Type?query` filters, as `_typeFilter`. */
  typeFilter?: string[];
  /** Called after each page with the resources written so far and the type being read. */
  onProgress?: (exported: number, type: string) => void;
}

export interface DirectoryExportResult {
  transactionTime: string;
  /** Resources written per type (types with none are left out, and get no file). */
  counts: Record<string, number>;
  resources: number;
}

/**
 * `densaulyq export`: a system-level export to one `<Type>.ndjson` per type in `outDir`, in the
 * IG's file format (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-format).
 */
export async function exportToDirectory(options: DirectoryExportOptions): Promise<DirectoryExportResult> {
  const repo = new Repository(options.db, directoryExportAccess());
  const parameters = planExport({ level: 'system', types: options.types, since: options.since, typeFilter: options.typeFilter });
  const transactionTime = new Date().toISOString();
  mkdirSync(options.outDir, { recursive: true });
  const counts: Record<string, number> = {};
  let resources = 0;
  let stream: WriteStream | undefined;
  const close = async () => {
    if (!stream) return;
    const closing = stream;
    stream = undefined;
    await new Promise<void>((resolve, reject) => closing.end((error?: Error | null) => (error ? reject(error) : resolve())));
  };
  try {
    for await (const page of scan(repo, parameters, transactionTime, START)) {
      if (page.entries.length > 0) {
        if (!stream) stream = createWriteStream(join(options.outDir, `${page.type}.ndjson`));
        if (!stream.write(page.entries.map((e) => e.json).join('\n') + '\n')) await once(stream, 'drain');
        counts[page.type] = (counts[page.type] ?? 0) + page.entries.length;
        resources += page.entries.length;
      }
      options.onProgress?.(resources, page.type);
      if (page.typeDone) await close();
    }
  } finally {
    await close();
  }
  return { transactionTime, counts, resources };
}
