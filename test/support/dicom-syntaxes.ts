import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dcmjs from 'dcmjs';
import { extractFrame } from '../../src/imaging/pixels/index.js';
import { readImage } from '../../src/imaging/pixels/image.js';

/**
 * Test files in every transfer syntax the platform renders, made by the tools the field trusts:
 * dcmtk (dcmconv, dcmcrle, dcmcjpeg, dcmcjpls) re-encodes a file from src/synth/dicom-instances.ts,
 * OpenJPEG's opj_compress makes JPEG 2000 codestreams that dcmjs encapsulates; dcmtk decodes them
 * back (dcmdrle, dcmdjpeg, dcmdjpls) and opj_decompress the JPEG 2000 ones, as the references.
 */
export const SYNTAXES = {
  'implicit-little-endian': '1.2.840.10008.1.2',
  'deflated-little-endian': '1.2.840.10008.1.2.1.99',
  'explicit-big-endian': '1.2.840.10008.1.2.2',
  'encapsulated-uncompressed': '1.2.840.10008.1.2.1.98',
  rle: '1.2.840.10008.1.2.5',
  'jpeg-baseline': '1.2.840.10008.1.2.4.50',
  'jpeg-lossless': '1.2.840.10008.1.2.4.57',
  'jpeg-lossless-sv1': '1.2.840.10008.1.2.4.70',
  'jpeg-ls': '1.2.840.10008.1.2.4.80',
  'jpeg-ls-near': '1.2.840.10008.1.2.4.81',
  'jpeg2000-lossless': '1.2.840.10008.1.2.4.90',
  jpeg2000: '1.2.840.10008.1.2.4.91',
} as const;

export type Syntax = keyof typeof SYNTAXES;

const DCMTK: Partial<Record<Syntax, [string, ...string[]]>> = {
  'implicit-little-endian': ['dcmconv', '+ti'],
  'deflated-little-endian': ['dcmconv', '+td'],
  'explicit-big-endian': ['dcmconv', '+tb'],
  rle: ['dcmcrle'],
  'jpeg-baseline': ['dcmcjpeg', '+eb'],
  'jpeg-lossless': ['dcmcjpeg', '+el'],
  'jpeg-lossless-sv1': ['dcmcjpeg', '+e1'],
  'jpeg-ls': ['dcmcjpls', '+el'],
  'jpeg-ls-near': ['dcmcjpls', '+en'],
};

