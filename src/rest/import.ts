import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { importNdjson } from '../bulk/import.js';
import { defaultWorkers, inThread, workerPool } from '../bulk/prepare-pool.js';
import { codedIssue, outcome, unsupportedMediaType } from '../fhir/outcome.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';

/**
 * From this many lines on, a body is prepared in worker threads: each thread first loads the
 * definitions and warms up for some seconds, which only a large load wins back.
 */
const POOL_MIN_LINES = 20_000;

/** A response lists at most this many rejected lines; the count of all of them is in the summary. */
const MAX_LISTED_REJECTIONS = 1000;

/**
 * `$import` with the NDJSON in the request body (application/fhir+ndjson): the same load as
 * `densaulyq import`, for systems that push data over HTTP. Synchronous: the answer is an
 * OperationOutcome that counts what was written and names every rejected line with its issues
 * (expression `line[N]` and the element path). Resources keep their ids; re-sending changes nothing.
 */
export async function importOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  if (typeof request.body !== 'string' || !/ndjson/.test(request.headers.contentType ?? '')) {
    throw unsupportedMediaType(`$import takes NDJSON (application/fhir+ndjson) in the request body`);
  }
  const rejected: OperationOutcomeIssue[] = [];
  let rejectedLines = 0;
  const pool = lineCount(request.body) >= POOL_MIN_LINES ? workerPool(defaultWorkers()) : inThread();
  const progress = await importNdjson(lines(request.body), 'request', {
    repo: context.repo,
    pool,
    onRejected: ({ line, outcome }) => {
      rejectedLines++;
      if (rejectedLines > MAX_LISTED_REJECTIONS) return;
      for (const issue of outcome.issue) rejected.push({ ...issue, expression: [`line[${line}]`, ...(issue.expression ?? [])] });
    },
  }).finally(() => pool.close());
  const counts = `read ${progress.read}, written ${progress.written}, unchanged ${progress.unchanged}, rejected ${progress.rejected}`;
  return { status: 200, resource: outcome([codedIssue('import-summary', counts, { diagnostics: counts }), ...rejected]) };
}

function lineCount(text: string): number {
  let count = 1;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

async function* lines(text: string): AsyncGenerator<string> {
  let start = 0;
  while (start <= text.length) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end < 0 ? text.length : end);
    yield line.endsWith('\r') ? line.slice(0, -1) : line;
    if (end < 0) return;
    start = end + 1;
  }
}
