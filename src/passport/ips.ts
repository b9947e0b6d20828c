import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Composition, CompositionSection, Device, HumanName, Organization, Patient, Practitioner, Reference, Resource } from '@medplum/fhirtypes';
import { parseFilter, parseSearchRequest, type SearchRequest } from '../fhir/search-request.js';
import type { Locale } from '../fhir/validate.js';
import type { Repository, StoredResource } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { statusText, tableNarrative } from './ips-narrative.js';
import { detach, isVersion, literalReferences, targetOf } from './ips-references.js';
import { deviceStatements, type RecordPools, type Resolve, SECTIONS, sectionNarrative, selectSections } from './ips-sections.js';
import { formatDate, text } from './ips-text.js';

const IPS = 'http://hl7.org/fhir/uv/ips/StructureDefinition';
export const IPS_BUNDLE_PROFILE = `${IPS}/Bundle-uv-ips`;
export const IPS_COMPOSITION_PROFILE = `${IPS}/Composition-uv-ips`;
const LOINC = 'http://loinc.org';
const RFC_3986 = 'urn:ietf:rfc:3986';
const V3_ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const V3_CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';

/** The types of the patient's record the summary reads in one search; Observations and reports are read apart, by date. */
const RECORD_QUERIES: readonly [string, [string, string][]][] = [
  ['Condition', []],
  ['AllergyIntolerance', []],
  ['MedicationStatement', []],
  ['MedicationRequest', [['status', 'active,on-hold']]],
  ['Immunization', []],
  ['Procedure', []],
  ['Device', []],
  ['DeviceUseStatement', []],
  ['CarePlan', [['status', 'active']]],
  ['ClinicalImpression', []],
  ['Consent', []],
];
/** How many resources each search reads at most: the summary is bounded whatever the record's size. */
const RECORD_LIMIT = 1000;
const OBSERVATION_LIMIT = 500;
const REPORT_LIMIT = 200;
/**
 * Resources outside the patient's compartment that entries refer to (who performed, which
 * medicine, where), read so the document resolves them: shared registry resources only.
 */
const SHARED_TYPES = new Set(['Practitioner', 'PractitionerRole', 'Organization', 'Medication', 'Substance', 'Location']);
/** Resources of the patient's own record that entries refer to (a report's results, the device in use), taken from what was read. */
const RECORD_TYPES = new Set(['Observation', 'Device']);

interface Entry {
  fullUrl: string;
  resource: Resource;
}

/**
 * The International Patient Summary of a patient (https://hl7.org/fhir/uv/ips/): a `document`
 * Bundle whose first entry is the IPS Composition, then the Patient, the author and every resource
 * the sections list or those refer to, each with its fullUrl, so no reference in it dangles.
 *
 * Everything is read through `repo`, the caller's door: a Patient the caller may not see is the
 * read's 404 (or 403), and what consent or the care relationship hides from them is not in the
 * summary. A bounded number of searches (the Patient, the record, its Observations and reports,
 * the shared resources they refer to), whatever the record's size. The narrative is written in
 * `locale`, each section's as one table or one paragraph (src/passport/ips-narrative.ts).
 */
