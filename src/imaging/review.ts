import { notFound } from '../fhir/outcome.js';
import type { StudyRow } from '../store/dicom-index.js';
import type { Repository, StoredResource } from '../store/repository.js';
import { type DicomJson, firstText } from './dicom-json.js';
import { writeImagingStudy } from './imaging-study.js';

/**
 * The review queue of stored studies whose patient was not identified (no valid IIN in
 * PatientID, and no certain match of name, birth date and sex): reviewers see each with what
 * its DICOM attributes say of the patient and why it waits, and assign the patient, which
 * writes the study's ImagingStudy and so puts it in the patient's record.
 */

export interface StudyAwaitingReview {
  studyUid: string;
  reason: string | null;
  patientId?: string;
  patientName?: string;
  patientBirthDate?: string;
  patientSex?: string;
  studyDate?: string;
  modalities: string[];
  instances: number;
}

export async function studiesAwaitingReview(repo: Repository, limit: number): Promise<StudyAwaitingReview[]> {
  return (await repo.dicom.awaitingReview(limit)).map(described);
}

function described(row: StudyRow): StudyAwaitingReview {
  const attributes = JSON.parse(row.attributes) as DicomJson;
  const text = (tag: string) => firstText(attributes, tag);
  const entries = {
    patientId: text('00100020'),
    patientName: text('00100010'),
    patientBirthDate: text('00100030'),
    patientSex: text('00100040'),
    studyDate: text('00080020'),
  };
  return {
    studyUid: row.study_uid,
    reason: row.review_reason,
    ...Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined)),
    modalities: row.modalities,
    instances: row.instance_count,
  };
}

/** Assigns a waiting study's patient: its ImagingStudy is written (as the reviewer, through the door) and the study leaves the queue. */
export async function assignStudyPatient(repo: Repository, studyUid: string, patient: string, dicomWebBase: string): Promise<StoredResource> {
  await repo.dicom.reviewed(studyUid);
  await repo.read('Patient', patient);
  return repo.transaction(async (tx) => {
    const contents = (await tx.dicom.contents(studyUid, { lock: true }))!;
    if (contents.study.imaging_study) throw notFound(`No study ${studyUid} awaits review`);
    const id = await writeImagingStudy(tx, contents, patient, dicomWebBase);
    await tx.dicom.link(studyUid, { imagingStudy: id, patient });
    return tx.read('ImagingStudy', id);
  });
}
