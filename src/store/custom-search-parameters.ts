import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { registerSearchParameters } from '../fhir/search-parameters.js';
import { registerStructureDefinitions } from '../fhir/validate.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Repository } from './repository.js';
import { parseStored } from './stored-json.js';

/** Every current resource of `resourceType` the caller may search, page by page. */
async function heldResources<T extends Resource>(repo: Repository, resourceType: string): Promise<T[]> {
  const found: T[] = [];
  const request = parseSearchRequest(resourceType, [['_count', '1000']]);
  for (;;) {
    const page = await repo.search(request);
    found.push(...page.entries.map((entry) => parseStored<T>(entry)));
    if (!page.nextCursor) break;
    request.cursor = page.nextCursor;
  }
  return found;
}

/**
 * Registers the SearchParameter resources the server holds, so a process starting up (or
 * reindexing) indexes and searches by them as by the R4 ones. Returns how many there are.
 */
export async function loadCustomSearchParameters(repo: Repository): Promise<number> {
  const found = await heldResources<SearchParameter>(repo, 'SearchParameter');
  registerSearchParameters(found);
  return found.length;
}

/**
 * Registers the StructureDefinitions (national profiles) the server holds with the validator, so
 * a process starting up enforces them on resources that claim them. Returns how many there are.
 */
export async function loadHeldProfiles(repo: Repository): Promise<number> {
  const found = await heldResources<Resource>(repo, 'StructureDefinition');
  registerStructureDefinitions(found);
  return found.length;
}
