import type { Patient } from '@medplum/fhirtypes';

/** Full years between a birth date (YYYY-MM-DD) and `today`; undefined for a partial or malformed date. */
export function ageOn(birthDate: string | undefined, today = new Date()): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate ?? '');
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const age = today.getUTCFullYear() - year;
  const before = today.getUTCMonth() + 1 < month || (today.getUTCMonth() + 1 === month && today.getUTCDate() < day);
  return before ? age - 1 : age;
}

export interface Family {
  self?: Patient;
  /** The children the door lets the citizen see as their legal representative, youngest first. */
  children: Patient[];
}

/**
 * `GET Patient` as a citizen answers their own record and those of the under-18 children the
 * registry records them as parent of: the one whose id is the citizen's own is them, the rest children.
 */
export function familyOf(patients: Patient[], selfId: string | undefined): Family {
  const self = patients.find((p) => p.id === selfId);
  const children = patients.filter((p) => p.id && p.id !== selfId).sort((a, b) => (b.birthDate ?? '').localeCompare(a.birthDate ?? ''));
  return { ...(self ? { self } : {}), children };
}
