import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import dcmjs from 'dcmjs';
import { badRequest, notAcceptable, notFound } from '../fhir/outcome.js';
import type { InstanceRow } from '../store/dicom-index.js';
import { type DicomJson, NATIVE_SYNTAXES, PIXEL_DATA, bulkValue } from './dicom-json.js';
import type { ImagingContext } from './stow.js';

/**
 * WADO-RS (PS3.18 10.4): studies, series and instances as multipart/related parts of
 * application/dicom streamed from the object store as stored; their metadata as DICOM JSON with
 * bulk data URIs that resolve here; frames and bulk data as application/octet-stream (or the
 * stored compressed type). What the caller may not see is answered like what does not exist.
 */

export interface Target {
  study: string;
  series?: string;
  instance?: string;
}

export interface WadoAnswer {
  status: number;
  contentType: string;
  body: Readable | string | Buffer;
  headers?: Record<string, string>;
}


/** Media types of encapsulated syntaxes' frames (PS3.18 table 8.7.3-2). */
const FRAME_MEDIA_TYPES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.50': 'image/jpeg',
  '1.2.840.10008.1.2.4.51': 'image/jpeg',
  '1.2.840.10008.1.2.4.57': 'image/jpeg',
  '1.2.840.10008.1.2.4.70': 'image/jpeg',
  '1.2.840.10008.1.2.4.80': 'image/jls',
  '1.2.840.10008.1.2.4.81': 'image/jls',
  '1.2.840.10008.1.2.4.90': 'image/jp2',
  '1.2.840.10008.1.2.4.91': 'image/jp2',
  '1.2.840.10008.1.2.4.201': 'image/jphc',
  '1.2.840.10008.1.2.4.202': 'image/jphc',
  '1.2.840.10008.1.2.4.203': 'image/jphc',
  '1.2.840.10008.1.2.5': 'image/dicom-rle',
};

interface MediaRange {
  type: string;
  parameters: Record<string, string>;
}

/** An Accept header's media ranges (RFC 9110 12.5.1), with their parameters; q=0 ranges dropped. */
export function mediaRanges(accept: string | undefined): MediaRange[] {
  if (!accept) return [{ type: '*/*', parameters: {} }];
  const ranges: MediaRange[] = [];
  for (const part of accept.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)) {
    const [type, ...rest] = part.split(';');
    const parameters: Record<string, string> = {};
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0) parameters[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"|"$/g, '');
    }
    if (parameters.q !== undefined && Number(parameters.q) === 0) continue;
    ranges.push({ type: type!.trim().toLowerCase(), parameters });
  }
  return ranges;
}

/**
 * Whether the client takes multipart/related parts of `partType` in the syntax stored: `*`,
 * the stored syntax or no transfer-syntax parameter; 406 otherwise (the server does not transcode).
 */
function negotiate(accept: string | undefined, partType: string, storedSyntaxes: readonly string[]): void {
  for (const range of mediaRanges(accept)) {
    const multipart = range.type === 'multipart/related' || range.type === 'multipart/*' || range.type === '*/*';
    if (!multipart) continue;
    const type = range.parameters.type?.toLowerCase();
    if (type && type !== partType) continue;
    const syntax = range.parameters['transfer-syntax'];
    if (syntax === undefined || syntax === '*' || storedSyntaxes.every((s) => s === syntax)) return;
  }
  throw notAcceptable(`This is served as multipart/related; type="${partType}" in the syntax it was stored in (${[...new Set(storedSyntaxes)].join(', ')}); ask with transfer-syntax=*`);
}

/** The target's instances the caller may see, in series and instance number order; none is a 404. */
export async function seenInstances(target: Target, context: ImagingContext): Promise<InstanceRow[]> {
  const rows = await context.repo.dicom.instances(target);
  if (rows.length === 0) throw notFound(`No ${target.instance ? 'instance' : target.series ? 'series' : 'study'} ${target.instance ?? target.series ?? target.study} is known`);
  return rows;
}

