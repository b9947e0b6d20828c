import type { Endpoint } from '@medplum/fhirtypes';
import { labIntakeAccess } from '../access/door.js';
import { HL7V2_FACILITY_SYSTEM } from '../fhir/identifier-systems.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Database } from '../store/driver.js';
import type { LabMessage } from '../store/lab-messages.js';
import { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { encodeAck } from './hl7v2/ack.js';
import { ERROR_CODES, Hl7Error } from './hl7v2/hl7-error.js';
import { type Header, type Message, header } from './hl7v2/message.js';
import { parseHeader, parseMessage } from './hl7v2/parse.js';
import type { MessageHandler } from './mllp-server.js';

/** The Endpoint connection type of a lab that sends HL7 v2 over MLLP (https://terminology.hl7.org/CodeSystem-endpoint-connection-type.html). */
export const MLLP_CONNECTION_TYPE = { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7v2-mllp' };

/** The message types taken, by MSH-9.1, with their trigger events (MSH-9.2). */
const TAKEN_TYPES = new Map([['ORU', ['R01']]]);
/** MSH-12: ORU^R01 as v2.5 defined it, with SPM; older versions lack the segments results are read from. */
const TAKEN_VERSIONS = new Set(['2.5', '2.5.1']);

/**
 * What the MLLP listener does with each message (HL7 v2.5.1 section 2.9.2, original-mode
 * acknowledgment): every message is kept with the ACK it got; a control id the same sender already
 * had accepted is answered with that first ACK and not kept again; a message that cannot be read
 * gets AE, one of a type, version, processing id or sender not taken gets AR, each with its ERR,
 * and is kept as `rejected` with the reason for review. Faults of the platform (the database
 * down) reject the promise: the listener drops the connection and the lab sends again.
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
    const earlier = controlId ? await intake.labMessages.acknowledged(sender!, controlId) : undefined;
    if (earlier) return earlier;
    let organization: string;
    try {
      checkHeader(msh);
      organization = await senderOrganization(intake, msh);
    } catch (error) {
      if (error instanceof Hl7Error) return reject(intake, bytes, message, error);
      throw error;
    }
    const ack = encodeAck({ code: 'AA', original: message });
    const kept = await intake.labMessages.keep({ ...keyOf(msh), organization, status: 'received', reason: null, content: Buffer.from(bytes), ack });
    return 'duplicateOf' in kept ? kept.duplicateOf : ack;
  };
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
      ['identifier', `${HL7V2_FACILITY_SYSTEM}|${msh.sendingFacility}`],
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
  const ack = encodeAck({ code: error.acknowledgment, ...(original ? { original } : {}), errors: [error.detail] });
  const key = original ? keyOf(header(original)) : { sender: null, controlId: null, messageType: null };
  await intake.labMessages.keep({ ...key, organization: null, status: 'rejected', reason: error.message, content: Buffer.from(bytes), ack });
  return ack;
}
