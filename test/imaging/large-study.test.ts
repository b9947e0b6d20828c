import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { testDrivers } from '../support/database.js';
import { dicomInstance, dicomUid } from '../../src/synth/dicom-instances.js';
import { type ImagingServer, startImagingServer } from './dicomweb.js';

const ROWS = 4096;
const COLUMNS = 4096;
const FRAMES = 6;
const PIXEL_BYTES = ROWS * COLUMNS * 2 * FRAMES;
const CHUNK = 1 << 20;

// The growth is measured from a collected heap: garbage left by earlier work is not the server holding the study.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * A Part 10 file of 192 MB made as a stream: the head of a small instance whose Rows, Columns
 * and NumberOfFrames say 4096 × 4096 × 6, its pixel data element rewritten to that length, and
 * the pixels sent in 1 MB chunks, so the test itself never holds the file.
 */
function largeInstance(study: string, sop: string): { head: Buffer; chunks: () => Generator<Buffer> } {
  const small = dicomInstance({ studyInstanceUid: study, sopInstanceUid: sop, rows: 1, columns: 1, attributes: { Rows: ROWS, Columns: COLUMNS, NumberOfFrames: FRAMES } });
  // The small file ends with its pixel data: tag, OW, two reserved bytes, length, and 2 bytes of value.
  const pixelHeader = small.length - 14;
  assert.equal(small.readUInt32LE(pixelHeader + 8), 2);
  const head = Buffer.from(small.subarray(0, pixelHeader + 12));
  head.writeUInt32LE(PIXEL_BYTES, pixelHeader + 8);
  return {
    head,
    *chunks() {
      const chunk = Buffer.alloc(CHUNK, 7);
      for (let sent = 0; sent < PIXEL_BYTES; sent += CHUNK) yield chunk.subarray(0, Math.min(CHUNK, PIXEL_BYTES - sent));
    },
  };
}

for (const driver of testDrivers()) describe(`a large study streams through (${driver.name})`, { skip: driver.skip }, () => {
  let server: ImagingServer;
  before(async () => {
    server = await startImagingServer(driver);
  });
  after(() => server.close());

  test('a 192 MB instance is stored from a chunked request and retrieved without the server holding it in memory', async () => {
    const study = dicomUid();
    const sop = dicomUid();
    const { head, chunks } = largeInstance(study, sop);
    const boundary = 'large-study-boundary';
    collectGarbage();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    try {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`));
          controller.enqueue(head);
        },
        pull: (() => {
          const iterator = chunks();
          return (controller: ReadableStreamDefaultController<Uint8Array>) => {
            const next = iterator.next();
            if (next.done) {
              controller.enqueue(Buffer.from(`\r\n--${boundary}--\r\n`));
              controller.close();
            } else controller.enqueue(next.value);
          };
        })(),
      });
      const reply = await server.dicomweb('POST', '/studies', { body, headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}` } });
      assert.equal(reply.status, 200, await reply.text());
      const retrieved = await server.dicomweb('GET', `/studies/${study}`);
      assert.equal(retrieved.status, 200);
      let received = 0;
      for await (const chunk of retrieved.body!) received += chunk.length;
      assert.ok(received > PIXEL_BYTES, `${received} bytes retrieved`);
    } finally {
      clearInterval(sampler);
    }
    const grown = (peak - baseline) / 2 ** 20;
    assert.ok(grown < 120, `the process grew by ${Math.round(grown)} MB while ${PIXEL_BYTES / 2 ** 20} MB went through`);
    const [row] = await server.db.query<{ size: string }>(`SELECT size::text AS size FROM dicom_instance WHERE sop_instance_uid = $1`, [sop]);
    assert.equal(Number(row!.size), head.length + PIXEL_BYTES);
  });
});
