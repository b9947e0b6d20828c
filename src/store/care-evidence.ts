import type { ServiceRequest } from '@medplum/fhirtypes';
import type { CareClaim } from './access-facts.js';
import type { CareEvidence, CareRow } from './access-policy.js';
import type { SqlClient } from './driver.js';
import { parseStored } from './stored-json.js';

const INSTANT = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The store's answers to the door's questions about the evidence of care relationships. */
export function careEvidence(client: SqlClient): CareEvidence {
  return {
    async verifiedRelationship(patient, party) {
      const rows = await client.query(
        `SELECT 1 FROM care_relationship WHERE party = $1 AND patient = $2 AND verified AND (valid_until IS NULL OR valid_until > now()) LIMIT 1`,
        [party, patient],
      );
      return rows.length > 0;
    },

    async openDeclaration(patient, party) {
      const rows = await client.query<{ expires: string | null }>(
        `SELECT ${INSTANT('max(expires_at)')} AS expires FROM care_declaration
          WHERE patient = $1 AND party = $2 AND confirmed_at IS NULL AND disputed_at IS NULL AND expires_at > now()`,
        [patient, party],
      );
      return rows[0]?.expires ?? undefined;
    },

    async referral(reference) {
      const id = reference.slice('ServiceRequest/'.length);
      const rows = await client.query<{ compartment: string | null; author: string | null; json: string }>(
        `SELECT compartment, author, content AS json FROM resource WHERE resource_type = 'ServiceRequest' AND id = $1 AND NOT deleted`,
        [id],
      );
      const row = rows[0];
      if (!row) return undefined;
      const request = parseStored<ServiceRequest>(row);
      const performers = (request.performer ?? []).map((p) => p.reference ?? '').filter((r) => r.startsWith('Organization/'));
      return { patient: row.compartment, performers, author: row.author };
    },

    async servesOrganization(practitioner, organization) {
      const [type, id] = practitioner.split('/');
      // An active PractitionerRole of that organization: the role itself, or one naming the practitioner.
      const role = type === 'PractitionerRole' ? `r.id = $2` : `EXISTS (SELECT 1 FROM search_reference p WHERE p.resource_type = 'PractitionerRole'
        AND p.id = r.id AND p.code = 'practitioner' AND p.target_type = 'Practitioner' AND p.target_id = $2)`;
      const rows = await client.query(
        `SELECT 1 FROM search_reference r JOIN resource x ON x.resource_type = 'PractitionerRole' AND x.id = r.id AND NOT x.deleted
          WHERE r.resource_type = 'PractitionerRole' AND r.code = 'organization' AND r.target_type = 'Organization' AND r.target_id = $1 AND ${role}
            AND NOT EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = 'PractitionerRole' AND t.id = r.id AND t.code = 'active' AND t.value = 'false')
          LIMIT 1`,
        [organization, id],
      );
      return rows.length > 0;
    },
  };
}

/** The care relationships a resource's current version holds, as stored. */
export async function heldCare(client: SqlClient, resourceType: string, id: string): Promise<CareRow[]> {
  const rows = await client.query<{ patient: string; party: string; kind: CareRow['kind']; valid_until: string | null; verified: boolean; asserted_by: string | null }>(
    `SELECT patient, party, kind, ${INSTANT('valid_until')} AS valid_until, verified, asserted_by FROM care_relationship WHERE resource_type = $1 AND id = $2`,
    [resourceType, id],
  );
  return rows.map((r) => ({ patient: r.patient, party: r.party, kind: r.kind, validUntil: r.valid_until, verified: r.verified, assertedBy: r.asserted_by }));
}

/**
 * Claims whose party is a service, location or practitioner's role, with that party replaced by
 * the organization it belongs to (its `organization` search parameter); unresolvable ones dropped.
 */
export async function resolveParties(client: SqlClient, claims: readonly CareClaim[]): Promise<CareClaim[]> {
  const indirect = [...new Set(claims.map((c) => c.party).filter((p) => !p.startsWith('Organization/') && !p.startsWith('iin|')))];
  if (indirect.length === 0) return [...claims];
  const rows = await client.query<{ party: string; organization: string }>(
    `SELECT r.resource_type || '/' || r.id AS party, 'Organization/' || r.target_id AS organization FROM search_reference r
      JOIN unnest($1::text[]) AS p(ref) ON p.ref = r.resource_type || '/' || r.id
      WHERE r.code = 'organization' AND r.target_type = 'Organization'`,
    [indirect],
  );
  const owner = new Map(rows.map((r) => [r.party, r.organization]));
  const resolved = claims.flatMap((c) => {
    if (!indirect.includes(c.party)) return [c];
    const party = owner.get(c.party);
    return party !== undefined ? [{ ...c, party }] : [];
  });
  return resolved.filter((c, i) => resolved.findIndex((d) => d.patient === c.patient && d.party === c.party && d.kind === c.kind) === i);
}
