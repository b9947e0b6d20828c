import type { Patient } from '@medplum/fhirtypes';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { blockingCandidates } from '../identity/candidates.js';
import { validateIin } from '../identity/iin.js';
import { matchPatients } from '../identity/patient-match.js';
import type { Repository } from '../store/repository.js';
import type { Translated } from '../fhir/locale.js';
import { ERROR_CODES, type ErrorLocation } from './hl7-error.js';
import type { Parked } from './intake.js';
import { type Message, component, field, part, repetition, segment } from './message.js';

/** The patient a message's PID names, as its sender's caller may find them (HL7 v2.5.1 section 3.4.2). */

/** The first PID-3 identifier that is a valid IIN (senders mark it NI, NNKAZ or nothing, so its checksum decides). */
export function patientIin(message: Message): string | undefined {
  return field(segment(message, 'PID'), 3)
    .map((cx) => part(cx, 1).trim())
    .find((id) => validateIin(id).valid);
}

/** The Patient with this IIN, if the sender's caller may see them (a care relationship, such as a referral to a lab). */
export async function patientWithIin(lab: Repository, iin: string): Promise<string | undefined> {
  const ids = await lab.matchIds('Patient', new URLSearchParams([['identifier', `${IIN_SYSTEM}|${iin}`]]));
  return ids.length === 1 ? ids[0] : undefined;
}

/**
 * Without an IIN, the one patient the sender may write for whom PID's name (PID-5), birth date
 * (PID-7), sex (PID-8), address (PID-11) and phone (PID-13) match with certainty (the identity
 * service's matcher, as `Patient/$match` with onlyCertainMatches: name and birth date alone are
 * only probable); none when no one, or more than one, does.
 */
export async function patientByDemographics(lab: Repository, message: Message): Promise<string | undefined> {
  const described = describedPatient(message);
  if (!described.name || (!described.birthDate && !described.telecom)) return undefined;
  const certain = matchPatients(described, await blockingCandidates(lab, described)).filter((m) => m.grade === 'certain');
  return certain.length === 1 ? certain[0]!.patient.id : undefined;
}

/** The person PID describes: name (PID-5), birth date (PID-7), sex (PID-8), address (PID-11), phone (PID-13). */
export function describedPatient(message: Message): Patient {
  const pid = segment(message, 'PID');
  const birth = /^(\d{4})(\d{2})(\d{2})/.exec(component(pid, 7));
  const phone = component(pid, 13, 1) || component(pid, 13, 12);
  const sex = SEX[component(pid, 8)];
  const name = repetition(pid, 5);
  const given = [part(name, 2), part(name, 3)].filter(Boolean);
  const address = repetition(pid, 11);
  const [street, city, postalCode, country] = [part(address, 1), part(address, 3), part(address, 5), part(address, 6)];
  return {
    resourceType: 'Patient',
    ...(part(name, 1) ? { name: [{ family: part(name, 1), ...(given.length ? { given } : {}) }] } : {}),
    ...(birth ? { birthDate: `${birth[1]}-${birth[2]}-${birth[3]}` } : {}),
    ...(sex ? { gender: sex } : {}),
    ...(phone ? { telecom: [{ system: 'phone', value: phone }] } : {}),
    ...(street || city ? { address: [{ ...(street ? { line: [street] } : {}), ...(city ? { city } : {}), ...(postalCode ? { postalCode } : {}), ...(country ? { country } : {}) }] } : {}),
  };
}

/** PID-8, HL7 table 0001. */
const SEX: Readonly<Record<string, Patient['gender']>> = { M: 'male', F: 'female', O: 'other', U: 'unknown', A: 'other', N: 'unknown' };


const PID_3: ErrorLocation = { segment: 'PID', sequence: 1, field: 3 };

/**
 * Why a message is parked when PID names no patient its sender (`who`: "the laboratory") may
 * record for: none with PID-3's IIN, or, with no valid IIN, none the demographics match with
 * certainty; `text` says so to the sender's people (ERR-8).
 */
export function patientNotFound(iin: string | undefined, who: string, text: { noPatient: Translated; notIdentified: Translated }): Parked {
  return iin
    ? { condition: ERROR_CODES.unknownKey, reason: `No patient ${who} may record for has the IIN in PID-3`, text: text.noPatient, location: PID_3 }
    : { condition: ERROR_CODES.unknownKey, reason: 'PID-3 holds no valid IIN, and the name, birth date and sex in PID match no patient with certainty', text: text.notIdentified, location: PID_3 };
}
