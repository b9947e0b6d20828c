import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { S3ObjectStore } from '../../src/imaging/s3-object-store.js';

const BUCKET = 'densaulyq-images';

/** s3rver, a real S3 HTTP server, in a process of its own (so its memory is not counted as ours) on a free port. */
async function startS3rver(dir: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const bin = join(createRequire(import.meta.url).resolve('s3rver/package.json'), '../bin/s3rver.js');
  const child: ChildProcess = spawn(process.execPath, [bin, '-d', dir, '-a', '127.0.0.1', '-p', '0', '--silent', '--configure-bucket', BUCKET], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on [^:]+:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    void exited.then(() => reject(new Error(`s3rver exited before listening: ${output}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `megabytes` MiB of deterministic bytes made on the fly, 1 MiB at a time: its length is known to no one. */
function generated(megabytes: number): Readable {
  let n = 0;
  return new Readable({
    read() {
      if (n === megabytes) return void this.push(null);
      const chunk = Buffer.alloc(1024 * 1024, n % 251);
      chunk.writeUInt32BE(n++);
      this.push(chunk);
    },
  });
}

const text = async (stream: Readable | undefined) => (stream ? (await buffer(stream)).toString() : undefined);

describe('the image store on S3 (s3rver)', () => {
  let dir: string;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let store: S3ObjectStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-s3-'));
    s3 = await startS3rver(dir);
    store = new S3ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', bucket: BUCKET, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
  });
  after(async () => {
    store?.close();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const key = 'studies/1.2.3/1.2.3.4/1.2.3.4.5.dcm';

  test('an object put is read back whole, by range, and sized; a put overwrites', async () => {
    assert.deepEqual(await store.put(key, Readable.from([Buffer.from('DICM'), Buffer.from('-first')])), { size: 10 });
    assert.equal(await text(await store.get(key)), 'DICM-first');
    assert.deepEqual(await store.put(key, Readable.from([Buffer.from('0123456789abcdef')])), { size: 16 });
    assert.equal(await text(await store.get(key)), '0123456789abcdef');
    assert.equal(await text(await store.get(key, { start: 4, end: 8 })), '4567');
    assert.equal(await text(await store.get(key, { start: 10 })), 'abcdef');
    assert.equal(await text(await store.get(key, { start: 16 })), '', 'a range from the end is empty');
    assert.equal(await text(await store.get(key, { start: 5, end: 5 })), '', 'an empty range is empty');
    assert.equal(await store.size(key), 16);
  });

  test('a missing key is undefined for get and size, and deleting it is no error', async () => {
    assert.equal(await store.get('studies/none.dcm'), undefined);
    assert.equal(await store.get('studies/none.dcm', { start: 2, end: 4 }), undefined);
    assert.equal(await store.get('studies/none.dcm', { start: 2, end: 2 }), undefined);
    assert.equal(await store.size('studies/none.dcm'), undefined);
    await store.delete('studies/none.dcm');
  });

  test('a deleted object is gone', async () => {
    await store.put('studies/gone.dcm', Readable.from([Buffer.from('x')]));
    await store.delete('studies/gone.dcm');
    assert.equal(await store.size('studies/gone.dcm'), undefined);
    assert.equal(await store.get('studies/gone.dcm'), undefined);
  });

  test('a move renames within S3: the bytes are at the new key (replacing what was there) and gone from the old', async () => {
    await store.put('incoming/a.partial', Readable.from([Buffer.from('new instance')]));
    await store.put('studies/moved.dcm', Readable.from([Buffer.from('old')]));
    await store.move('incoming/a.partial', 'studies/moved.dcm');
    assert.equal(await text(await store.get('studies/moved.dcm')), 'new instance');
    assert.equal(await store.size('incoming/a.partial'), undefined);
    await assert.rejects(store.move('incoming/none.partial', 'studies/other.dcm'), /absent/);
    assert.equal(await store.size('studies/other.dcm'), undefined);
  });

  test('a 200 MB stream of unknown length is stored in parts with the memory of a few parts, and reads back identical', async () => {
    const megabytes = 200;
    const expected = createHash('sha256');
    for await (const chunk of generated(megabytes)) expected.update(chunk);
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      assert.deepEqual(await store.put('studies/big.dcm', generated(megabytes)), { size: megabytes * 1024 * 1024 });
    } finally {
      clearInterval(sampler);
    }
    // Buffering it would add 200 MB; parts in flight are 4 × 8 MiB, plus the SDK's copies of them.
    assert.ok(peak - baseline < 120 * 1024 * 1024, `RSS grew by ${Math.round((peak - baseline) / 1048576)} MB`);
    assert.equal(await store.size('studies/big.dcm'), megabytes * 1024 * 1024);
    const actual = createHash('sha256');
    for await (const chunk of (await store.get('studies/big.dcm'))!) actual.update(chunk);
    assert.equal(actual.digest('hex'), expected.digest('hex'));
    const tail = await buffer((await store.get('studies/big.dcm', { start: (megabytes - 1) * 1024 * 1024, end: (megabytes - 1) * 1024 * 1024 + 4 }))!);
    assert.equal(tail.readUInt32BE(), megabytes - 1, 'the range comes from the last part');
  });

  test('a stream that fails after some parts were uploaded stores nothing', async () => {
    let n = 0;
    const failing = new Readable({
      read() {
        if (n++ === 20) this.destroy(new Error('the modality went away'));
        else this.push(Buffer.alloc(1024 * 1024, 7));
      },
    });
    await assert.rejects(store.put('studies/broken.dcm', failing));
    assert.equal(await store.size('studies/broken.dcm'), undefined);
    assert.equal(await store.get('studies/broken.dcm'), undefined);
  });
});
