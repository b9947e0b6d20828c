import type { Bundle, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcome.js';
import { assignStudyPatient, studiesAwaitingReview } from '../imaging/review.js';
import { parametersBody } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';

/** The DICOMweb base beside the FHIR base (`…/fhir` → `…/dicom-web`), for the ImagingStudy's endpoint. */
const dicomWebBase = (fhirBase: string) => fhirBase.replace(/\/fhir\/?$/, '/dicom-web');

/**
 * `GET $imaging-review` (Densaulyq): the stored DICOM studies whose patient was not identified,
 * oldest first, for an administrator with clinical access: each with the patient as its DICOM
 * attributes describe them and why it waits (like the HL7 v2 messages parked for review).
 */
export async function imagingReviewList(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  let count = 100;
  for (const [name, value] of request.query) {
    if (name === '_count') {
      if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1000) throw badRequest(`_count is 1 to 1000`, '_count');
      count = Number(value);
    } else throw badRequest(`$imaging-review takes _count, not ${name}`, name);
  }
  const studies = await studiesAwaitingReview(context.repo, count);
  const text = (name: string, value: string | null | undefined): ParametersParameter[] => (value ? [{ name, valueString: value }] : []);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: studies.map((s) => ({
      resource: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'study', valueString: s.studyUid },
          ...text('reason', s.reason),
          ...text('patientId', s.patientId),
          ...text('patientName', s.patientName),
          ...text('patientBirthDate', s.patientBirthDate),
          ...text('patientSex', s.patientSex),
          ...text('studyDate', s.studyDate),
          ...s.modalities.map((m) => ({ name: 'modality', valueCode: m })),
          { name: 'instances', valueInteger: s.instances },
        ],
      },
    })),
  };
  return { status: 200, resource: bundle };
}

/** `POST $assign-imaging-patient` (Densaulyq): assigns a waiting study's patient; returns the ImagingStudy written. */
export async function imagingReviewAssign(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const parameters = parametersBody(request, `$assign-imaging-patient takes a Parameters resource with study and patient`, 'Parameters');
  const study = parameters.parameter?.find((p) => p.name === 'study')?.valueString;
  const patient = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(parameters.parameter?.find((p) => p.name === 'patient')?.valueReference?.reference ?? '')?.[1];
  if (!study) throw badRequest(`Name the study by its Study Instance UID in "study" (valueString)`, `Parameters.parameter.where(name='study').valueString`);
  if (!patient) throw badRequest(`Name the patient in "patient" (valueReference Patient/[id])`, `Parameters.parameter.where(name='patient').valueReference`);
  const stored = await assignStudyPatient(context.repo, study, patient, dicomWebBase(context.baseUrl));
  return { status: 200, stored };
}
