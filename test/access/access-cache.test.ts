/**
 * The door asks nothing of the database on the hot path (issue 11): a token's revocation and an
 * administrator's clinical access are answered from memory, dropped by notification when they
 * change. What is shown here: a revocation and a withdrawn grant take effect at once (the
 * notification); with notifications silenced they still take effect within ACCESS_CACHE_STALE_MS
 * (the bound), having been served from memory until then (so the cache is used); a revocation
 * this process makes needs no notification to take effect in it; and while the listening
 * connection is down nothing is served from memory at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ACCESS_CACHE_STALE_MS } from '../../src/access/access-cache.js';
import { revokeAccessToken } from '../../src/access/tokens.js';
import { addUser } from '../../src/access/users.js';
import { testDrivers } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true, for at most `ms`; the time it took, or undefined. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started <= ms) {
    if (await probe()) return Date.now() - started;
    await sleep(25);
  }
  return undefined;
}

for (const driver of testDrivers()) describe(`access facts from memory, invalidated by notification (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let patient: string;
  before(async () => {
    server = await startTestServer(driver);
    const created = await server.fhir('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Cache' }] });
    assert.equal(created.status, 201);
    patient = (created.body as { id: string }).id;
  });
  after(() => server.close());

  const status = async (token: string) => (await server.fhir('GET', `Patient/${patient}`, undefined, { authorization: `Bearer ${token}` })).status;
  const jtiOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string }).jti;
  const newAdministrator = async () => {
    const user = await addUser(server.db, { username: `cache-admin-${Math.random().toString(36).slice(2)}`, role: 'administrator', clinicalAccess: true });
    return { user, token: await server.token({ sub: user.id, scope: 'user/*.cruds', role: 'administrator' }) };
  };
  const silenced = async <T>(work: () => Promise<T>): Promise<T> => {
    await server.db.query(`ALTER TABLE oauth_payload DISABLE TRIGGER oauth_payload_revoked`);
    await server.db.query(`ALTER TABLE app_user DISABLE TRIGGER app_user_changed`);
    try {
      return await work();
    } finally {
      await server.db.query(`ALTER TABLE oauth_payload ENABLE TRIGGER oauth_payload_revoked`);
      await server.db.query(`ALTER TABLE app_user ENABLE TRIGGER app_user_changed`);
    }
  };
  const revoke = (token: string) => server.db.query(`DELETE FROM oauth_payload WHERE kind = 'IssuedAccessToken' AND id = $1`, [jtiOf(token)]);

  test('a revoked token is refused at once: the notification drops it', async () => {
    const { token } = await newAdministrator();
    assert.equal(await status(token), 200);
    assert.equal(await status(token), 200);
    await revoke(token);
    const took = await within(1000, async () => (await status(token)) === 401);
    assert.ok(took !== undefined, 'refused within a second');
  });

  test('withdrawing clinical access takes effect at once: the account notification drops it', async () => {
    const { user, token } = await newAdministrator();
    assert.equal(await status(token), 200);
    await server.db.query(`UPDATE app_user SET clinical_access = false WHERE id = $1`, [user.id]);
    const took = await within(1000, async () => (await status(token)) !== 200);
    assert.ok(took !== undefined, 'no clinical data within a second');
  });

  test(`with notifications lost, a revoked token is served from memory, then refused within ${ACCESS_CACHE_STALE_MS} ms`, async () => {
    const { token } = await newAdministrator();
    assert.equal(await status(token), 200);
    const revokedAt = Date.now();
    const took = await silenced(async () => {
      await revoke(token);
      assert.equal(await status(token), 200, 'answered from memory: the database was not asked');
      return within(ACCESS_CACHE_STALE_MS + 1000, async () => (await status(token)) === 401);
    });
    assert.ok(took !== undefined, 'refused once the entry was stale');
    assert.ok(Date.now() - revokedAt <= ACCESS_CACHE_STALE_MS + 1000);
  });

  test('a token this process revokes is refused by it at once, before any notification', async () => {
    const { token } = await newAdministrator();
    assert.equal(await status(token), 200);
    await silenced(async () => {
      await revokeAccessToken(server.db, jtiOf(token));
      assert.equal(await status(token), 401, 'not served from memory by the process that revoked it');
    });
  });

  test('while the listening connection is down, every answer comes from the database', { skip: driver.name !== 'postgres' && 'PGlite listens in-process' }, async () => {
    const { token } = await newAdministrator();
    assert.equal(await status(token), 200);
    const ended = await server.db.query<{ ended: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`,
    );
    assert.ok(ended.length > 0 && ended.every((r) => r.ended), 'the listening connection was found and ended');
    await sleep(100);
    await silenced(async () => {
      await revoke(token);
      assert.equal(await status(token), 401, 'not served from memory while notifications may be missed');
    });
    // It listens again: a new token is cached, and its revocation is heard.
    const again = await newAdministrator();
    assert.ok(await within(5000, async () => {
      await status(again.token);
      return (await server.db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`)).length > 0;
    }), 'listening again');
    await revoke(again.token);
    assert.ok((await within(1000, async () => (await status(again.token)) === 401)) !== undefined);
  });
});
