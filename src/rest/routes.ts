import { badRequest, methodNotAllowed, notFound } from '../fhir/outcome.js';
import { isResourceType } from '../fhir/definitions.js';
import { processBundle } from './bundle.js';
import { capabilities } from './capabilities.js';
import { CONFORMANCE_ROUTES } from './conformance-resources.js';
import { create } from './create.js';
import { conditionalDelete, remove } from './delete.js';
import { exportCancel, exportKickOff, exportOutput, exportStatus } from './export.js';
import { history } from './history.js';
import type { FhirRequest, FhirResponse, Interaction, InteractionContext, RouteParams } from './interaction.js';
import { patch } from './patch.js';
import { read } from './read.js';
import { readBinary } from './binary.js';
import { accessLogOperation } from './access-log.js';
import { breakGlassOperation } from './break-glass.js';
import {
  attachOperation,
  careCodeOperation,
  careDeclarationsOperation,
  confirmCareOperation,
  disputeCareOperation,
  patientCareDeclarationsOperation,
  reviewCareDeclarationOperation,
} from './care.js';
import { confirmDuplicateOperation, duplicatesOperation, rejectDuplicateOperation } from './duplicates.js';
import { everythingOperation, everythingTypeOperation } from './everything.js';
import { mergeOperation, unmergeOperation } from './merge.js';
import { importOperation } from './import.js';
import { IMMDS_FORECAST_OPERATION, immdsForecastOperation } from './immunization-forecast.js';
import { matchOperation } from './match.js';
import { pixOperation } from './pix.js';
import { PDF_TYPE } from './media-types.js';
import { IPS_SUMMARY_OPERATION, summaryOperation } from './patient-summary.js';
import { fileResultsOperation } from './lab-results.js';
import { hl7v2MessagesOperation } from './hl7v2-messages.js';
import { imagingReviewAssign, imagingReviewList } from './imaging-review.js';
import { lastnOperation, seriesOperation } from './observation-trends.js';
import { search, searchCompartment, searchSystem } from './search.js';
import { revokeShareLinkOperation, shareLinkOperation, shareLinksOperation } from './share-links.js';
import { SUBSCRIPTION_ROUTES, bindingTokenOperation, eventsOperation, statusOperation } from './subscriptions.js';
import { BACKPORT } from '../exchange/backport.js';
import { expandOperation, lookupOperation, translateOperation } from './terminology.js';
import { conditionalUpdate, update } from './update.js';
import { validateOperation } from './validate-operation.js';
import { vread } from './vread.js';

export interface Route {
  method: FhirRequest['method'];
  /** Path segments below the base; `:name` captures a segment. */
  pattern: string;
  /** The FHIR interaction (https://hl7.org/fhir/R4/http.html) or operation this route implements. */
  name: string;
  level: 'system' | 'type' | 'instance';
  handler: Interaction;
  /** The resource types a `:type` route is defined for, when not all (`Patient/$export`); others are a 400. */
  types?: readonly string[];
  /** The canonical URL of an operation's OperationDefinition, when it is not the core `Resource-[name]`. */
  definition?: string;
  /** Media types the route offers besides FHIR JSON (src/rest/media-types.ts). */
  produces?: readonly string[];
  /** The handler negotiates its representation itself, from `request.accept` (a Binary's own content type). */
  negotiates?: boolean;
}

/**
 * A table entry whose handler is checked against its pattern: a handler that reads `params.id`
 * cannot sit on a route without `:id`. The table then holds it with params as strings by name,
 * which matchPattern fills from exactly that pattern.
 */
function typedRoute<Pattern extends string>(entry: Omit<Route, 'pattern' | 'handler'> & { pattern: Pattern; handler: Interaction<RouteParams<Pattern>> }): Route {
  return entry as unknown as Route;
}

const BULK_DATA = 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition';
const DENSAULYQ_OPERATIONS = 'http://densaulyq.kz/fhir/OperationDefinition';
const CODE_SYSTEM_LOOKUP = 'http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup';
const VALUE_SET_EXPAND = 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand';
const CONCEPT_MAP_TRANSLATE = 'http://hl7.org/fhir/OperationDefinition/ConceptMap-translate';

