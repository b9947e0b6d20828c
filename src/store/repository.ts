import { randomUUID } from 'node:crypto';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { patientCompartmentKey } from '../fhir/compartment.js';
import { dateRange } from '../fhir/dates.js';
import { type FhirError, badRequest, gone, notFound, preconditionFailed } from '../fhir/outcome.js';
import { type IndexRows, extractSearchIndex, registerSearchParameters } from '../fhir/search-parameters.js';
import { textWords } from '../fhir/text-index.js';
import { type SearchRequest, parseSearchRequest } from '../fhir/search-request.js';
import type { Database, SqlClient } from './driver.js';
import { conflictingClaims, duplicateIdentifier, identifierClaims } from './identifier-claims.js';
import { includeCondition } from './search-include.js';
import { decodeCursor, encodeCursor, keysetCondition, orderBy, sortColumns, sortKeys } from './search-order.js';
import { SqlParams, filterConditions, indexOnlyMatches } from './search-sql.js';

/** One version of a resource as stored. */
export interface StoredResource {
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  deleted: boolean;
  /** The JSON text as served (with id and meta); empty for a deleted version. */
  json: string;
  /** For history: the interaction that made this version. */
  method?: 'create' | 'update' | 'delete';
}

export interface WriteResult {
  stored: StoredResource;
  /** True when the write made the resource exist (201), false when it changed or found one (200). */
  created: boolean;
}

export interface WriteManyResult {
  stored: StoredResource[];
  /** Resources whose content was already stored (upsert): no new version. */
  unchanged: number;
  /** Items not written (upsert only): an identifier they claim belongs to another resource. */
  refused: { item: number; error: FhirError }[];
}

export interface HistoryOptions {
  resourceType?: string;
  id?: string;
  since?: string;
  at?: string;
  count: number;
  cursor?: string;
}

/** A page of a search has at most this many included resources, and `:iterate` goes this many rounds deep. */
const MAX_INCLUDED = 1000;
const MAX_INCLUDE_ROUNDS = 4;

export interface SearchResult {
  entries: StoredResource[];
  /** Resources added by `_include` and `_revinclude`. */
  included: StoredResource[];
  total?: number;
  nextCursor?: string;
}

/** The columns of a StoredRow, from the table aliased `alias`. */
function qualified(alias: string): string {
  const a = `${alias}.`;
  return `${a}resource_type, ${a}id, ${a}version_id::text AS version_id, ${a}deleted, ${a}content,
  to_char(${a}last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_updated`;
}

const STORED_COLUMNS = qualified('r');

interface StoredRow {
  resource_type: string;
  id: string;
  version_id: string;
  deleted: boolean;
  content: string;
  last_updated: string;
  method?: 'create' | 'update' | 'delete';
}

const INDEX_TABLES: Record<keyof IndexRows, { table: string; columns: string[]; types: string[] }> = {
  token: { table: 'search_token', columns: ['code', 'system', 'value', 'text_value'], types: ['text', 'text', 'text', 'text'] },
  string: { table: 'search_string', columns: ['code', 'value', 'normalized'], types: ['text', 'text', 'text'] },
  date: { table: 'search_date', columns: ['code', 'low', 'high'], types: ['text', 'timestamptz', 'timestamptz'] },
  number: { table: 'search_number', columns: ['code', 'low', 'high', 'system', 'unit'], types: ['text', 'numeric', 'numeric', 'text', 'text'] },
  uri: { table: 'search_uri', columns: ['code', 'value'], types: ['text', 'text'] },
  reference: { table: 'search_reference', columns: ['code', 'target_type', 'target_id', 'reference'], types: ['text', 'text', 'text', 'text'] },
};

/** CTE steps removing a resource's index rows; `$1, $2` are its type and id. */
/** Every table with rows derived from a resource's current version, besides `resource` itself. */
const DERIVED_TABLES = [...Object.values(INDEX_TABLES).map((t) => t.table), 'search_text'];
const INDEX_DELETES = DERIVED_TABLES.map((table, i) => `d${i} AS (DELETE FROM ${table} WHERE resource_type = $1 AND id = $2)`);
const DELETE_INDEX_SQL = `WITH ${INDEX_DELETES.join(', ')} SELECT 1`;

