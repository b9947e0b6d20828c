import type { SqlClient } from './driver.js';

/**
 * The indexes an initial load builds once at its end instead of row by row: the GIN indexes of
 * the full-text words, and the value indexes of the search tables that no write reads. Not the
 * token index (identifier claims read it), the reference indexes (care relationships resolve
 * through them) nor any (resource_type, id) index (updates replace rows by them).
 */
const DEFERRABLE = ['search_text_narrative', 'search_text_content', 'search_string_value', 'search_date_range', 'search_number_value', 'search_uri_value'];

/**
 * Drops the deferrable indexes, their definitions kept in `deferred_index` in the same
 * transaction: an index is never lost, only waiting for `buildDeferredIndexes`.
 */
export async function deferIndexes(client: SqlClient): Promise<void> {
  await client.query(
    `INSERT INTO deferred_index (name, definition)
     SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ANY($1::text[])
     ON CONFLICT (name) DO NOTHING`,
    [DEFERRABLE],
  );
  for (const name of DEFERRABLE) await client.query(`DROP INDEX IF EXISTS ${name}`);
}

/**
 * Builds every index a load deferred (one sorted pass over each table, far cheaper than the same
 * index maintained row by row), then forgets it was deferred. Returns how many were built.
 */
export async function buildDeferredIndexes(client: SqlClient): Promise<number> {
  const deferred = await client.query<{ name: string; definition: string }>(`SELECT name, definition FROM deferred_index ORDER BY name`);
  for (const { name, definition } of deferred) {
    await client.query(`DROP INDEX IF EXISTS ${name}`);
    await client.query(definition);
    await client.query(`DELETE FROM deferred_index WHERE name = $1`, [name]);
  }
  return deferred.length;
}
