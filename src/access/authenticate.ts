import { badRequest, forbidden } from '../fhir/outcome.js';
import { careEvidence } from '../store/care-evidence.js';
import type { Database } from '../store/driver.js';
import { accessFacts } from './access-cache.js';
import type { AccessContext } from './context.js';
import { defaultPurposeOfUse } from './door.js';
import { resourceScopes } from './scopes.js';
import type { AccessClaims } from './tokens.js';
import { findUserById } from './users.js';

/**
 * HL7 v3 ActReason codes a request may state as its purpose of use (`X-Purpose-Of-Use`), from
 * the purposes IHE BALP and the SMART/IUA profiles name; anything else is refused.
 * https://terminology.hl7.org/ValueSet-v3-PurposeOfUse.html
 */
const PURPOSES = new Set(['TREAT', 'ETREAT', 'CAREMGT', 'PATRQT', 'FAMRQT', 'PWATRNY', 'PUBHLTH', 'HRESCH', 'HOPERAT', 'HPAYMT', 'HMARKT', 'HLEGAL', 'COVERAGE']);

/** Who an unauthenticated request is: nobody, with no scopes, so the door refuses it everything. */
export const ANONYMOUS_CONTEXT: AccessContext = Object.freeze({ role: 'citizen', subject: 'anonymous', clientId: 'anonymous', scopes: [], purposeOfUse: 'PATRQT', auditOff: true });

const PRACTITIONER_REFERENCE = /^(Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/;

export interface RequestFacts {
  /** The `X-Purpose-Of-Use` header, if sent. */
  purposeOfUse?: string;
  /** The `X-On-Behalf-Of` header of a system's request: the person it acts for. */
  onBehalfOf?: string;
  /** The client's network address. */
  address?: string;
}

/**
 * The AccessContext of a request from its verified token. An administrator's grant of clinical
 * access is read from the account (cached, dropped by notification when the account changes, so
 * withdrawing it takes effect within ACCESS_CACHE_STALE_MS at most).
 */
export async function accessContextFromClaims(db: Database, claims: AccessClaims, facts: RequestFacts = {}): Promise<AccessContext> {
  const role = claims.role;
  const purpose = facts.purposeOfUse?.trim().toUpperCase();
  if (purpose !== undefined && !PURPOSES.has(purpose)) throw badRequest(`X-Purpose-Of-Use must be one of ${[...PURPOSES].join(', ')}`, 'X-Purpose-Of-Use');
  if (facts.onBehalfOf !== undefined) {
    if (role !== 'system' || !PRACTITIONER_REFERENCE.test(facts.onBehalfOf)) {
      throw badRequest(`X-On-Behalf-Of is for system clients, naming a Practitioner or PractitionerRole`, 'X-On-Behalf-Of');
    }
    // A system may name only its own organization's staff: anyone else would be put in the
    // citizen's access log on the system's word alone.
    if (!claims.organization || !(await careEvidence(db).servesOrganization(facts.onBehalfOf, claims.organization))) {
      throw forbidden(`X-On-Behalf-Of names no one with an active PractitionerRole in this client's organization`, 'X-On-Behalf-Of');
    }
  }
  const context: AccessContext = {
    role,
    subject: claims.sub,
    clientId: claims.client_id,
    scopes: resourceScopes(claims.scopes),
    purposeOfUse: purpose ?? defaultPurposeOfUse(role),
    ...(purpose !== undefined ? { purposeAsserted: true } : {}),
    ...(claims.fhirUser ? { fhirUser: claims.fhirUser } : {}),
    ...(claims.organization ? { organization: claims.organization } : {}),
    ...(claims.region ? { region: claims.region } : {}),
    ...(claims.patient ? { launchPatient: claims.patient } : {}),
    ...(facts.address ? { address: facts.address } : {}),
    ...(facts.onBehalfOf ? { onBehalfOf: facts.onBehalfOf } : {}),
  };
  if (role === 'administrator') context.clinicalAccess = await accessFacts(db).clinicalAccess(claims.sub, async () => (await findUserById(db, claims.sub))?.clinicalAccess === true);
  return context;
}
