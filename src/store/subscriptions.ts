import { type CriteriaAlternative, TOPIC_RESOURCE_TYPES, matchesCriteria, needsAttachment } from '../fhir/subscription-topics.js';
import { notFound, forbidden } from '../fhir/outcome.js';
import type { IndexRows } from '../fhir/search-parameters.js';
import type { AccessPolicy } from './access-policy.js';
import type { SqlClient } from './driver.js';

/**
 * Topic-based Subscriptions (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/) as stored:
 * each Subscription's matching criteria, channel and owner, and the OUTBOX of its events. An
 * event is written in the transaction of the write that triggered it, numbered by its
 * subscription's own counter (events-since-subscription-start), so the outbox is the truth:
 * delivery marks an event delivered only after the subscriber took it, and a restart loses none.
 * Reached through `Repository.subscriptions`.
 */
export const SUBSCRIPTION_MIGRATION = `
  CREATE TABLE subscription (
    id text PRIMARY KEY,
    topic text NOT NULL,
    resource_types text[] NOT NULL,
    criteria text NOT NULL,
    channel text NOT NULL,
    endpoint text,
    headers text NOT NULL,
    signing_secret text,
    payload text NOT NULL,
    heartbeat_seconds integer,
    max_count integer NOT NULL,
    owner_party text NOT NULL,
    owner text NOT NULL,
    status text NOT NULL,
    events_since_start bigint NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,
    last_error text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    last_sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX subscription_types ON subscription USING gin (resource_types) WHERE status <> 'off';
  CREATE TABLE subscription_event (
    subscription text NOT NULL REFERENCES subscription (id) ON DELETE CASCADE,
    number bigint NOT NULL,
    focus_type text NOT NULL,
    focus_id text NOT NULL,
    focus_version bigint NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    state text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    delivered_at timestamptz,
    PRIMARY KEY (subscription, number)
  );
  CREATE INDEX subscription_event_pending ON subscription_event (subscription, number) WHERE state = 'pending';
  CREATE TABLE subscription_binding (
    token_hash text PRIMARY KEY,
    subscription text NOT NULL REFERENCES subscription (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
  );
`;

/**
 * Each subscription's event counter in a row of its own, which the delivery worker never writes,
 * advanced at COMMIT by a deferred trigger: a write inserts its events with placeholder numbers
 * (negative, unique) and the trigger, run inside the commit, locks the counter, numbers the event
 * and lets go when the commit ends. The lock orders concurrent writers' numbers as their commits
 * are ordered (no number shows before a smaller one), and is held for the commit alone, not
 * across the round trips of the rest of the write. Dead letters get a small index: $status and
 * every lease count them.
 */
export const SUBSCRIPTION_COUNTER_MIGRATION = `
  CREATE TABLE subscription_counter (
    subscription text PRIMARY KEY REFERENCES subscription (id) ON DELETE CASCADE,
    events bigint NOT NULL DEFAULT 0
  );
  INSERT INTO subscription_counter (subscription, events) SELECT id, events_since_start FROM subscription;
  ALTER TABLE subscription DROP COLUMN events_since_start;
  CREATE INDEX subscription_event_dead ON subscription_event (subscription) WHERE state = 'dead';
  CREATE SEQUENCE subscription_event_placeholder;
  CREATE FUNCTION densaulyq_number_subscription_event() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    numbered bigint;
  BEGIN
    UPDATE subscription_counter SET events = events + 1 WHERE subscription = NEW.subscription RETURNING events INTO numbered;
    UPDATE subscription_event SET number = numbered WHERE subscription = NEW.subscription AND number = NEW.number;
    RETURN NULL;
  END $$;
  CREATE CONSTRAINT TRIGGER subscription_event_numbered AFTER INSERT ON subscription_event
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION densaulyq_number_subscription_event();
`;

/**
 * Events are numbered by the delivery worker, not at the write's commit: a counter locked in every
 * writer's commit made writes to one subscription commit one at a time, and a burst of them queue
 * for seconds. A write now only inserts its events (`seq` orders them); each worker round numbers
 * what committed since the last one, in `seq` order, under one advisory lock so two processes never
 * number the same event (numberFreshEvents). A number still shows only once every smaller one has.
 */
