import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import type { Locale } from '../../i18n/locale.js';

/** How long a new link works, in minutes: an hour, a day, a week, 30 days (the server's default). */
export const EXPIRY_CHOICES = [60, 24 * 60, 7 * 24 * 60, 30 * 24 * 60] as const;

/** The server's bounds on a passcode (src/passport/share-links.ts). */
export const PASSCODE_LENGTH = { min: 4, max: 128 } as const;
export const MAX_LABEL = 80;

export interface ShareTerms {
  label: string;
  minutes: number;
  /** Empty for none. */
  passcode: string;
  singleUse: boolean;
  language: Locale;
}

/** Why a passcode is refused before asking the server, if it is: `short` or `long` (counted in characters, as the server does). */
export function passcodeProblem(passcode: string): 'short' | 'long' | undefined {
  if (passcode === '') return undefined;
  const length = [...passcode].length;
  return length < PASSCODE_LENGTH.min ? 'short' : length > PASSCODE_LENGTH.max ? 'long' : undefined;
}

/** The `$share-link` input for the terms chosen; a blank label or passcode is left out. */
export function shareLinkParameters(terms: ShareTerms): Parameters {
  const label = terms.label.trim();
  const parameter: ParametersParameter[] = [
    ...(label ? [{ name: 'label', valueString: label }] : []),
    { name: 'minutes', valueInteger: terms.minutes },
    ...(terms.passcode ? [{ name: 'passcode', valueString: terms.passcode }] : []),
    { name: 'single-use', valueBoolean: terms.singleUse },
    { name: 'language', valueCode: terms.language },
  ];
  return { resourceType: 'Parameters', parameter };
}

export interface CreatedLink {
  /** The `shlink:/…` URI: the only copy of the key, shown once. */
  link: string;
  id: string;
  expires?: string;
  label?: string;
}

function value(parts: ParametersParameter[] | undefined, name: string): ParametersParameter | undefined {
  return parts?.find((p) => p.name === name);
}

/** The `$share-link` answer; undefined when it has no link. */
export function createdLink(output: Parameters): CreatedLink | undefined {
  const link = value(output.parameter, 'link')?.valueUri;
  const id = value(output.parameter, 'id')?.valueString;
  if (!link || !id) return undefined;
  const expires = value(output.parameter, 'expires')?.valueInstant;
  const label = value(output.parameter, 'label')?.valueString;
  return { link, id, ...(expires ? { expires } : {}), ...(label ? { label } : {}) };
}

export type LinkState = 'active' | 'expired' | 'revoked' | 'disabled' | 'used';
const STATES: readonly string[] = ['active', 'expired', 'revoked', 'disabled', 'used'];

export interface LinkUse {
  recipient: string;
  time: string;
}

export interface SharedLink {
  id: string;
  label?: string;
  state: LinkState;
  created?: string;
  expires?: string;
  revoked?: string;
  passcode: boolean;
  singleUse: boolean;
  uses: LinkUse[];
}

/** The links `$share-links` lists (newest first, as the server orders them); a link without id is skipped. */
export function sharedLinks(output: Parameters): SharedLink[] {
  const links: SharedLink[] = [];
  for (const entry of output.parameter ?? []) {
    if (entry.name !== 'link') continue;
    const parts = entry.part;
    const id = value(parts, 'id')?.valueString;
    if (!id) continue;
    const state = value(parts, 'state')?.valueCode ?? '';
    const label = value(parts, 'label')?.valueString;
    const created = value(parts, 'created')?.valueInstant;
    const expires = value(parts, 'expires')?.valueInstant;
    const revoked = value(parts, 'revoked')?.valueInstant;
    const uses = (parts ?? [])
      .filter((p) => p.name === 'use')
      .map((use) => ({ recipient: value(use.part, 'recipient')?.valueString ?? '', time: value(use.part, 'time')?.valueInstant ?? '' }));
    links.push({
      id,
      state: (STATES.includes(state) ? state : 'disabled') as LinkState,
      passcode: value(parts, 'passcode')?.valueBoolean === true,
      singleUse: value(parts, 'single-use')?.valueBoolean === true,
      uses,
      ...(label ? { label } : {}),
      ...(created ? { created } : {}),
      ...(expires ? { expires } : {}),
      ...(revoked ? { revoked } : {}),
    });
  }
  return links;
}

/** The file name offered for the PDF passport: `health-passport-<language>-<day>.pdf`. */
export function pdfFileName(language: Locale, now = new Date()): string {
  return `health-passport-${language}-${now.toISOString().slice(0, 10)}.pdf`;
}
