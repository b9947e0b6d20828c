import type { Bundle, BundleEntry, Patient } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcome.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import { assertValid } from '../fhir/validate.js';
import { validateForeignIdentifier } from '../identity/foreign-identifiers.js';
import { IIN_SYSTEM } from '../identity/iin.js';
import { matchPatients } from '../identity/patient-match.js';
import { parametersBody } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';
import { parseStored } from '../store/stored-json.js';

const MATCH_GRADE = 'http://hl7.org/fhir/StructureDefinition/match-grade';
/** Candidates fetched per blocking search: enough for a birth date shared by a town's newborns. */
const CANDIDATES_PER_KEY = 200;

/**
 * `Patient/$match` (https://hl7.org/fhir/R4/patient-operation-match.html, as IHE PDQm profiles
 * it): candidates come from blocking searches — the IIN or a foreign personal number or passport,
 * the birth date (also with day and month swapped), the phone — so no scan of all patients; each is scored by the Fellegi–Sunter matcher,
 * whose name comparison works across Kazakh, Russian and Latin spellings.
 */
export async function matchOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const parameters = parametersBody(request, `$match takes a Parameters resource`, 'Parameters');
  const resource = parameters.parameter?.find((p) => p.name === 'resource')?.resource;
  if (resource?.resourceType !== 'Patient') throw badRequest(`$match needs a Patient in the "resource" parameter`, 'Parameters.parameter.resource');
  assertValid(resource);
  const onlyCertain = parameters.parameter?.find((p) => p.name === 'onlyCertainMatches')?.valueBoolean === true;
  const countParameter = parameters.parameter?.find((p) => p.name === 'count')?.valueInteger;
  if (countParameter !== undefined && countParameter < 1) throw badRequest(`count must be at least 1`, 'Parameters.parameter.count');
  const count = Math.min(countParameter ?? 10, 100);
  const candidates = await blockingCandidates(resource, context);
  let matches = matchPatients(resource, candidates);
  // PDQm: with onlyCertainMatches, a single certain match or nothing, never a guess between several.
  if (onlyCertain) matches = matches.filter((m) => m.grade === 'certain').length === 1 ? matches.filter((m) => m.grade === 'certain') : [];
  const entry: BundleEntry[] = matches.slice(0, count).map((match) => ({
    fullUrl: `${context.baseUrl}/Patient/${match.patient.id}`,
    resource: match.patient,
    search: { mode: 'match', score: match.probability, extension: [{ url: MATCH_GRADE, valueCode: match.grade }] },
  }));
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: entry.length, entry };
  return { status: 200, resource: bundle };
}

async function blockingCandidates(patient: Patient, context: InteractionContext): Promise<Patient[]> {
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
    const page = await context.repo.search(parseSearchRequest('Patient', [...search, ['_count', String(CANDIDATES_PER_KEY)]]));
    for (const entry of page.entries) found.set(entry.id, parseStored<Patient>(entry));
  }
  return [...found.values()];
}