export const SUBSCRIPTION_NUMBERING_MIGRATION = `
  DROP TRIGGER subscription_event_numbered ON subscription_event;
  DROP FUNCTION densaulyq_number_subscription_event();
  DROP SEQUENCE subscription_event_placeholder;
  ALTER TABLE subscription_event DROP CONSTRAINT subscription_event_pkey;
  ALTER TABLE subscription_event ALTER COLUMN number DROP NOT NULL;
  CREATE SEQUENCE subscription_event_seq;
  ALTER TABLE subscription_event ADD COLUMN seq bigint NOT NULL DEFAULT nextval('subscription_event_seq');
  ALTER SEQUENCE subscription_event_seq OWNED BY subscription_event.seq;
  ALTER TABLE subscription_event ADD PRIMARY KEY (seq);
  CREATE UNIQUE INDEX subscription_event_number ON subscription_event (subscription, number);
  CREATE INDEX subscription_event_fresh ON subscription_event (seq) WHERE number IS NULL;
`;

/** The advisory lock under which events are numbered (any process's worker, one at a time). */
const NUMBERING_LOCK = 726565;

/** Announced on commit of a write that recorded events, or of a registration: delivery wakes at once rather than at its next poll. */
export const SUBSCRIPTION_CHANNEL = 'densaulyq_subscription';

export type SubscriptionStatusCode = 'requested' | 'active' | 'error' | 'off';
export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

/** A Subscription as the exchange validated it: what the store matches and delivers by. */
export interface SubscriptionRegistration {
  id: string;
  topic: string;
  criteria: CriteriaAlternative[];
  channel: 'rest-hook' | 'websocket';
  endpoint: string | null;
  /** `Name: value` lines sent with each rest-hook POST (channel.header). */
  headers: string[];
  /** The key of the HMAC-SHA256 signature of each rest-hook body, when given. */
  signingSecret: string | null;
  payload: PayloadContent;
  heartbeatSeconds: number | null;
  maxCount: number;
  /** The access context of whoever created it, as JSON: the door judges each notification's content as them. */
  owner: string;
  status: SubscriptionStatusCode;
}

export interface SubscriptionState extends SubscriptionRegistration {
  eventsSinceStart: number;
  failures: number;
  lastError: string | null;
  deadLetters: number;
  lastSentAt: string | null;
}

export interface SubscriptionEvent {
  number: number;
  focusType: string;
  focusId: string;
  focusVersion: string;
  occurred: string;
  state: 'pending' | 'delivered' | 'dead';
  attempts: number;
  lastError: string | null;
}

/** What the delivery worker has to do for one subscription it leased. */
export interface DueSubscription extends SubscriptionState {
  handshake: boolean;
  heartbeat: boolean;
  pending: SubscriptionEvent[];
}

interface SubscriptionRow {
  id: string;
  topic: string;
  criteria: string;
  channel: 'rest-hook' | 'websocket';
  endpoint: string | null;
  headers: string;
  signing_secret: string | null;
  payload: PayloadContent;
  heartbeat_seconds: number | null;
  max_count: number;
  owner: string;
  status: SubscriptionStatusCode;
  events_since_start: string;
  failures: number;
  last_error: string | null;
  dead_letters: string;
  last_sent_at: string | null;
}

interface EventRow {
  number: string;
  focus_type: string;
  focus_id: string;
  focus_version: string;
  occurred: string;
  state: SubscriptionEvent['state'];
  attempts: number;
  last_error: string | null;
}

const INSTANT = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const STATE_COLUMNS = `s.id, s.topic, s.criteria, s.channel, s.endpoint, s.headers, s.signing_secret, s.payload, s.heartbeat_seconds, s.max_count, s.owner,
  s.status, (SELECT c.events FROM subscription_counter c WHERE c.subscription = s.id)::text AS events_since_start, s.failures, s.last_error, ${INSTANT('s.last_sent_at')} AS last_sent_at,
  (SELECT count(*) FROM subscription_event d WHERE d.subscription = s.id AND d.state = 'dead')::text AS dead_letters`;

const EVENT_COLUMNS = `number::text AS number, focus_type, focus_id, focus_version::text AS focus_version, ${INSTANT('occurred_at')} AS occurred, state, attempts, last_error`;

/** A Subscription deleted as a resource receives nothing more. */
const LIVE = `EXISTS (SELECT 1 FROM resource r WHERE r.resource_type = 'Subscription' AND r.id = s.id AND NOT r.deleted)`;

