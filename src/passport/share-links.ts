import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Bundle } from '@medplum/fhirtypes';
import { CompactEncrypt } from 'jose';
import type { Locale } from '../access/i18n.js';
import { stringifyFhir } from '../fhir/json.js';
import { badRequest } from '../fhir/outcome.js';
import type { Repository } from '../store/repository.js';
import type { ShareLinkSummary } from '../store/share-links.js';

/**
 * SMART Health Links (https://build.fhir.org/ig/HL7/smart-health-cards-and-links/links-specification.html,
 * https://docs.smarthealthit.org/smart-health-links/spec/): the citizen shares a document of their
 * record on their own terms (expiry, passcode, single use, a label). At creation the document is
 * built and encrypted (JWE, `dir` + A256GCM) with a fresh random key; the server keeps the
 * ciphertext and the link's terms, never the key, which is returned once, inside the link. The
 * link's holder POSTs the manifest URL (or GETs it, for a `U` link) with their name; each use is
 * audited in the patient's access log.
 */

/** Builds the document a link shares, as its caller sees the record (the IPS `patientSummary` has this signature). */
export type SummaryBuilder = (repo: Repository, patientId: string, options: { locale: Locale; baseUrl: string }) => Promise<Bundle>;

/** The terms a citizen sets; each optional but the document's language. */
export interface ShareLinkTerms {
  /** Shown to the recipient (payload `label`): at most 80 characters. */
  label?: string;
  /** When the link stops working: an instant, or minutes from now. */
  expires?: { at: string } | { minutes: number };
  /** Asked of the recipient (flag `P`). */
  passcode?: string;
  /** Exhausted by its first successful retrieval. */
  singleUse?: boolean;
  /** A direct-file link (flag `U`): one GET, no manifest; not with a passcode. */
  direct?: boolean;
  locale: Locale;
}

export interface CreatedShareLink {
  /** `shlink:/…`: the only place the key exists. */
  uri: string;
  id: string;
  expires: string;
  flags: string;
  label?: string;
}

const MAX_LABEL = 80;
const MIN_PASSCODE = 4;
const MAX_PASSCODE = 128;
const MAX_RECIPIENT = 200;
/** A link lasts 30 days unless its maker says otherwise, a year at most. */
const DEFAULT_MINUTES = 30 * 24 * 60;
const MAX_MINUTES = 365 * 24 * 60;
/** The spec's bound on the manifest URL. */
const MAX_URL = 128;
/** A `location` URL works once, for this long (the spec asks for short-lived ones). */
const LOCATION_MINUTES = 5;
const FILE_TYPE = 'application/fhir+json';

const PARAMETER = (name: string, type: string) => `Parameters.parameter.where(name='${name}').${type}`;

/**
 * Creates a link to the document `builder` makes of `patientId`'s record, read through `repo`
 * (the caller's door: only the patient or their representative may share, src/store/share-links.ts).
 * `origin` is where the public `/shl/{id}` endpoints are served.
 */
