import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Database, SqlClient } from '../store/driver.js';
import { forgetAccessFacts } from './access-cache.js';
import { providerMetadata, type RegisteredClient } from './clients.js';

/**
 * oidc-provider's storage adapter (https://github.com/panva/node-oidc-provider/blob/v8.x/example/my_adapter.js)
 * over the project's Database: one row per model instance in `oauth_payload`, keyed by
 * (kind, id). Clients come from the client registry (`oauth_client`), read-only here.
 * Expired rows are never returned; `pruneExpired` deletes them.
 */
export function adapterFactory(db: Database): new (name: string) => Adapter {
  return class DatabaseAdapter implements Adapter {
    constructor(private readonly name: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.name === 'Client') throw new Error('clients are registered through the client registry');
      await db.query(
        `INSERT INTO oauth_payload (kind, id, payload, grant_id, user_code, uid, expires_at)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6, CASE WHEN $7::integer IS NULL THEN NULL ELSE now() + make_interval(secs => $7::integer) END)
         ON CONFLICT (kind, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
           user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, expires_at = EXCLUDED.expires_at`,
        [this.name, id, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, expiresIn ? Math.ceil(expiresIn) : null],
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.name === 'Client') return findClientMetadata(db, id);
      return findPayload(db, this.name, `id = $2`, id);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return findPayload(db, this.name, `user_code = $2`, userCode);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return findPayload(db, this.name, `uid = $2`, uid);
    }

    async consume(id: string): Promise<void> {
      await db.query(
        `UPDATE oauth_payload SET consumed_at = now(),
           payload = jsonb_set(payload, '{consumed}', to_jsonb(floor(extract(epoch FROM now()))::bigint))
         WHERE kind = $1 AND id = $2`,
        [this.name, id],
      );
    }

    async destroy(id: string): Promise<void> {
      await deleteRecord(db, this.name, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      // Every kind bound to the grant: codes, refresh tokens and the JWT access token records.
      await db.query(`DELETE FROM oauth_payload WHERE grant_id = $1`, [grantId]);
      // This process acts on it at once; the others hear of it by notification.
      forgetAccessFacts(db);
    }
  };
}

async function findPayload(db: SqlClient, kind: string, where: string, value: string): Promise<AdapterPayload | undefined> {
  const rows = await db.query<{ payload: AdapterPayload | string }>(
    `SELECT payload FROM oauth_payload WHERE kind = $1 AND ${where} AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
    [kind, value],
  );
  const row = rows[0];
  if (!row) return undefined;
  return typeof row.payload === 'string' ? (JSON.parse(row.payload) as AdapterPayload) : row.payload;
}

async function findClientMetadata(db: SqlClient, clientId: string): Promise<AdapterPayload | undefined> {
  const rows = await db.query<{ metadata: AdapterPayload | string }>(`SELECT metadata FROM oauth_client WHERE client_id = $1`, [clientId]);
  const row = rows[0];
  if (!row) return undefined;
  const stored = typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as RegisteredClient) : (row.metadata as RegisteredClient);
  return providerMetadata(stored);
}

/** Stores a record of our own (launch context bound to a grant, upstream login state, issued JWT ids) in the same table. */
export async function putRecord(db: SqlClient, kind: string, id: string, payload: object, ttlSeconds: number, grantId?: string): Promise<void> {
  await db.query(
    `INSERT INTO oauth_payload (kind, id, payload, grant_id, expires_at) VALUES ($1, $2, $3::jsonb, $4, now() + make_interval(secs => $5::integer))
     ON CONFLICT (kind, id) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, expires_at = EXCLUDED.expires_at`,
    [kind, id, JSON.stringify(payload), grantId ?? null, Math.max(1, Math.ceil(ttlSeconds))],
  );
}

export async function getRecord<T>(db: SqlClient, kind: string, id: string): Promise<T | undefined> {
  return (await findPayload(db, kind, `id = $2`, id)) as T | undefined;
}

/** Reads and deletes a record in one statement, so a one-time value cannot be used twice. */
export async function takeRecord<T>(db: SqlClient, kind: string, id: string): Promise<T | undefined> {
  const rows = await db.query<{ payload: T | string; live: boolean }>(
    `DELETE FROM oauth_payload WHERE kind = $1 AND id = $2 RETURNING payload, (expires_at IS NULL OR expires_at > now()) AS live`,
    [kind, id],
  );
  const row = rows[0];
  if (!row || !row.live) return undefined;
  return typeof row.payload === 'string' ? (JSON.parse(row.payload) as T) : row.payload;
}

export async function deleteRecord(db: SqlClient, kind: string, id: string): Promise<boolean> {
  const rows = await db.query(`DELETE FROM oauth_payload WHERE kind = $1 AND id = $2 RETURNING id`, [kind, id]);
  return rows.length > 0;
}

/** Deletes expired rows; run now and then. */
export async function pruneExpired(db: SqlClient): Promise<void> {
  await db.query(`DELETE FROM oauth_payload WHERE expires_at < now()`);
  await db.query(`DELETE FROM smart_launch WHERE expires_at < now()`);
}
