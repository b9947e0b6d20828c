import type { Bundle, BundleLink, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcome.js';
import { DEFAULT_COUNT, MAX_COUNT } from '../fhir/search-request.js';
import type { CareDeclarationRow } from '../store/care-declarations.js';
import { parametersBody } from './body.js';
import { withQuery } from './history.js';
import type { FhirRequest, FhirResponse, InteractionContext, InstanceParams } from './interaction.js';

/**
 * Densaulyq operations on care relationships (docs/architecture.md, "one door"): primary-care
 * attachment at the patient's request, and the corroboration and review of what organizations
 * declared about themselves.
 */

const ORGANIZATION = /^Organization\/([A-Za-z0-9\-.]{1,64})$/;

function parameter(request: FhirRequest, name: string): ParametersParameter | undefined {
  return parametersBody(request, `This operation takes a Parameters resource`, 'Parameters').parameter?.find((p) => p.name === name);
}

const at = (name: string, type: string) => `Parameters.parameter.where(name='${name}').${type}`;

function organizationParameter(request: FhirRequest): string {
  const reference = parameter(request, 'organization')?.valueReference?.reference ?? '';
  const id = ORGANIZATION.exec(reference)?.[1];
  if (!id) throw badRequest(`organization must be a reference to an Organization`, at('organization', 'valueReference'));
  return id;
}

/** `POST Patient/[id]/$attach` {organization}: the citizen chooses their primary-care organization (or the registry records it). */
export async function attachOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const stored = await context.repo.attach(params.id, organizationParameter(request));
  return { status: 200, stored };
}

/** `POST Patient/[id]/$care-code`: a one-time code the patient gives an organization to confirm its care. Out: `code`, `expires`. */
export async function careCodeOperation(_request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const { code, expires } = await context.repo.careCode(params.id);
  const result: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'code', valueString: code }, { name: 'expires', valueInstant: expires }] };
  return { status: 200, resource: result };
}

/**
 * `POST Patient/[id]/$confirm-care`: the patient confirms `organization`'s self-declared care, or
 * the organization presents the patient's `code`. Out: `confirmed` (how many declarations).
 */
export async function confirmCareOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const code = parameter(request, 'code')?.valueString?.trim();
  if (code !== undefined && !/^\d{6}$/.test(code)) throw badRequest(`code is the six digits the patient's app shows`, at('code', 'valueString'));
  const confirmed = await context.repo.confirmCare(params.id, code !== undefined ? { code } : { party: `Organization/${organizationParameter(request)}` });
  return { status: 200, resource: { resourceType: 'Parameters', parameter: [{ name: 'confirmed', valueInteger: confirmed }] } };
}

const LIST_PARAMETERS = new Set(['organization', 'status', 'reviewed', '_count', '_cursor']);
const PATIENT_LIST_PARAMETERS = new Set(['status', '_count', '_cursor']);
const STATUSES: readonly CareDeclarationRow['status'][] = ['open', 'confirmed', 'expired', 'disputed'];

/** The query of a list of declarations, checked against the parameters `allowed`; paging and status read. */
function declarationListQuery(request: FhirRequest, allowed: ReadonlySet<string>) {
  const query = new Map<string, string>();
  for (const [key, value] of request.query) {
    if (!allowed.has(key)) throw badRequest(`Unknown $care-declarations parameter "${key}"`, key);
    query.set(key, value);
  }
  const count = query.has('_count') ? Number(query.get('_count')) : DEFAULT_COUNT;
  if (!Number.isInteger(count) || count < 1) throw badRequest(`_count must be a positive integer`, '_count');
  const status = STATUSES.find((s) => s === query.get('status'));
  if (query.has('status') && !status) throw badRequest(`status is one of ${STATUSES.join(', ')}`, 'status');
  const cursor = query.get('_cursor');
  return { query, page: { count: Math.min(count, MAX_COUNT), ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) } };
}

/** A page of declarations as a `collection` Bundle of Parameters, with its self and next links under `base`. */
function declarationBundle(base: string, request: FhirRequest, query: Map<string, string>, page: { rows: CareDeclarationRow[]; nextCursor?: string }): FhirResponse {
  const link: BundleLink[] = [{ relation: 'self', url: withQuery(base, request.query) }];
  if (page.nextCursor) link.push({ relation: 'next', url: withQuery(base, [...[...query].filter(([k]) => k !== '_cursor'), ['_cursor', page.nextCursor]]) });
  const bundle: Bundle = { resourceType: 'Bundle', type: 'collection', link, entry: page.rows.map((row) => ({ resource: declarationParameters(row) })) };
  return { status: 200, resource: bundle };
}

