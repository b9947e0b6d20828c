import { createHash } from 'node:crypto';
import type { SqlClient } from '../store/driver.js';
import { GENESIS_PREFIX, isCompactRecord, linkMessage } from '../store/audit-chain.js';
import { type AuditKey, processAuditKey } from '../store/audit-key.js';
import { auditAgentRows, auditChains, auditHeadRows, auditKeyedStarts, auditRowsAfter } from '../store/audit-rows.js';
import { agentId } from './audit-event.js';

/**
 * Verification of the audit hash chains (src/store/audit-chain.ts): every record's hash is
 * recomputed here, in Node, with the audit key, from the previous link and the payload, so a
 * database that lies about its hashes cannot vouch for itself, and an administrator without the
 * key cannot rewrite a record and recompute the links after it. A compact record's link covers
 * its `patient` and `recorded` columns (which the citizen's access log is read by) and the agent
 * it names, whose row must still match its digest; an older whole AuditEvent's columns must agree
 * with its payload.
 *
 * Removing the newest records and rewinding the head leaves a chain consistent with itself:
 * only a link kept outside the database shows it. `auditHeads` gives the links to keep (their
 * digest is short enough to publish; the server writes them to its anchor store,
 * src/access/audit-anchors.ts), and `verifyAuditChain(db, { anchors })` checks the chains still
 * pass through them.
 */
export interface AuditProblem {
  chain: number;
  seq: number;
  /**
   * `seal-mismatch`: the chain's keyed start is missing or not sealed with this key;
   * `agent-mismatch`: the agent a record names is missing or was changed.
   */
  kind: 'changed' | 'removed' | 'reordered' | 'head-mismatch' | 'column-mismatch' | 'seal-mismatch' | 'agent-mismatch';
  detail: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Chains walked. */
  chains: number;
  /** Records read. */
  records: number;
  /** Every problem found; `problems` lists the first `maxProblems`. */
  problemCount: number;
  problems: AuditProblem[];
  /** The heads as verified, and their digest (see `auditHeads`). */
  heads: AuditHead[];
  headDigest: string;
}

/** The last link of a chain: its seq and hash (hex). */
export interface AuditHead {
  chain: number;
  seq: number;
  hash: string;
}

export interface VerifyOptions {
  /** The key the chains are linked with; the process's own unsaved key when absent (tests). */
  key?: AuditKey;
  /** Rows read per query; keyset pages keep memory flat however long the chain. */
  pageSize?: number;
  maxProblems?: number;
  /** Links saved earlier (`auditHeads`), several per chain allowed: each chain must still pass through every one. */
  anchors?: readonly AuditHead[];
}

/** A link the chain must pass through: anchored outside the database, or sealed as the chain's keyed start. */
interface RequiredLink extends AuditHead {
  what: string;
}

interface AuditRow {
  seq: number;
  recorded: string;
  patient: string | null;
  hash: string;
  payload: string;
}

/** The chains' current heads, ordered by chain, to keep outside the database. */
export async function auditHeads(db: SqlClient): Promise<AuditHead[]> {
  const rows = await auditHeadRows(db);
  return rows.map((r) => ({ chain: Number(r.chain), seq: Number(r.seq), hash: r.hash }));
}

/** sha256 over `chain:seq:hash` lines: one value that stands for all the heads, to publish or sign. */
export function headsDigest(heads: readonly AuditHead[]): string {
  const hash = createHash('sha256');
  for (const head of [...heads].sort((a, b) => a.chain - b.chain)) hash.update(`${head.chain}:${head.seq}:${head.hash}\n`);
  return hash.digest('hex');
}

