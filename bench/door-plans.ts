/**
 * The door's statements for one request of each access-benchmark scenario, with PostgreSQL's
 * plans: the request runs through the Repository under the bench clinician's door, as the
 * server runs it, every statement it sends is captured, and each SELECT is run again under
 * EXPLAIN ANALYZE (writes are not: EXPLAIN ANALYZE would write again). The plans show whether the
 * care-relationship, consent and break-glass conditions are index look-ups.
 */
import pg from 'pg';
import { accessPolicy } from '../src/access/door.js';
import { parseScopes, resourceScopes } from '../src/access/scopes.js';
import { parseSearchRequest } from '../src/fhir/search-request.js';
import { shareAuditKey } from '../src/store/audit-append.js';
import type { Database } from '../src/store/driver.js';
import { openDatabase } from '../src/store/open.js';
import { Repository } from '../src/store/repository.js';

interface Captured {
  sql: string;
  params: readonly unknown[];
}

/** `db` with every statement it runs outside transactions recorded in `into`. */
function capturing(db: Database, into: Captured[]): Database {
  return shareAuditKey(db, {
    ...db,
    query(sql, params, options) {
      into.push({ sql, params: params ?? [] });
      return db.query(sql, params, options);
    },
  });
}

/** Runs `path` (`/fhir/Type/id` or `/fhir/Type?query`) through `repo`. */
async function request(repo: Repository, path: string): Promise<void> {
  const [route = '', query = ''] = path.replace(/^\/fhir\//, '').split('?');
  const [type = '', id] = route.split('/');
  if (id !== undefined) await repo.read(type, id);
  else await repo.search(parseSearchRequest(type, new URLSearchParams(query)));
}

const oneLine = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/**
 * Text blocks, one per scenario: each SELECT the door sent for one request (abridged) and its
 * plan. `clinician` is the bench clinician's account id, acting for `organization`.
 */
export async function doorPlans(databaseUrl: string, clinician: string, organization: string, scenarios: readonly { label: string; path: string }[]): Promise<string> {
  const db = await openDatabase({ databaseUrl, poolSize: 2 });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const blocks: string[] = [];
  try {
    for (const scenario of scenarios) {
      const captured: Captured[] = [];
      const policy = accessPolicy({
        role: 'clinician',
        subject: clinician,
        clientId: 'densaulyq-bench',
        organization,
        scopes: resourceScopes(parseScopes('user/*.rs')),
        purposeOfUse: 'TREAT',
      });
      await request(new Repository(capturing(db, captured), policy), scenario.path);
      const lines = [`${scenario.label}: ${scenario.path}`];
      for (const { sql, params } of captured.filter((c) => /^\s*SELECT/i.test(c.sql))) {
        const text = oneLine(sql);
        lines.push(`  ${text.length > 220 ? `${text.slice(0, 220)}…` : text}`);
        const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${sql}`, [...params]);
        for (const row of plan.rows) lines.push(`    ${row['QUERY PLAN']}`);
      }
      const writes = captured.length - captured.filter((c) => /^\s*SELECT/i.test(c.sql)).length;
      lines.push(`  (+ ${writes} audit append statement${writes === 1 ? '' : 's'}, batched with other requests' records under load)`);
      blocks.push(lines.join('\n'));
    }
  } finally {
    await client.end();
    await db.close();
  }
  return blocks.join('\n\n');
}
