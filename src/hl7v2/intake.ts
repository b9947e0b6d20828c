import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoint } from '@medplum/fhirtypes';
import { accessPolicy, hl7v2IntakeAccess } from '../access/door.js';
import type { ResourceScope } from '../access/scopes.js';
import { HL7V2_FACILITY_SYSTEM } from '../fhir/identifier-systems.js';
import type { Translated } from '../fhir/locale.js';
import { escapeToken, parseSearchRequest } from '../fhir/search-request.js';
import type { Database } from '../store/driver.js';
import type { FieldEvidence } from '../store/duplicate-candidates.js';
import type { Hl7v2Message } from '../store/hl7v2-messages.js';
import { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { type Acknowledgment, encodeAck } from './ack.js';
import { ackLanguage, ackText } from './ack-text.js';
import { ERROR_CODES, type ErrorCondition, type ErrorDetail, type ErrorLocation, Hl7Error } from './hl7-error.js';
import { type Header, type Message, header } from './message.js';
import type { MessageHandler } from './mllp-server.js';
import { parseHeader, parseMessage } from './parse.js';

/** The Endpoint connection type of a system that sends HL7 v2 over MLLP (https://terminology.hl7.org/CodeSystem-endpoint-connection-type.html). */
export const MLLP_CONNECTION_TYPE = { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'hl7v2-mllp' };

/** Why a message is accepted but parked for review: what to tell the sender (ERR-3, ERR-2, ERR-8) and keep as the reason. */
export interface Parked {
  condition: ErrorCondition;
  reason: string;
  text: Translated;
  location?: ErrorLocation;
}

/** What a domain does with the messages of one type (MSH-9.1): the lab with ORU, exchange with ADT. */
export interface MessageRoute {
  /** The trigger events taken (MSH-9.2). */
  triggers: readonly string[];
  /** The versions taken (MSH-12). */
  versions: readonly string[];
  /** What the sender's system caller may do, acting for its Organization. */
  scopes: readonly ResourceScope[];
  /** MSH-9 of the answer when the message type has an application acknowledgment of its own; ACK otherwise. */
  acknowledgment?: readonly [code: string, trigger: string, structure: string];
  /**
   * Reads and maps the message as the sender's caller; an Hl7Error here rejects it (AE or AR)
   * before it is kept. Returns the step that writes it, run once it is kept: what that step cannot
   * write (all of it rolled back), or what it wrote but leaves to a person (a difference from the
   * registry), comes back as why the message is parked.
   */
  prepare(message: Message, sender: Sender): Promise<() => Promise<Parked | undefined>>;
}

/** Who sent a message: their system caller, through the door, and their Organization. */
export interface Sender {
  caller: Repository;
  organization: string;
  facility: string;
  registry: Registry;
  /**
   * Runs again, each through its own route as its own sender, the messages of `messageType` from
   * `organization` parked for review whose bytes contain `mentioning` (what this message may have
   * resolved: the order a parked result waited for); those now written are settled `processed`.
   * Returns how many were.
   */
  retryParked(parked: { messageType: string; organization: string; mentioning: string }): Promise<number>;
}

/**
 * What the registry tells a route beyond what the sender's caller may see, disclosing no record:
 * for a sender that names a person it has in front of it (an admission), whose care the door then
 * judges, and for the identity service's work list, which only the registry decides.
 */
export interface Registry {
  /** The one active Patient holding this identifier (an IIN, or a number the sender gave), if one does. */
  holder(identifier: { system: string; value: string }): Promise<string | undefined>;
  /** Puts two Patients on the duplicates work list (`$duplicates`) for a registrar to decide; nothing is merged. */
  proposeDuplicate(pair: { a: string; b: string; score: number; evidence: FieldEvidence[] }): Promise<void>;
}

/**
 * What the MLLP listener does with each message (HL7 v2.5.1 section 2.9.2, original-mode
 * acknowledgment): every message is kept with the ACK it got; a control id the same sender already
 * had accepted is answered with that first ACK and not kept again; a message that cannot be read
 * or mapped gets AE, one of a type, version, processing id or sender not taken gets AR, each with
 * its ERR, and is kept as `rejected` with the reason for review. An accepted message is written by
 * its route as the sender's own system caller, through the door; what cannot be written is parked
 * for review and answered AA with an informational ERR: accepted, kept, not yet in a record.
 * The answer is an ACK, or the application acknowledgment its route names (ORL^O22 to OML^O21).
 * Faults of the platform (the database down) reject the promise: the listener drops the connection
 * and the sender sends again.
 */
export function hl7v2MessageHandler(db: Database, routes: Readonly<Record<string, MessageRoute>>): MessageHandler {
  const retryParked: Sender['retryParked'] = async ({ messageType, organization, mentioning }) => {
    const intake = new Repository(db, hl7v2IntakeAccess());
    let written = 0;
    for (const kept of await intake.hl7v2Messages.parked({ messageType, organization, mentioning })) {
      const message = parseMessage(kept.content);
      let route: MessageRoute;
      try {
        route = routeOf(header(message), routes);
        const write = await route.prepare(message, senderOf(db, header(message), organization, route, retryParked));
        if (await write()) continue;
      } catch (error) {
        // It was accepted once; what its route refuses now stays parked as it was.
        if (error instanceof Hl7Error) continue;
        throw error;
      }
      await intake.hl7v2Messages.settle(kept.id, { status: 'processed', reason: null, ack: encodeAck({ code: 'AA', original: message, ...(route.acknowledgment ? { type: route.acknowledgment } : {}) }) });
      written++;
    }
    return written;
  };
  return async (bytes) => {
    const intake = new Repository(db, hl7v2IntakeAccess());
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
    let write: () => Promise<Parked | undefined>;
    const type = Object.hasOwn(routes, msh.messageCode) ? routes[msh.messageCode]?.acknowledgment : undefined;
    const answered = type ? { type } : {};
    try {
      const route = routeOf(msh, routes);
      organization = await senderOrganization(intake, msh);
      write = await route.prepare(message, senderOf(db, msh, organization, route, retryParked));
    } catch (error) {
      if (error instanceof Hl7Error) return reject(intake, bytes, message, error, answered);
      throw error;
    }
    const accepted = encodeAck({ code: 'AA', original: message, ...answered });
    const kept = await intake.hl7v2Messages.keep({ ...keyOf(msh), organization, status: 'received', reason: null, content: Buffer.from(bytes), ack: accepted });
    if (!kept) return (await firstAck(intake, sender!, controlId!)) ?? accepted;
    const parked = await write();
    if (!parked) {
      await intake.hl7v2Messages.settle(kept.id, { status: 'processed', reason: null, ack: accepted });
      return accepted;
    }
    const note: ErrorDetail = {
      condition: parked.condition,
      severity: 'I',
      diagnostic: `Accepted and kept for review: ${parked.reason}`,
      userMessage: parked.text[ackLanguage(message)],
      ...(parked.location ? { location: parked.location } : {}),
    };
    const ack = encodeAck({ code: 'AA', original: message, errors: [note], ...answered });
    await intake.hl7v2Messages.settle(kept.id, { status: 'review', reason: parked.reason, ack });
    return ack;
  };
}

/** The system caller of the Organization that sent `msh`, through the door, with what its route may do. */
function senderOf(db: Database, msh: Header, organization: string, route: MessageRoute, retryParked: Sender['retryParked']): Sender {
  const caller = new Repository(
    db,
    accessPolicy({ role: 'system', subject: `mllp|${msh.sendingFacility}`, clientId: 'densaulyq-mllp', organization, scopes: route.scopes, purposeOfUse: 'TREAT' }),
  );
  return { caller, organization, facility: msh.sendingFacility, registry: registryOf(new Repository(db, hl7v2IntakeAccess())), retryParked };
}

/** How long a resend waits for the first copy to be written, to answer as it was answered. */
const FIRST_COPY_WAIT_MS = 5_000;

/**
 * The ACK a kept message under this key got. While the first copy is still being written (two
 * copies sent at once) its final ACK is awaited, so both copies are answered alike; one left
 * `received` longer (its process died writing it) is answered as accepted, and stays listed for review.
 */
async function firstAck(intake: Repository, sender: string, controlId: string): Promise<Buffer | undefined> {
  const deadline = Date.now() + FIRST_COPY_WAIT_MS;
  for (;;) {
    const first = await intake.hl7v2Messages.acknowledged(sender, controlId);
    if (!first || first.status !== 'received' || Date.now() >= deadline) return first?.ack;
    await sleep(50);
  }
}

/** The route MSH takes under the original acknowledgment rules: type, trigger, processing id and version taken, and a control id. */
function routeOf(msh: Header, routes: Readonly<Record<string, MessageRoute>>): MessageRoute {
  const at = (field: number, component?: number) => ({ segment: 'MSH', sequence: 1, field, ...(component ? { component } : {}) });
  if (!msh.controlId) throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'MSH-10 (message control id) is empty', at(10));
  const route = Object.hasOwn(routes, msh.messageCode) ? routes[msh.messageCode] : undefined;
  if (!route) throw new Hl7Error('AR', ERROR_CODES.unsupportedMessageType, `Message type "${msh.messageCode}" is not taken here; send ${Object.keys(routes).join(', ')}`, at(9, 1));
  if (!route.triggers.includes(msh.triggerEvent)) {
    throw new Hl7Error('AR', ERROR_CODES.unsupportedEventCode, `Trigger event "${msh.triggerEvent}" of ${msh.messageCode} is not taken here; send ${route.triggers.join(', ')}`, at(9, 2));
  }
  // Training and debugging messages would put invented data in a real person's record.
  if (msh.processingId !== 'P') throw new Hl7Error('AR', ERROR_CODES.unsupportedProcessingId, `Processing id "${msh.processingId}" is not taken here; only P (production)`, at(11));
  if (!route.versions.includes(msh.version)) throw new Hl7Error('AR', ERROR_CODES.unsupportedVersion, `Version "${msh.version}" is not taken here; send ${route.versions.join(' or ')}`, at(12));
  return route;
}

