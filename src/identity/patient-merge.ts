import type { Identifier, OperationOutcomeIssue, Patient, PatientLink, Provenance, ProvenanceAgent, Reference, Resource } from '@medplum/fhirtypes';
import { resourceTypes } from '../fhir/definitions.js';
import { UNIQUE_IDENTIFIER_SYSTEMS } from '../fhir/identifier-systems.js';
import { conflict, isFhirError, unprocessable } from '../fhir/outcome.js';
import { parseReference, searchParameters } from '../fhir/search-parameters.js';
import { mayReferTo, parseSearchRequest } from '../fhir/search-request.js';
import type { Repository, StoredResource } from '../store/repository.js';
import { buildRecord, findMergeRecord, type VersionChange } from './merge-record.js';
import { patientIdentifierIssues } from './patient-identifiers.js';
import { repointReferences, restoreReferences } from './reference-rewrite.js';
import { parseStored } from '../store/stored-json.js';

/**
 * Patient merge as FHIR R5 defines it (https://hl7.org/fhir/R5/patient-operation-merge.html),
 * on R4 resources: the source gets `active: false` and a `replaced-by` link to the target, the
 * target a `replaces` link to the source, and every resource that refers to the source is made
 * to refer to the target — so search and the target's compartment see all of the person's data.
 * All of it is one repository transaction, recorded as a Provenance (merge-record.ts) that
 * {@link unmergePatients} reads to undo it; the duplicates work list learns of it in the same
 * transaction.
 */
export interface MergeRequest {
  source: string;
  target: string;
  /** R5 `result-patient`: the target as it should read afterwards; without it the source's identifiers are added to the target. */
  resultPatient?: Patient;
  /** R5 `preview`: compute and return the outcome, write nothing. */
  preview?: boolean;
  /** Who merges, for the Provenance. */
  agent: ProvenanceAgent['who'];
  /** Who merges, as the duplicates work list records who decided (`client|subject`). */
  decidedBy: string;
}

export interface MergeResult {
  /** The Patients as they are (or, in a preview, would be) afterwards. */
  source: Patient;
  target: Patient;
  /** `Type/id` of each resource moved (or to be moved) from source to target. */
  moved: string[];
  /** The merge record; absent in a preview. */
  record?: Provenance & { id: string };
}

export interface UnmergeResult {
  source: Patient;
  target: Patient;
  /** `Type/id` of each resource moved back to the source. */
  restored: string[];
  record: Provenance & { id: string };
}

/** Resources that record what happened to the source: they must keep naming it. */
const HISTORICAL_TYPES = new Set(['Provenance', 'AuditEvent']);

/** Resources written per statement when moving references. */
const WRITE_BATCH = 500;

/** At most this many resources come back from `_revinclude` (the Repository's include limit). */
const INCLUDE_LIMIT = 1000;

