import { parentPort, workerData } from 'node:worker_threads';
import type { SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { registerSearchParameters } from '../fhir/search-parameters.js';
import { registerStructureDefinitions } from '../fhir/validate.js';
import { prepareLine } from './prepare-line.js';
import type { PrepareJob, PrepareReply } from './prepare-pool.js';

/**
 * A thread of the bulk-load pool (src/bulk/prepare-pool.ts): prepares the lines it is sent with the
 * definitions the importing thread held when the pool started. An exception is not caught here:
 * it ends the thread, and the pool fails the import.
 */
const { searchParameters, structureDefinitions } = workerData as { searchParameters: SearchParameter[]; structureDefinitions: StructureDefinition[] };
registerSearchParameters(searchParameters);
registerStructureDefinitions(structureDefinitions);
parentPort!.on('message', ({ job, lines }: PrepareJob) => {
  const results = lines.map(([line, text]) => {
    const result = prepareLine(text, line);
    // The parsed resource stays here: the importing thread parses a version again only if the door asks.
    return 'prepared' in result ? { line, prepared: result.prepared } : result;
  });
  parentPort!.postMessage({ job, results } satisfies PrepareReply);
});
