import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Bundle, ImagingStudy, Patient } from '@medplum/fhirtypes';
import dcmjs from 'dcmjs';
import type { Page } from 'playwright-core';
import { issueTokenForUser } from '../../src/access/tokens.js';
import { IIN_SYSTEM } from '../../src/fhir/identifier-systems.js';
import { decodeJwt } from '../access/harness.js';
import { dicomInstance, dicomUid } from '../../src/synth/dicom-instances.js';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

/**
 * The Images screen end to end: a study pushed by STOW-RS (PS3.18 §10.5) for the demo citizen,
 * found through FHIR (ImagingStudy?patient) and viewed with Cornerstone3D over WADO-RS. Needs the
 * platform's DICOMweb (src/http/dicomweb.ts): it runs once that part is merged.
 */

/** A multipart/related body of Part 10 files, as a PACS sends them (PS3.18 §8.6.1.2). */
function multipart(files: Buffer[]): { body: Buffer; contentType: string } {
  const boundary = `densaulyq-${randomUUID()}`;
  const parts = files.flatMap((file) => [Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), file, Buffer.from('\r\n')]);
  return { body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]), contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

/** What the viewer's canvases show: how many distinct grey levels (blank is one) and a checksum that changes with any pixel. */
async function canvasPixels(page: Page): Promise<{ levels: number; checksum: number }> {
  return page.evaluate(() => {
    const levels = new Set<number>();
    let checksum = 0;
    for (const canvas of document.querySelectorAll<HTMLCanvasElement>('.imaging-stage canvas')) {
      if (canvas.width === 0 || canvas.height === 0) continue;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 0; i < data.length; i += 4) {
        levels.add(data[i]! * 65536 + data[i + 1]! * 256 + data[i + 2]!);
        checksum = (checksum * 31 + data[i]! + data[i + 1]! * 7 + data[i + 2]! * 13) % 2147483647;
      }
    }
    return { levels: levels.size, checksum };
  });
}

/** axe-core's WCAG 2.1 A and AA findings on the page as it is now (as test/web/accessibility.e2e.test.ts runs it). */
async function accessibilityFindings(page: Page): Promise<string[]> {
  // evaluate() runs beside the page's Content-Security-Policy, which refuses injected script tags.
  await page.evaluate(await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8'));
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const { violations } = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return violations.map((v) => `${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

async function viewerReady(page: Page): Promise<void> {
  await page.locator('.imaging-stage[data-ready="true"]').waitFor({ timeout: 60_000 });
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLCanvasElement>('.imaging-stage canvas')].some((c) => c.width > 0));
}

/** Opens a series of the study shown by its link and waits for its viewer. */
async function openSeries(page: Page, name: RegExp): Promise<void> {
  const link = page.getByRole('link', { name });
  await link.click();
  await page.waitForFunction((pattern) => [...document.querySelectorAll('a[aria-current="true"]')].some((a) => new RegExp(pattern).test(a.textContent ?? '')), name.source);
  await viewerReady(page);
}

async function frameText(page: Page): Promise<string> {
  return (await page.locator('.imaging-frame-text').textContent()) ?? '';
}

/** The signed-in page's own access token (sessionStorage). */
async function pageToken(page: Page): Promise<string> {
  return page.evaluate(() => (JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken: string }).accessToken);
}

async function citizenIin(server: WebServer, token: string): Promise<string> {
  const response = await fetch(`${server.fhirBase}/Patient/${server.citizenPatient}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
  const iin = ((await response.json()) as Patient).identifier?.find((i) => i.system === IIN_SYSTEM)?.value;
  assert.ok(iin, 'the demo citizen has an IIN');
  return iin;
}

/** A token of the clinician of the citizen's polyclinic, signed as the token endpoint signs the citizen's. */
async function clinicianToken(server: WebServer, citizenToken: string): Promise<string> {
  const { iss, aud } = decodeJwt(citizenToken) as { iss: string; aud: string };
  return issueTokenForUser(server.running.db, 'demo-clinician', 'user/*.cruds', { issuer: iss, fhirBaseUrl: aud });
}

/** STOW-RS of the files in one request, as the clinician's PACS would. */
async function stow(server: WebServer, token: string, files: Buffer[]): Promise<void> {
  const { body, contentType } = multipart(files);
  const response = await fetch(`${server.url}/dicom-web/studies`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType, accept: 'application/dicom+json' }, body: new Uint8Array(body) });
  assert.equal(response.status, 200, await response.text());
}

