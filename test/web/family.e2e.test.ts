import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { nameText } from '../../web/src/fhir/text.js';
import { familyOf } from '../../web/src/screens/family/logic.js';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

describe('family in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it("switches every screen to the child's record, says whose record is shown, and switches back", async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    const token = await page.evaluate(() => (JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken: string }).accessToken);
    const response = await fetch(`${server.fhirBase}/Patient`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
    assert.equal(response.status, 200);
    const family = familyOf(((await response.json()) as Bundle<Patient>).entry!.map((e) => e.resource!), server.citizenPatient);
    const child = family.children[0];
    assert.ok(child, 'the demo citizen is the parent of a child');
    const childName = nameText(child.name)!;
    const ownName = nameText(family.self!.name)!;

    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('link', { name: 'Family' }).click();
    await page.getByRole('heading', { level: 1, name: 'Family' }).waitFor();
    await page.getByRole('heading', { level: 2, name: `You: ${ownName}` }).waitFor();
    await page.getByRole('heading', { level: 2, name: childName }).waitFor();
    assert.equal(await page.getByTestId('record-banner').count(), 0, 'no banner on the own record');
    await screenshot(page, 'family-en');

    await page.getByRole('button', { name: `Show ${childName}’s record` }).click();
    const banner = page.getByTestId('record-banner');
    await banner.getByText(`You are looking at the record of ${childName}.`).waitFor();
    const childCard = page.locator('ul.family > li', { has: page.getByRole('heading', { level: 2, name: childName }) });
    await childCard.getByText('This record is shown now').waitFor();
    await screenshot(page, 'family-child-en');

    // Another screen now shows the child's record: the passport's own words say whose it is.
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByText(`Record of ${childName}`, { exact: true }).waitFor();
    // Sharing shares the record shown, so the share screen says whose it is too.
    await page.getByRole('link', { name: 'Share' }).click();
    await banner.getByText(`You are looking at the record of ${childName}.`).waitFor();
    await page.getByRole('link', { name: 'Family' }).click();
    await banner.waitFor();
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'family-child-en');

    await banner.getByRole('button', { name: 'Back to my own record' }).click();
    await banner.waitFor({ state: 'detached' });
    await page.locator('ul.family > li', { has: page.getByRole('heading', { level: 2, name: `You: ${ownName}` }) }).getByText('This record is shown now').waitFor();
    await page.getByRole('link', { name: 'Home' }).click();
    await page.getByText(`Record of ${ownName}`, { exact: true }).waitFor();

    await page.getByRole('button', { name: 'Қазақша' }).click();
    await page.getByRole('link', { name: 'Отбасы' }).click();
    await page.getByRole('heading', { level: 1, name: 'Отбасы' }).waitFor();
    await page.getByRole('button', { name: `${childName} жазбасын көрсету` }).waitFor();
    await screenshot(page, 'family-kk');
  });
});
