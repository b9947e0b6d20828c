import type { Organization, Patient, Reference, ServiceRequest, Task } from '@medplum/fhirtypes';
import { parseScopes, resourceScopes } from '../access/scopes.js';
import { HL7V2_FACILITY_SYSTEM, IIN_SYSTEM } from '../fhir/identifier-systems.js';
import type { Translated } from '../fhir/locale.js';
import { isFhirError } from '../fhir/outcome.js';
import { escapeToken, parseSearchRequest } from '../fhir/search-request.js';
import { assertValid } from '../fhir/validate.js';
import { ERROR_CODES, Hl7Error } from '../hl7v2/hl7-error.js';
import type { MessageRoute, Parked, Sender } from '../hl7v2/intake.js';
import { type Message, header, repetition, segments } from '../hl7v2/message.js';
import { patientByDemographics, patientIin, patientNotFound, patientWithIin } from '../hl7v2/pid.js';
import type { Repository, StoredResource } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { conditionalUpdates, withLabLoinc, writePlanned } from './file-results.js';
import { orderToBundle } from './oml-to-fhir.js';
import { placerIdentifier } from './oru-to-fhir.js';

/**
 * Laboratory orders from the ordering organization's system (a polyclinic's HIS), HL7 v2.5.1
 * chapter 4 (https://www.hl7.eu/HL7v2x/v251/std251/ch04.html): OML^O21, answered in original mode
 * by its application acknowledgment ORL^O22 (section 4.4.6), and ORM^O01 as older systems send it,
 * answered by ORR^O02 (section 4.4.2). The performing lab is the Organization whose HL7 v2 facility
 * id is MSH-6 (receiving facility). Each order is recorded as the sender's own caller, through the
 * door, for the patient PID names as that caller may find them; an order for no such patient, or
 * one the door refuses, is parked for review. Once recorded, the lab's results parked for want of
 * it are filed again (src/lab/intake.ts finds the patient through it).
 */
function orderRoute(triggers: string[], versions: string[], acknowledgment: readonly [string, string, string]): MessageRoute {
  return {
    triggers,
    versions,
    acknowledgment,
    // What an ordering organization's system may do here: find its patients, the lab and the lab's code maps, record orders and their specimens, cancel the lab's Task on an order it withdraws.
    scopes: resourceScopes(parseScopes('system/Patient.rs system/Organization.rs system/ConceptMap.rs system/ServiceRequest.cruds system/Specimen.cruds system/Task.rus')),
    async prepare(message: Message, sender: Sender) {
      const { caller, organization } = sender;
      const lab = await performingLab(caller, message);
      const iin = patientIin(message);
      const patient = iin ? await patientWithIin(caller, iin) : await patientByDemographics(caller, message);
      // Mapped even when no patient is found, so content the sender must mend is refused now rather than at review.
      const { bundle, placers } = orderToBundle(message, { patient: subject(patient, iin), requester: organization, lab });
      return async (): Promise<Parked | undefined> => {
        if (!patient) return patientNotFound(iin, 'the ordering organization', ORDER_PARKED);
        try {
          assertValid(bundle);
          await caller.transaction(async (tx) => withdraw(tx, await writePlanned(tx, await withLabLoinc(tx, lab, await conditionalUpdates(tx, [bundle])))));
        } catch (error) {
          if (!isFhirError(error)) throw error;
          return { condition: ERROR_CODES.internal, reason: `The order could not be recorded: ${error.message}`, text: ORDER_PARKED.notRecorded };
        }
        for (const placer of new Set(placers.map((p) => p.value!))) await sender.retryParked({ messageType: 'ORU^R01', organization: lab, mentioning: placer });
        return undefined;
      };
    },
  };
}

/** OML^O21, answered ORL^O22. */
export const LAB_ORDER_ROUTE = orderRoute(['O21'], ['2.5', '2.5.1'], ['ORL', 'O22', 'ORL_O22']);
/** ORM^O01, answered ORR^O02. */
export const LAB_ORDER_ORM_ROUTE = orderRoute(['O01'], ['2.3.1', '2.4', '2.5', '2.5.1'], ['ORR', 'O02', 'ORR_O02']);

