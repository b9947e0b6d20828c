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
