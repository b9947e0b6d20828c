import type { ImagingStudy, ImagingStudySeries } from '@medplum/fhirtypes';

/** The platform's DICOMweb service, beside /fhir on the app's own origin (the page's CSP allows no other). */
export function dicomWebBase(origin: string): string {
  return `${origin}/dicom-web`;
}

/**
 * The Study Instance UID of an ImagingStudy: its `urn:dicom:uid` identifier, `urn:oid:` prefix removed
 * (https://hl7.org/fhir/R4/imagingstudy.html#notes).
 */
export function studyInstanceUid(study: ImagingStudy): string | undefined {
  const value = study.identifier?.find((i) => i.system === 'urn:dicom:uid')?.value;
  return value?.replace(/^urn:oid:/, '') || undefined;
}

/** The modalities of a study (its own list, else its series'), each once. */
export function studyModalities(study: ImagingStudy): string[] {
  const codes = (study.modality ?? []).map((m) => m.code).concat((study.series ?? []).map((s) => s.modality?.code));
  return [...new Set(codes.filter((c): c is string => Boolean(c)))];
}

/** Series as the study lists them, by series number (unnumbered last), each with its instance count. */
export function orderedSeries(study: ImagingStudy): (ImagingStudySeries & { instances: number })[] {
  return (study.series ?? [])
    .map((s) => ({ ...s, instances: s.numberOfInstances ?? s.instance?.length ?? 0 }))
    .sort((a, b) => (a.number ?? Number.MAX_SAFE_INTEGER) - (b.number ?? Number.MAX_SAFE_INTEGER));
}

/** The instance count of a study: its own, else the sum of its series'. */
export function studyInstanceCount(study: ImagingStudy): number {
  return study.numberOfInstances ?? orderedSeries(study).reduce((n, s) => n + s.instances, 0);
}

const segment = (uid: string) => encodeURIComponent(uid);

/** DICOMweb resource URLs (PS3.18 §10.4 retrieve, §10.6 search, §10.7 thumbnails: https://dicom.nema.org/medical/dicom/current/output/html/part18.html). */
export const dicomWeb = {
  series: (base: string, study: string, series: string) => `${base}/studies/${segment(study)}/series/${segment(series)}`,
  /** QIDO-RS: the series' instances. */
  instances: (base: string, study: string, series: string) => `${dicomWeb.series(base, study, series)}/instances`,
  /** WADO-RS: one instance, as a multipart/related of one application/dicom part. */
  instance: (base: string, study: string, series: string, sop: string) => `${dicomWeb.instances(base, study, series)}/${segment(sop)}`,
  thumbnail: (base: string, study: string, series: string) => `${dicomWeb.series(base, study, series)}/thumbnail`,
};

/**
 * The Accept of a WADO-RS instance retrieve (PS3.18 §8.7.3.5): `*` asks for the syntax as stored,
 * so compressed images travel compressed and are decoded in the browser; a UID asks the server to transcode.
 */
export function instanceAccept(transferSyntax: string = '*'): string {
  return `multipart/related; type="application/dicom"; transfer-syntax=${transferSyntax}`;
}

