import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { clientEvents, ensurePublicClient, getClient } from '../../src/access/clients.js';
import { AccessTokenError } from '../../src/access/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { WEB_APP_CSP, webAppClient } from '../../src/http/web-app.js';
import type { Database } from '../../src/store/driver.js';
import { testDrivers } from '../support/database.js';

for (const driver of testDrivers()) describe(`the citizen app at / (${driver.name})`, { skip: driver.skip }, () => {
  let db: Database;
  let app: FastifyInstance;
  let root: string;
  let base: string;

  before(async () => {
    db = await driver.open();
    root = await mkdtemp(join(tmpdir(), 'densaulyq-web-root-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<!doctype html><title>app</title>');
    await writeFile(join(root, 'assets', 'index-AbC123.js'), 'console.log(1)');
    app = await buildApp({
      db,
      config: { bodyLimit: 1 << 20, maxBundleEntries: 100 },
      verifyToken: async () => {
        throw new AccessTokenError('no tokens here');
      },
      webRoot: root,
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await app?.close();
    await db?.close();
    await rm(root, { recursive: true, force: true });
  });

  const html = { accept: 'text/html,application/xhtml+xml' };

  it('serves index.html uncached and hashed assets for a year, both under the app’s CSP', async () => {
    const page = await fetch(`${base}/`, { headers: html });
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<!doctype html><title>app</title>');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.equal(page.headers.get('content-security-policy'), WEB_APP_CSP);
    const asset = await fetch(`${base}/assets/index-AbC123.js`);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(asset.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    // The viewer's WebAssembly decoders compile; script eval stays refused.
    assert.match(WEB_APP_CSP, /script-src 'self' 'wasm-unsafe-eval';/);
    assert.doesNotMatch(WEB_APP_CSP, /'unsafe-eval'/);
  });

  it('leaves the API answering its refusals as OperationOutcomes beside the app', async () => {
    const variants: Record<string, string>[] = [{}, { accept: '*/*' }, { authorization: 'Bearer not-a-token' }];
    for (const headers of variants) {
      const refused = await fetch(`${base}/fhir/Patient`, { headers });
      assert.equal(refused.status, 401);
      const body = (await refused.json()) as { resourceType?: string; issue?: { details?: { coding?: { code?: string }[] } }[] };
      assert.equal(body.resourceType, 'OperationOutcome', JSON.stringify(body));
      assert.match(body.issue?.[0]?.details?.coding?.[0]?.code ?? '', /^(login-required|invalid-token)$/);
    }
  });

  it('opens an app path from a link or a reload, but never answers the API’s paths with the app', async () => {
    const deep = await fetch(`${base}/results/718-7?from=2024`, { headers: html });
    assert.equal(deep.status, 200);
    assert.equal(deep.headers.get('cache-control'), 'no-cache');
    assert.equal(deep.headers.get('content-security-policy'), WEB_APP_CSP);
    for (const path of ['/fhir/Nothing/1', '/auth/nothing', '/shl/nothing/file/x', '/.well-known/nothing']) {
      const response = await fetch(`${base}${path}`, { headers: html });
      assert.notEqual(await response.text(), '<!doctype html><title>app</title>', path);
    }
    const script = await fetch(`${base}/assets/missing.js`);
    assert.equal(script.status, 404, 'a missing asset is a 404, not the page');
    assert.equal(((await script.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
  });

  it('keeps the app registered as a public PKCE client for the origin, once per change', async () => {
    const first = await ensurePublicClient(db, webAppClient('http://localhost:8080'));
    assert.equal(first.token_endpoint_auth_method, 'none');
    assert.equal(first.registration_state, 'approved', 'acting for no organization, nobody has to approve it');
    assert.equal(first.client_secret, undefined);
    await ensurePublicClient(db, webAppClient('http://localhost:8080'));
    assert.equal((await clientEvents(db, 'densaulyq-web')).length, 1, 'a restart records nothing new');
    await ensurePublicClient(db, webAppClient('https://densaulyq.example.kz'));
    assert.deepEqual((await getClient(db, 'densaulyq-web'))?.redirect_uris, ['https://densaulyq.example.kz/callback']);
  });
});
