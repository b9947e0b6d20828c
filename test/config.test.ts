import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { densaulyq } from './support/cli.js';

describe('configuration from the environment', () => {
  it('has working defaults for a first start', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.origin, 'http://localhost:8080');
    assert.equal(config.dbPoolSize, 16);
    assert.equal(config.demoPatients, 500);
    assert.deepEqual(config.hardening, { rateLimits: { perIp: 1200, perClient: 6000, login: 60 }, corsOrigins: [] });
    assert.equal(config.auditKeyFile, join(config.dataDir, 'audit', 'chain.key'));
  });

  it('reads every setting, an empty one counting as unset', () => {
    const config = loadConfig({
      PORT: '9000',
      DATA_DIR: '/srv/densaulyq',
      DB_POOL_SIZE: '4',
      DEMO_PATIENTS: '0',
      RATE_LIMIT_PER_MINUTE_IP: '0',
      CORS_ORIGINS: 'https://a.example, https://b.example:8443/',
      PUBLIC_ORIGIN: 'https://health.example/',
      DATABASE_URL: '',
    });
    assert.equal(config.port, 9000);
    assert.equal(config.dbPoolSize, 4);
    assert.equal(config.demoPatients, 0);
    assert.equal(config.hardening.rateLimits.perIp, 0);
    assert.deepEqual(config.hardening.corsOrigins, ['https://a.example', 'https://b.example:8443']);
    assert.equal(config.origin, 'https://health.example');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.auditAnchorDir, '/srv/densaulyq/audit/anchors');
  });

  const invalid: [name: string, value: string][] = [
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DB_POOL_SIZE', '0'],
    ['DEMO_PATIENTS', '-1'],
    ['BODY_LIMIT_MB', '1.5'],
    ['RATE_LIMIT_PER_MINUTE_LOGIN', 'lots'],
    ['AUDIT_ANCHOR_SECONDS', ' '],
    ['CORS_ORIGINS', 'https://a.example/app'],
    ['PUBLIC_ORIGIN', 'health.example'],
    ['PUBLIC_BASE_URL', 'ftp://health.example/fhir'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['LOG_LEVEL', 'verbose'],
  ];
  for (const [name, value] of invalid) {
    it(`refuses ${name}=${JSON.stringify(value)}, naming it`, () => {
      assert.throws(() => loadConfig({ [name]: value }), (error) => error instanceof ConfigError && error.message.includes(name));
    });
  }

  it('stops the command line before it starts, naming the setting', async () => {
    const result = await densaulyq(['serve'], { PORT: 'eighty' });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^Densaulyq cannot start: PORT must be an integer/);
    assert.doesNotMatch(result.stderr, /at loadConfig/);
  });
});
