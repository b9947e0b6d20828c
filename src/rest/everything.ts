import type { FhirRequest, FhirResponse, InteractionContext, InstanceParams } from './interaction.js';
import { searchCompartment } from './search.js';

const EVERYTHING_PARAMETERS = new Set(['_since', '_type', '_count', '_cursor', '_elements', '_summary']);

/**
 * `Patient/[id]/$everything` (https://hl7.org/fhir/R4/patient-operation-everything.html): the
 * patient and everything in their compartment, paged by keyset like any search, through the
 * same door (a caller sees only what they may, and each page is audited per patient).
 * `start`/`end` (care dates) are not supported; `_since`, `_type` and `_count` are.
 */
export async function everythingOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const query = request.query.filter(([name]) => EVERYTHING_PARAMETERS.has(name)).map(([name, value]): [string, string] => [name === '_since' ? '_lastUpdated' : name, name === '_since' ? `ge${value}` : value]);
  return searchCompartment({ ...request, method: 'GET', query }, { type: 'Patient', id: params.id, compartmentType: '*' }, context);
}
