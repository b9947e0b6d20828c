import { randomUUID } from 'node:crypto';
import type { Bundle, Communication, ConceptMap, DiagnosticReport, Observation, Organization, Resource, ServiceRequest, Specimen } from '@medplum/fhirtypes';
import { HL7V2_FACILITY_SYSTEM } from '../fhir/identifier-systems.js';
import { badRequest, preconditionFailed } from '../fhir/outcome.js';
import { escapeToken, parseSearchRequest } from '../fhir/search-request.js';
import { translate, translated } from '../fhir/terminology/concept-maps.js';
import type { Repository, StoredResource } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { criticalResultAlert, criticalResults } from './critical-results.js';
import { labCodeSystem } from './oru-to-fhir.js';

const LOINC = 'http://loinc.org';

/** What filing a results Bundle wrote: the resources, and the critical-result alerts raised. */
export interface Filed {
  stored: StoredResource[];
  alerts: Communication[];
}

/**
 * Writes the conditional updates of a results Bundle (src/lab/oru-to-fhir.ts) through `repo`, as
 * its caller, in one SQL transaction: each entry's criteria locked, then matched by one search per
 * type (one match is updated, a new version kept in its history; none is created; more are a 412,
 * as for any conditional update), `urn:uuid` references resolved to
 * the ids so chosen (https://hl7.org/fhir/R4/http.html#trules). The Bundle was validated where it
 * came in (the MLLP intake, `$file-results`), once. A FhirError (the lab may not record for the
 * patient, say) rolls all of it back. Both routes of results, HL7 v2 over MLLP and FHIR (`$file-results`),
 * come here: results coded only in the lab's own codes get the LOINC coding the lab's ConceptMap
 * gives them, and a critical result raises an alert to the organization that ordered the test,
 * written as the lab's, in the same transaction.
 */
export function fileResults(repo: Repository, bundle: Bundle, lab: string): Promise<Filed> {
  return repo.transaction(async (tx) => {
    const entries = (bundle.entry ?? []).map((entry) => {
      const [resourceType = '', query = ''] = (entry.request?.url ?? '').split('?', 2);
      const token = new URLSearchParams(query).get('identifier');
      if (entry.request?.method !== 'PUT' || !entry.resource || entry.resource.resourceType !== resourceType || !token) {
        throw badRequest(`A results entry must be a conditional update of its resource on its identifier`, 'Bundle.entry.request');
      }
      return { resource: entry.resource, resourceType, token, fullUrl: entry.fullUrl };
    });
    // One search per type for all its identifiers (a report has many results), under each criteria's lock.
    const holders = new Map<string, string[]>();
    for (const resourceType of new Set(entries.map((e) => e.resourceType))) {
      const tokens = entries.filter((e) => e.resourceType === resourceType).map((e) => e.token);
      for (const token of tokens) await tx.lockCriteria(resourceType, new URLSearchParams([['identifier', token]]));
      const found = await tx.search({ ...parseSearchRequest(resourceType, [['identifier', tokens.join(',')]]), count: tokens.length * 2 });
      for (const stored of found.entries) {
        for (const identifier of parseStored<DiagnosticReport | Observation | Specimen>(stored).identifier ?? []) {
          const token = `${identifier.system}|${escapeToken(identifier.value ?? '')}`;
          holders.set(`${resourceType} ${token}`, [...(holders.get(`${resourceType} ${token}`) ?? []), stored.id]);
        }
      }
    }
    const ids = new Map<string, string>();
    const planned = entries.map(({ resource, resourceType, token, fullUrl }) => {
      const matches = holders.get(`${resourceType} ${token}`) ?? [];
      if (matches.length > 1) throw preconditionFailed(`${resourceType}?identifier=${token} matches more than one resource`);
      const id = matches[0] ?? randomUUID();
      if (fullUrl) ids.set(fullUrl, `${resourceType}/${id}`);
      return { resource, id, exists: matches.length === 1 };
    });
    const loinc = await loincOfLocalCodes(tx, lab, planned.map((p) => p.resource));
    const resolved = planned.map(({ resource, id, exists }) => ({ resource: withLoinc(resolveReferences(resource, ids), lab, loinc), id, exists }));
    // New results (most messages) go in together, one statement; corrections one by one, each a new version.
    const created = await tx.writeMany(resolved.filter((r) => !r.exists), 'create');
    const updated: StoredResource[] = [];
    for (const { resource, id } of resolved.filter((r) => r.exists)) updated.push((await tx.update({ ...resource, id })).stored);
    const stored = [...created.stored, ...updated];
    return { stored, alerts: await raiseAlerts(tx, stored, lab) };
  });
}

/**
 * The LOINC code of each of the lab's own result codes that has none beside it, as the lab's
 * ConceptMaps say (`ConceptMap/$translate`, one search for all of a message's codes); a code
 * they do not map stays as sent.
 */
