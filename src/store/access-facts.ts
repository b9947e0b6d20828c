import type { ConsentProvision, Reference, RelatedPerson, Resource } from '@medplum/fhirtypes';
import { dateRange } from '../fhir/dates.js';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';

/**
 * The facts the access filter reads, derived from resources at write time and stored beside
 * them (tables care_relationship and consent_rule, rewritten with the resource like its search
 * indexes), so that the filter is a few index look-ups inside the query instead of walking
 * Encounters and Consents on every request.
 *
 * A resource only CLAIMS care relationships: which of them hold, and whether verified or
 * self-declared, the door decides from who writes it (AccessPolicy.checkWrite), since the
 * claims of an Encounter are its writer's own word.
 */
export interface AccessFacts {
  care: CareClaim[];
  /** [patient, kind, value, validUntil]: the patient denies a party, or hides a security-label category. */
  consent: [string, ConsentRuleKind, string, string | null][];
}

/** `party` (`Organization/x`, or `iin|…` for a legal representative) would see `patient`. */
export interface CareClaim {
  patient: string;
  party: string;
  kind: CareKind;
  validUntil: string | null;
  /** The resource the claim rests on besides its own: the ServiceRequest a Task accepts. */
  basis?: string;
}

export type CareKind = 'attached' | 'encounter' | 'episode' | 'referral' | 'consultation' | 'appointment' | 'representative';

/** How long the receiving organization keeps access after a referral it accepted is completed, or an appointment ends. */
export const REFERRAL_GRACE_DAYS = 14;
export type ConsentRuleKind = 'deny-party' | 'hide-label';

/** Encounter statuses during which the organization treating the patient has a care relationship. */
const ACTIVE_ENCOUNTER = new Set(['planned', 'arrived', 'triaged', 'in-progress', 'onleave']);
const ACTIVE_EPISODE = new Set(['planned', 'waitlist', 'active', 'onhold']);
const ACTIVE_REQUEST = new Set(['draft', 'active', 'on-hold']);
/** Task statuses in which the owner has accepted the work (https://hl7.org/fhir/R4/task.html#statemachine). */
const ACCEPTED_TASK = new Set(['accepted', 'in-progress', 'on-hold']);
const BOOKED_APPOINTMENT = new Set(['booked', 'arrived', 'checked-in', 'pending']);

/**
 * RelatedPerson.relationship codes (v3 RoleCode) that make someone the legal representative of
 * a child: parents, adoptive and natural parents, guardians.
 * https://terminology.hl7.org/CodeSystem-v3-RoleCode.html
 */
export const LEGAL_REPRESENTATIVE_CODES: ReadonlySet<string> = new Set(['PRN', 'MTH', 'FTH', 'NPRN', 'NMTH', 'NFTH', 'ADOPTP', 'ADOPTM', 'ADOPTF', 'GUARD']);

