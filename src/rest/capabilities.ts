import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { CapabilityStatement, CapabilityStatementRest, CapabilityStatementRestResource, ResourceType } from '@medplum/fhirtypes';
import { resourceTypes } from '../fhir/definitions.js';
import { ERROR_CODE_SYSTEM_ID, ERROR_SYSTEM } from '../fhir/outcome.js';
import { DENSAULYQ_VALUE_SET_BASE } from '../fhir/terminology/code-systems.js';
import { searchParameters, searchParametersVersion } from '../fhir/search-parameters.js';
import { SPECIAL_PARAMETERS } from '../fhir/search-request.js';
import { heldProfiles, registryVersion } from '../fhir/validate.js';
import { type FhirRequest, type FhirResponse, type InteractionContext, parseETag } from './interaction.js';
import { OPERATION_DEFINITIONS, STANDARD_OPERATION_IDS } from './operation-definitions.js';
import { ROUTES } from './routes.js';
import { BACKPORT } from '../exchange/backport.js';
import { TOPIC_RESOURCES, TOPIC_URLS } from '../exchange/topics.js';

/**
 * The operations of one resource type (from `:type` routes serving it), or of the system (type
 * undefined), each named once with its OperationDefinition.
 */
function operations(type: string | undefined): { name: string; definition: string }[] {
  const found = new Map<string, string>();
  for (const route of ROUTES) {
    if (!route.name.startsWith('$')) continue;
    const applies = type === undefined ? route.level === 'system' : route.level !== 'system' && (!route.types || route.types.includes(type));
    const name = route.name.slice(1);
    if (applies && !found.has(name)) found.set(name, route.definition ?? `http://hl7.org/fhir/OperationDefinition/Resource-${name}`);
  }
  return [...found].map(([name, definition]) => ({ name, definition }));
}

/** The conformance resources the server holds itself (src/rest/conformance-resources.ts), named where a client looks for them. */
const BUILT_IN: Record<string, string> = {
  OperationDefinition: `Built in: the definitions of Densaulyq's operations and of the standard ones it serves, ${[...OPERATION_DEFINITIONS.keys(), ...STANDARD_OPERATION_IDS].map((id) => `OperationDefinition/${id}`).join(', ')}; also found by url.`,
  CodeSystem: `Built in: CodeSystem/${ERROR_CODE_SYSTEM_ID} (${ERROR_SYSTEM}), the codes in OperationOutcome.issue.details.coding of every error, with Kazakh, Russian and English meanings; and the bundled terminology (parts of LOINC, SNOMED CT, ICD-10, ATC, CVX, RxNorm and HL7 code systems) with Kazakh, Russian and English designations, for $lookup.`,
  Basic: `Built in: the subscription topics, as R4 Basic resources with R5 SubscriptionTopic's elements (Subscriptions Backport IG): ${[...TOPIC_RESOURCES.keys()].map((id) => `Basic/${id}`).join(', ')}.`,
  ValueSet: `Built in: value sets over the bundled terminology, one per code system and one per IPS section (${DENSAULYQ_VALUE_SET_BASE}/…), for $expand; R4's own value sets expand by url too.`,
};

/** The topics a Subscription may name, as the Subscriptions Backport IG lists them (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/conformance.html). */
const SUBSCRIPTION_TOPICS: Pick<CapabilityStatementRestResource, 'extension' | 'supportedProfile'> = {
  extension: TOPIC_URLS.map((url) => ({ url: BACKPORT.topicCanonical, valueCanonical: url })),
  supportedProfile: [BACKPORT.subscriptionProfile],
};

/** Parameters the search engine refuses (400): not advertised. */
const UNSUPPORTED = new Set(['_compartment', '_query']);

/** The statement as served, per base URL: its JSON text and ETag, and the definitions' versions it was built from. */
const served = new Map<string, { versions: string; body: string; gzipped: Buffer; etag: string }>();

/**
 * The CapabilityStatement (https://hl7.org/fhir/R4/capabilitystatement.html), generated from the
 * route table, the search parameters the engine supports and the profiles the server holds, so
 * it states what is implemented. Built once and served from memory with an ETag; built again
 * when a SearchParameter or StructureDefinition is registered or removed.
 */
export async function capabilities(request: FhirRequest, _params: unknown, context: InteractionContext): Promise<FhirResponse> {
  const versions = `${searchParametersVersion()}|${registryVersion()}`;
  let current = served.get(context.baseUrl);
  if (current?.versions !== versions) {
    const statement: CapabilityStatement = { ...buildStatement(), implementation: { description: 'Densaulyq FHIR R4 server', url: context.baseUrl } };
    const body = JSON.stringify(statement);
    // About 350 KB of JSON, 30 KB gzipped: compressed once here, not per request.
    current = { versions, body, gzipped: gzipSync(body), etag: `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    // Few base URLs serve one deployment; a stream of made-up Host names cannot grow this.
    if (served.size >= 16) served.clear();
    served.set(context.baseUrl, current);
  }
  const headers = { etag: current.etag };
  const { ifNoneMatch } = request.headers;
  const tag = parseETag(current.etag);
  if (ifNoneMatch?.split(',').some((sent) => parseETag(sent.trim()) === tag)) return { status: 304, headers };
  return { status: 200, headers, body: current.body, gzipped: current.gzipped };
}

function buildStatement(): CapabilityStatement {
  const named = (level: string) => ROUTES.filter((r) => r.level === level && !r.name.startsWith('$') && !r.name.startsWith('conditional'));
  const typeInteractions = [...new Set([...named('type'), ...named('instance')].map((r) => r.name))];
  const resource = resourceTypes.map(
    (type): CapabilityStatementRestResource => ({
      type: type as ResourceType,
      interaction: typeInteractions.map((code) => ({ code: code as 'read' })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalRead: 'full-support',
      conditionalUpdate: ROUTES.some((r) => r.name === 'conditional-update'),
      conditionalDelete: ROUTES.some((r) => r.name === 'conditional-delete') ? 'single' : 'not-supported',
      referencePolicy: ['literal', 'logical'],
      searchParam: [...Object.values(searchParameters(type)), ...Object.values(SPECIAL_PARAMETERS)]
        .filter((p) => !UNSUPPORTED.has(p.code!))
        .map((p) => ({ name: p.code!, definition: p.url, type: p.type! })),
      operation: operations(type),
      ...(heldProfiles(type).length ? { supportedProfile: heldProfiles(type) } : {}),
      ...(BUILT_IN[type] ? { documentation: BUILT_IN[type] } : {}),
      ...(type === 'Subscription' ? SUBSCRIPTION_TOPICS : {}),
    }),
  );
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-26',
    kind: 'instance',
    software: { name: 'Densaulyq', version: '0.1.0' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        resource,
        operation: operations(undefined),
        interaction: named('system')
          .filter((r) => r.name !== 'capabilities')
          .flatMap((r) => (r.name === 'transaction' ? ['transaction', 'batch'] : [r.name]))
          .filter((code, i, codes) => codes.indexOf(code) === i)
          .map((code) => ({ code }) as NonNullable<CapabilityStatementRest['interaction']>[number]),
      },
    ],
  };
}
