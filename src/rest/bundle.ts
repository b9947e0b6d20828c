import { randomUUID } from 'node:crypto';
import type { BundleEntry, BundleEntryResponse, DocumentReference, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { isJsonObject, parseFhirJson } from '../fhir/json.js';
import { FhirError, badRequest, isFhirError, payloadTooLarge, preconditionFailed, toFhirError } from '../fhir/outcome.js';
import type { Repository } from '../store/repository.js';
import { type FhirRequest, type FhirResponse, type InteractionContext, etag } from './interaction.js';
import { RAW_RESOURCE } from './raw.js';
import { preparePublication } from '../exchange/documents.js';
import { resourceBody } from './body.js';
import { findRoute, route } from './routes.js';

type Method = FhirRequest['method'];

/** The order a transaction processes its entries in (https://hl7.org/fhir/R4/http.html#trules). */
const TRANSACTION_ORDER: Record<Method, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

/** Own keys only: `constructor` or `toString` are `in` every object. */
function isMethod(value: string): value is Method {
  return Object.hasOwn(TRANSACTION_ORDER, value);
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified' };

interface PreparedEntry {
  index: number;
  request: FhirRequest;
  /** The entry's fullUrl, which references in other entries may use (`urn:uuid:…`). */
  fullUrl?: string;
}

/**
 * batch and transaction (https://hl7.org/fhir/R4/http.html#transaction). A transaction is one SQL
 * transaction: any failing entry rolls back all of it, and the error names the entry.
 */
export async function processBundle(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const bundle = request.body;
  if (!isJsonObject(bundle) || bundle.resourceType !== 'Bundle') {
    throw badRequest(`POST to the service base takes a batch or transaction Bundle`, 'Bundle');
  }
  if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
    throw badRequest(`Bundle.type must be batch or transaction, not ${JSON.stringify(bundle.type)}`, 'Bundle.type');
  }
  const entryList: unknown = bundle.entry ?? [];
  if (!Array.isArray(entryList)) throw badRequest(`Bundle.entry must be an array`, 'Bundle.entry');
  // Not yet checked: prepareEntry checks each entry before it is used.
  const entries: readonly unknown[] = entryList;
  if (entries.length > context.maxBundleEntries) {
    // 413 like an over-long body, as the outcome catalogue pairs them: the client must split the Bundle.
    throw relocate(payloadTooLarge(`The Bundle has ${entries.length} entries; this server takes at most ${context.maxBundleEntries}`), 'Bundle.entry');
  }
  const prefer = request.headers.prefer;
  if (bundle.type === 'batch') {
    const responses: BundleEntry[] = [];
    for (let index = 0; index < entries.length; index++) {
      let prepared: PreparedEntry | undefined;
      try {
        prepared = prepareEntry(entries[index], index, prefer, request.headers.acceptLanguage);
        responses.push(responseEntry(await route(prepared.request, context), prefer, context));
      } catch (error) {
        // Entries before this one are committed: even an unexpected failure is answered in its
        // entry, so the batch-response still tells the client which writes happened.
        const failure = isFhirError(error) ? atEntry(error, index, prepared?.request) : toFhirError(error);
        responses.push({ response: { status: String(failure.status), outcome: failure.outcome } });
      }
    }
    return { status: 200, resource: { resourceType: 'Bundle', type: 'batch-response', entry: responses } };
  }
  const prepared = entries.map((entry, index) => prepareEntry(entry, index, prefer, request.headers.acceptLanguage));
  return context.repo.transaction(async (repo): Promise<FhirResponse> => {
    const txContext = { ...context, repo };
    await resolveIdentities(prepared, repo);
    await publishDocuments(prepared, repo);
    const order = [...prepared].sort((a, b) => TRANSACTION_ORDER[a.request.method] - TRANSACTION_ORDER[b.request.method] || a.index - b.index);
    const responses: BundleEntry[] = new Array(prepared.length);
    // Creates with their ids assigned are validated one by one but written together, in one statement.
    const creates: { index: number; id: string; resource: Resource }[] = [];
    const writeCreates = async () => {
      if (creates.length === 0) return;
      const { stored } = await repo.writeMany(creates, 'create').catch((error: unknown) => {
        // A refused create (an identifier another resource holds) names its own entry.
        if (isFhirError(error) && 'item' in error && typeof error.item === 'number') throw atEntry(error, creates[error.item].index);
        throw error;
      });
      stored.forEach((version, i) => (responses[creates[i].index] = responseEntry({ status: 201, stored: version }, prefer, context)));
      creates.length = 0;
    };
    for (const entry of order) {
      try {
        const { request } = entry;
        // Only the generic create is batched: a type with its own create (Subscription) is routed to it.
        const found = request.method === 'POST' && request.assignedId ? findRoute(request) : undefined;
        if (found && found.route.pattern === ':type') {
          creates.push({ index: entry.index, id: request.assignedId!, resource: resourceBody(request, found.params.type) });
          continue;
        }
        await writeCreates();
        responses[entry.index] = responseEntry(await route(request, txContext), prefer, context);
      } catch (error) {
        throw isFhirError(error) ? atEntry(error, entry.index, entry.request) : error;
      }
    }
    await writeCreates();
    return { status: 200, resource: { resourceType: 'Bundle', type: 'transaction-response', entry: responses } };
  });
}

/**
 * The documents the transaction publishes (IHE MHD ITI-65, src/exchange/documents.ts): each new
 * DocumentReference checked against the Binary or FHIR document it attaches, in this transaction
 * or stored; a fault names its entry.
 */
async function publishDocuments(prepared: readonly PreparedEntry[], repo: Repository): Promise<void> {
  const carried = prepared.flatMap(({ request, index }) => {
    const { method, path, body, assignedId } = request;
    if (!isJsonObject(body) || (method !== 'POST' && method !== 'PUT')) return [];
    const type = path.split('/')[0];
    const identity = assignedId ? `${type}/${assignedId}` : method === 'PUT' && path.split('/').length === 2 ? path : undefined;
    // Only a new DocumentReference is published; an update of one changes its status at most (src/access/document-references.ts).
    if (body.resourceType === 'DocumentReference' && method !== 'POST') return [];
    return [{ resource: body as unknown as Resource, ...(identity ? { identity } : {}), index }];
  });
  for (const { resource, identity, index } of carried) {
    if (resource.resourceType !== 'DocumentReference') continue;
    await preparePublication(resource as DocumentReference, identity, carried, repo).catch((error: unknown) => {
      throw isFhirError(error) ? atEntry(error, index) : error;
    });
  }
}

/** Checks an entry of the posted Bundle and turns it into the request it carries. */
function prepareEntry(entry: unknown, index: number, prefer?: string, acceptLanguage?: string): PreparedEntry {
  const at = `Bundle.entry[${index}]`;
  if (!entry || typeof entry !== 'object') throw badRequest(`The entry is empty`, at);
  const { request: entryRequest, resource, fullUrl } = isJsonObject(entry) ? entry : {};
  const fields = isJsonObject(entryRequest) ? entryRequest : {};
  const { method, url } = fields;
  if (typeof method !== 'string' || !isMethod(method)) {
    throw badRequest(`entry.request.method must be GET, HEAD, POST, PUT, PATCH or DELETE`, `${at}.request.method`);
  }
  if (typeof url !== 'string' || url === '') throw badRequest(`entry.request.url is required`, `${at}.request.url`);
  const [path, query = ''] = url.replace(/^https?:\/\/[^?]*?\/(?=[A-Z$_][^/]*(?:\/|\?|$))/, '').split(/\?(.*)/s, 2);
  if (path === '' || path.startsWith('/')) throw badRequest(`entry.request.url must name a resource type, not the service base`, `${at}.request.url`);
  // Over HTTP Fastify refuses such URLs; here the route table's decodeURIComponent would throw a URIError.
  if (!isDecodable(path)) throw badRequest(`entry.request.url is not validly percent-encoded`, `${at}.request.url`);
  // The request's headers arrive as JSON here, so each can be of any type; the handlers take strings.
  const [ifMatch, ifNoneExist, ifNoneMatch, ifModifiedSince] = (['ifMatch', 'ifNoneExist', 'ifNoneMatch', 'ifModifiedSince'] as const).map((header) => {
    const value = fields[header];
    if (value !== undefined && typeof value !== 'string') throw badRequest(`entry.request.${header} must be a string`, `${at}.request.${header}`);
    return value;
  });
  const body = method === 'PATCH' && isJsonObject(resource) && resource.resourceType === 'Binary' ? decodeBinaryPatch(resource, at) : resource;
  return {
    index,
    ...(typeof fullUrl === 'string' ? { fullUrl } : {}),
    request: {
      method,
      path,
      query: [...new URLSearchParams(query)],
      headers: {
        ifMatch,
        ifNoneExist,
        ifNoneMatch,
        ifModifiedSince,
        prefer,
        contentType: method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json',
        acceptLanguage,
      },
      body,
    },
  };
}

function isDecodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** A transaction carries a JSON Patch as a Binary resource (https://hl7.org/fhir/R4/http.html#patch). */
function decodeBinaryPatch(binary: Record<string, unknown>, at: string): unknown {
  const { data } = binary;
  try {
    return parseFhirJson(Buffer.from(typeof data === 'string' ? data : '', 'base64').toString('utf8'));
  } catch {
    throw badRequest(`The Binary's data is not a JSON Patch document`, `${at}.resource.data`);
  }
}

/**
 * Gives every created resource its id before anything is written, resolves conditional creates
 * and updates, and rewrites `urn:uuid:` and conditional references to `Type/id`.
 */
async function resolveIdentities(prepared: PreparedEntry[], repo: Repository): Promise<void> {
  const identities = new Map<string, string>();
  const seen = new Set<string>();
  for (const entry of prepared) {
    const { request, index, fullUrl } = entry;
    const type = request.path.split('/')[0];
    let identity: string | undefined;
    if (request.method === 'POST' && !request.path.includes('/')) {
      if (request.headers.ifNoneExist !== undefined) {
        const criteria = new URLSearchParams(request.headers.ifNoneExist.replace(/^[A-Za-z]*\?/, ''));
        await repo.lockCriteria(type, criteria);
        const ids = await repo.matchIds(type, criteria).catch((error: unknown) => {
          throw relocate(error, `Bundle.entry[${index}].request.ifNoneExist`);
        });
        if (ids.length > 1) throw atEntry(preconditionFailed(`ifNoneExist matches ${ids.length} or more resources`), index);
        if (ids.length === 1) identity = `${type}/${ids[0]}`;
      }
      if (!identity) {
        request.assignedId = randomUUID();
        identity = `${type}/${request.assignedId}`;
      }
    } else if (request.method === 'PUT' && request.path.split('/').length === 2) {
      identity = request.path;
    }
    if (identity && (request.method === 'PUT' || request.method === 'DELETE')) {
      if (seen.has(identity)) throw atEntry(badRequest(`${identity} appears in more than one entry`), index);
      seen.add(identity);
    }
    if (fullUrl && identity) identities.set(fullUrl, identity);
  }
  for (const { request, index } of prepared) {
    if (request.body && typeof request.body === 'object') {
      await rewriteReferences(request.body, identities, repo, `Bundle.entry[${index}].resource`);
    }
  }
}

async function rewriteReferences(node: unknown, identities: Map<string, string>, repo: Repository, path: string): Promise<void> {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) await rewriteReferences(node[i], identities, repo, `${path}[${i}]`);
    return;
  }
  if (!isJsonObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'reference' && typeof value === 'string') {
      const local = identities.get(value);
      if (local) node.reference = local;
      else if (/^[A-Z][A-Za-z]+\?/.test(value)) node.reference = await resolveConditionalReference(value, repo, `${path}.reference`);
    } else if (key === 'url' && typeof value === 'string' && identities.has(value)) {
      // An Attachment's url naming an entry (MHD's DocumentReference pointing at its Binary): R4
      // rewrites matching uri and url elements too, not only references.
      node.url = identities.get(value);
    } else if (value && typeof value === 'object') {
      await rewriteReferences(value, identities, repo, `${path}.${key}`);
    }
  }
}