export function mergePatients(repo: Repository, request: MergeRequest): Promise<MergeResult> {
  return repo.transaction(async (tx) => {
    if (request.source === request.target) throw refused('The source and the target are the same Patient', 'source-patient');
    const source = await patientFor(tx, request.source, 'source-patient');
    const target = await patientFor(tx, request.target, 'target-patient');
    const sourceMergedInto = replacedBy(source.patient);
    if (sourceMergedInto) throw refused(`Patient/${request.source} is already merged into ${sourceMergedInto}`, 'source-patient');
    const targetMergedInto = replacedBy(target.patient);
    if (targetMergedInto) throw refused(`Patient/${request.target} was itself merged into ${targetMergedInto}; merge into that one`, 'target-patient');
    if (target.patient.active === false) throw refused(`Patient/${request.target} is inactive and cannot survive a merge`, 'target-patient');
    if (request.resultPatient?.id !== undefined && request.resultPatient.id !== request.target) {
      throw refused(`result-patient must be the target, Patient/${request.target}`, 'result-patient');
    }

    const sourceAfter: Patient = { ...source.patient, active: false, link: [...(source.patient.link ?? []), link(request.target, 'replaced-by')] };
    const base: Patient = request.resultPatient
      ? { ...request.resultPatient, id: request.target }
      : withIdentifiers(target.patient, mergedIdentifiers(target.patient.identifier ?? [], source.patient.identifier ?? []));
    const targetAfter: Patient = {
      ...base,
      link: [...(base.link ?? []).filter((l) => !(l.type === 'replaces' && pointsAt(l.other, request.source))), link(request.source, 'replaces')],
    };
    const issues = patientIdentifierIssues(targetAfter);
    if (issues.length) throw unprocessable(issues.map((i) => ({ ...i, details: { text: `The merged target would break the identifier rules: ${i.details?.text}` } })));

    const moves: { stored: StoredResource; resource: Resource }[] = [];
    for (const stored of await referrersOf(tx, request.source)) {
      if ((stored.resourceType === 'Patient' && (stored.id === request.source || stored.id === request.target)) || HISTORICAL_TYPES.has(stored.resourceType)) continue;
      const resource = parseStored<Resource>(stored);
      if (repointReferences(resource, request.source, request.target) > 0) moves.push({ stored, resource });
    }
    const moved = moves.map(({ stored }) => `${stored.resourceType}/${stored.id}`);
    if (request.preview) return { source: sourceAfter, target: targetAfter, moved };

    // The source first: once inactive it holds no IIN, which the target may now take over.
    const sourceWritten = await tx.update({ ...sourceAfter, id: request.source }, source.version);
    const targetWritten = await tx.update({ ...targetAfter, id: request.target }, target.version);
    const movedChanges = await writeMoved(tx, moves);
    const record = buildRecord(
      'merge',
      {
        target: { reference: `Patient/${request.target}`, priorVersion: target.version, version: targetWritten.stored.versionId },
        source: { reference: `Patient/${request.source}`, priorVersion: source.version, version: sourceWritten.stored.versionId },
        moved: movedChanges,
      },
      request.agent,
    );
    const stored = await tx.create(record);
    await tx.duplicates.forgetMergedPatient(request.source, request.target, request.decidedBy);
    return {
      source: parseStored<Patient>(sourceWritten.stored),
      target: parseStored<Patient>(targetWritten.stored),
      moved,
      record: parseStored<Provenance & { id: string }>(stored),
    };
  });
}

/**
 * Undoes the latest merge of `source` into `target` (a Densaulyq operation; R5 defines none):
 * the resources it moved point at the source again where they still point at the target in the
 * place the merge changed, the links it added are removed, the source is as active as before,
 * and the target gets back its prior content — wholly if untouched since, else without the
 * identifiers the merge added. Recorded as a Provenance too, and the pair as rejected on the
 * duplicates work list, in the same transaction.
 */
