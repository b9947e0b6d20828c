import type { Parameters, ParametersParameter, Patient } from '@medplum/fhirtypes';
import { badRequest, notFound } from '../fhir/outcome.js';
import { parseSearchRequest, splitValues } from '../fhir/search-request.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';
import { parseStored } from '../store/stored-json.js';

/**
 * IHE PIXm `Patient/$ihe-pix` (ITI-83): the identifiers one person has in other systems.
 * `sourceIdentifier=system|value` names the person; the answer lists every identifier of the
 * Patients holding it, and those Patients as `targetId`, narrowed to `targetSystem` when given.
 * An identifier no Patient holds is a 404, as ITI-83 asks.
 */
export async function pixOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const source = request.query.find(([k]) => k === 'sourceIdentifier')?.[1];
  if (!source || !/^[^|]+\|.+$/.test(source)) throw badRequest(`$ihe-pix needs sourceIdentifier=system|value`, 'sourceIdentifier');
  const targetSystems = request.query.filter(([k]) => k === 'targetSystem').flatMap(([, v]) => splitValues(v));
  const unknown = request.query.find(([k]) => !['sourceIdentifier', 'targetSystem', '_format'].includes(k));
  if (unknown) throw badRequest(`Unknown $ihe-pix parameter "${unknown[0]}"`, unknown[0]);
  const page = await context.repo.search(parseSearchRequest('Patient', [['identifier', source], ['_count', '100']]));
  if (page.entries.length === 0) throw notFound(`No Patient has the identifier ${source}`);
  const parameter: ParametersParameter[] = [];
  for (const entry of page.entries) {
    const patient = parseStored<Patient>(entry);
    for (const identifier of patient.identifier ?? []) {
      if (`${identifier.system}|${identifier.value}` === source) continue;
      if (targetSystems.length && !targetSystems.includes(identifier.system ?? '')) continue;
      parameter.push({ name: 'targetIdentifier', valueIdentifier: identifier });
    }
    parameter.push({ name: 'targetId', valueReference: { reference: `Patient/${patient.id}` } });
  }
  const result: Parameters = { resourceType: 'Parameters', parameter };
  return { status: 200, resource: result };
}
