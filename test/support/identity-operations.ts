import type { AccessContext } from '../../src/access/context.js';
import { PLATFORM_CONTEXT, accessPolicy } from '../../src/access/door.js';
import { isFhirError } from '../../src/fhir/outcome.js';
import type { Interaction } from '../../src/rest/interaction.js';
import type { Database } from '../../src/store/driver.js';
import { IDENTITY_MIGRATION } from '../../src/store/duplicate-candidates.js';
import { Repository } from '../../src/store/repository.js';
import type { TestServer } from './server.js';

/**
 * The identity operations ($merge, $unmerge, the duplicates work list) called as the route table
 * will call them, on the test server's database, for the platform or the caller given, with
 * failures answered as the HTTP layer answers them. Until their routes are in src/rest/routes.ts; then `server.fhir` replaces this.
 */
export function identityOperations(server: TestServer, access: AccessContext = PLATFORM_CONTEXT) {
  return async (handler: Interaction, method: 'GET' | 'POST', body?: unknown, query: [string, string][] = []): Promise<{ status: number; body: any }> => {
    const context = { repo: new Repository(server.db, accessPolicy(access)), access, baseUrl: server.base, maxBundleEntries: 1000 };
    try {
      const reply = await handler({ method, path: 'Patient', query, headers: {}, body }, { type: 'Patient' }, context);
      return { status: reply.status, body: reply.resource };
    } catch (error) {
      if (isFhirError(error)) return { status: error.status, body: error.outcome };
      throw error;
    }
  };
}

/** The work-list table, until it is a numbered migration; harmless once it is. */
export async function applyIdentityMigration(db: Database): Promise<void> {
  const [row] = await db.query<{ name: string | null }>(`SELECT to_regclass('duplicate_candidate')::text AS name`);
  if (row?.name) return;
  for (const statement of IDENTITY_MIGRATION.split(';').map((s) => s.trim()).filter(Boolean)) await db.query(statement);
}
