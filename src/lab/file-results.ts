import { randomUUID } from 'node:crypto';
import type { Bundle, CodeableConcept, Communication, ConceptMap, DiagnosticReport, Observation, Organization, Resource, ServiceRequest, Specimen, Task } from '@medplum/fhirtypes';
import { HL7V2_FACILITY_SYSTEM } from '../fhir/identifier-systems.js';
import { badRequest, conflict, preconditionFailed } from '../fhir/outcome.js';
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
 * Writes the conditional updates of results Bundles (src/lab/oru-to-fhir.ts; one per message, of
 * messages filed together, src/lab/filing-groups.ts) through `repo`, as its caller, in one SQL
 * transaction (see `conditionalUpdates`). Each Bundle was validated where it came in (the MLLP
 * intake, `$file-results`), once. A FhirError (the lab may not record for a patient, say) rolls
 * all of it back. Both routes of results, HL7 v2 over MLLP and FHIR (`$file-results`),
 * come here: results coded only in the lab's own codes get the LOINC coding the lab's ConceptMap
 * gives them; a report whose placer order number (its PLAC identifier) names an order of this lab
 * for the same patient is `basedOn` it, with its results, and the lab takes the order on (a Task
 * it owns, src/access/referral-tasks.ts: accepting a referral, which opens the patient's record
 * to it when the ordering organization's relationship is verified); a critical result raises an
 * alert to the organization that ordered the test, written as the lab's, in the same transaction.
 */
export function fileResults(repo: Repository, bundles: readonly Bundle[], lab: string): Promise<Filed> {
  return repo.transaction(async (tx) => {
    const planned = await conditionalUpdates(tx, bundles);
    const orders = await ordersOf(tx, planned, lab);
    await takeOn(tx, planned, orders, lab);
    const stored = await writePlanned(tx, withOrders(await withLabLoinc(tx, lab, planned), orders));
    return { stored, alerts: await raiseAlerts(tx, stored, lab) };
  });
}

/** A Bundle entry's conditional update, planned: the id it lands on, and whether that resource exists. */
export interface PlannedWrite {
  resource: Resource;
  id: string;
  exists: boolean;
}

/** A results Bundle's entries as conditional updates: each resource, its type, and the identifier token it is matched on. */
function conditionalEntries(bundle: Bundle): { resource: Resource; resourceType: string; token: string; fullUrl?: string }[] {
  return (bundle.entry ?? []).map((entry) => {
    const [resourceType = '', query = ''] = (entry.request?.url ?? '').split('?', 2);
    const token = new URLSearchParams(query).get('identifier');
    if (entry.request?.method !== 'PUT' || !entry.resource || entry.resource.resourceType !== resourceType || !token) {
      throw badRequest(`An entry must be a conditional update of its resource on its identifier`, 'Bundle.entry.request');
    }
    return { resource: entry.resource, resourceType, token, ...(entry.fullUrl ? { fullUrl: entry.fullUrl } : {}) };
  });
}

/**
 * The conditional updates of transaction Bundles on each resource's identifier
 * (`PUT DiagnosticReport?identifier=…`), planned inside `tx`: each entry's criteria locked, then
 * matched by one search per type (one match is updated, a new version kept in its history; none is
 * created; more are a 412, as for any conditional update), `urn:uuid` references resolved, within
 * their Bundle, to the ids so chosen (https://hl7.org/fhir/R4/http.html#trules). Bundles planned
 * together must name different resources, else a 409 (src/lab/filing-groups.ts then files them
 * one by one). Written by `writePlanned`.
 */
export async function conditionalUpdates(tx: Repository, bundles: readonly Bundle[]): Promise<PlannedWrite[]> {
  const entries = bundles.flatMap((bundle, b) => conditionalEntries(bundle).map((entry) => ({ ...entry, bundle: b })));
  // One transaction cannot plan two Bundles' updates of one resource (each would create it): the group is filed one by one.
  const namedBy = new Map<string, number>();
  for (const { resourceType, token, bundle } of entries) {
    const key = `${resourceType}?identifier=${token}`;
    if ((namedBy.get(key) ?? bundle) !== bundle) throw conflict(`${key} is named by two of the Bundles filed together`);
    namedBy.set(key, bundle);
  }
  // Every criteria locked (one statement), then one search per type for all its identifiers (a report has many results).
  await tx.lockAllCriteria(entries.map((e) => [e.resourceType, new URLSearchParams([['identifier', e.token]])] as const));
  const holders = new Map<string, string[]>();
  for (const resourceType of new Set(entries.map((e) => e.resourceType))) {
    const tokens = entries.filter((e) => e.resourceType === resourceType).map((e) => e.token);
    const found = await tx.search({ ...parseSearchRequest(resourceType, [['identifier', tokens.join(',')]]), count: tokens.length * 2 });
    for (const stored of found.entries) {
      for (const identifier of parseStored<DiagnosticReport | Observation | Specimen | ServiceRequest>(stored).identifier ?? []) {
        const token = `${identifier.system}|${escapeToken(identifier.value ?? '')}`;
        holders.set(`${resourceType} ${token}`, [...(holders.get(`${resourceType} ${token}`) ?? []), stored.id]);
      }
    }
  }
  const ids = bundles.map(() => new Map<string, string>());
  const planned = entries.map(({ resource, resourceType, token, fullUrl, bundle }) => {
    const matches = holders.get(`${resourceType} ${token}`) ?? [];
    if (matches.length > 1) throw preconditionFailed(`${resourceType}?identifier=${token} matches more than one resource`);
    const id = matches[0] ?? randomUUID();
    if (fullUrl) ids[bundle]!.set(fullUrl, `${resourceType}/${id}`);
    return { resource, id, exists: matches.length === 1, bundle };
  });
  return planned.map(({ bundle, ...p }) => ({ ...p, resource: resolveReferences(p.resource, ids[bundle]!) }));
}

/** Writes what `conditionalUpdates` planned: new resources (most) together, one statement; the others one by one, each a new version. */
export async function writePlanned(tx: Repository, planned: readonly PlannedWrite[]): Promise<StoredResource[]> {
  const created = await tx.writeMany(planned.filter((r) => !r.exists), 'create');
  const updated: StoredResource[] = [];
  for (const { resource, id } of planned.filter((r) => r.exists)) updated.push((await tx.update({ ...resource, id })).stored);
  return [...created.stored, ...updated];
}

/** The PLAC identifier of a report, as a search token, when it names its namespace (else no order can be told apart). */
function placerToken(report: DiagnosticReport): string | undefined {
  const placer = report.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'PLAC') && i.system && i.value);
  return placer ? `${placer.system}|${escapeToken(placer.value!)}` : undefined;
}

