import type { Resource } from '@medplum/fhirtypes';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Repository } from '../store/repository.js';
import { populationResources } from './population.js';

export interface SeedOptions {
  patients: number;
  seed: number;
  onProgress?: (written: number) => void;
}

/** True when the store holds no Patient yet: a fresh data folder. */
export async function hasNoPatients(repo: Repository): Promise<boolean> {
  const request = parseSearchRequest('Patient', [['_count', '1']]);
  return (await repo.search(request)).entries.length === 0;
}

/**
 * Loads a synthetic demo population straight into the store. The generator's output is
 * validated against R4 by its own tests, so it is written without validating it again here.
 */
export async function seedDemoPopulation(repo: Repository, options: SeedOptions): Promise<number> {
  let batch: { resource: Resource; id: string }[] = [];
  let written = 0;
  const flush = async () => {
    written += (await repo.writeMany(batch, 'create')).stored.length;
    batch = [];
    options.onProgress?.(written);
  };
  for (const resource of populationResources({ patients: options.patients, seed: options.seed })) {
    batch.push({ resource, id: resource.id! });
    if (batch.length >= 1000) await flush();
  }
  if (batch.length) await flush();
  return written;
}