/** A multipart/related body of `parts`, each read from the store when its turn comes. */
function multipart(parts: readonly { type: string; location?: string; open: () => Promise<Readable | Buffer> }[]): { contentType: (type: string) => string; body: Readable } {
  const boundary = `densaulyq-${randomUUID()}`;
  const body = Readable.from(
    (async function* () {
      for (const part of parts) {
        yield Buffer.from(`--${boundary}\r\nContent-Type: ${part.type}\r\n${part.location ? `Content-Location: ${part.location}\r\n` : ''}\r\n`);
        const content = await part.open();
        if (Buffer.isBuffer(content)) yield content;
        else for await (const chunk of content) yield chunk as Buffer;
        yield Buffer.from('\r\n');
      }
      yield Buffer.from(`--${boundary}--\r\n`);
    })(),
    { objectMode: false },
  );
  return { contentType: (type) => `multipart/related; type="${type}"; boundary=${boundary}`, body };
}

async function objectOf(row: InstanceRow, context: ImagingContext): Promise<Readable> {
  const stream = await context.store.get(row.object_key);
  if (!stream) throw notFound(`The instance ${row.sop_instance_uid} is indexed but its object is missing from storage`);
  return stream;
}

/** The instance's whole Part 10 file, as the pixel module reads it. */
export async function part10Of(row: InstanceRow, context: ImagingContext): Promise<Buffer> {
  return buffer(await objectOf(row, context));
}

/** Retrieve instances (PS3.18 10.4.1.1.1): a study, a series or one instance, as stored. */
export async function retrieveInstances(target: Target, accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  const rows = await seenInstances(target, context);
  negotiate(accept, 'application/dicom', rows.map((r) => r.transfer_syntax_uid));
  const { contentType, body } = multipart(
    rows.map((row) => ({
      type: `application/dicom; transfer-syntax=${row.transfer_syntax_uid}`,
      location: instanceUrl(context.base, row),
      open: () => objectOf(row, context),
    })),
  );
  return { status: 200, contentType: contentType('application/dicom'), body };
}

function instanceUrl(base: string, row: InstanceRow): string {
  return `${base}/studies/${row.study_uid}/series/${row.series_uid}/instances/${row.sop_instance_uid}`;
}

/** Retrieve metadata (PS3.18 10.4.1.1.2): the instances' DICOM JSON, bulk data as absolute BulkDataURIs. */
export async function retrieveMetadata(target: Target, accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  const ranges = mediaRanges(accept);
  if (!ranges.some((r) => ['application/dicom+json', 'application/json', 'application/*', '*/*'].includes(r.type))) {
    throw notAcceptable(`Metadata is served as application/dicom+json`);
  }
  const rows = await seenInstances(target, context);
  const body = `[${rows.map((row) => JSON.stringify(absoluteBulkData(JSON.parse(row.metadata) as DicomJson, instanceUrl(context.base, row)))).join(',')}]`;
  return { status: 200, contentType: 'application/dicom+json', body };
}

function absoluteBulkData(dataset: DicomJson, url: string): DicomJson {
  for (const element of Object.values(dataset)) {
    if (element.BulkDataURI?.startsWith('bulkdata/')) element.BulkDataURI = `${url}/${element.BulkDataURI}`;
    if (element.vr === 'SQ') for (const item of (element.Value ?? []) as DicomJson[]) absoluteBulkData(item, url);
  }
  return dataset;
}