/**
 * The orders the reports among `resources` are results of (one search for all their placer order
 * numbers), by report: a ServiceRequest with that identifier this lab is to perform, for the
 * report's patient; a number naming someone else's order, or none the lab can see, links nothing.
 */
async function ordersOf(tx: Repository, planned: readonly PlannedWrite[], lab: string): Promise<Map<string, StoredOrder>> {
  const reports = planned.flatMap(({ resource, id }) => (resource.resourceType === 'DiagnosticReport' && placerToken(resource) ? [{ ...resource, id }] : []));
  const orders = new Map<string, StoredOrder>();
  // A FHIR lab's client without the right to search orders files its results unlinked, as before orders came.
  if (reports.length === 0 || !tx.permits('s', 'ServiceRequest')) return orders;
  const tokens = [...new Set(reports.map((r) => placerToken(r)!))];
  const found = await tx.search({ ...parseSearchRequest('ServiceRequest', [['identifier', tokens.join(',')]]), count: tokens.length * 2 });
  const requests = found.entries.map((stored) => ({ ...parseStored<ServiceRequest>(stored), id: stored.id }));
  for (const report of reports) {
    const token = placerToken(report);
    const order = requests.find(
      (r) =>
        r.subject?.reference === report.subject?.reference &&
        r.performer?.some((p) => p.reference === `Organization/${lab}`) &&
        r.identifier?.some((i) => `${i.system}|${escapeToken(i.value ?? '')}` === token),
    );
    if (order) orders.set(report.id, order);
  }
  return orders;
}

type StoredOrder = ServiceRequest & { id: string };

/** Order statuses the lab still works to (https://hl7.org/fhir/R4/valueset-request-status.html). */
const OPEN_ORDER = new Set<ServiceRequest['status']>(['active', 'on-hold']);

/** Report statuses that end the lab's work on an order. */
const REPORTED = new Set<DiagnosticReport['status']>(['final', 'corrected', 'amended']);
/** Task statuses in which the lab has taken an order on (https://hl7.org/fhir/R4/task.html#statemachine). */
const TAKEN = new Set<Task['status']>(['accepted', 'in-progress', 'on-hold', 'completed']);

