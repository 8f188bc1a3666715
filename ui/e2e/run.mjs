// End-to-end test of the built mock UI (`npm run build:mock` first) in headless Chromium:
// create two accounts through the dialog, switch between them; then chat: an account with a
// relay and a handle, a contact added, a message that goes pending -> sent -> delivered -> read,
// a reply, and an unread badge on another chat; then importing a WhatsApp export through the
// wizard (preview, date order, progress) and reading the imported chat. Saves screenshots per
// theme to ../artifacts/.
// Exits non-zero on any failure and never hangs.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const HARD_LIMIT_MS = 180_000;
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
  await run(browser, colorScheme, 'accounts flow', 'ui-accounts', (page) => accountsFlow(page, baseUrl, colorScheme));
  await run(browser, colorScheme, 'chat flow', 'ui-chat', (page) => chatFlow(page, baseUrl, colorScheme));
  await run(browser, colorScheme, 'import flow', 'ui-import-chat', (page) => importFlow(page, baseUrl, colorScheme));
}

async function run(browser, colorScheme, title, shot, flow) {
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
    await flow(page);
    check(problems.length === 0, `no console errors or CSP violations, got:\n  ${problems.join('\n  ')}`);
    const file = shotPath(shot, colorScheme);
    if (shot === 'ui-accounts') await page.screenshot({ path: file, animations: 'disabled' });
    console.log(`✓ ${title} (${colorScheme}) — screenshot ${file}`);
    passed += 1;
  } catch (error) {
    failed += 1;
    console.error(`✗ ${title} (${colorScheme}): ${error.message}`);
    await page.screenshot({ path: join(artifacts, `${shot}-${colorScheme}-failure.png`) }).catch(() => {});
  } finally {
    await context.close();
  }
}

function shotPath(name, colorScheme) {
  return join(artifacts, colorScheme === 'light' ? `${name}.png` : `${name}-dark.png`);
}

async function accountsFlow(page, baseUrl, colorScheme) {
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
}

/** Waits until the newest message of the conversation shows the tick named `label`. */
async function tickShows(page, label) {
  await page.getByRole('log').locator('[data-message]').last().getByRole('img', { name: label, exact: true }).waitFor();
}

async function chatFlow(page, baseUrl, colorScheme) {
  await page.goto(`${baseUrl}?defaultRelay=`);
  await page.getByRole('button', { name: 'Create your first account' }).click();
  const create = page.getByRole('dialog', { name: 'Add account' });
  await create.getByLabel('Name', { exact: true }).fill('Anna Rossi');
  await create.getByLabel(/Relay address/).fill('wss://relay.example.org');
  await create.getByLabel(/Handle/).fill('anna');
  await create.getByRole('button', { name: 'Create' }).click();
  await create.waitFor({ state: 'detached' });
  await headerShows(page, 'Anna Rossi');
  // A new account connects to its relay.
  await page.getByRole('status').filter({ hasText: 'Connecting…' }).waitFor();
  await page.getByRole('status').filter({ hasText: 'Connecting…' }).waitFor({ state: 'detached' });

  // A handle nobody has is refused with the backend's words; a real one opens the chat.
  await page.getByRole('button', { name: 'Add contact' }).first().click();
  const add = page.getByRole('dialog', { name: 'Add contact' });
  await add.getByLabel('Handle').fill('@nobody');
  await add.getByRole('button', { name: 'Add' }).click();
  await add.getByRole('alert').filter({ hasText: 'No one on the relay has the handle @nobody.' }).waitFor();
  if (process.env.E2E_SHOTS) await page.screenshot({ path: join(process.env.E2E_SHOTS, `add-contact-${colorScheme}.png`) });
  await add.getByLabel('Handle').fill('@bruno');
  await add.getByRole('button', { name: 'Add' }).click();
  await add.waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Contact details for Bruno Bianchi' }).waitFor();

  // Enter sends; the ticks follow the message to the other side and back.
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('Ciao Bruno! Dinner on Friday?');
  await composer.press('Enter');
  check((await composer.inputValue()) === '', 'the composer to be empty after sending');
  await tickShows(page, 'Sending');
  await tickShows(page, 'Sent');
  await tickShows(page, 'Delivered');
  await tickShows(page, 'Read');
  await page.getByText('Bruno Bianchi is typing…').waitFor();
  await page.getByRole('log').getByText('Got it: “Ciao Bruno! Dinner on Friday?”').waitFor();

  // Another chat: its reply lands while Bruno's chat is on screen, so it counts as unread.
  await page.getByRole('button', { name: 'Add contact' }).first().click();
  await add.getByLabel('Handle').fill('carla');
  await add.getByRole('button', { name: 'Add' }).click();
  await add.waitFor({ state: 'detached' });
  await composer.fill('Carla, are you coming too?');
  await composer.press('Enter');
  await page.getByRole('button', { name: /^Bruno Bianchi/ }).click();
  await page.getByRole('button', { name: 'Carla Conti, 1 unread' }).waitFor({ timeout: 15_000 });
  const rail = page.getByRole('button', { name: 'Anna Rossi', exact: true });
  await rail.getByText('1', { exact: true }).waitFor();
  await page.screenshot({ path: shotPath('ui-chat', colorScheme), animations: 'disabled' });
  // Opening it reads it: the badges go.
  await page.getByRole('button', { name: 'Carla Conti, 1 unread' }).click();
  await page.getByRole('button', { name: 'Carla Conti', exact: true }).waitFor();
  await rail.getByText('1', { exact: true }).waitFor({ state: 'detached' });

  // The contact page shows the safety number, and a changed identity is a visible warning.
  await page.getByRole('button', { name: /^Bruno Bianchi/ }).click();
  await page.evaluate(() => window.__missivaMock.changeIdentity(1, 'bruno'));
  await page.getByRole('note', { name: 'Security notice' }).waitFor();
  await page.getByRole('button', { name: 'Contact details for Bruno Bianchi' }).click();
  const panel = page.getByRole('complementary', { name: 'Contact details' });
  const groups = await panel.getByRole('list', { name: 'Safety number' }).getByRole('listitem').allTextContents();
  check(groups.length === 12 && groups.every((group) => /^\d{5}$/.test(group)), `12 groups of 5 digits, got ${groups}`);
  await panel.getByRole('alert').filter({ hasText: 'safety number with Bruno Bianchi changed' }).waitFor();
  await page.screenshot({ path: shotPath('ui-contact', colorScheme), animations: 'disabled' });
  await panel.getByRole('button', { name: 'Close contact details' }).click();

  // A draft stays with its chat; the connection indicator follows the relay.
  await composer.fill('half a thought');
  await page.getByRole('button', { name: 'Carla Conti', exact: true }).click();
  check((await composer.inputValue()) === '', 'Carla’s composer to start empty');
  await page.getByRole('button', { name: /^Bruno Bianchi/ }).click();
  check((await composer.inputValue()) === 'half a thought', 'Bruno’s draft to come back');
  await composer.fill('');
  await page.evaluate(() => window.__missivaMock.setConnection(1, 'offline'));
  await page.getByRole('status').filter({ hasText: 'Offline' }).waitFor();
  await page.evaluate(() => window.__missivaMock.setConnection(1, 'online'));
  await page.getByRole('status').filter({ hasText: 'Offline' }).waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Carla Conti', exact: true }).click();
  await composer.focus();
}