/** Retrieve frames (PS3.18 10.4.1.1.3): native frames as application/octet-stream, compressed ones in their own type. */
export async function retrieveFrames(target: Required<Target>, frameList: string, accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  if (!/^\d+(,\d+)*$/.test(frameList)) throw badRequest(`Frames are a comma-separated list of numbers from 1, not "${frameList}"`, 'frames');
  const frames = frameList.split(',').map(Number);
  const [row] = await seenInstances(target, context);
  const syntax = row!.transfer_syntax_uid;
  const partType = NATIVE_SYNTAXES.has(syntax) ? 'application/octet-stream' : FRAME_MEDIA_TYPES[syntax];
  if (!partType) throw notAcceptable(`Frames of transfer syntax ${syntax} are not served; retrieve the instance`);
  negotiate(accept, partType, [syntax]);
  const part10 = await buffer(await objectOf(row!, context));
  const count = row!.number_of_frames ?? 1;
  const bad = frames.find((f) => f < 1 || f > count);
  if (bad !== undefined) throw notFound(`The instance has ${count} frame(s); there is no frame ${bad}`);
  const url = instanceUrl(context.base, row!);
  const { contentType, body } = multipart(
    frames.map((n) => ({
      type: NATIVE_SYNTAXES.has(syntax) ? 'application/octet-stream' : `${partType}; transfer-syntax=${syntax}`,
      location: `${url}/frames/${n}`,
      open: async () => frameBytes(part10, n),
    })),
  );
  return { status: 200, contentType: contentType(partType), body };
}

/**
 * The bytes of frame `frame` (1-based) as stored: native pixel data sliced, an encapsulated
 * frame's fragments as dcmjs joins them. The pixel module's `extractFrame` does this for every
 * syntax and replaces this when merged.
 */
export function frameBytes(part10: Buffer, frame: number): Buffer {
  const dicom = dcmjs.data.DicomMessage.readFile(part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.length) as ArrayBuffer);
  const dataset = dicom.dict;
  const values = (dataset[PIXEL_DATA]?.Value ?? []) as ArrayBuffer[];
  const syntax = String(dicom.meta['00020010']?.Value?.[0] ?? '');
  if (!NATIVE_SYNTAXES.has(syntax)) {
    const bytes = values[frame - 1];
    if (!bytes) throw notFound(`There is no frame ${frame}`);
    return Buffer.from(bytes);
  }
  const number = (tag: string) => Number(dataset[tag]?.Value?.[0] ?? 0);
  const frameSize = (number('00280010') * number('00280011') * (number('00280002') || 1) * number('00280100')) / 8;
  const all = Buffer.concat(values.map((v) => Buffer.from(v)));
  if (frameSize <= 0 || frame * frameSize > all.length) throw notFound(`There is no frame ${frame}`);
  return all.subarray((frame - 1) * frameSize, frame * frameSize);
}

/** Retrieve bulk data (PS3.18 10.4.1.1.5): the value behind a BulkDataURI of the instance's metadata. */
export async function retrieveBulkData(target: Required<Target>, path: string, accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  if (!/^[0-9A-Fa-f]{8}(\/\d+\/[0-9A-Fa-f]{8})*$/.test(path)) throw notFound(`No bulk data at ${path}`);
  const [row] = await seenInstances(target, context);
  const part10 = await buffer(await objectOf(row!, context));
  let value: Buffer | undefined;
  if (path.toUpperCase() === PIXEL_DATA) {
    const dicom = dcmjs.data.DicomMessage.readFile(part10.buffer.slice(part10.byteOffset, part10.byteOffset + part10.length) as ArrayBuffer);
    value = Buffer.concat(((dicom.dict[PIXEL_DATA]?.Value ?? []) as ArrayBuffer[]).map((v) => Buffer.from(v)));
  } else {
    value = bulkValue(part10, path);
  }
  if (!value) throw notFound(`No bulk data at ${path}`);
  negotiate(accept, 'application/octet-stream', [row!.transfer_syntax_uid]);
  const { contentType, body } = multipart([{ type: 'application/octet-stream', location: `${instanceUrl(context.base, row!)}/bulkdata/${path}`, open: async () => value }]);
  return { status: 200, contentType: contentType('application/octet-stream'), body };
}
