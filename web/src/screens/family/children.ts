import type { Patient } from '@medplum/fhirtypes';

/** The records `GET Patient` lets a citizen see, split into their own and their children's (everyone else the door returned). */
export function familyRecords(patients: Patient[], ownId: string | undefined): { self: Patient | undefined; children: Patient[] } {
  return { self: patients.find((p) => p.id === ownId), children: patients.filter((p) => p.id !== undefined && p.id !== ownId) };
}
