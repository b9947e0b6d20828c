import type { CareClaim } from '../store/access-facts.js';
import type { CareDeclaration, CareEvidence, CareRow, WriteCheck } from '../store/access-policy.js';
import { selfDeclaredNotice } from './patient-notices.js';

/**
 * How long a self-declared care relationship lasts unless corroborated (the patient confirms it,
 * or a verified relationship appears): long enough for a walk-in or an emergency admission to be
 * treated and documented, short enough that a false claim closes by itself the next day.
 */
export const SELF_DECLARED_HOURS = 24;

/**
 * Who writes, as far as care relationships go (docs/architecture.md, "one door"):
 * - `trusted`: the platform, an administrator with clinical access: what it records holds;
 * - `registry`: primary-care attachment and legal representation are its to record;
 * - `patient`: an appointment the patient booked or accepted;
 * - `organization`: its word about itself: verified when it already has a verified relationship
 *   (or accepts a referral from an organization that has one), otherwise self-declared.
 */
export type WriterKind = 'trusted' | 'registry' | 'patient' | 'organization';

export interface Writer {
  kind: WriterKind;
  /** `Organization/x` for an organization. */
  party?: string;
  /** Recorded as who asserted each relationship. */
  label: string;
  subject: string;
  clientId: string;
}

const key = (c: { patient: string; party: string; kind: string }) => `${c.patient}|${c.party}|${c.kind}`;

function earlier(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}

/**
 * Which of a write's claimed relationships hold, and how. A claim the resource's current version
 * already held keeps its verification (an update of an Encounter does not re-open the question);
 * a new self-declared one joins the organization's open declaration about that patient, or opens
 * one, which the patient is told about and which is listed for review.
 */
export async function decideCare(write: WriteCheck, evidence: CareEvidence, writer: Writer): Promise<{ care: CareRow[]; declarations: CareDeclaration[] }> {
  const held = new Map(write.held.map((row) => [key(row), row]));
  const care: CareRow[] = [];
  const declarations: CareDeclaration[] = [];
  const opened = new Map<string, string>();
  for (const claim of write.claims) {
    const before = held.get(key(claim));
    if (before) {
      care.push({ ...before, validUntil: before.verified ? claim.validUntil : earlier(claim.validUntil, before.validUntil) });
      continue;
    }
    const verdict = await decideNew(claim, evidence, writer);
    if (verdict === 'drop') continue;
    if (verdict === 'verified') {
      care.push({ ...row(claim, writer), verified: true });
      continue;
    }
    const pair = `${claim.patient}|${claim.party}`;
    let expires = opened.get(pair) ?? (await evidence.openDeclaration(claim.patient, claim.party));
    if (!expires) {
      expires = new Date(Date.now() + SELF_DECLARED_HOURS * 3_600_000).toISOString();
      declarations.push({
        patient: claim.patient,
        party: claim.party,
        kind: claim.kind,
        expiresAt: expires,
        declaredBy: writer.subject,
        clientId: writer.clientId,
        notice: selfDeclaredNotice(claim.patient, claim.party, expires),
      });
    }
    opened.set(pair, expires);
    care.push({ ...row(claim, writer), verified: false, validUntil: earlier(claim.validUntil, expires) });
  }
  return { care, declarations };
}

function row(claim: CareClaim, writer: Writer): CareRow {
  return { patient: claim.patient, party: claim.party, kind: claim.kind, validUntil: claim.validUntil, verified: true, assertedBy: writer.label };
}

async function decideNew(claim: CareClaim, evidence: CareEvidence, writer: Writer): Promise<'verified' | 'self-declared' | 'drop'> {
  switch (writer.kind) {
    case 'trusted':
      return 'verified';
    case 'registry':
      return claim.kind === 'attached' || claim.kind === 'representative' ? 'verified' : 'drop';
    case 'patient':
      return claim.kind === 'appointment' ? 'verified' : 'drop';
    case 'organization': {
      // An organization speaks for itself only: it cannot give another one access.
      if (claim.party !== writer.party || claim.kind === 'representative') return 'drop';
      if (await evidence.verifiedRelationship(claim.patient, claim.party)) return 'verified';
      if (claim.basis && (await acceptsReferral(claim, evidence))) return 'verified';
      return 'self-declared';
    }
  }
}

/** The claim accepts a referral made to this organization by one with a verified relationship. */
async function acceptsReferral(claim: CareClaim, evidence: CareEvidence): Promise<boolean> {
  const referral = await evidence.referral(claim.basis!);
  if (!referral || referral.patient !== claim.patient || !referral.performers.includes(claim.party)) return false;
  if (!referral.author?.startsWith('Organization/') || referral.author === claim.party) return false;
  return evidence.verifiedRelationship(claim.patient, referral.author);
}
