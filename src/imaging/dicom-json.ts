import dcmjs, { type DicomElement } from 'dcmjs';
import { readPart10 } from './dicom-reader.js';

export { INLINE_BINARY_LIMIT, NATIVE_SYNTAXES, PIXEL_DATA, TruncatedHead, vrOfTag } from './dicom-reader.js';

/**
 * An instance's metadata in the DICOM JSON model (PS3.18 annex F.2), read from the head of its
 * Part 10 file: everything before the pixel data, so a file of gigabytes is never read whole.
 * Text in any declared character set (ISO_IR 192, ISO_IR 144 Cyrillic, in sequence items too)
 * comes out as Unicode, as DICOM JSON wants it (F.2.5: always UTF-8).
 */

export type DicomJson = Record<string, DicomElement>;

export interface InstanceHead {
  transferSyntaxUid: string;
  sopClassUid?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  /** Media Storage SOP Instance UID of the file meta information. */
  mediaStorageSopInstanceUid?: string;
  /**
   * The dataset as DICOM JSON; bulk data as `BulkDataURI` relative to the instance's URL
   * (`bulkdata/7FE00010`), made absolute when served.
   */
  metadata: DicomJson;
}

/** Reads the head of a Part 10 file; `complete` when `head` is the whole file. Throws when it is not DICOM. */
export function readInstanceHead(head: Buffer, complete: boolean): InstanceHead {
  const { transferSyntaxUid, meta, dataset } = readPart10(head, complete);
  const text = (json: DicomJson, tag: string) => {
    const value = json[tag]?.Value?.[0];
    return typeof value === 'string' && value !== '' ? value.trim() : undefined;
  };
  return {
    transferSyntaxUid,
    sopClassUid: text(dataset, '00080016'),
    sopInstanceUid: text(dataset, '00080018'),
    studyInstanceUid: text(dataset, '0020000D'),
    seriesInstanceUid: text(dataset, '0020000E'),
    mediaStorageSopInstanceUid: text(meta, '00020003'),
    metadata: dataset,
  };
}

/** The value of a bulk data element of the Part 10 file at `path` (tags and item numbers, `00091010`, `00540016/0/00281201`). */
export function bulkValue(part10: Buffer, path: string): Buffer | undefined {
  return readPart10(part10, true, path).bulk;
}

/** The first value of `tag` as text (PN: its alphabetic form), for the index. */
export function firstText(metadata: DicomJson, tag: string): string | undefined {
  const value = metadata[tag]?.Value?.[0];
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'object') {
    const alphabetic = (value as { Alphabetic?: string }).Alphabetic;
    return alphabetic || undefined;
  }
  return String(value);
}

/** The tag of a keyword in the DICOM dictionary (PS3.6), as dcmjs carries it. */
export function tagOfKeyword(keyword: string): string | undefined {
  const entry = dcmjs.data.DicomMetaDictionary.nameMap[keyword];
  return entry ? entry.tag.replace(/[(),]/g, '').toUpperCase() : undefined;
}