export async function createShareLink(repo: Repository, patientId: string, terms: ShareLinkTerms, setup: { builder: SummaryBuilder; baseUrl: string; origin: string }): Promise<CreatedShareLink> {
  const label = terms.label?.trim() || undefined;
  if (label && [...label].length > MAX_LABEL) throw badRequest(`The label is at most ${MAX_LABEL} characters`, PARAMETER('label', 'valueString'));
  if (terms.passcode !== undefined && ([...terms.passcode].length < MIN_PASSCODE || [...terms.passcode].length > MAX_PASSCODE)) {
    throw badRequest(`The passcode is ${MIN_PASSCODE} to ${MAX_PASSCODE} characters`, PARAMETER('passcode', 'valueString'));
  }
  if (terms.direct && terms.passcode !== undefined) throw badRequest(`A direct-file link (U) cannot have a passcode`, PARAMETER('direct', 'valueBoolean'));
  const expires = expiryOf(terms.expires);
  const id = randomBytes(32).toString('base64url');
  const url = `${setup.origin}/shl/${id}`;
  if (url.length > MAX_URL) throw new Error(`The public base URL is too long for SMART Health Link manifest URLs (at most ${MAX_URL} characters)`);

  // Refused before the record is read for a document that would not be shared.
  await repo.shareLinks.assertOwner(patientId);
  const document = await setup.builder(repo, patientId, { locale: terms.locale, baseUrl: setup.baseUrl });
  const key = randomBytes(32);
  const content = await new CompactEncrypt(new TextEncoder().encode(stringifyFhir(document)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: FILE_TYPE })
    .encrypt(key);
  const flags = terms.passcode !== undefined ? 'P' : terms.direct ? 'U' : '';
  const stored = await repo.shareLinks.create({
    id,
    patient: patientId,
    label: label ?? null,
    flags,
    passcodeHash: terms.passcode === undefined ? null : await hash(terms.passcode),
    singleUse: terms.singleUse === true,
    expires: expires.toISOString(),
    contentType: FILE_TYPE,
    content,
  });
  const payload = {
    url,
    key: key.toString('base64url'),
    exp: Math.floor(expires.getTime() / 1000),
    ...(flags ? { flag: flags } : {}),
    ...(label ? { label } : {}),
    v: 1,
  };
  return { uri: `shlink:/${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`, id, expires: stored.expires, flags, ...(label ? { label } : {}) };
}

function expiryOf(expires: ShareLinkTerms['expires']): Date {
  const now = Date.now();
  if (expires === undefined) return new Date(now + DEFAULT_MINUTES * 60_000);
  if ('minutes' in expires) {
    if (!Number.isInteger(expires.minutes) || expires.minutes < 1 || expires.minutes > MAX_MINUTES) {
      throw badRequest(`minutes is an integer from 1 to ${MAX_MINUTES} (a year)`, PARAMETER('minutes', 'valueInteger'));
    }
    return new Date(now + expires.minutes * 60_000);
  }
  const at = new Date(expires.at);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(expires.at) || Number.isNaN(at.getTime())) {
    throw badRequest(`expires is an instant with a time zone (2026-12-31T23:59:00Z)`, PARAMETER('expires', 'valueInstant'));
  }
  if (at.getTime() <= now) throw badRequest(`expires is in the past: a link must expire in the future`, PARAMETER('expires', 'valueInstant'));
  if (at.getTime() > now + MAX_MINUTES * 60_000) throw badRequest(`A link lasts a year at most`, PARAMETER('expires', 'valueInstant'));
  return at;
}

/** `patientId`'s links with their uses (who, as they named themselves, and when), newest first. */
export function listShareLinks(repo: Repository, patientId: string): Promise<ShareLinkSummary[]> {
  return repo.shareLinks.list(patientId);
}

/** Revokes one of `patientId`'s links: from now on it resolves to nothing. */
export function revokeShareLink(repo: Repository, patientId: string, id: string): Promise<ShareLinkSummary> {
  return repo.shareLinks.revoke(patientId, id);
}

/** An answer of the public endpoints, in the SHL spec's forms: JSON, or the JWE itself. */
export interface ShareLinkResponse {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

const json = (status: number, value: unknown, headers?: Record<string, string>): ShareLinkResponse => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(value),
  ...(headers ? { headers } : {}),
});
const invalid = (description: string) => json(400, { error: 'invalid_request', error_description: description });
/** The spec's answer for a link that is no longer active, whatever the reason (unknown, expired, revoked, disabled, used). */
const INACTIVE = json(404, { error: 'not_found', error_description: 'This link does not exist or is no longer active' });

/** A manifest id as createShareLink makes them, and a location token: 256 random bits, base64url. */
const RANDOM_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * The repository of a link's holder (src/access/door.ts `shareLinkAccess`), naming the recipient
 * they stated: the HTTP layer makes it, with the link id and the client's address.
 */
export type HolderRepository = (recipient?: string) => Repository;

const passcodeChecker = (passcode: string | undefined) => (stored: string) =>
  passcode === undefined ? Promise.resolve(false) : verify(stored, passcode).catch(() => false);

