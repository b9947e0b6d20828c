import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { freePort } from '../access/harness.js';
import { jsonOf } from './server.js';

/** Debian's Orthanc 1.10 and its DICOMweb plugin (packages orthanc, orthanc-dicomweb). */
export const ORTHANC_BINARY = '/usr/sbin/Orthanc';
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';
const READY_TIMEOUT_MS = 30_000;

/**
 * A remote DICOMweb server Orthanc acts as a client of: the `DicomWeb.Servers` entry
 * (https://orthanc.uclouvain.be/book/plugins/dicomweb.html#client-related-options).
 */
export interface DicomWebPeer {
  /** The remote's DICOMweb base, e.g. http://127.0.0.1:8080/dicom-web/ */
  url: string;
  /** Headers Orthanc sends with every request to it, e.g. { Authorization: 'Bearer …' }. */
  httpHeaders?: Record<string, string>;
}

export interface OrthancOptions {
  /** Named remote DICOMweb servers (`/dicom-web/servers/{name}/…`). */
  dicomWebServers?: Record<string, DicomWebPeer>;
  /** Further Orthanc configuration, merged over the defaults (e.g. { HttpCompressionEnabled: false }). */
  configuration?: Record<string, unknown>;
  /** A folder of the caller's for Orthanc's files, left in place on stop; by default a temporary one it removes. */
  dir?: string;
}

export interface OrthancReply {
  status: number;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: any;
  text: string;
}

export interface OrthancServer {
  /** http://127.0.0.1:port, Orthanc's REST API. */
  origin: string;
  /** Its own DICOMweb server: `${origin}/dicom-web`. */
  dicomWeb: string;
  dicomPort: number;
  /** The Orthanc process, for /proc/<pid>/status. */
  pid: number;
  /** A call to Orthanc's REST API; objects are sent as JSON, Buffers as application/dicom. */
  rest(method: string, path: string, body?: unknown): Promise<OrthancReply>;
  /** Stores one Part 10 file (POST /instances); its Orthanc ids. */
  upload(part10: Buffer): Promise<{ instance: string; series: string; study: string; patient: string }>;
  /** Stops Orthanc (SIGTERM, then SIGKILL after 10 s) and removes its storage, unless the caller gave its folder. */
  stop(): Promise<void>;
}

/**
 * Starts Orthanc with the DICOMweb plugin on free HTTP and DICOM ports, a temp storage folder and
 * authentication off, and waits until its REST API answers. Orthanc runs as whoever runs the tests
 * (root included: it does not refuse it).
 */
export async function startOrthanc(options: OrthancOptions = {}): Promise<OrthancServer> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'densaulyq-orthanc-')));
  try {
    // Ports are free when picked, not when Orthanc binds them: another process may take one in between.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(dir, options);
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  } catch (error) {
    if (!options.dir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(dir: string, options: OrthancOptions): Promise<OrthancServer> {
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const servers = Object.fromEntries(
    Object.entries(options.dicomWebServers ?? {}).map(([name, peer]) => [name, { Url: peer.url, HttpHeaders: peer.httpHeaders ?? {} }]),
  );
  // Its own name, so that another Orthanc that took the port in between is not taken for this one.
  const name = `densaulyq-test-${basename(dir)}`;
  const configuration = {
    Name: name,
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'storage'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/', Servers: servers },
    ...options.configuration,
  };
  const configFile = join(dir, 'orthanc.json');
  const logFile = join(dir, 'orthanc.log');
  await writeFile(configFile, JSON.stringify(configuration, null, 2));
  const log = openSync(logFile, 'w');
  const child: ChildProcess = spawn(ORTHANC_BINARY, [configFile], { stdio: ['ignore', log, log] });
  closeSync(log);
  // A test run that dies must not leave Orthanc holding its ports.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    // ENOENT and the like: no 'exit' follows.
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });
  const origin = `http://127.0.0.1:${httpPort}`;

  const fail = async (reason: string) => {
    child.kill('SIGKILL');
    await exited;
    process.off('exit', killOnExit);
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
    throw new Error(`Orthanc ${reason}:\n${tail}`);
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError) return fail(`could not start (${ORTHANC_BINARY}: ${spawnError.message}; Debian package orthanc)`);
    if (child.exitCode !== null || child.signalCode !== null) return fail(`exited with ${child.exitCode ?? child.signalCode} before answering`);
    const ok = await fetch(`${origin}/system`).then(
      async (response) => response.ok && ((await response.json()) as { Name?: string }).Name === name,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) return fail(`did not answer within ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const rest = async (method: string, path: string, body?: unknown): Promise<OrthancReply> => {
    const init: RequestInit = { method };
    if (Buffer.isBuffer(body)) {
      init.body = new Uint8Array(body);
      init.headers = { 'content-type': 'application/dicom' };
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const response = await fetch(`${origin}${path}`, init);
    const text = await response.text();
    return { status: response.status, body: jsonOf(text), text };
  };

  return {
    origin,
    dicomWeb: `${origin}/dicom-web`,
    dicomPort,
    pid: child.pid!,
    rest,
    async upload(part10) {
      const reply = await rest('POST', '/instances', part10);
      if (reply.status !== 200 || !reply.body?.ID) throw new Error(`Orthanc refused the instance (${reply.status}): ${reply.text}`);
      return { instance: reply.body.ID, series: reply.body.ParentSeries, study: reply.body.ParentStudy, patient: reply.body.ParentPatient };
    },
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