/**
 * The store of FHIR resources: every read and write of resource tables goes through here.
 * A write is one SQL transaction (or part of the caller's, inside `transaction`).
 */
export class Repository {
  constructor(
    readonly db: Database,
    private readonly client: SqlClient = db,
    private readonly inTransaction = false,
  ) {}

  /** Runs `work` in one SQL transaction; nested calls join the outer one. */
  transaction<T>(work: (repo: Repository) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    return this.db.transaction((tx) => work(new Repository(this.db, tx, true)));
  }

  async read(resourceType: string, id: string): Promise<StoredResource> {
    const rows = await this.client.query<StoredRow>(`SELECT ${STORED_COLUMNS} FROM resource r WHERE resource_type = $1 AND id = $2`, [resourceType, id], {
      prepare: 'read',
    });
    const row = rows[0];
    if (!row) throw notFound(`${resourceType}/${id} is not known`);
    if (row.deleted) throw gone(`${resourceType}/${id} was deleted`);
    return toStored(row);
  }

  async vread(resourceType: string, id: string, versionId: string): Promise<StoredResource> {
    if (!/^\d{1,18}$/.test(versionId)) throw notFound(`${resourceType}/${id}/_history/${versionId} is not known`);
    const rows = await this.client.query<StoredRow>(
      `SELECT ${STORED_COLUMNS} FROM resource_version r WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
      [resourceType, id, versionId],
      { prepare: 'vread' },
    );
    const row = rows[0];
    if (!row) throw notFound(`${resourceType}/${id}/_history/${versionId} is not known`);
    if (row.deleted) throw gone(`${resourceType}/${id}/_history/${versionId} is a deletion`);
    return toStored(row);
  }

  /**
   * Creates a resource under a server-assigned id: any id in the body is ignored, as R4 says;
   * a transaction passes the id it assigned ahead of time to resolve urn:uuid references.
   */
  create(resource: Resource, id: string = randomUUID()): Promise<StoredResource> {
    return this.writeVersion(resource, id, undefined);
  }

  /**
   * Update, or update-as-create when the id is new (https://hl7.org/fhir/R4/http.html#upsert).
   * `ifMatch` is the expected current versionId; a mismatch is a 412 so no update is lost.
   */
  update(resource: Resource & { id: string }, ifMatch?: string): Promise<WriteResult> {
    return this.transaction(async (repo) => {
      const current = await repo.lockCurrent(resource.resourceType, resource.id);
      if (ifMatch !== undefined && (!current || current.deleted || current.versionId !== ifMatch)) {
        throw preconditionFailed(`If-Match version ${ifMatch} does not match the current version of ${resource.resourceType}/${resource.id}`);
      }
      const stored = await repo.writeVersion(resource, resource.id, current);
      return { stored, created: !current || current.deleted };
    });
  }

  /** Versioned delete: a deletion version is recorded; deleting what is absent changes nothing. */
  delete(resourceType: string, id: string, ifMatch?: string): Promise<StoredResource | undefined> {
    return this.transaction(async (repo) => {
      const current = await repo.lockCurrent(resourceType, id);
      if (ifMatch !== undefined && (!current || current.versionId !== ifMatch)) {
        throw preconditionFailed(`If-Match version ${ifMatch} does not match the current version of ${resourceType}/${id}`);
      }
      if (!current || current.deleted) return undefined;
      const versionId = String(Number(current.versionId) + 1);
      const lastUpdated = new Date().toISOString();
      await repo.client.query(
        `UPDATE resource SET version_id = $3, last_updated = $4, deleted = true, content = '' WHERE resource_type = $1 AND id = $2`,
        [resourceType, id, versionId, lastUpdated],
      );
      await repo.client.query(
        `INSERT INTO resource_version (resource_type, id, version_id, last_updated, deleted, compartment, method, content)
         VALUES ($1, $2, $3, $4, true, $5, 'delete', '')`,
        [resourceType, id, versionId, lastUpdated, current.compartment],
      );
      await repo.client.query(DELETE_INDEX_SQL, [resourceType, id]);
      return { resourceType, id, versionId, lastUpdated, deleted: true, json: '' };
    });
  }

  /** The ids of current resources matching a conditional operation's criteria (a type search). */
  async matchIds(resourceType: string, criteria: URLSearchParams, limit = 2): Promise<string[]> {
    const request = parseSearchRequest(resourceType, criteria);
    if (request.filters.length === 0) throw badRequest(`A conditional operation needs search criteria`, 'criteria');
    request.count = limit;
    request.sort = [];
    const result = await this.search(request);
    return result.entries.map((e) => e.id);
  }

  /**
   * Serializes conditional operations on the same criteria until the transaction ends, so 16
   * clients racing the same conditional create make one resource: the second waits, then its
   * search sees the first one's commit (READ COMMITTED takes a new snapshot per statement).
   */
  async lockCriteria(resourceType: string, criteria: URLSearchParams): Promise<void> {
    const canonical = [...criteria].map(([k, v]) => `${k}=${v}`).sort().join('&');
    await this.client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`${resourceType}?${canonical}`]);
  }

  /**
   * A type-level search: one page of matches in the requested order, the resources `_include`
   * and `_revinclude` add to it, and the total when asked for.
   */
  async search(request: SearchRequest): Promise<SearchResult> {
    const params = new SqlParams();
    const where = ['NOT r.deleted'];
    if (request.types) {
      const perType = request.types.map(({ resourceType, filters }) =>
        [`r.resource_type = ${params.add(resourceType)}`, ...filterConditions({ ...request, resourceType, filters }, params)].join(' AND '),
      );
      where.push(`(${perType.map((condition) => `(${condition})`).join(' OR ')})`);
    } else {
      if (request.resourceType !== '*') where.push(`r.resource_type = ${params.add(request.resourceType)}`);
      where.push(...filterConditions(request, params));
    }
    if (request.compartments === 'any') where.push('r.compartment IS NOT NULL');
    else if (request.compartments) where.push(`r.compartment = ANY(${params.add(request.compartments)}::text[])`);
    const total = await this.total(request, where.join(' AND '), params);
    if (request.summary === 'count' || request.count === 0) return { entries: [], included: [], total };
    const keys = sortKeys(request, params);
    if (request.cursor) where.push(keysetCondition(keys, decodeCursor(request.cursor, keys.length), params));
    const rows = await this.client.query<StoredRow & Record<string, string | null>>(
      `SELECT ${STORED_COLUMNS}, ${sortColumns(keys)} FROM resource r WHERE ${where.join(' AND ')} ORDER BY ${orderBy(keys)} LIMIT ${request.count + 1}`,
      params.values,
    );
    const page = rows.slice(0, request.count);
    const entries = page.map(toStored);
    const last = page[page.length - 1];
    const nextCursor = rows.length > request.count && last ? encodeCursor(keys.map((_, i) => last[`sort_${i}`] ?? null)) : undefined;
    const included = request.includes.length ? await this.included(request, entries) : [];
    return { entries, included, total, nextCursor };
  }

  /** `_total=accurate` counts; `estimate` takes the planner's row estimate, which costs no scan. */
  private async total(request: SearchRequest, where: string, params: SqlParams): Promise<number | undefined> {
    if (request.total === 'none' && request.summary !== 'count') return undefined;
    const values = params.values;
    if (request.total === 'estimate') {
      const plan = await this.client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM resource r WHERE ${where}`, values);
      const json = plan[0]?.['QUERY PLAN'];
      const parsed = (typeof json === 'string' ? JSON.parse(json) : json) as [{ Plan: { 'Plan Rows': number } }];
      return Math.round(parsed[0].Plan['Plan Rows']);
    }
    const counting = new SqlParams();
    const matches = indexOnlyMatches(request, counting);
    const sql = matches ? `SELECT count(*)::text AS n FROM (${matches}) m` : `SELECT count(*)::text AS n FROM resource r WHERE ${where}`;
    return Number((await this.client.query<{ n: string }>(sql, matches ? counting.values : values))[0]!.n);
  }

  /**
   * What `_include` and `_revinclude` add to a page; `:iterate` ones apply again to what was
   * added, round after round, until nothing new comes or the limits below are reached.
   */
  private async included(request: SearchRequest, matches: StoredResource[]): Promise<StoredResource[]> {
    const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
    const included: StoredResource[] = [];
    let frontier = matches;
    for (let round = 0; round < MAX_INCLUDE_ROUNDS && frontier.length > 0 && included.length < MAX_INCLUDED; round++) {
      const byType = new Map<string, string[]>();
      for (const resource of frontier) byType.set(resource.resourceType, [...(byType.get(resource.resourceType) ?? []), resource.id]);
      const params = new SqlParams();
      const conditions: string[] = [];
      for (const include of request.includes) {
        if (round > 0 && !include.iterate) continue;
        for (const [resourceType, ids] of byType) {
          const condition = includeCondition(include, resourceType, ids, params);
          if (condition) conditions.push(condition);
        }
      }
      if (conditions.length === 0) break;
      const rows = await this.client.query<StoredRow>(
        `SELECT ${STORED_COLUMNS} FROM resource r WHERE NOT r.deleted AND (${conditions.join(' OR ')}) LIMIT ${MAX_INCLUDED - included.length}`,
        params.values,
      );
      frontier = rows.map(toStored).filter((r) => !seen.has(`${r.resourceType}/${r.id}`));
      for (const resource of frontier) seen.add(`${resource.resourceType}/${resource.id}`);
      included.push(...frontier);
    }
    return included;
  }

  /** Instance, type or system history, newest first (https://hl7.org/fhir/R4/http.html#history). */
  async history(options: HistoryOptions): Promise<{ entries: StoredResource[]; nextCursor?: string; total?: number }> {
    const params = new SqlParams();
    const scope: string[] = [];
    if (options.resourceType) scope.push(`v.resource_type = ${params.add(options.resourceType)}`);
    if (options.id) scope.push(`v.id = ${params.add(options.id)}`);
    const where: string[] = [];
    if (options.since) where.push(`v.last_updated >= ${params.add(dateRange(options.since, '_since').low)}::timestamptz`);
    let source = `resource_version v`;
    if (options.at) {
      const at = dateRange(options.at, '_at');
      source = `(SELECT v.*, lead(v.last_updated) OVER (PARTITION BY v.resource_type, v.id ORDER BY v.version_id) AS next_updated
        FROM resource_version v ${scope.length ? 'WHERE ' + scope.join(' AND ') : ''}) AS v`;
      where.push(`v.last_updated <= ${params.add(at.high)}::timestamptz AND (v.next_updated IS NULL OR v.next_updated > ${params.add(at.low)}::timestamptz)`);
    } else {
      where.push(...scope);
    }
    if (options.cursor) {
      const [updated, type, id, version] = decodeCursor(options.cursor, 4);
      where.push(
        `(v.last_updated, v.resource_type, v.id, v.version_id) < (${params.add(updated)}::timestamptz, ${params.add(type)}, ${params.add(id)}, ${params.add(version)}::bigint)`,
      );
    }
    // Ordered by the table's columns (qualified), not the text aliases of STORED_COLUMNS: the
    // index on last_updated serves it and versions compare as numbers.
    const rows = await this.client.query<StoredRow>(
      `SELECT ${qualified('v')}, v.method FROM ${source} ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY v.last_updated DESC, v.resource_type DESC, v.id DESC, v.version_id DESC LIMIT ${options.count + 1}`,
      params.values,
    );
    const entries = rows.slice(0, options.count).map(toStored);
    const last = entries[entries.length - 1];
    const nextCursor =
      rows.length > options.count && last ? encodeCursor([last.lastUpdated, last.resourceType, last.id, last.versionId]) : undefined;
    return { entries, nextCursor };
  }

  private async lockCurrent(resourceType: string, id: string): Promise<(StoredResource & { compartment: string | null }) | undefined> {
    await this.client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`${resourceType}/${id}`]);
    const rows = await this.client.query<StoredRow & { compartment: string | null }>(
      `SELECT ${STORED_COLUMNS}, r.compartment FROM resource r WHERE resource_type = $1 AND id = $2`,
      [resourceType, id],
    );
    const row = rows[0];
    return row ? { ...toStored(row), compartment: row.compartment } : undefined;
  }

  /**
   * Writes the next version of a resource with its search index rows as ONE statement (data-
   * modifying CTEs): atomic on its own, and one round trip to the server instead of eight.
   */
  private async writeVersion(resource: Resource, id: string, current: StoredResource | undefined): Promise<StoredResource> {
    const claims = identifierClaims(resource, id);
    if (claims.length > 0) {
      if (!this.inTransaction) return this.transaction((repo) => repo.writeVersion(resource, id, current));
      const [taken] = await conflictingClaims(this.client, claims);
      if (taken) throw duplicateIdentifier(taken);
    }
    const version = nextVersion(resource, id, current);
    const params = new SqlParams();
    params.values.push(version.resourceType, id, version.versionId, version.lastUpdated, version.compartment, version.json, version.method);
    const steps = current
      ? [
          `w AS (UPDATE resource SET version_id = $3, last_updated = $4, deleted = false, compartment = $5, content = $6 WHERE resource_type = $1 AND id = $2)`,
          ...INDEX_DELETES,
        ]
      : [`w AS (INSERT INTO resource (resource_type, id, version_id, last_updated, compartment, content) VALUES ($1, $2, $3, $4, $5, $6))`];
    steps.push(`v AS (INSERT INTO resource_version (resource_type, id, version_id, last_updated, compartment, content, method) VALUES ($1, $2, $3, $4, $5, $6, $7))`);
    steps.push(...indexInserts([[version.resourceType, id, version.full]], params, ['$1', '$2']));
    await this.client.query(`WITH ${steps.join(', ')} SELECT 1`, params.values);
    if (version.resourceType === 'SearchParameter') registerSearchParameters([version.full as SearchParameter]);
    return toStoredVersion(version);
  }

  /**
   * Writes many resources in one statement: new ids are created, and with `upsert` existing ones
   * get a new version unless their content is unchanged (so re-running an import writes nothing).
   * Used by bulk import and by the creates of a transaction.
   */
  async writeMany(items: readonly { resource: Resource; id: string }[], mode: 'create' | 'upsert'): Promise<WriteManyResult> {
    if (items.length === 0) return { stored: [], unchanged: 0, refused: [] };
    const claims = items.flatMap(({ resource, id }, item) => identifierClaims(resource, id).map((claim) => ({ ...claim, item })));
    if (claims.length > 0 && !this.inTransaction) return this.transaction((repo) => repo.writeMany(items, mode));
    const refused: WriteManyResult['refused'] = [];
    const refusedItems = new Set<number>();
    for (const taken of await conflictingClaims(this.client, claims)) {
      if (mode === 'create') throw Object.assign(duplicateIdentifier(taken), { item: taken.item });
      if (refusedItems.has(taken.item)) continue;
      refusedItems.add(taken.item);
      refused.push({ item: taken.item, error: duplicateIdentifier(taken) });
    }
    const current = mode === 'upsert' ? await this.currentVersions(items) : new Map<string, StoredRow>();
    const versions: (ReturnType<typeof nextVersion> & { existing: boolean })[] = [];
    let unchanged = 0;
    for (const [item, { resource, id }] of items.entries()) {
      if (refusedItems.has(item)) continue;
      const row = current.get(`${resource.resourceType}/${id}`);
      if (row && !row.deleted && sameContent(row.content, resource)) {
        unchanged++;
        continue;
      }
      versions.push({ ...nextVersion(resource, id, row && toStored(row)), existing: !!row });
    }
    if (versions.length === 0) return { stored: [], unchanged, refused };
    const params = new SqlParams();
    const column = (pick: (v: (typeof versions)[number]) => unknown, type: string) => `${params.add(versions.map(pick))}::${type}[]`;
    const input = `SELECT * FROM unnest(${[
      column((v) => v.resourceType, 'text'),
      column((v) => v.id, 'text'),
      column((v) => v.versionId, 'bigint'),
      column((v) => v.lastUpdated, 'timestamptz'),
      column((v) => v.compartment, 'text'),
      column((v) => v.json, 'text'),
      column((v) => v.method, 'text'),
      column((v) => v.existing, 'boolean'),
    ].join(', ')}) AS t(resource_type, id, version_id, last_updated, compartment, content, method, existing)`;
    const steps = [
      `input AS (${input})`,
      `w AS (INSERT INTO resource (resource_type, id, version_id, last_updated, compartment, content)
        SELECT resource_type, id, version_id, last_updated, compartment, content FROM input WHERE NOT existing)`,
      `u AS (UPDATE resource r SET version_id = i.version_id, last_updated = i.last_updated, deleted = false, compartment = i.compartment, content = i.content
        FROM input i WHERE i.existing AND r.resource_type = i.resource_type AND r.id = i.id)`,
      `v AS (INSERT INTO resource_version (resource_type, id, version_id, last_updated, compartment, content, method)
        SELECT resource_type, id, version_id, last_updated, compartment, content, method FROM input)`,
      ...DERIVED_TABLES.map((table, i) => `dm${i} AS (DELETE FROM ${table} s USING input i WHERE i.existing AND s.resource_type = i.resource_type AND s.id = i.id)`),
      ...indexInserts(versions.map((v) => [v.resourceType, v.id, v.full]), params),
    ];
    await this.client.query(`WITH ${steps.join(', ')} SELECT 1`, params.values);
    registerSearchParameters(versions.filter((v) => v.resourceType === 'SearchParameter').map((v) => v.full as SearchParameter));
    return { stored: versions.map(toStoredVersion), unchanged, refused };
  }

  /**
   * Rebuilds the search index rows of one page of current resources, in (type, id) order after
   * `after`; used by `densaulyq reindex` when search parameter definitions change. One
   * statement per page, so a reader never sees a resource half-indexed.
   */
  async reindexPage(options: { after?: [string, string]; limit: number; resourceType?: string }): Promise<{ count: number; last?: [string, string] }> {
    const params = new SqlParams();
    const where = ['NOT r.deleted'];
    if (options.resourceType) where.push(`r.resource_type = ${params.add(options.resourceType)}`);
    if (options.after) where.push(`(r.resource_type, r.id) > (${params.add(options.after[0])}, ${params.add(options.after[1])})`);
    const rows = await this.client.query<{ resource_type: string; id: string; content: string }>(
      `SELECT r.resource_type, r.id, r.content FROM resource r WHERE ${where.join(' AND ')} ORDER BY r.resource_type, r.id LIMIT ${options.limit}`,
      params.values,
    );
    if (rows.length === 0) return { count: 0 };
    const write = new SqlParams();
    const input = `SELECT * FROM unnest(${write.add(rows.map((r) => r.resource_type))}::text[], ${write.add(rows.map((r) => r.id))}::text[]) AS t(resource_type, id)`;
    const steps = [
      `input AS (${input})`,
      ...DERIVED_TABLES.map((table, i) => `d${i} AS (DELETE FROM ${table} s USING input i WHERE s.resource_type = i.resource_type AND s.id = i.id)`),
      ...indexInserts(rows.map((r) => [r.resource_type, r.id, JSON.parse(r.content) as Resource]), write),
    ];
    await this.client.query(`WITH ${steps.join(', ')} SELECT 1`, write.values);
    const last = rows[rows.length - 1]!;
    return { count: rows.length, last: [last.resource_type, last.id] };
  }

  /**
   * Refreshes the planner's statistics after a bulk load: without them PostgreSQL (and PGlite,
   * which has no autovacuum) plans searches over freshly loaded tables as if they were empty.
   */
  async analyze(): Promise<void> {
    await this.client.query('ANALYZE');
  }

  /** How many current resources there are (of one type), for progress reports. */
  async countCurrent(resourceType?: string): Promise<number> {
    const rows = await this.client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM resource r WHERE NOT r.deleted${resourceType ? ' AND r.resource_type = $1' : ''}`,
      resourceType ? [resourceType] : [],
    );
    return Number(rows[0]!.n);
  }

  private async currentVersions(items: readonly { resource: Resource; id: string }[]): Promise<Map<string, StoredRow>> {
    const rows = await this.client.query<StoredRow>(
      `SELECT ${STORED_COLUMNS} FROM resource r WHERE (resource_type, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [items.map((i) => i.resource.resourceType), items.map((i) => i.id)],
    );
    return new Map(rows.map((row) => [`${row.resource_type}/${row.id}`, row]));
  }
}

