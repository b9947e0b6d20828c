import type { AuditEvent, AuditEventAgent } from '@medplum/fhirtypes';
import { ACCESS_BASIS_SYSTEM, ACT_REASON_SYSTEM } from '../../../../src/access/audit-vocabulary.js';

/** Why an entry stands out: break-glass, a self-declared relationship, a shared link, or a refused attempt. */
export type Notice = 'break-glass' | 'self-declared' | 'shared-link' | 'refused';

/** One access as the log shows it: references and codes from the AuditEvent, names resolved later. */
export interface Access {
  id: string;
  recorded: string;
  refused: boolean;
  /** `Organization/x` id of the organization the person acted for. */
  organization?: string;
  /** The person: a FHIR reference (`Practitioner/1`, `Patient/2`), else only the name a link's recipient gave. */
  person?: string;
  recipient?: string;
  /** The access role code (access-role system). */
  role?: string;
  /** v3-ActReason purpose codes, break-glass's BTG left out (it is a notice). */
  purposes: string[];
  /** The break-glass reason as stated. */
  reason?: string;
  /** The interaction: read, search-type, $everything… */
  interaction?: string;
  /** Resource types touched, besides the Patient itself. */
  what: string[];
  notices: Notice[];
}

const OPERATION = 'operation';

function requestor(event: AuditEvent): AuditEventAgent | undefined {
  return event.agent?.find((a) => a.requestor) ?? event.agent?.[0];
}

/** An AuditEvent of `$access-log` (src/access/audit-event.ts) as one entry of the log. */
export function accessOf(event: AuditEvent): Access {
  const user = requestor(event);
  const organization = event.agent?.map((a) => /^Organization\/(.+)$/.exec(a.who?.reference ?? '')?.[1]).find(Boolean);
  const security = event.meta?.security ?? [];
  const basis = (code: string) => security.some((s) => s.system === ACCESS_BASIS_SYSTEM && s.code === code);
  const breakGlass = security.some((s) => s.system === ACT_REASON_SYSTEM && s.code === 'BTG');
  const refused = event.outcome !== undefined && event.outcome !== '0';
  const notices: Notice[] = [];
  if (breakGlass) notices.push('break-glass');
  if (basis('self-declared')) notices.push('self-declared');
  if (basis('shared-link')) notices.push('shared-link');
  if (refused) notices.push('refused');
  const purposeConcepts = user?.purposeOfUse ?? [];
  const purposes = [
    ...new Set(
      purposeConcepts
        .flatMap((p) => p.coding ?? [])
        .filter((c) => c.system === ACT_REASON_SYSTEM && c.code && c.code !== 'BTG')
        .map((c) => c.code!),
    ),
  ];
  const reason = purposeConcepts.find((p) => p.coding?.some((c) => c.code === 'BTG'))?.text;
  const subtypes = event.subtype ?? [];
  const interaction = (subtypes.find((s) => s.code?.startsWith('$')) ?? subtypes.find((s) => s.code !== OPERATION))?.code;
  const what = [
    ...new Set(
      (event.entity ?? [])
        .map((e) => /^([A-Z][A-Za-z]+)\//.exec(e.what?.reference ?? '')?.[1])
        .filter((type): type is string => !!type),
    ),
  ];
  return {
    id: event.id ?? `${event.recorded}`,
    recorded: event.recorded,
    refused,
    ...(organization ? { organization } : {}),
    ...(user?.who?.reference ? { person: user.who.reference } : {}),
    ...(user?.who?.display ? { recipient: user.who.display } : {}),
    ...(user?.role?.[0]?.coding?.[0]?.code ? { role: user.role[0].coding[0].code } : {}),
    purposes,
    ...(reason ? { reason } : {}),
    ...(interaction ? { interaction } : {}),
    what,
    notices,
  };
}

/** The references whose names the log shows (organizations and practitioners), each once. */
export function referencesToName(accesses: readonly Access[]): string[] {
  const refs = new Set<string>();
  for (const a of accesses) {
    if (a.organization) refs.add(`Organization/${a.organization}`);
    if (a.person?.startsWith('Practitioner/')) refs.add(a.person);
  }
  return [...refs];
}
