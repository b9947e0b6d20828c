import { randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bundle, BundleEntry, Observation, Patient } from '@medplum/fhirtypes';
import { IIN_SYSTEM, buildIin } from '../src/identity/iin.js';

/** Where the Synthea R4 sample (24 transaction Bundles, 5,039 resources) lives; SYNTHEA_DIR overrides. */
export const SYNTHEA_DIR = process.env.SYNTHEA_DIR ?? '/work/shared/data/synthea-r4';

const GIVEN = ['Aigerim', 'Nursultan', 'Dana', 'Yerlan', 'Madina', 'Askar', 'Aliya', 'Timur', 'Saule', 'Daniyar'];
const FAMILY = ['Nurlanov', 'Akhmetova', 'Seitkali', 'Omarov', 'Zhakupova', 'Bekov', 'Ismailova', 'Kassymov'];
const CITIES = ['Astana', 'Almaty', 'Shymkent', 'Karaganda', 'Aktobe', 'Pavlodar'];

/**
 * A Patient with an IIN, the shape a national registry sends. `n` makes it distinct: the IIN's
 * serial is n mod 10,000 and the birth date (1950–2018) advances a day every 10,000 patients.
 */
export function patient(n: number): Patient & { identifier: [{ system: string; value: string }] } {
  const sex = n % 2 === 0 ? 'female' : 'male';
  const day = new Date(Date.UTC(1950, 0, 1) + (Math.floor(n / 10_000) % 25_000) * 86_400_000);
  const birthDate = day.toISOString().slice(0, 10);
  let iin: string | null = null;
  for (let serial = n % 10_000; iin === null; serial = (serial + 1) % 10_000) iin = buildIin({ birthDate, sex, serial });
  return {
    resourceType: 'Patient',
    identifier: [{ system: IIN_SYSTEM, value: iin }],
    active: true,
    name: [{ use: 'official', family: FAMILY[n % FAMILY.length]!, given: [GIVEN[(n >> 3) % GIVEN.length]!] }],
    telecom: [{ system: 'phone', value: `+7701${String(n).padStart(7, '0')}`, use: 'mobile' }],
    gender: sex,
    birthDate,
    address: [{ use: 'home', city: CITIES[n % CITIES.length]!, country: 'KZ', postalCode: String(10_000 + (n % 90_000)) }],
  };
}

function observation(n: number, subject: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: subject },
    effectiveDateTime: new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString(),
    valueQuantity: { value: 60 + (n % 40), unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

/** A transaction of `size` Patient creates (the preload). */
export function patientTransaction(first: number, size: number): Bundle {
  const entry: BundleEntry[] = [];
  for (let n = first; n < first + size; n++) entry.push({ resource: patient(n), request: { method: 'POST', url: 'Patient' } });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

/**
 * A transaction of `size` entries shaped like a clinic's upload: one Patient per 5 entries and
 * Observations pointing at them by `urn:uuid:`, so reference rewriting is part of the cost.
 */
export function clinicTransaction(first: number, size: number): Bundle {
  const entry: BundleEntry[] = [];
  let subject = '';
  for (let i = 0; i < size; i++) {
    const fullUrl = `urn:uuid:${randomUUID()}`;
    if (i % 5 === 0) {
      subject = fullUrl;
      entry.push({ fullUrl, resource: patient(first + i), request: { method: 'POST', url: 'Patient' } });
    } else {
      entry.push({ fullUrl, resource: observation(first + i, subject), request: { method: 'POST', url: 'Observation' } });
    }
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

export interface SyntheaBundle {
  file: string;
  text: string;
  resources: number;
}

export async function loadSynthea(dir = SYNTHEA_DIR): Promise<SyntheaBundle[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(join(dir, file), 'utf8');
      const bundle = JSON.parse(text) as Bundle;
      return { file, text, resources: bundle.entry?.length ?? 0 };
    }),
  );
}

/** The security label of HIV-related items (v3 ActCode), a category a patient may hide by Consent. */
export const HIV_LABEL = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' };

/** The LOINC codes of a polyclinic patient's five Observations; the fifth is replaced by an HIV viral load for some. */
export const CLINIC_CODES = [
  { code: '8867-4', display: 'Heart rate', unit: '/min', value: 72 },
  { code: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', value: 125 },
  { code: '2339-0', display: 'Glucose [Mass/volume] in Blood', unit: 'mg/dL', value: 95 },
  { code: '29463-7', display: 'Body weight', unit: 'kg', value: 70 },
  { code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', unit: 'g/dL', value: 14 },
] as const;
export const HIV_VIRAL_LOAD = { code: '20447-9', display: 'HIV 1 RNA [#/volume] (viral load) in Serum or Plasma', unit: '{copies}/mL', value: 40 };

/** What the access population's rules make of patient `n`: its labelled HIV result, and whether the patient hides it. */
export function accessProfile(n: number): { labelled: boolean; hidden: boolean } {
  return { labelled: n % 5 === 0, hidden: n % 10 === 0 };
}

/**
 * The entries of one patient of the access benchmark: patient `n` attached to `organization`
 * (Patient.generalPractitioner, from which the care relationship is derived) with five
 * Observations by `urn:uuid:`. Every 5th patient's fifth Observation is an HIV viral load
 * labelled HIV, and every 10th patient hides that label by Consent (see accessProfile), so the
 * door's label condition has rows to let through and rows to hide. The Patient comes first.
 */
export function attachedPatientEntries(n: number, organization: string, observations = true): BundleEntry[] {
  const subject = `urn:uuid:${randomUUID()}`;
  const entries: BundleEntry[] = [
    { fullUrl: subject, resource: { ...patient(n), generalPractitioner: [{ reference: `Organization/${organization}` }] }, request: { method: 'POST', url: 'Patient' } },
  ];
  if (!observations) return entries;
  const { labelled, hidden } = accessProfile(n);
  CLINIC_CODES.forEach((code, i) => {
    const chosen = labelled && i === CLINIC_CODES.length - 1 ? HIV_VIRAL_LOAD : code;
    const resource: Observation = {
      resourceType: 'Observation',
      ...(chosen === HIV_VIRAL_LOAD ? { meta: { security: [HIV_LABEL] } } : {}),
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: chosen.code, display: chosen.display }] },
      subject: { reference: subject },
      effectiveDateTime: new Date(Date.UTC(2025, 0, 1) + (n * 5 + i) * 60_000).toISOString(),
      valueQuantity: { value: chosen.value + (n % 7), unit: chosen.unit, system: 'http://unitsofmeasure.org', code: chosen.unit },
    };
    entries.push({ resource, request: { method: 'POST', url: 'Observation' } });
  });
  if (hidden) {
    entries.push({
      resource: {
        resourceType: 'Consent',
        status: 'active',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
        patient: { reference: subject },
        policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
        provision: { type: 'deny', securityLabel: [HIV_LABEL] },
      },
      request: { method: 'POST', url: 'Consent' },
    });
  }
  return entries;
}