/**
 * The manifest request (`POST {url}`, JSON `{recipient, passcode?, embeddedLengthMax?}`): the file
 * embedded, or at a one-time location URL when it is longer than `embeddedLengthMax`.
 * https://build.fhir.org/ig/HL7/smart-health-cards-and-links/links-specification.html#shlink-manifest-request
 */
export async function shareLinkManifest(id: string, request: { body: string | undefined; origin: string }, holder: HolderRepository): Promise<ShareLinkResponse> {
  if (!RANDOM_ID.test(id)) return INACTIVE;
  let body: unknown;
  try {
    body = JSON.parse(request.body ?? '');
  } catch {
    return invalid('The body is not JSON: send {"recipient": "…", "passcode": "…"} as application/json');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return invalid('Send a JSON object: {"recipient": "…", "passcode": "…"}');
  const { recipient, passcode, embeddedLengthMax } = body as Record<string, unknown>;
  const named = checkRecipient(recipient);
  if (typeof named !== 'string') return named;
  if (passcode !== undefined && typeof passcode !== 'string') return invalid('passcode is a string');
  if (embeddedLengthMax !== undefined && (typeof embeddedLengthMax !== 'number' || !Number.isInteger(embeddedLengthMax) || embeddedLengthMax < 0)) {
    return invalid('embeddedLengthMax is a non-negative integer');
  }
  const token = randomBytes(32).toString('base64url');
  const opened = await holder(named).shareLinks.open(id, {
    recipient: named,
    interaction: '$shl-manifest',
    passcodeMatches: passcodeChecker(passcode),
    fileToken: digest(token),
    fileMinutes: LOCATION_MINUTES,
  });
  if (opened.outcome === 'inactive') return INACTIVE;
  if (opened.outcome === 'wrong-passcode') return json(401, { remainingAttempts: opened.remainingAttempts });
  const embed = embeddedLengthMax === undefined || opened.content.length <= embeddedLengthMax;
  const file = embed ? { contentType: opened.contentType, embedded: opened.content } : { contentType: opened.contentType, location: `${request.origin}/shl/${id}/file/${token}` };
  return json(200, { status: 'finalized', files: [file] }, NO_STORE);
}

/**
 * The direct-file request of a `U` link (`GET {url}?recipient=…`): the JWE itself.
 * https://build.fhir.org/ig/HL7/smart-health-cards-and-links/links-specification.html#u-flag
 */
export async function shareLinkDirectFile(id: string, recipient: string | undefined, holder: HolderRepository): Promise<ShareLinkResponse> {
  if (!RANDOM_ID.test(id)) return INACTIVE;
  const named = checkRecipient(recipient);
  if (typeof named !== 'string') return named;
  const opened = await holder(named).shareLinks.open(id, { recipient: named, interaction: '$shl-file', direct: true, passcodeMatches: passcodeChecker(undefined) });
  if (opened.outcome !== 'served') return INACTIVE;
  return { status: 200, contentType: JWE_TYPE, body: opened.content, headers: NO_STORE };
}

/** The file at a location URL a manifest handed out: once, before it expires. */
export async function shareLinkFile(id: string, token: string, holder: HolderRepository): Promise<ShareLinkResponse> {
  if (!RANDOM_ID.test(id) || !RANDOM_ID.test(token)) return INACTIVE;
  const file = await holder().shareLinks.file(id, digest(token));
  if (!file) return INACTIVE;
  return { status: 200, contentType: JWE_TYPE, body: file.content, headers: NO_STORE };
}

function checkRecipient(recipient: unknown): string | ShareLinkResponse {
  if (typeof recipient !== 'string' || recipient.trim() === '') return invalid('recipient is required: who is receiving the data (a person or an organization)');
  if ([...recipient].length > MAX_RECIPIENT || /[\u0000-\u001f\u007f]/.test(recipient)) return invalid(`recipient is one line of at most ${MAX_RECIPIENT} characters`);
  return recipient.trim();
}

const JWE_TYPE = 'application/jose';
/** What a link serves is not to be kept by caches on the way. */
const NO_STORE = { 'cache-control': 'no-store' };
const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
