import { createHmac } from 'node:crypto';
import type { Subscription } from '@medplum/fhirtypes';
import type { AccessContext } from '../access/context.js';
import { DEFAULT_DELIVERY, type DeliverySettings } from '../config.js';
import { accessPolicy, subscriptionDeliveryAccess } from '../access/door.js';
import { errorMessage } from '../fhir/outcome.js';
import { parseStored } from '../store/stored-json.js';
import type { Database } from '../store/driver.js';
import { Repository } from '../store/repository.js';
import { type DueSubscription, SUBSCRIPTION_CHANNEL, type SubscriptionEvent, type SubscriptionState, type SubscriptionStatusCode } from '../store/subscriptions.js';
import { SIGNATURE_HEADER } from './backport.js';
import { type NotificationType, type NotifiedEvent, notificationBundle, withFocus } from './notification.js';

/** A socket a websocket subscriber bound (the `ws` WebSocket's part the worker uses). */
export interface NotificationSocket {
  send(text: string): void;
  readonly readyState: number;
}

const OPEN = 1;
const BATCH = 20;

/**
 * The delivery worker (https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/channels.html):
 * reads the outbox (src/store/subscriptions.ts) and sends notification Bundles: to rest-hook
 * endpoints by POST (handshake first, heartbeats, events in order, signed by HMAC-SHA256 when the
 * Subscription gave a secret), and to websocket subscribers bound in this process. An event is
 * marked delivered only after a 2xx (or a websocket send), so delivery is at-least-once across
 * restarts; the subscriber dedupes by event number. Failures are retried with exponential
 * back-off; an event tried `maxAttempts` times is dead-lettered and the subscription is `error`.
 */
