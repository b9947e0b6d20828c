import type { IndexRows } from '../fhir/search-parameters.js';
import type { CareRow } from './access-policy.js';
import { copyRow, copyTextArray } from './copy-text.js';
import type { SqlClient } from './driver.js';
import type { DerivedIndex } from './prepared-resource.js';
import type { SqlParams } from './sql-params.js';

/** Rows derived from a resource: its search indexes, its consent rules, and the care relationships the door let it hold. */
type DerivedRows = IndexRows & { consent: DerivedIndex['consent']; care: unknown[][] };

/** The tables of rows derived from a resource at write time: search indexes and access facts. */
const INDEX_TABLES: Record<keyof DerivedRows, { table: string; columns: string[]; types: string[] }> = {
  token: { table: 'search_token', columns: ['code', 'system', 'value', 'text_value'], types: ['text', 'text', 'text', 'text'] },
  string: { table: 'search_string', columns: ['code', 'value', 'normalized'], types: ['text', 'text', 'text'] },
  date: { table: 'search_date', columns: ['code', 'low', 'high'], types: ['text', 'timestamptz', 'timestamptz'] },
  number: { table: 'search_number', columns: ['code', 'low', 'high', 'system', 'unit'], types: ['text', 'numeric', 'numeric', 'text', 'text'] },
  uri: { table: 'search_uri', columns: ['code', 'value'], types: ['text', 'text'] },
  reference: { table: 'search_reference', columns: ['code', 'target_type', 'target_id', 'reference'], types: ['text', 'text', 'text', 'text'] },
  care: {
    table: 'care_relationship',
    columns: ['patient', 'party', 'kind', 'valid_until', 'verified', 'asserted_by'],
    types: ['text', 'text', 'text', 'timestamptz', 'boolean', 'text'],
  },
  consent: { table: 'consent_rule', columns: ['patient', 'kind', 'value', 'valid_until'], types: ['text', 'text', 'text', 'timestamptz'] },
};

/** Every table with rows derived from a resource's current version, besides `resource` itself. */
export const DERIVED_TABLES = [...Object.values(INDEX_TABLES).map((t) => t.table), 'search_text'];
/**
 * What reindexing rebuilds: not care relationships, which the door decided from who wrote the
 * evidence when it was written (a rebuild from content alone would lose that).
 */
export const REINDEXED_TABLES = DERIVED_TABLES.filter((table) => table !== 'care_relationship');
/** CTE steps removing a resource's derived rows; `$1, $2` are its type and id. */
export const INDEX_DELETES = DERIVED_TABLES.map((table, i) => `d${i} AS (DELETE FROM ${table} WHERE resource_type = $1 AND id = $2)`);

/** A resource's derived rows to write: care relationships only as the door decided them, none when omitted. */
export type DerivedInput = DerivedIndex & { resourceType: string; id: string; care?: readonly CareRow[] };

function derivedRows({ index, consent, care }: DerivedInput): DerivedRows {
  return { ...index, consent, care: (care ?? []).map((c) => [c.patient, c.party, c.kind, c.validUntil, c.verified, c.assertedBy]) };
}

/**
 * CTE steps inserting the search index rows, access facts and full-text words of resources, one
 * unnest per table. `owner` names the SQL of a single resource's type and id; without it, type
 * and id columns are bound per row.
 */
export function indexInserts(resources: readonly DerivedInput[], params: SqlParams, owner?: [string, string]): string[] {
  const indexed = resources.map((r) => ({ resourceType: r.resourceType, id: r.id, rows: derivedRows(r), text: r.words }));
  const steps: string[] = [];
  const ownerColumns = (types: string[], ids: string[]) =>
    owner ? `${owner[0]}, ${owner[1]}` : `${params.add(types)}::text[], ${params.add(ids)}::text[]`;
  for (const kind of Object.keys(INDEX_TABLES) as (keyof DerivedRows)[]) {
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

/** A table's rows in COPY's text format, ready for `SqlClient.copyFrom`. */
export interface CopyBatch {
  table: string;
  columns: string[];
  text: string;
}

/**
 * The derived rows of new resources as one COPY per table (https://www.postgresql.org/docs/15/sql-copy.html):
 * the same rows `indexInserts` writes, without the statement's parameters to parse and plan.
 */
export function derivedCopies(resources: readonly DerivedInput[]): CopyBatch[] {
  const batches: CopyBatch[] = [];
  const indexed = resources.map((r) => ({ resourceType: r.resourceType, id: r.id, rows: derivedRows(r) }));
  for (const kind of Object.keys(INDEX_TABLES) as (keyof DerivedRows)[]) {
    const { table, columns } = INDEX_TABLES[kind];
    let text = '';
    for (const { resourceType, id, rows } of indexed) {
      for (const row of rows[kind] as unknown[][]) text += copyRow([resourceType, id, ...columns.map((_, c) => row[c] ?? null)]);
    }
    if (text) batches.push({ table, columns: ['resource_type', 'id', ...columns], text });
  }
  const text = resources.map((r) => copyRow([r.resourceType, r.id, copyTextArray(r.words.narrative), copyTextArray(r.words.content)])).join('');
  if (text) batches.push({ table: 'search_text', columns: ['resource_type', 'id', 'narrative', 'content'], text });
  return batches;
}

/** A version to store, as the write decided it. */
interface VersionRow {
  resourceType: string;
  id: string;
  versionId: string;
  lastUpdated: string;
  compartment: string | null;
  json: string;
  method: string;
  author: string | null;
  security: readonly string[];
}

/** New resources' `resource` and `resource_version` rows as COPY batches. */
export function versionCopies(versions: readonly VersionRow[]): CopyBatch[] {
  const columns = ['resource_type', 'id', 'version_id', 'last_updated', 'compartment', 'content', 'author', 'security'];
  const rows = versions.map((v) => [v.resourceType, v.id, v.versionId, v.lastUpdated, v.compartment, v.json, v.author, copyTextArray(v.security)]);
  return [
    { table: 'resource', columns, text: rows.map((row) => copyRow(row)).join('') },
    { table: 'resource_version', columns: [...columns, 'method'], text: rows.map((row, i) => copyRow([...row, versions[i]!.method])).join('') },
  ];
}

/** Writes COPY batches one after another on `client` (a transaction's: they commit with the rest of the write). */
export async function copyAll(client: Required<Pick<SqlClient, 'copyFrom'>>, batches: readonly CopyBatch[]): Promise<void> {
  for (const { table, columns, text } of batches) await client.copyFrom(table, columns, text);
}