export async function patientSummary(repo: Repository, patientId: string, options: { locale: Locale; baseUrl: string; now?: Date }): Promise<Bundle> {
  const { locale, baseUrl } = options;
  const now = options.now ?? new Date();
  const patient = parseStored<Patient>(await repo.read('Patient', patientId));
  const pools = await readRecord(repo, patientId);

  const entries = new Map<string, Entry>();
  const add = (resource: Resource & { id: string }, fullUrl = `${baseUrl}/${resource.resourceType}/${resource.id}`) =>
    entries.set(`${resource.resourceType}/${resource.id}`, { fullUrl, resource });
  add(patient as Patient & { id: string });

  const sections = selectSections(pools);
  const statements = deviceStatements(pools, patientId, baseUrl).map((statement) => ({ ...statement, id: randomUUID() }));
  sections.devices.push(...statements);
  for (const statement of statements) add(statement, `urn:uuid:${statement.id}`);
  for (const list of Object.values(sections)) for (const resource of list) if (!entries.has(keyOf(resource))) add(resource as Resource & { id: string });

  await resolveReferences(repo, patientId, entries, pools, baseUrl);
  const resolve: Resolve = (reference) => {
    const target = reference?.reference ? targetOf(reference.reference, baseUrl) : undefined;
    return target ? entries.get(target.key)?.resource : undefined;
  };

  let author = authorOf(patient, resolve);
  if (!author) {
    const device = platformDevice(locale);
    add(device, `urn:uuid:${device.id}`);
    author = device;
  }
  const fullUrlOf = (resource: Resource) => entries.get(keyOf(resource))!.fullUrl;

  const compositionId = randomUUID();
  const documentDate = now.toISOString();
  const composition: Composition = {
    resourceType: 'Composition',
    id: compositionId,
    meta: { profile: [IPS_COMPOSITION_PROFILE] },
    language: locale,
    text: tableNarrative(
      [text('patient', locale), text('birthDate', locale), text('gender', locale), text('documentDate', locale), text('author', locale)],
      [[nameOf(patient.name), formatDate(patient.birthDate, locale), statusText(patient.gender, locale), formatDate(documentDate, locale), displayOf(author, locale)]],
    ),
    identifier: { system: RFC_3986, value: `urn:uuid:${compositionId}` },
    status: 'final',
    type: { coding: [{ system: LOINC, code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: fullUrlOf(patient), display: nameOf(patient.name) },
    date: documentDate,
    author: [{ reference: fullUrlOf(author), display: displayOf(author, locale) }],
    title: text('title', locale),
    confidentiality: confidentiality([...entries.values()].map((e) => e.resource)),
    ...(author.resourceType === 'Organization' ? { custodian: { reference: fullUrlOf(author) } } : {}),
    section: SECTIONS.flatMap((definition): CompositionSection[] => {
      const listed = sections[definition.key];
      if (listed.length === 0 && !definition.required) return [];
      const section: CompositionSection = {
        title: text(definition.key, locale),
        code: { coding: [{ system: LOINC, code: definition.code, display: definition.display }] },
        text: sectionNarrative(definition.key, listed, locale, resolve),
      };
      if (listed.length > 0) section.entry = listed.map((resource) => ({ reference: fullUrlOf(resource) }));
      else section.emptyReason = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'unavailable', display: 'Unavailable' }], text: text('noInformation', locale) };
      return [section];
    }),
  };

  const bundleId = randomUUID();
  const patientEntry = entries.get(`Patient/${patientId}`)!;
  const ordered: BundleEntry[] = [
    { fullUrl: `urn:uuid:${compositionId}`, resource: composition },
    patientEntry,
    ...[...entries.values()].filter((entry) => entry !== patientEntry),
  ];
  return {
    resourceType: 'Bundle',
    id: bundleId,
    meta: { profile: [IPS_BUNDLE_PROFILE] },
    language: locale,
    identifier: { system: RFC_3986, value: `urn:uuid:${bundleId}` },
    type: 'document',
    timestamp: documentDate,
    entry: ordered,
  };
}

