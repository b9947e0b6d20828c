/**
 * Issue 15's own end-to-end scenario, in one test: the demo citizen signs in, switches language,
 * opens the glucose trend, blocks the demo clinician's organization on the privacy screen; the
 * clinician, through the API, now gets 404 for the citizen's record; the citizen's access log
 * shows that refused attempt with the organization. Then unblocking gives the clinician the record again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, Bundle, Consent, Organization } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

const GLUCOSE = 'http://loinc.org|14749-6';

/** The signed-in page's session (sessionStorage): its access token and, for staff, their organization. */
async function pageSession(page: Page): Promise<{ accessToken: string; organization?: string }> {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken: string; organization?: string });
}

async function api(server: WebServer, token: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.fhirBase}/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

describe('the citizen’s journey of issue 15 in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('blocks the clinician’s organization, which is then refused the record, and the access log shows the attempt', async () => {
    // The demo clinician, through the API with the token their staff page gives: the record is open to them.
    const staff = await signInAs(server, 'demo-clinician', { width: DESKTOP });
    await staff.page.locator('#access-token').waitFor();
    const clinician = await pageSession(staff.page);
    const organizationId = clinician.organization!;
    assert.ok(organizationId, 'the demo clinician works for an organization');
    await staff.browser.close();
    const patientPath = `Patient/${server.citizenPatient}`;
    assert.equal((await api(server, clinician.accessToken, patientPath)).status, 200, 'before: the clinician reads the record');
    const organization = (await api(server, clinician.accessToken, `Organization/${organizationId}`)).body as Organization;
    const organizationName = organization.name!;

    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    assert.equal(await page.locator('html').getAttribute('lang'), 'kk');
    await page.getByRole('button', { name: 'English' }).click();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    const citizen = await pageSession(page);

    // The glucose trend, through the results list's link.
    await page.getByRole('link', { name: 'Results', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Test results' }).waitFor();
    const glucose = ((await api(server, citizen.accessToken, `Observation?patient=${server.citizenPatient}&code=${encodeURIComponent(GLUCOSE)}&_sort=date`)).body as Bundle).entry ?? [];
    assert.ok(glucose.length >= 2, 'a glucose series to draw');
    await page.locator(`a[href*="${encodeURIComponent(GLUCOSE)}"]`).click();
    await page.getByRole('img', { name: new RegExp(`^Trend of .*: ${glucose.length} values`) }).waitFor();
    assert.equal(await page.locator('.trend-point').count(), glucose.length);
    assert.match(page.url(), /\/results\?code=/);

    // Privacy: find the organization by the start of its name, read what blocking does, confirm.
    await page.getByRole('link', { name: 'Privacy', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Privacy' }).waitFor();
    await page.getByText('No restrictions').waitFor();
    await screenshot(page, 'privacy-en');
    await page.getByLabel('Organization name').fill(organizationName.split(' ')[0]!);
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('button', { name: `Choose ${organizationName}`, exact: true }).click();
    await page.getByRole('heading', { level: 3, name: `Block ${organizationName}?` }).waitFor();
    assert.ok((await page.locator('.confirm').textContent())?.includes(`Doctors at ${organizationName} will no longer see your record`));
    await page.getByRole('button', { name: `Yes, block ${organizationName}` }).click();
    await page.getByRole('status').filter({ hasText: `${organizationName} is blocked.` }).waitFor();
    await page.getByText(`${organizationName} is blocked`, { exact: true }).waitFor();
    await screenshot(page, 'privacy-blocked-en');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'privacy-blocked-en');
    await pageAtWidth(browser.context, PHONE);

    const consents = ((await api(server, citizen.accessToken, `Consent?patient=${server.citizenPatient}&status=active`)).body as Bundle<Consent>).entry ?? [];
    assert.equal(consents.length, 1, 'one Consent in force');
    assert.equal(consents[0]!.resource!.provision?.provision?.[0]?.actor?.[0]?.reference?.reference, `Organization/${organizationId}`);

    // The clinician is now refused: 404, as if there were no such record.
    assert.equal((await api(server, clinician.accessToken, patientPath)).status, 404, 'after: the blocked organization gets 404');
    const log = ((await api(server, citizen.accessToken, `${patientPath}/$access-log?_count=50`)).body as Bundle<AuditEvent>).entry!.map((e) => e.resource!);
    assert.ok(log.some((e) => e.outcome === '4' && e.agent.some((a) => a.who?.reference === `Organization/${organizationId}`)), 'the API records the refused attempt');

    // Back in the app: the access log shows the refused attempt, with the organization, marked in words.
    await page.getByRole('link', { name: 'Who looked', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Who accessed my record' }).waitFor();
    const refused = page.locator('li.access[data-outcome="refused"]').filter({ has: page.getByRole('heading', { level: 2, name: organizationName, exact: true }) });
    await refused.first().waitFor();
    const text = (await refused.first().textContent()) ?? '';
    assert.ok(text.includes("refused: the patient's consent denies this organization"), text);
    assert.ok(text.includes('Opened the record'), text);
    await screenshot(page, 'access-log-en');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'access-log-en');

    // In Russian the same entry reads in Russian.
    await page.getByRole('button', { name: 'Русский' }).click();
    await page.getByRole('heading', { level: 1, name: 'Кто смотрел мою запись' }).waitFor();
    await page.locator('li.access[data-outcome="refused"]').filter({ hasText: 'Отказано: согласие пациента запрещает доступ этой организации' }).first().waitFor();

    // Unblocking ends the Consent: the clinician reads the record again.
    await page.getByRole('link', { name: 'Приватность', exact: true }).click();
    await page.getByRole('button', { name: `Снять блокировку «${organizationName}»` }).click();
    await page.getByRole('status').filter({ hasText: 'снята' }).waitFor();
    await page.getByText('Ограничений нет', { exact: false }).waitFor();
    assert.equal((await api(server, clinician.accessToken, patientPath)).status, 200, 'unblocked: the clinician reads the record again');
  });
});
