import type { Bundle, Parameters, Reference } from '@medplum/fhirtypes';
import { IIN_SYSTEM } from '../fhir/identifier-systems.js';
import { badRequest, forbidden, unprocessable } from '../fhir/outcome.js';
import { fileResults } from '../lab/file-results.js';
import { patientWithIin } from '../hl7v2/pid.js';
import { resourceBody } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext } from './interaction.js';

/** What a results Bundle's entries may be: what the HL7 v2 route files too. */
const RESULT_TYPES = new Set(['DiagnosticReport', 'Observation', 'Specimen']);

/**
 * `$file-results` (Densaulyq): a laboratory that speaks FHIR files results as the HL7 v2 route
 * does (src/lab/file-results.ts), as a transaction Bundle of conditional updates on its own
 * identifiers (`PUT DiagnosticReport?identifier=…`): corrections become new versions, local codes
 * get LOINC from the lab's ConceptMaps, critical results alert the ordering organization. The
 * patient may be named by reference or by IIN (`subject.identifier`), found as the lab may see
 * them. Only a laboratory's system client (acting for its organization) files; it needs create
 * rights on Communication too, for the alerts. Answers the resources filed and the alerts raised.
 */
export async function fileResultsOperation(request: FhirRequest, _params: Record<string, string>, context: InteractionContext): Promise<FhirResponse> {
  const lab = context.access.organization;
  if (context.access.role !== 'system' || !lab) throw forbidden(`Results are filed by a laboratory's system client acting for its organization`);
  if (!context.repo.permits('c', 'Communication')) throw forbidden(`Filing results may raise critical-result alerts: the client needs system/Communication.c`);
  const bundle = resourceBody(request, 'Bundle') as Bundle;
  if (bundle.type !== 'transaction') throw badRequest(`Send the results as a transaction Bundle`, 'Bundle.type');
  const patients = new Map<string, string | undefined>();
  for (const [i, entry] of (bundle.entry ?? []).entries()) {
    const resource = entry.resource;
    if (!resource || !RESULT_TYPES.has(resource.resourceType)) throw badRequest(`A results Bundle holds DiagnosticReports, Observations and Specimens`, `Bundle.entry[${i}].resource`);
    const subject = 'subject' in resource ? (resource.subject as Reference | undefined) : undefined;
    const iin = subject?.identifier?.system === IIN_SYSTEM ? subject.identifier.value : undefined;
    if (!subject?.reference && iin) {
      if (!patients.has(iin)) patients.set(iin, await patientWithIin(context.repo, iin));
      const patient = patients.get(iin);
      if (!patient) {
        throw unprocessable([{ severity: 'error', code: 'not-found', diagnostics: `No patient this laboratory may record for has IIN ${iin}`, expression: [`Bundle.entry[${i}].resource.subject.identifier`] }]);
      }
      (resource as { subject?: Reference }).subject = { reference: `Patient/${patient}` };
    }
  }
  const filed = await fileResults(context.repo, [bundle], lab);
  const result: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      ...filed.stored.map((s) => ({ name: 'filed', valueReference: { reference: `${s.resourceType}/${s.id}/_history/${s.versionId}` } })),
      ...filed.alerts.map((a) => ({ name: 'alert', valueReference: { reference: `Communication/${a.id}` } })),
    ],
  };
  return { status: 200, resource: result };
}
