import type { Bundle, Parameters, Patient } from '@medplum/fhirtypes';
import { referenceId } from '../../fhir/text.js';

/** What `$care-declarations` says of one self-declared care relationship (src/rest/care.ts). */
export interface Declaration {
  id: string;
  organization: string;
  organizationName?: string;
  kind: string;
  declared: string;
  expires: string;
  status: 'open' | 'confirmed' | 'expired' | 'disputed';
}

/** One organization's declarations: `$confirm-care` and `$dispute-care` act on all of them at once. */
export interface DeclaringOrganization {
  id: string;
  name?: string;
  declarations: Declaration[];
  /** Some are still open: the citizen may confirm them. */
  confirmable: boolean;
  /** Some are not yet disputed: the citizen may dispute them (a confirmation too may be withdrawn). */
  disputable: boolean;
}

const STATUSES: readonly Declaration['status'][] = ['open', 'confirmed', 'expired', 'disputed'];

/** A declaration from its Parameters; undefined when it lacks what the screen needs. */
export function declarationOf(parameters: Parameters): Declaration | undefined {
  const part = (name: string) => parameters.parameter?.find((p) => p.name === name);
  const id = part('id')?.valueString;
  const reference = part('organization')?.valueReference;
  const organization = referenceId(reference, 'Organization');
  const status = STATUSES.find((s) => s === part('status')?.valueCode);
  const declared = part('declared')?.valueInstant;
  if (!id || !organization || !status || !declared) return undefined;
  return {
    id,
    organization,
    ...(reference?.display ? { organizationName: reference.display } : {}),
    kind: part('kind')?.valueCode ?? 'encounter',
    declared,
    expires: part('expires')?.valueInstant ?? declared,
    status,
  };
}

/** The declarations of a `$care-declarations` collection page. */
export function declarationsOf(bundle: Bundle): Declaration[] {
  return (bundle.entry ?? []).flatMap((e) => {
    const declaration = e.resource?.resourceType === 'Parameters' ? declarationOf(e.resource) : undefined;
    return declaration ? [declaration] : [];
  });
}

/**
 * Declarations grouped by organization, those with something to decide first (open ones), then
 * the newest; each group's declarations keep the server's order (newest first).
 */
export function byOrganization(declarations: readonly Declaration[]): DeclaringOrganization[] {
  const groups = new Map<string, DeclaringOrganization>();
  for (const d of declarations) {
    const group = groups.get(d.organization) ?? { id: d.organization, declarations: [], confirmable: false, disputable: false };
    if (!group.name && d.organizationName) group.name = d.organizationName;
    group.declarations.push(d);
    if (d.status === 'open') group.confirmable = true;
    if (d.status !== 'disputed') group.disputable = true;
    groups.set(d.organization, group);
  }
  const newest = (g: DeclaringOrganization) => g.declarations.reduce((max, d) => (d.declared > max ? d.declared : max), '');
  return [...groups.values()].sort((a, b) => Number(b.confirmable) - Number(a.confirmable) || newest(b).localeCompare(newest(a)));
}

/**
 * What disputing an organization's declarations does now, as the screen says it: ends the access an
 * open visit gives (`dispute`) or a confirmed one (`withdraw`, taking the confirmation back); an
 * expired one's access has ended already (`expired`: only the review remains). Undefined: nothing to dispute.
 */
export function disputeEffect(group: DeclaringOrganization): 'dispute' | 'withdraw' | 'expired' | undefined {
  if (!group.disputable) return undefined;
  if (group.confirmable) return 'dispute';
  return group.declarations.some((d) => d.status === 'confirmed') ? 'withdraw' : 'expired';
}

/** The primary-care organizations and doctors the Patient names (`generalPractitioner`), as ids. */
export function primaryCare(patient: Patient): { organizations: string[]; practitioners: string[] } {
  const care = patient.generalPractitioner ?? [];
  const ids = (type: string) => care.map((r) => referenceId(r, type)).filter((id): id is string => id !== undefined);
  return { organizations: ids('Organization'), practitioners: ids('Practitioner') };
}

/** The `Organization` search for polyclinics whose name (Kazakh) or alias (Russian) holds `text`. */
export function polyclinicSearch(text: string): Record<string, string> {
  return { type: 'http://densaulyq.kz/fhir/CodeSystem/facility-type|polyclinic', 'name:contains': text.trim(), _count: '20' };
}