function withTemp<T>(run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'densaulyq-dicom-'));
  try {
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The file (explicit VR little endian, uncompressed) re-encoded in `syntax`. */
export function encode(part10: Buffer, syntax: Syntax, dcmtkOptions: string[] = []): Buffer {
  if (syntax === 'jpeg2000-lossless' || syntax === 'jpeg2000') return jpeg2000(part10, syntax === 'jpeg2000-lossless');
  if (syntax === 'encapsulated-uncompressed') {
    // dcmtk 3.6.7 predates this syntax: each frame's bytes as they are, one fragment each.
    const frames = Array.from({ length: readImage(part10).numberOfFrames }, (_, f) => Buffer.from(extractFrame(part10, f + 1).bytes));
    return encapsulate(part10, SYNTAXES[syntax], frames);
  }
  const [tool, ...options] = DCMTK[syntax]!;
  return withTemp((dir) => {
    writeFileSync(join(dir, 'in.dcm'), part10);
    execFileSync(tool, [...options, ...dcmtkOptions, join(dir, 'in.dcm'), join(dir, 'out.dcm')], { stdio: 'pipe' });
    return readFileSync(join(dir, 'out.dcm'));
  });
}

/** dcmtk's (or OpenJPEG's) decode of a compressed file: each frame's samples as it decodes them. */
export function referenceFrames(part10: Buffer): Buffer[] {
  const image = readImage(part10);
  const syntax = image.transferSyntaxUid;
  if (syntax === SYNTAXES['jpeg2000-lossless'] || syntax === SYNTAXES.jpeg2000) return openJpegFrames(part10);
  const tool = syntax === SYNTAXES.rle ? 'dcmdrle' : syntax === SYNTAXES['jpeg-ls'] || syntax === SYNTAXES['jpeg-ls-near'] ? 'dcmdjpls' : 'dcmdjpeg';
  const decoded = withTemp((dir) => {
    writeFileSync(join(dir, 'in.dcm'), part10);
    execFileSync(tool, [join(dir, 'in.dcm'), join(dir, 'out.dcm')], { stdio: 'pipe' });
    return readFileSync(join(dir, 'out.dcm'));
  });
  return Array.from({ length: image.numberOfFrames }, (_, i) => Buffer.from(extractFrame(decoded, i + 1).bytes));
}

/**
 * JPEG 2000 (PS3.5 A.4.4): each frame's planes as little-endian raw samples into opj_compress
 * (reversible 5/3 wavelet, or irreversible 9/7 at 8:1), colour with the multi-component transform,
 * so YBR_RCT or YBR_ICT; one fragment per frame with a Basic Offset Table.
 */
function jpeg2000(part10: Buffer, lossless: boolean): Buffer {
  const image = readImage(part10);
  const samples = image.samplesPerPixel;
  const bytes = image.bitsAllocated / 8;
  const pixels = image.rows * image.columns;
  const codestreams = withTemp((dir) =>
    Array.from({ length: image.numberOfFrames }, (_, f) => {
      const frame = extractFrame(part10, f + 1).bytes;
      // opj_compress reads raw input plane by plane.
      const planes = Buffer.alloc(frame.length);
      for (let p = 0; p < pixels; p++)
        for (let s = 0; s < samples; s++) frame.copy(planes, (s * pixels + p) * bytes, (p * samples + s) * bytes, (p * samples + s + 1) * bytes);
      writeFileSync(join(dir, 'in.rawl'), planes);
      const sign = image.pixelRepresentation === 1 ? 's' : 'u';
      // Fewer wavelet levels than OpenJPEG's 6 for images under 32 pixels a side.
      const levels = Math.min(6, Math.floor(Math.log2(Math.min(image.rows, image.columns))));
      const options = ['-n', String(levels), '-F', `${image.columns},${image.rows},${samples},${image.bitsStored},${sign}`, ...(samples === 3 ? ['-mct', '1'] : []), ...(lossless ? [] : ['-I', '-r', '8'])];
      execFileSync('opj_compress', ['-i', join(dir, 'in.rawl'), '-o', join(dir, 'out.j2k'), ...options], { stdio: 'pipe' });
      return readFileSync(join(dir, 'out.j2k'));
    }),
  );
  const syntax = lossless ? SYNTAXES['jpeg2000-lossless'] : SYNTAXES.jpeg2000;
  return encapsulate(part10, syntax, codestreams, samples === 3 ? (lossless ? 'YBR_RCT' : 'YBR_ICT') : undefined);
}

/** The file with its pixel data replaced by these frames, one fragment each, after a Basic Offset Table. */
function encapsulate(part10: Buffer, syntax: string, frames: Buffer[], photometricInterpretation?: string): Buffer {
  const message = dcmjs.data.DicomMessage.readFile(part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.length) as ArrayBuffer);
  message.meta['00020010'] = { vr: 'UI', Value: [syntax] };
  message.dict['7FE00010'] = { vr: 'OB', Value: frames.map((frame) => frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.length)) };
  if (photometricInterpretation) message.dict['00280004'] = { vr: 'CS', Value: [photometricInterpretation] };
  return Buffer.from(message.write({ fragmentMultiframe: false }));
}