/** Every FHIR interaction this server answers: the CapabilityStatement is generated from this table. */
export const ROUTES: readonly Route[] = [
  typedRoute({ method: 'GET', pattern: 'metadata', name: 'capabilities', level: 'system', handler: capabilities }),
  typedRoute({ method: 'POST', pattern: '', name: 'transaction', level: 'system', handler: processBundle }),
  typedRoute({ method: 'GET', pattern: '_history', name: 'history-system', level: 'system', handler: history }),
  typedRoute({ method: 'GET', pattern: '', name: 'search-system', level: 'system', handler: searchSystem }),
  typedRoute({ method: 'POST', pattern: '_search', name: 'search-system', level: 'system', handler: searchSystem }),
  typedRoute({ method: 'POST', pattern: '$import', name: '$import', level: 'system', handler: importOperation, definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/import' }),
  typedRoute({ method: 'GET', pattern: '$care-declarations', name: '$care-declarations', level: 'system', handler: careDeclarationsOperation, definition: `${DENSAULYQ_OPERATIONS}/care-declarations` }),
  typedRoute({ method: 'POST', pattern: '$review-care-declaration', name: '$review-care-declaration', level: 'system', handler: reviewCareDeclarationOperation, definition: `${DENSAULYQ_OPERATIONS}/review-care-declaration` }),
  typedRoute({ method: 'POST', pattern: '$file-results', name: '$file-results', level: 'system', handler: fileResultsOperation, definition: `${DENSAULYQ_OPERATIONS}/file-results` }),
  typedRoute({ method: 'GET', pattern: '$hl7v2-messages', name: '$hl7v2-messages', level: 'system', handler: hl7v2MessagesOperation, definition: `${DENSAULYQ_OPERATIONS}/hl7v2-messages` }),
  typedRoute({ method: 'GET', pattern: '$imaging-review', name: '$imaging-review', level: 'system', handler: imagingReviewList, definition: `${DENSAULYQ_OPERATIONS}/imaging-review` }),
  typedRoute({ method: 'POST', pattern: '$assign-imaging-patient', name: '$assign-imaging-patient', level: 'system', handler: imagingReviewAssign, definition: `${DENSAULYQ_OPERATIONS}/assign-imaging-patient` }),
  typedRoute({ method: 'POST', pattern: '$immds-forecast', name: '$immds-forecast', level: 'system', handler: immdsForecastOperation, definition: IMMDS_FORECAST_OPERATION }),
  typedRoute({ method: 'GET', pattern: '$export', name: '$export', level: 'system', handler: exportKickOff, definition: `${BULK_DATA}/export` }),
  typedRoute({ method: 'POST', pattern: '$export', name: '$export', level: 'system', handler: exportKickOff, definition: `${BULK_DATA}/export` }),
  typedRoute({ method: 'GET', pattern: ':type/$export', name: '$export', level: 'type', handler: exportKickOff, types: ['Patient'], definition: `${BULK_DATA}/patient-export` }),
  typedRoute({ method: 'POST', pattern: ':type/$export', name: '$export', level: 'type', handler: exportKickOff, types: ['Patient'], definition: `${BULK_DATA}/patient-export` }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$export', name: '$export', level: 'instance', handler: exportKickOff, types: ['Group'], definition: `${BULK_DATA}/group-export` }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$export', name: '$export', level: 'instance', handler: exportKickOff, types: ['Group'], definition: `${BULK_DATA}/group-export` }),
  typedRoute({ method: 'GET', pattern: ':type', name: 'search-type', level: 'type', handler: search }),
  typedRoute({ method: 'POST', pattern: ':type/_search', name: 'search-type', level: 'type', handler: search }),
  typedRoute({ method: 'POST', pattern: ':type', name: 'create', level: 'type', handler: create }),
  typedRoute({ method: 'PUT', pattern: ':type', name: 'conditional-update', level: 'type', handler: conditionalUpdate }),
  typedRoute({ method: 'DELETE', pattern: ':type', name: 'conditional-delete', level: 'type', handler: conditionalDelete }),
  typedRoute({ method: 'GET', pattern: ':type/_history', name: 'history-type', level: 'type', handler: history }),
  typedRoute({ method: 'POST', pattern: ':type/$validate', name: '$validate', level: 'type', handler: validateOperation }),
  typedRoute({ method: 'GET', pattern: ':type/$ihe-pix', name: '$ihe-pix', level: 'type', handler: pixOperation, types: ['Patient'], definition: 'https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix' }),
  typedRoute({ method: 'POST', pattern: ':type/$merge', name: '$merge', level: 'type', handler: mergeOperation, types: ['Patient'], definition: 'http://hl7.org/fhir/OperationDefinition/Patient-merge' }),
  typedRoute({ method: 'POST', pattern: ':type/$unmerge', name: '$unmerge', level: 'type', handler: unmergeOperation, types: ['Patient'], definition: 'http://densaulyq.kz/fhir/OperationDefinition/Patient-unmerge' }),
  typedRoute({ method: 'GET', pattern: ':type/$duplicates', name: '$duplicates', level: 'type', handler: duplicatesOperation, types: ['Patient'], definition: 'http://densaulyq.kz/fhir/OperationDefinition/Patient-duplicates' }),
  typedRoute({ method: 'POST', pattern: ':type/$confirm-duplicate', name: '$confirm-duplicate', level: 'type', handler: confirmDuplicateOperation, types: ['Patient'], definition: 'http://densaulyq.kz/fhir/OperationDefinition/Patient-confirm-duplicate' }),
  typedRoute({ method: 'POST', pattern: ':type/$reject-duplicate', name: '$reject-duplicate', level: 'type', handler: rejectDuplicateOperation, types: ['Patient'], definition: 'http://densaulyq.kz/fhir/OperationDefinition/Patient-reject-duplicate' }),
  typedRoute({ method: 'POST', pattern: ':type/$match', name: '$match', level: 'type', handler: matchOperation, types: ['Patient'], definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match' }),
  typedRoute({ method: 'GET', pattern: ':type/$summary', name: '$summary', level: 'type', handler: summaryOperation, types: ['Patient'], definition: IPS_SUMMARY_OPERATION, produces: [PDF_TYPE] }),
  typedRoute({ method: 'POST', pattern: ':type/$summary', name: '$summary', level: 'type', handler: summaryOperation, types: ['Patient'], definition: IPS_SUMMARY_OPERATION, produces: [PDF_TYPE] }),
  typedRoute({ method: 'POST', pattern: ':type/$immds-forecast', name: '$immds-forecast', level: 'type', handler: immdsForecastOperation, types: ['Patient'], definition: IMMDS_FORECAST_OPERATION }),
  typedRoute({ method: 'GET', pattern: ':type/$lookup', name: '$lookup', level: 'type', handler: lookupOperation, types: ['CodeSystem'], definition: CODE_SYSTEM_LOOKUP }),
  typedRoute({ method: 'POST', pattern: ':type/$lookup', name: '$lookup', level: 'type', handler: lookupOperation, types: ['CodeSystem'], definition: CODE_SYSTEM_LOOKUP }),
  typedRoute({ method: 'GET', pattern: ':type/$translate', name: '$translate', level: 'type', handler: translateOperation, types: ['ConceptMap'], definition: CONCEPT_MAP_TRANSLATE }),
  typedRoute({ method: 'POST', pattern: ':type/$translate', name: '$translate', level: 'type', handler: translateOperation, types: ['ConceptMap'], definition: CONCEPT_MAP_TRANSLATE }),
  typedRoute({ method: 'GET', pattern: ':type/$expand', name: '$expand', level: 'type', handler: expandOperation, types: ['ValueSet'], definition: VALUE_SET_EXPAND }),
  typedRoute({ method: 'POST', pattern: ':type/$expand', name: '$expand', level: 'type', handler: expandOperation, types: ['ValueSet'], definition: VALUE_SET_EXPAND }),
  typedRoute({ method: 'GET', pattern: ':type/$lastn', name: '$lastn', level: 'type', handler: lastnOperation, types: ['Observation'], definition: 'http://hl7.org/fhir/OperationDefinition/Observation-lastn' }),
  typedRoute({ method: 'GET', pattern: ':type/$series', name: '$series', level: 'type', handler: seriesOperation, types: ['Observation'], definition: `${DENSAULYQ_OPERATIONS}/Observation-series` }),
  typedRoute({ method: 'GET', pattern: ':type/$everything', name: '$everything', level: 'type', handler: everythingTypeOperation, types: ['Patient'], definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }),
  typedRoute({ method: 'GET', pattern: 'Binary/:id', name: 'read', level: 'instance', handler: readBinary, negotiates: true }),
  typedRoute({ method: 'GET', pattern: ':type/:id', name: 'read', level: 'instance', handler: read }),
  typedRoute({ method: 'PUT', pattern: ':type/:id', name: 'update', level: 'instance', handler: update }),
  typedRoute({ method: 'PATCH', pattern: ':type/:id', name: 'patch', level: 'instance', handler: patch }),
  typedRoute({ method: 'DELETE', pattern: ':type/:id', name: 'delete', level: 'instance', handler: remove }),
  typedRoute({ method: 'GET', pattern: ':type/:id/_history', name: 'history-instance', level: 'instance', handler: history }),
  typedRoute({ method: 'GET', pattern: ':type/:id/_history/:vid', name: 'vread', level: 'instance', handler: vread }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$validate', name: '$validate', level: 'instance', handler: validateOperation }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$validate', name: '$validate', level: 'instance', handler: validateOperation }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$everything', name: '$everything', level: 'instance', handler: everythingOperation, types: ['Patient'], definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$summary', name: '$summary', level: 'instance', handler: summaryOperation, types: ['Patient'], definition: IPS_SUMMARY_OPERATION, produces: [PDF_TYPE] }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$summary', name: '$summary', level: 'instance', handler: summaryOperation, types: ['Patient'], definition: IPS_SUMMARY_OPERATION, produces: [PDF_TYPE] }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$immds-forecast', name: '$immds-forecast', level: 'instance', handler: immdsForecastOperation, types: ['Patient'], definition: IMMDS_FORECAST_OPERATION }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$immds-forecast', name: '$immds-forecast', level: 'instance', handler: immdsForecastOperation, types: ['Patient'], definition: IMMDS_FORECAST_OPERATION }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$break-glass', name: '$break-glass', level: 'instance', handler: breakGlassOperation, types: ['Patient'], definition: 'http://densaulyq.kz/fhir/OperationDefinition/Patient-break-glass' }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$attach', name: '$attach', level: 'instance', handler: attachOperation, types: ['Patient'], definition: `${DENSAULYQ_OPERATIONS}/Patient-attach` }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$care-code', name: '$care-code', level: 'instance', handler: careCodeOperation, types: ['Patient'], definition: `${DENSAULYQ_OPERATIONS}/Patient-care-code` }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$confirm-care', name: '$confirm-care', level: 'instance', handler: confirmCareOperation, types: ['Patient'], definition: `${DENSAULYQ_OPERATIONS}/Patient-confirm-care` }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$dispute-care', name: '$dispute-care', level: 'instance', handler: disputeCareOperation, types: ['Patient'], definition: `${DENSAULYQ_OPERATIONS}/Patient-dispute-care` }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$care-declarations', name: '$care-declarations', level: 'instance', handler: patientCareDeclarationsOperation, types: ['Patient'], definition: `${DENSAULYQ_OPERATIONS}/Patient-care-declarations` }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$access-log', name: '$access-log', level: 'instance', handler: accessLogOperation, types: ['Patient'], definition: 'http://densaulyq.kz/fhir/OperationDefinition/Patient-access-log' }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$share-link', name: '$share-link', level: 'instance', handler: shareLinkOperation, types: ['Patient'], definition: `${DENSAULYQ_OPERATIONS}/Patient-share-link` }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$share-links', name: '$share-links', level: 'instance', handler: shareLinksOperation, types: ['Patient'], definition: `${DENSAULYQ_OPERATIONS}/Patient-share-links` }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$revoke-share-link', name: '$revoke-share-link', level: 'instance', handler: revokeShareLinkOperation, types: ['Patient'], definition: `${DENSAULYQ_OPERATIONS}/Patient-revoke-share-link` }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$translate', name: '$translate', level: 'instance', handler: translateOperation, types: ['ConceptMap'], definition: CONCEPT_MAP_TRANSLATE }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$translate', name: '$translate', level: 'instance', handler: translateOperation, types: ['ConceptMap'], definition: CONCEPT_MAP_TRANSLATE }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$expand', name: '$expand', level: 'instance', handler: expandOperation, types: ['ValueSet'], definition: VALUE_SET_EXPAND }),
  typedRoute({ method: 'POST', pattern: ':type/:id/$expand', name: '$expand', level: 'instance', handler: expandOperation, types: ['ValueSet'], definition: VALUE_SET_EXPAND }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$status', name: '$status', level: 'instance', handler: statusOperation, types: ['Subscription'], definition: BACKPORT.statusOperation }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$events', name: '$events', level: 'instance', handler: eventsOperation, types: ['Subscription'], definition: BACKPORT.eventsOperation }),
  typedRoute({ method: 'GET', pattern: ':type/:id/$get-ws-binding-token', name: '$get-ws-binding-token', level: 'instance', handler: bindingTokenOperation, types: ['Subscription'], definition: BACKPORT.bindingTokenOperation }),
  typedRoute({ method: 'GET', pattern: ':type/:id/:compartmentType', name: 'search-compartment', level: 'instance', handler: searchCompartment }),
];

