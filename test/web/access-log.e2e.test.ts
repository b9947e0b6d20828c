import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

describe('who accessed my record, in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('shows the demo citizen the clinician’s read of their record', async () => {
    const clinician = await signInAs(server, 'demo-clinician', { width: DESKTOP });
    await clinician.page.getByRole('heading', { level: 1, name: 'Қызметкерге арналған бет' }).waitFor();
    const token = await clinician.page.locator('#access-token').inputValue();
    const read = await fetch(`${server.fhirBase}/Patient/${server.citizenPatient}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
    assert.equal(read.status, 200);

    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('link', { name: 'Who looked' }).click();
    await page.getByRole('heading', { level: 1, name: 'Who accessed my record' }).waitFor();
    const entries = page.locator('ul.access-log > li');
    await entries.first().waitFor();
    assert.equal(await page.locator('.state-error').count(), 0);
    assert.ok((await entries.count()) > 0);
    await screenshot(page, 'access-log');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'access-log');
  });
});
