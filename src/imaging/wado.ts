import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import dcmjs from 'dcmjs';
import { badRequest, notAcceptable, notFound } from '../fhir/outcome.js';
import type { InstanceFile, InstanceTarget } from '../store/dicom-index.js';
import { type DicomJson, PIXEL_DATA, bulkValue } from './dicom-json.js';
import type { PooledChunk } from './buffer-pool.js';
import { type ChunkSource, objectChunks } from './object-store.js';
import { extractFrame, transcodeToExplicitLittleEndian, uncompressedFrame } from './pixels/index.js';
import type { ImagingContext } from './stow.js';

/**
 * WADO-RS (PS3.18 10.4): studies, series and instances as multipart/related parts of
 * application/dicom streamed from the object store as stored, or transcoded to Explicit VR Little
 * Endian by the pixel module; their metadata as DICOM JSON with bulk data URIs that resolve here;
 * frames uncompressed as application/octet-stream or in the stored compressed type, and bulk
 * data. What the caller may not see is answered like what does not exist.
 */

/** A study, one of its series, or one instance, as the URL names it. */
export type Target = InstanceTarget;

export interface WadoAnswer {
  status: number;
  contentType: string;
  body: string | Buffer | WrittenBody;
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

/** Explicit VR Little Endian: the default syntax of application/dicom and of uncompressed frames (PS3.18 8.7.3.5.2). */
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';

/** The multipart/related ranges of an Accept header (a wildcard counts as one), with the part type and transfer syntax each names. */
function multipartRanges(accept: string | undefined): { type?: string; syntax?: string }[] {
  return mediaRanges(accept)
    .filter((range) => range.type === 'multipart/related' || range.type === 'multipart/*' || range.type === '*/*')
    .map((range) => ({
      ...(range.parameters.type ? { type: range.parameters.type.toLowerCase() } : {}),
      ...(range.parameters['transfer-syntax'] ? { syntax: range.parameters['transfer-syntax'] } : {}),
    }));
}

/**
 * Whether the client takes multipart/related parts of `partType` in the syntax stored: `*`,
 * the stored syntax or no transfer-syntax parameter; 406 otherwise.
 */
function negotiate(accept: string | undefined, partType: string, storedSyntaxes: readonly string[]): void {
  for (const range of multipartRanges(accept)) {
    if (range.type && range.type !== partType) continue;
    if (range.syntax === undefined || range.syntax === '*' || storedSyntaxes.every((s) => s === range.syntax)) return;
  }
  throw notAcceptable(`This is served as multipart/related; type="${partType}" in the syntax it was stored in (${[...new Set(storedSyntaxes)].join(', ')}); ask with transfer-syntax=*`);
}

/**
 * The syntax instances are sent in (PS3.18 8.7.3.5.2): as stored for `*` or the stored syntax;
 * Explicit VR Little Endian, the default, when asked for it or for no syntax (stored ones sent
 * as they are, others transcoded); 406 for any other.
 */
function instanceSyntax(accept: string | undefined, storedSyntaxes: readonly string[]): 'stored' | 'explicit-little-endian' {
  for (const range of multipartRanges(accept)) {
    if (range.type && range.type !== 'application/dicom') continue;
    if (range.syntax === '*' || (range.syntax !== undefined && storedSyntaxes.every((s) => s === range.syntax))) return 'stored';
    if (range.syntax === undefined || range.syntax === EXPLICIT_VR_LITTLE_ENDIAN) return 'explicit-little-endian';
  }
  throw notAcceptable(`Instances are served as multipart/related; type="application/dicom" as stored (${[...new Set(storedSyntaxes)].join(', ')}, transfer-syntax=*) or in ${EXPLICIT_VR_LITTLE_ENDIAN}`);
}

/** The target's instances the caller may see, in series and instance number order; none is a 404. */
export function seenInstances(target: Target, context: ImagingContext): Promise<InstanceFile[]> {
  return withSeenInstances(target, context, async (rows) => rows);
}

/**
 * What `use` makes of the instances the caller may see (`seenInstances`), made while their audit
 * record commits and given back once it has: a rendered frame is ready by then, and nothing of
 * it goes out before.
 */
export async function withSeenInstances<T>(target: Target, context: ImagingContext, use: (rows: InstanceFile[]) => Promise<T>): Promise<T> {
  const { rows, audited } = await auditingInstances(target, context);
  const [made] = await Promise.all([use(rows), audited]);
  return made;
}

/** `seenInstances`, with the commit of their audit record still to wait for before anything of them goes out. */
async function auditingInstances(target: Target, context: ImagingContext): Promise<{ rows: InstanceFile[]; audited: Promise<void> }> {
  const found = await context.repo.dicom.instanceFiles(target);
  assertSeen(target, found.rows);
  return found;
}

/** A 404 when the caller sees none of the target's instances. */
function assertSeen(target: Target, rows: readonly unknown[]): void {
  if (rows.length === 0) throw notFound(`No ${target.instance ? 'instance' : target.series ? 'series' : 'study'} ${target.instance ?? target.series ?? target.study} is known`);
}

/** Parts opened ahead of the one being written: the store's round trips overlap the socket's writes. */
const READ_AHEAD = 3;

/** What a part holds: bytes in memory, or an object's chunks from the store. */
type PartContent = Buffer | ChunkSource;

interface Part {
  type: string;
  location?: string;
  open: () => Promise<PartContent>;
  /** The content's length when known before it is opened: with every part's, the body's Content-Length. */
  length?: number;
}

/**
 * A body written straight to the response rather than handed over as a stream: each chunk read
 * from the store goes back to its pool as soon as the socket has taken it (src/imaging/buffer-pool.ts).
 * `start` sends the status and headers; the body calls it right before its first byte, once
 * what it discloses is audited, so a failure before then can still be answered as one.
 */
export interface WrittenBody {
  write(out: Writable, start: () => void): Promise<void>;
}

export function isWrittenBody(body: WadoAnswer['body']): body is WrittenBody {
  return typeof body === 'object' && !Buffer.isBuffer(body);
}

/**
 * A multipart/related body of `parts`, each opened READ_AHEAD parts before its turn; nothing is
 * written before `audited` resolves, but the first parts are opened meanwhile.
 */
function multipart(parts: readonly Part[], audited: Promise<void> = Promise.resolve()): { contentType: (type: string) => string; body: WrittenBody; length?: number } {
  const boundary = `densaulyq-${randomUUID()}`;
  const heads = parts.map((part) => Buffer.from(`--${boundary}\r\nContent-Type: ${part.type}\r\n${part.location ? `Content-Location: ${part.location}\r\n` : ''}\r\n`));
  const end = Buffer.from(`--${boundary}--\r\n`);
  const known = parts.every((part) => part.length !== undefined);
  const length = known ? heads.reduce((sum, head, i) => sum + head.length + parts[i]!.length! + CRLF.length, end.length) : undefined;
  const write = async (out: Writable, start: () => void) => {
    const opened: Promise<PartContent>[] = [];
    const openAhead = (last: number) => {
      for (let next = opened.length; next <= Math.min(last, parts.length - 1); next++) {
        const content = parts[next]!.open();
        // Awaited when its turn comes; an answer broken off before then must not leave an unhandled rejection.
        content.catch(() => undefined);
        opened.push(content);
      }
    };
    try {
      openAhead(READ_AHEAD);
      await audited;
      start();
      // What goes out with the next bytes: a part's head with its first chunk, the CRLF that ends a part with the next head.
      let prefix: Buffer[] = [];
      for (let i = 0; i < parts.length; i++) {
        openAhead(i + READ_AHEAD);
        prefix.push(heads[i]!);
        const content = await opened[i]!;
        if (Buffer.isBuffer(content)) {
          await send(out, [...prefix, content]);
          prefix = [];
        } else {
          let written = 0;
          for await (const chunk of content) {
            written += chunk.bytes.length;
            await send(out, [...prefix, chunk.bytes], chunk.release);
            prefix = [];
          }
          // The Content-Length promised the indexed size: a shorter file must break the answer, not end it early.
          if (parts[i]!.length !== undefined && written !== parts[i]!.length) throw new Error(`an object is ${written} bytes, not the ${parts[i]!.length} indexed`);
        }
        prefix.push(CRLF);
      }
      await send(out, [...prefix, end]);
    } finally {
      // What was opened ahead of an answer broken off is closed.
      for (const content of opened) void content.then((c) => (Buffer.isBuffer(c) ? undefined : c.return()), () => undefined);
    }
  };
  return { contentType: (type) => `multipart/related; type="${type}"; boundary=${boundary}`, body: { write }, ...(length !== undefined ? { length } : {}) };
}

const CRLF = Buffer.from('\r\n');

/**
 * Writes `buffers` in one go (corked: one system call rather than one each, and each costs a
 * loopback or network round of its own), `release` called once the last is written or the
 * answer is broken off; resolves at once, or when the socket drains.
 */
async function send(out: Writable, buffers: readonly Buffer[], release?: () => void): Promise<void> {
  if (out.destroyed) {
    release?.();
    throw new Error('the answer was broken off');
  }
  out.cork();
  buffers.forEach((buffer, i) => out.write(buffer, i === buffers.length - 1 && release ? () => release() : undefined));
  out.uncork();
  if (!out.writableNeedDrain) return;
  await new Promise<void>((resolve, reject) => {
    const drained = () => {
      out.off('close', closed);
      resolve();
    };
    const closed = () => {
      out.off('drain', drained);
      reject(new Error('the answer was broken off'));
    };
    out.once('drain', drained);
    out.once('close', closed);
  });
}

/** The stored object's bytes, in pooled chunks. */
async function storedChunks(row: InstanceFile, context: ImagingContext): Promise<ChunkSource> {
  const chunks = await objectChunks(context.store, row.object_key, { start: 0, end: row.size });
  if (!chunks) throw missingObject(row);
  return chunks;
}

const missingObject = (row: InstanceFile) => notFound(`The instance ${row.sop_instance_uid} is indexed but its object is missing from storage`);

/** The instance's whole Part 10 file, as the pixel module reads it, the caller's to keep. */
export function part10Of(row: InstanceFile, context: ImagingContext): Promise<Buffer> {
  return withPart10(row, context, async (lent) => Buffer.from(lent));
}

/**
 * Runs `use` on the instance's whole Part 10 file, read into a reused buffer when it fits in one
 * (src/imaging/buffer-pool.ts): the bytes are lent, and must not be kept once `use` resolves.
 */
export async function withPart10<T>(row: InstanceFile, context: ImagingContext, use: (part10: Buffer) => Promise<T>): Promise<T> {
  const chunks: PooledChunk[] = [];
  try {
    for await (const chunk of await storedChunks(row, context)) chunks.push(chunk);
    return await use(chunks.length === 1 ? chunks[0]!.bytes : Buffer.concat(chunks.map((chunk) => chunk.bytes)));
  } finally {
    for (const chunk of chunks) chunk.release();
  }
}

/** Retrieve instances (PS3.18 10.4.1.1.1): a study, a series or one instance, as stored or in Explicit VR Little Endian. */
export async function retrieveInstances(target: Target, accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  const { rows, audited } = await auditingInstances(target, context);
  const syntax = instanceSyntax(accept, rows.map((r) => r.transfer_syntax_uid));
  if (syntax === 'explicit-little-endian' && rows.some((r) => r.transfer_syntax_uid === EXPLICIT_VR_BIG_ENDIAN))
    throw notAcceptable(`Instances stored in Explicit VR Big Endian are not transcoded; ask with transfer-syntax=*`);
  const transcoded = (row: InstanceFile) => syntax === 'explicit-little-endian' && row.transfer_syntax_uid !== EXPLICIT_VR_LITTLE_ENDIAN;
  // The first instance to transcode is transcoded before answering, so a file the decoders refuse
  // is its status rather than a broken body (the whole answer when one instance is asked for).
  const first = rows.find(transcoded);
  const firstFile = first && (await transcodeToExplicitLittleEndian(await part10Of(first, context)));
  const { contentType, body, length } = multipart(
    rows.map((row) => ({
      type: `application/dicom; transfer-syntax=${transcoded(row) ? EXPLICIT_VR_LITTLE_ENDIAN : row.transfer_syntax_uid}`,
      location: instanceUrl(context.base, row),
      open: async () => (row === first ? firstFile! : transcoded(row) ? transcodeToExplicitLittleEndian(await part10Of(row, context)) : storedChunks(row, context)),
      ...(transcoded(row) ? {} : { length: row.size }),
    })),
    audited,
  );
  return { status: 200, contentType: contentType('application/dicom'), body, ...(length !== undefined ? { headers: { 'content-length': String(length) } } : {}) };
}

function instanceUrl(base: string, row: InstanceFile): string {
  return `${base}/studies/${row.study_uid}/series/${row.series_uid}/instances/${row.sop_instance_uid}`;
}

/** Retrieve metadata (PS3.18 10.4.1.1.2): the instances' DICOM JSON, bulk data as absolute BulkDataURIs. */
export async function retrieveMetadata(target: Target, accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  const ranges = mediaRanges(accept);
  if (!ranges.some((r) => ['application/dicom+json', 'application/json', 'application/*', '*/*'].includes(r.type))) {
    throw notAcceptable(`Metadata is served as application/dicom+json`);
  }
  const rows = await context.repo.dicom.instances(target);
  assertSeen(target, rows);
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

/**
 * Retrieve frames (PS3.18 10.4.1.1.3, 8.7.3.5, table 8.7.3-2): as application/octet-stream, the
 * default, each frame's samples uncompressed in Explicit VR Little Endian (decoded when stored
 * compressed); with transfer-syntax=* or the stored syntax's own media type, the bytes as stored;
 * 406 otherwise.
 */
export async function retrieveFrames(target: Required<Target>, frameList: string, accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  if (!/^\d+(,\d+)*$/.test(frameList)) throw badRequest(`Frames are a comma-separated list of numbers from 1, not "${frameList}"`, 'frames');
  const frames = frameList.split(',').map(Number);
  const [row] = await seenInstances(target, context);
  const stored = row!.transfer_syntax_uid;
  const storedType = FRAME_MEDIA_TYPES[stored] ?? 'application/octet-stream';
  const asStored = frameSyntax(accept, stored, storedType) === 'stored';
  const count = row!.number_of_frames ?? 1;
  const bad = frames.find((f) => f < 1 || f > count);
  if (bad !== undefined) throw notFound(`The instance has ${count} frame(s); there is no frame ${bad}`);
  const part10 = await part10Of(row!, context);
  const url = instanceUrl(context.base, row!);
  const partType = asStored ? storedType : 'application/octet-stream';
  const frameOf = async (n: number) => (asStored ? extractFrame(part10, n).bytes : (await uncompressedFrame(part10, n)).bytes);
  // The first frame before answering: a file the decoders refuse is its status, not a broken body.
  const first = await frameOf(frames[0]!);
  const { contentType, body } = multipart(
    frames.map((n, i) => ({
      type: `${partType}; transfer-syntax=${asStored ? stored : EXPLICIT_VR_LITTLE_ENDIAN}`,
      location: `${url}/frames/${n}`,
      open: async () => (i === 0 ? first : frameOf(n)),
    })),
  );
  return { status: 200, contentType: contentType(partType), body };
}

/** Whether frames go as stored or uncompressed, from the first multipart range the Accept header allows. */
function frameSyntax(accept: string | undefined, stored: string, storedType: string): 'stored' | 'uncompressed' {
  for (const range of multipartRanges(accept)) {
    if (range.syntax === '*' || range.syntax === stored) {
      if (!range.type || range.type === storedType || range.type === 'application/octet-stream') return 'stored';
      continue;
    }
    if (range.type && range.type !== 'application/octet-stream') {
      if (range.type === storedType && range.syntax === undefined) return 'stored';
      continue;
    }
    if (range.syntax === undefined || range.syntax === EXPLICIT_VR_LITTLE_ENDIAN) return 'uncompressed';
  }
  throw notAcceptable(`Frames are served as multipart/related; type="application/octet-stream" (uncompressed) or as stored (${storedType}; transfer-syntax=${stored}, or transfer-syntax=*)`);
}

/** Retrieve bulk data (PS3.18 10.4.1.1.5): the value behind a BulkDataURI of the instance's metadata. */
export async function retrieveBulkData(target: Required<Target>, path: string, accept: string | undefined, context: ImagingContext): Promise<WadoAnswer> {
  if (!/^[0-9A-Fa-f]{8}(\/\d+\/[0-9A-Fa-f]{8})*$/.test(path)) throw notFound(`No bulk data at ${path}`);
  const [row] = await seenInstances(target, context);
  const part10 = await part10Of(row!, context);
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
