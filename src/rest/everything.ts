import type { Bundle, BundleEntry, BundleLink, Patient } from '@medplum/fhirtypes';
import { dateRange } from '../fhir/dates.js';
import { isResourceType } from '../fhir/definitions.js';
import { badRequest, forbidden, outcome } from '../fhir/outcome.js';
import { parseReference } from '../fhir/search-parameters.js';
import { type SearchFilter, type SearchRequest, parseFilter, parseSearchRequest } from '../fhir/search-request.js';
import type { Repository, StoredResource } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { careDateAlternatives, patientDataTypes } from './everything-dates.js';
import { withQuery } from './history.js';
import type { FhirRequest, FhirResponse, InstanceParams, InteractionContext, TypeParams } from './interaction.js';
import { searchEntry } from './search.js';

/**
 * The most entries one page of `$everything` holds, and the page size when the client names none:
 * R4 answers the whole record in one Bundle unless the client asks for pages, and the page is
 * written to the client as it is serialized (src/rest/everything-stream.ts).
 */
const MAX_EVERYTHING_COUNT = 10_000;

/** The parameters of https://hl7.org/fhir/R4/patient-operation-everything.html this server reads, and the paging and subsetting ones of search. */
/** The inputs R4 defines for `$everything` (its served OperationDefinition lists these). */
export const EVERYTHING_INPUTS: ReadonlySet<string> = new Set(['start', 'end', '_since', '_type', '_count']);
/** What a request may carry besides them: the cursor of a next link and the subsetting it kept. */
const EVERYTHING_PARAMETERS = [...EVERYTHING_INPUTS, '_cursor', '_elements', '_summary'];
const READ = new Set<string>(EVERYTHING_PARAMETERS);

/**
 * Types outside any patient compartment that a record refers to and needs to be read: who
 * treated, where, with what (R4: "linked practitioners, medications, locations, organizations
 * etc." and "binaries and attachments"). A Device of another patient stays out (`patient:missing`).
 */
const SUPPORTING_TYPES = ['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'HealthcareService', 'Endpoint', 'Medication', 'Substance', 'Device', 'Binary'];
const SUPPORTING_REFERENCE = new RegExp(
  `"(?:reference|url)":"(?:[^"]*/)?(${SUPPORTING_TYPES.join('|')})/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^"]*)?"`,
  'g',
);
/** Supporting resources refer to others (a PractitionerRole to its Organization, a Location to its own): followed this deep. */
const SUPPORTING_ROUNDS = 3;

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

interface EverythingQuery {
  start?: string;
  end?: string;
  since?: string;
  types?: string[];
  count: number;
  cursor?: string;
  summary?: string;
  elements?: string[];
  /** The parameters as given, for the links of every page. */
  given: [string, string][];
}

/**
 * `Patient/[id]/$everything` (https://hl7.org/fhir/R4/patient-operation-everything.html): the
 * patient's record as a searchset Bundle, the Patient first, then everything with the patient's
 * compartment key (the compartment, and any type that names the patient), then the resources
 * outside any compartment that the record refers to. `start`/`end` keep what was cared for in
 * that range by each type's care date (src/rest/everything-dates.ts); `_since` what changed since;
 * `_type` those types; `_count` pages by keyset with `next` links that keep every parameter.
 *
 * One search per page, through the door: a caller sees what consent, the care relationship or a
 * break-glass grant let them, and a page's records are audited once per patient before it is
 * served. Reading a merged record's links is an access to those Patients too, audited as such; so
 * is adding the Patient to a first page the record's size pushed it off.
 *
 * A merged record is one: on the surviving Patient it holds the Patients it `replaces` (and what
 * they replaced) and whatever still refers to them; asked of a Patient `replaced-by` another, it
 * answers for the survivor (R4 Patient.link: the other record "must be used in lieu of" this one),
 * saying so in an OperationOutcome entry.
 */
export async function everythingOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const query = parseEverything(request);
  // Who reads no Patients follows no links: the analyst (refused below, as for any compartment search), a token without a Patient scope.
  const followsLinks = !context.repo.access.aggregateOnly && context.repo.permits('s', 'Patient');
  const record = followsLinks ? await mergedRecord(context.repo, params.id) : { survivor: params.id, patients: [params.id] };
  const page = await everythingPage(query, record.patients, context);
  const notices: BundleEntry[] =
    record.survivor !== params.id && !query.cursor
      ? [
          {
            search: { mode: 'outcome' },
            resource: outcome([
              {
                severity: 'information',
                code: 'informational',
                diagnostics: `Patient/${params.id} was merged into Patient/${record.survivor}: this is the record of Patient/${record.survivor}, which includes it`,
              },
            ]),
          },
        ]
      : [];
  return bundle(page, query, `${context.baseUrl}/Patient/${params.id}/$everything`, context, notices);
}

/**
 * `GET Patient/$everything`: for a citizen, their own record and those of the children they
 * represent (R4: "all patients in the family that the patient has access to"); the door decides
 * who those are. Anyone else is refused: a clinician's "all patients I may see" is a bulk export
 * (`Patient/$export`), which R4 lets a server require here.
 */