async function loincOfLocalCodes(tx: Repository, lab: string, resources: readonly Resource[]): Promise<Map<string, { code: string; display?: string }>> {
  const system = labCodeSystem(lab);
  const local = new Set<string>();
  for (const resource of resources) {
    if (resource.resourceType !== 'Observation' && resource.resourceType !== 'DiagnosticReport') continue;
    const codings = resource.code.coding ?? [];
    if (codings.some((c) => c.system === LOINC)) continue;
    for (const coding of codings) if (coding.system === system && coding.code) local.add(coding.code);
  }
  const found = new Map<string, { code: string; display?: string }>();
  if (local.size === 0) return found;
  const maps = await tx.search(parseSearchRequest('ConceptMap', [['source-system', system], ['source-code', [...local].map(escapeToken).join(',')], ['target-system', LOINC], ['status:not', 'retired'], ['_count', '100']]));
  const parsed = maps.entries.map((stored) => parseStored<ConceptMap>(stored));
  for (const code of local) {
    const matches = translate(parsed, { system, code }, LOINC).filter((m) => m.equivalence === 'equivalent' || m.equivalence === 'equal');
    const first = matches[0]?.concept;
    if (translated(matches) && first?.code) found.set(code, { code: first.code, ...(first.display ? { display: first.display } : {}) });
  }
  return found;
}

/** The resource with the LOINC coding its local code translates to added first (the local one kept). */
function withLoinc<T extends Resource>(resource: T, lab: string, loinc: ReadonlyMap<string, { code: string; display?: string }>): T {
  if (loinc.size === 0 || (resource.resourceType !== 'Observation' && resource.resourceType !== 'DiagnosticReport')) return resource;
  const codings = resource.code.coding ?? [];
  const local = codings.find((c) => c.system === labCodeSystem(lab) && c.code && loinc.has(c.code));
  if (!local || codings.some((c) => c.system === LOINC)) return resource;
  const mapped = loinc.get(local.code!)!;
  return { ...resource, code: { ...resource.code, coding: [{ system: LOINC, ...mapped }, ...codings] } };
}

/** Alerts for the critical results among what was filed, each report's to the organization that ordered it. */
async function raiseAlerts(tx: Repository, stored: readonly StoredResource[], lab: string): Promise<Communication[]> {
  const byReference = new Map(stored.map((s) => [`${s.resourceType}/${s.id}`, s]));
  const alerts: Communication[] = [];
  for (const entry of stored) {
    if (entry.resourceType !== 'DiagnosticReport') continue;
    const report = parseStored<DiagnosticReport>(entry);
    const results = (report.result ?? []).flatMap((r) => {
      const found = byReference.get(r.reference ?? '');
      return found ? [{ ...parseStored<Observation>(found), id: found.id }] : [];
    });
    // Who ordered it is looked up only when there is someone to tell: most reports hold nothing critical.
    if (criticalResults(results).length === 0) continue;
    const orderedBy = await orderingOrganization(tx, report);
    const alert = criticalResultAlert({ ...report, id: entry.id }, results, { lab: `Organization/${lab}`, ...(orderedBy ? { orderedBy } : {}) });
    if (alert) alerts.push(parseStored<Communication>(await tx.create(alert)));
  }
  return alerts;
}

/**
 * Who ordered a report's tests: the requesting organization of the ServiceRequest it is based on,
 * else the organization whose HL7 v2 facility id is the placer order number's namespace (OBR-2.2).
 */
async function orderingOrganization(tx: Repository, report: DiagnosticReport): Promise<string | undefined> {
  const request = /^ServiceRequest\/([A-Za-z0-9\-.]{1,64})$/.exec(report.basedOn?.[0]?.reference ?? '')?.[1];
  if (request) {
    const requester = parseStored<ServiceRequest>(await tx.read('ServiceRequest', request)).requester?.reference;
    if (requester?.startsWith('Organization/')) return requester;
  }
  const placer = report.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'PLAC'))?.assigner?.identifier;
  if (placer?.system !== HL7V2_FACILITY_SYSTEM || !placer.value) return undefined;
  const found = await tx.search(parseSearchRequest('Organization', [['identifier', `${HL7V2_FACILITY_SYSTEM}|${escapeToken(placer.value)}`]]));
  const organization = found.entries.length === 1 ? parseStored<Organization>(found.entries[0]!) : undefined;
  return organization ? `Organization/${organization.id}` : undefined;
}

/** A copy of `resource` with every `reference` naming a Bundle entry's fullUrl pointing at its resource. */
function resolveReferences<T extends Resource>(resource: T, ids: ReadonlyMap<string, string>): T {
  return JSON.parse(JSON.stringify(resource), (key, value: unknown) => (key === 'reference' && typeof value === 'string' ? (ids.get(value) ?? value) : value)) as T;
}
