import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Consent } from '@medplum/fhirtypes';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

async function activeConsents(server: WebServer, token: string): Promise<Consent[]> {
  const response = await fetch(`${server.fhirBase}/Consent?patient=${server.citizenPatient}&status=active`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as Bundle<Consent>).entry?.map((e) => e.resource!) ?? [];
}

describe('the privacy and access-log screens in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('hides a sensitive category with a Consent and shows it again by ending it, in Kazakh', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    const token = await page.evaluate(() => (JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken: string }).accessToken);
    await page.getByRole('link', { name: 'Құпиялық', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Құпиялық' }).waitFor();
    await screenshot(page, 'privacy-kk');

    await page.getByRole('button', { name: '«Психикалық денсаулық» жасыру' }).click();
    await page.getByRole('status').filter({ hasText: '«Психикалық денсаулық» жасырылды.' }).waitFor();
    await page.getByText('Жасырылған: Психикалық денсаулық', { exact: true }).waitFor();
    const hidden = await activeConsents(server, token);
    assert.equal(hidden.length, 1);
    assert.deepEqual(hidden[0]!.provision?.provision?.[0]?.securityLabel?.map((l) => l.code), ['PSY']);
    await screenshot(page, 'privacy-hidden-kk');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'privacy-hidden-kk');

    await page.getByRole('button', { name: '«Психикалық денсаулық» көрсету' }).click();
    await page.getByRole('status').filter({ hasText: 'қайта көрінеді' }).waitFor();
    await page.getByRole('button', { name: '«Психикалық денсаулық» жасыру' }).waitFor();
    assert.deepEqual(await activeConsents(server, token), []);

    // Enough looks for more than one page of the log (20 a page).
    for (let i = 0; i < 25; i++) {
      const response = await fetch(`${server.fhirBase}/Patient/${server.citizenPatient}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 200);
    }

    // The access log, in Kazakh: the citizen's own looks, dated with numbers (no English month).
    await page.getByRole('link', { name: 'Кім қарады', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Жазбамды кім қарады' }).waitFor();
    await page.getByText(/Өзіңіздің қарағандарыңыз жасырылды: \d+/).waitFor();
    await page.getByLabel('Өзіңіздің (және отбасыңыздың) қарағандарын да көрсету').check();
    const first = page.locator('li.access').first();
    await first.waitFor();
    const when = (await first.locator('time').textContent()) ?? '';
    assert.match(when, /20\d\d/);
    assert.doesNotMatch(when, /[A-Za-z]/);
    assert.ok((await first.textContent())?.includes('Сіз'), 'the citizen’s own look says “you”');
    assert.equal(await page.locator('.state-error').count(), 0);
    // Paged: the next page follows the Bundle's next link and adds to the list.
    assert.equal(await page.locator('li.access').count(), 20);
    await page.getByRole('button', { name: 'Тағы көрсету' }).click();
    await page.waitForFunction(() => document.querySelectorAll('li.access').length > 20);
    await screenshot(page, 'access-log-kk');
    await pageAtWidth(browser.context, PHONE);
    await screenshot(page, 'access-log-kk');
  });
});
