import type { Reference, Task } from '@medplum/fhirtypes';
import { forbidden } from '../fhir/outcome.js';

type Status = Task['status'];

/**
 * Referrals between organizations: a ServiceRequest (what is asked) and a Task that carries it
 * from the requester's organization to the owner's through the FHIR Task state machine
 * (https://hl7.org/fhir/R4/task.html#statemachine). The requester sends and may cancel; the owner
 * receives, accepts or rejects, works and completes or fails it. Accepting is what gives the owner
 * the patient's record (src/store/access-facts.ts), for the work and a grace period after.
 */
const OWNER_MOVES: Partial<Record<Status, readonly Status[]>> = {
  requested: ['received', 'accepted', 'rejected'],
  received: ['accepted', 'rejected'],
  accepted: ['ready', 'in-progress', 'on-hold', 'failed'],
  ready: ['in-progress', 'on-hold', 'failed'],
  'in-progress': ['on-hold', 'completed', 'failed'],
  'on-hold': ['in-progress', 'failed'],
};
const REQUESTER_MOVES: Partial<Record<Status, readonly Status[]>> = {
  draft: ['requested', 'cancelled', 'entered-in-error'],
  requested: ['cancelled'],
  received: ['cancelled'],
  accepted: ['cancelled'],
  ready: ['cancelled'],
  'in-progress': ['cancelled'],
  'on-hold': ['cancelled'],
};
/** What a Task may be created in: by its requester, as sent; by its owner, a referral it took on some other way (on paper, by phone). */
const REQUESTER_STARTS: readonly Status[] = ['draft', 'requested'];
const OWNER_STARTS: readonly Status[] = ['received', 'accepted', 'in-progress'];
/** Elements that say who refers whom for what: set when the Task is sent, never changed after. */
const FIXED = ['for', 'focus', 'requester', 'owner'] as const;

const SERVICE_REQUEST = /^ServiceRequest\/[A-Za-z0-9\-.]{1,64}$/;

/** A Task that carries a referral: its focus is a ServiceRequest. */
export function isReferralTask(task: Task): boolean {
  return SERVICE_REQUEST.test(task.focus?.reference ?? '');
}

const names = (reference: Reference | undefined, party: string) => reference?.reference === party;

/** Whether `party` (`Organization/x`) is the Task's requester or owner: the two who may change it. */
export function takesPartIn(task: Task, party: string | undefined): boolean {
  return party !== undefined && (names(task.requester, party) || names(task.owner, party));
}

/**
 * Refuses a referral Task write that `party` may not make: creating one it neither sends nor
 * owns, in a status it could not start in; changing who or what it is about; or a status change
 * the state machine or the party's side of it does not allow.
 */
export function checkReferralTask(before: Task | undefined, after: Task, party: string | undefined): void {
  const requester = party !== undefined && names(after.requester, party);
  const owner = party !== undefined && names(after.owner, party);
  if (!before) {
    if (requester && REQUESTER_STARTS.includes(after.status)) return;
    if (owner && OWNER_STARTS.includes(after.status)) return;
    throw forbidden(
      requester || owner
        ? `A referral Task is sent as ${REQUESTER_STARTS.join(' or ')} by its requester, or recorded as ${OWNER_STARTS.join(', ')} by its owner, not created ${after.status}`
        : `A referral Task is created by the organization that sends it (requester) or that takes it on (owner)`,
      requester || owner ? 'Task.status' : 'Task.requester',
    );
  }
  for (const element of FIXED) {
    if (JSON.stringify(before[element] ?? null) !== JSON.stringify(after[element] ?? null)) {
      throw forbidden(`Task.${element} says who refers whom for what: it is set when the referral is sent and not changed (send a new referral instead)`, `Task.${element}`);
    }
  }
  if (before.status === after.status) {
    if (takesPartIn(before, party)) return;
    throw forbidden(`Only the referral's requester and owner change its Task`, 'Task.owner');
  }
  const wasRequester = party !== undefined && names(before.requester, party);
  const wasOwner = party !== undefined && names(before.owner, party);
  const allowed = [...(wasOwner ? (OWNER_MOVES[before.status] ?? []) : []), ...(wasRequester ? (REQUESTER_MOVES[before.status] ?? []) : [])];
  if (!allowed.includes(after.status)) {
    const side = wasOwner && wasRequester ? 'its requester and owner' : wasOwner ? 'its owner' : wasRequester ? 'its requester' : 'an organization that is neither its requester nor its owner';
    throw forbidden(
      allowed.length > 0
        ? `A referral ${before.status} moves to ${allowed.join(', ')} by ${side}, not to ${after.status}`
        : `A referral ${before.status} cannot be moved to ${after.status} by ${side}`,
      'Task.status',
    );
  }
}