/** Walks every chain in seq order and reports each break; see the module comment. */
export async function verifyAuditChain(db: SqlClient, options: VerifyOptions = {}): Promise<AuditVerification> {
  const pageSize = options.pageSize ?? 5000;
  const maxProblems = options.maxProblems ?? 100;
  const problems: AuditProblem[] = [];
  let problemCount = 0;
  const report = (problem: AuditProblem) => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(problem);
  };

  const key = options.key ?? processAuditKey();
  // Heads first: records appended while the walk runs lie beyond them and are left for next time.
  const heads = await auditHeads(db);
  const headOf = new Map(heads.map((h) => [h.chain, h]));
  const requiredOf = new Map<number, RequiredLink[]>();
  const mustPass = (link: RequiredLink) => requiredOf.set(link.chain, [...(requiredOf.get(link.chain) ?? []), link]);
  for (const anchor of options.anchors ?? []) mustPass({ ...anchor, what: 'the anchored link' });
  const starts = await auditKeyedStarts(db);
  const keyedAfter = new Map<number, number>();
  for (const start of starts) {
    const chain = Number(start.chain);
    const seq = Number(start.seq);
    keyedAfter.set(chain, seq);
    if (key.seal(chain, seq, start.hash) === start.seal) mustPass({ chain, seq, hash: start.hash, what: 'the sealed keyed start' });
    else report({ chain, seq, kind: 'seal-mismatch', detail: "the chain's keyed start is not sealed with this key" });
  }
  // A chain with records but no head is foreign to the store: it is walked and reported too.
  const found = await auditChains(db);
  const chains = [...new Set([...heads.map((h) => h.chain), ...found.map((r) => Number(r.chain))])].sort((a, b) => a - b);

  let records = 0;
  /** Each agent id compact records name, with the first record naming it. */
  const agents = new Map<string, { chain: number; seq: number }>();
  const noteAgent = (chain: number, row: AuditRow) => {
    const id = agentOf(row.payload);
    if (id === undefined) report({ chain, seq: row.seq, kind: 'agent-mismatch', detail: 'the record names no agent' });
    else if (!agents.has(id)) agents.set(id, { chain, seq: row.seq });
  };
  for (const chain of chains) {
    const head = headOf.get(chain);
    const rows = new ChainReader(db, chain, head?.seq, pageSize);
    const links = requiredOf.get(chain) ?? [];
    if (!keyedAfter.has(chain)) report({ chain, seq: 0, kind: 'seal-mismatch', detail: 'the chain has no sealed keyed start' });
    // Links up to the keyed start were written before the key existed; a chain without one is taken as keyed throughout.
    const plainUpTo = keyedAfter.get(chain) ?? 0;
    const link = (seq: number, previous: string, row: AuditRow) => (seq > plainUpTo ? key.link(previous, linkMessage(row)) : plainLink(previous, row.payload));
    // The last link read: after a break the walk goes on from the record that broke, so one break is one problem.
    let previous = genesis(chain);
    let expected = 1;
    const accept = (row: AuditRow) => {
      records++;
      if (isCompactRecord(row.payload)) noteAgent(chain, row);
      else checkColumns(chain, row, report);
      for (const required of links) {
        if (row.seq === required.seq && row.hash !== required.hash) report({ chain, seq: row.seq, kind: 'changed', detail: `the record differs from ${required.what}` });
      }
    };
    for (let row = await rows.next(); row; row = await rows.next()) {
      accept(row);
      if (row.seq < expected) {
        report({ chain, seq: row.seq, kind: 'reordered', detail: `seq ${row.seq} where ${expected} was due` });
        continue;
      }
      if (row.seq > expected) {
        // A link is missing, so this record cannot be checked against its predecessor.
        const detail = row.seq === expected + 1 ? `record ${expected} is missing` : `records ${expected} to ${row.seq - 1} are missing`;
        report({ chain, seq: expected, kind: 'removed', detail });
      } else if (link(row.seq, previous, row) !== row.hash) {
        const next = await rows.peek();
        if (next?.seq === row.seq + 1 && link(row.seq, previous, next) === next.hash && link(next.seq, next.hash, row) === row.hash) {
          // Two records swapped places: the chain runs through the second, then the first.
          report({ chain, seq: row.seq, kind: 'reordered', detail: `records ${row.seq} and ${next.seq} are in each other's place` });
          accept((await rows.next())!);
          previous = row.hash;
          expected = next.seq + 1;
          continue;
        }
        report({ chain, seq: row.seq, kind: 'changed', detail: `the hash does not follow from record ${row.seq - 1}: this record or the one before it was changed` });
      }
      previous = row.hash;
      expected = row.seq + 1;
    }
    const lastSeq = expected - 1;
    if (!head) {
      report({ chain, seq: lastSeq, kind: 'head-mismatch', detail: 'records of a chain that has no head' });
      continue;
    }
    if (lastSeq !== head.seq || previous !== head.hash) {
      const detail = lastSeq === head.seq ? "the head's hash is not the last record's" : `the head is at ${head.seq}, the last record at ${lastSeq}`;
      report({ chain, seq: head.seq, kind: 'head-mismatch', detail });
    }
    for (const required of links) {
      if (required.seq > lastSeq) report({ chain, seq: required.seq, kind: 'removed', detail: `the chain ends at ${lastSeq}, before ${required.what} ${required.seq}` });
    }
  }
  await checkAgents(db, agents, report);
  return { ok: problemCount === 0, chains: chains.length, records, problemCount, problems, heads, headDigest: headsDigest(heads) };
}