async function resolveConditionalReference(reference: string, repo: Repository, path: string): Promise<string> {
  const [type, query] = reference.split(/\?(.*)/s, 2);
  const ids = await repo.matchIds(type, new URLSearchParams(query)).catch((error: unknown) => {
    throw relocate(error, path);
  });
  if (ids.length === 0) throw badRequest(`The conditional reference ${reference} matches no resource`, path);
  if (ids.length > 1) throw relocate(preconditionFailed(`The conditional reference ${reference} matches more than one resource`), path);
  return `${type}/${ids[0]}`;
}

function responseEntry(response: FhirResponse, prefer: string | undefined, context: InteractionContext): BundleEntry {
  const { stored, resource } = response;
  const entryResponse: BundleEntryResponse = { status: `${response.status} ${STATUS_TEXT[response.status] ?? ''}`.trim() };
  const entry: BundleEntry & { [RAW_RESOURCE]?: string } = { response: entryResponse };
  if (stored) {
    entry.fullUrl = `${context.baseUrl}/${stored.resourceType}/${stored.id}`;
    entryResponse.etag = etag(stored);
    entryResponse.lastModified = stored.lastUpdated;
    if (response.status === 201) entryResponse.location = `${stored.resourceType}/${stored.id}/_history/${stored.versionId}`;
  }
  if (/return=minimal/.test(prefer ?? '')) return entry;
  if (stored && !stored.deleted && response.status !== 204 && response.status !== 304) entry[RAW_RESOURCE] = stored.json;
  else if (resource) entry.resource = resource;
  return entry;
}