export async function everythingTypeOperation(request: FhirRequest, _params: TypeParams, context: InteractionContext): Promise<FhirResponse> {
  const query = parseEverything(request);
  if (context.access.role !== 'citizen') {
    throw forbidden(`Patient/$everything without a patient answers a citizen with their own and their children's records; name the patient (Patient/[id]/$everything), or export many (Patient/$export)`);
  }
  const page = await everythingPage(query, 'any', context);
  return bundle(page, query, `${context.baseUrl}/Patient/$everything`, context, []);
}

function parseEverything(request: FhirRequest): EverythingQuery {
  const query: EverythingQuery = { count: MAX_EVERYTHING_COUNT, given: [] };
  const once = new Set<string>();
  for (const [name, value] of request.query) {
    if (!READ.has(name)) throw badRequest(`$everything takes ${EVERYTHING_PARAMETERS.join(', ')}; not "${name}"`, name);
    if (name !== '_type' && once.has(name)) throw badRequest(`${name} may be given once`, name);
    once.add(name);
    if (name !== '_cursor') query.given.push([name, value]);
    switch (name) {
      case 'start':
      case 'end':
        dateRange(value, name);
        query[name] = value;
        break;
      case '_since':
        if (!INSTANT.test(value)) throw badRequest(`_since must be an instant with its time zone, such as 2026-01-01T00:00:00Z`, name);
        dateRange(value, name);
        query.since = value;
        break;
      case '_type':
        for (const type of value.split(',')) {
          if (!isResourceType(type)) throw badRequest(`Unknown resource type "${type}" in _type`, name);
          (query.types ??= []).push(type);
        }
        break;
      case '_count': {
        const count = Number(value);
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) throw badRequest(`_count must be a non-negative integer`, name);
        query.count = Math.min(count, MAX_EVERYTHING_COUNT);
        break;
      }
      case '_cursor':
        query.cursor = value;
        break;
      default: {
        // _summary and _elements, checked as search checks them.
        const parsed = parseSearchRequest('Resource', [[name, value]]);
        if (parsed.summary !== undefined) query.summary = parsed.summary;
        if (parsed.elements !== undefined) query.elements = parsed.elements;
      }
    }
  }
  return query;
}

interface Page {
  /** The page's matches, the Patients first. */
  entries: StoredResource[];
  /** The supporting resources they refer to. */
  supporting: StoredResource[];
  total?: number;
  nextCursor?: string;
}

async function everythingPage(query: EverythingQuery, compartments: string[] | 'any', context: InteractionContext): Promise<Page> {
  const request = searchOf(query);
  request.compartments = compartments;
  const result = await context.repo.search(request);
  if (request.summary === 'count' || request.count === 0) return { entries: [], supporting: [], total: result.total };
  const entries = patientsFirst(result.entries, compartments);
  const wantsPatients = !query.cursor && result.nextCursor !== undefined && compartments !== 'any' && (query.types === undefined || query.types.includes('Patient'));
  const missing = wantsPatients ? compartments.filter((id) => !entries.some((e) => e.resourceType === 'Patient' && e.id === id)) : [];
  const supporting = patientsFirst(await supportingResources(context.repo, entries, missing), compartments);
  return { entries, supporting, nextCursor: result.nextCursor };
}

/** The search a page of `$everything` is: one type `*` over the compartments, or per type when `_type`, `start` or `end` narrow it. */
function searchOf(query: EverythingQuery): SearchRequest {
  const since = (resourceType: string): SearchFilter[] => (query.since ? [parseFilter(resourceType, '_lastUpdated', `ge${query.since}`)] : []);
  const narrowed = query.types !== undefined || query.start !== undefined || query.end !== undefined;
  const base: SearchRequest = { resourceType: '*', filters: narrowed ? [] : since('Resource'), count: query.count, sort: [], total: 'none', includes: [], applied: [] };
  if (narrowed) {
    const types = query.types ? [...new Set(query.types)] : patientDataTypes();
    base.types = types.flatMap((type) => careDateAlternatives(type, { start: query.start, end: query.end }, since(type)));
  }
  if (query.cursor) base.cursor = query.cursor;
  if (query.summary !== undefined) base.summary = query.summary;
  if (query.elements !== undefined) base.elements = query.elements;
  if (query.summary === 'count' || query.count === 0) base.total = 'accurate';
  return base;
}

/** The Patients of the page first, the survivor of a merged record before the Patients it replaced. */
function patientsFirst(entries: StoredResource[], order: string[] | 'any'): StoredResource[] {
  const rank = (e: StoredResource) => (order === 'any' ? 0 : order.indexOf(e.id));
  const patients = entries.filter((e) => e.resourceType === 'Patient').sort((a, b) => rank(a) - rank(b));
  return patients.length === 0 ? entries : [...patients, ...entries.filter((e) => e.resourceType !== 'Patient')];
}

/**
 * The resources outside any compartment the page refers to, found in the stored JSON text
 * (references and attachment URLs) and read by one search, through the door, round after round
 * for what those refer to. On a first page the keyset order left the Patients out of (a record
 * larger than the page), they are added too, so every record's first page starts with whose it is.
 */
