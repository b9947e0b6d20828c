import type { Bundle, BundleEntry, Identifier, Patient, Reference, ServiceRequest, Specimen } from '@medplum/fhirtypes';
import { escapeToken } from '../fhir/search-request.js';
import { ERROR_CODES, Hl7Error } from '../hl7v2/hl7-error.js';
import { type Message, type Segment, component, header, repetition } from '../hl7v2/message.js';
import { fhirDateTime } from '../hl7v2/dates.js';
import { codeableConcept, noteText, orderNumber, placerIdentifier } from './oru-to-fhir.js';

/**
 * A laboratory order, OML^O21 (v2.5, v2.5.1) or ORM^O01 (v2.3.1 to v2.5.1) from the ordering
 * organization's system (v2.5.1 chapter 4, https://www.hl7.eu/HL7v2x/v251/std251/ch04.html), as a
 * FHIR R4 transaction Bundle: per ORDER group (ORC, its OBR, and in OML its SPMs) a ServiceRequest
 * and its Specimens, following the v2-to-FHIR mappings (https://build.fhir.org/ig/HL7/v2-to-fhir/)
 * where they say how. Every entry is a conditional update on the placer order number, in the
 * namespace of the ordering facility, so a change or a cancellation lands on the same
 * ServiceRequest as a new version, and the lab's results (their PLAC identifier,
 * src/lab/oru-to-fhir.ts) find it. Pure: the patient, the sender and the lab are given.
 */

export interface OrderContext {
  /** The patient PID names (found by the caller). */
  patient: Reference<Patient>;
  /** The ordering Organization id (the sender's): the requester. */
  requester: string;
  /** The performing lab's Organization id (MSH-6's): the performer, whose codes OBR-4's local ones are. */
  lab: string;
}

/**
 * ORC-1, order control (HL7 table 0119), to ServiceRequest.status: a change (XO, XX) or a release
 * (RL, OR) is the order as it now is; SC says the status in ORC-5.
 */
const ORDER_CONTROL: Readonly<Record<string, ServiceRequest['status'] | 'ORC-5'>> = {
  NW: 'active',
  XO: 'active',
  XX: 'active',
  RL: 'active',
  OR: 'active',
  CA: 'revoked',
  OC: 'revoked',
  CR: 'revoked',
  DC: 'revoked',
  OD: 'revoked',
  DR: 'revoked',
  HD: 'on-hold',
  OH: 'on-hold',
  SC: 'ORC-5',
};

/** ORC-5, order status (HL7 table 0038), for ORC-1 SC. */
const ORDER_STATUS: Readonly<Record<string, ServiceRequest['status']>> = {
  A: 'active',
  IP: 'active',
  SC: 'active',
  HD: 'on-hold',
  CM: 'completed',
  CA: 'revoked',
  DC: 'revoked',
  ER: 'entered-in-error',
};

/** TQ1-9 or TQ.6 (OBR-27, ORC-7 before v2.5), HL7 table 0485, to ServiceRequest.priority. */
const PRIORITY: Readonly<Record<string, ServiceRequest['priority']>> = { S: 'stat', A: 'asap', R: 'routine' };

/** One ORDER group: ORC, its timing, its OBR with its notes and diagnoses, its specimens. */
interface OrderGroup {
  orc: Segment;
  orcSequence: number;
  tq1?: Segment;
  obr?: Segment;
  obrSequence: number;
  notes: Segment[];
  diagnoses: Segment[];
  specimens: Segment[];
}

/** The transaction Bundle of an order message. Throws Hl7Error (AE) naming the segment and field that cannot be read. */
export function orderToBundle(message: Message, context: OrderContext): { bundle: Bundle; placers: Identifier[] } {
  const entries: BundleEntry[] = [];
  const placers: Identifier[] = [];
  let uuid = 0;
  const fullUrl = () => `urn:uuid:00000000-0000-4000-8000-${String(++uuid).padStart(12, '0')}`;
  const put = (resource: ServiceRequest | Specimen, identifier: Identifier, url: string): void => {
    entries.push({ fullUrl: url, resource, request: { method: 'PUT', url: `${resource.resourceType}?identifier=${encodeURIComponent(`${identifier.system}|${escapeToken(identifier.value!)}`)}` } });
  };
  const facility = header(message).sendingFacility;
  for (const group of orderGroups(message)) {
    const at = (segment: 'ORC' | 'OBR', field: number) => ({ segment, sequence: segment === 'ORC' ? group.orcSequence : group.obrSequence, field });
    const placer = placerIdentifier(orderField(group, 2), facility);
    if (!placer) throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'ORC-2 and OBR-2 (placer order number) are empty: an order needs the number its results will carry', at('ORC', 2));
    placers.push(placer);
    const requestUrl = fullUrl();
    const specimens = group.specimens.map((spm, index) => {
      const url = fullUrl();
      put(specimenOf(spm, index + 1, placer, context, requestUrl), placerSpecimen(spm, index + 1, placer), url);
      return url;
    });
    put(requestOf(group, placer, context, specimens, at), placer, requestUrl);
  }
  return { bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries }, placers };
}

