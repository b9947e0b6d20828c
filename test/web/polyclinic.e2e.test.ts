import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, Bundle, Organization, Patient } from '@medplum/fhirtypes';
import { mintAccessToken } from '../../src/access/tokens.js';
import { declarationsOf } from '../../web/src/screens/polyclinic/logic.js';
import { decodeJwt } from '../access/harness.js';
import { DESKTOP, PHONE, type WebServer, pageAtWidth, screenshot, signInAs, startWebServer } from './browser-harness.js';

const POLYCLINIC = 'http://densaulyq.kz/fhir/CodeSystem/facility-type|polyclinic';

describe('My polyclinic in Chromium', { timeout: 300_000 }, () => {
  let server: WebServer;
  let token: string;
  const api = async <T,>(path: string): Promise<T> => {
    const response = await fetch(`${server.fhirBase}/${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'application/fhir+json' } });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as T;
  };
  const declarations = async (status: string) => declarationsOf(await api<Bundle>(`Patient/${server.citizenPatient}/$care-declarations?status=${status}`));
  before(async () => {
    server = await startWebServer();
  });
  after(async () => {
    await server?.stop();
  });

  it('shows the polyclinic, confirms then withdraws the self-declared visit, and attaches to another polyclinic', async () => {
    const { page, browser } = await signInAs(server, 'demo-citizen', { width: PHONE });
    token = await page.evaluate(() => (JSON.parse(sessionStorage.getItem('densaulyq.session') ?? '{}') as { accessToken: string }).accessToken);
    const patient = await api<Patient>(`Patient/${server.citizenPatient}`);
    const currentId = patient.generalPractitioner?.find((r) => r.reference?.startsWith('Organization/'))?.reference?.split('/')[1];
    assert.ok(currentId, 'the demo citizen is attached to a polyclinic');
    const current = await api<Organization>(`Organization/${currentId}`);
    const [open] = await declarations('open');
    assert.ok(open?.organizationName, 'the demo citizen has an open self-declared visit');

    // A clinician of the organization that declared the visit, with a token as the token endpoint would sign it.
    const { iss, aud } = decodeJwt(token) as { iss: string; aud: string };
    const visiting = await mintAccessToken(server.running.db, { sub: 'demo-visiting-clinician', client_id: 'densaulyq-cli', scope: 'user/*.cruds', role: 'clinician', organization: open.organization }, { issuer: iss, fhirBaseUrl: aud });
    const readAsVisiting = () => fetch(`${server.fhirBase}/Patient/${server.citizenPatient}`, { headers: { authorization: `Bearer ${visiting.access_token}`, accept: 'application/fhir+json' } });
    assert.equal((await readAsVisiting()).status, 200, 'the self-declared visit lets its organization in while open');

    await page.getByRole('link', { name: 'Емханам' }).click();
    await page.getByRole('heading', { level: 1, name: 'Менің емханам' }).waitFor();
    const currentCard = page.locator('article[aria-labelledby="current-care"]');
    await currentCard.getByText(current.name!, { exact: true }).waitFor();
    const visit = page.getByRole('listitem').filter({ has: page.getByRole('heading', { level: 3, name: open.organizationName }) });
    await visit.getByText('Сіздің шешіміңізді күтуде').waitFor();
    assert.equal(await page.locator('.state-error').count(), 0);
    await screenshot(page, 'polyclinic-kk');

    // Confirm, in English: the organization's care is corroborated.
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { level: 1, name: 'My polyclinic' }).waitFor();
    await visit.getByText(`If you say no: ${open.organizationName} stops seeing your record at once`, { exact: false }).waitFor();
    await visit.getByRole('button', { name: 'Yes, I was there' }).click();
    await page.getByRole('status').filter({ hasText: `Confirmed: ${open.organizationName}` }).waitFor();
    await visit.getByText('You confirmed').waitFor();
    assert.deepEqual((await declarations('confirmed')).map((d) => d.organization), [open.organization]);
    assert.equal((await declarations('open')).length, 0);

    // Take the confirmation back: disputed, the organization's access under it ends.
    await visit.getByRole('button', { name: 'Take back my confirmation' }).click();
    await page.getByRole('status').filter({ hasText: `Done: ${open.organizationName} no longer sees your record.` }).waitFor();
    await visit.getByText('You disagreed').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'status', 'focus goes to what happened, not lost with the buttons');
    assert.equal(await visit.getByRole('button').count(), 0, 'nothing left to decide');
    assert.deepEqual((await declarations('disputed')).map((d) => d.organization), [open.organization]);
    assert.equal((await readAsVisiting()).status, 404, 'the disputed organization no longer sees the record');
    const log = (await api<Bundle<AuditEvent>>(`Patient/${server.citizenPatient}/$access-log?_count=20`)).entry!.map((e) => e.resource!);
    const byVisiting = log.filter((e) => e.agent.some((a) => a.who?.reference === `Organization/${open.organization}`));
    // The read the open visit allowed is in the citizen's access log, marked self-declared.
    assert.ok(
      byVisiting.some((e) => e.outcome === '0' && e.meta?.security?.some((s) => s.code === 'self-declared')),
      JSON.stringify(byVisiting.map((e) => [e.outcome, e.meta?.security])),
    );
    const again = await fetch(`${server.fhirBase}/Patient/${server.citizenPatient}/$dispute-care`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'organization', valueReference: { reference: `Organization/${open.organization}` } }] }),
    });
    assert.equal(again.status, 404, 'nothing more to dispute');

    // Attach to another polyclinic found by part of its name.
    const polyclinics = (await api<Bundle<Organization>>(`Organization?type=${encodeURIComponent(POLYCLINIC)}&_count=50`)).entry!.map((e) => e.resource!);
    const other = polyclinics.find((o) => o.id !== currentId && o.name);
    assert.ok(other, 'another polyclinic exists');
    await page.getByLabel('Polyclinic name').fill(other.name!.slice(0, 12));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('button', { name: `Choose ${other.name}` }).click();
    const confirm = page.getByRole('group', { name: `Register with ${other.name}?` });
    await confirm.getByText(`${current.name} will no longer be your polyclinic`, { exact: false }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'confirm-attach-title', 'focus moves to the question');
    await screenshot(page, 'polyclinic-attach-en');
    await confirm.getByRole('button', { name: 'Yes, register' }).click();
    await page.getByRole('status').filter({ hasText: `Done: your polyclinic is now ${other.name}.` }).waitFor();
    await currentCard.getByText(other.name!, { exact: true }).waitFor();
    const attached = await api<Patient>(`Patient/${server.citizenPatient}`);
    assert.deepEqual(
      attached.generalPractitioner?.filter((r) => r.reference?.startsWith('Organization/')).map((r) => r.reference),
      [`Organization/${other.id}`],
    );
    await screenshot(page, 'polyclinic-en');
    await pageAtWidth(browser.context, DESKTOP);
    await screenshot(page, 'polyclinic-en');

    await page.getByRole('button', { name: 'Русский' }).click();
    await page.getByRole('heading', { level: 1, name: 'Моя поликлиника' }).waitFor();
    await visit.getByText('Вы не согласились').waitFor();
    await screenshot(page, 'polyclinic-ru');
  });
});
