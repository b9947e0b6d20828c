/**
 * Micro-benchmark of reading an instance's head (STOW's parse): the dcmjs path the platform used
 * before against src/imaging/dicom-reader.ts, on the bench's 512×512 CT slice (its first 64 KiB,
 * not complete, as STOW reads it) and on an instance heavy with sequences. Rounds interleave the
 * two so drift in the machine touches both alike; the figure is the median per head.
 */
import { readInstanceHead } from '../src/imaging/dicom-json.js';
import { dicomInstance } from '../src/synth/dicom-instances.js';
import { dcmjsMetadata } from '../test/support/dcmjs-reference.js';
import { InstanceTemplate } from './dicom-data.js';

const ROUNDS = 9;
const READS = 2000;

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
  const paths = { dcmjs: () => dcmjsMetadata(head), ours: () => readInstanceHead(head, complete) };
  for (const read of Object.values(paths)) perHead(read); // warm up
  const times: Record<keyof typeof paths, number[]> = { dcmjs: [], ours: [] };
  for (let round = 0; round < ROUNDS; round++) {
    times.dcmjs.push(perHead(paths.dcmjs));
    times.ours.push(perHead(paths.ours));
  }
  const [dcmjsUs, oursUs] = [median(times.dcmjs), median(times.ours)];
  console.log(`${name} (${head.length} bytes): dcmjs ${dcmjsUs.toFixed(1)} µs, ours ${oursUs.toFixed(1)} µs per head, ${(dcmjsUs / oursUs).toFixed(1)}× faster`);
}
