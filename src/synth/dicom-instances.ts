import { randomUUID } from 'node:crypto';
import dcmjs from 'dcmjs';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

/** Explicit VR little endian, the syntax every DICOM peer reads and writes. */
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** CT Image Storage. */
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

/** A fresh DICOM UID (2.25 + a UUID as an integer, PS3.5 B.2). */
export function dicomUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replaceAll('-', '')}`).toString()}`;
}

export interface InstanceOptions {
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  sopClassUid?: string;
  /** Attributes (dcmjs keyword → value) added to or replacing the defaults, e.g. PatientID. */
  attributes?: Record<string, unknown>;
  rows?: number;
  columns?: number;
  frames?: number;
  /** 8 or 16. */
  bitsAllocated?: 8 | 16;
  /** 1 (MONOCHROME2) or 3 (RGB, interleaved). */
  samplesPerPixel?: 1 | 3;
  /** The sample value at (frame, row, column, sample); a gradient by default, so frames differ. */
  pixel?: (frame: number, row: number, column: number, sample: number) => number;
}

/**
 * A Part 10 file (explicit VR little endian, uncompressed) made with dcmjs: a real instance that
 * dcmtk, Orthanc and the platform read alike. Strings are written as UTF-8, so a caller writing
 * non-ASCII text sets SpecificCharacterSet 'ISO_IR 192' (the default here).
 */
export function dicomInstance(options: InstanceOptions = {}): Buffer {
  const rows = options.rows ?? 16;
  const columns = options.columns ?? 16;
  const frames = options.frames ?? 1;
  const bits = options.bitsAllocated ?? 16;
  const samples = options.samplesPerPixel ?? 1;
  const pixel = options.pixel ?? ((frame, row, column, sample) => (frame * 37 + row * 5 + column * 3 + sample * 50) % (bits === 8 ? 256 : 4096));
  const bytesPerSample = bits / 8;
  const pixels = Buffer.alloc(rows * columns * frames * samples * bytesPerSample + ((rows * columns * frames * samples * bytesPerSample) % 2));
  let offset = 0;
  for (let f = 0; f < frames; f++)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < columns; c++)
        for (let s = 0; s < samples; s++) {
          if (bits === 8) pixels.writeUInt8(pixel(f, r, c, s) & 0xff, offset);
          else pixels.writeUInt16LE(pixel(f, r, c, s) & 0xffff, offset);
          offset += bytesPerSample;
        }
  const sopClassUid = options.sopClassUid ?? CT_IMAGE_STORAGE;
  const sopInstanceUid = options.sopInstanceUid ?? dicomUid();
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: sopClassUid,
    SOPInstanceUID: sopInstanceUid,
    StudyDate: '20261201',
    StudyTime: '101500',
    AccessionNumber: 'ACC-1',
    Modality: 'CT',
    StudyDescription: 'Synthetic study',
    SeriesDescription: 'Synthetic series',
    PatientName: 'Synthetic^Patient',
    PatientID: 'SYN-1',
    PatientBirthDate: '19800101',
    PatientSex: 'O',
    StudyInstanceUID: options.studyInstanceUid ?? dicomUid(),
    SeriesInstanceUID: options.seriesInstanceUid ?? dicomUid(),
    StudyID: '1',
    SeriesNumber: 1,
    InstanceNumber: 1,
    SamplesPerPixel: samples,
    PhotometricInterpretation: samples === 3 ? 'RGB' : 'MONOCHROME2',
    ...(samples === 3 ? { PlanarConfiguration: 0 } : {}),
    ...(frames > 1 ? { NumberOfFrames: frames } : {}),
    Rows: rows,
    Columns: columns,
    BitsAllocated: bits,
    BitsStored: bits === 8 ? 8 : 12,
    HighBit: bits === 8 ? 7 : 11,
    PixelRepresentation: 0,
    ...(bits === 16 && samples === 1 ? { WindowCenter: 2048, WindowWidth: 4096, RescaleIntercept: 0, RescaleSlope: 1 } : {}),
    ...options.attributes,
    PixelData: pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.length),
    _vrMap: { PixelData: bits === 8 ? 'OB' : 'OW' },
  };
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: '2.25.1',
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return Buffer.from(dict.write());
}
