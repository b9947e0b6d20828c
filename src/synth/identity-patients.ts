import type { HumanName, Identifier, Patient } from '@medplum/fhirtypes';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import type { PersonRecord } from '../identity/person-record.js';

/**
 * A record of the labelled identity evaluation set (identity-evaluation.ts) as the Patient a
 * clinic's system would have registered: one HumanName per spelling, the patronymic after the
 * given name as Kazakhstan's systems write it, the record's id as the Patient id. Reading it
 * back with personRecordFromPatient gives the same record, so the batch finder and `$match`
 * can be measured on a database against the set's labels.
 *
 * `iin: false` leaves the IIN out: the one-IIN-one-active-Patient rule refuses a second living
 * record with an IIN already held, so a duplicate carrying its original's IIN can only exist as
 * a registration without it.
 */
export function patientFromRecord(record: PersonRecord, options: { iin?: boolean } = {}): Patient & { id: string } {
  const identifier: Identifier[] = [];
  if (record.iin && options.iin !== false) identifier.push({ system: IIN_SYSTEM, value: record.iin });
  for (const id of record.foreignIds ?? []) {
    const bar = id.indexOf('|');
    identifier.push({ system: id.slice(0, bar), value: id.slice(bar + 1) });
  }
  const spellings = Math.max(record.family.length, record.given.length, 1);
  const name: HumanName[] = [];
  for (let i = 0; i < spellings; i++) {
    const family = record.family[i] ?? record.family[0];
    const given = record.given[i] ?? record.given[0];
    name.push({
      ...(family ? { family } : {}),
      ...(given ? { given: i === 0 && record.patronymic ? [given, record.patronymic] : [given] } : {}),
    });
  }
  const address = record.address;
  return {
    resourceType: 'Patient',
    id: record.id,
    ...(identifier.length ? { identifier } : {}),
    name,
    ...(record.sex ? { gender: record.sex } : {}),
    ...(record.birthDate ? { birthDate: record.birthDate } : {}),
    ...(record.phone ? { telecom: [{ system: 'phone', value: record.phone }] } : {}),
    ...(address
      ? {
          address: [
            {
              use: 'home',
              ...(address.line ? { line: [address.line] } : {}),
              ...(address.city ? { city: address.city } : {}),
              ...(address.district ? { district: address.district } : {}),
              ...(address.postalCode ? { postalCode: address.postalCode } : {}),
            },
          ],
        }
      : {}),
  };
}
