import type { Identifier, Parameters, ParametersParameter, Patient, ProvenanceAgent } from '@medplum/fhirtypes';
import { allOk, badRequest, forbidden, unprocessable } from '../fhir/outcome.js';
import { parseReference } from '../fhir/search-parameters.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import { assertValid } from '../fhir/validate.js';
import { mergePatients, unmergePatients } from '../identity/patient-merge.js';
import { patientIdentifierIssues } from '../identity/patient-identifiers.js';
import type { Repository } from '../store/repository.js';
import { parametersBody } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';

/**
 * `Patient/$merge` (https://hl7.org/fhir/R5/patient-operation-merge.html, on R4): the source
 * and target by `source-patient` / `target-patient` (references) or `…-identifier`
 * (identifiers that must find exactly one Patient), `result-patient` and `preview` as in R5.
 * Answers R5's output Parameters: `input`, `outcome`, `result` (the target afterwards). A
 * source already merged is a 422.
 */
export async function mergeOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  requireIdentityAdministration(context, '$merge');
  const input = parametersOf(request, '$merge');
  const source = await patientParameter(context.repo, input, 'source-patient');
  const target = await patientParameter(context.repo, input, 'target-patient');
  const result = input.parameter?.find((p) => p.name === 'result-patient')?.resource;
  let resultPatient: Patient | undefined;
  if (result !== undefined) {
    if (result.resourceType !== 'Patient') throw badRequest(`result-patient must be a Patient`, 'result-patient');
    assertValid(result);
    const issues = patientIdentifierIssues(result);
    if (issues.length) throw unprocessable(issues);
    resultPatient = result;
  }
  const preview = input.parameter?.find((p) => p.name === 'preview')?.valueBoolean === true;
  const actor = actorOf(context);
  const merged = await mergePatients(context.repo, {
    source,
    target,
    resultPatient,
    preview,
    agent: actor.who,
    decidedBy: actor.id,
  });
  // Only a preview has no record.
  const text = merged.record
    ? `Merged Patient/${source} into Patient/${target}: ${merged.moved.length} resources moved, recorded as Provenance/${merged.record.id}`
    : `Preview: merging Patient/${source} into Patient/${target} would move ${merged.moved.length} resources; nothing was changed`;
  return { status: 200, resource: output(input, text, merged.target) };
}

/**
 * `Patient/$unmerge`, a Densaulyq operation (R5 defines none): takes the same `source-patient`
 * and `target-patient` as the `$merge` it undoes and puts back what that merge changed (see
 * unmergePatients). Answers `input`, `outcome` and `result`, the source as it is again. The pair
 * is recorded as rejected on the duplicates work list, so the finder does not propose it again.
 */
export async function unmergeOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  requireIdentityAdministration(context, '$unmerge');
  const input = parametersOf(request, '$unmerge');
  const source = await patientParameter(context.repo, input, 'source-patient');
  const target = await patientParameter(context.repo, input, 'target-patient');
  const actor = actorOf(context);
  const unmerged = await unmergePatients(context.repo, { source, target, agent: actor.who, decidedBy: actor.id });
  const text = `Unmerged Patient/${source} from Patient/${target}: ${unmerged.restored.length} resources moved back, recorded as Provenance/${unmerged.record.id}`;
  return { status: 200, resource: output(input, text, unmerged.source) };
}

/**
 * Who decides on a person's identity: `who` for the Provenance agent (the signed-in person's
 * own resource, else the account), `id` for the work list's `decided_by`.
 */
export function actorOf(context: InteractionContext): { who: NonNullable<ProvenanceAgent['who']>; id: string } {
  const { fhirUser, subject, clientId } = context.access;
  return { who: fhirUser ? { reference: fhirUser } : { display: subject }, id: `${clientId}|${subject}` };
}

/** Asked first, so the 403 names the operation: the door decides who administers identity (`administersIdentity`). */
export function requireIdentityAdministration(context: InteractionContext, operation: string): void {
  if (!context.repo.access.administersIdentity) throw forbidden(`${operation} needs access to every record: an administrator with clinical access`);
}

export function parametersOf(request: FhirRequest, operation: string): Parameters {
  const body = parametersBody(request, `${operation} takes a Parameters resource`, 'Parameters');
  assertValid(body);
  return body;
}

/**
 * The Patient id a `…-patient` reference names, or the one Patient holding all the
 * `…-patient-identifier` identifiers; both given, the referenced Patient must hold them all.
 */
export async function patientParameter(repo: Repository, input: Parameters, name: 'source-patient' | 'target-patient'): Promise<string> {
  const reference = input.parameter?.find((p) => p.name === name)?.valueReference;
  const identifiers: Identifier[] = [
    ...(input.parameter ?? []).flatMap((p) => (p.name === `${name}-identifier` && p.valueIdentifier ? [p.valueIdentifier] : [])),
    ...(reference?.identifier ? [reference.identifier] : []),
  ];
  let id: string | undefined;
  if (reference?.reference) {
    const parsed = parseReference(reference.reference);
    if (parsed.type !== 'Patient' || !parsed.id) throw badRequest(`${name} must refer to a Patient`, name);
    id = parsed.id;
  }
  if (identifiers.length === 0) {
    if (!id) throw badRequest(`${name} or ${name}-identifier is required`, name);
    return id;
  }
  const query: [string, string][] = identifiers.map((i) => ['identifier', `${i.system ?? ''}|${i.value ?? ''}`]);
  const found = await repo.search(parseSearchRequest('Patient', [...query, ['_count', '2']]));
  const ids = found.entries.map((e) => e.id).filter((found) => !id || found === id);
  if (ids.length !== 1) {
    const text = ids.length === 0 ? `${name}-identifier finds no Patient${id ? ` that is Patient/${id}` : ''}` : `${name}-identifier finds more than one Patient`;
    throw unprocessable([{ severity: 'error', code: ids.length === 0 ? 'not-found' : 'multiple-matches', details: { text }, expression: [`${name}-identifier`] }]);
  }
  return ids[0];
}

export function output(input: Parameters, text: string, result: Patient): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'input', resource: input },
    { name: 'outcome', resource: allOk(text) },
    { name: 'result', resource: result },
  ];
  return { resourceType: 'Parameters', parameter };
}