export class SubscriptionDelivery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private again = false;
  private roundStarted = 0;
  private listening = false;
  private readonly sockets = new Map<string, Set<NotificationSocket>>();

  constructor(
    private readonly db: Database,
    private readonly baseUrl: string,
    private readonly settings: DeliverySettings = DEFAULT_DELIVERY,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (!this.listening) {
      this.listening = true;
      // Woken on each commit that recorded events; the poll still finds retries due and what a lost connection missed.
      const wake = () => this.schedule(this.batchGap());
      void this.db.listen(SUBSCRIPTION_CHANNEL, { notify: wake, live: wake }).catch((error: unknown) => this.report(error));
    }
    this.schedule(0);
  }

  /** Stops looking at the outbox and waits for the round under way: what it did not settle stays pending. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** A websocket subscriber bound `socket` to subscription `id`: sends the handshake, then its notifications from the next round on. */
  async bind(id: string, socket: NotificationSocket): Promise<void> {
    const state = await this.repository().subscriptions.state(id);
    socket.send(JSON.stringify(notificationBundle(this.baseUrl, state, 'handshake', [])));
    const bound = this.sockets.get(id) ?? new Set();
    bound.add(socket);
    this.sockets.set(id, bound);
    this.schedule(0);
  }

  unbind(id: string, socket: NotificationSocket): void {
    const bound = this.sockets.get(id);
    bound?.delete(socket);
    if (bound?.size === 0) this.sockets.delete(id);
  }

  private report(error: unknown): void {
    this.onError(error instanceof Error ? error : new Error(String(error)));
  }

  private repository(): Repository {
    return new Repository(this.db, subscriptionDeliveryAccess());
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  /** How long until the next round may start: `batchMs` after the last one started. */
  private batchGap(): number {
    return Math.max(0, this.roundStarted + this.settings.batchMs - Date.now());
  }

  /** Runs one round at a time; a wake-up during a round runs the next at once. */
  private async tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.roundStarted = Date.now();
    this.running = this.round().then(
      (busy) => {
        this.running = undefined;
        const again = busy || this.again;
        this.again = false;
        this.schedule(again ? this.batchGap() : this.settings.pollMs);
      },
      (error: unknown) => {
        this.running = undefined;
        this.report(error);
        this.schedule(this.settings.pollMs);
      },
    );
    await this.running;
  }

  /** One look at the outbox; true when there was work (look again at once). */
  private async round(): Promise<boolean> {
    // A lease outlasts a POST's timeout, so a slow subscriber is not sent the same events by two workers at once;
    // after a crash, another process takes the subscription over once it ends.
    const leaseSeconds = 2 * Math.ceil(this.settings.timeoutMs / 1000) + 5;
    await this.repository().transaction((repo) => repo.subscriptions.numberFresh());
    const due = await this.repository().subscriptions.leaseDue({ limit: BATCH, leaseSeconds, bound: [...this.sockets.keys()] });
    await Promise.all(due.map((subscription) => this.serve(subscription).catch((error: unknown) => this.report(error))));
    return due.length > 0;
  }

  private async serve(due: DueSubscription): Promise<void> {
    const subscriptions = this.repository().subscriptions;
    if (due.channel === 'websocket') {
      const sockets = [...(this.sockets.get(due.id) ?? [])].filter((s) => s.readyState === OPEN);
      if (sockets.length === 0) return subscriptions.release(due.id);
      const type = due.pending.length > 0 ? 'event-notification' : 'heartbeat';
      const text = JSON.stringify(notificationBundle(this.baseUrl, due, type, await this.contents(due, due.pending)));
      for (const socket of sockets) socket.send(text);
      return this.statusChanged(due.id, await subscriptions.delivered(due.id, due.pending.map((e) => e.number)));
    }
    const [type, events]: [NotificationType, SubscriptionEvent[]] = due.handshake ? ['handshake', []] : due.pending.length > 0 ? ['event-notification', due.pending] : ['heartbeat', []];
    const bundle = notificationBundle(this.baseUrl, due.handshake ? { ...due, status: 'requested' } : due, type, await this.contents(due, events));
    const numbers = events.map((e) => e.number);
    const failure = await this.post(due, JSON.stringify(bundle));
    if (failure === undefined) return this.statusChanged(due.id, await subscriptions.delivered(due.id, numbers));
    const retryMs = Math.min(this.settings.retryMaxMs, this.settings.retryBaseMs * 2 ** Math.min(due.failures, 30));
    await this.statusChanged(due.id, await subscriptions.failed(due.id, numbers, failure, { maxAttempts: this.settings.maxAttempts, retryMs }));
  }

  /** The Subscription resource shows the status delivery gave it (active after the handshake, error after failures): a new version. */
  private async statusChanged(id: string, status: SubscriptionStatusCode | undefined): Promise<void> {
    if (!status) return;
    await this.repository().transaction(async (repo) => {
      const subscription = parseStored<Subscription>(await repo.read('Subscription', id));
      if (subscription.status !== status) await repo.update({ ...subscription, id, status });
    });
  }

  /** The events with their focus as the subscriber may see it: read as them, through the door. */
  private contents(state: SubscriptionState, events: readonly SubscriptionEvent[]): Promise<NotifiedEvent[]> {
    const subscriber = new Repository(this.db, accessPolicy(JSON.parse(state.owner) as AccessContext));
    return withFocus(subscriber, state.payload, events);
  }

  /** POSTs a notification; undefined when the subscriber answered 2xx, else why not. */
  private async post(state: SubscriptionState, body: string): Promise<string | undefined> {
    const headers: Record<string, string> = { 'content-type': 'application/fhir+json' };
    for (const line of state.headers) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    if (state.signingSecret) headers[SIGNATURE_HEADER] = `sha256=${createHmac('sha256', state.signingSecret).update(body).digest('hex')}`;
    try {
      const response = await fetch(state.endpoint!, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.settings.timeoutMs), redirect: 'manual' });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 300 ? undefined : `The endpoint answered ${response.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return cause ? `The endpoint could not be reached (${cause})` : errorMessage(error);
    }
  }
}
