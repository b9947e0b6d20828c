import type { AuditEvent, Coding } from '@medplum/fhirtypes';
import { ACCESS_BASIS_DISPLAY, ACCESS_BASIS_SYSTEM, ACT_REASON_SYSTEM, PURPOSE_OF_USE_DISPLAY } from '../../../../src/access/audit-vocabulary.js';
import type { Locale } from '../../i18n/locale.js';
import { referenceId } from '../../fhir/text.js';

/** Why an entry needs the citizen's attention; shown as a word and an icon, not by colour alone. */
export type AccessFlag = 'break-glass' | 'self-declared' | 'refused';

/** One line of the access log as the citizen reads it. */
export interface AccessEntry {
  id: string;
  recorded: string | undefined;
  organizationId: string | undefined;
  organizationName: string | undefined;
  person: string | undefined;
  purposes: string[];
  what: string | undefined;
  refused: boolean;
  flags: AccessFlag[];
  reason: string | undefined;
}

const isBasis = (code: string | undefined): code is keyof typeof ACCESS_BASIS_DISPLAY => code !== undefined && code in ACCESS_BASIS_DISPLAY;

/** The purpose's display in the reader's language, else the coding's own display or code. */
function purposeText(coding: Coding, locale: Locale): string | undefined {
  const known = coding.code ? PURPOSE_OF_USE_DISPLAY[coding.code] : undefined;
  return known?.[locale] ?? coding.display ?? coding.code;
}

/**
 * An AuditEvent of `Patient/[id]/$access-log` as a line of the log: who (the requesting agent),
 * for which organization, why (purposeOfUse), what (the subtype), and its flags — break-glass
 * (BTG security label), a self-declared care relationship, a refused attempt (outcome 4).
 */
export function accessEntry(event: AuditEvent, locale: Locale): AccessEntry {
  const requestor = event.agent?.find((a) => a.requestor) ?? event.agent?.[0];
  const organization = event.agent?.find((a) => referenceId(a.who, 'Organization'))?.who;
  const security = event.meta?.security ?? [];
  const refused = event.outcome !== undefined && event.outcome !== '0';
  const basis = security.filter((c) => c.system === ACCESS_BASIS_SYSTEM).map((c) => c.code);
  const flags: AccessFlag[] = [];
  if (security.some((c) => c.system === ACT_REASON_SYSTEM && c.code === 'BTG') || requestor?.purposeOfUse?.some((p) => p.coding?.some((c) => c.code === 'BTG'))) flags.push('break-glass');
  if (basis.includes('self-declared')) flags.push('self-declared');
  if (refused) flags.push('refused');
  const refusal = basis.find((code) => code === 'consent-refused');
  return {
    id: event.id ?? `${event.recorded}`,
    recorded: event.recorded,
    organizationId: referenceId(organization, 'Organization'),
    organizationName: organization?.display,
    person: requestor?.who?.display ?? requestor?.name ?? requestor?.who?.identifier?.value,
    purposes: (requestor?.purposeOfUse ?? []).flatMap((p) => p.coding ?? []).map((c) => purposeText(c, locale)).filter((t): t is string => Boolean(t)),
    what: event.subtype?.[0]?.display ?? event.subtype?.[0]?.code,
    refused,
    flags,
    reason: isBasis(refusal) ? ACCESS_BASIS_DISPLAY[refusal][locale] : refused ? event.outcomeDesc : undefined,
  };
}
