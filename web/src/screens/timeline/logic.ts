import type { Bundle, DiagnosticReport, DocumentReference, Encounter, Reference } from '@medplum/fhirtypes';

/** The kinds of entry the timeline shows, each one resource type searched on the server. */
export const KINDS = ['encounter', 'document', 'report'] as const;
export type Kind = (typeof KINDS)[number];
export type TimelineResource = Encounter | DocumentReference | DiagnosticReport;

export const RESOURCE_TYPE = { encounter: 'Encounter', document: 'DocumentReference', report: 'DiagnosticReport' } as const satisfies Record<Kind, TimelineResource['resourceType']>;

/**
 * The search parameter naming an entry's organization: the encounter's service provider, the
 * document's author, the report's performer (https://hl7.org/fhir/R4/searchparameter-registry.html).
 */
export const ORGANIZATION_PARAMETER: Record<Kind, string> = { encounter: 'service-provider', document: 'author', report: 'performer' };

/** The server-side search of one kind's first page, newest first, narrowed to an organization when one is chosen. */
export function timelineSearch(kind: Kind, patient: string, organization: string | undefined, count: number): Record<string, string | number> {
  return { patient, _sort: '-date', _count: count, ...(organization ? { [ORGANIZATION_PARAMETER[kind]]: `Organization/${organization}` } : {}) };
}

export function kindOf(resource: TimelineResource): Kind {
  return resource.resourceType === 'Encounter' ? 'encounter' : resource.resourceType === 'DocumentReference' ? 'document' : 'report';
}

/** When the entry happened: the encounter's start, the document's date, the report's effective time. */
export function entryDate(resource: TimelineResource): string | undefined {
  switch (resource.resourceType) {
    case 'Encounter':
      return resource.period?.start ?? resource.period?.end;
    case 'DocumentReference':
      return resource.date ?? resource.context?.period?.start;
    case 'DiagnosticReport':
      return resource.effectiveDateTime ?? resource.effectivePeriod?.start ?? resource.issued;
  }
}

/** The organizations an entry names (the references its kind is searched by). */
export function entryOrganizations(resource: TimelineResource): Reference[] {
  const refs: (Reference | undefined)[] = resource.resourceType === 'Encounter' ? [resource.serviceProvider] : resource.resourceType === 'DocumentReference' ? [...(resource.author ?? []), resource.custodian] : (resource.performer ?? []);
  return refs.filter((r): r is Reference => r?.reference?.startsWith('Organization/') === true);
}

/** Entries of several kinds merged newest first (undated last); the same resource only once. */
export function mergeNewestFirst(resources: readonly TimelineResource[]): TimelineResource[] {
  const seen = new Set<string>();
  const unique = resources.filter((r) => {
    const key = `${r.resourceType}/${r.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => (entryDate(b) ?? '').localeCompare(entryDate(a) ?? ''));
}

/** The `next` link of a search page, if there are more. */
export function nextLink(bundle: Bundle): string | undefined {
  return bundle.link?.find((l) => l.relation === 'next')?.url;
}

/** One kind's search so far: the entries read and the link to its next page. */
export interface Stream {
  entries: TimelineResource[];
  next?: string;
}

/**
 * The entries that can be shown in order: newest first, down to the oldest date every kind with
 * more pages has already reached, so an entry of a later page never appears above one shown.
 */
export function visibleEntries(streams: readonly Stream[]): { entries: TimelineResource[]; more: boolean } {
  const merged = mergeNewestFirst(streams.flatMap((s) => s.entries));
  const frontiers = streams.filter((s) => s.next).map((s) => entryDate(s.entries[s.entries.length - 1]!) ?? '');
  const more = frontiers.length > 0;
  if (!more) return { entries: merged, more };
  const frontier = frontiers.reduce((a, b) => (a > b ? a : b));
  return { entries: merged.filter((r) => (entryDate(r) ?? '') >= frontier), more };
}