function openJpegFrames(part10: Buffer): Buffer[] {
  const image = readImage(part10);
  const bytes = image.bitsAllocated / 8;
  const pixels = image.rows * image.columns;
  return withTemp((dir) =>
    Array.from({ length: image.numberOfFrames }, (_, f) => {
      writeFileSync(join(dir, 'in.j2k'), extractFrame(part10, f + 1).bytes);
      execFileSync('opj_decompress', ['-i', join(dir, 'in.j2k'), '-o', join(dir, 'out.rawl')], { stdio: 'pipe' });
      const planes = readFileSync(join(dir, 'out.rawl'));
      const out = Buffer.alloc(planes.length);
      const samples = image.samplesPerPixel;
      for (let p = 0; p < pixels; p++)
        for (let s = 0; s < samples; s++) planes.copy(out, (p * samples + s) * bytes, (s * pixels + p) * bytes, (s * pixels + p + 1) * bytes);
      // opj_decompress writes signed samples in their precision's bits only: extend the sign as DICOM stores it.
      if (image.pixelRepresentation === 1 && bytes === 2 && image.bitsStored < 16) {
        const shift = 32 - image.bitsStored;
        for (let i = 0; i < out.length; i += 2) out.writeInt16LE((out.readUInt16LE(i) << shift) >> shift, i);
      }
      return out;
    }),
  );
}

/** How an encapsulated file's frames are laid out in fragments (PS3.5 A.4). */
export type Layout =
  /** An empty Basic Offset Table, one fragment per frame. */
  | 'no-offset-table'
  /** An empty Basic Offset Table and an Extended Offset Table, each frame in three fragments. */
  | 'extended-offset-table'
  /** A Basic Offset Table, each frame in three fragments. */
  | 'offset-table-split'
  /** An empty Basic Offset Table, each frame in three fragments: found by codestream starts. */
  | 'no-offset-table-split';

/** The same encapsulated file with its frames laid out in fragments another way. */
export function relayout(part10: Buffer, layout: Layout): Buffer {
  const image = readImage(part10);
  const { basicOffsetTable } = image.pixelData;
  if (!basicOffsetTable) throw new Error('not encapsulated');
  // The Pixel Data element's header (explicit VR: tag, VR, reserved, length) precedes the table's item.
  const elementStart = basicOffsetTable.byteOffset - part10.byteOffset - 8 - 12;
  const frames = Array.from({ length: image.numberOfFrames }, (_, i) => extractFrame(part10, i + 1).bytes);
  const split = layout !== 'no-offset-table';
  const item = (value: Buffer) => {
    const header = Buffer.alloc(8);
    header.writeUInt16LE(0xfffe, 0);
    header.writeUInt16LE(0xe000, 2);
    header.writeUInt32LE(value.length, 4);
    return Buffer.concat([header, value]);
  };
  const offsets: number[] = [];
  const lengths: number[] = [];
  const fragments: Buffer[] = [];
  let position = 0;
  for (const frame of frames) {
    offsets.push(position);
    lengths.push(frame.length);
    // Even-length pieces (items must be even), the first holding the codestream's start.
    const cuts = split ? [0, 2 * Math.floor(frame.length / 6), 2 * Math.floor(frame.length / 3), frame.length] : [0, frame.length];
    for (let c = 0; c + 1 < cuts.length; c++) {
      const fragment = item(frame.subarray(cuts[c], cuts[c + 1]));
      fragments.push(fragment);
      position += fragment.length;
    }
  }
  const table = Buffer.alloc(layout === 'offset-table-split' ? 4 * offsets.length : 0);
  offsets.forEach((offset, i) => table.length && table.writeUInt32LE(offset, 4 * i));
  const pixelHeader = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  const delimiter = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
  const extended = layout === 'extended-offset-table' ? [veryLong(0x0001, offsets), veryLong(0x0002, lengths)] : [];
  return Buffer.concat([part10.subarray(0, elementStart), ...extended, pixelHeader, item(table), ...fragments, delimiter]);
}

/** An OV element of (7FE0,xxxx): 64-bit unsigned values. */
function veryLong(element: number, values: number[]): Buffer {
  const out = Buffer.alloc(12 + 8 * values.length);
  out.writeUInt16LE(0x7fe0, 0);
  out.writeUInt16LE(element, 2);
  out.write('OV', 4, 'latin1');
  out.writeUInt32LE(8 * values.length, 8);
  values.forEach((v, i) => out.writeBigUInt64LE(BigInt(v), 12 + 8 * i));
  return out;
}
