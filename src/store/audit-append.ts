import { randomInt } from 'node:crypto';
import { APPENDER_CHAINS, TRANSACTION_CHAINS, linkMessage, microsecondInstant } from './audit-chain.js';
import type { AuditKey } from './audit-key.js';
import type { Database, SqlClient } from './driver.js';

/**
 * Who acted, in the audit's own table: the same person, client, organization, address and purpose
 * make every request's record, so a record names them by `id`, a digest of `text` (content-
 * addressed: changing a stored agent breaks its id, which the chained records hold).
 */
export interface AuditAgent {
  id: string;
  text: string;
}

/** One audit record to append: `recorded` is an ISO instant (milliseconds), `payload` a compact record. */
export interface AuditRecord {
  patient: string | null;
  recorded: string;
  payload: string;
  agent?: AuditAgent;
}

interface Head {
  seq: number;
  hash: string;
}

/**
 * Appends records at `head` of `chain` in ONE statement: the agents they name (once each), the
 * rows, and the head moved on. The head moves only from where the links were computed (`seq =
 * $2`): when another writer moved it first the statement appends nothing and says so (n = 0),
 * or, `strict` ($10), fails with a serialization failure (40001), which rolls back its transaction.
 */
const APPEND_SQL = `WITH agents AS (INSERT INTO audit_agent (id, agent) SELECT * FROM unnest($3::text[], $4::text[]) ON CONFLICT (id) DO NOTHING),
  head AS (UPDATE audit_head SET seq = $2::bigint + cardinality($5::text[]), hash = decode($9, 'hex') WHERE chain = $1 AND seq = $2::bigint RETURNING chain),
  appended AS (INSERT INTO audit_event (chain, seq, recorded, patient, hash, payload)
    SELECT $1, $2::bigint + t.n, t.recorded, t.patient, decode(t.hash, 'hex'), t.payload
    FROM head CROSS JOIN unnest($5::text[], $6::timestamptz[], $7::text[], $8::text[]) WITH ORDINALITY AS t(patient, recorded, payload, hash, n) RETURNING 1)
  SELECT CASE WHEN count(*) = cardinality($5::text[]) OR NOT $10::boolean THEN count(*)::int ELSE densaulyq_audit_head_moved($1) END AS n FROM appended`;

/** The head after `records`, and each record's link, computed here so the key stays in this process. */
function linksFrom(key: AuditKey, head: Head, records: readonly AuditRecord[]): { hashes: string[]; next: Head } {
  const hashes: string[] = [];
  let previous = head.hash;
  for (const record of records) {
    previous = key.link(previous, linkMessage({ recorded: microsecondInstant(record.recorded), patient: record.patient, payload: record.payload }));
    hashes.push(previous);
  }
  return { hashes, next: { seq: head.seq + records.length, hash: previous } };
}

/**
 * Runs APPEND_SQL; true when every record was appended (false: the head had moved; `strict`: the
 * statement fails instead).
 */
async function appendAt(
  client: SqlClient,
  chain: number,
  head: Head,
  links: { hashes: string[]; next: Head },
  records: readonly AuditRecord[],
  agents: readonly AuditAgent[],
  strict = false,
): Promise<boolean> {
  const rows = await client.query<{ n: number }>(
    APPEND_SQL,
    [
      chain,
      head.seq,
      agents.map((a) => a.id),
      agents.map((a) => a.text),
      records.map((r) => r.patient),
      records.map((r) => r.recorded),
      records.map((r) => r.payload),
      links.hashes,
      links.next.hash,
      strict,
    ],
    { prepare: 'audit-append' },
  );
  return Number(rows[0]?.n) === records.length;
}

/**
 * The agents `records` name, once each. Sent with every batch (an index probe each when stored
 * already): an agent row lost since (a restore, a failover) comes back with the next record naming it.
 */
function agentsOf(records: readonly AuditRecord[]): AuditAgent[] {
  const agents = new Map<string, AuditAgent>();
  for (const { agent } of records) if (agent) agents.set(agent.id, agent);
  return [...agents.values()];
}

async function loadHead(client: SqlClient, chain: number): Promise<Head> {
  const rows = await client.query<{ seq: string; hash: string }>(`SELECT seq::text AS seq, encode(hash, 'hex') AS hash FROM audit_head WHERE chain = $1`, [chain]);
  const row = rows[0];
  if (!row) throw new Error(`audit chain ${chain} has no head`);
  return { seq: Number(row.seq), hash: row.hash };
}

/**
 * The head of each transaction chain as this process last committed it, and as the open
 * transaction last moved it: a write's append starts from there, with no statement to read the
 * head, and reads it (locked) only when another session moved it since (the append then changes
 * nothing and says so).
 */
const committedHeads = new WeakMap<Database, Map<number, Head>>();
const transactionHeads = new WeakMap<SqlClient, Head>();

/**
 * Appends inside the caller's transaction (a write and its record commit together), on the
 * session's transaction chain, whose head stays locked until the transaction ends. `afterCommit`
 * runs its effect once the transaction commits.
 *
 * From a known head the append is sent and not waited for: the transaction's COMMIT follows it in
 * the same round trip (Database.transaction). Should another session have moved the head, the
 * append fails, the transaction runs again, and this time reads the head first.
 */
