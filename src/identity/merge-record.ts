import type { Provenance, ProvenanceAgent } from '@medplum/fhirtypes';
import { parseReference } from '../fhir/search-parameters.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';

/**
 * A merge or unmerge is recorded as a Provenance (https://hl7.org/fhir/R4/provenance.html):
 * `target` the versions it wrote, `entity` (role `revision`) the versions they replaced, the
 * activity an ISO 21089 record lifecycle event. The record survives restarts, is searchable
 * (`Provenance?target=Patient/x`), and is what `$unmerge` reads to put things back.
 *
 * Order inside `target`: the target (surviving) Patient first, so the Provenance sits in its
 * compartment, then the source Patient, then every moved resource.
 */
export const LIFECYCLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle';

export interface VersionChange {
  /** `Type/id` */
  reference: string;
  /** The version before the merge or unmerge. */
  priorVersion: string;
  /** The version it wrote. */
  version: string;
}

export interface MergeRecord {
  id: string;
  target: VersionChange;
  source: VersionChange;
  moved: VersionChange[];
}

export function buildRecord(
  activity: 'merge' | 'unmerge',
  changes: { target: VersionChange; source: VersionChange; moved: readonly VersionChange[] },
  agent: ProvenanceAgent['who'],
  undoes?: string,
): Provenance {
  const all = [changes.target, changes.source, ...changes.moved];
  return {
    resourceType: 'Provenance',
    target: all.map((change) => ({ reference: `${change.reference}/_history/${change.version}` })),
    recorded: new Date().toISOString(),
    activity: {
      coding: [{ system: LIFECYCLE_SYSTEM, code: activity, display: activity === 'merge' ? 'Merge Record Lifecycle Event' : 'Unmerge Record Lifecycle Event' }],
    },
    agent: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'performer' }] }, who: agent }],
    entity: [
      ...all.map((change) => ({ role: 'revision' as const, what: { reference: `${change.reference}/_history/${change.priorVersion}` } })),
      ...(undoes ? [{ role: 'source' as const, what: { reference: `Provenance/${undoes}` } }] : []),
    ],
  };
}

/** The latest merge of Patient/`source` into Patient/`target`, or undefined. */
export async function findMergeRecord(repo: Repository, source: string, target: string): Promise<MergeRecord | undefined> {
  let cursor: string | undefined;
  do {
    const request = parseSearchRequest('Provenance', [['target', `Patient/${source}`], ['_sort', '-_lastUpdated'], ['_count', '50']]);
    request.cursor = cursor;
    const page = await repo.search(request);
    for (const entry of page.entries) {
      const record = readRecord(entry.id, parseStored<Provenance>(entry));
      if (record && parseReference(record.target.reference).id === target && parseReference(record.source.reference).id === source) return record;
    }
    cursor = page.nextCursor;
  } while (cursor);
  return undefined;
}

function readRecord(id: string, provenance: Provenance): MergeRecord | undefined {
  if (!provenance.activity?.coding?.some((c) => c.system === LIFECYCLE_SYSTEM && c.code === 'merge')) return undefined;
  const prior = new Map<string, string>();
  for (const entity of provenance.entity ?? []) {
    const split = splitVersioned(entity.what.reference);
    if (entity.role === 'revision' && split) prior.set(split.reference, split.version);
  }
  const changes: VersionChange[] = [];
  for (const target of provenance.target) {
    const split = splitVersioned(target.reference);
    const priorVersion = split && prior.get(split.reference);
    if (!split || !priorVersion) return undefined;
    changes.push({ ...split, priorVersion });
  }
  const [targetChange, sourceChange, ...moved] = changes;
  return targetChange && sourceChange ? { id, target: targetChange, source: sourceChange, moved } : undefined;
}

function splitVersioned(reference: string | undefined): { reference: string; version: string } | undefined {
  const match = reference ? /^([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})\/_history\/(\d+)$/.exec(reference) : null;
  return match ? { reference: match[1], version: match[2] } : undefined;
}
