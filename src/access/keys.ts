import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Database, SqlClient } from '../store/driver.js';

/**
 * The authorization server's keys, kept in the database so that every API process signs and
 * verifies with the same ones: an RS256 and an ES256 signing key (ID tokens, JWT access tokens)
 * and a secret for oidc-provider's signed cookies. Generated with jose on the first start, under
 * an advisory lock so two processes starting together agree on one set.
 */
export interface ServerKeys {
  /** Private JWKs with `kid`, `alg` and `use`, in the order oidc-provider prefers them (RS256 first). */
  signing: JWK[];
  /** Secrets for signing oidc-provider's cookies. */
  cookie: string[];
}

const KEY_LOCK = 726565;

export async function ensureServerKeys(db: Database): Promise<ServerKeys> {
  const existing = await loadServerKeys(db);
  if (existing.signing.length && existing.cookie.length) return existing;
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${KEY_LOCK})`);
    const again = await loadServerKeys(tx);
    if (!again.signing.some((k) => k.alg === 'RS256')) await insertKey(tx, 'signing', 'RS256', await newSigningKey('RS256'));
    if (!again.signing.some((k) => k.alg === 'ES256')) await insertKey(tx, 'signing', 'ES256', await newSigningKey('ES256'));
    if (!again.cookie.length) {
      const kid = `cookie-${randomBytes(8).toString('hex')}`;
      await insertKey(tx, 'cookie', 'HS256', { kty: 'oct', kid, k: randomBytes(32).toString('base64url') });
    }
    return loadServerKeys(tx);
  });
}

export async function loadServerKeys(db: SqlClient): Promise<ServerKeys> {
  const rows = await db.query<{ purpose: string; alg: string; private_jwk: JWK | string }>(
    `SELECT purpose, alg, private_jwk FROM signing_key ORDER BY created_at DESC, kid`,
  );
  const signing: JWK[] = [];
  const cookie: string[] = [];
  for (const row of rows) {
    const jwk = typeof row.private_jwk === 'string' ? (JSON.parse(row.private_jwk) as JWK) : row.private_jwk;
    if (row.purpose === 'signing') signing.push(jwk);
    else if (row.purpose === 'cookie' && jwk.k) cookie.push(jwk.k);
  }
  signing.sort((a, b) => (a.alg === 'RS256' ? 0 : 1) - (b.alg === 'RS256' ? 0 : 1));
  return { signing, cookie };
}

/** The public half of a private JWK. */
export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, k: _k, ...rest } = jwk;
  return rest;
}

async function newSigningKey(alg: 'RS256' | 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(8).toString('hex')}` };
}

async function insertKey(tx: SqlClient, purpose: string, alg: string, jwk: JWK): Promise<void> {
  await tx.query(`INSERT INTO signing_key (kid, purpose, alg, private_jwk) VALUES ($1, $2, $3, $4::jsonb)`, [jwk.kid, purpose, alg, JSON.stringify(jwk)]);
}
