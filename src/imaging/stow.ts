import { randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { isFhirError } from '../fhir/outcome.js';
import type { IndexedAlready, NewInstance } from '../store/dicom-index.js';
import type { Repository } from '../store/repository.js';
import { type DicomJson, type InstanceHead, TruncatedHead, firstText, readInstanceHead } from './dicom-json.js';
import { type ObjectStore, moveObject, sameBytes } from './object-store.js';
import type { MultipartPart } from './multipart.js';
import { studyPatient, writeImagingStudy } from './imaging-study.js';

/**
 * STOW-RS (PS3.18 10.5): each part of the request is written to the object store as it arrives,
 * and only its head (up to the pixel data) is parsed; then it is indexed, up to BATCH parts in one
 * transaction, and each study touched gets its ImagingStudy through the door. The answer is the
 * Store Instances Response Module (PS3.18 10.5.3, table 10.5.3-1) in DICOM JSON.
 */

/** Failure reasons of PS3.18 table 10.5.3-2 (and PS3.4 B.2.3 for the duplicate). */
export const FAILURE = {
  outOfResources: 0xa700,
  doesNotMatchSopClass: 0xa900,
  cannotUnderstand: 0xc000,
  processingFailure: 0x0110,
  notAuthorized: 0x0124,
  duplicateSopInstance: 0x0111,
} as const;

/**
 * Bytes of each part kept in memory for parsing (the attributes before the pixel data are a few
 * KB); a longer head is read back from the store. Kept small: what is kept is copied again to parse.
 */
const HEAD_BYTES = 64 << 10;
/** The longest head read back: metadata before the pixel data beyond this is not an image we take. */
const MAX_HEAD_BYTES = 64 << 20;
/** Parts indexed in one transaction: a request's instances commit together, up to this many at a time. */
const BATCH = 32;

export interface ImagingContext {
  repo: Repository;
  store: ObjectStore;
  /** The DICOMweb base URL as the client reaches it (`https://host/dicom-web`). */
  base: string;
}

interface Stored {
  sopClassUid: string;
  sopInstanceUid: string;
  studyUid: string;
  seriesUid: string;
  /** False when the same instance was stored already (an idempotent resend). */
  created: boolean;
}

interface Failed {
  sopClassUid?: string;
  sopInstanceUid?: string;
  reason: number;
  /** What the sender can read about it (ErrorComment). */
  comment: string;
}

export interface StowResult {
  status: 200 | 202 | 409;
  body: DicomJson;
  /** Warning header values (RFC 7234 section 5.5, as PS3.18 8.3.5 uses them). */
  warnings: string[];
}

/** The object key of an instance (the contract's layout). */
export function instanceKey(study: string, series: string, sop: string): string {
  return `studies/${study}/${series}/${sop}.dcm`;
}

/** A UID as PS3.5 9.1 allows: digits and dots, at most 64 characters. */
const UID = /^[0-9]+(\.[0-9]+)*$/;

export async function storeInstances(parts: AsyncIterable<MultipartPart>, expectedStudy: string | undefined, context: ImagingContext): Promise<StowResult> {
  context.repo.dicom.assertMayStore();
  const stored: Stored[] = [];
  const failed: Failed[] = [];
  const received: Promise<Received | Failed>[] = [];
  const index = async () => {
    const batch: Received[] = [];
    for (const outcome of await Promise.all(received.splice(0))) {
      if ('reason' in outcome) failed.push(outcome);
      else batch.push(outcome);
    }
    for (const outcome of await indexBatch(batch, context)) {
      if ('reason' in outcome) failed.push(outcome);
      else stored.push(outcome);
    }
  };
  try {
    for await (const part of parts) {
      const type = (part.headers['content-type'] ?? 'application/dicom').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/dicom') {
        for await (const _ of part.body);
        failed.push({ reason: FAILURE.cannotUnderstand, comment: `A part of type ${type}: this server stores application/dicom parts` });
        continue;
      }
      received.push((await receivePart(part.body, expectedStudy, context)).done);
      if (received.length >= BATCH) await index();
    }
    await index();
  } catch (error) {
    // A body broken off after whole parts: those are stored, so their studies are linked (or queued) before the 400.
    try {
      await index();
    } finally {
      await linkStudies(stored, failed, context);
    }
    throw error;
  }
  const warnings = await linkStudies(stored, failed, context);
  const item = (s: { sopClassUid?: string | undefined; sopInstanceUid?: string | undefined }): DicomJson => ({
    ...(s.sopClassUid ? { '00081150': { vr: 'UI', Value: [s.sopClassUid] } } : {}),
    ...(s.sopInstanceUid ? { '00081155': { vr: 'UI', Value: [s.sopInstanceUid] } } : {}),
  });
  const studies = [...new Set(stored.map((s) => s.studyUid))];
  const body: DicomJson = {
    ...(studies.length === 1 ? { '00081190': { vr: 'UR', Value: [`${context.base}/studies/${studies[0]}`] } } : {}),
    '00081199': {
      vr: 'SQ',
      ...(stored.length
        ? { Value: stored.map((s) => ({ ...item(s), '00081190': { vr: 'UR', Value: [`${context.base}/studies/${s.studyUid}/series/${s.seriesUid}/instances/${s.sopInstanceUid}`] } })) }
        : {}),
    },
    ...(failed.length
      ? {
          '00081198': {
            vr: 'SQ',
            Value: failed.map((f) => ({ ...item(f), '00081197': { vr: 'US', Value: [f.reason] }, '00000902': { vr: 'LO', Value: [f.comment.slice(0, 64)] } })),
          },
        }
      : {}),
  };
  for (const f of failed) warnings.push(`299 densaulyq "${f.sopInstanceUid ?? 'a part'}: ${f.comment.replace(/"/g, "'")}"`);
  const status = failed.length === 0 ? 200 : stored.length === 0 ? 409 : 202;
  return { status, body, warnings };
}

