import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';

/** A FHIR API answer other than success: the status and, when the server sent one, its OperationOutcome. */
export class FhirRequestError extends Error {
  constructor(
    readonly status: number,
    readonly outcome?: OperationOutcome,
  ) {
    super(outcome?.issue?.map((i) => i.diagnostics ?? i.details?.text).filter(Boolean).join('; ') || `HTTP ${status}`);
  }
}

export type SearchParams = Record<string, string | number | readonly (string | number)[] | undefined>;

export interface SearchOptions {
  /** Follow `next` links until no more pages or `max` resources. */
  all?: boolean;
  max?: number;
}

export interface SearchResult<T extends Resource> {
  /** The matches (search mode `match`), in order. */
  resources: T[];
  /** Resources included with them (`_include`, `_revinclude`). */
  included: Resource[];
  total?: number;
  /** The last page read. */
  bundle: Bundle;
}

export interface OperationOptions {
  method?: 'GET' | 'POST';
  params?: SearchParams;
  /** A Parameters (or other) resource for POST. */
  body?: Resource;
  /** Accept header: FHIR JSON unless asked otherwise (the PDF passport). */
  accept?: string;
}

/** The query string of search parameters; arrays repeat the parameter (AND). */
export function queryString(params: SearchParams = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) query.append(name, String(v));
  }
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** The search matches and includes of a Bundle page. */
export function bundleResources<T extends Resource>(bundle: Bundle): { matches: T[]; included: Resource[] } {
  const matches: T[] = [];
  const included: Resource[] = [];
  for (const entry of bundle.entry ?? []) {
    if (!entry.resource) continue;
    if (entry.search?.mode === 'include' || entry.resource.resourceType === 'OperationOutcome') included.push(entry.resource);
    else matches.push(entry.resource as T);
  }
  return { matches, included };
}

/**
 * A small FHIR REST client over fetch for the app's own API (same origin), with the session's
 * bearer token and the app's language as Accept-Language (operations such as `$immds-forecast`
 * word their answers in it). Resources come back as the server sent them, typed with @medplum/fhirtypes.
 */
export class FhirClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    private readonly onUnauthorized: () => void = () => {},
    private readonly language = 'kk',
  ) {}

  /** GET or POST a path under the base (`Patient/1`) or an absolute URL on this server (`next` links). */
  async request<T>(pathOrUrl: string, init: { method?: string; body?: unknown; accept?: string } = {}): Promise<T> {
    const url = /^https?:/.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}/${pathOrUrl}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: init.accept ?? 'application/fhir+json', 'accept-language': this.language };
    if (init.body !== undefined) headers['content-type'] = 'application/fhir+json';
    const response = await fetch(url, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    if (!response.ok) {
      if (response.status === 401) this.onUnauthorized();
      const outcome = await response.json().catch(() => undefined);
      throw new FhirRequestError(response.status, (outcome as Resource | undefined)?.resourceType === 'OperationOutcome' ? (outcome as OperationOutcome) : undefined);
    }
    if (response.status === 204) return undefined as T;
    if (!(init.accept ?? 'json').includes('json')) return (await response.blob()) as T;
    return (await response.json()) as T;
  }

  read<T extends Resource>(resourceType: T['resourceType'], id: string): Promise<T> {
    return this.request<T>(`${resourceType}/${encodeURIComponent(id)}`);
  }

  async search<T extends Resource>(resourceType: T['resourceType'], params: SearchParams = {}, options: SearchOptions = {}): Promise<SearchResult<T>> {
    let bundle = await this.request<Bundle>(`${resourceType}${queryString(params)}`);
    const total = bundle.total;
    const resources: T[] = [];
    const included: Resource[] = [];
    for (;;) {
      const page = bundleResources<T>(bundle);
      resources.push(...page.matches);
      included.push(...page.included);
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!options.all || !next || (options.max !== undefined && resources.length >= options.max)) break;
      bundle = await this.request<Bundle>(next);
    }
    return { resources: options.max !== undefined ? resources.slice(0, options.max) : resources, included, bundle, ...(total !== undefined ? { total } : {}) };
  }

  /** `$name` at the path given (`Patient/1/$summary`, `Patient/$match`). */
  operation<T = Resource>(path: string, options: OperationOptions = {}): Promise<T> {
    const method = options.method ?? (options.body ? 'POST' : 'GET');
    return this.request<T>(`${path}${queryString(options.params)}`, { method, ...(options.body ? { body: options.body } : {}), ...(options.accept ? { accept: options.accept } : {}) });
  }
}
