import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { patientCompartmentKey } from '../fhir/compartment.js';
import { dateRange } from '../fhir/dates.js';
import { badRequest, gone, notFound, preconditionFailed } from '../fhir/outcome.js';
import { type IndexRows, extractSearchIndex } from '../fhir/search-parameters.js';
import { type SearchRequest, parseSearchRequest } from '../fhir/search-request.js';
import type { Database, SqlClient } from './driver.js';
import { SqlParams, filterConditions } from './search-sql.js';

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

export interface HistoryOptions {
  resourceType?: string;
  id?: string;
  since?: string;
  at?: string;
  count: number;
  cursor?: string;
}

export interface SearchResult {
  entries: StoredResource[];
  total?: number;
  nextCursor?: string;
}

const STORED_COLUMNS = `resource_type, id, version_id::text AS version_id, deleted, content,
  to_char(last_updated AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_updated`;

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
const INDEX_DELETES = Object.values(INDEX_TABLES).map((t, i) => `d${i} AS (DELETE FROM ${t.table} WHERE resource_type = $1 AND id = $2)`);
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
    const rows = await this.client.query<StoredRow>(`SELECT ${STORED_COLUMNS} FROM resource WHERE resource_type = $1 AND id = $2`, [resourceType, id]);
    const row = rows[0];
    if (!row) throw notFound(`${resourceType}/${id} is not known`);
    if (row.deleted) throw gone(`${resourceType}/${id} was deleted`);
    return toStored(row);
  }

  async vread(resourceType: string, id: string, versionId: string): Promise<StoredResource> {
    if (!/^\d{1,18}$/.test(versionId)) throw notFound(`${resourceType}/${id}/_history/${versionId} is not known`);
    const rows = await this.client.query<StoredRow>(
      `SELECT ${STORED_COLUMNS} FROM resource_version WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
      [resourceType, id, versionId],
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

  async search(request: SearchRequest): Promise<SearchResult> {
    const params = new SqlParams();
    const where = [`r.resource_type = ${params.add(request.resourceType)}`, 'NOT r.deleted', ...filterConditions(request, params)];
    if (request.compartments === 'any') where.push('r.compartment IS NOT NULL');
    else if (request.compartments) where.push(`r.compartment = ANY(${params.add(request.compartments)}::text[])`);
    const countWhere = where.join(' AND ');
    const total =
      request.total !== 'none' || request.summary === 'count'
        ? Number((await this.client.query<{ n: string }>(`SELECT count(*)::text AS n FROM resource r WHERE ${countWhere}`, params.values))[0]!.n)
        : undefined;
    if (request.summary === 'count' || request.count === 0) return { entries: [], total };
    const keys = sortKeys(request);
    if (request.cursor) where.push(keysetCondition(keys, decodeCursor(request.cursor, keys.length), params));
    const order = keys.map((k) => `${k.column} ${k.descending ? 'DESC' : 'ASC'}`).join(', ');
    const rows = await this.client.query<StoredRow>(
      `SELECT ${STORED_COLUMNS} FROM resource r WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${request.count + 1}`,
      params.values,
    );
    const entries = rows.slice(0, request.count).map(toStored);
    const last = entries[entries.length - 1];
    const nextCursor = rows.length > request.count && last ? encodeCursor(keys.map((k) => k.value(last))) : undefined;
    return { entries, total, nextCursor };
  }

  /** Instance, type or system history, newest first (https://hl7.org/fhir/R4/http.html#history). */
  async history(options: HistoryOptions): Promise<{ entries: StoredResource[]; nextCursor?: string; total?: number }> {
    const params = new SqlParams();
    const scope: string[] = [];
    if (options.resourceType) scope.push(`resource_type = ${params.add(options.resourceType)}`);
    if (options.id) scope.push(`id = ${params.add(options.id)}`);
    const where: string[] = [];
    if (options.since) where.push(`last_updated >= ${params.add(dateRange(options.since, '_since').low)}::timestamptz`);
    let source = `resource_version`;
    if (options.at) {
      const at = dateRange(options.at, '_at');
      source = `(SELECT v.*, lead(last_updated) OVER (PARTITION BY resource_type, id ORDER BY version_id) AS next_updated
        FROM resource_version v ${scope.length ? 'WHERE ' + scope.join(' AND ') : ''}) AS v`;
      where.push(`last_updated <= ${params.add(at.high)}::timestamptz AND (next_updated IS NULL OR next_updated > ${params.add(at.low)}::timestamptz)`);
    } else {
      where.push(...scope);
    }
    if (options.cursor) {
      const [updated, type, id, version] = decodeCursor(options.cursor, 4);
      where.push(
        `(last_updated, resource_type, id, version_id) < (${params.add(updated)}::timestamptz, ${params.add(type)}, ${params.add(id)}, ${params.add(version)}::bigint)`,
      );
    }
    const rows = await this.client.query<StoredRow>(
      `SELECT ${STORED_COLUMNS}, method FROM ${source} ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
       ORDER BY last_updated DESC, resource_type DESC, id DESC, version_id DESC LIMIT ${options.count + 1}`,
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
      `SELECT ${STORED_COLUMNS}, compartment FROM resource WHERE resource_type = $1 AND id = $2`,
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
    const versionId = current ? String(Number(current.versionId) + 1) : '1';
    const lastUpdated = new Date().toISOString();
    const { resourceType, id: _ignored, meta, ...content } = resource;
    const full = { resourceType, id, meta: { ...meta, versionId, lastUpdated }, ...content } as Resource;
    const json = JSON.stringify(full);
    const method = current && !current.deleted ? 'update' : 'create';
    const params = new SqlParams();
    params.values.push(resourceType, id, versionId, lastUpdated, patientCompartmentKey(full) ?? null, json, method);
    const steps = current
      ? [
          `w AS (UPDATE resource SET version_id = $3, last_updated = $4, deleted = false, compartment = $5, content = $6 WHERE resource_type = $1 AND id = $2)`,
          ...INDEX_DELETES,
        ]
      : [`w AS (INSERT INTO resource (resource_type, id, version_id, last_updated, compartment, content) VALUES ($1, $2, $3, $4, $5, $6))`];
    steps.push(`v AS (INSERT INTO resource_version (resource_type, id, version_id, last_updated, compartment, content, method) VALUES ($1, $2, $3, $4, $5, $6, $7))`);
    steps.push(...indexInserts(extractSearchIndex(full), params));
    await this.client.query(`WITH ${steps.join(', ')} SELECT 1`, params.values);
    return { resourceType, id, versionId, lastUpdated, deleted: false, json, method };
  }
}

/** CTE steps inserting a resource's index rows, one unnest per table; `$1, $2` are its type and id. */
function indexInserts(rows: IndexRows, params: SqlParams): string[] {
  const steps: string[] = [];
  for (const kind of Object.keys(INDEX_TABLES) as (keyof IndexRows)[]) {
    const entries = rows[kind] as unknown[][];
    if (entries.length === 0) continue;
    const { table, columns, types } = INDEX_TABLES[kind];
    const arrays = columns.map((_, c) => `${params.add(entries.map((row) => row[c] ?? null))}::${types[c]}[]`);
    steps.push(`i_${kind} AS (INSERT INTO ${table} (resource_type, id, ${columns.join(', ')}) SELECT $1, $2, * FROM unnest(${arrays.join(', ')}))`);
  }
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

interface SortKey {
  column: string;
  type: 'timestamptz' | 'text';
  descending: boolean;
  value: (stored: StoredResource) => string;
}

function sortKeys(request: SearchRequest): SortKey[] {
  const keys: SortKey[] = request.sort.map((rule) =>
    rule.code === '_id'
      ? { column: 'r.id', type: 'text', descending: rule.descending, value: (s) => s.id }
      : { column: 'r.last_updated', type: 'timestamptz', descending: rule.descending, value: (s) => s.lastUpdated },
  );
  if (keys.length === 0) keys.push({ column: 'r.last_updated', type: 'timestamptz', descending: false, value: (s) => s.lastUpdated });
  if (!keys.some((k) => k.column === 'r.id')) keys.push({ column: 'r.id', type: 'text', descending: false, value: (s) => s.id });
  return keys;
}

/** Rows strictly after the cursor in the sort order: keyset paging, no OFFSET scans. */
function keysetCondition(keys: SortKey[], values: string[], params: SqlParams): string {
  const placeholders = keys.map((k, i) => `${params.add(values[i])}::${k.type}`);
  const alternatives = keys.map((key, i) => {
    const equal = keys.slice(0, i).map((k, j) => `${k.column} = ${placeholders[j]}`);
    return [...equal, `${key.column} ${key.descending ? '<' : '>'} ${placeholders[i]}`].join(' AND ');
  });
  return `(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
}

function encodeCursor(values: string[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

function decodeCursor(cursor: string, length: number): string[] {
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(values) && values.length === length && values.every((v) => typeof v === 'string')) return values as string[];
  } catch {
    // fall through to the error below
  }
  throw badRequest(`Invalid paging cursor`, '_cursor');
}
