import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle } from '@medplum/fhirtypes';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

describe('my polyclinic, in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('lets the demo citizen dispute the self-declared visit', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('link', { name: 'My polyclinic' }).click();
    await page.getByRole('heading', { level: 1, name: 'My polyclinic' }).waitFor();
    const dispute = page.getByRole('button', { name: 'No, I was not there' });
    await dispute.first().waitFor();
    await screenshot(page, 'polyclinic');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'polyclinic');
    const token = await page.evaluate(() => (JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken?: string }).accessToken ?? '');
    await dispute.first().click();
    await page.getByText('Disputed: this organization no longer sees your record.').waitFor();

    const response = await fetch(`${server.fhirBase}/Patient/${server.citizenPatient}/$care-declarations?status=disputed`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as Bundle).entry?.length, 1);
  });
});