/**
 * Records, in the caller's transaction, an event for every live subscription a written version
 * matches, numbered later by the delivery worker (SUBSCRIPTION_NUMBERING_MIGRATION). True when it
 * recorded any: the caller announces them once committed (announceSubscriptionEvents).
 */
export async function recordSubscriptionEvents(
  client: SqlClient,
  versions: readonly { resourceType: string; id: string; versionId: string; index: IndexRows; compartment: string | null }[],
): Promise<boolean> {
  const written = versions.filter((v) => TOPIC_RESOURCE_TYPES.has(v.resourceType));
  if (written.length === 0) return false;
  const types = [...new Set(written.map((v) => v.resourceType))];
  const candidates = await client.query<{ id: string; criteria: string }>(
    `SELECT s.id, s.criteria FROM subscription s WHERE s.resource_types && $1::text[] AND s.status <> 'off' AND ${LIVE}`,
    [types],
    { prepare: 'subscription-candidates' },
  );
  if (candidates.length === 0) return false;
  const parsed = candidates.map((candidate) => ({ id: candidate.id, criteria: JSON.parse(candidate.criteria) as CriteriaAlternative[] }));
  const attachments = parsed.some((candidate) => needsAttachment(candidate.criteria)) ? await attachedTo(client, written) : new Map<string, string[]>();
  const events: { subscription: string; focus: (typeof written)[number] }[] = [];
  for (const candidate of parsed) {
    for (const version of written) {
      const attached = version.compartment ? (attachments.get(version.compartment) ?? []) : [];
      if (matchesCriteria(candidate.criteria, version.resourceType, version.index, attached)) events.push({ subscription: candidate.id, focus: version });
    }
  }
  if (events.length === 0) return false;
  await client.query(
    `INSERT INTO subscription_event (subscription, focus_type, focus_id, focus_version)
     SELECT e.subscription, e.focus_type, e.focus_id, e.focus_version
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS e(subscription, focus_type, focus_id, focus_version, k) ORDER BY e.k`,
    [events.map((e) => e.subscription), events.map((e) => e.focus.resourceType), events.map((e) => e.focus.id), events.map((e) => e.focus.versionId)],
    { prepare: 'subscription-events-record' },
  );
  return true;
}

/** Per database handle, whether an announcement is under way and whether another was asked for meanwhile. */
const announcing = new WeakMap<SqlClient, { again: boolean }>();

/**
 * Wakes the delivery workers (they LISTEN on SUBSCRIPTION_CHANNEL) after the commit of a write
 * that recorded events. Not in the write's transaction: a NOTIFY there takes PostgreSQL's one
 * notify lock at commit and holds it through the WAL flush, so every such write's commit (and the
 * counter locks held to it) would wait for the others'. One announcement at a time per handle;
 * those asked for meanwhile make one more. A lost one costs a poll interval, not an event.
 */
export function announceSubscriptionEvents(db: SqlClient): void {
  const under = announcing.get(db);
  if (under) {
    under.again = true;
    return;
  }
  const state = { again: false };
  announcing.set(db, state);
  void (async () => {
    try {
      do {
        state.again = false;
        await db.query(`SELECT pg_notify($1, '')`, [SUBSCRIPTION_CHANNEL]);
      } while (state.again);
    } catch {
      // The database went away (closing, or lost): the workers' poll finds the events.
    } finally {
      announcing.delete(db);
    }
  })();
}

/** The primary-care organizations (`Organization/x`) of the patients the versions are about, from the Patients' index. */
async function attachedTo(client: SqlClient, versions: readonly { compartment: string | null }[]): Promise<Map<string, string[]>> {
  const patients = [...new Set(versions.flatMap((v) => (v.compartment ? [v.compartment] : [])))];
  if (patients.length === 0) return new Map();
  const rows = await client.query<{ patient: string; organization: string }>(
    `SELECT id AS patient, target_type || '/' || target_id AS organization FROM search_reference
     WHERE resource_type = 'Patient' AND id = ANY($1::text[]) AND code = 'general-practitioner' AND target_type = 'Organization'`,
    [patients],
  );
  const found = new Map<string, string[]>();
  for (const row of rows) found.set(row.patient, [...(found.get(row.patient) ?? []), row.organization]);
  return found;
}

/**
 * The subscriptions of the caller's party (its organization): registered, their status and
 * events read; another party's are, to the caller, not there. The delivery worker (the
 * platform's `subscriptionDeliveryAccess`) leases and settles everyone's.
 */