async function importFlow(page, baseUrl, colorScheme) {
  await page.goto(`${baseUrl}?account=${encodeURIComponent('Anna Rossi')}&relay=wss://relay.example.org`);
  await headerShows(page, 'Anna Rossi');
  await page.getByRole('status').filter({ hasText: 'Connecting…' }).waitFor({ state: 'detached' });
  await page.evaluate(() =>
    window.__missivaMock.seed(1, 'bruno', [{ text: 'Did you get the photos from Sicily?', at: new Date().toISOString() }]),
  );
  await page.getByRole('button', { name: /^Bruno Bianchi/ }).waitFor();

  // A file that is not an export, dropped on the window: the wizard opens and says why.
  await page.evaluate(() =>
    window.__missivaMock.emit({ account: 1, kind: { type: 'importFileDropped', path: '/home/anna/bad.txt' } }),
  );
  const wizard = page.getByRole('dialog', { name: 'Import a WhatsApp chat' });
  await wizard.getByRole('alert').filter({ hasText: 'is not a WhatsApp chat export' }).waitFor();
  await wizard.getByRole('button', { name: 'Cancel' }).click();
  await wizard.waitFor({ state: 'detached' });

  // From the account menu: choose the file, check the preview.
  await page.getByRole('button', { name: 'Account options' }).click();
  await page.getByRole('menuitem', { name: 'Import chat…' }).click();
  if (process.env.E2E_SHOTS) await page.screenshot({ path: join(process.env.E2E_SHOTS, `import-choose-${colorScheme}.png`) });
  await wizard.getByRole('button', { name: 'Choose file…' }).click();
  await wizard.getByText('WhatsApp on Android').waitFor();
  check(await wizard.getByText(/Missiva guessed/).isVisible(), 'the guessed date order to be flagged');
  const range = wizard.getByText(/–/).first();
  check((await range.textContent()).includes('Apr 5, 2023'), `the dates to read day first, got ${await range.textContent()}`);
  await page.screenshot({ path: shotPath('ui-import-preview', colorScheme), animations: 'disabled' });
  const order = wizard.getByRole('combobox', { name: 'Date order' });
  await order.selectOption('mdy');
  check(!(await wizard.getByText(/Missiva guessed/).isVisible()), 'no guess warning once the user chose');
  await wizard.getByText('May 4, 2023 – Dec 4, 2023').waitFor();
  await order.selectOption('dmy');
  await wizard.getByText('Apr 5, 2023 – Apr 12, 2023').waitFor();
  check(
    (await wizard.getByRole('combobox', { name: 'Which one is you?' }).inputValue()) === 'Anna Rossi',
    'the guessed “me” to be preselected',
  );

  // Import with progress; the summary; the chat with its authors and the imported mark.
  await wizard.getByRole('button', { name: 'Import', exact: true }).click();
  await wizard.getByRole('progressbar', { name: 'Import progress' }).waitFor();
  await wizard.getByText(/^[1-9]\d* messages read$/).waitFor();
  if (process.env.E2E_SHOTS) await page.screenshot({ path: join(process.env.E2E_SHOTS, `import-running-${colorScheme}.png`) });
  await wizard.getByText('Import finished.').waitFor();
  await wizard.getByText('25 messages added').waitFor();
  if (process.env.E2E_SHOTS) await page.screenshot({ path: join(process.env.E2E_SHOTS, `import-done-${colorScheme}.png`) });
  await wizard.getByRole('button', { name: 'Open chat' }).click();
  await wizard.waitFor({ state: 'detached' });
  const log = page.getByRole('log', { name: 'Messages with Trip to Sicily' });
  await log.waitFor();
  const made = log.locator('[data-message]').filter({ hasText: 'Made it!' });
  await made.getByText('Luca Moretti').waitFor();
  await made.getByRole('img', { name: 'Imported' }).waitFor();
  await page.screenshot({ path: shotPath('ui-import-chat', colorScheme), animations: 'disabled' });
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