export function unmergePatients(repo: Repository, request: Omit<MergeRequest, 'resultPatient' | 'preview'>): Promise<UnmergeResult> {
  return repo.transaction(async (tx) => {
    const source = await patientFor(tx, request.source, 'source-patient');
    const target = await patientFor(tx, request.target, 'target-patient');
    if (!pointsAt(source.patient.link?.find((l) => l.type === 'replaced-by')?.other, request.target)) {
      throw refused(`Patient/${request.source} is not merged into Patient/${request.target}`, 'source-patient');
    }
    const merge = await findMergeRecord(tx, request.source, request.target);
    if (!merge) throw refused(`No merge record of Patient/${request.source} into Patient/${request.target} was found`, 'source-patient');

    const targetPrior = parseStored<Patient>((await tx.vread('Patient', request.target, merge.target.priorVersion)));
    let targetAfter: Patient;
    if (target.version === merge.target.version) {
      targetAfter = { ...targetPrior, id: request.target };
    } else {
      const mergedTarget = parseStored<Patient>((await tx.vread('Patient', request.target, merge.target.version)));
      const before = new Set((targetPrior.identifier ?? []).map(identifierKey));
      const added = new Set((mergedTarget.identifier ?? []).map(identifierKey).filter((key) => !before.has(key)));
      targetAfter = {
        ...withIdentifiers(target.patient, (target.patient.identifier ?? []).filter((i) => !added.has(identifierKey(i)))),
        link: (target.patient.link ?? []).filter((l) => !(l.type === 'replaces' && pointsAt(l.other, request.source))),
      };
    }
    const sourcePrior = parseStored<Patient>((await tx.vread('Patient', request.source, merge.source.priorVersion)));
    const { active: _active, ...sourceRest } = source.patient;
    const sourceLinks = (source.patient.link ?? []).filter((l) => !(l.type === 'replaced-by' && pointsAt(l.other, request.target)));
    const sourceAfter: Patient = {
      ...sourceRest,
      ...(sourcePrior.active === undefined ? {} : { active: sourcePrior.active }),
      link: sourceLinks,
    };
    if (sourceLinks.length === 0) delete sourceAfter.link;
    if (targetAfter.link?.length === 0) delete targetAfter.link;

    const moves: { stored: StoredResource; resource: Resource }[] = [];
    for (const change of merge.moved) {
      const [type, id] = change.reference.split('/');
      const current = await currentOrNothing(tx, type, id);
      if (!current) continue;
      const prior = parseStored<Resource>((await tx.vread(type, id, change.priorVersion)));
      const resource = parseStored<Resource>(current);
      if (restoreReferences(resource, prior, request.source, request.target) > 0) moves.push({ stored: current, resource });
    }

    // The target first: it lets go of the identifiers the merge gave it before the source takes them back.
    const targetWritten = await tx.update({ ...targetAfter, id: request.target }, target.version);
    const sourceWritten = await tx.update({ ...sourceAfter, id: request.source }, source.version);
    const restoredChanges = await writeMoved(tx, moves);
    const record = buildRecord(
      'unmerge',
      {
        target: { reference: `Patient/${request.target}`, priorVersion: target.version, version: targetWritten.stored.versionId },
        source: { reference: `Patient/${request.source}`, priorVersion: source.version, version: sourceWritten.stored.versionId },
        moved: restoredChanges,
      },
      request.agent,
      merge.id,
    );
    const stored = await tx.create(record);
    // The merge is judged wrong: the finder must not propose the pair again.
    await tx.duplicates.rejectUnmergedPair(request.source, request.target, request.decidedBy);
    return {
      source: parseStored<Patient>(sourceWritten.stored),
      target: parseStored<Patient>(targetWritten.stored),
      restored: restoredChanges.map((c) => c.reference),
      record: parseStored<Provenance & { id: string }>(stored),
    };
  });
}

/** The Patient that merges into another, if it has been: its `replaced-by` link. */
export function replacedBy(patient: Patient): string | undefined {
  return patient.link?.find((l) => l.type === 'replaced-by')?.other?.reference;
}

function link(id: string, type: PatientLink['type']): PatientLink {
  return { other: { reference: `Patient/${id}` }, type };
}

function pointsAt(reference: Reference | undefined, id: string): boolean {
  const target = reference?.reference ? parseReference(reference.reference) : undefined;
  return target?.type === 'Patient' && target.id === id;
}

/** The Patient with these identifiers; none leaves the element out, as FHIR has no empty arrays. */
function withIdentifiers(patient: Patient, identifier: Identifier[]): Patient {
  const { identifier: _old, ...rest } = patient;
  return identifier.length ? { ...rest, identifier } : rest;
}

function identifierKey(identifier: Identifier): string {
  return `${identifier.system ?? ''}|${identifier.value ?? ''}`;
}

/**
 * The target's identifiers plus the source's it lacks, marked `old` (R5: the source's
 * identifiers are kept on the surviving record). A person has one IIN (or one SNILS…): the
 * source's value of such a system is added only when the target has none, and then as the
 * target's own, since it is now the living record's.
 */
function mergedIdentifiers(target: readonly Identifier[], source: readonly Identifier[]): Identifier[] {
  const unique = UNIQUE_IDENTIFIER_SYSTEMS.Patient ?? [];
  const have = new Set(target.map(identifierKey));
  const systems = new Set(target.map((i) => i.system));
  const added: Identifier[] = [];
  for (const identifier of source) {
    if (have.has(identifierKey(identifier))) continue;
    if (identifier.system && unique.includes(identifier.system)) {
      if (!systems.has(identifier.system)) added.push(identifier);
      continue;
    }
    added.push({ ...identifier, use: 'old' });
  }
  return [...target, ...added];
}