/** What ERR-8 tells the ordering organization's people. */
export const ORDER_PARKED = {
  noPatient: {
    kk: 'Тапсырыс қабылданды, бірақ ЖСН бойынша пациент табылмады: ол тексеруге қалдырылды.',
    ru: 'Заказ принят, но пациент по ИИН не найден: он оставлен на проверку.',
    en: 'The order was accepted, but no patient was found by the IIN: it is kept for review.',
  },
  notIdentified: {
    kk: 'Тапсырыс қабылданды, бірақ ЖСН жоқ, ал аты-жөні мен туған күні бойынша пациент нақты анықталмады: ол тексеруге қалдырылды.',
    ru: 'Заказ принят, но ИИН нет, а по имени и дате рождения пациент однозначно не определён: он оставлен на проверку.',
    en: 'The order was accepted, but there is no IIN and the name and birth date identify no patient with certainty: it is kept for review.',
  },
  notRecorded: {
    kk: 'Тапсырыс қабылданды, бірақ әлі тіркелмеді: ол тексеруге қалдырылды.',
    ru: 'Заказ принят, но ещё не зарегистрирован: он оставлен на проверку.',
    en: 'The order was accepted but not yet recorded: it is kept for review.',
  },
  unknownLab: {
    kk: 'Қабылдаушы зертхана (MSH-6) Densaulyq жүйесінде тіркелмеген. Зертхана кодын тексеріп, қайта жіберіңіз.',
    ru: 'Лаборатория-получатель (MSH-6) не зарегистрирована в Densaulyq. Проверьте код лаборатории и отправьте снова.',
    en: 'The receiving laboratory (MSH-6) is not registered in Densaulyq. Check the laboratory’s code and send again.',
  },
} satisfies Record<string, Translated>;

/** Task statuses of a referral its requester may still cancel (src/access/referral-tasks.ts). */
const OPEN_TASK = ['requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold'];

/**
 * The lab's taking on of each order now revoked (ORC-1 CA, DC…) or entered in error, cancelled by
 * the organization that ordered it, as the Task's requester: the patient's record closes to the
 * lab with the order (src/store/access-facts.ts), as with any referral withdrawn.
 */
async function withdraw(tx: Repository, stored: readonly StoredResource[]): Promise<void> {
  const withdrawn = stored.filter((s) => s.resourceType === 'ServiceRequest' && ['revoked', 'entered-in-error'].includes(parseStored<ServiceRequest>(s).status));
  if (withdrawn.length === 0) return;
  const tasks = await tx.search({
    ...parseSearchRequest('Task', [['focus', withdrawn.map((s) => `ServiceRequest/${s.id}`).join(',')], ['status', OPEN_TASK.join(',')]]),
    count: withdrawn.length * 4,
  });
  for (const task of tasks.entries) await tx.update({ ...parseStored<Task>(task), id: task.id, status: 'cancelled' });
}

/** The Organization id of the lab MSH-6 names (its HL7 v2 facility id); AR at MSH-6 when none, or more than one, does. */
async function performingLab(caller: Repository, message: Message): Promise<string> {
  const facility = header(message).receivingFacility;
  const found = facility
    ? (await caller.search(parseSearchRequest('Organization', [['identifier', `${HL7V2_FACILITY_SYSTEM}|${escapeToken(facility)}`]]))).entries.map((e) => parseStored<Organization>(e))
    : [];
  const labs = found.filter((o) => o.active !== false);
  if (labs.length !== 1) {
    throw new Hl7Error('AR', ERROR_CODES.unknownKey, facility ? `Receiving facility "${facility}" names no one laboratory registered here` : 'MSH-6 (receiving facility) is empty: the performing laboratory cannot be known', { segment: 'MSH', sequence: 1, field: 6 }, ORDER_PARKED.unknownLab);
  }
  return labs[0]!.id!;
}

/** The order's subject: the patient found, with the IIN they were found by, by which the lab's results find them through the order. */
function subject(patient: string | undefined, iin: string | undefined): Reference<Patient> {
  const identifier = iin ? { identifier: { system: IIN_SYSTEM, value: iin } } : {};
  return patient ? { reference: `Patient/${patient}`, ...identifier } : { ...identifier, display: 'unidentified' };
}

/**
 * The patient of the open orders a lab's results name by placer order number (OBR-2, with its
 * namespace), when the lab is their performer and they were placed for the IIN the results carry:
 * a lab sees the orders sent to it before it may see the patient (src/access/door.ts,
 * addressedTo), and filing results on them takes them on (src/lab/file-results.ts).
 */
export async function patientOfOrders(lab: Repository, message: Message, organization: string, iin: string): Promise<string | undefined> {
  const tokens = segments(message, 'OBR')
    .map((obr) => placerIdentifier(repetition(obr, 2)))
    .filter((p) => p?.system !== undefined)
    .map((p) => `${p!.system}|${escapeToken(p!.value!)}`);
  if (tokens.length === 0) return undefined;
  const found = await lab.search({ ...parseSearchRequest('ServiceRequest', [['identifier', [...new Set(tokens)].join(',')]]), count: tokens.length * 2 });
  const patients = new Set(
    found.entries
      .map((e) => parseStored<ServiceRequest>(e))
      .filter((o) => (o.status === 'active' || o.status === 'on-hold') && o.performer?.some((p) => p.reference === `Organization/${organization}`))
      .filter((o) => o.subject?.identifier?.system === IIN_SYSTEM && o.subject.identifier.value === iin)
      .map((o) => /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(o.subject?.reference ?? '')?.[1]),
  );
  const [patient] = patients;
  return patients.size === 1 ? patient : undefined;
}
