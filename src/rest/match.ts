import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcome.js';
import { assertValid } from '../fhir/validate.js';
import { blockingCandidates } from '../identity/candidates.js';
import { matchPatients } from '../identity/patient-match.js';
import { parametersBody } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';

const MATCH_GRADE = 'http://hl7.org/fhir/StructureDefinition/match-grade';

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
  const candidates = await blockingCandidates(context.repo, resource);
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