export async function appendInTransaction(tx: SqlClient, db: Database, records: readonly AuditRecord[], afterCommit: (effect: () => void) => void): Promise<void> {
  if (records.length === 0) return;
  const key = auditKeyOf(db);
  const agents = agentsOf(records);
  const chain = tx.session === undefined ? undefined : tx.session % TRANSACTION_CHAINS;
  let heads = committedHeads.get(db);
  if (!heads) committedHeads.set(db, (heads = new Map()));
  let head = chain === undefined ? undefined : (transactionHeads.get(tx) ?? heads.get(chain));
  let appendTo = chain;
  if (!head || appendTo === undefined) {
    const [row] = await tx.query<{ chain: number; seq: string; hash: string }>(
      `SELECT chain, seq::text AS seq, encode(hash, 'hex') AS hash FROM audit_head WHERE chain = ${chain === undefined ? `pg_backend_pid() % ${TRANSACTION_CHAINS}` : '$1'} FOR UPDATE`,
      chain === undefined ? [] : [chain],
      chain === undefined ? undefined : { prepare: 'audit-transaction-head' },
    );
    if (!row) throw new Error("the session's audit chain has no head");
    head = { seq: Number(row.seq), hash: row.hash };
    appendTo = row.chain;
  }
  const links = linksFrom(key, head, records);
  const appended = appendAt(tx, appendTo, head, links, records, agents, true);
  // Forget a head that proved stale, so the transaction's next attempt reads it.
  appended.catch(() => heads.delete(appendTo));
  transactionHeads.set(tx, links.next);
  afterCommit(() => heads.set(appendTo, links.next));
}

/** Records of requests that arrive together go in one statement; a batch holds at most this many. */
const MAX_BATCH = 1000;

interface Waiting {
  records: readonly AuditRecord[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

const randomAppenderChain = () => APPENDER_CHAINS.first + randomInt(APPENDER_CHAINS.count);

/**
 * Commits start at most this often: under load the records of every request that arrives in
 * between share one statement and one commit (a batch grows with the request rate), and an idle
 * server starts a commit at once.
 */
const FLUSH_INTERVAL_MS = 1;

/**
 * Group commit for the records of reads: each request hands its records over and waits; whatever
 * arrived while the previous statement was running, or within FLUSH_INTERVAL_MS of its start, goes
 * in the next statement, one commit for all. A request is answered only after the commit that
 * holds its records, so nothing is served without a durable record. The appender owns a chain
 * while its head is where it left it; another process on the same chain makes it re-read the
 * head and move to another chain.
 */
export class AuditAppender {
  private readonly queue: Waiting[] = [];
  /** Its head as last appended on `chain`, the chain it holds (undefined: to be read). */
  private head: Head | undefined;
  private flushing = false;
  private scheduled = false;
  private lastStart = -Infinity;

  /** `chain`: a random appender chain, unless given (two appenders made to meet on one). */
  constructor(
    private readonly db: Database,
    private readonly key: AuditKey,
    private chain: number = randomAppenderChain(),
  ) {}

  /** Resolves once `records` are committed. */
  append(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushing || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      this.start();
    };
    const wait = this.lastStart + FLUSH_INTERVAL_MS - performance.now();
    // At once, the requests of this turn of the event loop joining; or when the interval is up.
    if (wait <= 0) setImmediate(go);
    else setTimeout(go, wait);
  }

  private start(): void {
    const batch: Waiting[] = [];
    let size = 0;
    while (this.queue.length > 0 && (batch.length === 0 || size + this.queue[0]!.records.length <= MAX_BATCH)) {
      const next = this.queue.shift()!;
      batch.push(next);
      size += next.records.length;
    }
    this.flushing = true;
    this.lastStart = performance.now();
    void this.flush(batch).finally(() => {
      this.flushing = false;
      this.schedule();
    });
  }

  private async flush(batch: Waiting[]): Promise<void> {
    const records = batch.flatMap((w) => w.records);
    const agents = agentsOf(records);
    try {
      for (let attempt = 1; ; attempt++) {
        const head = (this.head ??= await loadHead(this.db, this.chain));
        const links = linksFrom(this.key, head, records);
        const appended = await appendAt(this.db, this.chain, head, links, records, agents).catch(async (error: unknown) => {
          // The statement may have committed before the connection failed: the head says whether.
          const now = await loadHead(this.db, this.chain).catch(() => undefined);
          if (now?.seq !== links.next.seq || now.hash !== links.next.hash) {
            this.head = undefined;
            throw error;
          }
          return true;
        });
        if (appended) {
          this.head = links.next;
          break;
        }
        this.chain = randomAppenderChain();
        this.head = undefined;
        if (attempt >= 5) throw new Error('the audit chains stayed contended over five attempts');
      }
      for (const waiting of batch) waiting.resolve();
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}

const keys = new WeakMap<Database, AuditKey>();
const appenders = new WeakMap<Database, AuditAppender>();

/** Names the key the chains of `db` are linked with (openDatabase does, once). */
export function bindAuditKey(db: Database, key: AuditKey): void {
  keys.set(db, key);
}

/** A handle made from `original` (a wrapper, a copy) appends with its key. */
export function shareAuditKey(original: Database, copy: Database): Database {
  keys.set(copy, auditKeyOf(original));
  return copy;
}

/** The key bound to `db`; a database opened otherwise than by openDatabase has none, and appending to it is a mistake to stop at once. */
function auditKeyOf(db: Database): AuditKey {
  const key = keys.get(db);
  if (!key) throw new Error('this database handle has no audit key: open it with openDatabase, or bindAuditKey a copy of one');
  return key;
}

/** The process's appender for `db`. */
export function auditAppender(db: Database): AuditAppender {
  let appender = appenders.get(db);
  if (!appender) {
    appender = new AuditAppender(db, auditKeyOf(db));
    appenders.set(db, appender);
  }
  return appender;
}
