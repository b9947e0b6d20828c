import {
  type ExportLevel,
  type ExportRequest,
  abortLocalJob,
  describeProgress,
  groupMembers,
  planExport,
  resumeIfOrphaned,
  startExportJob,
} from '../bulk/export.js';
import { allOk, badRequest, forbidden, notFound, outcome } from '../fhir/outcome.js';
import { withQuery } from './history.js';
import { parametersBody } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext, AnyLevelParams, RouteParams } from './interaction.js';

/**
 * The FHIR Bulk Data Access IG's asynchronous export (https://hl7.org/fhir/uv/bulkdata/export.html):
 * kick-off at `$export`, `Patient/$export` and `Group/[id]/$export`, then the status, cancel and
 * download endpoints the kick-off points to.
 */

const NDJSON = 'application/fhir+ndjson';
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUPPORTED = new Set(['_outputFormat', '_since', '_type', '_typeFilter']);
/** Seconds a client should wait between status requests. */
const RETRY_AFTER = '1';

/**
 * Kick-off (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-kick-off-request): checks the
 * parameters, records the job and answers 202 with the status URL in Content-Location.
 */
export async function exportKickOff(request: FhirRequest, params: AnyLevelParams, context: InteractionContext): Promise<FhirResponse> {
  const prefer = request.headers.prefer ?? '';
  if (!/(^|[\s,;])respond-async($|[\s,;])/.test(prefer)) {
    throw badRequest(`$export is asynchronous: send the header "Prefer: respond-async"`, 'Prefer');
  }
  const level = exportLevel(params);
  const lenient = /handling=lenient/.test(prefer);
  const exportRequest: ExportRequest = { level };
  for (const [name, value] of [...request.query, ...bodyParameters(request)]) {
    if (!SUPPORTED.has(name)) {
      if (lenient) continue;
      throw badRequest(`$export does not support the parameter "${name}" (send "Prefer: handling=lenient" to have it ignored)`, name, 'not-supported');
    }
    if (name === '_type') (exportRequest.types ??= []).push(value);
    else if (name === '_typeFilter') (exportRequest.typeFilter ??= []).push(value);
    else if (name === '_since') exportRequest.since = single(exportRequest.since, value, name);
    else exportRequest.outputFormat = single(exportRequest.outputFormat, value, name);
  }
  if (level === 'group' && params.id !== undefined) {
    exportRequest.groupId = params.id;
    exportRequest.patients = await groupMembers(context.repo, params.id);
  }
  const planned = planExport(exportRequest);
  // Asked at kick-off, not when the job reaches a type: a type asked for and not granted is a
  // 403 now; of the types not named, the export holds those the scopes open.
  const { repo } = context;
  if (repo.access.aggregateOnly) throw forbidden(`An export holds records; this caller sees aggregate counts only`);
  for (const type of exportRequest.types?.flatMap((t) => t.split(',')) ?? []) repo.access.require('s', type);
  const parameters = { ...planned, types: planned.types.filter((type) => repo.permits('s', type)) };
  if (parameters.types.length === 0) throw forbidden(`No granted scope allows exporting any resource type`);
  const kickOffUrl = withQuery(`${context.baseUrl}/${request.path}`, request.query);
  const id = await startExportJob(context.repo, { request: kickOffUrl, parameters });
  return {
    status: 202,
    headers: { 'content-location': `${context.baseUrl}/$export-status/${id}` },
    resource: allOk(`Export job ${id} accepted; poll the Content-Location URL for its status`),
  };
}

/**
 * Status (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request): 202 while the
 * job runs, 200 with the manifest when it is done, 500 with an OperationOutcome when it failed.
 */
export async function exportStatus(_request: FhirRequest, params: RouteParams<'$export-status/:job'>, context: InteractionContext): Promise<FhirResponse> {
  const job = await findJob(context, params.job);
  if (job.status === 'failed') {
    // The IG's form for a failed job: returned, not thrown, since the status request itself is fine.
    return { status: 500, resource: outcome([{ severity: 'error', code: 'exception', diagnostics: job.error ?? 'The export failed' }]) };
  }
  if (job.status === 'in-progress') {
    await resumeIfOrphaned(context.repo, job);
    return { status: 202, headers: { 'x-progress': describeProgress(job), 'retry-after': RETRY_AFTER }, body: '' };
  }
  const outputs = await context.repo.exportJobs.listOutputs(job.id);
  const manifest = {
    transactionTime: job.transactionTime,
    request: job.request,
    requiresAccessToken: true,
    output: outputs.map((o) => ({ type: o.resourceType, url: `${context.baseUrl}/$export-output/${job.id}/${o.seq}`, count: o.count })),
    error: [],
  };
  return { status: 200, contentType: 'application/json', body: JSON.stringify(manifest) };
}

/** Cancel (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-delete-request): stops the job and deletes its files. */
export async function exportCancel(_request: FhirRequest, params: RouteParams<'$export-status/:job'>, context: InteractionContext): Promise<FhirResponse> {
  await findJob(context, params.job);
  abortLocalJob(params.job);
  if (!(await context.repo.exportJobs.delete(params.job))) throw notFound(`No export job ${params.job}`);
  return { status: 202, resource: allOk(`Export job ${params.job} cancelled and its files deleted`) };
}

/** Download of one output file (https://hl7.org/fhir/uv/bulkdata/export.html#file-request), as NDJSON. */
export async function exportOutput(_request: FhirRequest, params: RouteParams<'$export-output/:job/:seq'>, context: InteractionContext): Promise<FhirResponse> {
  const seq = Number(params.seq);
  if (!JOB_ID.test(params.job) || !/^\d{1,9}$/.test(params.seq)) throw notFound(`No export file ${params.job}/${params.seq}`);
  await findJob(context, params.job);
  const content = await context.repo.exportJobs.readOutputContent(params.job, seq);
  if (content === undefined) throw notFound(`No export file ${params.job}/${params.seq}`);
  return { status: 200, contentType: NDJSON, body: content };
}

function exportLevel(params: AnyLevelParams): ExportLevel {
  if (params.type === undefined) return 'system';
  if (params.type === 'Patient' && params.id === undefined) return 'patient';
  if (params.type === 'Group' && params.id !== undefined) return 'group';
  throw badRequest(`$export is defined at [base]/$export, [base]/Patient/$export and [base]/Group/[id]/$export, not on ${params.type}${params.id ? '/' + params.id : ''}`);
}

/** The job, if it is the caller's: the door's `jobOwner` keeps another's job, to them, not there. */
async function findJob(context: InteractionContext, id: string) {
  const job = JOB_ID.test(id) ? await context.repo.exportJobs.read(id) : undefined;
  if (!job) throw notFound(`No export job ${id}`);
  return job;
}

function single(previous: string | undefined, value: string, name: string): string {
  if (previous !== undefined) throw badRequest(`${name} may be given only once`, name);
  return value;
}

/** POST kick-off: the parameters come as a Parameters resource. */
function bodyParameters(request: FhirRequest): [string, string][] {
  if (request.method !== 'POST' || request.body === undefined) return [];
  const body = parametersBody(request, `A POST $export carries its parameters as a Parameters resource`);
  return (body.parameter ?? []).map((p): [string, string] => {
    const value = p.valueString ?? p.valueInstant ?? p.valueCode ?? p.valueDateTime ?? p.valueUri;
    if (!p.name || value === undefined) throw badRequest(`Each $export parameter needs a name and a string, code or instant value`, 'Parameters.parameter');
    return [p.name, value];
  });
}