/** The next version of a resource: id and meta set by the server, serialized once. */
function nextVersion(resource: Resource, id: string, current: StoredResource | undefined) {
  const versionId = current ? String(Number(current.versionId) + 1) : '1';
  const lastUpdated = new Date().toISOString();
  const full = withMeta(resource, id, versionId, lastUpdated);
  return {
    resourceType: resource.resourceType,
    id,
    versionId,
    lastUpdated,
    full,
    json: JSON.stringify(full),
    compartment: patientCompartmentKey(full) ?? null,
    method: (current && !current.deleted ? 'update' : 'create') as 'create' | 'update',
  };
}

function withMeta(resource: Resource, id: string, versionId?: string, lastUpdated?: string): Resource {
  const { resourceType, id: _ignored, meta, ...content } = resource;
  const { versionId: _v, lastUpdated: _l, ...rest } = meta ?? {};
  const serverMeta = versionId ? { ...rest, versionId, lastUpdated } : rest;
  return { resourceType, id, ...(Object.keys(serverMeta).length ? { meta: serverMeta } : {}), ...content } as Resource;
}

/** True when the stored JSON holds the same resource, apart from versionId and lastUpdated. */
function sameContent(storedJson: string, incoming: Resource): boolean {
  const stored = JSON.parse(storedJson) as Resource;
  return JSON.stringify(withMeta(stored, stored.id!)) === JSON.stringify(withMeta(incoming, stored.id!));
}

