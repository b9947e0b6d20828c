import type { ChangeListener, Database, SqlClient } from '../store/driver.js';
import { ACCESS_CHANNEL } from '../store/access-notifications.js';

/**
 * The longest a server acts on a cached fact after it changed: a revoked token or a withdrawn
 * grant of clinical access is refused within this time even if its notification were lost
 * without the connection dropping. Notifications make it milliseconds in practice.
 */
export const ACCESS_CACHE_STALE_MS = 5000;
/** Entries kept at most; past it the cache starts over (a flood of tokens cannot grow memory). */
const MAX_ENTRIES = 100_000;

interface Entry<T> {
  value: T;
  at: number;
}

/**
 * What the door asks the database on every request, answered from memory: whether an access
 * token is still on record (not revoked), and whether an administrator holds clinical access.
 * Each process LISTENs on ACCESS_CHANNEL; a notification drops the entry it names, and while the
 * listening connection is down nothing is served from the cache.
 */
class AccessFactsCache implements ChangeListener {
  private listening = false;
  /** Bumped by every notification: an answer read from the database across one is not cached. */
  private epoch = 0;
  private readonly tokens = new Map<string, Entry<boolean>>();
  private readonly accounts = new Map<string, Entry<boolean>>();

  notify(payload: string): void {
    this.epoch++;
    const colon = payload.indexOf(':');
    const [kind, id] = [payload.slice(0, colon), payload.slice(colon + 1)];
    if (kind === 'token') this.tokens.delete(id);
    else if (kind === 'account') this.accounts.delete(id);
  }

  live(listening: boolean): void {
    this.listening = listening;
    this.forget();
  }

  /** Drops the entry of token `jti`, or every entry; any answer being read meanwhile is not kept. */
  forget(jti?: string): void {
    this.epoch++;
    if (jti !== undefined) {
      this.tokens.delete(jti);
      return;
    }
    this.tokens.clear();
    this.accounts.clear();
  }

  /** Whether the access token `jti` is on record, not revoked; `read` asks the database. */
  tokenLive(jti: string, read: () => Promise<boolean>): Promise<boolean> {
    return this.cached(this.tokens, jti, read);
  }

  /** Whether the account `id` is an administrator granted access to clinical data; `read` asks the database. */
  clinicalAccess(id: string, read: () => Promise<boolean>): Promise<boolean> {
    return this.cached(this.accounts, id, read);
  }

  private async cached(entries: Map<string, Entry<boolean>>, key: string, read: () => Promise<boolean>): Promise<boolean> {
    const now = Date.now();
    const entry = entries.get(key);
    if (this.listening && entry && now - entry.at < ACCESS_CACHE_STALE_MS) return entry.value;
    const epoch = this.epoch;
    const value = await read();
    if (this.listening && epoch === this.epoch) {
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(key, { value, at: now });
    }
    return value;
  }
}

const caches = new WeakMap<Database, AccessFactsCache>();

/** The process's cache of access facts for `db`, listening from its first use. */
export function accessFacts(db: Database): AccessFactsCache {
  let cache = caches.get(db);
  if (!cache) {
    const created = new AccessFactsCache();
    caches.set(db, created);
    // Until the first LISTEN succeeds every answer comes from the database.
    void db.listen(ACCESS_CHANNEL, created).catch(() => undefined);
    cache = created;
  }
  return cache;
}

/**
 * After this process revoked tokens (their records deleted; `jti` when it was one): what it cached is dropped at once,
 * so the answer to the revocation, and every request this process serves after it, already act
 * on it; other processes hear of it by notification. A process that caches nothing is left alone.
 */
export function forgetAccessFacts(db: SqlClient, jti?: string): void {
  caches.get(db as Database)?.forget(jti);
}