/**
 * The lab's acceptance of each open order it files results for: a Task it owns for the order's
 * patient, created in progress when it has none (one search for all of them), completed once the
 * reports on it are final. The door verifies the care relationship the Task claims when the
 * organization that ordered has a verified one; completed, it lasts the referral's grace period
 * (src/store/access-facts.ts), time for a correction, rather than for good.
 */
async function takeOn(tx: Repository, planned: readonly PlannedWrite[], orders: ReadonlyMap<string, StoredOrder>, lab: string): Promise<void> {
  const open = [...new Set(orders.values())].filter((o) => OPEN_ORDER.has(o.status) && o.subject?.reference);
  if (open.length === 0 || !(['c', 'u', 's'] as const).every((p) => tx.permits(p, 'Task'))) return;
  const reported = new Set(open.map((o) => `ServiceRequest/${o.id}`));
  for (const { resource, id } of planned) {
    const order = orders.get(id);
    if (order && resource.resourceType === 'DiagnosticReport' && !REPORTED.has(resource.status)) reported.delete(`ServiceRequest/${order.id}`);
  }
  const found = await tx.search({
    ...parseSearchRequest('Task', [['focus', open.map((o) => `ServiceRequest/${o.id}`).join(',')], ['owner', `Organization/${lab}`]]),
    count: open.length * 4,
  });
  const taken = new Map(found.entries.map((e) => ({ ...parseStored<Task>(e), id: e.id })).filter((t) => TAKEN.has(t.status)).map((t) => [t.focus?.reference, t]));
  for (const order of open) {
    const focus = `ServiceRequest/${order.id}`;
    let task = taken.get(focus);
    if (!task) {
      const created = await tx.create({
        resourceType: 'Task',
        status: 'in-progress',
        intent: 'order',
        focus: { reference: focus },
        for: order.subject!,
        ...(order.requester ? { requester: order.requester } : {}),
        owner: { reference: `Organization/${lab}` },
        authoredOn: new Date().toISOString(),
      });
      task = { ...parseStored<Task>(created), id: created.id };
    }
    if (task.status === 'in-progress' && reported.has(focus)) await tx.update({ ...task, id: task.id!, status: 'completed', executionPeriod: { ...task.executionPeriod, end: new Date().toISOString() } });
  }
}

/** Each report with its order, and the report's results, `basedOn` the order. */
function withOrders(planned: readonly PlannedWrite[], orders: ReadonlyMap<string, StoredOrder>): PlannedWrite[] {
  const basedOn = new Map<string, string>();
  for (const { resource, id } of planned) {
    const order = orders.get(id);
    if (!order || resource.resourceType !== 'DiagnosticReport') continue;
    basedOn.set(`DiagnosticReport/${id}`, `ServiceRequest/${order.id}`);
    for (const result of resource.result ?? []) if (result.reference) basedOn.set(result.reference, `ServiceRequest/${order.id}`);
  }
  return planned.map((p) => {
    const order = basedOn.get(`${p.resource.resourceType}/${p.id}`);
    if (!order || (p.resource.resourceType !== 'DiagnosticReport' && p.resource.resourceType !== 'Observation')) return p;
    return { ...p, resource: { ...p.resource, basedOn: [{ reference: order }] } };
  });
}

/** The planned writes, each coded only in the lab's own codes with the LOINC coding the lab's ConceptMaps give it added. */
export async function withLabLoinc(tx: Repository, lab: string, planned: readonly PlannedWrite[]): Promise<PlannedWrite[]> {
  const loinc = await loincOfLocalCodes(tx, lab, planned.map((p) => p.resource));
  return planned.map((p) => ({ ...p, resource: withLoinc(p.resource, lab, loinc) }));
}

/** The code of a resource the lab's ConceptMaps may map: a result's, a report's, an order's. */
function codeOf(resource: Resource): CodeableConcept | undefined {
  return resource.resourceType === 'Observation' || resource.resourceType === 'DiagnosticReport' || resource.resourceType === 'ServiceRequest' ? resource.code : undefined;
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
    const codings = codeOf(resource)?.coding ?? [];
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
  const code = codeOf(resource);
  if (loinc.size === 0 || !code) return resource;
  const codings = code.coding ?? [];
  const local = codings.find((c) => c.system === labCodeSystem(lab) && c.code && loinc.has(c.code));
  if (!local || codings.some((c) => c.system === LOINC)) return resource;
  const mapped = loinc.get(local.code!)!;
  return { ...resource, code: { ...code, coding: [{ system: LOINC, ...mapped }, ...codings] } };
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