async function patientFor(repo: Repository, id: string, parameter: string): Promise<{ patient: Patient; version: string }> {
  try {
    const stored = await repo.read('Patient', id);
    return { patient: parseStored<Patient>(stored), version: stored.versionId };
  } catch (error) {
    if (isFhirError(error) && (error.status === 404 || error.status === 410)) throw refused(`${parameter}: Patient/${id} does not exist`, parameter);
    throw error;
  }
}

async function currentOrNothing(repo: Repository, type: string, id: string): Promise<StoredResource | undefined> {
  try {
    return await repo.read(type, id);
  } catch (error) {
    if (isFhirError(error) && (error.status === 404 || error.status === 410)) return undefined;
    throw error;
  }
}

/**
 * Every current resource with a reference to Patient/`id`, through the reference index. One
 * `_revinclude=*` answers it when it stays under the include limit; a record with more is
 * walked type by type, parameter by parameter, page by page.
 */
async function referrersOf(repo: Repository, id: string): Promise<StoredResource[]> {
  const first = await repo.search(parseSearchRequest('Patient', [['_id', id], ['_revinclude', '*']]));
  if (first.included.length < INCLUDE_LIMIT) return first.included;
  const found = new Map<string, StoredResource>();
  for (const [type, codes] of patientReferenceParameters()) {
    for (const code of codes) {
      let cursor: string | undefined;
      do {
        const request = parseSearchRequest(type, [[code, `Patient/${id}`], ['_count', '1000']]);
        request.cursor = cursor;
        const page = await repo.search(request);
        for (const entry of page.entries) found.set(`${entry.resourceType}/${entry.id}`, entry);
        cursor = page.nextCursor;
      } while (cursor);
    }
  }
  return [...found.values()];
}

let referenceParameters: Map<string, string[]> | undefined;

/** Per resource type, the reference search parameters that can point at a Patient. */
function patientReferenceParameters(): Map<string, string[]> {
  if (!referenceParameters) {
    referenceParameters = new Map();
    for (const type of resourceTypes) {
      const codes = Object.values(searchParameters(type))
        .flatMap((p) => (p.type === 'reference' && mayReferTo(p.target, 'Patient') && p.code ? [p.code] : []));
      if (codes.length) referenceParameters.set(type, codes);
    }
  }
  return referenceParameters;
}

/**
 * Writes the moved resources in batches; each must land on the version after the one read, or
 * another writer came in between and the whole merge is refused rather than losing that write.
 */
async function writeMoved(repo: Repository, moves: readonly { stored: StoredResource; resource: Resource }[]): Promise<VersionChange[]> {
  const changes: VersionChange[] = [];
  for (let start = 0; start < moves.length; start += WRITE_BATCH) {
    const batch = moves.slice(start, start + WRITE_BATCH);
    const written = await repo.writeMany(
      batch.map(({ stored, resource }) => ({ resource, id: stored.id })),
      'upsert',
    );
    if (written.refused.length) throw written.refused[0].error;
    const byKey = new Map(written.stored.map((s) => [`${s.resourceType}/${s.id}`, s.versionId]));
    for (const { stored } of batch) {
      const key = `${stored.resourceType}/${stored.id}`;
      const version = byKey.get(key);
      if (version !== String(Number(stored.versionId) + 1)) throw conflict(`${key} changed while the merge ran; try again`);
      changes.push({ reference: key, priorVersion: stored.versionId, version });
    }
  }
  return changes;
}

/** 422 with `business-rule`: the request is well formed, but the records do not allow it. */
function refused(text: string, parameter: string): ReturnType<typeof unprocessable> {
  const issue: OperationOutcomeIssue = { severity: 'error', code: 'business-rule', details: { text }, expression: [parameter] };
  return unprocessable([issue]);
}