function agentOf(payload: string): string | undefined {
  try {
    const { g } = JSON.parse(payload) as { g?: unknown };
    return typeof g === 'string' ? g : undefined;
  } catch {
    return undefined;
  }
}

/** Every agent the records name must exist and still match its id (a digest of its text). */
async function checkAgents(db: SqlClient, agents: ReadonlyMap<string, { chain: number; seq: number }>, report: (problem: AuditProblem) => void): Promise<void> {
  const ids = [...agents.keys()];
  const stored = new Map<string, string>();
  for (let at = 0; at < ids.length; at += 5000) for (const row of await auditAgentRows(db, ids.slice(at, at + 5000))) stored.set(row.id, row.agent);
  for (const [id, first] of agents) {
    const text = stored.get(id);
    if (text === undefined) report({ ...first, kind: 'agent-mismatch', detail: `the agent ${id} the record names is missing` });
    else if (agentId(text) !== id) report({ ...first, kind: 'agent-mismatch', detail: `the agent ${id} the record names was changed` });
  }
}

/** hash_n = sha256(hash_{n-1} || utf8(payload_n)): the links written before the chain was keyed. */
function plainLink(previous: string, payload: string): string {
  return createHash('sha256').update(previous, 'hex').update(payload, 'utf8').digest('hex');
}

/** The seq-0 hash the migration seeds each chain with. */
function genesis(chain: number): string {
  return createHash('sha256').update(`${GENESIS_PREFIX}${chain}`, 'utf8').digest('hex');
}

/** A whole AuditEvent's `patient` and `recorded` are outside the hash; they must say what the hashed payload says. */
function checkColumns(chain: number, row: AuditRow, report: (problem: AuditProblem) => void): void {
  let event: { recorded?: unknown; entity?: { what?: { reference?: unknown }; type?: { code?: unknown }; role?: { code?: unknown } }[] };
  try {
    event = JSON.parse(row.payload);
  } catch {
    report({ chain, seq: row.seq, kind: 'column-mismatch', detail: 'the payload is not JSON' });
    return;
  }
  const patientEntity = event.entity?.find((e) => e.type?.code === '1' && e.role?.code === '1');
  const reference = patientEntity?.what?.reference;
  const patient = typeof reference === 'string' && reference.startsWith('Patient/') ? reference.slice('Patient/'.length) : null;
  if (patient !== row.patient) {
    report({ chain, seq: row.seq, kind: 'column-mismatch', detail: 'the patient column differs from the payload\'s patient' });
  }
  // Milliseconds: the payload's instant may carry less precision than the column.
  if (typeof event.recorded !== 'string' || Date.parse(event.recorded) !== Date.parse(row.recorded)) {
    report({ chain, seq: row.seq, kind: 'column-mismatch', detail: 'the recorded column differs from the payload\'s recorded' });
  }
}

/** One chain's records in seq order, read in keyset pages, with one record of look-ahead. */
class ChainReader {
  private page: AuditRow[] = [];
  private index = 0;
  private after = '-9223372036854775808';
  private done = false;

  constructor(
    private readonly db: SqlClient,
    private readonly chain: number,
    private readonly upTo: number | undefined,
    private readonly pageSize: number,
  ) {}

  async next(): Promise<AuditRow | undefined> {
    const row = await this.peek();
    if (row) this.index++;
    return row;
  }

  async peek(): Promise<AuditRow | undefined> {
    if (this.index >= this.page.length && !this.done) await this.load();
    return this.page[this.index];
  }

  private async load(): Promise<void> {
    const rows = await auditRowsAfter(this.db, this.chain, this.after, this.pageSize, this.upTo);
    this.page = rows.map((r) => ({ ...r, seq: Number(r.seq) }));
    this.index = 0;
    if (rows.length < this.pageSize) this.done = true;
    else this.after = rows[rows.length - 1]!.seq;
  }
}
