import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { DESKTOP, PHONE, type WebServer, signInAs, startWebServer } from './browser-harness.js';

/** Every screen a citizen has (web/src/screens.ts), and the staff page. */
const CITIZEN_SCREENS = ['', 'timeline', 'results', 'results?code=http%3A%2F%2Floinc.org%7C14749-6', 'medications', 'immunizations', 'access-log', 'privacy', 'share', 'family', 'polyclinic'];
/** WCAG 2.1 A and AA, the level issue 15 asks for. */
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core's findings on the page as it is now, after its screen finished loading. */
async function violations(page: Page, source: string): Promise<Violation[]> {
  await page.waitForLoadState('networkidle');
  await page.locator('main h1').first().waitFor();
  await page.locator('.state-loading').waitFor({ state: 'detached' }).catch(() => undefined);
  // evaluate() runs beside the page's Content-Security-Policy, which refuses injected script tags.
  await page.evaluate(source);
  return page.evaluate(async (tags) => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: Violation[] }> } }).axe;
    return (await axe.run(document, { runOnly: { type: 'tag', values: tags } })).violations;
  }, TAGS);
}

const describeFindings = (found: Violation[]) => found.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('\n');

describe('the citizen app against WCAG 2.1 AA (axe-core in Chromium)', { timeout: 600_000 }, () => {
  let server: WebServer;
  let axeSource: string;
  before(async () => {
    server = await startWebServer();
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  });
  after(async () => {
    await server?.stop();
  });

  for (const width of [PHONE, DESKTOP]) {
    it(`every citizen screen at ${width} px, in Kazakh and English`, async () => {
      const { page } = await signInAs(server, 'demo-citizen', { width });
      const found: string[] = [];
      for (const language of ['Қазақша', 'English']) {
        await page.getByRole('button', { name: language }).click();
        for (const screen of CITIZEN_SCREENS) {
          await page.goto(`${server.url}/${screen}`);
          const screenFound = await violations(page, axeSource);
          if (screenFound.length > 0) found.push(`/${screen} (${language}):\n${describeFindings(screenFound)}`);
        }
      }
      assert.deepEqual(found, [], found.join('\n\n'));
    });
  }

  it('the staff page', async () => {
    const { page } = await signInAs(server, 'demo-clinician', { width: PHONE });
    assert.deepEqual(describeFindings(await violations(page, axeSource)), '');
  });
});
