import type { SqlClient } from './driver.js';

/**
 * Counts for callers who see aggregates only, protected against differencing by the "cell key"
 * perturbation of the Australian Bureau of Statistics' TableBuilder (Fraser and Wooton, "A
 * proposed method for confidentialising tabular output to protect against differencing", 2005;
 * Thompson, Broadfoot and Elazar, "Methodology for the automatic confidentialisation of
 * statistical outputs from remote servers at the ABS", 2013;
 * https://www.abs.gov.au/statistics/microdata-tablebuilder/tablebuilder/confidentiality-and-relative-standard-error).
 *
 * - Each record has a secret key, uniform on [0, 2³²): the first 32 bits of
 *   md5(secret ‖ type/id), the secret a random value the database draws once
 *   (`aggregate_secret`), never served. An analyst sees no hash output, only which of seven
 *   noise steps a sum of keys falls in, so md5's collision weakness does not matter here; it
 *   costs a third of sha256 per matching row on both drivers.
 * - The cell key of a count is the sum of its records' keys modulo 2³². The same set of records
 *   always has the same cell key, so asking again, or asking for the same set in other words,
 *   gives the same answer and averaging repeats gains nothing; two sets differing by even one
 *   record have independent cell keys, so their noises are independent.
 * - The published count is the true count plus the change PERTURBATION assigns to the cell
 *   key's share of 2³². A true count under the minimum is withheld; a perturbed count is never
 *   published under it (it is raised to the minimum).
 *
 * Everything is computed in one statement over the matching rows: neither the records' ids nor
 * the true count leave the database. What the method does not hide: that two answers differ
 * tells that the two sets differ, and averaging the differences of many distinct pairs of sets
 * that all contain the same person converges on that person's share. The parameter rules of the
 * door (src/access/aggregate-rules.ts: nothing naming a person or a record, no complements,
 * dates to the month) are what make such pairs hard to build.
 */

/** The table holding the secret the record keys derive from: one row, drawn by the database itself. */
export const AGGREGATE_SECRET_MIGRATION = `
  CREATE TABLE aggregate_secret (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    secret text NOT NULL
  );
  INSERT INTO aggregate_secret (secret) SELECT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
`;

/**
 * The perturbation table: the change added to a true count, and the share of cell keys that
 * get it. Symmetric, so counts stay unbiased; at most ±3, variance 2.1. Two different sets get
 * the same change with probability Σp² ≈ 0.195, so a difference of two answers equals the
 * true difference about one time in five, whatever it is.
 */
export const PERTURBATION: readonly { change: number; probability: number }[] = [
  { change: -3, probability: 0.05 },
  { change: -2, probability: 0.1 },
  { change: -1, probability: 0.2 },
  { change: 0, probability: 0.3 },
  { change: 1, probability: 0.2 },
  { change: 2, probability: 0.1 },
  { change: 3, probability: 0.05 },
];

const KEY_RANGE = 2 ** 32;

/** `CASE` over the cell key `cell` choosing the change of PERTURBATION, by cumulative share. */
function changeSql(cell: string): string {
  let cumulative = 0;
  const steps = PERTURBATION.slice(0, -1).map(({ change, probability }) => {
    cumulative += probability;
    return `WHEN ${cell} < ${Math.round(cumulative * KEY_RANGE)} THEN ${change}`;
  });
  return `CASE ${steps.join(' ')} ELSE ${PERTURBATION[PERTURBATION.length - 1].change} END`;
}

/**
 * The published count of the records `matches` selects (a query with columns `resource_type`
 * and `id`, its parameters in `values`), or undefined when withheld: the true count is under
 * `minimum`.
 */
export async function perturbedCount(client: SqlClient, matches: string, values: readonly unknown[], minimum: number): Promise<number | undefined> {
  const floor = Math.trunc(minimum);
  const keyed = `SELECT ('x' || left(md5(k.secret || m.resource_type || '/' || m.id), 8))::bit(32)::bigint AS record_key
    FROM (${matches}) m CROSS JOIN aggregate_secret k`;
  const cell = `SELECT count(*) AS n, coalesce(sum(record_key), 0) % ${KEY_RANGE} AS cell_key FROM (${keyed}) keyed`;
  const rows = await client.query<{ published: string | null }>(
    `SELECT CASE WHEN c.n < ${floor} THEN NULL ELSE greatest(${floor}, c.n + ${changeSql('c.cell_key')})::text END AS published FROM (${cell}) c`,
    values,
  );
  const published = rows[0]?.published;
  return published === null || published === undefined ? undefined : Number(published);
}
