import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Parameters } from '@medplum/fhirtypes';
import { sharedLinks } from '../../web/src/screens/share/logic.js';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

describe('share my passport in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('creates a link with a QR code that a doctor can open with the passcode, lists its use, and revokes it so it no longer opens', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    const token = await page.evaluate(() => (JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken: string }).accessToken);
    const links = async () => {
      const response = await fetch(`${server.fhirBase}/Patient/${server.citizenPatient}/$share-links`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
      assert.equal(response.status, 200, await response.clone().text());
      return sharedLinks((await response.json()) as Parameters);
    };
    const openAs = (url: string, body: Record<string, string>) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('link', { name: 'Share' }).click();
    await page.getByRole('heading', { level: 1, name: 'Share my passport' }).waitFor();
    await page.getByText('You have not created any links yet.').waitFor();

    // A too-short passcode is explained and the link cannot be made.
    await page.getByLabel('Passcode (optional)').fill('abc');
    await page.getByText('The passcode needs at least 4 characters.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create link' }).isDisabled(), true);

    await page.getByLabel('Name (optional)').fill('For Dr Ali');
    await page.getByLabel('How long it works').selectOption({ label: '7 days' });
    await page.getByLabel('Passcode (optional)').fill('lemon42');
    await page.getByRole('button', { name: 'Create link' }).click();
    const created = page.getByTestId('created-link');
    await created.getByRole('heading', { name: 'Your link is ready' }).waitFor();
    const qr = created.getByRole('img', { name: /QR code of the link/ });
    await qr.waitFor();
    assert.match((await qr.getAttribute('src')) ?? '', /^data:image\/png;base64,/);
    const uri = await created.getByLabel('Link').inputValue();
    assert.match(uri, /^shlink:\/[A-Za-z0-9_-]+$/);
    await screenshot(page, 'share-created-en');

    const [listed] = await links();
    assert.equal(listed?.label, 'For Dr Ali');
    assert.equal(listed?.state, 'active');
    assert.equal(listed?.passcode, true);
    const days = (Date.parse(listed!.expires!) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `expires in 7 days, not ${days}`);

    // The doctor opens it with the passcode, as a SMART Health Link receiver does; the citizen sees the use.
    const payload = JSON.parse(Buffer.from(uri.slice('shlink:/'.length), 'base64url').toString('utf8')) as { url: string; flag: string };
    assert.match(payload.flag, /P/);
    assert.equal((await openAs(payload.url, { recipient: 'Dr Ali Demir', passcode: 'lemon42' })).status, 200);
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByRole('link', { name: 'Share' }).click();
    const card = page.locator('li.share-link', { has: page.getByRole('heading', { name: 'For Dr Ali' }) });
    await card.getByText('Times opened: 1').waitFor();
    await card.getByText('Dr Ali Demir').waitFor();
    assert.ok((await card.textContent())?.includes('Working'));

    await card.getByRole('button', { name: 'Stop this link' }).click();
    await card.getByText('The link stops working at once').waitFor();
    await card.getByRole('button', { name: 'Yes, stop it' }).click();
    await card.getByText('Stopped', { exact: true }).first().waitFor();
    assert.equal(await card.getByRole('button', { name: 'Stop this link' }).count(), 0);
    assert.equal((await links())[0]?.state, 'revoked');
    assert.equal((await openAs(payload.url, { recipient: 'Dr Ali Demir', passcode: 'lemon42' })).status, 404, 'a revoked link opens nothing');
    await screenshot(page, 'share-en');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'share-en');
  });

  it('downloads the PDF passport in the language chosen', async () => {
    const { page } = await signInAs(server, 'demo-citizen', { width: DESKTOP });
    await page.getByRole('link', { name: 'Бөлісу' }).click();
    await page.getByRole('heading', { level: 1, name: 'Паспортпен бөлісу' }).waitFor();
    await page.getByLabel('PDF тілі').selectOption('ru');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'PDF жүктеп алу' }).click()]);
    assert.match(download.suggestedFilename(), /^health-passport-ru-\d{4}-\d{2}-\d{2}\.pdf$/);
    const file = await readFile((await download.path())!);
    assert.equal(file.subarray(0, 5).toString('latin1'), '%PDF-');
    await page.getByText('PDF жүктелді.').waitFor();
    await screenshot(page, 'share-kk');
    await pageAtWidth(page.context(), PHONE);
    await screenshot(page, 'share-kk');
  });
});
