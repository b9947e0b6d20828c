import type { ResourceScope } from './scopes.js';

/**
 * Who asks, for which organization, with which scopes and for what purpose: built from a
 * verified access token (or by the platform itself for CLI jobs), bound to the Repository for
 * one request. See the one-door section of docs and src/access/door.ts.
 */
export interface AccessContext {
  /**
   * `platform` is the platform itself (CLI, seeding, background jobs); `link-recipient` is whoever
   * holds a citizen's SMART Health Link (src/passport/share-links.ts). Neither comes from a token.
   */
  role: 'citizen' | 'clinician' | 'system' | 'public-health' | 'analyst' | 'administrator' | 'organization-administrator' | 'registry' | 'platform' | 'link-recipient';
  /** The user's account id, or the client id of a backend services token. */
  subject: string;
  /** The OAuth client (application) the request came through. */
  clientId: string;
  /** `Patient/1`, `Practitioner/9`: the signed-in person's own resource. */
  fhirUser?: string;
  /**
   * The person a system acts for (`X-On-Behalf-Of: Practitioner/9`), as the system states it:
   * accepted only for a practitioner with a role in the system's organization, recorded in the
   * audit as asserted so the citizen's access log names a person, never used to grant access.
   */
  onBehalfOf?: string;
  /** The Organization id the user or system acts for. */
  organization?: string;
  /** The region a public-health officer covers (a Patient.address.state value). */
  region?: string;
  /** SMART launch context: the Patient id in context, which `patient/` scopes are bound to. */
  launchPatient?: string;
  /** The resource scopes granted. */
  scopes: readonly ResourceScope[];
  /** An administrator granted access to clinical data (`app_user.clinical_access`). */
  clinicalAccess?: boolean;
  /** HL7 v3 ActReason code stated by the request (`X-Purpose-Of-Use`), default by role. */
  purposeOfUse: string;
  /** True when the purpose of use was stated by the client (`X-Purpose-Of-Use`) rather than the role's default. */
  purposeAsserted?: boolean;
  /** Who a SMART Health Link's user says they are (its manifest request's `recipient`): recorded as asserted. */
  recipient?: string;
  /** The caller's network address, for the audit record. */
  address?: string;
  /** Write no audit records (benchmark baseline only). */
  auditOff?: boolean;
}
