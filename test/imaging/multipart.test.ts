import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { multipartParts } from '../../src/imaging/multipart.js';
import { multipartBody } from './dicomweb.js';

/** The body cut into chunks of the given sizes, in turn, as a socket might deliver it. */
async function* chunked(body: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  for (let at = 0, i = 0; at < body.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield body.subarray(at, at + size);
    at += size;
  }
}

async function partsOf(body: Buffer, boundary: string, sizes: readonly number[]): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  for await (const part of multipartParts(chunked(body, sizes), boundary)) {
    const chunks: Buffer[] = [];
    for await (const chunk of part.body) chunks.push(chunk);
    parts.push(Buffer.concat(chunks));
  }
  return parts;
}

describe('the multipart/related reader', () => {
  // Part bodies that end in what looks like the start of a delimiter, so a boundary split across chunks is tried at every offset.
  const contents = [randomBytes(70_000), Buffer.concat([randomBytes(1000), Buffer.from('\r\n--b')]), Buffer.from('\r\n-'), randomBytes(3), Buffer.alloc(0)];

  test('gives back every part byte for byte however the body is cut into chunks', async () => {
    const boundary = 'b-0123456789';
    const { body } = multipartBody(contents.map((c) => ({ type: 'application/dicom', body: c })), boundary);
    for (const sizes of [[body.length], [1], [2, 3, 5, 7], [13], [64 * 1024], [boundary.length + 3, 1], [boundary.length + 4]]) {
      const parts = await partsOf(body, boundary, sizes);
      assert.equal(parts.length, contents.length, `chunks of ${sizes.join(',')}`);
      parts.forEach((part, i) => assert.ok(part.equals(contents[i]!), `part ${i} with chunks of ${sizes.join(',')}`));
    }
  });

  test('a body that ends inside a part is a 400', async () => {
    const boundary = 'b-cut';
    const { body } = multipartBody([{ type: 'application/dicom', body: randomBytes(5000) }], boundary);
    await assert.rejects(partsOf(body.subarray(0, 3000), boundary, [100]), (error: { status?: number }) => error.status === 400);
  });
});
