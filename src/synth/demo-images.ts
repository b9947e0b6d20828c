import type { Patient } from '@medplum/fhirtypes';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import type { ObjectStore } from '../imaging/object-store.js';
import { storeInstances } from '../imaging/stow.js';
import type { Repository } from '../store/repository.js';
import { dicomInstance, dicomUid } from './dicom-instances.js';

/** Where the demo's images go and the DICOMweb base its ImagingStudy names. */
export interface DemoImageStore {
  store: ObjectStore;
  /** The DICOMweb base URL as clients reach it (`http://localhost:8080/dicom-web`). */
  base: string;
}

/** The demo study's Accession Number: its ImagingStudy is found by it, so it is stored once. */
export const DEMO_ACCESSION = 'DEMO-HEAD-CT';
const SLICES = 24;
const SIZE = 256;
/** CT numbers are stored as HU + 1024 (Rescale Intercept −1024), 12 bits. */
const HU_OFFSET = 1024;

/**
 * An ellipsoid of a head phantom after Shepp and Logan (1974), in CT numbers (HU): centre and
 * semi-axes in units of the half field of view, its value added to what lies beneath.
 */
interface Ellipsoid {
  x: number;
  y: number;
  z: number;
  a: number;
  b: number;
  c: number;
  hu: number;
}

const HEAD: readonly Ellipsoid[] = [
  { x: 0, y: 0, z: 0, a: 0.69, b: 0.92, c: 0.9, hu: 2000 }, // skull
  { x: 0, y: -0.0184, z: 0, a: 0.6624, b: 0.874, c: 0.88, hu: -960 }, // brain (40 HU)
  { x: 0.22, y: 0, z: 0, a: 0.11, b: 0.31, c: 0.22, hu: -35 }, // ventricles (CSF, 5 HU)
  { x: -0.22, y: 0, z: 0, a: 0.16, b: 0.41, c: 0.28, hu: -35 },
  { x: 0, y: 0.35, z: -0.15, a: 0.21, b: 0.25, c: 0.41, hu: 15 }, // a lesion brighter than brain
  { x: 0, y: 0.1, z: 0.25, a: 0.046, b: 0.046, c: 0.05, hu: 25 },
];

async function* each<T>(...items: T[]): AsyncGenerator<T> {
  yield* items;
}

/** The phantom's CT number at (column, row) of slice `z` (−1 to 1), air outside. */
function ctNumber(column: number, row: number, z: number): number {
  const x = (2 * column) / (SIZE - 1) - 1;
  const y = 1 - (2 * row) / (SIZE - 1);
  let hu = -1000;
  for (const e of HEAD) {
    const inside = ((x - e.x) / e.a) ** 2 + ((y - e.y) / e.b) ** 2 + ((z - e.z) / e.c) ** 2 <= 1;
    if (inside) hu += e.hu;
  }
  return hu;
}

/**
 * A synthetic head CT for the demo citizen, sent through STOW-RS as an imaging centre would
 * (linked to the citizen by the IIN in PatientID), so the app's Images screen has a study to
 * show after `npm start`: 24 axial slices of a Shepp–Logan phantom, in the brain window.
 */
export async function seedDemoImages(repo: Repository, images: DemoImageStore, patient: Patient, performed: string): Promise<string> {
  const iin = patient.identifier?.find((i) => i.system === IIN_SYSTEM)?.value;
  if (!iin) throw new Error('The demo citizen has no IIN to put in PatientID');
  const name = patient.name?.[0];
  const study = dicomUid();
  const series = dicomUid();
  const date = performed.slice(0, 10).replaceAll('-', '');
  const parts = Array.from({ length: SLICES }, (_, slice) => {
    const z = -0.8 + (1.6 * slice) / (SLICES - 1);
    const bytes = dicomInstance({
      studyInstanceUid: study,
      seriesInstanceUid: series,
      rows: SIZE,
      columns: SIZE,
      pixel: (_frame, row, column) => Math.max(0, Math.min(4095, ctNumber(column, row, z) + HU_OFFSET)),
      attributes: {
        PatientID: iin,
        PatientName: `${name?.family ?? ''}^${name?.given?.join(' ') ?? ''}`,
        PatientBirthDate: patient.birthDate?.replaceAll('-', '') ?? '',
        PatientSex: patient.gender === 'male' ? 'M' : patient.gender === 'female' ? 'F' : 'O',
        StudyDate: date,
        SeriesDate: date,
        AccessionNumber: DEMO_ACCESSION,
        StudyDescription: 'CT head (synthetic phantom)',
        SeriesDescription: 'Axial 5 mm',
        BodyPartExamined: 'HEAD',
        InstanceNumber: slice + 1,
        SliceThickness: 5,
        PixelSpacing: [0.9, 0.9],
        ImagePositionPatient: [-115, -115, (slice - SLICES / 2) * 5],
        ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
        SliceLocation: (slice - SLICES / 2) * 5,
        RescaleIntercept: -HU_OFFSET,
        RescaleSlope: 1,
        WindowCenter: 40,
        WindowWidth: 80,
      },
    });
    return { headers: { 'content-type': 'application/dicom' }, body: each(bytes) };
  });
  const result = await storeInstances(each(...parts), undefined, { repo, store: images.store, base: images.base });
  if (result.status !== 200) throw new Error(`The demo study was not stored whole (${result.status}): ${result.warnings.join('; ')}`);
  return study;
}
