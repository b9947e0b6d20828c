import type { Bundle, Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { LOCALES } from '../fhir/locale.js';
import { type Locale, pickLocale } from '../access/i18n.js';
import { badRequest } from '../fhir/outcome.js';
import { patientSummary } from '../passport/ips.js';
import { type CreatedShareLink, type ShareLinkTerms, type SummaryBuilder, createShareLink, listShareLinks, revokeShareLink } from '../passport/share-links.js';
import type { ShareLinkSummary } from '../store/share-links.js';
import { parametersBody } from './body.js';
import type { FhirRequest, FhirResponse, InteractionContext, InstanceParams } from './interaction.js';

/** The document a share link carries: the International Patient Summary, in the language the citizen chose. */
const SHARED_DOCUMENT: SummaryBuilder = patientSummary;

const where = (name: string, type: string) => `Parameters.parameter.where(name='${name}').${type}`;

/** The value of `name` of type `type` (`valueString`…), once at most; present with another type, a 400 naming it. */
function single<T>(body: Parameters, name: string, type: keyof ParametersParameter, check: (value: unknown) => value is T): T | undefined {
  const found = (body.parameter ?? []).filter((p) => p.name === name);
  if (found.length > 1) throw badRequest(`${name} is given once at most`, where(name, String(type)));
  if (found.length === 0) return undefined;
  const value = found[0]![type];
  if (!check(value)) throw badRequest(`${name} takes ${String(type)}`, where(name, String(type)));
  return value;
}
const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

const SHARE_LINK_PARAMETERS = new Set(['label', 'expires', 'minutes', 'passcode', 'single-use', 'direct', 'language']);

/**
 * Creates a SMART Health Link for `patientId` as the caller of `context` (the patient or their
 * representative): what the printable passport's QR code and the `$share-link` operation both use.
 * A caller that has just built the summary (the printed passport) passes it as `document`, so the
 * link carries the very document printed and the record is not read twice.
 */
export function createPatientShareLink(context: InteractionContext, patientId: string, terms: ShareLinkTerms, document?: Bundle): Promise<CreatedShareLink> {
  const builder: SummaryBuilder = document ? async () => document : SHARED_DOCUMENT;
  return createShareLink(context.repo, patientId, terms, { builder, baseUrl: context.baseUrl, origin: new URL(context.baseUrl).origin });
}

/**
 * `POST Patient/[id]/$share-link` (a Densaulyq operation): the patient (or their legal
 * representative) shares a summary of the record by a SMART Health Link
 * (https://build.fhir.org/ig/HL7/smart-health-cards-and-links/links-specification.html).
 *
 * In: Parameters `label`, `expires` (instant) or `minutes`, `passcode`, `single-use`, `direct`
 * (flag U), `language` (kk, ru, en; else Accept-Language). Out: Parameters `link` (the
 * `shlink:/` URI, which alone holds the key), `id`, `expires`, `flag`, `label`.
 */
export async function shareLinkOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const body = request.body === undefined ? ({ resourceType: 'Parameters' } as Parameters) : parametersBody(request, `$share-link takes a Parameters resource`, 'Parameters');
  for (const p of body.parameter ?? []) if (!SHARE_LINK_PARAMETERS.has(p.name)) throw badRequest(`Unknown $share-link parameter "${p.name}"`, `Parameters.parameter.where(name='${p.name}')`);
  const at = single(body, 'expires', 'valueInstant', isString);
  const minutes = single(body, 'minutes', 'valueInteger', isInteger);
  if (at !== undefined && minutes !== undefined) throw badRequest(`Give expires or minutes, not both`, where('minutes', 'valueInteger'));
  const language = single(body, 'language', 'valueCode', isString);
  const locale: Locale = language === undefined ? pickLocale(undefined, request.headers.acceptLanguage) : localeOf(language);
  const passcode = single(body, 'passcode', 'valueString', isString);
  const label = single(body, 'label', 'valueString', isString);
  const singleUse = single(body, 'single-use', 'valueBoolean', isBoolean);
  const direct = single(body, 'direct', 'valueBoolean', isBoolean);
  const terms: ShareLinkTerms = {
    locale,
    ...(label !== undefined ? { label } : {}),
    ...(at !== undefined ? { expires: { at } } : minutes !== undefined ? { expires: { minutes } } : {}),
    ...(passcode !== undefined ? { passcode } : {}),
    ...(singleUse !== undefined ? { singleUse } : {}),
    ...(direct !== undefined ? { direct } : {}),
  };
  const created = await createPatientShareLink(context, params.id, terms);
  const parameter: ParametersParameter[] = [
    { name: 'link', valueUri: created.uri },
    { name: 'id', valueString: created.id },
    { name: 'expires', valueInstant: created.expires },
    ...(created.flags ? [{ name: 'flag', valueString: created.flags }] : []),
    ...(created.label ? [{ name: 'label', valueString: created.label }] : []),
  ];
  return { status: 200, resource: { resourceType: 'Parameters', parameter }, headers: { 'cache-control': 'no-store' } };
}

function localeOf(language: string): Locale {
  const locale = LOCALES.find((l) => l === language);
  if (!locale) throw badRequest(`language is kk, ru or en`, where('language', 'valueCode'));
  return locale;
}

/**
 * `GET Patient/[id]/$share-links`: the patient's links, newest first, each with its state and its
 * uses (when, and the recipient as they named themselves). Out: Parameters, one `link` per link.
 */
export async function shareLinksOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  for (const [key] of request.query) throw badRequest(`Unknown $share-links parameter "${key}"`, key);
  const links = await listShareLinks(context.repo, params.id);
  return { status: 200, resource: { resourceType: 'Parameters', parameter: links.map(linkParameter) } };
}

/** `POST Patient/[id]/$revoke-share-link` with Parameters `id`: the link stops working at once. Out: Parameters `link`, as listed. */
export async function revokeShareLinkOperation(request: FhirRequest, params: InstanceParams, context: InteractionContext): Promise<FhirResponse> {
  const body = parametersBody(request, `$revoke-share-link takes a Parameters resource with the link's id`, 'Parameters');
  const id = single(body, 'id', 'valueString', isString);
  if (!id) throw badRequest(`Name the link to revoke by its id`, where('id', 'valueString'));
  const revoked = await revokeShareLink(context.repo, params.id, id);
  return { status: 200, resource: { resourceType: 'Parameters', parameter: [linkParameter(revoked)] } };
}

function linkParameter(link: ShareLinkSummary): ParametersParameter {
  const part: ParametersParameter[] = [
    { name: 'id', valueString: link.id },
    ...(link.label ? [{ name: 'label', valueString: link.label }] : []),
    { name: 'state', valueCode: link.state },
    ...(link.flags ? [{ name: 'flag', valueString: link.flags }] : []),
    { name: 'passcode', valueBoolean: link.passcode },
    { name: 'single-use', valueBoolean: link.singleUse },
    { name: 'created', valueInstant: link.created },
    { name: 'expires', valueInstant: link.expires },
    ...(link.revoked ? [{ name: 'revoked', valueInstant: link.revoked }] : []),
    { name: 'failed-attempts', valueInteger: link.failedAttempts },
    ...link.uses.map((use) => ({ name: 'use', part: [{ name: 'recipient', valueString: use.recipient }, { name: 'time', valueInstant: use.at }] })),
  ];
  return { name: 'link', part };
}
