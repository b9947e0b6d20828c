import type { Patient } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcome.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import type { Repository } from '../store/repository.js';
import { parseStored } from '../store/stored-json.js';
import { validateForeignIdentifier } from './foreign-identifiers.js';
import { IIN_SYSTEM } from './iin.js';

/** Candidates fetched per blocking search: enough for a birth date shared by a town's newborns. */
const CANDIDATES_PER_KEY = 200;

/**
 * The Patients `repo`'s caller may see that could be `patient`, found by blocking searches — the
 * IIN or a foreign personal number or passport, the birth date (also with day and month swapped),
 * the phone — so no scan of all patients; the matcher (patient-match.ts) scores them.
 */
export async function blockingCandidates(repo: Repository, patient: Patient): Promise<Patient[]> {
  const searches: [string, string][][] = [];
  for (const identifier of patient.identifier ?? []) {
    if (!identifier.value) continue;
    // The IIN, or on a foreign registration another state's personal number or a passport.
    if (identifier.system === IIN_SYSTEM || validateForeignIdentifier(identifier.system, identifier.value)?.valid) {
      searches.push([['identifier', `${identifier.system}|${identifier.value}`]]);
    }
  }
  if (patient.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate)) {
    searches.push([['birthdate', patient.birthDate]]);
    const [year, month, day] = patient.birthDate.split('-');
    if (Number(day) <= 12 && day !== month) searches.push([['birthdate', `${year}-${day}-${month}`]]);
  }
  for (const telecom of patient.telecom ?? []) if (telecom.system === 'phone' && telecom.value) searches.push([['phone', telecom.value]]);
  if (searches.length === 0) throw badRequest(`$match needs an IIN (or a foreign personal number or passport), a birth date or a phone to look for candidates`, 'Patient');
  const found = new Map<string, Patient>();
  for (const search of searches) {
    const page = await repo.search(parseSearchRequest('Patient', [...search, ['_count', String(CANDIDATES_PER_KEY)]]));
    for (const entry of page.entries) found.set(entry.id, parseStored<Patient>(entry));
  }
  return [...found.values()];
}
