import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addUser } from '../../src/access/users.js';
import { FsObjectStore } from '../../src/imaging/object-store.js';
import type { TestDriver } from '../support/database.js';
import { type TestServer, startTestServer } from '../support/server.js';

/** The FHIR API with DICOMweb, its images in a fresh folder; `dicomweb` sends to /dicom-web. */
export interface ImagingServer extends TestServer {
  /** The DICOMweb base URL. */
  dicomBase: string;
  imagesDir: string;
  /** The Authorization header of the all-seeing administrator, for clients of its own (dicomweb-client). */
  authorization: string;
  /** A request to /dicom-web; without `authorization` it carries the all-seeing administrator's token. */
  dicomweb(method: string, path: string, init?: { body?: BodyInit | Buffer; headers?: Record<string, string>; duplex?: 'half' }): Promise<Response>;
}

export async function startImagingServer(driver: TestDriver): Promise<ImagingServer> {
  const imagesDir = await mkdtemp(join(tmpdir(), 'densaulyq-images-'));
  const server = await startTestServer(driver, { imaging: { store: new FsObjectStore(imagesDir) } });
  const dicomBase = server.base.replace(/\/fhir$/, '/dicom-web');
  const adminToken = await adminTokenOf(server);
  return {
    ...server,
    dicomBase,
    imagesDir,
    authorization: `Bearer ${adminToken}`,
    async dicomweb(method, path, init = {}) {
      const { authorization = `Bearer ${adminToken}`, ...headers } = init.headers ?? {};
      return fetch(`${dicomBase}${path}`, {
        method,
        headers: { ...headers, ...(authorization ? { authorization } : {}) },
        ...(init.body !== undefined ? { body: init.body, duplex: 'half' } : {}),
      } as RequestInit);
    },
    async close() {
      await server.close();
      await rm(imagesDir, { recursive: true, force: true });
    },
  };
}

async function adminTokenOf(server: TestServer): Promise<string> {
  const admin = await addUser(server.db, { username: `imaging-admin-${Math.random().toString(36).slice(2)}`, role: 'administrator', clinicalAccess: true });
  return server.token({ sub: admin.id, scope: 'user/*.cruds', role: 'administrator' });
}

/** A multipart/related body of DICOM parts (PS3.18 8.6.1.2), and its Content-Type. */
export function multipartBody(parts: readonly (Buffer | { type: string; body: Buffer })[], boundary = `b-${Math.random().toString(36).slice(2)}`): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const { type, body } = Buffer.isBuffer(part) ? { type: 'application/dicom', body: part } : part;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\n\r\n`), body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/** The parts of a multipart/related answer, with their headers. */
export function parseMultipart(body: Buffer, contentType: string): { headers: Record<string, string>; body: Buffer }[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  for (;;) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') return parts;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    const headers = Object.fromEntries(
      body
        .subarray(start + 2, headerEnd)
        .toString()
        .split('\r\n')
        .map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    );
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    parts.push({ headers, body: body.subarray(headerEnd + 4, next) });
    at = next + 2;
  }
}
