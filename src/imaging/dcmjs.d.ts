/** The parts of dcmjs (which ships no types) the platform uses. */
declare module 'dcmjs' {
  /** A DICOM element as dcmjs holds it: `vr` and the values, keyed by tag ("00100010"). */
  export interface DicomElement {
    vr: string;
    Value?: unknown[];
    InlineBinary?: string;
    BulkDataURI?: string;
    /** The value as read, before dcmjs converted it (SpecificCharacterSet as the file declared it). */
    _rawValue?: unknown;
  }
  export type DenaturalizedDataset = Record<string, DicomElement>;

  interface DictionaryEntry {
    tag: string;
    vr: string;
    vm: string;
    name: string;
  }

  class DicomDict {
    constructor(meta: DenaturalizedDataset);
    meta: DenaturalizedDataset;
    dict: DenaturalizedDataset;
    write(options?: { allowInvalidVRLength?: boolean; fragmentMultiframe?: boolean }): ArrayBuffer;
  }
  interface ReadOptions {
    ignoreErrors?: boolean;
    /** Stop before this tag ("7FE00010" stops before the pixel data). */
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
    forceStoreRaw?: boolean;
  }
  const data: {
    DicomDict: typeof DicomDict;
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: ReadOptions): DicomDict;
    };
    DicomMetaDictionary: {
      naturalizeDataset(dataset: DenaturalizedDataset): Record<string, unknown>;
      denaturalizeDataset(dataset: Record<string, unknown>): DenaturalizedDataset;
      uid(): string;
      /** The data dictionary (PS3.6) by keyword, and by tag written `(GGGG,EEEE)`. */
      nameMap: Record<string, DictionaryEntry | undefined>;
      dictionary: Record<string, DictionaryEntry | undefined>;
    };
  };
  const dcmjs: { data: typeof data };
  export default dcmjs;
}
