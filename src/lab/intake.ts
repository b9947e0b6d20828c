import type { Bundle, Patient, Reference } from '@medplum/fhirtypes';
import { parseScopes, resourceScopes } from '../access/scopes.js';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { isFhirError } from '../fhir/outcome.js';
import type { Translated } from '../fhir/locale.js';
import { assertValid } from '../fhir/validate.js';
import { ERROR_CODES } from '../hl7v2/hl7-error.js';
import type { MessageRoute, Parked, Sender } from '../hl7v2/intake.js';
import { patientByDemographics, patientIin, patientNotFound, patientWithIin } from '../hl7v2/pid.js';
import type { Message } from '../hl7v2/message.js';
import { ResultFilings } from './filing-groups.js';
import { patientOfOrders } from './orders.js';
import { oruToBundle } from './oru-to-fhir.js';

/**
 * ORU^R01 from a laboratory's system (HL7 v2.5.1 chapter 7): results written as the lab's own
 * caller, through the door, for the patient PID-3's IIN names, else the one patient PID's
 * demographics match with certainty; when the lab may not record for anyone so named, or the
 * results cannot be filed, the message is parked for review. The results of a lab's messages that
 * arrive together are filed together (src/lab/filing-groups.ts): one route per listener.
 */
export function labResultsRoute(): MessageRoute {
  const filings = new ResultFilings();
  return {
    triggers: ['R01'],
    // ORU^R01 as v2.5 defined it, with SPM; older versions lack the segments results are read from.
    versions: ['2.5', '2.5.1'],
    // What a lab's system may do here: find its patients by IIN, read the orders and code maps it works to and take the orders on, record results and raise critical-result alerts.
    scopes: resourceScopes(
      parseScopes(
        'system/Patient.rs system/ServiceRequest.rs system/Task.crus system/Organization.rs system/ConceptMap.rs system/DiagnosticReport.cruds system/Observation.cruds system/Specimen.cruds system/Communication.c',
      ),
    ),
    async prepare(message: Message, { caller, organization, facility }: Sender) {
      const iin = patientIin(message);
      // A lab sees a patient once it takes on an order for them: first the order its results name.
      const patient = iin ? ((await patientWithIin(caller, iin)) ?? (await patientOfOrders(caller, message, organization, iin))) : await patientByDemographics(caller, message);
      // Mapped even when no patient is found, so content the lab must mend is refused now rather than at review.
      const bundle = oruToBundle(message, { patient: patientReference(patient, iin), organization });
      return async () => {
        if (!patient) return patientNotFound(iin, 'the laboratory', PARKED);
        return filingProblem(() => filings.file(`${organization}|${facility}`, caller, bundle, organization), bundle);
      };
    },
  };
}

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

/**
 * Files the results, valid against R4 as any REST write must be; what the validator, the door or
 * the store refused (all of it rolled back) parks the message instead.
 */
async function filingProblem(file: () => Promise<void>, bundle: Bundle): Promise<Parked | undefined> {
  try {
    assertValid(bundle);
    await file();
    return undefined;
  } catch (error) {
    if (!isFhirError(error)) throw error;
    return { condition: ERROR_CODES.internal, reason: `The results could not be filed: ${error.message}`, text: PARKED.notFiled };
  }
}

function patientReference(patient: string | undefined, iin: string | undefined): Reference<Patient> {
  if (patient) return { reference: `Patient/${patient}` };
  return iin ? { identifier: { system: IIN_SYSTEM, value: iin } } : { display: 'unidentified' };
}