/**
 * Rewrites an error's expressions to the element of the entry they concern: an element path of
 * the resource (`Patient.birthDate`) to `Bundle.entry[i].resource.birthDate`, a JSON Patch
 * operation to the Binary that carried it, and a search parameter (`birthdate`, from
 * If-None-Exist or a conditional URL) to the request element that held the criteria.
 */
function atEntry(error: FhirError, index: number, request?: FhirRequest): FhirError {
  const prefix = `Bundle.entry[${index}]`;
  const locate = (expression: string): string => {
    if (expression.startsWith('Bundle.entry[')) return expression;
    if (expression.startsWith('JSONPatch')) return `${prefix}.resource.data`;
    if (/^[A-Z]/.test(expression)) return `${prefix}.resource.${expression.replace(/^[A-Z][A-Za-z]+\.?/, '')}`.replace(/\.$/, '');
    return request?.method === 'POST' && request.headers.ifNoneExist !== undefined ? `${prefix}.request.ifNoneExist` : `${prefix}.request.url`;
  };
  const outcome: OperationOutcome = {
    ...error.outcome,
    issue: error.outcome.issue.map((issue) => ({ ...issue, expression: issue.expression?.length ? issue.expression.map(locate) : [prefix] })),
  };
  return new FhirError(error.status, outcome);
}

/**
 * Points an error at the Bundle element it concerns. Search errors name the parameter
 * (`birthdate`), which atEntry would misread as an element of the entry's resource; the builders
 * that take no expression (412, 413) get one here.
 */
function relocate(error: unknown, expression: string): unknown {
  if (!isFhirError(error)) return error;
  return new FhirError(error.status, { ...error.outcome, issue: error.outcome.issue.map((issue) => ({ ...issue, expression: [expression] })) });
}