function toStoredVersion(version: ReturnType<typeof nextVersion>): StoredResource {
  const { resourceType, id, versionId, lastUpdated, json, method } = version;
  return { resourceType, id, versionId, lastUpdated, deleted: false, json, method };
}

/**
 * CTE steps inserting the search index rows and full-text words of resources, one unnest per
 * table. `owner` names the SQL of a single resource's type and id; without it, type and id
 * columns are bound per row.
 */
function indexInserts(resources: [resourceType: string, id: string, resource: Resource][], params: SqlParams, owner?: [string, string]): string[] {
  const indexed = resources.map(([resourceType, id, resource]) => ({ resourceType, id, rows: extractSearchIndex(resource), text: textWords(resource) }));
  const steps: string[] = [];
  const ownerColumns = (types: string[], ids: string[]) =>
    owner ? `${owner[0]}, ${owner[1]}` : `${params.add(types)}::text[], ${params.add(ids)}::text[]`;
  for (const kind of Object.keys(INDEX_TABLES) as (keyof IndexRows)[]) {
    const { table, columns, types } = INDEX_TABLES[kind];
    const ownerTypes: string[] = [];
    const ids: string[] = [];
    const values: unknown[][] = columns.map(() => []);
    for (const { resourceType, id, rows } of indexed) {
      for (const row of rows[kind] as unknown[][]) {
        ownerTypes.push(resourceType);
        ids.push(id);
        columns.forEach((_, c) => values[c]!.push(row[c] ?? null));
      }
    }
    if (ids.length === 0) continue;
    const arrays = columns.map((_, c) => `${params.add(values[c])}::${types[c]}[]`);
    const select = owner
      ? `SELECT ${owner[0]}, ${owner[1]}, * FROM unnest(${arrays.join(', ')})`
      : `SELECT * FROM unnest(${ownerColumns(ownerTypes, ids)}, ${arrays.join(', ')})`;
    steps.push(`i_${kind} AS (INSERT INTO ${table} (resource_type, id, ${columns.join(', ')}) ${select})`);
  }
  // Words travel space-joined, one string per resource: unnest cannot carry an array per row.
  const narratives = params.add(indexed.map((r) => r.text.narrative.join(' ')));
  const contents = params.add(indexed.map((r) => r.text.content.join(' ')));
  const textOwner = owner ? `${owner[0]}, ${owner[1]}, ` : `t.resource_type, t.id, `;
  const textSource = owner
    ? `unnest(${narratives}::text[], ${contents}::text[]) AS t(narrative, content)`
    : `unnest(${ownerColumns(indexed.map((r) => r.resourceType), indexed.map((r) => r.id))}, ${narratives}::text[], ${contents}::text[]) AS t(resource_type, id, narrative, content)`;
  steps.push(
    `i_text AS (INSERT INTO search_text (resource_type, id, narrative, content)
      SELECT ${textOwner}string_to_array(t.narrative, ' '), string_to_array(t.content, ' ') FROM ${textSource})`,
  );
  return steps;
}

function toStored(row: StoredRow): StoredResource {
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: row.last_updated,
    deleted: row.deleted,
    json: row.content,
    method: row.method,
  };
}

