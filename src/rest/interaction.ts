import type { Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../access/context.js';
import type { Repository, StoredResource } from '../store/repository.js';

/**
 * A FHIR REST request, independent of HTTP: the same handlers serve the Fastify routes and the
 * entries of batch and transaction Bundles.
 */
export interface FhirRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the service base, without leading slash: `Patient/123/_history/2`. */
  path: string;
  query: [string, string][];
  headers: {
    ifMatch?: string;
    ifNoneExist?: string;
    ifNoneMatch?: string;
    ifModifiedSince?: string;
    prefer?: string;
    contentType?: string;
    /** Chooses the language of validation messages (kk, ru, en). */
    acceptLanguage?: string;
  };
  /** The representation the response is to be, chosen by content negotiation (src/rest/media-types.ts); FHIR JSON when unset. */
  mediaType?: string;
  /**
   * What the client accepts (Accept, or `_format`), given to a route that negotiates its
   * representation itself (a Binary's own content type); any type when it sent none.
   */
  accept?: string;
  body?: unknown;
  /** The id a transaction gave this entry's new resource ahead of time, to resolve urn:uuid references. */
  assignedId?: string;
}

export interface FhirResponse {
  status: number;
  /** A stored version, served as its stored JSON text. */
  stored?: StoredResource;
  /** A resource built for this response (Bundle, OperationOutcome, CapabilityStatement…). */
  resource?: Resource;
  /** Extra response headers (lower-case names), e.g. `content-location` of an asynchronous kick-off. */
  headers?: Record<string, string>;
  /** A body that is not a FHIR resource (NDJSON, a Bulk Data manifest, a PDF), sent as is; `''` sends none. */
  body?: string | Buffer;
  /** `body` gzip-compressed once, sent instead to a client that accepts gzip. */
  gzipped?: Buffer;
  /** The Content-Type of `body`, when not FHIR JSON. */
  contentType?: string;
}

export interface InteractionContext {
  /** The store, bound to the caller's access rules: the one door to clinical data. */
  repo: Repository;
  /** Who asks (the context `repo` is bound to), for operations that record or check it themselves. */
  access: AccessContext;
  /** The service base URL, e.g. `http://localhost:8080/fhir`, for links and fullUrls. */
  baseUrl: string;
  /** Maximum number of entries in a batch or transaction Bundle. */
  maxBundleEntries: number;
}

/**
 * A route's handler, given the `:name` segments of its pattern as `params` (RouteParams): a
 * handler declares the params it needs and the route table (src/rest/routes.ts) checks that its
 * pattern supplies them.
 */
export type Interaction<Params = Readonly<Record<string, string>>> = (request: FhirRequest, params: Params, context: InteractionContext) => Promise<FhirResponse>;

/** The params a route pattern captures: `':type/:id/_history/:vid'` gives `{ type, id, vid }`. */
export type RouteParams<Pattern extends string> = { readonly [Name in ParamNames<Pattern>]: string };
type ParamNames<Pattern extends string> = Pattern extends `${infer Head}/${infer Rest}` ? ParamName<Head> | ParamNames<Rest> : ParamName<Pattern>;
type ParamName<Segment extends string> = Segment extends `:${infer Name}` ? Name : never;

/** A type-level route's params (`Patient/$match`). */
export type TypeParams = RouteParams<':type'>;
/** An instance-level route's params (`Patient/123/$everything`). */
export type InstanceParams = RouteParams<':type/:id'>;
/** A handler routed at several levels (history, $export) sees whichever the route captured. */
export type AnyLevelParams = Partial<InstanceParams>;

/** Whether a resource has its id, as the store's update takes it. */
export function hasId<T extends Resource>(resource: T): resource is T & { id: string } {
  return typeof resource.id === 'string';
}

/** `W/"3"` → `3`; the plain and strong forms are accepted too. */
export function parseETag(value: string): string {
  return value.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export function etag(stored: StoredResource): string {
  return `W/"${stored.versionId}"`;
}
