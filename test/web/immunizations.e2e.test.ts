import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle, Immunization, MedicationRequest, Parameters } from '@medplum/fhirtypes';
import { forecastRecommendation, shotsToGive } from '../../web/src/screens/immunizations/logic.js';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

describe('immunizations and medications in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  let token: string;
  const api = async <T,>(path: string, language = 'en'): Promise<T> => {
    const response = await fetch(`${server.fhirBase}/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json', 'accept-language': language } });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as T;
  };
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('shows the doses given and what the national calendar says is due, in the chosen language', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    token = await page.evaluate(() => (JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken: string }).accessToken);
    const given = (await api<Bundle<Immunization>>(`Immunization?patient=${server.citizenPatient}`)).entry!.map((e) => e.resource!);
    assert.ok(given.length > 0);

    await page.getByRole('link', { name: 'Екпелер' }).click();
    await page.getByRole('heading', { level: 1, name: 'Екпелер' }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Салынған екпелер' }).waitFor();
    const kkForecast = shotsToGive(forecastRecommendation(await api<Parameters>(`Patient/${server.citizenPatient}/$immds-forecast`, 'kk')));
    const givenText = (await page.locator('ul.given').textContent()) ?? '';
    for (const dose of given) assert.ok(givenText.includes(dose.vaccineCode.text ?? dose.vaccineCode.coding![0]!.display!), givenText);
    // The forecast's vaccine names arrive in Kazakh, as the screen's language asks.
    assert.equal(await page.locator('li.shot').count(), kkForecast.length);
    if (kkForecast[0]) await page.getByRole('heading', { level: 3, name: kkForecast[0].vaccine }).first().waitFor();
    await screenshot(page, 'immunizations-kk');

    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { level: 1, name: 'Immunizations' }).waitFor();
    const enForecast = shotsToGive(forecastRecommendation(await api<Parameters>(`Patient/${server.citizenPatient}/$immds-forecast`, 'en')));
    await page.locator('li.shot, .state-empty').first().waitFor();
    assert.equal(await page.locator('li.shot').count(), enForecast.length);
    const first = enForecast[0];
    if (first) {
      const card = page.locator('li.shot').first();
      await card.getByRole('heading', { level: 3, name: first.vaccine }).waitFor();
      const words = { overdue: 'Overdue', due: 'Due now', upcoming: 'Upcoming' }[first.state];
      assert.ok((await card.textContent())?.includes(words));
    } else {
      await page.getByText('Nothing is due now').waitFor();
    }
    await screenshot(page, 'immunizations-en');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'immunizations-en');
  });

  it('lists prescriptions, current first, with dosage and dates', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    token = await page.evaluate(() => (JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken: string }).accessToken);
    const requests = ((await api<Bundle<MedicationRequest>>(`MedicationRequest?patient=${server.citizenPatient}&_count=200`)).entry ?? []).map((e) => e.resource!);
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('link', { name: 'Medications' }).click();
    await page.getByRole('heading', { level: 1, name: 'Medications and prescriptions' }).waitFor();
    if (requests.length === 0) {
      await page.getByText('No medicines or prescriptions recorded.').waitFor();
    } else {
      await page.locator('li.medication').first().waitFor();
      const active = requests.filter((r) => ['active', 'on-hold', 'draft'].includes(r.status));
      const current = page.locator('section[aria-labelledby="medications-current"] li.medication');
      assert.equal(await current.count(), active.length);
      const text = (await page.locator('main').textContent()) ?? '';
      for (const r of requests) {
        const name = r.medicationCodeableConcept?.text ?? r.medicationCodeableConcept?.coding?.[0]?.display;
        if (name) assert.ok(text.includes(name), `${name} shown`);
        const dosage = r.dosageInstruction?.[0]?.text;
        if (dosage) assert.ok(text.includes(dosage), `${dosage} shown`);
      }
    }
    assert.equal(await page.locator('.state-error').count(), 0);
    await screenshot(page, 'medications-en');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'medications-en');
  });
});
