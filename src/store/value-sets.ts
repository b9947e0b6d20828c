import type { SqlParams } from './sql-params.js';

/*
 * Terminology for token search, answered in SQL from the ValueSet and CodeSystem resources the
 * server holds. Search conditions are built synchronously, before anything is read, so a value set
 * cannot be expanded in TypeScript first; as sub-selects over the stored JSON, the expansion runs
 * inside the search statement itself (once: the sub-selects are uncorrelated), sees the same
 * snapshot as the rest of the search, and needs no cache to invalidate when a ValueSet changes.
 */

/** The current, not deleted resources of `type` whose `url` is the bound parameter `url`. */
function byUrl(type: 'ValueSet' | 'CodeSystem', url: string): string {
  return `SELECT r.content::jsonb AS body FROM resource r WHERE r.resource_type = '${type}' AND NOT r.deleted
    AND r.id IN (SELECT u.id FROM search_uri u WHERE u.resource_type = '${type}' AND u.code = 'url' AND u.value = ${url})`;
}

/**
 * The concepts of code systems as a tree, each with the codes above it: `CodeSystem.concept`
 * nests the children of a concept under it (https://hl7.org/fhir/R4/codesystem.html#hierarchy).
 * `systems` selects the CodeSystem bodies.
 */
function conceptTree(systems: string): string {
  return `tree (system, code, ancestors, node) AS (
      SELECT cs.body->>'url', c->>'code', ARRAY[]::text[], c FROM (${systems}) cs, jsonb_array_elements(cs.body->'concept') c
      UNION ALL
      SELECT t.system, k->>'code', t.ancestors || t.code, k FROM tree t, jsonb_array_elements(t.node->'concept') k
    )`;
}

/**
 * `(system, code)` of every concept in a ValueSet held by the server, for `:in` and `:not-in`
 * (https://hl7.org/fhir/R4/search.html#token). `reference` is the value set's canonical URL
 * (a `|version` is ignored: the current version is used) or `ValueSet/[id]`.
 *
 * Expanded: `compose.include` concept lists; includes of a whole code system, or of the part of it
 * selected by `is-a`, `descendent-of` and `is-not-a` filters on `concept`, when the CodeSystem is
 * held here; `compose.exclude` concept lists; and a stored `expansion.contains` (top level).
 * Not expanded: `include.valueSet`, other filters (such an include adds nothing), and code
 * systems not held here except through concepts listed in the value set itself.
 */
export function valueSetMembers(reference: string, params: SqlParams): string {
  const local = /^ValueSet\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  const valueSet = local
    ? `SELECT r.content::jsonb AS body FROM resource r WHERE r.resource_type = 'ValueSet' AND NOT r.deleted AND r.id = ${params.add(local[1])}`
    : byUrl('ValueSet', params.add(reference.split('|')[0]));
  const includedSystems = `SELECT i->>'system' FROM included WHERE i->'concept' IS NULL AND i->>'system' IS NOT NULL`;
  const systems = `SELECT r.content::jsonb AS body FROM resource r WHERE r.resource_type = 'CodeSystem' AND NOT r.deleted
    AND r.id IN (SELECT u.id FROM search_uri u WHERE u.resource_type = 'CodeSystem' AND u.code = 'url' AND u.value IN (${includedSystems}))`;
  const filtersHold = `NOT EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(i->'filter', '[]'::jsonb)) f WHERE NOT coalesce(
      f->>'property' = 'concept' AND CASE f->>'op'
        WHEN 'is-a' THEN t.code = f->>'value' OR f->>'value' = ANY(t.ancestors)
        WHEN 'descendent-of' THEN f->>'value' = ANY(t.ancestors)
        WHEN 'is-not-a' THEN NOT (t.code = f->>'value' OR f->>'value' = ANY(t.ancestors))
        ELSE false END, false))`;
  return `WITH RECURSIVE vs AS (${valueSet}),
    included AS (SELECT i FROM vs, jsonb_array_elements(vs.body->'compose'->'include') i),
    ${conceptTree(systems)}
    (SELECT i->>'system' AS system, c->>'code' AS code FROM included, jsonb_array_elements(i->'concept') c
     UNION SELECT t.system, t.code FROM tree t JOIN included ON i->>'system' = t.system AND i->'concept' IS NULL AND ${filtersHold}
     UNION SELECT e->>'system', e->>'code' FROM vs, jsonb_array_elements(vs.body->'expansion'->'contains') e)
    EXCEPT SELECT x->>'system', c->>'code' FROM vs, jsonb_array_elements(vs.body->'compose'->'exclude') x, jsonb_array_elements(x->'concept') c`;
}

/**
 * The codes subsumed by `code` (`:below`) or subsuming it (`:above`) in the CodeSystem `system`
 * held by the server, the code itself included (https://hl7.org/fhir/R4/search.html#token).
 * Hierarchy is the nesting of `CodeSystem.concept`; `parent`/`child` properties are not read.
 * For a code system not held here, only the code itself.
 */
export function hierarchyCodes(direction: 'above' | 'below', system: string, code: string, params: SqlParams): string {
  const codeParam = params.add(code);
  const related =
    direction === 'below' ? `SELECT t.code FROM tree t WHERE ${codeParam} = ANY(t.ancestors)` : `SELECT unnest(t.ancestors) FROM tree t WHERE t.code = ${codeParam}`;
  return `WITH RECURSIVE ${conceptTree(byUrl('CodeSystem', params.add(system)))}
    SELECT ${codeParam} UNION ${related}`;
}