/**
 * Links each study this request stored into (its patient, its ImagingStudy); what the door
 * refuses is taken back and moved from `stored` to `failed`. Returns the warnings for the sender.
 */
async function linkStudies(stored: Stored[], failed: Failed[], context: ImagingContext): Promise<string[]> {
  const warnings: string[] = [];
  for (const study of new Set(stored.map((s) => s.studyUid))) {
    const problem = await linkStudy(study, context);
    if (typeof problem === 'string') warnings.push(`299 densaulyq "Study ${study}: ${problem}"`);
    else if (problem) {
      // The door refused the study's ImagingStudy: what this request stored of it is taken back.
      const mine = stored.filter((s) => s.studyUid === study);
      const keys = await context.repo.dicom.remove(mine.filter((s) => s.created).map((s) => s.sopInstanceUid));
      for (const key of keys) await context.store.delete(key);
      for (const s of mine) failed.push({ sopClassUid: s.sopClassUid, sopInstanceUid: s.sopInstanceUid, ...problem });
      stored.splice(0, stored.length, ...stored.filter((s) => s.studyUid !== study));
    }
  }
  return warnings;
}

/** A part written to the store under a temporary key, parsed and checked, waiting to be indexed. */
interface Received {
  incoming: string;
  entry: NewInstance;
}

/**
 * One part: into the store under a temporary key, then parsed and checked. Resolves
 * once the part's bytes are read from the request, with what becomes of it: its store's flush and
 * the parsing go on while the next part arrives. Nothing stays of a part that fails.
 */
async function receivePart(body: AsyncIterable<Buffer>, expectedStudy: string | undefined, context: ImagingContext): Promise<{ done: Promise<Received | Failed> }> {
  const { store } = context;
  const incoming = `incoming/${randomUUID()}.dcm`;
  const head: Buffer[] = [];
  let headLength = 0;
  let read!: () => void;
  const bodyRead = new Promise<void>((resolve) => (read = resolve));
  const tee = async function* () {
    for await (const chunk of body) {
      if (headLength < HEAD_BYTES) {
        // A view, not a copy: the request's chunks are not reused.
        const kept = chunk.subarray(0, HEAD_BYTES - headLength);
        head.push(kept);
        headLength += kept.length;
      }
      yield chunk;
    }
    read();
  };
  const putting = store.put(incoming, tee(), { scratch: true });
  const failedPut = async (error: unknown): Promise<Failed> => {
    await store.delete(incoming).catch(() => undefined);
    // A broken request body is the client's; the request ends here.
    if (isFhirError(error)) throw error;
    return { reason: FAILURE.outOfResources, comment: 'The instance could not be written to storage' };
  };
  // A put that fails before the body is read ends the part here (a broken body, the request); otherwise the rest waits on the flush.
  const early = await Promise.race([bodyRead.then(() => undefined), putting.then(() => undefined, (error: unknown) => ({ error }))]);
  if (early) return { done: Promise.resolve(await failedPut(early.error)) };
  const outcome = async (): Promise<Received | Failed> => {
    let size: number;
    try {
      size = (await putting).size;
    } catch (error) {
      return failedPut(error).catch((): Failed => ({ reason: FAILURE.outOfResources, comment: 'The instance could not be written to storage' }));
    }
    const checked = await readHead(Buffer.concat(head), size, incoming, store)
      .then((parsed) => checkPart(parsed, expectedStudy))
      .catch((): Failed => ({ reason: FAILURE.processingFailure, comment: 'The instance could not be stored' }));
    if ('reason' in checked) {
      await store.delete(incoming).catch(() => undefined);
      return checked;
    }
    const { studyUid, seriesUid, sopInstanceUid } = checked;
    return { incoming, entry: indexEntry(checked.parsed, checked, instanceKey(studyUid, seriesUid, sopInstanceUid), size) };
  };
  return { done: outcome() };
}

