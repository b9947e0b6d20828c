import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Encounter, Observation, Organization } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

/** The signed-in page's own access token (sessionStorage), to ask the API what the screen should show. */
async function pageToken(page: Page): Promise<string> {
  return page.evaluate(() => (JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken: string }).accessToken);
}

async function api<T>(server: WebServer, token: string, path: string): Promise<T> {
  const response = await fetch(`${server.fhirBase}/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as T;
}

const GLUCOSE = 'http://loinc.org|14749-6';

describe('results and timeline in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('lists results by test with range and flag in words, and opens the glucose trend with its table', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    await page.getByRole('button', { name: 'English' }).click();
    const token = await pageToken(page);
    const series = await api<Bundle<Observation>>(server, token, `Observation?patient=${server.citizenPatient}&code=${encodeURIComponent(GLUCOSE)}&_sort=date`);
    const glucose = series.entry!.map((e) => e.resource!);
    const latest = glucose[glucose.length - 1]!;
    const name = latest.code.text ?? latest.code.coding![0]!.display!;

    await page.getByRole('link', { name: 'Results', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Test results' }).waitFor();
    const card = page.locator('li.result', { has: page.getByRole('heading', { level: 2, name, exact: true }) });
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    assert.ok(text.includes(String(latest.valueQuantity!.value)), `latest value in ${text}`);
    assert.ok(text.includes(`${latest.referenceRange![0]!.low!.value}–${latest.referenceRange![0]!.high!.value}`), `range in ${text}`);
    // The series rises into high: said in words, not only by colour.
    assert.equal(latest.interpretation?.[0]?.coding?.[0]?.code, 'H');
    assert.ok(text.includes('Above range'), text);
    assert.ok(text.includes(`Results: ${glucose.length}`), text);
    await screenshot(page, 'results-en');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'results-en');

    await card.getByRole('link').click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
    const chart = page.getByRole('img', { name: new RegExp(`${glucose.length} values`) });
    await chart.waitFor();
    assert.equal(await page.locator('.trend-band').count(), 1, 'the reference range band');
    assert.equal(await page.locator('.trend-point').count(), glucose.length);
    const rows = page.locator('.trend-table tbody tr');
    assert.equal(await rows.count(), glucose.length);
    assert.ok((await rows.first().textContent())?.includes(String(latest.valueQuantity!.value)), 'newest first in the table');
    await screenshot(page, 'results-trend-en');
    await pageAtWidth(browser.context, PHONE);
    await screenshot(page, 'results-trend-en');

    // In Russian the flag and the chart's label follow the language.
    await page.getByRole('button', { name: 'Русский' }).click();
    await page.getByRole('cell', { name: /Выше нормы/ }).first().waitFor();
    await page.getByRole('link', { name: /Ко всем результатам/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Результаты анализов' }).waitFor();
  });

  it('shows visits newest first and filters them on the server by type and organization', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    await page.getByRole('button', { name: 'English' }).click();
    const token = await pageToken(page);
    const encounters = (await api<Bundle<Encounter>>(server, token, `Encounter?patient=${server.citizenPatient}&_sort=-date&_count=100`)).entry!.map((e) => e.resource!);
    assert.ok(encounters.length > 0);

    await page.getByRole('link', { name: 'Timeline' }).click();
    await page.getByRole('heading', { level: 1, name: 'Timeline' }).waitFor();
    await page.locator('.timeline-entry').first().waitFor();
    assert.equal(await page.locator('.state-error').count(), 0);
    const firstVisit = page.locator('.timeline-encounter').first();
    const newest = encounters[0]!;
    assert.ok((await firstVisit.locator('time').getAttribute('datetime')) === newest.period?.start, 'the newest visit first');
    await screenshot(page, 'timeline-en');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'timeline-en');

    await page.getByLabel('Type').selectOption('encounter');
    await page.locator('.timeline-document').first().waitFor({ state: 'detached' });
    await page.locator('.timeline-encounter').first().waitFor();
    assert.equal(await page.locator('.timeline-entry:not(.timeline-encounter)').count(), 0);

    // One organization (the one with the fewest visits): the server answers only its visits.
    const byOrganization = new Map<string, Encounter[]>();
    for (const e of encounters) {
      const id = e.serviceProvider?.reference?.split('/')[1];
      if (id) byOrganization.set(id, [...(byOrganization.get(id) ?? []), e]);
    }
    const [organization, theirs] = [...byOrganization].sort((a, b) => a[1].length - b[1].length)[0]!;
    const { name: organizationName } = await api<Organization>(server, token, `Organization/${organization}`);
    const select = page.getByLabel('Organization');
    await select.locator(`option[value="${organization}"]`).waitFor({ state: 'attached' });
    await select.selectOption(organization);
    await page.waitForFunction(
      ({ n, name }) => {
        const entries = [...document.querySelectorAll('.timeline-entry')];
        return entries.length === n && entries.every((e) => e.textContent?.includes(name));
      },
      { n: Math.min(theirs.length, 10), name: organizationName! },
    );
    assert.ok(theirs.length < encounters.length, 'the filter leaves other visits out');

    // Paging follows the Bundle's next link until every visit shows.
    await page.getByLabel('Organization').selectOption('');
    await page.locator('.timeline-entry').first().waitFor();
    while (await page.getByRole('button', { name: 'Show more' }).isVisible()) {
      const before = await page.locator('.timeline-entry').count();
      await page.getByRole('button', { name: 'Show more' }).click();
      await page.waitForFunction((n) => document.querySelectorAll('.timeline-entry').length > n, before);
    }
    assert.equal(await page.locator('.timeline-entry').count(), encounters.length);
  });
});