/** A RelatedPerson naming a parent or guardian: legal representation, which reaches the child's record. */
export function representsLegally(related: RelatedPerson): boolean {
  return related.relationship?.some((r) => r.coding?.some((c) => LEGAL_REPRESENTATIVE_CODES.has(c.code ?? ''))) ?? false;
}

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;
/** References that stand for an organization's part: resolved to `Organization/x` when written (src/store/care-evidence.ts). */
const PARTY_OF = /^(HealthcareService|Location|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/;
const SERVICE_REQUEST_REFERENCE = /^ServiceRequest\/[A-Za-z0-9\-.]{1,64}$/;
const ORGANIZATION_REFERENCE = /^Organization\/([A-Za-z0-9\-.]{1,64})$/;

function patientOf(reference: Reference | undefined): string | undefined {
  return PATIENT_REFERENCE.exec(reference?.reference ?? '')?.[1];
}

function organizations(references: readonly (Reference | undefined)[]): string[] {
  return references.map((r) => r?.reference ?? '').filter((r) => ORGANIZATION_REFERENCE.test(r));
}

export function accessFacts(resource: Resource): AccessFacts {
  const care: AccessFacts['care'] = [];
  const consent: AccessFacts['consent'] = [];
  const relate = (patient: string | undefined, parties: string[], kind: CareKind, validUntil: string | null = null, basis?: string) => {
    if (patient) for (const party of new Set(parties)) care.push({ patient, party, kind, validUntil, ...(basis ? { basis } : {}) });
  };
  switch (resource.resourceType) {
    case 'Patient': {
      const patient = resource;
      relate(patient.id, organizations([...(patient.generalPractitioner ?? []), patient.managingOrganization]), 'attached');
      break;
    }
    case 'Encounter': {
      const encounter = resource;
      if (ACTIVE_ENCOUNTER.has(encounter.status)) relate(patientOf(encounter.subject), organizations([encounter.serviceProvider]), 'encounter');
      break;
    }
    case 'EpisodeOfCare': {
      const episode = resource;
      if (ACTIVE_EPISODE.has(episode.status)) relate(patientOf(episode.patient), organizations([episode.managingOrganization]), 'episode');
      break;
    }
    case 'ServiceRequest': {
      const request = resource;
      if (!ACTIVE_REQUEST.has(request.status)) break;
      const consultation = request.category?.some((c) => c.coding?.some((coding) => coding.code === '11429006' || coding.code === 'consultation'));
      relate(patientOf(request.subject), organizations([...(request.performer ?? []), request.requester]), consultation ? 'consultation' : 'referral');
      break;
    }
    case 'Task': {
      // The receiving organization's acceptance of a referral: its access lasts while the work
      // does, and a grace period after it is completed.
      const task = resource;
      const referral = (task.focus?.reference ?? '').match(SERVICE_REQUEST_REFERENCE)?.[0];
      if (!referral) break;
      const owner = organizations([task.owner]);
      if (ACCEPTED_TASK.has(task.status)) relate(patientOf(task.for), owner, 'referral', null, referral);
      else if (task.status === 'completed') {
        const ended = Date.parse(task.executionPeriod?.end ?? task.lastModified ?? '') || Date.now();
        relate(patientOf(task.for), owner, 'referral', afterGrace(ended), referral);
      }
      break;
    }
    case 'Appointment': {
      const appointment = resource;
      if (!BOOKED_APPOINTMENT.has(appointment.status)) break;
      const participants = appointment.participant ?? [];
      const patient = participants.map((p) => patientOf(p.actor)).find((p) => p !== undefined);
      const accepted = participants.some((p) => patientOf(p.actor) === patient && p.status === 'accepted');
      // Access for the visit and its follow-up: until the grace period after the appointment ends.
      const end = Date.parse(appointment.end ?? '');
      const until = Number.isNaN(end) ? null : afterGrace(end);
      // Participants are services, locations and practitioners' roles (R4 names no Organization
      // there): the store resolves each to the organization it belongs to.
      const parties = participants.map((p) => p.actor?.reference ?? '').filter((r) => PARTY_OF.test(r));
      if (accepted) relate(patient, parties, 'appointment', until);
      break;
    }
    case 'RelatedPerson': {
      const related = resource;
      if (related.active === false) break;
      if (!representsLegally(related)) break;
      const iins = (related.identifier ?? []).filter((i) => i.system === IIN_SYSTEM && i.value).map((i) => `iin|${i.value}`);
      relate(patientOf(related.patient), iins, 'representative', endOf(related.period?.end));
      break;
    }
    case 'Consent': {
      const record = resource;
      const patient = patientOf(record.patient);
      if (record.status === 'active' && patient && record.provision) consentRules(patient, record.provision, record.provision.type, consent);
      break;
    }
  }
  return { care, consent };
}

/**
 * A Consent's deny provisions, nested ones included (a nested provision without a type inherits
 * its parent's): an actor that is an Organization is denied the whole record; a security label
 * hides the items carrying it (from everyone but their author).
 * https://hl7.org/fhir/R4/consent.html#provision
 */
function consentRules(patient: string, provision: ConsentProvision, inherited: string | undefined, rules: AccessFacts['consent']): void {
  const type = provision.type ?? inherited;
  if (type === 'deny') {
    const until = endOf(provision.period?.end);
    const labels = (provision.securityLabel ?? []).map((l) => l.code).filter((c): c is string => !!c);
    if (labels.length > 0) for (const label of labels) rules.push([patient, 'hide-label', label, until]);
    else for (const party of organizations((provision.actor ?? []).map((a) => a.reference))) rules.push([patient, 'deny-party', party, until]);
  }
  for (const nested of provision.provision ?? []) consentRules(patient, nested, type, rules);
}

/** The instant the grace period after `ended` (epoch ms) runs out. */
function afterGrace(ended: number): string {
  return new Date(ended + REFERRAL_GRACE_DAYS * 86_400_000).toISOString();
}

/** The instant a period's end (a FHIR dateTime, possibly partial: `2030-05`) lasts until. */
function endOf(end: string | undefined): string | null {
  return end ? dateRange(end, 'period.end').high : null;
}

/**
 * The codes of a resource's security labels (meta.security), which hidden categories are matched
 * against. A Consent also carries the categories it hides: that a patient hides HIV records says
 * something about HIV, so the Consent is hidden like them (its author still sees it).
 */
export function securityCodes(resource: Resource): string[] {
  const codes = (resource.meta?.security ?? []).map((c) => c.code);
  if (resource.resourceType === 'Consent') {
    const hidden: AccessFacts['consent'] = [];
    const consent = resource;
    if (consent.provision) consentRules('', consent.provision, consent.provision.type, hidden);
    codes.push(...hidden.filter(([, kind]) => kind === 'hide-label').map(([, , label]) => label));
  }
  return [...new Set(codes.filter((c): c is string => !!c))];
}