/** The Organization id of the system a message comes from: an active MLLP Endpoint identified by MSH-4 names it as managing. */
async function senderOrganization(intake: Repository, msh: Header): Promise<string> {
  const unknown = (why: string) => new Hl7Error('AR', ERROR_CODES.unknownKey, why, { segment: 'MSH', sequence: 1, field: 4 });
  if (!msh.sendingFacility) throw unknown('MSH-4 (sending facility) is empty: the sender cannot be known');
  // By identifier alone (a look-up, whose plan is prepared once), the connection type checked here.
  const found = await intake.search(parseSearchRequest('Endpoint', [['identifier', `${HL7V2_FACILITY_SYSTEM}|${escapeToken(msh.sendingFacility)}`]]));
  const endpoints = found.entries
    .map((entry) => parseStored<Endpoint>(entry))
    .filter((e) => e.connectionType.system === MLLP_CONNECTION_TYPE.system && e.connectionType.code === MLLP_CONNECTION_TYPE.code);
  const active = endpoints.filter((e) => e.status === 'active');
  const organization = /^Organization\/([A-Za-z0-9\-.]{1,64})$/.exec(active[0]?.managingOrganization?.reference ?? '')?.[1];
  if (active.length !== 1 || !organization) {
    throw unknown(
      endpoints.length === 0 ? `Sending facility "${msh.sendingFacility}" is not registered as an HL7 v2 sender`
      : active.length === 0 ? `Sending facility "${msh.sendingFacility}" may not send now (its Endpoint is not active)`
      : `Sending facility "${msh.sendingFacility}" is registered without one active Endpoint naming its Organization`,
    );
  }
  return organization;
}