/** ORC-n, else OBR-n (the placer and filler numbers may be in either). */
function orderField(group: OrderGroup, n: number) {
  const orc = repetition(group.orc, n);
  return orc.length > 0 ? orc : repetition(group.obr, n);
}

function orderGroups(message: Message): OrderGroup[] {
  const groups: OrderGroup[] = [];
  const counts = new Map<string, number>();
  let after: 'OBR' | 'OBX' | 'SPM' | undefined;
  for (const segment of message.segments) {
    const sequence = (counts.get(segment.name) ?? 0) + 1;
    counts.set(segment.name, sequence);
    const group = groups.at(-1);
    switch (segment.name) {
      case 'PID':
        if (sequence > 1) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'One patient per message: send each patient\'s orders in a message of their own', { segment: 'PID', sequence });
        break;
      case 'ORC':
        groups.push({ orc: segment, orcSequence: sequence, obrSequence: 0, notes: [], diagnoses: [], specimens: [] });
        after = undefined;
        break;
      case 'TQ1':
        if (group && !group.obr) group.tq1 ??= segment;
        break;
      case 'OBR':
        if (!group || group.obr) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'Each OBR follows its own ORC', { segment: 'OBR', sequence });
        group.obr = segment;
        group.obrSequence = sequence;
        after = 'OBR';
        break;
      case 'NTE':
        // Notes after OBR are the order's; after an OBX or SPM they are theirs.
        if (group && after === 'OBR') group.notes.push(segment);
        break;
      case 'DG1':
        group?.diagnoses.push(segment);
        break;
      case 'OBX':
        if (after === 'OBR') after = 'OBX';
        break;
      case 'SPM':
        if (!group?.obr) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'SPM before any OBR', { segment: 'SPM', sequence });
        group.specimens.push(segment);
        after = 'SPM';
        break;
    }
  }
  if (groups.length === 0) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'An order message needs at least one ORC', { segment: 'ORC', sequence: 1 });
  return groups;
}

function requestOf(
  group: OrderGroup,
  placer: Identifier,
  context: OrderContext,
  specimens: string[],
  at: (segment: 'ORC' | 'OBR', field: number) => { segment: string; sequence: number; field: number },
): ServiceRequest {
  const { orc, obr } = group;
  const control = component(orc, 1);
  const mapped = ORDER_CONTROL[control];
  if (!mapped) throw new Hl7Error('AE', ERROR_CODES.tableValueNotFound, `ORC-1 (order control) "${control}" is not taken here (${Object.keys(ORDER_CONTROL).join(', ')} are)`, at('ORC', 1));
  const status = mapped === 'ORC-5' ? ORDER_STATUS[component(orc, 5)] : mapped;
  if (!status) throw new Hl7Error('AE', ERROR_CODES.tableValueNotFound, `ORC-5 (order status) "${component(orc, 5)}" is not taken with ORC-1 SC (${Object.keys(ORDER_STATUS).join(', ')} are)`, at('ORC', 5));
  if (!obr) throw new Hl7Error('AE', ERROR_CODES.segmentSequence, 'An ORC without its OBR: the order says what is ordered in OBR-4', { segment: 'ORC', sequence: group.orcSequence });
  const code = codeableConcept(repetition(obr, 4), context.lab);
  if (!code) throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'OBR-4 (universal service identifier) is empty', at('OBR', 4));
  const filler = orderNumber(orderField(group, 3), context.lab);
  const priority = PRIORITY[component(group.tq1, 9) || component(obr, 27, 6) || component(orc, 7, 6)];
  const authored = fhirDateTime(component(orc, 9));
  const reasons = group.diagnoses.map((dg1) => codeableConcept(repetition(dg1, 3), context.lab)).filter((c) => c !== undefined);
  const notes = noteText(group.notes);
  return {
    resourceType: 'ServiceRequest',
    identifier: [placer, ...(filler ? [filler] : [])],
    status,
    intent: 'order',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '108252007', display: 'Laboratory procedure' }] }],
    ...(priority ? { priority } : {}),
    code,
    subject: context.patient,
    ...(authored ? { authoredOn: authored } : {}),
    requester: { reference: `Organization/${context.requester}` },
    performer: [{ reference: `Organization/${context.lab}` }],
    ...(reasons.length > 0 ? { reasonCode: reasons } : {}),
    ...(specimens.length > 0 ? { specimen: specimens.map((reference) => ({ reference })) } : {}),
    ...(notes ? { note: notes } : {}),
  };
}

/** SPM-2's placer-assigned specimen id (EIP.1), else its position, under the order's placer number. */
function placerSpecimen(spm: Segment, n: number, placer: Identifier): Identifier {
  const id = component(spm, 2, 1) || component(spm, 2, 2) || String(n);
  return { system: placer.system!, value: `${placer.value}/specimen/${id}` };
}

function specimenOf(spm: Segment, n: number, placer: Identifier, context: OrderContext, request: string): Specimen {
  const type = codeableConcept(repetition(spm, 4), context.lab);
  const collected = fhirDateTime(component(spm, 17));
  return {
    resourceType: 'Specimen',
    identifier: [placerSpecimen(spm, n, placer)],
    ...(type ? { type } : {}),
    subject: context.patient,
    request: [{ reference: request }],
    ...(collected ? { collection: { collectedDateTime: collected } } : {}),
  };
}