/** The file re-encoded by a dcmtk tool (dcmcjpeg, dcmcrle, dcmcjpls), or by OpenJPEG ('opj_compress'), as a modality that compresses would send it. */
function compressed(file: Buffer, tool: string, options: string[] = []): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'densaulyq-imaging-'));
  try {
    if (tool === 'opj_compress') return jpeg2000(file, dir);
    writeFileSync(join(dir, 'in.dcm'), file);
    execFileSync(tool, [...options, join(dir, 'in.dcm'), join(dir, 'out.dcm')]);
    return readFileSync(join(dir, 'out.dcm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A 16-bit monochrome file's pixels as lossless JPEG 2000 (PS3.5 A.4.4): dcmtk has no JPEG 2000 encoder, OpenJPEG's opj_compress reads them as a PGM. */
function jpeg2000(file: Buffer, dir: string): Buffer {
  const { DicomDict, DicomMessage, DicomMetaDictionary } = dcmjs.data;
  const message = DicomMessage.readFile(file.buffer.slice(file.byteOffset, file.byteOffset + file.length) as ArrayBuffer);
  const dataset = DicomMetaDictionary.naturalizeDataset(message.dict);
  const meta = DicomMetaDictionary.naturalizeDataset(message.meta);
  const [rows, columns] = [Number(dataset.Rows), Number(dataset.Columns)];
  const pixels = new Uint16Array((dataset.PixelData as ArrayBuffer[])[0]!);
  const pgm = Buffer.alloc(rows * columns * 2);
  pixels.forEach((value, i) => pgm.writeUInt16BE(value, i * 2));
  writeFileSync(join(dir, 'in.pgm'), Buffer.concat([Buffer.from(`P5\n${columns} ${rows}\n4095\n`), pgm]));
  execFileSync('opj_compress', ['-i', join(dir, 'in.pgm'), '-o', join(dir, 'out.j2k')], { stdio: 'ignore' });
  const j2k = readFileSync(join(dir, 'out.j2k'));
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset({ ...meta, TransferSyntaxUID: '1.2.840.10008.1.2.4.90' }));
  dict.dict = DicomMetaDictionary.denaturalizeDataset({ ...dataset, PixelData: [j2k.buffer.slice(j2k.byteOffset, j2k.byteOffset + j2k.length)], _vrMap: { PixelData: 'OB' } });
  return Buffer.from(dict.write());
}

const STUDY_DESCRIPTION = 'Chest CT (synthetic)';

describe('medical images in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  const studyUid = dicomUid();
  const ctSeries = dicomUid();
  const cineSeries = dicomUid();
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('lets the citizen find their study, open it, and scroll, window and zoom it; the clinician finds it by IIN', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: DESKTOP });
    await page.getByRole('button', { name: 'English' }).click();
    const citizenToken = await pageToken(page);
    const iin = await citizenIin(server, citizenToken);
    await page.getByRole('link', { name: 'Images', exact: true }).click();
    await page.getByText('No medical images yet.').waitFor();

    // The citizen's polyclinic pushes a study: five CT slices and a six-frame cine, PatientID the IIN.
    const common = { PatientID: iin, StudyDescription: STUDY_DESCRIPTION, StudyDate: '20261201', StudyTime: '093000' };
    const slices = [0, 1, 2, 3, 4].map((i) =>
      dicomInstance({
        studyInstanceUid: studyUid,
        seriesInstanceUid: ctSeries,
        rows: 64,
        columns: 64,
        attributes: { ...common, SeriesDescription: 'Axial', SeriesNumber: 1, InstanceNumber: i + 1, ImagePositionPatient: [0, 0, i * 2], ImageOrientationPatient: [1, 0, 0, 0, 1, 0], PixelSpacing: [1, 1] },
        pixel: (_f, row, column) => (row * 40 + column * 20 + i * 700) % 4096,
      }),
    );
    const cine = dicomInstance({
      studyInstanceUid: studyUid,
      seriesInstanceUid: cineSeries,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.7.2',
      rows: 64,
      columns: 64,
      frames: 6,
      bitsAllocated: 8,
      attributes: { ...common, Modality: 'XA', SeriesDescription: 'Cine', SeriesNumber: 2 },
      pixel: (frame, row, column) => (frame * 40 + row * 2 + column) % 256,
    });
    await stow(server, await clinicianToken(server, citizenToken), [...slices, cine]);
    const studies = (await (await fetch(`${server.fhirBase}/ImagingStudy?patient=${server.citizenPatient}`, { headers: { authorization: `Bearer ${citizenToken}`, accept: 'application/fhir+json' } })).json()) as Bundle<ImagingStudy>;
    assert.equal(studies.entry?.length, 1, 'the STOW made one ImagingStudy in the citizen’s record');

    // The list: the study with its date, kind and counts.
    await page.getByRole('link', { name: 'Home', exact: true }).click();
    await page.getByRole('link', { name: 'Images', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Medical images' }).waitFor();
    const card = page.locator('li.imaging-study', { has: page.getByRole('heading', { level: 2, name: STUDY_DESCRIPTION }) });
    await card.waitFor();
    const cardText = (await card.textContent()) ?? '';
    assert.ok(cardText.includes('CT') && cardText.includes('XA'), cardText);
    assert.ok(cardText.includes('Series: 2') && cardText.includes('Images: 6'), cardText);
    await screenshot(page, 'imaging-list-en');
    assert.deepEqual(await accessibilityFindings(page), []);

    // The study: a thumbnail per series, the CT opened on its middle slice.
    await card.getByRole('link', { name: `Open ${STUDY_DESCRIPTION}` }).click();
    await page.getByRole('heading', { level: 1, name: STUDY_DESCRIPTION }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('img.imaging-thumb').length === 2 && [...document.querySelectorAll('img.imaging-thumb')].every((i) => (i as HTMLImageElement).naturalWidth > 0));
    await viewerReady(page);
    assert.equal(await frameText(page), 'Frame 3 of 5');
    const openingWindow = await page.getByTestId('imaging-window').textContent();
    const middle = await canvasPixels(page);
    assert.ok(middle.levels > 8, `the canvas shows an image, not a blank (${middle.levels} levels)`);
    await screenshot(page, 'imaging-viewer-en');
    assert.deepEqual(await accessibilityFindings(page), []);

    // Keyboard: the next slice shows other pixels.
    await page.locator('.imaging-stage').focus();
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.querySelector('.imaging-frame-text')?.textContent === 'Frame 4 of 5');
    assert.notEqual((await canvasPixels(page)).checksum, middle.checksum, 'another slice, other pixels');

    // The slider goes to the first slice.
    await page.getByRole('slider', { name: 'Frame' }).fill('1');
    await page.waitForFunction(() => document.querySelector('.imaging-frame-text')?.textContent === 'Frame 1 of 5');

    // Window/level: dragging with the default tool changes the window and the picture.
    const windowBefore = await page.getByTestId('imaging-window').textContent();
    const pixelsBefore = await canvasPixels(page);
    await page.locator('.imaging-stage').scrollIntoViewIfNeeded();
    const stage = (await page.locator('.imaging-stage').boundingBox())!;
    await page.mouse.move(stage.x + stage.width / 2, stage.y + stage.height / 2);
    await page.mouse.down();
    await page.mouse.move(stage.x + stage.width / 2 + 120, stage.y + stage.height / 2 - 60, { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction((before) => document.querySelector('[data-testid="imaging-window"]')?.textContent !== before, windowBefore);
    assert.notEqual((await canvasPixels(page)).checksum, pixelsBefore.checksum, 'a new window, other grey levels');
    // A preset, then reset back to the window the viewer opened with (the one stored in the file).
    await page.getByLabel('Window').selectOption({ label: 'Bone' });
    assert.equal(await page.getByTestId('imaging-window').textContent(), 'Window: centre 500, width 2,000');
    await page.getByRole('button', { name: 'Reset view' }).click();
    assert.equal(await page.getByTestId('imaging-window').textContent(), openingWindow);

    // Zooming in redraws the image larger.
    const unzoomed = await canvasPixels(page);
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.getByRole('button', { name: 'Zoom in' }).click();
    assert.notEqual((await canvasPixels(page)).checksum, unzoomed.checksum, 'zoomed in');

    // The cine: six frames of one instance, opened on the middle one, scrolled with the wheel.
    await openSeries(page, /^Series 2: Cine/);
    assert.equal(await frameText(page), 'Frame 3 of 6');
    const cineMiddle = await canvasPixels(page);
    assert.ok(cineMiddle.levels > 8, `the cine shows an image (${cineMiddle.levels} levels)`);
    await page.locator('.imaging-stage').scrollIntoViewIfNeeded();
    const cineStage = (await page.locator('.imaging-stage').boundingBox())!;
    await page.mouse.move(cineStage.x + cineStage.width / 2, cineStage.y + cineStage.height / 2);
    await page.mouse.wheel(0, 200);
    await page.waitForFunction(() => document.querySelector('.imaging-frame-text')?.textContent !== 'Frame 3 of 6');
    assert.notEqual((await canvasPixels(page)).checksum, cineMiddle.checksum, 'another frame, other pixels');

    // The mouse's other tools: dragging pans the picture, or moves through the frames.
    const drag = async (dx: number, dy: number) => {
      await page.mouse.move(cineStage.x + cineStage.width / 2, cineStage.y + cineStage.height / 2);
      await page.mouse.down();
      await page.mouse.move(cineStage.x + cineStage.width / 2 + dx, cineStage.y + cineStage.height / 2 + dy, { steps: 8 });
      await page.mouse.up();
    };
    await page.getByLabel('Pan and zoom').check();
    const unpanned = await canvasPixels(page);
    await drag(80, 40);
    assert.notEqual((await canvasPixels(page)).checksum, unpanned.checksum, 'panned');
    await page.getByLabel('Scroll frames').check();
    const frameBefore = await frameText(page);
    // Upwards, back through the frames: a frame per eighth of the stage's height.
    await drag(0, -250);
    await page.waitForFunction((before) => document.querySelector('.imaging-frame-text')?.textContent !== before, frameBefore);

    // In Kazakh the controls follow the language.
    await page.getByRole('button', { name: 'Қазақша' }).click();
    await page.getByRole('button', { name: 'Бастапқы көрініс' }).waitFor();
    await pageAtWidth(browser.context, PHONE);
    await screenshot(page, 'imaging-viewer-kk');
    await browser.close();

    // The clinician of the citizen's polyclinic finds the same study by the patient's IIN.
    const clinician = await signInAs(server, 'demo-clinician', { width: DESKTOP });
    const staffPage = clinician.page;
    await staffPage.getByRole('button', { name: 'English' }).click();
    await staffPage.getByRole('link', { name: 'Images', exact: true }).click();
    await staffPage.getByLabel('Patient’s IIN').fill('12345');
    await staffPage.getByRole('button', { name: 'Find' }).click();
    await staffPage.getByRole('alert').filter({ hasText: 'An IIN has 12 digits.' }).waitFor();
    assert.deepEqual(await accessibilityFindings(staffPage), []);
    await staffPage.getByLabel('Patient’s IIN').fill(iin);
    await staffPage.getByRole('button', { name: 'Find' }).click();
    await staffPage.getByRole('heading', { level: 2, name: STUDY_DESCRIPTION }).waitFor();
    await staffPage.getByRole('link', { name: `Open ${STUDY_DESCRIPTION}` }).click();
    await viewerReady(staffPage);
    assert.ok((await canvasPixels(staffPage)).levels > 8, 'the clinician sees the image');
    await clinician.browser.close();
  });

  it('shows images stored compressed, each decoded in the browser: JPEG lossless, RLE, JPEG-LS, JPEG baseline and JPEG 2000', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: DESKTOP });
    await page.getByRole('button', { name: 'English' }).click();
    const citizenToken = await pageToken(page);
    const iin = await citizenIin(server, citizenToken);
    const study = dicomUid();
    const kinds = [
      { name: 'JPEG lossless', tool: 'dcmcjpeg', options: [], bits: 16 },
      { name: 'RLE', tool: 'dcmcrle', options: [], bits: 16 },
      { name: 'JPEG-LS', tool: 'dcmcjpls', options: [], bits: 16 },
      { name: 'JPEG baseline', tool: 'dcmcjpeg', options: ['--encode-baseline'], bits: 8 },
      { name: 'JPEG 2000', tool: 'opj_compress', options: [], bits: 16 },
    ] as const;
    const files = kinds.flatMap((kind, n) => {
      const series = dicomUid();
      return [0, 1, 2].map((i) =>
        compressed(
          dicomInstance({
            studyInstanceUid: study,
            seriesInstanceUid: series,
            rows: 64,
            columns: 64,
            bitsAllocated: kind.bits,
            attributes: { PatientID: iin, StudyDescription: 'Compressed (synthetic)', SeriesDescription: kind.name, SeriesNumber: n + 1, InstanceNumber: i + 1, ImagePositionPatient: [0, 0, i * 2], ImageOrientationPatient: [1, 0, 0, 0, 1, 0], PixelSpacing: [1, 1] },
            pixel: (_f, row, column) => (row * 4 + column * 2 + i * 30) % (kind.bits === 8 ? 256 : 4096),
          }),
          kind.tool,
          [...kind.options],
        ),
      );
    });
    await stow(server, await clinicianToken(server, citizenToken), files);

    await page.getByRole('link', { name: 'Images', exact: true }).click();
    await page.getByRole('link', { name: 'Open Compressed (synthetic)' }).click();
    for (const [n, kind] of kinds.entries()) {
      await openSeries(page, new RegExp(`^Series ${n + 1}: ${kind.name},`));
      assert.equal(await page.locator('.state-error').count(), 0, kind.name);
      assert.equal(await frameText(page), 'Frame 2 of 3', kind.name);
      const pixels = await canvasPixels(page);
      assert.ok(pixels.levels > 8, `${kind.name}: the canvas shows an image (${pixels.levels} levels)`);
    }
    await browser.close();
  });
});