/** What a parsed part must hold to be stored: its UIDs, valid, and the study the URL names. */
function checkPart(
  parsed: InstanceHead | Failed,
  expectedStudy: string | undefined,
): Failed | { parsed: InstanceHead; studyUid: string; seriesUid: string; sopInstanceUid: string; sopClassUid: string } {
  if ('reason' in parsed) return parsed;
  const { sopClassUid, sopInstanceUid, studyInstanceUid: studyUid, seriesInstanceUid: seriesUid } = parsed;
  const ids = { sopClassUid, sopInstanceUid };
  if (!sopClassUid || !sopInstanceUid || !studyUid || !seriesUid) {
    return { ...ids, reason: FAILURE.cannotUnderstand, comment: 'SOP Class, SOP Instance, Study and Series Instance UIDs are required' };
  }
  if (![sopInstanceUid, studyUid, seriesUid].every((uid) => UID.test(uid) && uid.length <= 64)) return { ...ids, reason: FAILURE.cannotUnderstand, comment: 'A UID is not valid (PS3.5 9.1)' };
  if (expectedStudy && studyUid !== expectedStudy) return { ...ids, reason: FAILURE.doesNotMatchSopClass, comment: `The Study Instance UID is not the one in the URL` };
  if (parsed.mediaStorageSopInstanceUid && parsed.mediaStorageSopInstanceUid !== sopInstanceUid) {
    return { ...ids, reason: FAILURE.doesNotMatchSopClass, comment: 'The file meta SOP Instance UID differs from the dataset' };
  }
  return { parsed, studyUid, seriesUid, sopInstanceUid, sopClassUid };
}

/**
 * Received parts indexed in one transaction, each moved to its key before it commits; an
 * instance stored already is accepted again when its bytes are the same and refused when not.
 * Nothing stays of a part that fails.
 */
async function indexBatch(batch: readonly Received[], context: ImagingContext): Promise<(Stored | Failed)[]> {
  if (batch.length === 0) return [];
  const { store } = context;
  const placed = new Set<Received>();
  try {
    let outcomes: (IndexedAlready | undefined)[];
    try {
      outcomes = await context.repo.dicom.addMany(
        batch.map((r) => r.entry),
        async (fresh) => {
          const moving = new Set(fresh);
          for (const received of batch) {
            if (!moving.has(received.entry)) continue;
            await moveObject(store, received.incoming, received.entry.instance.objectKey);
            placed.add(received);
          }
        },
      );
    } catch (error) {
      // Moved but not committed: the rows rolled back, so the objects go too.
      for (const { entry } of placed) await store.delete(entry.instance.objectKey).catch(() => undefined);
      placed.clear();
      if (isFhirError(error) && error.status === 403) throw error;
      return batch.map(({ entry }) => ({ sopClassUid: entry.instance.sopClassUid, sopInstanceUid: entry.instance.sopInstanceUid, reason: FAILURE.processingFailure, comment: 'The instance could not be stored' }));
    }
    return await Promise.all(batch.map((received, i) => indexed(received, outcomes[i], store)));
  } finally {
    for (const received of batch) if (!placed.has(received)) await store.delete(received.incoming).catch(() => undefined);
  }
}

/** What became of a received part once its batch committed: stored, a resend of the stored instance (the same bytes), or refused. */
async function indexed({ entry, incoming }: Received, outcome: IndexedAlready | undefined, store: ObjectStore): Promise<Stored | Failed> {
  const { sopClassUid, sopInstanceUid } = entry.instance;
  const ids = { sopClassUid, sopInstanceUid, studyUid: entry.study.uid, seriesUid: entry.series.uid };
  if (!outcome) return { ...ids, created: true };
  if ('seriesOfStudy' in outcome) return { sopClassUid, sopInstanceUid, reason: FAILURE.doesNotMatchSopClass, comment: 'The series belongs to another study already' };
  const same = await sameBytes(store, incoming, outcome.objectKey).catch(() => undefined);
  if (same === undefined) return { sopClassUid, sopInstanceUid, reason: FAILURE.processingFailure, comment: 'The stored instance under this SOP Instance UID could not be read to compare' };
  if (!same) return { sopClassUid, sopInstanceUid, reason: FAILURE.duplicateSopInstance, comment: 'This SOP Instance UID is stored with different content; the stored one is kept' };
  return { ...ids, studyUid: outcome.studyUid, created: false };
}

