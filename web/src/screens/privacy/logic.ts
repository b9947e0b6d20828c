import type { Consent, ConsentProvision } from '@medplum/fhirtypes';

/** https://hl7.org/fhir/R4/v3/ActCode/cs.html: the sensitivity codes a patient may hide. */
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';

/**
 * The sensitive categories the screen offers (v3-ActCode InformationSensitivityPolicy): HIV,
 * mental health, sexual and reproductive health, substance use, sexually transmitted disease.
 * The door hides items labelled with any of them (src/store/access-facts.ts consentRules).
 */
export const SENSITIVE_CATEGORIES = ['HIV', 'PSY', 'SEX', 'ETH', 'STD'] as const;
export type SensitiveCategory = (typeof SENSITIVE_CATEGORIES)[number];

/** What one active Consent does, as the screen lists it. */
export type Rule = { kind: 'block'; organization: string; consent: Consent } | { kind: 'hide'; label: string; consent: Consent };

/**
 * A privacy Consent of the patient (https://hl7.org/fhir/R4/consent.html): permit by default,
 * with one deny provision — of an organization as recipient, or of a security label.
 */
function privacyConsent(patient: string, deny: ConsentProvision): Consent {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    policyRule: { coding: [{ system: ACT_CODE_SYSTEM, code: 'OPTIN' }] },
    provision: { type: 'permit', provision: [{ type: 'deny', ...deny }] },
  };
}

/** The Consent that denies the organization the patient's record. */
export function blockConsent(patient: string, organization: string): Consent {
  return privacyConsent(patient, { actor: [{ role: { coding: [{ system: PARTICIPATION_TYPE, code: 'IRCP' }] }, reference: { reference: `Organization/${organization}` } }] });
}

/** The Consent that hides the items labelled `label` from everyone but their author. */
export function hideConsent(patient: string, label: string): Consent {
  return privacyConsent(patient, { securityLabel: [{ system: ACT_CODE_SYSTEM, code: label }] });
}

/** The rules active Consents put in force, read as the door reads them: deny provisions, nested ones included. */
export function rulesOf(consents: readonly Consent[]): Rule[] {
  const rules: Rule[] = [];
  const walk = (consent: Consent, provision: ConsentProvision, inherited: string | undefined) => {
    const type = provision.type ?? inherited;
    if (type === 'deny') {
      const labels = (provision.securityLabel ?? []).map((l) => l.code).filter((c): c is string => !!c);
      if (labels.length) for (const label of labels) rules.push({ kind: 'hide', label, consent });
      else
        for (const actor of provision.actor ?? []) {
          const organization = /^Organization\/(.+)$/.exec(actor.reference?.reference ?? '')?.[1];
          if (organization) rules.push({ kind: 'block', organization, consent });
        }
    }
    for (const nested of provision.provision ?? []) walk(consent, nested, type);
  };
  for (const consent of consents) if (consent.status === 'active' && consent.provision) walk(consent, consent.provision, consent.provision.type);
  return rules;
}

/** The Consent as ended: the same, inactive (PUT back; the store keeps its history). */
export function ended(consent: Consent): Consent {
  return { ...consent, status: 'inactive' };
}
