import type { Bundle, Resource } from '@medplum/fhirtypes';
import { ERROR_CODE_SYSTEM_ID, errorCodeSystem } from '../fhir/outcome.js';
import { CODE_SYSTEMS, codeSystemResource } from '../fhir/terminology/code-systems.js';
import { VALUE_SETS } from '../fhir/terminology/value-sets.js';
import { TOPIC_RESOURCES } from '../exchange/topics.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';
import { builtInOperationDefinition, builtInOperationDefinitionsByUrl } from './operation-definitions.js';
import { read } from './read.js';
import type { Route } from './routes.js';
import { search } from './search.js';

/**
 * Conformance resources built into the server: the OperationDefinitions of Densaulyq's operations
 * and of the standard ones the passport serves, the CodeSystem of its error codes, and the bundled
 * terminology (src/fhir/terminology) as CodeSystems and ValueSets. They are read by id
 * (`GET OperationDefinition/Patient-unmerge`) and found by canonical URL
 * (`GET OperationDefinition?url=…`, https://hl7.org/fhir/R4/references.html#canonical);
 * ids they do not take, and every other search, go to the store as for any resource.
 */
interface BuiltIn {
  byId(id: string): Resource | undefined;
  byUrl(url: string): Resource[];
}

/** Resources held in memory by id, found by url by looking through them (a few hundred at most). */
function held(resources: ReadonlyMap<string, Resource>): BuiltIn {
  return { byId: (id) => resources.get(id), byUrl: (url) => [...resources.values()].filter((resource) => 'url' in resource && resource.url === url) };
}

const BUILT_IN: Record<string, BuiltIn> = {
  // Densaulyq's own and the standard ones the passport serves (src/rest/operation-definitions.ts).
  OperationDefinition: { byId: builtInOperationDefinition, byUrl: builtInOperationDefinitionsByUrl },
  CodeSystem: held(new Map<string, Resource>([[ERROR_CODE_SYSTEM_ID, errorCodeSystem()], ...CODE_SYSTEMS.map((system) => [system.id, codeSystemResource(system)] as const)])),
  ValueSet: held(VALUE_SETS),
  // The subscription topics, as the Subscriptions Backport IG represents them in R4 (src/exchange/topics.ts).
  Basic: held(TOPIC_RESOURCES),
};

/** The search parameters a search of built-in resources answers; any other goes to the store. */
const BY_URL = new Set(['url', '_summary', '_elements']);

async function readConformance(request: FhirRequest, type: string, id: string, context: InteractionContext): Promise<FhirResponse> {
  const resource = BUILT_IN[type]?.byId(id);
  return resource ? { status: 200, resource } : read(request, { type, id }, context);
}

async function searchConformance(request: FhirRequest, type: string, context: InteractionContext): Promise<FhirResponse> {
  const url = request.query.find(([key]) => key === 'url')?.[1]?.split('|')[0];
  const byUrl = url !== undefined && request.query.every(([key]) => BY_URL.has(key));
  const found = byUrl ? (BUILT_IN[type]?.byUrl(url) ?? []) : [];
  if (found.length === 0 || url === undefined) return search(request, { type }, context);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: found.length,
    link: [{ relation: 'self', url: `${context.baseUrl}/${type}?url=${encodeURIComponent(url)}` }],
    entry: found.map((resource) => ({ fullUrl: `${context.baseUrl}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' } })),
  };
  return { status: 200, resource: bundle };
}

/**
 * Routes ahead of the generic read and search-type of these types (findRoute takes the first
 * match); the CapabilityStatement lists those generic ones.
 */
export const CONFORMANCE_ROUTES: readonly Route[] = Object.keys(BUILT_IN).flatMap((type): Route[] => [
  { method: 'GET', pattern: `${type}/:id`, name: 'read', level: 'instance', handler: (request, params, context) => readConformance(request, type, params.id, context) },
  { method: 'GET', pattern: type, name: 'search-type', level: 'type', handler: (request, _params, context) => searchConformance(request, type, context) },
]);
