import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { seedingAccess } from '../../src/access/door.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { loadAuditKey } from '../../src/store/audit-key.js';
import { openDatabase } from '../../src/store/open.js';
import { Repository } from '../../src/store/repository.js';
import { createDemoAccounts } from '../../src/synth/demo-accounts.js';
import { seedDemoPopulation } from '../../src/synth/seed.js';
import { freePort } from '../access/harness.js';

/**
 * End-to-end harness for the citizen app: the real server (PGlite, a small demo population, a
 * random port) serving the built app (web/dist, which `npm run test:web` builds first), and Debian's Chromium
 * driven by playwright-core through the real sign-in and consent pages.
 *
 *   const server = await startWebServer();
 *   const { page } = await signInAs(server, 'demo-citizen', { width: 360 });
 *   await screenshot(page, 'home');            // test-artifacts/home-360.png
 *   await server.stop();                       // closes browsers opened for it too
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
export const PHONE = 360;
export const DESKTOP = 1280;

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface WebServer {
  /** `http://localhost:PORT`: the app at `/`, the API at `/fhir`. */
  url: string;
  fhirBase: string;
  /** The demo accounts' generated passwords, by username (demo-citizen, demo-clinician…). */
  passwords: ReadonlyMap<string, string>;
  /** The demo citizen's Patient id. */
  citizenPatient: string;
  running: RunningServer;
  stop(): Promise<void>;
}

export interface BrowserSession {
  context: BrowserContext;
  close(): Promise<void>;
}

const cleanups = new WeakMap<WebServer, (() => Promise<void>)[]>();

/** Seeds a fresh embedded database with `patients` demo patients and the demo accounts, then starts the server on a free port. */
export async function startWebServer({ patients = 3 }: { patients?: number } = {}): Promise<WebServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'densaulyq-web-'));
  const port = await freePort();
  const config = loadConfig({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', MLLP_PORT: '0', DEMO_PATIENTS: '0', AUDIT_ANCHOR_SECONDS: '0' });
  const db = await openDatabase({ dataDir: config.dataDir, auditKey: await loadAuditKey(config.auditKeyFile, { create: true }), poolSize: 1 });
  const passwords = new Map<string, string>();
  let citizenPatient = '';
  try {
    const repo = new Repository(db, seedingAccess());
    await seedDemoPopulation(repo, { patients, seed: 2026 });
    for (const account of await createDemoAccounts(db, repo)) {
      if (account.password) passwords.set(account.username, account.password);
      if (account.username === 'demo-citizen') citizenPatient = account.fhirUser?.split('/')[1] ?? '';
    }
  } finally {
    await db.close();
  }
  const running = await startServer(config, createLogger('silent'));
  const server: WebServer = {
    url: running.url,
    fhirBase: `${running.url}/fhir`,
    passwords,
    citizenPatient,
    running,
    async stop() {
      for (const cleanup of cleanups.get(server) ?? []) await cleanup();
      await running.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  cleanups.set(server, []);
  return server;
}

/** A Chromium with a fresh profile (its own cookies, so its own sign-in); closed with the server at the latest. */
export async function openBrowser(server: WebServer): Promise<BrowserSession> {
  const profile = await mkdtemp(join(tmpdir(), 'densaulyq-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: PHONE, height: 780 },
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await context.close();
    await rm(profile, { recursive: true, force: true });
  };
  cleanups.get(server)?.push(close);
  return { context, close };
}

/** A page of the context at a width (a phone's 360 px, a desktop's 1280 px). */
export async function pageAtWidth(context: BrowserContext, width: number): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.setViewportSize({ width, height: width <= PHONE ? 780 : 900 });
  return page;
}

/**
 * Opens the app in a fresh browser and signs in as a demo account through the platform's own
 * sign-in and consent pages; resolves when the app shows its signed-in navigation.
 */
export async function signInAs(server: WebServer, username: string, { width = PHONE }: { width?: number } = {}): Promise<{ page: Page; browser: BrowserSession }> {
  const password = server.passwords.get(username);
  if (!password) throw new Error(`no demo account ${username}`);
  const browser = await openBrowser(server);
  const page = await pageAtWidth(browser.context, width);
  await page.goto(`${server.url}/`);
  await page.getByRole('button', { name: /^(Кіру|Войти|Sign in)$/ }).click();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('button[type=submit]').click();
  await page.locator('button[name=decision][value=allow]').click();
  await page.locator('nav.screens').waitFor();
  return { page, browser };
}

/** Saves the page as test-artifacts/NAME-WIDTH.png (whole page) and returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}-${page.viewportSize()?.width ?? 0}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
