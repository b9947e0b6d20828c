import type { Bundle, Patient, Reference } from '@medplum/fhirtypes';
import { parseScopes, resourceScopes } from '../access/scopes.js';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { isFhirError } from '../fhir/outcome.js';
import type { Translated } from '../fhir/locale.js';
import { assertValid } from '../fhir/validate.js';
import { ERROR_CODES, type ErrorLocation } from '../hl7v2/hl7-error.js';
import type { MessageRoute, Parked, Sender } from '../hl7v2/intake.js';
import { type Message, component, field, part, repetition, segment } from '../hl7v2/message.js';
import { blockingCandidates } from '../identity/candidates.js';
import { validateIin } from '../identity/iin.js';
import { matchPatients } from '../identity/patient-match.js';
import type { Repository } from '../store/repository.js';
import { fileResults } from './file-results.js';
import { oruToBundle } from './oru-to-fhir.js';

/**
 * ORU^R01 from a laboratory's system (HL7 v2.5.1 chapter 7): results written as the lab's own
 * caller, through the door, for the patient PID-3's IIN names, else the one patient PID's
 * demographics match with certainty; when the lab may not record for anyone so named, or the
 * results cannot be filed, the message is parked for review.
 */
export const LAB_RESULTS_ROUTE: MessageRoute = {
  triggers: ['R01'],
  // ORU^R01 as v2.5 defined it, with SPM; older versions lack the segments results are read from.
  versions: ['2.5', '2.5.1'],
  // What a lab's system may do here: find its patients by IIN, read the orders and code maps it works to, record results and raise critical-result alerts.
  scopes: resourceScopes(
    parseScopes('system/Patient.rs system/ServiceRequest.rs system/Organization.rs system/ConceptMap.rs system/DiagnosticReport.cruds system/Observation.cruds system/Specimen.cruds system/Communication.c'),
  ),
  async prepare(message: Message, { caller, organization }: Sender) {
    const iin = patientIin(message);
    const patient = iin ? await patientWithIin(caller, iin) : await patientByDemographics(caller, message);
    // Mapped even when no patient is found, so content the lab must mend is refused now rather than at review.
    const bundle = oruToBundle(message, { patient: patientReference(patient, iin), organization });
    return async () => {
      if (!patient) return iin ? { condition: ERROR_CODES.unknownKey, reason: NO_PATIENT, text: PARKED.noPatient, location: PID_3 } : { condition: ERROR_CODES.unknownKey, reason: NO_IIN, text: PARKED.notIdentified, location: PID_3 };
      return filingProblem(caller, bundle, organization);
    };
  },
};

/** What ERR-8 tells the lab's people when results are accepted but parked. */
export const PARKED = {
  noPatient: {
    kk: 'Нәтижелер қабылданды, бірақ ЖСН бойынша пациент табылмады: олар тексеруге қалдырылды.',
    ru: 'Результаты приняты, но пациент по ИИН не найден: они оставлены на проверку.',
    en: 'The results were accepted, but no patient was found by the IIN: they are kept for review.',
  },
  notIdentified: {
    kk: 'Нәтижелер қабылданды, бірақ ЖСН жоқ, ал аты-жөні мен туған күні бойынша пациент нақты анықталмады: олар тексеруге қалдырылды.',
    ru: 'Результаты приняты, но ИИН нет, а по имени и дате рождения пациент однозначно не определён: они оставлены на проверку.',
    en: 'The results were accepted, but there is no IIN and the name and birth date identify no patient with certainty: they are kept for review.',
  },
  notFiled: {
    kk: 'Нәтижелер қабылданды, бірақ пациент жазбасына әлі енгізілмеді: олар тексеруге қалдырылды.',
    ru: 'Результаты приняты, но ещё не внесены в карту пациента: они оставлены на проверку.',
    en: 'The results were accepted but not yet filed in the patient’s record: they are kept for review.',
  },
} satisfies Record<string, Translated>;

