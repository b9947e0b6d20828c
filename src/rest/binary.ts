import type { Binary } from '@medplum/fhirtypes';
import { notAcceptable } from '../fhir/outcome.js';
import { parseStored } from '../store/stored-json.js';
import type { FhirRequest, FhirResponse, InteractionContext, RouteParams } from './interaction.js';
import { FHIR_JSON_TYPE, preferredMediaType } from './media-types.js';
import { notModified, subset } from './read.js';

/**
 * read of a Binary (https://hl7.org/fhir/R4/http.html#binary; IHE MHD Retrieve Document, ITI-68,
 * https://profiles.ihe.net/ITI/MHD/ITI-68.html): the bytes in their own content type when the
 * client accepts it (or anything, as a browser or a document viewer does), the Binary resource
 * when it asks for FHIR JSON. Read through the door like any resource: a document's bytes are
 * seen by who sees the document (src/store/security-context.ts), and audited.
 */
export async function readBinary(request: FhirRequest, params: RouteParams<'Binary/:id'>, context: InteractionContext): Promise<FhirResponse> {
  const stored = await context.repo.read('Binary', params.id);
  if (notModified(request, stored.versionId, stored.lastUpdated)) return { status: 304, stored };
  // An entry of a batch negotiates nothing: it is FHIR JSON.
  if (request.accept === undefined) return subset(request, stored);
  const binary = parseStored<Binary>(stored);
  const chosen = preferredMediaType(request.accept, [binary.contentType, FHIR_JSON_TYPE]);
  if (!chosen) throw notAcceptable(`Binary/${params.id} is ${binary.contentType}: ask for that, or for ${FHIR_JSON_TYPE}`);
  if (chosen === FHIR_JSON_TYPE) return subset(request, stored);
  const headers: Record<string, string> = binary.securityContext?.reference ? { 'x-security-context': binary.securityContext.reference } : {};
  return { status: 200, stored, headers, body: Buffer.from(binary.data ?? '', 'base64'), contentType: binary.contentType };
}
