import type { CodeableConcept, Encounter, EncounterParticipant, Identifier, Period } from '@medplum/fhirtypes';
import { ERROR_CODES, Hl7Error } from '../hl7v2/hl7-error.js';
import { type Message, type Repetition, type Segment, component, field, part, repetition, segment } from '../hl7v2/message.js';
import { fhirDateTime } from '../hl7v2/dates.js';

/**
 * HL7 v2 ADT (v2.5.1 chapter 3, https://www.hl7.eu/HL7v2x/v251/std251/ch03.html) as FHIR R4, the
 * way the HL7 v2-to-FHIR mapping reads PID, PV1 and MRG: the fields read here sit at the same
 * places in v2.3.1, 2.4, 2.5 and 2.5.1, so one mapping serves them all.
 */

/** The triggers that report a visit (PV1): admit, discharge, register an outpatient, update. */
export const VISIT_TRIGGERS = ['A01', 'A03', 'A04', 'A08'] as const;

/** A hospital's visit numbers (PV1-19): one namespace per sending Organization. */
export const visitNumberSystem = (organization: string) => `http://densaulyq.kz/fhir/sid/hl7v2-visit/${organization}`;
/** A hospital's patient numbers (PID-3 with assigning authority CX-4; the sending facility when it names none). */
export const medicalRecordSystem = (organization: string, authority: string) => `http://densaulyq.kz/fhir/sid/hl7v2-mrn/${organization}/${encodeURIComponent(authority)}`;
/** A hospital's staff numbers (XCN-1 of PV1-7). */
export const staffSystem = (organization: string) => `http://densaulyq.kz/fhir/sid/hl7v2-staff/${organization}`;

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/** PV1-2 patient class (HL7 table 0004) as the Encounter's v3 ActCode class. */
const PATIENT_CLASS: Readonly<Record<string, { code: string; display: string }>> = {
  E: { code: 'EMER', display: 'emergency' },
  I: { code: 'IMP', display: 'inpatient encounter' },
  B: { code: 'IMP', display: 'inpatient encounter' },
  O: { code: 'AMB', display: 'ambulatory' },
  R: { code: 'AMB', display: 'ambulatory' },
  P: { code: 'PRENC', display: 'pre-admission' },
};

/** CX identifier types (table 0203) that name a person's number in the sender's own system. */
const LOCAL_TYPES = new Set(['', 'MR', 'PI', 'PT', 'PN']);

/**
 * The sender's own numbers of the person in a CX list (PID-3, MRG-1): not an IIN, of a local
 * type, each in the sender's namespace under its assigning authority and assigned by the sender,
 * so it may later retire it (src/access/registry-elements.ts).
 */
export function senderIdentifiers(list: readonly Repetition[], organization: string, facility: string): Identifier[] {
  return list.flatMap((cx) => {
    const value = part(cx, 1).trim();
    if (!value || looksLikeIin(value) || !LOCAL_TYPES.has(part(cx, 5))) return [];
    return [
      {
        use: 'usual',
        type: { coding: [{ system: V2_0203, code: 'MR' }] },
        system: medicalRecordSystem(organization, part(cx, 4) || facility),
        value,
        assigner: { reference: `Organization/${organization}` },
      },
    ];
  });
}

/** Twelve digits: an IIN, valid or mistyped; never taken for a hospital's own number. */
export function looksLikeIin(value: string): boolean {
  return /^\d{12}$/.test(value);
}

export interface VisitContext {
  trigger: string;
  organization: string;
}

/** A visit as a message reports it, before the patient it is about is known. */
export type ReportedVisit = Omit<Encounter, 'subject'>;

/**
 * The Encounter a visit message reports, before it meets what is stored: identified by the visit
 * number PV1-19 in the sender's namespace, so an A08 or A03 updates what the A01 or A04 wrote;
 * undefined for an A08 without a visit number (it updates the person only). Content that cannot be
 * mapped throws an Hl7Error (AE) naming where.
 */