export class Subscriptions {
  constructor(
    private readonly client: SqlClient,
    private readonly access: AccessPolicy,
  ) {}

  /** Stores (or replaces, for an update) a registration; the counter and outbox of an existing one are kept. */
  async register(registration: SubscriptionRegistration): Promise<void> {
    const owner = this.ownerParty();
    const r = registration;
    const [existing] = await this.client.query<{ owner_party: string }>(`SELECT owner_party FROM subscription WHERE id = $1 FOR UPDATE`, [r.id]);
    if (existing && existing.owner_party !== owner && !this.access.unrestricted) throw notFound(`Subscription/${r.id} is not known`);
    await this.client.query(
      `INSERT INTO subscription (id, topic, resource_types, criteria, channel, endpoint, headers, signing_secret, payload, heartbeat_seconds, max_count, owner_party, owner, status)
       VALUES ($1, $2, $3::text[], $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (id) DO UPDATE SET topic = EXCLUDED.topic, resource_types = EXCLUDED.resource_types, criteria = EXCLUDED.criteria, channel = EXCLUDED.channel,
         endpoint = EXCLUDED.endpoint, headers = EXCLUDED.headers, signing_secret = EXCLUDED.signing_secret, payload = EXCLUDED.payload,
         heartbeat_seconds = EXCLUDED.heartbeat_seconds, max_count = EXCLUDED.max_count, status = EXCLUDED.status, failures = 0, next_attempt_at = now()`,
      [
        r.id,
        r.topic,
        [...new Set(r.criteria.map((c) => c.resourceType))],
        JSON.stringify(r.criteria),
        r.channel,
        r.endpoint,
        JSON.stringify(r.headers),
        r.signingSecret,
        r.payload,
        r.heartbeatSeconds,
        r.maxCount,
        existing?.owner_party ?? owner,
        r.owner,
        r.status,
      ],
    );
    await this.client.query(`INSERT INTO subscription_counter (subscription) VALUES ($1) ON CONFLICT DO NOTHING`, [r.id]);
    await this.client.query(`SELECT pg_notify($1, '')`, [SUBSCRIPTION_CHANNEL]);
  }

  /** The state of `id`, for its owner's party (or the platform); any other is a 404. */
  async state(id: string): Promise<SubscriptionState> {
    const params: unknown[] = [id];
    const mine = this.access.unrestricted ? '' : ` AND s.owner_party = $2`;
    if (!this.access.unrestricted) params.push(this.ownerParty());
    const [row] = await this.client.query<SubscriptionRow>(`SELECT ${STATE_COLUMNS} FROM subscription s WHERE s.id = $1 AND ${LIVE}${mine}`, params);
    if (!row) throw notFound(`Subscription/${id} is not known`);
    return toState(row);
  }

