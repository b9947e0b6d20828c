/**
 * Study data for the DICOMweb benchmark, made fast enough to send gigabytes: one real Part 10 file
 * (src/synth/dicom-instances.ts) per shape, made once with fixed-length placeholder UIDs and
 * PatientID, then copied with fresh values written over the placeholders. The copies are real,
 * distinct instances (their UIDs differ) without paying dcmjs's write for each.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { dicomInstance } from '../src/synth/dicom-instances.js';

/** Every UID here is `2.25.1` and 37 more digits: one length, so it fits the template's placeholder. */
const UID_DIGITS = 37;
/** PatientIDs are BENCH- and 9 digits. */
const PATIENT_DIGITS = 9;

/** A UID under 2.25 of fixed length (PS3.5 9.1: no component starts with 0, so the first digit is 1). */
export function benchUid(): string {
  const digits = (BigInt(`0x${randomBytes(16).toString('hex')}`) % 10n ** BigInt(UID_DIGITS)).toString().padStart(UID_DIGITS, '0');
  return `2.25.1${digits}`;
}

export function benchPatientId(n: number): string {
  return `BENCH-${String(n).padStart(PATIENT_DIGITS, '0')}`;
}

/** What makes a copy of the template a different instance. */
export interface Identity {
  study: string;
  series: string;
  sop: string;
  patientId: string;
}

const PLACEHOLDERS: Identity = {
  study: `2.25.1${'1'.repeat(UID_DIGITS)}`,
  series: `2.25.1${'2'.repeat(UID_DIGITS)}`,
  sop: `2.25.1${'3'.repeat(UID_DIGITS)}`,
  patientId: `BENCH-${'9'.repeat(PATIENT_DIGITS)}`,
};

/** One instance shape with where each placeholder sits in it. */
export class InstanceTemplate {
  readonly bytes: Buffer;
  private readonly offsets: { [K in keyof Identity]: number[] };

  /** A `rows`×`columns` 16-bit CT slice (512×512: 0.5 MB, as the STOW target is stated). */
  constructor(rows: number, columns: number) {
    this.bytes = dicomInstance({
      rows,
      columns,
      studyInstanceUid: PLACEHOLDERS.study,
      seriesInstanceUid: PLACEHOLDERS.series,
      sopInstanceUid: PLACEHOLDERS.sop,
      attributes: { PatientID: PLACEHOLDERS.patientId, PatientName: 'Bench^Patient', StudyDescription: 'Bench CT' },
    });
    const find = (text: string) => {
      const found: number[] = [];
      for (let at = this.bytes.indexOf(text); at !== -1; at = this.bytes.indexOf(text, at + 1)) found.push(at);
      return found;
    };
    this.offsets = { study: find(PLACEHOLDERS.study), series: find(PLACEHOLDERS.series), sop: find(PLACEHOLDERS.sop), patientId: find(PLACEHOLDERS.patientId) };
    // The SOP Instance UID is in the file meta and the data set; the others once each.
    if (this.offsets.sop.length !== 2 || this.offsets.study.length !== 1 || this.offsets.series.length !== 1 || this.offsets.patientId.length !== 1) {
      throw new Error(`placeholders found ${JSON.stringify(this.offsets)} times in the template`);
    }
  }

  /** A copy of the template that is the instance `identity`. */
  instance(identity: Identity): Buffer {
    const copy = Buffer.from(this.bytes);
    for (const key of Object.keys(this.offsets) as (keyof Identity)[]) for (const at of this.offsets[key]) copy.write(identity[key], at, 'latin1');
    return copy;
  }
}

/** The multipart/related boundary of every STOW body the bench sends. */
const BOUNDARY = 'densaulyq-bench-7d3f9a';
/** PS3.18 10.5.1.1: STOW-RS of Part 10 instances. */
export const STOW_CONTENT_TYPE = `multipart/related; type="application/dicom"; boundary=${BOUNDARY}`;
const PART_HEADER = Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`);
const CRLF = Buffer.from('\r\n');
const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);

/** The chunks of a STOW body carrying `instances`, made as they are read. */
function* multipartChunks(instances: Iterable<Buffer>): Generator<Buffer> {
  for (const instance of instances) {
    yield PART_HEADER;
    yield instance;
    yield CRLF;
  }
  yield CLOSE;
}

/** A whole STOW body in memory, for requests of a few instances sent with a Content-Length. */
export function stowBody(instances: Iterable<Buffer>): Buffer {
  return Buffer.concat([...multipartChunks(instances)]);
}

/**
 * A STOW body read on demand (backpressure: the next instance is made when the socket wants it),
 * so a study of gigabytes is never held by the client.
 */
export function stowStream(instances: Iterable<Buffer>): Readable {
  return Readable.from(multipartChunks(instances), { objectMode: false });
}

/** The instances of one series of `count` slices of `template`, made one by one as iterated. */
export function* series(template: InstanceTemplate, count: number, identity: Omit<Identity, 'sop'>): Generator<Buffer> {
  for (let n = 0; n < count; n++) yield template.instance({ ...identity, sop: benchUid() });
}
