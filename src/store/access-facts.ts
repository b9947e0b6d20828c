import type { Consent, ConsentProvision, Encounter, EpisodeOfCare, Patient, Reference, RelatedPerson, Resource, ServiceRequest } from '@medplum/fhirtypes';
import { dateRange } from '../fhir/dates.js';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';

/**
 * The facts the access filter reads, derived from resources at write time and stored beside
 * them (tables care_relationship and consent_rule, rewritten with the resource like its search
 * indexes), so that the filter is a few index look-ups inside the query instead of walking
 * Encounters and Consents on every request.
 */
export interface AccessFacts {
  /** [patient, party, kind, validUntil]: `party` (`Organization/x`, or `iin|…` for a legal representative) may see `patient`. */
  care: [string, string, CareKind, string | null][];
  /** [patient, kind, value, validUntil]: the patient denies a party, or hides a security-label category. */
  consent: [string, ConsentRuleKind, string, string | null][];
}

export type CareKind = 'attached' | 'encounter' | 'episode' | 'referral' | 'consultation' | 'representative';
export type ConsentRuleKind = 'deny-party' | 'hide-label';

/** Encounter statuses during which the organization treating the patient has a care relationship. */
const ACTIVE_ENCOUNTER = new Set(['planned', 'arrived', 'triaged', 'in-progress', 'onleave']);
const ACTIVE_EPISODE = new Set(['planned', 'waitlist', 'active', 'onhold']);
const ACTIVE_REQUEST = new Set(['draft', 'active', 'on-hold']);

/**
 * RelatedPerson.relationship codes (v3 RoleCode) that make someone the legal representative of
 * a child: parents, adoptive and natural parents, guardians.
 * https://terminology.hl7.org/CodeSystem-v3-RoleCode.html
 */
export const LEGAL_REPRESENTATIVE_CODES: ReadonlySet<string> = new Set(['PRN', 'MTH', 'FTH', 'NPRN', 'NMTH', 'NFTH', 'ADOPTP', 'ADOPTM', 'ADOPTF', 'GUARD']);

const PATIENT_REFERENCE = /^Patient\/([A-Za-z0-9\-.]{1,64})$/;
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
  const relate = (patient: string | undefined, parties: string[], kind: CareKind, until: string | null = null) => {
    if (patient) for (const party of new Set(parties)) care.push([patient, party, kind, until]);
  };
  switch (resource.resourceType) {
    case 'Patient': {
      const patient = resource as Patient;
      relate(patient.id, organizations([...(patient.generalPractitioner ?? []), patient.managingOrganization]), 'attached');
      break;
    }
    case 'Encounter': {
      const encounter = resource as Encounter;
      if (ACTIVE_ENCOUNTER.has(encounter.status)) relate(patientOf(encounter.subject), organizations([encounter.serviceProvider]), 'encounter');
      break;
    }
    case 'EpisodeOfCare': {
      const episode = resource as EpisodeOfCare;
      if (ACTIVE_EPISODE.has(episode.status)) relate(patientOf(episode.patient), organizations([episode.managingOrganization]), 'episode');
      break;
    }
    case 'ServiceRequest': {
      const request = resource as ServiceRequest;
      if (!ACTIVE_REQUEST.has(request.status)) break;
      const consultation = request.category?.some((c) => c.coding?.some((coding) => coding.code === '11429006' || coding.code === 'consultation'));
      relate(patientOf(request.subject), organizations([...(request.performer ?? []), request.requester]), consultation ? 'consultation' : 'referral');
      break;
    }
    case 'RelatedPerson': {
      const related = resource as RelatedPerson;
      if (related.active === false) break;
      if (!related.relationship?.some((r) => r.coding?.some((c) => LEGAL_REPRESENTATIVE_CODES.has(c.code ?? '')))) break;
      const iins = (related.identifier ?? []).filter((i) => i.system === IIN_SYSTEM && i.value).map((i) => `iin|${i.value}`);
      relate(patientOf(related.patient), iins, 'representative', endOf(related.period?.end));
      break;
    }
    case 'Consent': {
      const record = resource as Consent;
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
    const consent = resource as Consent;
    if (consent.provision) consentRules('', consent.provision, consent.provision.type, hidden);
    codes.push(...hidden.filter(([, kind]) => kind === 'hide-label').map(([, , label]) => label));
  }
  return [...new Set(codes.filter((c): c is string => !!c))];
}
