import type { Bundle } from '@medplum/fhirtypes';
import { isFhirError } from '../fhir/outcome.js';
import type { Repository } from '../store/repository.js';
import { fileResults } from './file-results.js';

/** At most this many messages' results go in one transaction. */
const MAX_GROUP = 32;
/**
 * At most this many of a sender's groups are filed at once: while one waits for PostgreSQL (its
 * statements, its commit's flush) the next is prepared, and the groups still grow with the load.
 */
const GROUPS_AT_ONCE = 2;

interface Waiting {
  caller: Repository;
  bundle: Bundle;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Lane {
  lab: string;
  waiting: Waiting[];
  /** Groups being filed now, or about to be. */
  filing: number;
}

/**
 * Group commit for lab results: the messages of one sender (one lab system, so one access
 * context) that arrive while its previous group is being filed go in the next group, one SQL
 * transaction for all of them. Filing one message alone takes about a dozen round trips to
 * PostgreSQL (locks, look-ups, the write, the audit, the commit), and on loopback a round trip
 * costs about as much CPU as the work it carries; grouped, each message pays its share. A group
 * grows with the load: an idle lab's message is filed at once, alone.
 *
 * Each message is answered only once the transaction holding its results has committed. When a
 * group cannot be filed as one (a message's results are refused, or two messages of the group name
 * the same result, which one transaction cannot plan), each of its messages is filed alone, in
 * order, as it would have been without grouping: a message's fault parks that message only.
 */
export class ResultFilings {
  private readonly lanes = new Map<string, Lane>();

  /** Files `bundle` as `caller` (the system caller of `lab`, whose messages share `lane`); resolves once it is committed. */
  file(lane: string, caller: Repository, bundle: Bundle, lab: string): Promise<void> {
    let state = this.lanes.get(lane);
    if (!state) this.lanes.set(lane, (state = { lab, waiting: [], filing: 0 }));
    const joined = state;
    return new Promise((resolve, reject) => {
      joined.waiting.push({ caller, bundle, resolve, reject });
      if (joined.filing < GROUPS_AT_ONCE && joined.waiting.length === 1) {
        joined.filing++;
        // The next turn of the event loop: the messages handed over in this one join the group.
        setImmediate(() => void this.drain(lane, joined));
      }
    });
  }

  /** Files groups of what waits in the lane, one after the other, until nothing does. */
  private async drain(lane: string, state: Lane): Promise<void> {
    while (state.waiting.length > 0) await fileGroup(state.waiting.splice(0, MAX_GROUP), state.lab);
    if (--state.filing === 0) this.lanes.delete(lane);
  }
}

async function fileGroup(group: Waiting[], lab: string): Promise<void> {
  if (group.length > 1) {
    try {
      await fileResults(group[0]!.caller, group.map((w) => w.bundle), lab);
      for (const waiting of group) waiting.resolve();
      return;
    } catch (error) {
      // Refused (one message's results, or two messages naming one result): each is filed alone below.
      // A platform fault (the database gone) is every message's: their senders send again.
      if (!isFhirError(error)) {
        for (const waiting of group) waiting.reject(error);
        return;
      }
    }
  }
  for (const waiting of group) {
    await fileResults(waiting.caller, [waiting.bundle], lab).then(
      () => waiting.resolve(),
      (error: unknown) => waiting.reject(error),
    );
  }
}
