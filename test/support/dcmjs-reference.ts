import dcmjs, { type DenaturalizedDataset, type DicomElement } from 'dcmjs';
import { type DicomJson, PIXEL_DATA } from '../../src/imaging/dicom-json.js';

/**
 * The dcmjs path as the platform read an instance's head before src/imaging/dicom-reader.ts: the
 * reference the reader's tests compare with, and the baseline of bench/dicom-head-run.ts.
 */

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

function dcmjsRead(bytes: Buffer) {
  return dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer, { untilTag: PIXEL_DATA, includeUntilTagValue: false });
}

function binaryValue(element: DicomElement): Buffer | undefined {
  const parts = (element.Value ?? []).filter((v): v is ArrayBuffer => v instanceof ArrayBuffer);
  return parts.length === 0 ? undefined : Buffer.concat(parts.map((p) => Buffer.from(p)));
}

function itemEncoding(element: DicomElement | undefined): string | undefined {
  const raw = element?._rawValue ?? element?.Value;
  const terms = (Array.isArray(raw) ? raw : [raw]).map((t) => String(t ?? '').trim().replace(/^ISO 2022 IR /, 'ISO_IR '));
  const encoding = terms.map((t) => ({ 'ISO_IR 192': 'utf8', 'ISO_IR 144': 'iso-8859-5' })[t]).find((e) => e !== undefined);
  return encoding;
}

function mended(value: unknown, encoding: string): unknown {
  if (typeof value === 'string') return /^[\u0000-\u00ff]*$/.test(value) && /[\u0080-\u00ff]/.test(value) ? new TextDecoder(encoding === 'utf8' ? 'utf-8' : encoding).decode(Buffer.from(value, 'latin1')) : value;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mended(v, encoding)]));
  return value;
}

function toDicomJson(dataset: DenaturalizedDataset, path: string, encoding: string | undefined, depth: number): DicomJson {
  const json: DicomJson = {};
  for (const [tag, element] of Object.entries(dataset)) {
    if (tag === PIXEL_DATA || !/^[0-9A-F]{8}$/i.test(tag)) continue;
    const key = tag.toUpperCase();
    const out: DicomElement = { vr: element.vr };
    if (BINARY_VRS.has(element.vr)) {
      const bytes = binaryValue(element);
      if (bytes && bytes.length > 1024) out.BulkDataURI = `bulkdata/${path}${key}`;
      else if (bytes && bytes.length > 0) out.InlineBinary = bytes.toString('base64');
    } else if (element.vr === 'SQ') {
      const items = (element.Value ?? []) as DenaturalizedDataset[];
      if (items.length > 0) out.Value = items.map((item, i) => toDicomJson(item, `${path}${key}/${i}/`, item['00080005'] ? itemEncoding(item['00080005']) : encoding, depth + 1));
    } else if (element.Value && element.Value.length > 0 && !element.Value.every((v) => v === '' || v === null || v === undefined)) {
      const text = depth > 0 && ['SH', 'LO', 'ST', 'LT', 'UT', 'UC', 'PN'].includes(element.vr) ? encoding : undefined;
      out.Value = element.Value.map((v) => (v === '' || v === undefined ? null : text ? mended(v, text) : v));
    }
    json[key] = out;
  }
  return json;
}

/** The metadata the dcmjs path gave (src/imaging/dicom-json.ts before the reader). */
export function dcmjsMetadata(bytes: Buffer): DicomJson {
  const dicom = dcmjsRead(bytes);
  const metadata = toDicomJson(dicom.dict, '', itemEncoding(dicom.dict['00080005']), 0);
  if (PIXEL_DATA in dicom.dict) {
    const syntax = String(dicom.meta['00020010']?.Value?.[0]);
    const native = ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2'].includes(syntax) && Number(dicom.dict['00280100']?.Value?.[0]) > 8;
    metadata[PIXEL_DATA] = { vr: native ? 'OW' : 'OB', BulkDataURI: `bulkdata/${PIXEL_DATA}` };
  }
  return metadata;
}

/** The bulk value at `path` as the dcmjs path found it. */
export function dcmjsBulkValue(bytes: Buffer, path: string): Buffer | undefined {
  const steps = path.split('/');
  let dataset: DenaturalizedDataset | undefined = dcmjsRead(bytes).dict;
  for (let i = 0; i < steps.length && dataset; i += 2) {
    const element: DicomElement | undefined = dataset[steps[i]!];
    if (!element) return undefined;
    if (i === steps.length - 1) return binaryValue(element);
    dataset = element.Value?.[Number(steps[i + 1])] as DenaturalizedDataset | undefined;
  }
  return undefined;
}
