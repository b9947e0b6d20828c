import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, loadConfig } from '../../src/config.js';
import { type MessageHandler, type MllpServer, startMllpServer } from '../../src/hl7v2/mllp-server.js';
import { frame, mllpClient } from './mllp-client.js';

/** Called when the handler takes a message: a test waits for it instead of guessing how long delivery takes. */
let taken: (() => void) | undefined;

/** Answers `ACK <message>`, after `wait <ms>` when the message says so, and fails on `fail`. */
const echo: MessageHandler = async (message) => {
  taken?.();
  const text = message.toString('utf8');
  const wait = /^wait (\d+)/.exec(text);
  if (wait) await sleep(Number(wait[1]));
  if (text === 'fail') throw new Error('handler fault');
  return Buffer.from(`ACK ${text}`);
};

async function listener(options: { maxMessageBytes?: number; tls?: { cert: Buffer; key: Buffer } } = {}) {
  const problems: string[] = [];
  const server = await startMllpServer({
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: options.maxMessageBytes ?? 1024,
    handler: echo,
    onProblem: (event) => problems.push(event),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return { server, problems };
}

describe('MLLP listener', () => {
  const servers: MllpServer[] = [];
  after(() => Promise.all(servers.map((s) => s.close())));

  it('answers several messages on one connection, in the order sent, even when a later one is quicker', async () => {
    const { server } = await listener();
    servers.push(server);
    const client = await mllpClient(server.port);
    await client.write(Buffer.concat([frame('wait 50 first'), frame('second'), frame('wait 10 third')]));
    assert.equal((await client.next()).toString(), 'ACK wait 50 first');
    assert.equal((await client.next()).toString(), 'ACK second');
    assert.equal((await client.next()).toString(), 'ACK wait 10 third');
    await client.send('fourth');
    assert.equal((await client.next()).toString(), 'ACK fourth');
    client.end();
  });

  it('joins a frame sent byte by byte, including an end block split from its CR', async () => {
    const { server } = await listener();
    servers.push(server);
    const client = await mllpClient(server.port);
    for (const byte of frame('MSH|^~\\&|pieces')) {
      await client.write(Buffer.of(byte));
      await sleep(1);
    }
    assert.equal((await client.next()).toString(), 'ACK MSH|^~\\&|pieces');
    client.end();
  });

  it('ignores bytes between frames, a lone end block inside one, and a frame abandoned by a new start block', async () => {
    const { server } = await listener();
    servers.push(server);
    const client = await mllpClient(server.port);
    await client.write(Buffer.concat([Buffer.from('noise\r\n'), frame('one'), Buffer.from([0x0d, 0x0a, 0x00]), frame('two')]));
    assert.equal((await client.next()).toString(), 'ACK one');
    assert.equal((await client.next()).toString(), 'ACK two');
    await client.write(Buffer.concat([Buffer.of(0x0b), Buffer.from('abandoned'), frame(Buffer.concat([Buffer.from('a'), Buffer.of(0x1c), Buffer.from('b')]))]));
    assert.deepEqual(await client.next(), Buffer.concat([Buffer.from('ACK a'), Buffer.of(0x1c), Buffer.from('b')]));
    client.end();
  });

  it('refuses a frame over the size limit by closing the connection, and goes on serving others', async () => {
    const { server, problems } = await listener({ maxMessageBytes: 100 });
    servers.push(server);
    const big = await mllpClient(server.port);
    await big.write(Buffer.concat([Buffer.of(0x0b), Buffer.alloc(60, 0x41)]));
    await big.write(Buffer.alloc(60, 0x41)).catch(() => undefined);
    await big.closed;
    assert.deepEqual(problems, ['frame-too-large']);
    const next = await mllpClient(server.port);
    await next.send('x'.repeat(100));
    assert.equal((await next.next()).toString(), `ACK ${'x'.repeat(100)}`, 'a frame of exactly the limit is taken');
    next.end();
  });

  it('drops the connection when the handler fails, without stopping the listener', async () => {
    const { server, problems } = await listener();
    servers.push(server);
    const client = await mllpClient(server.port);
    await client.send('fail');
    await assert.rejects(client.next(), /closed/);
    assert.deepEqual(problems, ['handler-failed']);
    const again = await mllpClient(server.port);
    await again.send('ok');
    assert.equal((await again.next()).toString(), 'ACK ok');
    again.end();
  });

  it('answers the message in hand before closing, and takes no new connection once closing', async () => {
    const { server } = await listener();
    const client = await mllpClient(server.port);
    const handling = new Promise<void>((resolve) => (taken = resolve));
    await client.send('wait 100 in hand');
    await handling;
    taken = undefined;
    const closing = server.close();
    assert.equal((await client.next()).toString(), 'ACK wait 100 in hand');
    await client.closed;
    await closing;
    await assert.rejects(mllpClient(server.port), /ECONNREFUSED/);
  });

  it('speaks MLLP over TLS when given a certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mllp-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'));
      const { server } = await listener({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
      servers.push(server);
      const client = await mllpClient(server.port, { tls: { ca: cert } });
      await client.send('secret');
      assert.equal((await client.next()).toString(), 'ACK secret');
      client.end();
      await assert.rejects(async () => {
        const plain = await mllpClient(server.port);
        await plain.send('plain');
        await plain.next(2000);
      }, 'plain MLLP to a TLS listener gets no answer');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MLLP settings', () => {
  it('listens on loopback port 2575 by default, without TLS', () => {
    const { mllp } = loadConfig({});
    assert.deepEqual(mllp, { host: '127.0.0.1', port: 2575, maxMessageBytes: 10 * 1024 * 1024 });
  });

  it('reads host, port, TLS files and the size limit', () => {
    const { mllp } = loadConfig({ MLLP_HOST: '0.0.0.0', MLLP_PORT: '0', MLLP_TLS_CERT: '/etc/dq/mllp.crt', MLLP_TLS_KEY: '/etc/dq/mllp.key', MLLP_MAX_MESSAGE_MB: '2' });
    assert.deepEqual(mllp, { host: '0.0.0.0', port: 0, tls: { certFile: '/etc/dq/mllp.crt', keyFile: '/etc/dq/mllp.key' }, maxMessageBytes: 2 * 1024 * 1024 });
  });

  it('stops at start-up on a wrong value, naming it', () => {
    assert.throws(() => loadConfig({ MLLP_PORT: '70000' }), (e: unknown) => e instanceof ConfigError && /MLLP_PORT/.test(e.message));
    assert.throws(() => loadConfig({ MLLP_TLS_CERT: '/x.crt' }), (e: unknown) => e instanceof ConfigError && /MLLP_TLS_KEY/.test(e.message));
    assert.throws(() => loadConfig({ MLLP_MAX_MESSAGE_MB: '0' }), (e: unknown) => e instanceof ConfigError && /MLLP_MAX_MESSAGE_MB/.test(e.message));
  });
});