const NO_PATIENT = 'No patient the laboratory may record for has the IIN in PID-3';
const NO_IIN = 'PID-3 holds no valid IIN, and the name, birth date and sex in PID match no patient with certainty';
const PID_3: ErrorLocation = { segment: 'PID', sequence: 1, field: 3 };

/**
 * Files the results, valid against R4 as any REST write must be; what the validator, the door or
 * the store refused (all of it rolled back) parks the message instead.
 */
async function filingProblem(lab: Repository, bundle: Bundle, organization: string): Promise<Parked | undefined> {
  try {
    assertValid(bundle);
    await fileResults(lab, bundle, organization);
    return undefined;
  } catch (error) {
    if (!isFhirError(error)) throw error;
    return { condition: ERROR_CODES.internal, reason: `The results could not be filed: ${error.message}`, text: PARKED.notFiled };
  }
}

/** The first PID-3 identifier that is a valid IIN (labs mark it NI, NNKAZ or nothing, so its checksum decides). */
function patientIin(message: Message): string | undefined {
  return field(segment(message, 'PID'), 3)
    .map((cx) => part(cx, 1).trim())
    .find((id) => validateIin(id).valid);
}

/** The Patient with this IIN, if the lab's caller may see them (a care relationship, such as a referral to the lab). */
export async function patientWithIin(lab: Repository, iin: string): Promise<string | undefined> {
  const ids = await lab.matchIds('Patient', new URLSearchParams([['identifier', `${IIN_SYSTEM}|${iin}`]]));
  return ids.length === 1 ? ids[0] : undefined;
}

/**
 * Without an IIN, the one patient the lab may record for whom PID's name (PID-5), birth date
 * (PID-7), sex (PID-8), address (PID-11) and phone (PID-13) match with certainty (the identity
 * service's matcher, as `Patient/$match` with onlyCertainMatches: name and birth date alone are
 * only probable); none when no one, or more than one, does.
 */
async function patientByDemographics(lab: Repository, message: Message): Promise<string | undefined> {
  const pid = segment(message, 'PID');
  const birth = /^(\d{4})(\d{2})(\d{2})/.exec(component(pid, 7));
  const phone = component(pid, 13, 1) || component(pid, 13, 12);
  const sex = SEX[component(pid, 8)];
  const name = repetition(pid, 5);
  const given = [part(name, 2), part(name, 3)].filter(Boolean);
  const address = repetition(pid, 11);
  const [street, city, postalCode, country] = [part(address, 1), part(address, 3), part(address, 5), part(address, 6)];
  const described: Patient = {
    resourceType: 'Patient',
    ...(part(name, 1) ? { name: [{ family: part(name, 1), ...(given.length ? { given } : {}) }] } : {}),
    ...(birth ? { birthDate: `${birth[1]}-${birth[2]}-${birth[3]}` } : {}),
    ...(sex ? { gender: sex } : {}),
    ...(phone ? { telecom: [{ system: 'phone', value: phone }] } : {}),
    ...(street || city ? { address: [{ ...(street ? { line: [street] } : {}), ...(city ? { city } : {}), ...(postalCode ? { postalCode } : {}), ...(country ? { country } : {}) }] } : {}),
  };
  if (!described.name || (!described.birthDate && !described.telecom)) return undefined;
  const certain = matchPatients(described, await blockingCandidates(lab, described)).filter((m) => m.grade === 'certain');
  return certain.length === 1 ? certain[0]!.patient.id : undefined;
}

/** PID-8, HL7 table 0001. */
const SEX: Readonly<Record<string, Patient['gender']>> = { M: 'male', F: 'female', O: 'other', U: 'unknown', A: 'other', N: 'unknown' };

function patientReference(patient: string | undefined, iin: string | undefined): Reference<Patient> {
  if (patient) return { reference: `Patient/${patient}` };
  return iin ? { identifier: { system: IIN_SYSTEM, value: iin } } : { display: 'unidentified' };
}