/** The head parsed: from what was kept in memory, else read back from the store, longer each time, up to MAX_HEAD_BYTES. */
async function readHead(kept: Buffer, size: number, key: string, store: ObjectStore): Promise<InstanceHead | Failed> {
  let head = kept;
  for (;;) {
    try {
      return readInstanceHead(head, head.length >= size);
    } catch (error) {
      if (!(error instanceof TruncatedHead) || head.length >= MAX_HEAD_BYTES) return { reason: FAILURE.cannotUnderstand, comment: 'Not a DICOM Part 10 file the server can read' };
      const stream = await store.get(key, { start: 0, end: Math.min(size, head.length * 4) });
      if (!stream) return { reason: FAILURE.processingFailure, comment: 'The instance could not be read back from storage' };
      head = await buffer(stream);
    }
  }
}

/** The index rows of an instance: its study's and series' matching attributes, and its own. */
function indexEntry(parsed: InstanceHead, uids: { studyUid: string; seriesUid: string; sopInstanceUid: string; sopClassUid: string }, objectKey: string, size: number): NewInstance {
  const m = parsed.metadata;
  const text = (tag: string) => firstText(m, tag)?.trim() || undefined;
  const integer = (tag: string) => {
    const value = Number(text(tag));
    return Number.isInteger(value) ? value : undefined;
  };
  const pick = (tags: readonly string[]) => JSON.stringify(Object.fromEntries(tags.filter((t) => m[t]).map((t) => [t, m[t]])));
  return {
    study: {
      uid: uids.studyUid,
      patientId: text('00100020'),
      patientName: text('00100010'),
      patientBirthDate: text('00100030'),
      patientSex: text('00100040'),
      studyDate: text('00080020'),
      studyTime: text('00080030'),
      accessionNumber: text('00080050'),
      studyId: text('00200010'),
      studyDescription: text('00081030'),
      referringPhysicianName: text('00080090'),
      attributes: pick(STUDY_TAGS),
    },
    series: {
      uid: uids.seriesUid,
      modality: text('00080060'),
      seriesNumber: integer('00200011'),
      seriesDescription: text('0008103E'),
      performedStartDate: text('00400244'),
      performedStartTime: text('00400245'),
      attributes: pick(SERIES_TAGS),
    },
    instance: {
      sopInstanceUid: uids.sopInstanceUid,
      sopClassUid: uids.sopClassUid,
      instanceNumber: integer('00200013'),
      numberOfFrames: integer('00280008'),
      transferSyntaxUid: parsed.transferSyntaxUid,
      objectKey,
      size,
      metadata: JSON.stringify(m),
    },
  };
}

/**
 * The study-level attributes kept for QIDO (PS3.18 table 10.6.3-3 and the Patient and General
 * Study modules, PS3.3 C.7.1.1 and C.7.2.1), as the study's first instance has them.
 */
export const STUDY_TAGS = [
  '00080005', '00080020', '00080030', '00080050', '00080056', '00080090', '00080201', '00081030',
  '00100010', '00100020', '00100030', '00100040', '00101010', '0020000D', '00200010',
] as const;

/** The series-level attributes kept for QIDO (PS3.18 table 10.6.3-4, General Series module PS3.3 C.7.3.1). */
export const SERIES_TAGS = ['00080005', '00080060', '0008103E', '00080201', '0020000E', '00200011', '00400244', '00400245', '00400275', '00180015'] as const;

/**
 * After a store: the study's patient (IIN, else a certain demographic match) and its
 * ImagingStudy written through the door; otherwise the reason it waits for review. Returns a
 * problem to warn the sender of, or the failure of every instance when the door refuses the write.
 */
async function linkStudy(studyUid: string, context: ImagingContext): Promise<string | Pick<Failed, 'reason' | 'comment'> | undefined> {
  const { repo } = context;
  const contents = await repo.dicom.contents(studyUid);
  if (!contents) return undefined;
  const found = contents.study.patient ? { patient: contents.study.patient, reason: 'linked' } : await studyPatient(repo, JSON.parse(contents.study.attributes) as DicomJson);
  const patient = found.patient;
  if (!patient) {
    const { reason } = found;
    await repo.dicom.link(studyUid, { reviewReason: reason });
    return `stored, but the patient was not identified; it waits for review (${reason})`;
  }
  try {
    await repo.transaction(async (tx) => {
      // Read again under the study's lock: another request may have written its ImagingStudy meanwhile.
      const current = (await tx.dicom.contents(studyUid, { lock: true }))!;
      const owner = current.study.patient ?? patient;
      const id = await writeImagingStudy(tx, current, owner, context.base);
      await tx.dicom.link(studyUid, { imagingStudy: id, patient: owner });
    });
    return undefined;
  } catch (error) {
    if (!isFhirError(error)) throw error;
    if (error.status === 403 || error.status === 404) return { reason: FAILURE.notAuthorized, comment: `The sender may not record images for this patient` };
    return { reason: FAILURE.processingFailure, comment: `The study's ImagingStudy could not be written: ${error.message}` };
  }
}
