import type { ImagingStudy, Patient } from '@medplum/fhirtypes';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { blockingCandidates } from '../identity/candidates.js';
import { validateIin } from '../identity/iin.js';
import { matchPatients } from '../identity/patient-match.js';
import type { StudyContents } from '../store/dicom-index.js';
import type { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { type DicomJson, firstText } from './dicom-json.js';

/**
 * The FHIR side of a stored study: the Patient its DICOM attributes name, found as the identity
 * service finds people, and the ImagingStudy (https://hl7.org/fhir/R4/imagingstudy.html) that
 * puts it in the patient's record, written through the door as the sender.
 */

const DICOM_UID_SYSTEM = 'urn:dicom:uid';
const ACCESSION_TYPE = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] };
const DICOM_MODALITY = 'http://dicom.nema.org/resources/ontology/DCM';
const SOP_CLASS_SYSTEM = 'urn:ietf:rfc:3986';

/**
 * The Patient a study's attributes name, as the sender may find them: the IIN in PatientID
 * (0010,0020), else name, birth date and sex matched with certainty by the identity service's
 * matcher (as `Patient/$match` with onlyCertainMatches). Undefined when no one, or more than one, is.
 */
export async function studyPatient(repo: Repository, attributes: DicomJson): Promise<{ patient?: string; reason: string }> {
  const patientId = firstText(attributes, '00100020')?.trim();
  if (patientId && validateIin(patientId).valid) {
    const ids = await repo.matchIds('Patient', new URLSearchParams([['identifier', `${IIN_SYSTEM}|${patientId}`]]));
    return ids.length === 1 ? { patient: ids[0]!, reason: 'iin' } : { reason: 'No patient the sender may record for has the IIN in PatientID (0010,0020)' };
  }
  const described = describedPatient(attributes);
  if (!described.name || !described.birthDate) return { reason: 'PatientID (0010,0020) holds no valid IIN, and the study has no patient name and birth date to match' };
  const certain = matchPatients(described, await blockingCandidates(repo, described)).filter((m) => m.grade === 'certain');
  return certain.length === 1
    ? { patient: certain[0]!.patient.id!, reason: 'demographics' }
    : { reason: 'PatientID (0010,0020) holds no valid IIN, and the name, birth date and sex match no patient with certainty' };
}

/** The person a study's Patient module describes (PS3.3 C.7.1.1): PN components family^given^middle. */
function describedPatient(attributes: DicomJson): Patient {
  const name = firstText(attributes, '00100010');
  const birth = /^(\d{4})(\d{2})(\d{2})$/.exec(firstText(attributes, '00100030') ?? '');
  const sex = { M: 'male', F: 'female', O: 'other' }[firstText(attributes, '00100040') ?? ''] as Patient['gender'] | undefined;
  const [family, ...given] = (name ?? '').split('^').map((part) => part.trim());
  return {
    resourceType: 'Patient',
    ...(family ? { name: [{ family, ...(given.filter(Boolean).length ? { given: given.filter(Boolean) } : {}) }] } : {}),
    ...(birth ? { birthDate: `${birth[1]}-${birth[2]}-${birth[3]}` } : {}),
    ...(sex ? { gender: sex } : {}),
  };
}

/** The ImagingStudy of what the index holds of a study, for `patient`, its series and instances in number order. */
export function imagingStudyOf(contents: StudyContents, patient: string, dicomWebBase: string): ImagingStudy {
  const { study, series, instances } = contents;
  const attributes = JSON.parse(study.attributes) as DicomJson;
  const accession = firstText(attributes, '00080050');
  const description = firstText(attributes, '00081030');
  const started = dicomDateTime(firstText(attributes, '00080020'), firstText(attributes, '00080030'));
  const byUid = new Map<string, StudyContents['instances']>();
  for (const instance of instances) byUid.set(instance.series_uid, [...(byUid.get(instance.series_uid) ?? []), instance]);
  const modalities = [...new Set(series.map((s) => s.modality).filter((m): m is string => !!m))];
  return {
    resourceType: 'ImagingStudy',
    // The DICOMweb service the study is retrieved from, carried with it: no Endpoint to keep in step.
    contained: [
      {
        resourceType: 'Endpoint',
        id: 'dicomweb',
        status: 'active',
        connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs' },
        payloadType: [{ text: 'DICOM' }],
        payloadMimeType: ['application/dicom'],
        address: dicomWebBase,
      },
    ],
    identifier: [
      { system: DICOM_UID_SYSTEM, value: `urn:oid:${study.study_uid}` },
      ...(accession ? [{ type: ACCESSION_TYPE, value: accession }] : []),
    ],
    status: 'available',
    ...(modalities.length ? { modality: modalities.map((code) => ({ system: DICOM_MODALITY, code })) } : {}),
    subject: { reference: `Patient/${patient}` },
    ...(started ? { started } : {}),
    endpoint: [{ reference: '#dicomweb' }],
    numberOfSeries: series.length,
    numberOfInstances: instances.length,
    ...(description ? { description } : {}),
    series: series.map((s) => ({
      uid: s.series_uid,
      ...(s.series_number !== null ? { number: s.series_number } : {}),
      modality: { system: DICOM_MODALITY, code: s.modality ?? 'OT' },
      ...(s.series_description ? { description: s.series_description } : {}),
      numberOfInstances: byUid.get(s.series_uid)?.length ?? 0,
      instance: (byUid.get(s.series_uid) ?? []).map((i) => ({
        uid: i.sop_instance_uid,
        sopClass: { system: SOP_CLASS_SYSTEM, code: `urn:oid:${i.sop_class_uid}` },
        ...(i.instance_number !== null ? { number: i.instance_number } : {}),
      })),
    })),
  };
}

/** DA and TM (PS3.5 6.2) as a FHIR dateTime; without a time, the date alone. */
function dicomDateTime(date: string | undefined, time: string | undefined): string | undefined {
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec(date ?? '');
  if (!d) return undefined;
  const t = /^(\d{2})(\d{2})?(\d{2})?/.exec(time ?? '');
  if (!t) return `${d[1]}-${d[2]}-${d[3]}`;
  // DICOM times carry no zone; the platform serves Kazakhstan (UTC+5 since 2024).
  return `${d[1]}-${d[2]}-${d[3]}T${t[1]}:${t[2] ?? '00'}:${t[3] ?? '00'}+05:00`;
}

/**
 * Writes the study's ImagingStudy through the door as the caller: created on the first store,
 * updated with what later ones added. Returns its id.
 */
export async function writeImagingStudy(repo: Repository, contents: StudyContents, patient: string, dicomWebBase: string): Promise<string> {
  const resource = imagingStudyOf(contents, patient, dicomWebBase);
  const existing = contents.study.imaging_study;
  if (existing) {
    const current = parseStored<ImagingStudy>(await repo.read('ImagingStudy', existing));
    return (await repo.update({ ...resource, id: existing, ...(current.subject ? { subject: current.subject } : {}) })).stored.id;
  }
  return (await repo.create(resource)).id;
}