  /** Events of `id` numbered `since`..`until` (inclusive), oldest first, at most `limit`. */
  async events(id: string, range: { since?: number; until?: number; limit: number; state?: SubscriptionEvent['state'] }): Promise<SubscriptionEvent[]> {
    await this.state(id);
    const rows = await this.client.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM subscription_event e WHERE e.subscription = $1 AND e.number >= $2 AND e.number <= $3 AND ($4::text IS NULL OR e.state = $4)
       ORDER BY e.number LIMIT ${Math.trunc(range.limit)}`,
      [id, range.since ?? 1, range.until ?? Number.MAX_SAFE_INTEGER, range.state ?? null],
    );
    return rows.map(toEvent);
  }

  /** Keeps a websocket binding token (its digest) for `id` until `expires`. */
  async bindingToken(id: string, tokenHash: string, expires: string): Promise<void> {
    await this.state(id);
    await this.client.query(`INSERT INTO subscription_binding (token_hash, subscription, expires_at) VALUES ($1, $2, $3::timestamptz)`, [tokenHash, id, expires]);
  }

  /** The live websocket subscription a binding token names (used up), if it has not expired. */
  async redeemBinding(tokenHash: string): Promise<string | undefined> {
    this.requireDelivery();
    const [row] = await this.client.query<{ subscription: string }>(
      `DELETE FROM subscription_binding b WHERE b.token_hash = $1 AND b.expires_at > now()
         AND EXISTS (SELECT 1 FROM subscription s WHERE s.id = b.subscription AND s.channel = 'websocket' AND ${LIVE}) RETURNING b.subscription`,
      [tokenHash],
    );
    return row?.subscription;
  }

  /**
   * Numbers the events committed since the last call, per subscription in `seq` order, after the
   * counter's last number. Run in a transaction (Repository.transaction): the advisory lock, held
   * to its end, keeps another process from numbering the same events from an older snapshot.
   * Anyone may ask it (it discloses nothing): `$status` and `$events` do, so they count and list
   * every committed event, not only those the worker has numbered by then.
   */
  async numberFresh(): Promise<void> {
    await this.client.query(`SELECT pg_advisory_xact_lock(${NUMBERING_LOCK})`);
    await this.client.query(
      `WITH fresh AS (SELECT seq, subscription, row_number() OVER (PARTITION BY subscription ORDER BY seq) AS k FROM subscription_event WHERE number IS NULL),
         counts AS (SELECT subscription, count(*) AS n FROM fresh GROUP BY subscription),
         bumped AS (UPDATE subscription_counter c SET events = c.events + counts.n FROM counts WHERE c.subscription = counts.subscription
           RETURNING c.subscription, c.events - counts.n AS base)
       UPDATE subscription_event e SET number = b.base + f.k FROM fresh f JOIN bumped b USING (subscription) WHERE e.seq = f.seq`,
      [],
      { prepare: 'subscription-events-number' },
    );
  }

  /**
   * Leases, for `leaseSeconds`, up to `limit` subscriptions with work due: a rest-hook handshake,
   * pending events whose retry time has come, or a heartbeat; websocket ones only among `bound`
   * (those with a socket in this process). A lease keeps other workers off until it ends.
   */
  async leaseDue(options: { limit: number; leaseSeconds: number; bound: readonly string[] }): Promise<DueSubscription[]> {
    this.requireDelivery();
    const rows = await this.client.query<SubscriptionRow & { handshake: boolean; heartbeat: boolean }>(
      `WITH due AS (
         SELECT s.id, s.status = 'requested' AS handshake,
           (s.heartbeat_seconds IS NOT NULL AND s.status = 'active' AND coalesce(s.last_sent_at, s.created_at) + make_interval(secs => s.heartbeat_seconds) <= now()) AS heartbeat
         FROM subscription s
         WHERE s.status <> 'off' AND (s.lease_until IS NULL OR s.lease_until < now()) AND ${LIVE}
           AND (s.channel = 'rest-hook' OR s.id = ANY($2::text[]))
           AND (s.next_attempt_at <= now() OR s.channel = 'websocket')
           AND (s.status = 'requested'
             OR EXISTS (SELECT 1 FROM subscription_event e WHERE e.subscription = s.id AND e.state = 'pending' AND e.number IS NOT NULL)
             OR (s.heartbeat_seconds IS NOT NULL AND s.status = 'active' AND coalesce(s.last_sent_at, s.created_at) + make_interval(secs => s.heartbeat_seconds) <= now()))
         ORDER BY s.next_attempt_at LIMIT ${Math.trunc(options.limit)} FOR NO KEY UPDATE SKIP LOCKED)
       UPDATE subscription s SET lease_until = now() + make_interval(secs => $1) FROM due WHERE s.id = due.id
       RETURNING ${STATE_COLUMNS}, due.handshake, due.heartbeat`,
      [options.leaseSeconds, options.bound],
    );
    if (rows.length === 0) return [];
    // Every leased subscription's first pending events (up to its max count) in one statement.
    const pending = await this.client.query<EventRow & { subscription: string }>(
      `SELECT l.id AS subscription, e.* FROM unnest($1::text[], $2::int[]) AS l(id, max_count)
       CROSS JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM subscription_event e WHERE e.subscription = l.id AND e.state = 'pending' AND e.number IS NOT NULL ORDER BY e.number LIMIT l.max_count) e`,
      [rows.map((row) => row.id), rows.map((row) => Number(row.max_count))],
    );
    return rows.map((row) => ({
      ...toState(row),
      handshake: row.handshake,
      heartbeat: row.heartbeat,
      pending: pending.filter((event) => event.subscription === row.id).map(toEvent),
    }));
  }

  /** The subscriber took a notification: its events are delivered, the subscription active, the lease ended. Returns the status it changed to, if it changed. */
  async delivered(id: string, numbers: readonly number[]): Promise<SubscriptionStatusCode | undefined> {
    this.requireDelivery();
    return this.settle(
      id,
      `status = CASE WHEN s.status = 'off' THEN s.status ELSE 'active' END, failures = 0, last_error = NULL, next_attempt_at = now(), last_sent_at = now()`,
      [numbers],
      `WITH taken AS (UPDATE subscription_event SET state = 'delivered', delivered_at = now() WHERE subscription = $1 AND number = ANY($2::bigint[]) AND state = 'pending')`,
    );
  }

  /**
   * Updates `id`'s row with `assignments` (parameters from $2), after `before` (a WITH clause, in
   * the same statement), and ends its lease; returns its new status when it changed. The row is
   * locked FOR NO KEY UPDATE, which lets writers' events (their foreign key's share lock) in meanwhile.
   */
  private async settle(id: string, assignments: string, values: unknown[], before = ''): Promise<SubscriptionStatusCode | undefined> {
    const [row] = await this.client.query<{ before: SubscriptionStatusCode; after: SubscriptionStatusCode }>(
      `${before} UPDATE subscription s SET ${assignments}, lease_until = NULL FROM (SELECT status FROM subscription WHERE id = $1 FOR NO KEY UPDATE) o
       WHERE s.id = $1 RETURNING o.status AS before, s.status AS after`,
      [id, ...values],
    );
    return row && row.before !== row.after ? row.after : undefined;
  }

  /**
   * A notification was not taken: its events count an attempt, and those tried `maxAttempts`
   * times go to the dead-letter list (state `dead`, kept); the subscription retries after
   * `retryMs` and turns `error` once anything is dead-lettered or its handshake keeps failing.
   */
  async failed(id: string, numbers: readonly number[], error: string, options: { maxAttempts: number; retryMs: number }): Promise<SubscriptionStatusCode | undefined> {
    this.requireDelivery();
    const [dead] = await this.client.query<{ n: string }>(
      `WITH tried AS (UPDATE subscription_event SET attempts = attempts + 1, last_error = $3,
         state = CASE WHEN attempts + 1 >= $4 THEN 'dead' ELSE state END
         WHERE subscription = $1 AND number = ANY($2::bigint[]) AND state = 'pending' RETURNING state)
       SELECT count(*) FILTER (WHERE state = 'dead')::text AS n FROM tried`,
      [id, numbers, error.slice(0, 500), options.maxAttempts],
    );
    return this.settle(
      id,
      `failures = s.failures + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3::double precision / 1000),
       status = CASE WHEN s.status = 'off' THEN s.status WHEN $4 OR s.failures + 1 >= $5 THEN 'error' ELSE s.status END`,
      [error.slice(0, 500), options.retryMs, Number(dead?.n ?? 0) > 0, options.maxAttempts],
    );
  }

  /** Ends a lease with nothing sent (a websocket subscription whose socket left). */
  async release(id: string): Promise<void> {
    this.requireDelivery();
    await this.client.query(`UPDATE subscription SET lease_until = NULL WHERE id = $1`, [id]);
  }

  private ownerParty(): string {
    const party = this.access.author;
    if (!party?.startsWith('Organization/') && !this.access.unrestricted) throw forbidden(`Subscriptions are an organization's: a clinician or system acting for one`);
    return party ?? 'platform';
  }

  private requireDelivery(): void {
    if (!this.access.unrestricted) throw forbidden(`Only the platform's delivery worker delivers notifications`);
  }
}

function toState(row: SubscriptionRow): SubscriptionState {
  return {
    id: row.id,
    topic: row.topic,
    criteria: JSON.parse(row.criteria) as CriteriaAlternative[],
    channel: row.channel,
    endpoint: row.endpoint,
    headers: JSON.parse(row.headers) as string[],
    signingSecret: row.signing_secret,
    payload: row.payload,
    heartbeatSeconds: row.heartbeat_seconds === null ? null : Number(row.heartbeat_seconds),
    maxCount: Number(row.max_count),
    owner: row.owner,
    status: row.status,
    eventsSinceStart: Number(row.events_since_start),
    failures: Number(row.failures),
    lastError: row.last_error,
    deadLetters: Number(row.dead_letters),
    lastSentAt: row.last_sent_at,
  };
}

function toEvent(row: EventRow): SubscriptionEvent {
  return {
    number: Number(row.number),
    focusType: row.focus_type,
    focusId: row.focus_id,
    focusVersion: row.focus_version,
    occurred: row.occurred,
    state: row.state,
    attempts: Number(row.attempts),
    lastError: row.last_error,
  };
}
