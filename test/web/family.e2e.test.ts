import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

describe('the family screen, in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('switches the demo citizen to their child’s record and back', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('link', { name: 'Family' }).click();
    await page.getByRole('heading', { level: 1, name: 'Family' }).waitFor();
    const open = page.getByRole('button', { name: /^Open the record of / });
    await open.first().waitFor();
    const label = (await open.first().textContent()) ?? '';
    const child = label.replace(/^Open the record of /, '');
    await open.first().click();
    await page.getByText(`You are looking at the record of ${child}.`).waitFor();
    await screenshot(page, 'family-child');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'family-child');

    // Every screen now shows the child's data: the home screen says whose record it is.
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByText(`Record of ${child}`).waitFor();

    await page.getByRole('link', { name: 'Family' }).click();
    await page.getByRole('button', { name: 'Back to my own record' }).first().click();
    await page.getByText('You are looking at the record of').waitFor({ state: 'detached' });
    assert.equal(await page.locator('.state-error').count(), 0);
  });
});
