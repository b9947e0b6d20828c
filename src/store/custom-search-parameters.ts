import type { SearchParameter } from '@medplum/fhirtypes';
import { registerSearchParameters } from '../fhir/search-parameters.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Repository } from './repository.js';
import { parseStored } from './stored-json.js';

/**
 * Registers the SearchParameter resources the server holds, so a process starting up (or
 * reindexing) indexes and searches by them as by the R4 ones. Returns how many there are.
 */
export async function loadCustomSearchParameters(repo: Repository): Promise<number> {
  const found: SearchParameter[] = [];
  const request = parseSearchRequest('SearchParameter', [['_count', '1000']]);
  for (;;) {
    const page = await repo.search(request);
    found.push(...page.entries.map((entry) => parseStored<SearchParameter>(entry)));
    if (!page.nextCursor) break;
    request.cursor = page.nextCursor;
  }
  registerSearchParameters(found);
  return found.length;
}
