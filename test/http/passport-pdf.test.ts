import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import { compactDecrypt } from 'jose';
import { FAMILY, PATIENT, type Tokens, bearer, buildWorld, tokens } from '../access/world.js';
import { testDrivers } from '../support/database.js';
import { canReadBack, firstPageQrCode, pdfText, squeeze } from '../support/pdf-reader.js';
import { type TestServer, startTestServer } from '../support/server.js';

for (const driver of testDrivers()) describe(`The printed health passport (${driver.name})`, { skip: driver.skip }, () => {
  let server: TestServer;
  let t: Tokens;
  let workdir: string;
  before(async () => {
    server = await startTestServer(driver);
    t = await tokens(server);
    await buildWorld(server, t);
    workdir = await mkdtemp(path.join(tmpdir(), 'passport-pdf-'));
  });
  after(async () => {
    await server.close();
    await rm(workdir, { recursive: true, force: true });
  });

  /** The PDF bytes as a client receives them (the test server's helper reads text). */
  async function summaryPdf(token: string, init: { method?: string; query?: string; body?: Parameters; accept?: string } = {}) {
    const headers: Record<string, string> = { ...bearer(token), accept: init.accept ?? 'application/pdf' };
    if (init.body) headers['content-type'] = 'application/fhir+json';
    const response = await fetch(`${server.base}/Patient/${PATIENT.p1}/$summary${init.query ?? ''}`, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: response.status, type: response.headers.get('content-type') ?? '', bytes: Buffer.from(await response.arrayBuffer()) };
  }

  let files = 0;
  async function save(bytes: Buffer): Promise<string> {
    const file = path.join(workdir, `passport-${++files}.pdf`);
    await writeFile(file, bytes);
    return file;
  }

  test('the citizen prints their passport in Kazakh with a QR code that opens a share link to the same summary', async (t2) => {
    const reply = await summaryPdf(t.citizenP1, { method: 'POST', query: '?language=kk', body: { resourceType: 'Parameters', parameter: [{ name: 'share', valueBoolean: true }] } });
    assert.equal(reply.status, 200, reply.bytes.toString('utf8').slice(0, 400));
    assert.match(reply.type, /^application\/pdf/);
    assert.equal(reply.bytes.subarray(0, 5).toString('latin1'), '%PDF-');

    const links = await server.fhir('GET', `Patient/${PATIENT.p1}/$share-links`, undefined, bearer(t.citizenP1));
    const labels = JSON.stringify(links.body);
    assert.ok(labels.includes('Басып шығарылған денсаулық паспорты'), 'the printed link is listed for the citizen, labelled in Kazakh');

    if (!canReadBack(t2)) return;
    const file = await save(reply.bytes);
    const text = squeeze(await pdfText(file, '-raw'));
    assert.ok(text.includes(FAMILY.p1), 'the patient is named');
    assert.ok(/Денсаулық/.test(text), 'Kazakh text comes back intact');

    const link = await firstPageQrCode(file);
    assert.ok(link?.startsWith('shlink:/'), `the QR code is a SMART Health Link: ${link}`);
    if (!link) return;
    const payload = JSON.parse(Buffer.from(link.slice('shlink:/'.length), 'base64url').toString('utf8')) as { url: string; key: string };
    const manifest = await fetch(payload.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recipient: 'Emergency department, Almaty' }) });
    assert.equal(manifest.status, 200);
    const [file0] = ((await manifest.json()) as { files: { embedded?: string }[] }).files;
    const { plaintext } = await compactDecrypt(file0!.embedded!, Buffer.from(payload.key, 'base64url'));
    const document = JSON.parse(new TextDecoder().decode(plaintext)) as Bundle;
    assert.equal(document.type, 'document');
    assert.equal(document.entry?.[0]?.resource?.resourceType, 'Composition');
    assert.ok(document.entry?.some((entry) => entry.resource?.resourceType === 'Patient' && entry.resource.id === PATIENT.p1));
  });

  test('a clinician with a care relationship prints it in Russian, without a QR code: only the patient shares', async (t2) => {
    const reply = await summaryPdf(t.clinicianA, { query: '?language=ru' });
    assert.equal(reply.status, 200);
    assert.match(reply.type, /^application\/pdf/);
    const refused = await summaryPdf(t.clinicianA, { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'share', valueBoolean: true }] } });
    assert.equal(refused.status, 403, 'a clinician cannot make a share link');
    if (!canReadBack(t2)) return;
    const text = squeeze(await pdfText(await save(reply.bytes), '-raw'));
    assert.ok(text.includes('Паспорт здоровья'));
    assert.ok(!/сканируйте|Scan/i.test(text), 'no QR caption');
  });

  test('the door decides as for JSON: a clinician without a relationship gets no PDF', async () => {
    const reply = await summaryPdf(t.clinicianC);
    assert.ok(reply.status === 404 || reply.status === 403, String(reply.status));
    assert.match(reply.type, /fhir\+json/, 'the refusal is an OperationOutcome');
  });

  test('content negotiation: _format=pdf overrides Accept, JSON is preferred by q-value, other types are a 406, share needs POST and the PDF', async () => {
    const byFormat = await summaryPdf(t.citizenP1, { query: '?_format=pdf', accept: 'application/fhir+json' });
    assert.match(byFormat.type, /^application\/pdf/);
    const json = await summaryPdf(t.citizenP1, { accept: 'application/pdf;q=0.5, application/fhir+json' });
    assert.match(json.type, /fhir\+json/);
    assert.equal((await summaryPdf(t.citizenP1, { accept: 'application/xml' })).status, 406);
    const readAsPdf = await fetch(`${server.base}/Patient/${PATIENT.p1}`, { headers: { ...bearer(t.citizenP1), accept: 'application/pdf' } });
    assert.equal(readAsPdf.status, 406, 'a read has no PDF form');
    const viaGet = await server.fhir('GET', `Patient/${PATIENT.p1}/$summary?share=true&_format=pdf`, undefined, bearer(t.citizenP1));
    assert.equal(viaGet.status, 400);
    assert.match(viaGet.text, /POST/);
    const asJson = await server.fhir('POST', `Patient/${PATIENT.p1}/$summary`, { resourceType: 'Parameters', parameter: [{ name: 'share', valueBoolean: true }] }, bearer(t.citizenP1));
    assert.equal(asJson.status, 400);
    assert.match(asJson.text, /"expression":\["share"\]/);
  });
});