function registryOf(intake: Repository): Registry {
  return {
    async holder({ system, value }) {
      const ids = await intake.matchIds('Patient', new URLSearchParams([['identifier', `${system}|${escapeToken(value)}`], ['active:not', 'false']]));
      return ids.length === 1 ? ids[0] : undefined;
    },
    proposeDuplicate: (pair) => intake.duplicates.save([pair], new Date().toISOString()),
  };
}

function keyOf(msh: Header): Pick<Hl7v2Message, 'sender' | 'controlId' | 'messageType'> {
  return {
    sender: `${msh.sendingApplication}|${msh.sendingFacility}`,
    controlId: msh.controlId || null,
    messageType: msh.messageCode ? `${msh.messageCode}^${msh.triggerEvent}` : null,
  };
}

/** The NAK the error earns, after the message is kept as rejected with its reason. */
async function reject(intake: Repository, bytes: Buffer, original: Message | undefined, error: Hl7Error, answered: Pick<Acknowledgment, 'type'> = {}): Promise<Buffer> {
  const language = ackLanguage(original);
  const detail = { ...error.detail, userMessage: error.text?.[language] ?? ackText(error.detail.condition.code, language) };
  const ack = encodeAck({ code: error.acknowledgment, ...(original ? { original } : {}), errors: [detail], ...answered });
  const key = original ? keyOf(header(original)) : { sender: null, controlId: null, messageType: null };
  await intake.hl7v2Messages.keep({ ...key, organization: null, status: 'rejected', reason: error.message, content: Buffer.from(bytes), ack });
  return ack;
}
