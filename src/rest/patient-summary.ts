import type { ParametersParameter } from '@medplum/fhirtypes';
import { pickLocale } from '../access/i18n.js';
import { badRequest, multipleMatches, notFound } from '../fhir/outcome.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import { LOCALES, type Locale, type Translated } from '../fhir/locale.js';
import { IPS_BUNDLE_PROFILE, IPS_COMPOSITION_PROFILE, patientSummary } from '../passport/ips.js';
import { passportPdf } from '../passport/pdf.js';
import { parametersBody } from './body.js';
import { PDF_TYPE } from './media-types.js';
import { createPatientShareLink } from './share-links.js';
import type { FhirRequest, FhirResponse, InstanceParams, InteractionContext, TypeParams } from './interaction.js';

/** The IPS operation's canonical URL, the definition its routes name. */
export const IPS_SUMMARY_OPERATION = 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary';

/** The profiles a summary conforms to, by which a caller may ask for it (any version). */
const PROFILES = new Set([IPS_BUNDLE_PROFILE, IPS_COMPOSITION_PROFILE]);

interface SummaryInput {
  identifier?: string;
  profile?: string;
  language?: string;
  share?: string;
}

const SUMMARY_PARAMETERS: ReadonlySet<string> = new Set(['identifier', 'profile', 'language', 'share']);

/** The label of the link a printed passport's QR code opens, as the citizen sees it in their list of links. */
const PRINTED_LINK_LABEL: Translated = {
  kk: 'Басып шығарылған денсаулық паспорты',
  ru: 'Распечатанный паспорт здоровья',
  en: 'Printed health passport',
};

/**
 * `Patient/[id]/$summary` and `Patient/$summary?identifier=system|value`, by GET or POST
 * (https://hl7.org/fhir/uv/ips/OperationDefinition-summary.html): the patient's International
 * Patient Summary as a document Bundle (src/passport/ips.ts). Parameters are IPS's `identifier`
 * and `profile`, and Densaulyq's `language` (kk, ru or en), which wins over Accept-Language;
 * without either the summary is in Kazakh. A patient the caller may not see is answered as the
 * read answers it (the door decides), an unknown one is a 404.
 */
export async function summaryOperation(request: FhirRequest, params: TypeParams & Partial<InstanceParams>, context: InteractionContext): Promise<FhirResponse> {
  const input = summaryInput(request);
  if (input.profile !== undefined && !PROFILES.has(input.profile.split('|')[0]!)) {
    throw badRequest(`$summary produces ${IPS_BUNDLE_PROFILE} documents, not ${input.profile}`, 'profile', 'not-supported');
  }
  if (input.language !== undefined && !LOCALES.some((locale) => locale === input.language)) {
    throw badRequest(`language must be one of ${LOCALES.join(', ')}, not "${input.language}"`, 'language');
  }
  const locale: Locale = pickLocale(input.language, request.headers.acceptLanguage);
  if (params.id !== undefined && input.identifier !== undefined) {
    throw badRequest(`identifier selects the patient of Patient/$summary; Patient/${params.id}/$summary names one already`, 'identifier');
  }
  const pdf = request.mediaType === PDF_TYPE;
  const share = shareRequested(input.share, request, pdf);
  const patientId = params.id ?? (await patientByIdentifier(input.identifier, context));
  // A caller who may not share is refused before the record is read for a link it cannot make.
  if (share) await context.repo.shareLinks.assertOwner(patientId);
  const bundle = await patientSummary(context.repo, patientId, { locale, baseUrl: context.baseUrl });
  if (!pdf) return { status: 200, resource: bundle };
  const link = share ? await createPatientShareLink(context, patientId, { locale, label: PRINTED_LINK_LABEL[locale] }, bundle) : undefined;
  const body = await passportPdf(bundle, { locale, ...(link ? { shareLink: { uri: link.uri, expires: link.expires } } : {}) });
  const day = (bundle.timestamp ?? '').slice(0, 10);
  return {
    status: 200,
    body,
    contentType: PDF_TYPE,
    headers: { 'content-disposition': `inline; filename="health-passport-${day}.pdf"`, 'cache-control': 'no-store' },
  };
}

/**
 * `share=true` prints a QR code of a new SMART Health Link (30 days, listed and revocable in
 * `$share-links`) on the PDF. Making a link changes state, so it takes POST, and only the PDF
 * carries it; only the patient or their representative may share (the link's own rule).
 */
function shareRequested(share: string | undefined, request: FhirRequest, pdf: boolean): boolean {
  if (share === undefined || share === 'false') return false;
  if (share !== 'true') throw badRequest(`share is true or false, not "${share}"`, 'share');
  if (!pdf) throw badRequest(`share prints a link's QR code on the PDF: ask for Accept: application/pdf`, 'share');
  if (request.method !== 'POST') throw badRequest(`share=true makes a share link: use POST`, 'share');
  return true;
}

/** The parameters from the query and, for POST, from a Parameters body; one of each at most, none unknown. */
function summaryInput(request: FhirRequest): SummaryInput {
  const pairs: [string, string | undefined][] = [...request.query];
  if (request.method === 'POST' && request.body !== undefined) {
    const body = parametersBody(request, `POST $summary takes a Parameters resource`, 'Parameters');
    for (const [i, parameter] of (body.parameter ?? []).entries()) {
      if (!parameter.name) throw badRequest(`Each $summary parameter needs a name`, `Parameters.parameter[${i}].name`);
      pairs.push([parameter.name, parameterValue(parameter)]);
    }
  }
  const input: SummaryInput = {};
  for (const [name, value] of pairs) {
    if (!isSummaryParameter(name)) throw badRequest(`Unknown $summary parameter "${name}"`, name);
    if (input[name] !== undefined) throw badRequest(`$summary takes one ${name}`, name);
    if (value === undefined || value === '') throw badRequest(`$summary parameter ${name} has no value`, name);
    input[name] = value;
  }
  return input;
}

function isSummaryParameter(name: string): name is keyof SummaryInput {
  return SUMMARY_PARAMETERS.has(name);
}

/** A Parameters value as the query would carry it: an Identifier as `system|value`. */
function parameterValue(parameter: ParametersParameter): string | undefined {
  const identifier = parameter.valueIdentifier;
  if (identifier) return identifier.system ? `${identifier.system}|${identifier.value ?? ''}` : identifier.value;
  if (parameter.valueBoolean !== undefined) return String(parameter.valueBoolean);
  return parameter.valueString ?? parameter.valueCode ?? parameter.valueCanonical ?? parameter.valueUri;
}

/** The one Patient the caller may see with `identifier` (IPS: a business identifier, `system|value`). */
async function patientByIdentifier(identifier: string | undefined, context: InteractionContext): Promise<string> {
  if (identifier === undefined) throw badRequest(`Patient/$summary needs identifier=system|value, or use Patient/[id]/$summary`, 'identifier');
  const page = await context.repo.search(parseSearchRequest('Patient', [['identifier', identifier], ['_count', '2']]));
  if (page.entries.length === 0) throw notFound(`No Patient has the identifier ${identifier}`);
  if (page.entries.length > 1) throw multipleMatches(`More than one Patient has the identifier ${identifier}`);
  return page.entries[0]!.id;
}
