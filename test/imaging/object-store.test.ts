import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { FsObjectStore, moveObject, type ObjectStore, sameBytes } from '../../src/imaging/object-store.js';

describe('the filesystem object store', () => {
  let dir: string;
  let store: FsObjectStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densaulyq-objects-'));
    store = new FsObjectStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('put, size, whole and ranged get, delete', async () => {
    const bytes = Buffer.from('0123456789');
    assert.deepEqual(await store.put('studies/1.2/1.3/1.4.dcm', Readable.from([bytes.subarray(0, 4), bytes.subarray(4)])), { size: 10 });
    assert.equal(await store.size('studies/1.2/1.3/1.4.dcm'), 10);
    assert.equal((await buffer((await store.get('studies/1.2/1.3/1.4.dcm'))!)).toString(), '0123456789');
    assert.equal((await buffer((await store.get('studies/1.2/1.3/1.4.dcm', { start: 2, end: 5 }))!)).toString(), '234');
    assert.equal((await buffer((await store.get('studies/1.2/1.3/1.4.dcm', { start: 7 }))!)).toString(), '789');
    assert.equal((await buffer((await store.get('studies/1.2/1.3/1.4.dcm', { start: 5, end: 5 }))!)).length, 0);
    await store.delete('studies/1.2/1.3/1.4.dcm');
    assert.equal(await store.size('studies/1.2/1.3/1.4.dcm'), undefined);
    assert.equal(await store.get('studies/1.2/1.3/1.4.dcm'), undefined);
  });

  test('a failed upload leaves no file, not even a partial one', async () => {
    const failing = Readable.from(
      (async function* () {
        yield Buffer.from('half');
        throw new Error('connection lost');
      })(),
    );
    await assert.rejects(store.put('incoming/x.dcm', failing), /connection lost/);
    assert.deepEqual(await readdir(join(dir, 'incoming')), []);
  });

  test('move renames; moveObject copies through a store without move', async () => {
    await store.put('incoming/a.dcm', Readable.from([Buffer.from('A')]));
    await moveObject(store, 'incoming/a.dcm', 'studies/a.dcm');
    assert.equal(await store.size('incoming/a.dcm'), undefined);
    const plain: ObjectStore = { put: (k, b) => store.put(k, b), get: (k, r) => store.get(k, r), size: (k) => store.size(k), delete: (k) => store.delete(k) };
    await moveObject(plain, 'studies/a.dcm', 'studies/b.dcm');
    assert.equal(await store.size('studies/a.dcm'), undefined);
    assert.equal((await buffer((await store.get('studies/b.dcm'))!)).toString(), 'A');
  });

  test('sameBytes compares whole objects, past the first chunk and across unequal chunks, through any store', async () => {
    const bytes = randomBytes(Math.floor(2.5 * 2 ** 20));
    const changed = (at: number) => {
      const copy = Buffer.from(bytes);
      copy[at]! ^= 1;
      return copy;
    };
    const objects = { a: bytes, b: Buffer.from(bytes), first: changed(0), last: changed(bytes.length - 1), short: bytes.subarray(0, -1) };
    for (const [name, body] of Object.entries(objects)) await store.put(`compare/${name}`, Readable.from([body]));
    // A store without pooled chunks whose streams cut each object differently.
    const cut = (body: Buffer, size: number) => Array.from({ length: Math.ceil(body.length / size) }, (_, i) => body.subarray(i * size, (i + 1) * size));
    const plain: ObjectStore = {
      put: (k, b) => store.put(k, b),
      get: async (k, r) => {
        const stream = await store.get(k, r);
        return stream && Readable.from(cut(await buffer(stream), k.endsWith('/a') ? 7777 : 100_003));
      },
      size: (k) => store.size(k),
      delete: (k) => store.delete(k),
    };
    for (const through of [store, plain]) {
      assert.equal(await sameBytes(through, 'compare/a', 'compare/b'), true);
      assert.equal(await sameBytes(through, 'compare/a', 'compare/first'), false);
      assert.equal(await sameBytes(through, 'compare/a', 'compare/last'), false);
      assert.equal(await sameBytes(through, 'compare/a', 'compare/short'), false);
      assert.equal(await sameBytes(through, 'compare/a', 'compare/absent'), undefined);
    }
  });

  test('a key climbing out of the folder is refused', async () => {
    await assert.rejects(store.put('../escape.dcm', Readable.from([Buffer.from('x')])), /not an object key/);
    await assert.rejects(store.size('studies/../../escape.dcm'), /not an object key/);
  });
});

describe('the image store settings', () => {
  test('files under DATA_DIR/images by default, IMAGES_DIR elsewhere', () => {
    assert.deepEqual(loadConfig({ DATA_DIR: '/srv/densaulyq' }).imaging.store, { kind: 'fs', dir: resolve('/srv/densaulyq/images') });
    assert.deepEqual(loadConfig({ IMAGES_DIR: '/mnt/pacs' }).imaging.store, { kind: 'fs', dir: '/mnt/pacs' });
  });

  test('S3 when a bucket is named; keys go together; a bad endpoint stops start-up', () => {
    const s3 = loadConfig({ IMAGING_S3_BUCKET: 'images', IMAGING_S3_ENDPOINT: 'http://127.0.0.1:9000', IMAGING_S3_ACCESS_KEY_ID: 'k', IMAGING_S3_SECRET_ACCESS_KEY: 's' }).imaging.store;
    assert.deepEqual(s3, { kind: 's3', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', bucket: 'images', accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: true });
    assert.throws(() => loadConfig({ IMAGING_S3_BUCKET: 'images', IMAGING_S3_ACCESS_KEY_ID: 'k' }), ConfigError);
    assert.throws(() => loadConfig({ IMAGING_S3_BUCKET: 'images', IMAGING_S3_ENDPOINT: 'minio:9000' }), ConfigError);
  });
});
