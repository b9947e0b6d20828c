import { confirmDuplicateOperation, duplicatesOperation, rejectDuplicateOperation } from '../../src/rest/duplicates.js';
import type { Interaction } from '../../src/rest/interaction.js';
import { mergeOperation, unmergeOperation } from '../../src/rest/merge.js';
import type { TestServer, TokenClaims } from './server.js';

const PATHS = new Map<Interaction, string>([
  [mergeOperation, 'Patient/$merge'],
  [unmergeOperation, 'Patient/$unmerge'],
  [duplicatesOperation, 'Patient/$duplicates'],
  [confirmDuplicateOperation, 'Patient/$confirm-duplicate'],
  [rejectDuplicateOperation, 'Patient/$reject-duplicate'],
]);

/**
 * The identity operations ($merge, $unmerge, the duplicates work list) called over HTTP, named
 * by their handler: as the administrator with clinical access (the test server's default), or
 * as the caller whose token claims are given.
 */
export function identityOperations(server: TestServer, caller?: TokenClaims) {
  const token = caller ? server.token(caller) : undefined;
  return async (handler: Interaction, method: 'GET' | 'POST', body?: unknown, query: [string, string][] = []): Promise<{ status: number; body: any }> => {
    const path = `${PATHS.get(handler)}${query.length ? `?${new URLSearchParams(query)}` : ''}`;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${await token}` } : {};
    const reply = await server.fhir(method, path, body, headers);
    return { status: reply.status, body: reply.body };
  };
}