export function encounterOf(message: Message, context: VisitContext): ReportedVisit | undefined {
  const pv1 = segment(message, 'PV1');
  if (!pv1) {
    if (context.trigger === 'A08') return undefined;
    throw new Hl7Error('AE', ERROR_CODES.segmentSequence, `ADT^${context.trigger} needs a PV1 (the visit)`, { segment: 'PV1', sequence: 1 });
  }
  const at = (n: number) => ({ segment: 'PV1', sequence: 1, field: n });
  const visit = component(pv1, 19).trim();
  if (!visit) {
    if (context.trigger === 'A08') return undefined;
    throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'PV1-19 (visit number) is empty: a visit needs the hospital\'s own number to be updated later', at(19));
  }
  const patientClass = component(pv1, 2);
  const encounterClass = PATIENT_CLASS[patientClass];
  // Required in PV1 of every version, and in Encounter.
  if (!patientClass) throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'PV1-2 (patient class) is empty', at(2));
  // 102 rather than 103: the ERR-8 of 103 speaks of character sets, what the listener uses it for.
  if (!encounterClass) {
    throw new Hl7Error('AE', ERROR_CODES.dataType, `PV1-2 patient class "${patientClass}" is not one of ${Object.keys(PATIENT_CLASS).join(', ')} (HL7 table 0004)`, at(2));
  }
  const start = dateTime(pv1, 44);
  const end = dateTime(pv1, 45) ?? (context.trigger === 'A03' ? dateTime(segment(message, 'EVN'), 6) : undefined);
  if (context.trigger === 'A03' && !end) {
    throw new Hl7Error('AE', ERROR_CODES.requiredFieldMissing, 'PV1-45 (discharge date/time) is empty, and EVN-6 gives no time either: a discharge needs its time', at(45));
  }
  const finished = context.trigger === 'A03' || (context.trigger === 'A08' && end !== undefined);
  const location = locationDisplay(repetition(pv1, 3));
  const attending = participants(field(pv1, 7), context.organization);
  const admitSource = v2Concept('0023', component(pv1, 14));
  const dischargeDisposition = v2Concept('0112', component(pv1, 36));
  const period: Period = { ...(start ? { start } : {}), ...(end ? { end } : {}) };
  return {
    resourceType: 'Encounter',
    identifier: [{ use: 'official', type: { coding: [{ system: V2_0203, code: 'VN' }] }, system: visitNumberSystem(context.organization), value: visit }],
    status: STATUS[context.trigger] ?? (finished ? 'finished' : 'in-progress'),
    class: { system: ACT_CODE, ...encounterClass },
    serviceProvider: { reference: `Organization/${context.organization}` },
    ...(Object.keys(period).length ? { period } : {}),
    ...(location ? { location: [{ location: { display: location }, status: finished ? 'completed' : 'active' }] } : {}),
    ...(attending.length ? { participant: attending } : {}),
    ...(admitSource || dischargeDisposition ? { hospitalization: { ...(admitSource ? { admitSource } : {}), ...(dischargeDisposition ? { dischargeDisposition } : {}) } } : {}),
  };
}

/** A01 admits (in progress), A04 registers an outpatient who has arrived, A03 discharges; A08 keeps what is stored. */
const STATUS: Readonly<Record<string, Encounter['status']>> = { A01: 'in-progress', A04: 'arrived', A03: 'finished' };

/**
 * What is stored, updated by what a later message says: its fields where it gives them, the
 * stored ones where it is silent, the stored status on an A08 (an update changes no state).
 */
export function mergeVisit(stored: Encounter | undefined, reported: Encounter, trigger: string): Encounter {
  if (!stored) return reported;
  return {
    ...stored,
    ...reported,
    id: stored.id,
    status: trigger === 'A08' ? stored.status : reported.status,
    ...(stored.period || reported.period ? { period: { ...stored.period, ...reported.period } } : {}),
    ...(reported.location ?? stored.location ? { location: reported.location ?? stored.location } : {}),
    ...(reported.participant ?? stored.participant ? { participant: reported.participant ?? stored.participant } : {}),
    ...(stored.hospitalization || reported.hospitalization ? { hospitalization: { ...stored.hospitalization, ...reported.hospitalization } } : {}),
  };
}

/** A DTM field as a FHIR dateTime; undefined when empty; an AE naming the field when it is no date. */
function dateTime(seg: Segment | undefined, n: number): string | undefined {
  const value = component(seg, n).trim();
  if (!value || !seg) return undefined;
  const parsed = fhirDateTime(value);
  if (!parsed) throw new Hl7Error('AE', ERROR_CODES.dataType, `${seg.name}-${n} "${value}" is not an HL7 date/time (YYYYMMDDHHMMSS±ZZZZ)`, { segment: seg.name, sequence: 1, field: n });
  return parsed;
}

/** PV1-3, PL: point of care, room, bed, facility; kept as the display the hospital shows. */
function locationDisplay(pl: Repetition): string | undefined {
  const parts = [part(pl, 4), part(pl, 1), part(pl, 2), part(pl, 3)].filter(Boolean);
  return parts.length ? parts.join(' / ') : undefined;
}

/** PV1-7 attending doctors, XCN: the hospital's staff number and the name, as the Encounter's attenders. */
function participants(doctors: readonly Repetition[], organization: string): EncounterParticipant[] {
  return doctors.flatMap((xcn) => {
    const id = part(xcn, 1);
    const name = [part(xcn, 2), part(xcn, 3), part(xcn, 4)].filter(Boolean).join(' ');
    if (!id && !name) return [];
    return [
      {
        type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'ATND', display: 'attender' }] }],
        individual: { ...(id ? { identifier: { system: staffSystem(organization), value: id } } : {}), ...(name ? { display: name } : {}) },
      },
    ];
  });
}

function v2Concept(table: string, code: string): CodeableConcept | undefined {
  return code ? { coding: [{ system: `http://terminology.hl7.org/CodeSystem/v2-${table}`, code }] } : undefined;
}
