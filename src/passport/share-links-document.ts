import { randomUUID } from 'node:crypto';
import type { Bundle, Composition, Resource } from '@medplum/fhirtypes';
import type { Locale } from '../access/i18n.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Repository } from '../store/repository.js';

/** The clinical types a shared document carries, read from the patient's compartment. */
const SHARED_TYPES = ['Condition', 'AllergyIntolerance', 'MedicationStatement', 'Immunization', 'Observation', 'Procedure'] as const;

const TITLE: Record<Locale, string> = { kk: 'Денсаулық туралы жазба', ru: 'Запись о здоровье', en: 'Health record' };

/**
 * A FHIR document Bundle (https://hl7.org/fhir/R4/documents.html) of `patientId`'s record as the
 * caller sees it, read through the door: a Composition, the Patient, and the patient's recorded
 * conditions, allergies, medications, immunizations, observations and procedures, one section
 * each. What a share link carries until the International Patient Summary builder is wired in its
 * place (it has the same signature).
 */
export async function patientDocument(repo: Repository, patientId: string, options: { locale: Locale; baseUrl: string }): Promise<Bundle> {
  const patient = JSON.parse((await repo.read('Patient', patientId)).json) as Resource;
  const sections: NonNullable<Composition['section']> = [];
  const resources: Resource[] = [];
  for (const type of SHARED_TYPES) {
    const found = await repo.search(parseSearchRequest(type, [['patient', patientId], ['_count', '1000']]));
    if (found.entries.length === 0) continue;
    const items = found.entries.map((entry) => JSON.parse(entry.json) as Resource);
    resources.push(...items);
    sections.push({ title: type, entry: items.map((r) => ({ reference: `${r.resourceType}/${r.id}` })) });
  }
  const now = new Date().toISOString();
  const composition: Composition = {
    resourceType: 'Composition',
    id: randomUUID(),
    status: 'final',
    type: { coding: [{ system: 'http://loinc.org', code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: `Patient/${patientId}` },
    date: now,
    author: [{ reference: `Patient/${patientId}` }],
    title: TITLE[options.locale],
    language: options.locale,
    section: sections,
  };
  return {
    resourceType: 'Bundle',
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` },
    type: 'document',
    timestamp: now,
    entry: [composition, patient, ...resources].map((resource) => ({ fullUrl: `${options.baseUrl}/${resource.resourceType}/${resource.id}`, resource })),
  };
}
