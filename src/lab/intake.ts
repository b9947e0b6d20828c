import { setTimeout as sleep } from 'node:timers/promises';
import type { Bundle, Endpoint, Patient, Reference } from '@medplum/fhirtypes';
import { accessPolicy, labIntakeAccess } from '../access/door.js';
import { parseScopes, resourceScopes } from '../access/scopes.js';
import { HL7V2_FACILITY_SYSTEM, IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { isFhirError } from '../fhir/outcome.js';
import { assertValid } from '../fhir/validate.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import { blockingCandidates } from '../identity/candidates.js';
import { validateIin } from '../identity/iin.js';
import { matchPatients } from '../identity/patient-match.js';
import type { Database } from '../store/driver.js';
import type { LabMessage } from '../store/lab-messages.js';
import { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { type AckTextKey, ackLanguage, ackText } from './ack-text.js';
import { fileResults } from './file-results.js';
import { encodeAck } from './hl7v2/ack.js';
import { ERROR_CODES, type ErrorCondition, type ErrorDetail, type ErrorLocation, Hl7Error } from './hl7v2/hl7-error.js';
import { type Header, type Message, component, field, header, part, repetition, segment } from './hl7v2/message.js';
import { parseHeader, parseMessage } from './hl7v2/parse.js';
import type { MessageHandler } from './mllp-server.js';
import { escapeToken, oruToBundle } from './oru-to-fhir.js';

/** The Endpoint connection type of a lab that sends HL7 v2 over MLLP (https://terminology.hl7.org/CodeSystem-endpoint-connection-type.html). */
export const MLLP_CONNECTION_TYPE = { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7v2-mllp' };

/** The message types taken, by MSH-9.1, with their trigger events (MSH-9.2). */
const TAKEN_TYPES = new Map([['ORU', ['R01']]]);
/** MSH-12: ORU^R01 as v2.5 defined it, with SPM; older versions lack the segments results are read from. */
const TAKEN_VERSIONS = new Set(['2.5', '2.5.1']);

/** What a lab's system may do here: find its patients by IIN, read the orders and code maps it works to, record results and raise critical-result alerts. */
const LAB_SCOPES = resourceScopes(
  parseScopes('system/Patient.rs system/ServiceRequest.rs system/Organization.rs system/ConceptMap.rs system/DiagnosticReport.cruds system/Observation.cruds system/Specimen.cruds system/Communication.c'),
);

/**
 * What the MLLP listener does with each message (HL7 v2.5.1 section 2.9.2, original-mode
 * acknowledgment): every message is kept with the ACK it got; a control id the same sender already
 * had accepted is answered with that first ACK and not kept again; a message that cannot be read
 * or mapped gets AE, one of a type, version, processing id or sender not taken gets AR, each with
 * its ERR, and is kept as `rejected` with the reason for review. An accepted message's results are
 * written as the lab's own system caller, through the door, for the patient PID-3's IIN names;
 * when the lab may not record for anyone so named, the message is parked for review and answered
 * AA with an informational ERR: accepted, kept, not yet in a record. Faults of the platform (the
 * database down) reject the promise: the listener drops the connection and the lab sends again.
 */
export function labMessageHandler(db: Database): MessageHandler {
  return async (bytes) => {
    const intake = new Repository(db, labIntakeAccess());
    let message: Message;
    try {
      message = parseMessage(bytes);
    } catch (error) {
      if (error instanceof Hl7Error) return reject(intake, bytes, parseHeader(bytes), error);
      throw error;
    }
    const msh = header(message);
    const { sender, controlId } = keyOf(msh);
    const earlier = controlId ? await firstAck(intake, sender!, controlId) : undefined;
    if (earlier) return earlier;
    let organization: string;
    let lab: Repository;
    let patient: string | undefined;
    let bundle: Bundle;
    const iin = patientIin(message);
    try {
      checkHeader(msh);
      organization = await senderOrganization(intake, msh);
      lab = labCaller(db, msh.sendingFacility, organization);
      patient = iin ? await patientWithIin(lab, iin) : await patientByDemographics(lab, message);
      // Mapped even when no patient is found, so content the lab must mend is refused now rather than at review.
      bundle = oruToBundle(message, { patient: patientReference(patient, iin), organization });
    } catch (error) {
      if (error instanceof Hl7Error) return reject(intake, bytes, message, error);
      throw error;
    }
    const accepted = encodeAck({ code: 'AA', original: message });
    const kept = await intake.labMessages.keep({ ...keyOf(msh), organization, status: 'received', reason: null, content: Buffer.from(bytes), ack: accepted });
    if (!kept) return (await firstAck(intake, sender!, controlId!)) ?? accepted;
    const parked = patient ? await filingProblem(lab, bundle, organization) : iin ? { condition: ERROR_CODES.unknownKey, reason: NO_PATIENT, text: 'parkedNoPatient' as const, location: PID_3 } : { condition: ERROR_CODES.unknownKey, reason: NO_IIN, text: 'parkedNotIdentified' as const, location: PID_3 };
    if (!parked) {
      await intake.labMessages.settle(kept.id, { status: 'processed', reason: null, ack: accepted });
      return accepted;
    }
    const note: ErrorDetail = {
      condition: parked.condition,
      severity: 'I',
      diagnostic: `Accepted and kept for review: ${parked.reason}`,
      userMessage: ackText(parked.text, ackLanguage(message)),
      ...(parked.location ? { location: parked.location } : {}),
    };
    const ack = encodeAck({ code: 'AA', original: message, errors: [note] });
    await intake.labMessages.settle(kept.id, { status: 'review', reason: parked.reason, ack });
    return ack;
  };
}

/** How long a resend waits for the first copy's results to be filed, to answer as it was answered. */
const FIRST_COPY_WAIT_MS = 5_000;

/**
 * The ACK a kept message under this key got. While the first copy's results are still being filed
 * (two copies sent at once) its final ACK is awaited, so both copies are answered alike; one left
 * `received` longer (its process died filing it) is answered as accepted, and stays listed for review.
 */
async function firstAck(intake: Repository, sender: string, controlId: string): Promise<Buffer | undefined> {
  const deadline = Date.now() + FIRST_COPY_WAIT_MS;
  for (;;) {
    const first = await intake.labMessages.acknowledged(sender, controlId);
    if (!first || first.status !== 'received' || Date.now() >= deadline) return first?.ack;
    await sleep(50);
  }
}

const NO_PATIENT = 'No patient the laboratory may record for has the IIN in PID-3';
const NO_IIN = 'PID-3 holds no valid IIN, and the name, birth date and sex in PID match no patient with certainty';
const PID_3: ErrorLocation = { segment: 'PID', sequence: 1, field: 3 };

/** Why a message is accepted but parked for review: what to tell the lab (ERR-3, ERR-2) and keep as the reason. */
interface Parked {
  condition: ErrorCondition;
  reason: string;
  text: AckTextKey;
  location?: ErrorLocation;
}

/** The lab's own system caller, acting for its Organization through the door: what it writes is its own, audited as such. */
function labCaller(db: Database, facility: string, organization: string): Repository {
  return new Repository(db, accessPolicy({ role: 'system', subject: `mllp|${facility}`, clientId: 'densaulyq-mllp', organization, scopes: LAB_SCOPES, purposeOfUse: 'TREAT' }));
}

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
    return { condition: ERROR_CODES.internal, reason: `The results could not be filed: ${error.message}`, text: 'parkedNotFiled' };
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

/** MSH as the original acknowledgment rules check it: the type, trigger, processing id and version taken, and a control id. */
function checkHeader(msh: Header): void {
  const at = (field: number, component?: number) => ({ segment: 'MSH', sequence: 1, field, ...(component ? { component } : {}) });
  if (!msh.controlId) throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'MSH-10 (message control id) is empty', at(10));
  const triggers = TAKEN_TYPES.get(msh.messageCode);
  if (!triggers) throw new Hl7Error('AR', ERROR_CODES.unsupportedMessageType, `Message type "${msh.messageCode}" is not taken here; send ORU^R01`, at(9, 1));
  if (!triggers.includes(msh.triggerEvent)) {
    throw new Hl7Error('AR', ERROR_CODES.unsupportedEventCode, `Trigger event "${msh.triggerEvent}" of ${msh.messageCode} is not taken here; send ${triggers.join(', ')}`, at(9, 2));
  }
  // Training and debugging messages would put invented results in a real person's record.
  if (msh.processingId !== 'P') throw new Hl7Error('AR', ERROR_CODES.unsupportedProcessingId, `Processing id "${msh.processingId}" is not taken here; only P (production)`, at(11));
  if (!TAKEN_VERSIONS.has(msh.version)) throw new Hl7Error('AR', ERROR_CODES.unsupportedVersion, `Version "${msh.version}" is not taken here; send 2.5.1`, at(12));
}

/** The Organization id of the lab a message comes from: an active MLLP Endpoint identified by MSH-4 names it as managing. */
async function senderOrganization(intake: Repository, msh: Header): Promise<string> {
  const unknown = (why: string) => new Hl7Error('AR', ERROR_CODES.unknownKey, why, { segment: 'MSH', sequence: 1, field: 4 });
  if (!msh.sendingFacility) throw unknown('MSH-4 (sending facility) is empty: the sender cannot be known');
  const found = await intake.search(
    parseSearchRequest('Endpoint', [
      ['identifier', `${HL7V2_FACILITY_SYSTEM}|${escapeToken(msh.sendingFacility)}`],
      ['connection-type', `${MLLP_CONNECTION_TYPE.system}|${MLLP_CONNECTION_TYPE.code}`],
    ]),
  );
  const endpoints = found.entries.map((entry) => parseStored<Endpoint>(entry));
  const active = endpoints.filter((e) => e.status === 'active');
  const organization = /^Organization\/([A-Za-z0-9\-.]{1,64})$/.exec(active[0]?.managingOrganization?.reference ?? '')?.[1];
  if (active.length !== 1 || !organization) {
    throw unknown(
      endpoints.length === 0 ? `Sending facility "${msh.sendingFacility}" is not registered as a laboratory`
      : active.length === 0 ? `Sending facility "${msh.sendingFacility}" may not send now (its Endpoint is not active)`
      : `Sending facility "${msh.sendingFacility}" is registered without one active Endpoint naming its Organization`,
    );
  }
  return organization;
}

function keyOf(msh: Header): Pick<LabMessage, 'sender' | 'controlId' | 'messageType'> {
  return {
    sender: `${msh.sendingApplication}|${msh.sendingFacility}`,
    controlId: msh.controlId || null,
    messageType: msh.messageCode ? `${msh.messageCode}^${msh.triggerEvent}` : null,
  };
}

/** The NAK the error earns, after the message is kept as rejected with its reason. */
async function reject(intake: Repository, bytes: Buffer, original: Message | undefined, error: Hl7Error): Promise<Buffer> {
  const detail = { ...error.detail, userMessage: ackText(error.detail.condition.code, ackLanguage(original)) };
  const ack = encodeAck({ code: error.acknowledgment, ...(original ? { original } : {}), errors: [detail] });
  const key = original ? keyOf(header(original)) : { sender: null, controlId: null, messageType: null };
  await intake.labMessages.keep({ ...key, organization: null, status: 'rejected', reason: error.message, content: Buffer.from(bytes), ack });
  return ack;
}
