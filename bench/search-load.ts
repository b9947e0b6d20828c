/**
 * Loads a synthetic population (src/synth/population.ts) into a bench database, for the search
 * benchmark and for its write-throughput comparison.
 *
 * Two ways to write the same resources, with the same batches and the same number of writers:
 *
 * - `indexed`: `Repository.writeMany(batch, 'create')`, as bulk import and transactions write —
 *   the resource, its version and every search index row, in one statement per batch;
 * - `baseline`: the same JSON rows (id, meta, compartment key as writeMany sets them) into
 *   `resource` and `resource_version` only, in the same statement shape — what a store without
 *   search indexes would pay.
 *
 * Batches come from one generator shared by `writers` workers, so generating the next batch
 * overlaps the database's work on the last one (the generator costs the same in both modes).
 */
import { seedingAccess } from '../src/access/door.js';
import type { Resource } from '@medplum/fhirtypes';
import { patientCompartmentKey } from '../src/fhir/compartment.js';
import type { Database } from '../src/store/driver.js';
import { Repository } from '../src/store/repository.js';
import { populationResources } from '../src/synth/population.js';

export type LoadMode = 'indexed' | 'baseline';

export interface LoadOptions {
  /** Resources to write: the population is cut at this count. */
  resources: number;
  seed: number;
  /** Resources per writeMany call. */
  batch: number;
  /** Concurrent batches in flight (each takes its own pooled connection on PostgreSQL). */
  writers: number;
  mode: LoadMode;
  onProgress?: (done: number, total: number, seconds: number) => void;
}

export interface LoadResult {
  mode: LoadMode;
  resources: number;
  patients: number;
  batch: number;
  writers: number;
  seconds: number;
  /** Resources per second, wall clock, generation included. */
  rate: number;
  /** Per-batch statement time, ms (median / p95). */
  batchP50: number;
  batchP95: number;
  counts: Record<string, number>;
}

/** Average resources per patient in the generator's care histories (with their share of the facility network). */
const RESOURCES_PER_PATIENT = 80;

/** Enough patients for `resources`: the population is cut at exactly that count. */
export function patientsFor(resources: number): number {
  return Math.max(1, Math.ceil(resources / RESOURCES_PER_PATIENT));
}

/** The population's resources in batches, cut at `resources`. */
function* batches(resources: number, seed: number, batch: number, counts: Record<string, number>): Generator<Resource[]> {
  let taken = 0;
  let current: Resource[] = [];
  for (const resource of populationResources({ patients: patientsFor(resources), seed })) {
    if (taken >= resources) break;
    current.push(resource);
    counts[resource.resourceType] = (counts[resource.resourceType] ?? 0) + 1;
    taken++;
    if (current.length === batch) {
      yield current;
      current = [];
    }
  }
  if (current.length) yield current;
}

/** The rows writeMany would store for a new resource: id and server meta first, serialized once. */
function baselineRow(resource: Resource, lastUpdated: string) {
  const { resourceType, id, meta, ...content } = resource;
  const full = { resourceType, id, meta: { ...meta, versionId: '1', lastUpdated }, ...content } as Resource;
  return { resourceType, id: id!, json: JSON.stringify(full), compartment: patientCompartmentKey(full) ?? null };
}

/** `resource` and `resource_version` rows only, in writeMany's statement shape (unnest input, two inserts). */
async function insertBaseline(db: Database, resources: Resource[]): Promise<void> {
  const lastUpdated = new Date().toISOString();
  const rows = resources.map((r) => baselineRow(r, lastUpdated));
  await db.query(
    `WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(resource_type, id, compartment, content)),
      w AS (INSERT INTO resource (resource_type, id, version_id, last_updated, compartment, content)
        SELECT resource_type, id, 1, $5::timestamptz, compartment, content FROM input),
      v AS (INSERT INTO resource_version (resource_type, id, version_id, last_updated, compartment, content, method)
        SELECT resource_type, id, 1, $5::timestamptz, compartment, content, 'create' FROM input)
    SELECT 1`,
    [rows.map((r) => r.resourceType), rows.map((r) => r.id), rows.map((r) => r.compartment), rows.map((r) => r.json), lastUpdated],
  );
}

/** Writes the population with `writers` batches in flight; resolves when all are stored. */
export async function loadPopulation(db: Database, options: LoadOptions): Promise<LoadResult> {
  const counts: Record<string, number> = {};
  const source = batches(options.resources, options.seed, options.batch, counts);
  const repository = new Repository(db, seedingAccess());
  const batchTimes: number[] = [];
  let done = 0;
  let lastReport = 0;
  const started = performance.now();
  const writer = async () => {
    for (;;) {
      const next = source.next();
      if (next.done) return;
      const resources = next.value;
      const t0 = performance.now();
      if (options.mode === 'indexed') await repository.writeMany(resources.map((resource) => ({ resource, id: resource.id! })), 'create');
      else await insertBaseline(db, resources);
      batchTimes.push(performance.now() - t0);
      done += resources.length;
      const seconds = (performance.now() - started) / 1000;
      if (options.onProgress && seconds - lastReport >= 10) {
        lastReport = seconds;
        options.onProgress(done, options.resources, seconds);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.writers) }, writer));
  const seconds = (performance.now() - started) / 1000;
  batchTimes.sort((a, b) => a - b);
  const at = (f: number) => batchTimes[Math.min(batchTimes.length - 1, Math.max(0, Math.ceil(f * batchTimes.length) - 1))] ?? NaN;
  return {
    mode: options.mode,
    resources: done,
    patients: counts.Patient ?? 0,
    batch: options.batch,
    writers: options.writers,
    seconds,
    rate: done / seconds,
    batchP50: at(0.5),
    batchP95: at(0.95),
    counts,
  };
}