async function supportingResources(repo: Repository, page: StoredResource[], missingPatients: string[]): Promise<StoredResource[]> {
  const seen = new Set(page.map((r) => `${r.resourceType}/${r.id}`));
  const found: StoredResource[] = [];
  let frontier = page;
  let patients = missingPatients;
  for (let round = 0; round < SUPPORTING_ROUNDS && (frontier.length > 0 || patients.length > 0); round++) {
    const wanted = new Map<string, Set<string>>(patients.length > 0 ? [['Patient', new Set(patients)]] : []);
    patients = [];
    for (const resource of frontier) {
      for (const [, type, id] of resource.json.matchAll(SUPPORTING_REFERENCE)) {
        if (!seen.has(`${type}/${id}`)) (wanted.get(type!) ?? wanted.set(type!, new Set()).get(type!)!).add(id!);
      }
    }
    if (wanted.size === 0) break;
    const types = [...wanted].map(([resourceType, ids]) => ({
      resourceType,
      filters: [parseFilter(resourceType, '_id', [...ids].join(',')), ...(resourceType === 'Device' ? [parseFilter('Device', 'patient:missing', 'true')] : [])],
    }));
    const count = [...wanted.values()].reduce((n, ids) => n + ids.size, 0);
    const result = await repo.search({ resourceType: '*', filters: [], types, count, sort: [], total: 'none', includes: [], applied: [] });
    frontier = result.entries.filter((r) => !seen.has(`${r.resourceType}/${r.id}`));
    for (const r of frontier) seen.add(`${r.resourceType}/${r.id}`);
    found.push(...frontier);
  }
  return found;
}

function bundle(page: Page, query: EverythingQuery, base: string, context: InteractionContext, notices: BundleEntry[]): FhirResponse {
  const link: BundleLink[] = [{ relation: 'self', url: withQuery(base, query.cursor ? [...query.given, ['_cursor', query.cursor]] : query.given) }];
  if (page.nextCursor) link.push({ relation: 'next', url: withQuery(base, [...query.given, ['_cursor', page.nextCursor]]) });
  const entry = [
    ...page.entries.map((stored) => searchEntry(stored, 'match', query, context.baseUrl)),
    ...page.supporting.map((stored) => searchEntry(stored, 'include', query, context.baseUrl)),
    ...notices,
  ];
  const result: Bundle = { resourceType: 'Bundle', type: 'searchset', ...(page.total === undefined ? {} : { total: page.total }), link, entry };
  return { status: 200, resource: result };
}

/** The Patient ids of one person's record after merges: the survivor, and every Patient merged into it, transitively. */
interface MergedRecord {
  survivor: string;
  patients: string[];
}

const MERGE_LINKS = new Set(['replaces', 'replaced-by']);
/** A record merged more often than this is followed this far. */
const MAX_MERGE_STEPS = 20;

/**
 * The Patients joined to `id` by merges, through the door: a Patient the caller may not see is
 * not followed. src/identity/patient-merge.ts writes `replaced-by` on the source and `replaces`
 * on the target, and a later merge of the target moves the source's `replaced-by` on to the new
 * survivor, so links need not point both ways: the Patients reachable over links from `id`
 * (read by `_has:Patient:link`, only those with merge links of their own) are gathered first,
 * then those joined to `id` by a merge link either way are its record. The survivor is the one
 * not `replaced-by` another. A Patient never merged links to none, and that search finds, and
 * discloses, nothing.
 */
async function mergedRecord(repo: Repository, id: string): Promise<MergedRecord> {
  const merges = (patient: Patient | undefined) =>
    (patient?.link ?? []).filter((l) => MERGE_LINKS.has(l.type)).flatMap((l) => {
      const target = parseReference(l.other?.reference ?? '');
      return target.type === 'Patient' && target.id ? [target.id] : [];
    });
  const reached = new Map<string, Patient | undefined>([[id, undefined]]);
  const queue = [id];
  for (let steps = 0; steps < MAX_MERGE_STEPS && queue.length > 0; steps++) {
    const result = await repo.search(parseSearchRequest('Patient', [[`_has:Patient:link:_id`, queue.shift()!], ['_count', '100']]));
    for (const stored of result.entries) {
      const patient = parseStored<Patient>(stored);
      if (reached.has(stored.id) || merges(patient).length === 0) continue;
      reached.set(stored.id, patient);
      queue.push(stored.id);
    }
  }
  const members = new Set([id]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [candidate, patient] of reached) {
      if (members.has(candidate)) continue;
      const joined = merges(patient).some((other) => members.has(other)) || [...members].some((member) => merges(reached.get(member)).includes(candidate));
      if (joined) {
        members.add(candidate);
        grew = true;
      }
    }
  }
  const survivor = [...members].find((member) => reached.get(member) && !reached.get(member)!.link?.some((l) => l.type === 'replaced-by')) ?? id;
  return { survivor, patients: [survivor, ...[...members].filter((member) => member !== survivor)] };
}
