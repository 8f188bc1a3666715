// End-to-end test of the built mock UI (`npm run build:mock` first) in headless Chromium:
// create two accounts through the dialog, switch between them, and save a screenshot per
// theme to ../artifacts/. Exits non-zero on any failure and never hangs.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const HARD_LIMIT_MS = 120_000;
const STEP_TIMEOUT_MS = 10_000;
const here = dirname(fileURLToPath(import.meta.url));
const distMock = resolve(here, '../dist-mock');
const artifacts = resolve(here, '../../artifacts');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const watchdog = setTimeout(() => {
  console.error(`e2e: gave up after ${HARD_LIMIT_MS / 1000} s`);
  process.exit(2);
}, HARD_LIMIT_MS);
watchdog.unref();

let passed = 0;
let failed = 0;

function check(condition, what) {
  if (!condition) throw new Error(`expected ${what}`);
}

async function pressed(page, name) {
  return page.getByRole('button', { name, exact: true }).getAttribute('aria-pressed');
}

async function headerShows(page, name) {
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
  check((await pressed(page, name)) === 'true', `the avatar of “${name}” to be pressed`);
}

async function createAccount(page, opener, name, relay) {
  await page.getByRole('button', { name: opener, exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Add account' });
  await dialog.waitFor();
  const field = dialog.getByLabel('Name', { exact: true });
  check(await field.evaluate((el) => el === document.activeElement), 'the name field to have focus');
  await field.fill(name);
  if (relay) await dialog.getByLabel(/Relay address/).fill(relay);
  await field.press('Enter');
  await dialog.waitFor({ state: 'detached' });
  await headerShows(page, name);
}

async function scenario(browser, baseUrl, colorScheme) {
  const context = await browser.newContext({
    colorScheme,
    locale: 'en-US',
    viewport: { width: 1120, height: 720 },
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  try {
    await page.goto(baseUrl);
    check((await page.title()) === 'Missiva', 'the window title “Missiva”');
    await page.getByRole('heading', { name: 'Welcome to Missiva' }).waitFor();
    if (process.env.E2E_SHOTS) await page.screenshot({ path: join(process.env.E2E_SHOTS, `welcome-${colorScheme}.png`) });

    await createAccount(page, 'Create your first account', 'Anna Rossi', 'wss://relay.example.org');
    await createAccount(page, 'Add account', 'Work', null);
    check((await pressed(page, 'Anna Rossi')) === 'false', 'the first account to be unselected');

    await page.getByRole('button', { name: 'Anna Rossi', exact: true }).click();
    await headerShows(page, 'Anna Rossi');
    check((await pressed(page, 'Work')) === 'false', '“Work” to be unselected');
    await page.getByRole('button', { name: 'Work', exact: true }).click();
    await headerShows(page, 'Work');
    await page.getByRole('button', { name: 'Anna Rossi', exact: true }).click();
    await headerShows(page, 'Anna Rossi');

    if (process.env.E2E_SHOTS) {
      await page.getByRole('button', { name: 'Account options' }).click();
      await page.screenshot({ path: join(process.env.E2E_SHOTS, `menu-${colorScheme}.png`) });
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Add account' }).click();
      await page.getByRole('dialog').getByLabel(/Relay address/).fill('http://nope');
      await page.getByRole('dialog').getByLabel('Name', { exact: true }).fill('Club');
      await page.keyboard.press('Enter');
      await page.getByRole('dialog').getByRole('alert').filter({ hasText: 'ws://' }).waitFor();
      await page.screenshot({ path: join(process.env.E2E_SHOTS, `dialog-${colorScheme}.png`) });
      await page.keyboard.press('Escape');
    }

    check(problems.length === 0, `no console errors or CSP violations, got:\n  ${problems.join('\n  ')}`);
    const file = join(artifacts, colorScheme === 'light' ? 'ui-accounts.png' : 'ui-accounts-dark.png');
    await page.screenshot({ path: file, animations: 'disabled' });
    console.log(`✓ accounts flow (${colorScheme}) — screenshot ${file}`);
    passed += 1;
  } catch (error) {
    failed += 1;
    console.error(`✗ accounts flow (${colorScheme}): ${error.message}`);
    await page.screenshot({ path: join(artifacts, `ui-accounts-${colorScheme}-failure.png`) }).catch(() => {});
  } finally {
    await context.close();
  }
}

async function main() {
  if (!existsSync(join(distMock, 'index.html'))) {
    console.error('e2e: ui/dist-mock is missing; run `npm run build:mock` first');
    process.exit(1);
  }
  mkdirSync(artifacts, { recursive: true });
  const server = await serve(distMock);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    for (const scheme of ['light', 'dark']) await scenario(browser, server.url, scheme);
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
