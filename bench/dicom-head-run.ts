/**
 * Micro-benchmark of reading an instance's head (STOW's parse): the dcmjs path the platform used
 * before against src/imaging/dicom-reader.ts, on the bench's 512×512 CT slice (its first 64 KiB,
 * not complete, as STOW reads it) and on an instance heavy with sequences. Rounds interleave the
 * two so drift in the machine touches both alike; the figure is the median per head.
 */
import dcmjs, { type DenaturalizedDataset, type DicomElement } from 'dcmjs';
import { readInstanceHead } from '../src/imaging/dicom-json.js';
import { dicomInstance } from '../src/synth/dicom-instances.js';
import { InstanceTemplate } from './dicom-data.js';

const ROUNDS = 9;
const READS = 2000;

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/** The dcmjs path's conversion to DICOM JSON (its item text mending left out: this flatters dcmjs a little). */
function toDicomJson(dataset: DenaturalizedDataset, path: string): Record<string, DicomElement> {
  const json: Record<string, DicomElement> = {};
  for (const [tag, element] of Object.entries(dataset)) {
    if (tag === '7FE00010' || !/^[0-9A-F]{8}$/i.test(tag)) continue;
    const out: DicomElement = { vr: element.vr };
    if (BINARY_VRS.has(element.vr)) {
      const bytes = Buffer.concat((element.Value ?? []).filter((v): v is ArrayBuffer => v instanceof ArrayBuffer).map((p) => Buffer.from(p)));
      if (bytes.length > 1024) out.BulkDataURI = `bulkdata/${path}${tag}`;
      else if (bytes.length > 0) out.InlineBinary = bytes.toString('base64');
    } else if (element.vr === 'SQ') {
      const items = (element.Value ?? []) as DenaturalizedDataset[];
      if (items.length > 0) out.Value = items.map((item, i) => toDicomJson(item, `${path}${tag}/${i}/`));
    } else if (element.Value && element.Value.length > 0 && !element.Value.every((v) => v === '' || v === null || v === undefined)) {
      out.Value = element.Value.map((v) => (v === '' || v === undefined ? null : v));
    }
    json[tag] = out;
  }
  return json;
}

/** What the dcmjs path did per head: read up to the pixel data into dcmjs's dataset, then convert it to DICOM JSON. */
function dcmjsHead(head: Buffer): unknown {
  const dicom = dcmjs.data.DicomMessage.readFile(head.buffer.slice(head.byteOffset, head.byteOffset + head.length) as ArrayBuffer, { untilTag: '7FE00010', includeUntilTagValue: false });
  return toDicomJson(dicom.dict, '');
}

const codes = (n: number) => Array.from({ length: n }, (_, i) => ({ CodeValue: `C${i}`, CodingSchemeDesignator: 'DCM', CodeMeaning: `Meaning ${i}` }));
const shapes = {
  'CT 512×512, first 64 KiB': new InstanceTemplate(512, 512).bytes.subarray(0, 64 * 1024),
  'sequence-heavy (60 items, 3 deep)': dicomInstance({
    attributes: {
      ReferencedImageSequence: Array.from({ length: 30 }, (_, i) => ({ ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2', ReferencedSOPInstanceUID: `2.25.${i + 1}` })),
      RequestAttributesSequence: Array.from({ length: 10 }, (_, i) => ({ RequestedProcedureID: `RP-${i}`, ScheduledProtocolCodeSequence: codes(2) })),
      ProcedureCodeSequence: codes(20),
    },
  }),
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function perHead(read: () => unknown): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < READS; i++) read();
  return Number(process.hrtime.bigint() - started) / 1000 / READS;
}

for (const [name, head] of Object.entries(shapes)) {
  const complete = !name.startsWith('CT');
  const paths = { dcmjs: () => dcmjsHead(head), ours: () => readInstanceHead(head, complete) };
  for (const read of Object.values(paths)) perHead(read); // warm up
  const times: Record<keyof typeof paths, number[]> = { dcmjs: [], ours: [] };
  for (let round = 0; round < ROUNDS; round++) {
    times.dcmjs.push(perHead(paths.dcmjs));
    times.ours.push(perHead(paths.ours));
  }
  const [dcmjsUs, oursUs] = [median(times.dcmjs), median(times.ours)];
  console.log(`${name} (${head.length} bytes): dcmjs ${dcmjsUs.toFixed(1)} µs, ours ${oursUs.toFixed(1)} µs per head, ${(dcmjsUs / oursUs).toFixed(1)}× faster`);
}
