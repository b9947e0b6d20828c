import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { careHistory } from './care.js';
import { buildFacilityNetwork } from './facilities.js';
import { buildPatient, IinRegistry } from './people.js';
import { Random } from './random.js';

export interface PopulationOptions {
  patients: number;
  seed: number;
}

export interface GenerateOptions extends PopulationOptions {
  /** Folder for the NDJSON files; created if missing. */
  outDir: string;
  /** Called every few hundred patients and once at the end. */
  onProgress?: (done: number, total: number) => void;
}

export interface GenerateResult {
  /** Resources written per resource type. */
  counts: Record<string, number>;
  resources: number;
}

/** Stream of independent random sequences: one for the facility network, one per patient. */
const NETWORK_STREAM = 0;
const PATIENT_STREAM = 1;

/**
 * Every resource of a synthetic population, in a fixed order: the facility
 * network (Organization, Location, Practitioner, PractitionerRole), then each
 * patient followed by their care. Each patient draws from their own random
 * sequence, so patient i is the same whatever is done with the others.
 */
export function* populationResources(options: PopulationOptions): Generator<Resource, void, undefined> {
  const patients = checkedCount(options.patients);
  const registry = new IinRegistry();
  const network = buildFacilityNetwork(patients, new Random(options.seed, NETWORK_STREAM), registry);
  yield* network.resources;
  for (let i = 0; i < patients; i++) {
    const random = new Random(options.seed, PATIENT_STREAM, i);
    const { patient, person } = buildPatient(random, network, registry);
    yield patient;
    yield* careHistory(person, random);
  }
}

/** Per-file write buffer: NDJSON lines are gathered into large chunks before they reach the stream. */
const CHUNK_CHARS = 256 * 1024;
const PROGRESS_EVERY = 250;

/**
 * Writes the population as FHIR Bulk Data NDJSON, one `<ResourceType>.ndjson`
 * file per type (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-format).
 */
export async function generatePopulation(options: GenerateOptions): Promise<GenerateResult> {
  const patients = checkedCount(options.patients);
  mkdirSync(options.outDir, { recursive: true });
  const files = new Map<string, { stream: WriteStream; pending: string; count: number }>();
  let resources = 0;
  let done = 0;

  const flush = async (file: { stream: WriteStream; pending: string }): Promise<void> => {
    const chunk = file.pending;
    file.pending = '';
    if (!file.stream.write(chunk)) {
      await once(file.stream, 'drain');
    }
  };

  try {
    for (const resource of populationResources(options)) {
      let file = files.get(resource.resourceType);
      if (!file) {
        file = { stream: createWriteStream(join(options.outDir, `${resource.resourceType}.ndjson`)), pending: '', count: 0 };
        files.set(resource.resourceType, file);
      }
      file.pending += JSON.stringify(resource) + '\n';
      file.count++;
      resources++;
      if (file.pending.length >= CHUNK_CHARS) {
        await flush(file);
      }
      if (resource.resourceType === 'Patient' && ++done % PROGRESS_EVERY === 0) {
        options.onProgress?.(done, patients);
      }
    }
    for (const file of files.values()) {
      if (file.pending) await flush(file);
    }
  } finally {
    await Promise.all(
      [...files.values()].map(
        (file) =>
          new Promise<void>((resolve, reject) => {
            file.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
          }),
      ),
    );
  }
  options.onProgress?.(patients, patients);
  const counts: Record<string, number> = {};
  for (const [type, file] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    counts[type] = file.count;
  }
  return { counts, resources };
}

function checkedCount(patients: number): number {
  if (!Number.isInteger(patients) || patients < 0) {
    throw new RangeError(`patients must be a non-negative integer, got ${patients}`);
  }
  return patients;
}