/**
 * The Bulk Data IG's job endpoints (https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request):
 * plain HTTP resources the kick-off links to, not FHIR interactions, so the CapabilityStatement
 * does not list them; findRoute answers them like the others.
 */
export const BULK_DATA_ROUTES: readonly Route[] = [
  typedRoute({ method: 'GET', pattern: '$export-status/:job', name: 'export-status', level: 'system', handler: exportStatus }),
  typedRoute({ method: 'DELETE', pattern: '$export-status/:job', name: 'export-cancel', level: 'system', handler: exportCancel }),
  typedRoute({ method: 'GET', pattern: '$export-output/:job/:seq', name: 'export-output', level: 'system', handler: exportOutput }),
];

const ALL_ROUTES: readonly Route[] = [...BULK_DATA_ROUTES, ...CONFORMANCE_ROUTES, ...SUBSCRIPTION_ROUTES, ...ROUTES];

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

interface Match {
  route: Route;
  params: Record<string, string>;
}

function matchPattern(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern === '' ? [] : pattern.split('/');
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const segment = segments[i];
    if (part.startsWith(':')) {
      if (part === ':type' && !/^[A-Z]/.test(segment)) return undefined;
      // An operation is never an id: `CodeSystem/$lookup` is not a read of the built-in CodeSystem routes.
      if (part === ':id' && segment.startsWith('$')) return undefined;
      params[part.slice(1)] = segment;
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}

/** Finds the route of a request; an unknown type is a 404, a bad id a 400, a wrong method a 405. */
export function findRoute(request: FhirRequest): Match {
  const segments = request.path === '' ? [] : request.path.split('/');
  if (request.path.includes('%')) segments.forEach((segment, i) => (segments[i] = decodeURIComponent(segment)));
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  let pathMatched = false;
  for (const route of ALL_ROUTES) {
    const params = matchPattern(route.pattern, segments);
    if (!params) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    if (params.type !== undefined && !isResourceType(params.type)) throw notFound(`Unknown resource type "${params.type}"`, 'unknown-route');
    if (route.types && !route.types.includes(params.type)) {
      throw badRequest(`${route.name} is not defined on ${params.type} at /${route.pattern.replace(':type', params.type)}`, undefined, 'not-supported');
    }
    if (params.id !== undefined && !ID_PATTERN.test(params.id)) throw badRequest(`Invalid resource id "${params.id}"`, `${params.type ?? route.pattern.split('/')[0]}.id`);
    return { route, params };
  }
  if (pathMatched) throw methodNotAllowed(`${request.method} is not allowed on /${request.path}`);
  throw notFound(`No FHIR interaction at /${request.path}`, 'unknown-route');
}

export function route(request: FhirRequest, context: InteractionContext): Promise<FhirResponse> {
  const { route: found, params } = findRoute(request);
  return found.handler(request, params, context);
}