/** A DICOM JSON dataset (PS3.18 §F.2): attributes by tag, `ggggeeee` in upper-case hex. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] } | undefined>;

const TAG = { sopInstanceUid: '00080018', instanceNumber: '00200013', numberOfFrames: '00280008' } as const;

function firstValue(dataset: DicomJson, tag: string): unknown {
  return dataset[tag]?.Value?.[0];
}

/** A number from an IS or US value, which DICOM JSON may carry as a number or as a string. */
function numberValue(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

export interface SeriesInstance {
  sopInstanceUid: string;
  instanceNumber?: number;
  frames: number;
}

/**
 * The instances of a QIDO-RS answer in viewing order (by Instance Number, unnumbered last, then by
 * UID so the order is stable); datasets without a SOP Instance UID are left out.
 */
export function seriesInstances(datasets: DicomJson[]): SeriesInstance[] {
  const instances: SeriesInstance[] = [];
  for (const dataset of datasets) {
    const uid = firstValue(dataset, TAG.sopInstanceUid);
    if (typeof uid !== 'string' || uid === '') continue;
    const instanceNumber = numberValue(firstValue(dataset, TAG.instanceNumber));
    instances.push({ sopInstanceUid: uid, frames: numberValue(firstValue(dataset, TAG.numberOfFrames)) ?? 1, ...(instanceNumber !== undefined ? { instanceNumber } : {}) });
  }
  const order = (n: number | undefined) => n ?? Number.MAX_SAFE_INTEGER;
  return instances.sort((a, b) => order(a.instanceNumber) - order(b.instanceNumber) || (a.sopInstanceUid < b.sopInstanceUid ? -1 : a.sopInstanceUid > b.sopInstanceUid ? 1 : 0));
}

/** The frame to open a stack on: the middle one (0-based), where a cross-sectional study shows most anatomy. */
export function middleIndex(count: number): number {
  return count > 0 ? Math.floor((count - 1) / 2) : 0;
}

/** An index moved by `step` and kept within 0..count-1. */
export function clampIndex(index: number, step: number, count: number): number {
  return Math.min(Math.max(index + step, 0), Math.max(count - 1, 0));
}

/** The keyboard's commands in the viewer (https://www.w3.org/WAI/ARIA/apg/practices/keyboard-interface/). */
export type ViewerKey = { kind: 'scroll'; step: number } | { kind: 'first' } | { kind: 'last' } | { kind: 'zoom'; step: number } | { kind: 'reset' };

/** The command a key gives, undefined for keys the viewer leaves alone. */
export function viewerKey(key: string): ViewerKey | undefined {
  switch (key) {
    case 'ArrowDown':
    case 'ArrowRight':
      return { kind: 'scroll', step: 1 };
    case 'ArrowUp':
    case 'ArrowLeft':
      return { kind: 'scroll', step: -1 };
    case 'PageDown':
      return { kind: 'scroll', step: 10 };
    case 'PageUp':
      return { kind: 'scroll', step: -10 };
    case 'Home':
      return { kind: 'first' };
    case 'End':
      return { kind: 'last' };
    case '+':
    case '=':
      return { kind: 'zoom', step: ZOOM_STEP };
    case '-':
      return { kind: 'zoom', step: -ZOOM_STEP };
    case '0':
    case 'r':
    case 'R':
      return { kind: 'reset' };
    default:
      return undefined;
  }
}

/** The wheel travel (CSS pixels) that moves one frame: one notch of a mouse wheel, several strokes of a touchpad. */
export const WHEEL_STEP = 50;

/** Frames to move for the wheel travel not yet spent plus a new delta, and the travel left over. */
export function wheelFrames(pending: number, deltaY: number): { frames: number; pending: number } {
  const total = pending + deltaY;
  const frames = Math.trunc(total / WHEEL_STEP);
  return { frames, pending: total - frames * WHEEL_STEP };
}

/** A zoom button's or key's change of scale. */
export const ZOOM_STEP = 0.25;

/** Whether the image loader has no decoder for an image's transfer syntax. */
export function isUnsupportedSyntax(error: unknown): boolean {
  const text = error instanceof Error ? error.message : typeof error === 'string' ? error : '';
  return /no decoder for transfer syntax/i.test(text);
}

/** A named window: "stored" (numbered `stored:2`… from the file's second), "minmax" or an anatomy. */
export interface WindowPreset {
  name: string;
  center: number;
  width: number;
}

/** Common CT windows in Hounsfield units, as radiology viewers offer them. */
const CT_PRESETS: WindowPreset[] = [
  { name: 'mediastinum', center: 40, width: 400 },
  { name: 'lung', center: -500, width: 1500 },
  { name: 'bone', center: 500, width: 2000 },
  { name: 'brain', center: 40, width: 80 },
  { name: 'head', center: 90, width: 350 },
];

/**
 * The windows offered for an image: those stored in the file (Window Center and Width, PS3.3
 * C.11.2.1.2), the image's full range, and for CT the anatomical ones.
 */
export function windowPresets(modality: string, stored: readonly { center: number; width: number }[], range?: { min: number; max: number }): WindowPreset[] {
  const presets = stored.filter((w) => Number.isFinite(w.center) && w.width > 0).map((w, i) => ({ name: i === 0 ? 'stored' : `stored:${i + 1}`, center: w.center, width: w.width }));
  if (range && range.max >= range.min) presets.push({ name: 'minmax', center: (range.max + range.min) / 2, width: Math.max(1, range.max - range.min) });
  return modality === 'CT' ? presets.concat(CT_PRESETS) : presets;
}

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

const CRLF = [0x0d, 0x0a];

/** Where `needle` first occurs in `bytes` from `from`, or -1. */
function indexOf(bytes: Uint8Array, needle: readonly number[] | Uint8Array, from: number): number {
  const first = needle[0]!;
  for (let at = bytes.indexOf(first, from); at !== -1 && at + needle.length <= bytes.length; at = bytes.indexOf(first, at + 1)) {
    let i = 1;
    while (i < needle.length && bytes[at + i] === needle[i]) i++;
    if (i === needle.length) return at;
  }
  return -1;
}

/**
 * The bodies of a multipart/related answer (RFC 2046 §5.1.1, PS3.18 §8.7.3.1), found by the
 * delimiter its first line carries, so no Content-Type header is needed; headers of each part skipped.
 */
export function multipartParts(body: Uint8Array): Uint8Array[] {
  // The first delimiter opens the body, or ends a preamble on a line of its own.
  const preamble = body[0] === 0x2d && body[1] === 0x2d ? -2 : indexOf(body, [...CRLF, 0x2d, 0x2d], 0);
  if (preamble === -1) return [];
  const start = preamble + 2;
  const lineEnd = indexOf(body, CRLF, start);
  if (lineEnd < 0) return [];
  const boundary = ascii(body.subarray(start, lineEnd)).trimEnd();
  const delimiter = Uint8Array.from(`\r\n${boundary}`, (c) => c.charCodeAt(0));
  const parts: Uint8Array[] = [];
  let cursor = lineEnd + 2;
  for (;;) {
    // A part's headers end at an empty line; a part without headers starts with it.
    const bodyStart = body[cursor] === 0x0d && body[cursor + 1] === 0x0a ? cursor + 2 : indexOf(body, [...CRLF, ...CRLF], cursor) + 4;
    if (bodyStart < 4) break;
    const end = indexOf(body, delimiter, bodyStart);
    if (end < 0) break;
    parts.push(body.subarray(bodyStart, end));
    cursor = end + delimiter.length;
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) break;
    cursor = indexOf(body, CRLF, cursor) + 2;
    if (cursor < 2) break;
  }
  return parts;
}

/** `work` over the items, at most `limit` at a time, the results in the items' order; the first failure rejects. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