/**
 * `GET $care-declarations?organization=&status=open|confirmed|expired|disputed&reviewed=false&_count=`:
 * the review work list of self-declared care, for an organization's administrator (its own) and
 * the ministry (all), newest first, as a `collection` Bundle of Parameters, one per declaration.
 */
export async function careDeclarationsOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const { query, page } = declarationListQuery(request, LIST_PARAMETERS);
  const reviewed = query.get('reviewed');
  if (reviewed !== undefined && reviewed !== 'false') throw badRequest(`reviewed may only be false (the unreviewed ones)`, 'reviewed');
  const organization = query.get('organization');
  if (organization !== undefined && !ORGANIZATION.test(`Organization/${organization}`)) throw badRequest(`organization is an Organization id`, 'organization');
  const rows = await context.repo.careDeclarations({
    ...page,
    ...(organization ? { party: `Organization/${organization}` } : {}),
    ...(reviewed === 'false' ? { unreviewed: true } : {}),
  });
  return declarationBundle(`${context.baseUrl}/$care-declarations`, request, query, rows);
}

/**
 * `GET Patient/[id]/$care-declarations?status=&_count=`: the patient's (or their representative's)
 * view of the care organizations declared about themselves, newest first: the organization (with
 * its name), when, the resource that declared it, and its status, to confirm or dispute.
 */
export async function patientCareDeclarationsOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const { query, page } = declarationListQuery(request, PATIENT_LIST_PARAMETERS);
  const rows = await context.repo.patientCareDeclarations(params.id, page);
  return declarationBundle(`${context.baseUrl}/Patient/${params.id}/$care-declarations`, request, query, rows);
}

/**
 * `POST Patient/[id]/$dispute-care` {organization}: the patient disputes an organization's
 * self-declared care; its access under it ends at once. Out: `disputed` (how many declarations).
 */
export async function disputeCareOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const disputed = await context.repo.disputeCare(params.id, `Organization/${organizationParameter(request)}`);
  return { status: 200, resource: { resourceType: 'Parameters', parameter: [{ name: 'disputed', valueInteger: disputed }] } };
}

/** `POST $review-care-declaration` {declaration, outcome: appropriate|inappropriate, note?}: records the reviewer's finding. */
export async function reviewCareDeclarationOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const id = parameter(request, 'declaration')?.valueString;
  const outcome = parameter(request, 'outcome')?.valueCode;
  const note = parameter(request, 'note')?.valueString;
  if (!id) throw badRequest(`declaration is the id of a care declaration`, at('declaration', 'valueString'));
  if (outcome !== 'appropriate' && outcome !== 'inappropriate') throw badRequest(`outcome is appropriate or inappropriate`, at('outcome', 'valueCode'));
  await context.repo.reviewCareDeclaration({ id, outcome, ...(note ? { note } : {}) });
  return { status: 200, resource: { resourceType: 'Parameters', parameter: [{ name: 'reviewed', valueBoolean: true }] } };
}

function declarationParameters(row: CareDeclarationRow): Parameters {
  const parts: ParametersParameter[] = [
    { name: 'id', valueString: row.id },
    { name: 'patient', valueReference: { reference: `Patient/${row.patient}` } },
    { name: 'organization', valueReference: { reference: row.party, ...(row.partyName ? { display: row.partyName } : {}) } },
    { name: 'kind', valueCode: row.kind },
    { name: 'evidence', valueReference: { reference: row.evidence } },
    { name: 'declaredBy', valueString: row.declaredBy },
    { name: 'client', valueString: row.clientId },
    { name: 'declared', valueInstant: row.declaredAt },
    { name: 'expires', valueInstant: row.expiresAt },
    { name: 'status', valueCode: row.status },
  ];
  if (row.confirmedAt) parts.push({ name: 'confirmed', valueInstant: row.confirmedAt }, { name: 'confirmedBy', valueString: row.confirmedBy ?? '' });
  if (row.disputedAt) parts.push({ name: 'disputed', valueInstant: row.disputedAt }, { name: 'disputedBy', valueString: row.disputedBy ?? '' });
  if (row.reviewedAt) parts.push({ name: 'reviewed', valueInstant: row.reviewedAt }, { name: 'reviewOutcome', valueCode: row.reviewOutcome ?? '' });
  if (row.reviewNote) parts.push({ name: 'reviewNote', valueString: row.reviewNote });
  return { resourceType: 'Parameters', parameter: parts };
}
