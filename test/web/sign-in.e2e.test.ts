import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

describe('the citizen app in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('signs the demo citizen in, shows the passport summary and switches language', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen');
    assert.equal(await page.locator('html').getAttribute('lang'), 'kk');
    await page.getByRole('heading', { level: 1, name: 'Денсаулық паспорты' }).waitFor();
    // The summary arrived: its sections and the primary-care card, not the loading or error state.
    await page.getByRole('heading', { level: 2, name: 'Менің алғашқы көмек ұйымым' }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Аурулар мен проблемалар' }).waitFor();
    assert.equal(await page.locator('.state-error').count(), 0);
    const storage = await page.evaluate(() => ({ local: localStorage.length, session: Object.keys(sessionStorage) }));
    assert.equal(storage.local, 0, 'nothing kept beyond the session');
    await screenshot(page, 'home-kk');

    await page.getByRole('button', { name: 'Русский' }).click();
    await page.getByRole('heading', { level: 1, name: 'Паспорт здоровья' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'ru');
    await page.getByRole('link', { name: 'Результаты' }).click();
    await page.getByRole('heading', { level: 1, name: 'Результаты анализов' }).waitFor();
    assert.match(page.url(), /\/results$/);

    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Test results' }).waitFor();
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByRole('heading', { level: 2, name: 'Recent results' }).waitFor();
    await screenshot(page, 'home-en');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'home-en');

    // A reload keeps the session and the language (sessionStorage), and opens the same screen.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Health passport' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.deepEqual(await page.evaluate(() => sessionStorage.getItem('densaulyq.session')), null);
  });

  it('gives the demo clinician the staff page with a token that works against /fhir', async () => {
    const { page } = await signInAs(server, 'demo-clinician', { width: DESKTOP });
    await page.getByRole('heading', { level: 1, name: 'Қызметкерге арналған бет' }).waitFor();
    assert.equal(await page.getByTestId('staff-role').textContent(), 'Дәрігер');
    const token = await page.locator('#access-token').inputValue();
    const curl = await page.locator('#curl-example').inputValue();
    assert.ok(curl.includes(token) && curl.includes(`${server.fhirBase}/Patient`), curl);
    await screenshot(page, 'staff');
    await pageAtWidth(page.context(), PHONE);
    await screenshot(page, 'staff');

    const response = await fetch(`${server.fhirBase}/Patient/${server.citizenPatient}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(((await response.json()) as { id: string }).id, server.citizenPatient);
    const refused = await fetch(`${server.fhirBase}/Patient/${server.citizenPatient}`, { headers: { authorization: `Bearer ${token}x` } });
    assert.equal(refused.status, 401);
  });
});