function keyOf(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}`;
}

/** The record's resources the summary chooses from: three searches in the patient's compartment, run together. */
async function readRecord(repo: Repository, patientId: string): Promise<RecordPools> {
  const pools: RecordPools = {
    Condition: [],
    AllergyIntolerance: [],
    MedicationStatement: [],
    MedicationRequest: [],
    Immunization: [],
    Procedure: [],
    Device: [],
    DeviceUseStatement: [],
    CarePlan: [],
    ClinicalImpression: [],
    Consent: [],
    Observation: [],
    DiagnosticReport: [],
  };
  const readable = RECORD_QUERIES.filter(([type]) => repo.permits('s', type));
  const searches: Promise<StoredResource[]>[] = [];
  if (readable.length > 0) searches.push(search(repo, multiTypeSearch(readable, patientId)));
  for (const [type, limit] of [['Observation', OBSERVATION_LIMIT], ['DiagnosticReport', REPORT_LIMIT]] as const) {
    if (!repo.permits('s', type)) continue;
    const request = parseSearchRequest(type, [['_sort', '-date'], ['_count', String(limit)]]);
    request.compartments = [patientId];
    searches.push(search(repo, request));
  }
  for (const stored of (await Promise.all(searches)).flat()) {
    const pool = pools[stored.resourceType as keyof RecordPools] as Resource[] | undefined;
    pool?.push(parseStored(stored));
  }
  return pools;
}

async function search(repo: Repository, request: SearchRequest): Promise<StoredResource[]> {
  return (await repo.search(request)).entries;
}

/** One search of several types in the patient's compartment, each with its own filters, most recently changed first. */
function multiTypeSearch(queries: readonly [string, [string, string][]][], patientId: string): SearchRequest {
  const types = queries.map(([resourceType, query]) => ({ resourceType, filters: parseSearchRequest(resourceType, query).filters }));
  return {
    resourceType: '*',
    types,
    filters: [],
    count: RECORD_LIMIT,
    sort: [{ code: '_lastUpdated', descending: true }],
    total: 'none',
    includes: [],
    compartments: [patientId],
    applied: [
      ['_type', types.map((t) => t.resourceType).join(',')],
      ['_count', String(RECORD_LIMIT)],
    ],
  };
}

/**
 * Brings into the document what its entries refer to: resources of the patient's record already
 * read, then the shared resources (practitioners, organizations, medicines, places) in one search.
 * A reference the document still cannot resolve (an encounter, something the caller may not see)
 * is kept as a description only.
 */
async function resolveReferences(repo: Repository, patientId: string, entries: Map<string, Entry>, pools: RecordPools, baseUrl: string): Promise<void> {
  const read = new Map<string, Resource>();
  for (const pool of Object.values(pools) as Resource[][]) for (const resource of pool) read.set(keyOf(resource), resource);
  const wanted = new Map<string, Set<string>>();
  const queue = [...entries.values()].map((e) => e.resource);
  while (queue.length > 0) {
    for (const reference of literalReferences(queue.pop())) {
      const target = targetOf(reference.reference!, baseUrl);
      if (!target || entries.has(target.key)) continue;
      const known = RECORD_TYPES.has(target.type) ? read.get(target.key) : undefined;
      if (known && isVersion(known, target)) {
        entries.set(target.key, { fullUrl: `${baseUrl}/${target.key}`, resource: known });
        queue.push(known);
      } else if (SHARED_TYPES.has(target.type) && repo.permits('s', target.type)) {
        wanted.set(target.type, (wanted.get(target.type) ?? new Set()).add(target.id));
      }
    }
  }
  if (wanted.size > 0) {
    const request: SearchRequest = {
      resourceType: '*',
      types: [...wanted].map(([resourceType, ids]) => ({ resourceType, filters: [parseFilter(resourceType, '_id', [...ids].join(','))] })),
      filters: [],
      count: RECORD_LIMIT,
      sort: [],
      total: 'none',
      includes: [],
      applied: [['_type', [...wanted.keys()].join(',')]],
    };
    for (const stored of await search(repo, request)) {
      // Shared resources only: one that belongs to someone's record is not this summary's to carry.
      if (stored.compartment && stored.compartment !== patientId) continue;
      entries.set(`${stored.resourceType}/${stored.id}`, { fullUrl: `${baseUrl}/${stored.resourceType}/${stored.id}`, resource: parseStored(stored) });
    }
  }
  for (const { resource } of entries.values()) {
    for (const reference of literalReferences(resource)) {
      const target = targetOf(reference.reference!, baseUrl);
      const found = target ? entries.get(target.key) : undefined;
      if (!found || !isVersion(found.resource, target!)) detach(reference);
    }
  }
}

/**
 * Who answers for the summary's content: the patient's primary-care organization (or practitioner)
 * when the document holds it; otherwise none is named and the platform that assembled it is.
 */
function authorOf(patient: Patient, resolve: Resolve): Resource | undefined {
  const candidates: (Reference | undefined)[] = [
    ...(patient.generalPractitioner ?? []).filter((r) => r.reference?.includes('Organization/')),
    patient.managingOrganization,
    ...(patient.generalPractitioner ?? []).filter((r) => r.reference?.includes('Practitioner/')),
  ];
  for (const reference of candidates) {
    const resource = resolve(reference);
    if (resource?.resourceType === 'Organization' || resource?.resourceType === 'Practitioner') return resource;
  }
  return undefined;
}

/** The platform as the author of a summary it assembled by itself, as IPS allows for generated documents. */
function platformDevice(locale: Locale): Device & { id: string } {
  return { resourceType: 'Device', id: randomUUID(), deviceName: [{ name: text('platform', locale), type: 'user-friendly-name' }] };
}

function nameOf(names: readonly HumanName[] | undefined): string {
  const name = names?.find((n) => n.use === 'official') ?? names?.[0];
  if (!name) return '';
  return name.text ?? [...(name.given ?? []), name.family].filter(Boolean).join(' ');
}

function displayOf(resource: Resource, locale: Locale): string {
  switch (resource.resourceType) {
    case 'Organization':
      return (resource as Organization).name ?? '';
    case 'Practitioner':
      return nameOf((resource as Practitioner).name);
    case 'Device':
      return (resource as Device).deviceName?.[0]?.name ?? text('platform', locale);
    default:
      return '';
  }
}

const CONFIDENTIALITY_ORDER = ['U', 'L', 'M', 'N', 'R', 'V'] as const;

/**
 * The document's confidentiality (v3 Confidentiality): normal health information (N), unless an
 * entry carries a higher confidentiality label, or a sensitivity label (HIV, mental health…),
 * which makes the document restricted (R).
 */
function confidentiality(resources: readonly Resource[]): (typeof CONFIDENTIALITY_ORDER)[number] {
  let level = CONFIDENTIALITY_ORDER.indexOf('N');
  for (const resource of resources) {
    for (const label of resource.meta?.security ?? []) {
      const code = label.system === V3_ACT_CODE ? 'R' : label.system === V3_CONFIDENTIALITY ? label.code : undefined;
      const index = CONFIDENTIALITY_ORDER.indexOf(code as (typeof CONFIDENTIALITY_ORDER)[number]);
      if (index > level) level = index;
    }
  }
  return CONFIDENTIALITY_ORDER[level]!;
}
