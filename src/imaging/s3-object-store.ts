import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ObjectStore } from './object-store.js';

/** Where the S3-compatible store is (the `imaging.store` setting of kind `s3`). */
export interface S3StoreSettings {
  /** An S3-compatible server (MinIO, Ceph…); AWS's own when not given. */
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `host/bucket/key` rather than `bucket.host/key`: what most S3-compatible servers need. */
  forcePathStyle?: boolean;
}

/**
 * Multipart part size: S3's minimum is 5 MiB; 8 MiB × PARTS_IN_FLIGHT bounds what a put holds in
 * memory however large the object (a 2.6 GB study streams through ~32 MiB).
 */
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;
/** The largest object one CopyObject may copy (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html). */
const COPY_LIMIT = 5 * 1024 * 1024 * 1024;

/** True when S3 answered that the key (or bucket) does not exist: NoSuchKey on GET, a bare 404 on HEAD. */
function isMissing(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404);
}

/** A range that starts at or after the object's end (S3 answers 416 InvalidRange). */
function isUnsatisfiableRange(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.name === 'InvalidRange' || error.$metadata.httpStatusCode === 416);
}

/**
 * The image store on an S3-compatible object store (the ObjectStore of src/imaging/object-store.ts,
 * `move` included). Uploads are multipart and streamed, so neither the length nor the
 * whole body is needed up front; a failed upload is aborted, leaving no parts behind.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(settings: S3StoreSettings) {
    this.bucket = settings.bucket;
    this.client = new S3Client({
      region: settings.region,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      forcePathStyle: settings.forcePathStyle ?? false,
      ...(settings.accessKeyId && settings.secretAccessKey ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } } : {}),
      // The SDK's default CRC32 trailers (aws-chunked bodies) are not understood by many S3-compatible servers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Stores the bytes under `key` (overwrites); resolves once S3 has the whole object, with its size. */
  async put(key: string, body: AsyncIterable<Buffer>): Promise<{ size: number }> {
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        done(null, chunk);
      },
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: counter, ContentType: 'application/dicom' },
      partSize: PART_SIZE,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    // A failing source destroys the counter, which fails the upload, which aborts the multipart upload.
    await Promise.all([pipeline(body, counter), upload.done()]);
    return { size };
  }

  /**
   * The object's bytes, or the range [start, end) of them (an HTTP Range request, RFC 9110 14.1.2);
   * undefined if there is no such object. A range past the end is empty.
   */
  async get(key: string, range?: { start: number; end?: number }): Promise<Readable | undefined> {
    if (range && range.end !== undefined && range.end <= range.start) return (await this.size(key)) === undefined ? undefined : Readable.from([]);
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end === undefined ? '' : range.end - 1}` } : {}) }),
      );
      const body = response.Body;
      if (!(body instanceof Readable)) throw new Error('the S3 client gave no Node stream for GetObject');
      return body;
    } catch (error) {
      if (isMissing(error)) return undefined;
      if (range && isUnsatisfiableRange(error)) return Readable.from([]);
      throw error;
    }
  }

  /** The object's size in bytes (HeadObject), or undefined if there is no such object. */
  async size(key: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Removes the object; removing what is not there is not an error (S3's own DeleteObject semantics). */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /**
   * Renames `from` to `to` (overwrites) inside S3 with CopyObject, so the bytes never pass through
   * this process; an object over CopyObject's 5 GiB limit is streamed through instead.
   */
  async move(from: string, to: string): Promise<void> {
    const size = await this.size(from);
    if (size === undefined) throw new Error(`object ${from} is absent`);
    if (size > COPY_LIMIT) await this.put(to, (await this.get(from))!);
    else await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: encodeURI(`${this.bucket}/${from}`) }));
    await this.delete(from);
  }

  /** Closes the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}
