// The whole member journey in a real browser: Debian's Chromium driven by playwright-core,
// against the example app (examples/web) on its own origin, the local gateway's CORS
// (scripts/local-gateway.mjs) and the real functions behind `cargo lambda watch`, with mail read
// from the local SES. Each step saves a screenshot into the folder printed at the start.
//
// scripts/test starts the API with the settings this test expects (it prints them) and runs:
//   BROWSER_API_UPSTREAM=http://127.0.0.1:<api> WEB_PORT=.. GATEWAY_PORT=.. CAPTCHA_PORT=..
//   SES_ENDPOINT=http://127.0.0.1:<ses> PLAYWRIGHT_CORE=.local/browser/node_modules/playwright-core
//   node --test tests/browser/
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';

import { startGateway } from '../../scripts/local-gateway.mjs';
import { startCaptchaProvider, startSite } from '../../examples/web/serve.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run scripts/test, which starts the API this test needs`);
  return v;
};
const WEB = `http://localhost:${env('WEB_PORT')}`;
const API = `http://localhost:${env('GATEWAY_PORT')}`;
const SES = env('SES_ENDPOINT').replace(/\/$/, '');
const SHOTS = process.env.SCREENSHOT_DIR ?? join(root, '.local', 'browser-journey');
const playwright = process.env.PLAYWRIGHT_CORE ?? join(root, '.local', 'browser', 'node_modules', 'playwright-core');
const { chromium } = await import(pathToFileURL(join(playwright, 'index.mjs')).href);

const tag = randomBytes(4).toString('hex');
// The README's weak password for nova: too short, too common and too close to the email.
const EMAIL = `nova@${tag}.example.com`;
const PASSWORDS = ['violet canyon orbit 7421', 'amber lantern drift 3390', 'quiet harbor maple 5816'];

let browser;
const servers = [];
let shot = 0;

/** Saves a screenshot of `page` as NN-name.png into SHOTS. */
async function snap(page, name) {
  shot += 1;
  await page.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

/** Every mail the local SES holds for `to`, oldest first. */
async function inbox(to) {
  const store = await (await fetch(`${SES}/store`)).json();
  return (store.emails ?? []).filter((m) => (m.destination?.to ?? []).includes(to)).map((m) => m.body?.text ?? '');
}

/** Waits until `to` has more than `seen` mails (they leave after the answer), returns the newest. */
async function nextMail(to, seen) {
  for (let i = 0; i < 100; i += 1) {
    const mails = await inbox(to);
    if (mails.length > seen) return mails.at(-1);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no new mail for ${to} after 10 s`);
}

async function cookies(context) {
  return Object.fromEntries((await context.cookies(API)).map((c) => [c.name, c]));
}

async function view(page, name) {
  await page.locator(`#view-${name}`).waitFor({ state: 'visible' });
}

async function message(page, text) {
  await page.locator('#message', { hasText: text }).waitFor({ state: 'visible' });
}

async function newDevice() {
  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  // The first answer of each function pays its cold start in a debug build, and the first
  // password check builds the policy's dictionaries: generous, so a slow machine is no failure.
  context.setDefaultTimeout(90_000);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  return { context, page };
}

async function open(page, path) {
  await page.goto(WEB + path);
  await page.locator('body[data-ready="true"]').waitFor({ state: 'attached' });
}

async function logIn(page, password) {
  await page.fill('#login-email', EMAIL);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  for (const f of readdirSync(SHOTS)) if (f.endsWith('.png')) rmSync(join(SHOTS, f));
  console.log(`screenshots: ${SHOTS}`);
  const provider = await startCaptchaProvider({ port: Number(env('CAPTCHA_PORT')) });
  const gateway = await startGateway({ port: Number(env('GATEWAY_PORT')), upstream: env('BROWSER_API_UPSTREAM'), origins: new Set([WEB]) });
  const site = await startSite({ port: Number(env('WEB_PORT')), apiBaseUrl: API, captchaUrl: `http://localhost:${env('CAPTCHA_PORT')}` });
  servers.push(provider, gateway, site);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.close();
});

describe('the member journey in Chromium', { concurrency: false, timeout: 300_000 }, () => {
  let a; // the member's laptop: two tabs, a1 and a2
  let a1;
  let b; // the member's phone
  let c; // a new device: first an attacker's guesses, then the member recovering

  it('register lists each password rule the weak password breaks', async () => {
    a = await newDevice();
    a1 = a.page;
    await open(a1, '/register');
    await a1.fill('#register-email', EMAIL);
    await a1.fill('#register-password', 'Nova2024');
    await a1.click('#register-submit');
    const rules = a1.locator('.violations[data-for="register"] li');
    await rules.first().waitFor();
    const shown = await rules.evaluateAll((lis) => lis.map((li) => li.dataset.rule).sort());
    assert.deepEqual(shown, ['TOO_COMMON', 'TOO_SHORT', 'TOO_SIMILAR']);
    await snap(a1, 'register-password-rules');
  });

  it('register, then verify by the code from the mail, signs in with the session cookie', async () => {
    const seen = (await inbox(EMAIL)).length;
    await a1.fill('#register-password', PASSWORDS[0]);
    await a1.click('#register-submit');
    await view(a1, 'verify');
    assert.equal(new URL(a1.url()).pathname, '/verify');
    await snap(a1, 'verify-code');
    const code = (await nextMail(EMAIL, seen)).match(/\b\d{6}\b/)?.[0];
    assert.ok(code, 'the mail carries a 6-digit code');
    await a1.fill('#verify-code', code);
    await a1.click('#verify-submit');
    await view(a1, 'home');
    assert.equal(await a1.textContent('#home-email'), EMAIL);
    await a1.locator('#devices tbody tr.current').waitFor();
    const session = (await cookies(a.context))['__Host-session'];
    assert.ok(session, 'the session cookie is set');
    assert.deepEqual([session.httpOnly, session.secure, session.sameSite, session.path], [true, true, 'Lax', '/']);
    await snap(a1, 'verified-signed-in');
  });

  it('logs out the SPA way, then logs in: session and device cookies, tokens for the page', async () => {
    await a1.click('#logout');
    await view(a1, 'signed-out');
    assert.equal((await cookies(a.context))['__Host-session'], undefined, 'logout expires the session cookie');
    await open(a1, '/');
    await logIn(a1, PASSWORDS[0]);
    await view(a1, 'home');
    const jar = await cookies(a.context);
    for (const name of ['__Host-session', '__Host-device']) {
      assert.ok(jar[name], `${name} is set`);
      assert.deepEqual([jar[name].httpOnly, jar[name].secure, jar[name].sameSite], [true, true, 'Lax'], name);
    }
    const tokens = JSON.parse(await a1.evaluate(() => localStorage.getItem('member-auth.tokens')));
    assert.match(tokens.accessToken, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(tokens.refreshToken, /^rt_/);
    await snap(a1, 'logged-in');
  });

  it('two tabs refreshing at once both stay signed in, with one refresh between them', async () => {
    const a2 = await a.context.newPage();
    await open(a2, '/');
    await view(a2, 'home');
    const before = JSON.parse(await a1.evaluate(() => localStorage.getItem('member-auth.tokens')));
    // A slow network keeps the first refresh in flight while the second tab asks; the API
    // runs with REFRESH_REUSE_INTERVAL_SECONDS=0, so a second refresh with the same token
    // would be a replay and end the session for both tabs.
    let refreshes = 0;
    await a.context.route('**/oauth2/token', async (route) => {
      if (route.request().postData()?.includes('grant_type=refresh_token')) refreshes += 1;
      await new Promise((r) => setTimeout(r, 300));
      await route.continue();
    });
    const [t1, t2] = await Promise.all([
      a1.evaluate(() => window.memberAuth.refresh()),
      a2.evaluate(() => window.memberAuth.refresh()),
    ]);
    await a.context.unroute('**/oauth2/token');
    assert.equal(refreshes, 1, 'the tabs share one refresh (Web Locks)');
    assert.ok(t1 && t2, 'both tabs hold tokens');
    assert.equal(t1.refreshToken, t2.refreshToken);
    assert.notEqual(t1.refreshToken, before.refreshToken, 'the refresh token rotated');
    for (const tab of [a1, a2]) {
      assert.ok(await tab.evaluate(() => window.memberAuth.sessions()), 'the tab can still call the API');
      await tab.reload();
      await view(tab, 'home');
    }
    await snap(a2, 'second-tab-after-refresh');
    await a2.close();
  });

  it('sees another device in the list and ends its session; that device is signed out', async () => {
    b = await newDevice();
    await open(b.page, '/');
    await logIn(b.page, PASSWORDS[0]);
    await view(b.page, 'home');
    await a1.reload();
    await view(a1, 'home');
    const rows = a1.locator('#devices tbody tr');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    await snap(a1, 'two-devices');
    await a1.click('#devices tbody tr:not(.current) .end-session');
    await message(a1, 'That device is signed out.');
    assert.equal(await rows.count(), 1);
    await b.page.reload();
    await view(b.page, 'login');
    await message(b.page, 'You have been signed out.');
    assert.equal(await b.page.evaluate(() => localStorage.getItem('member-auth.tokens')), null);
    await snap(b.page, 'other-device-signed-out');
  });

  it('change password shows a broken rule, then changes it', async () => {
    await a1.fill('#password-new', 'x'.repeat(129));
    await a1.click('#password-submit');
    await a1.locator('.violations[data-for="password"] li[data-rule="TOO_LONG"]').waitFor();
    await snap(a1, 'change-password-rule');
    await a1.fill('#password-current', PASSWORDS[0]);
    await a1.fill('#password-new', PASSWORDS[1]);
    await a1.click('#password-submit');
    await message(a1, 'Password changed');
    await snap(a1, 'password-changed');
  });

  it('guessing from elsewhere asks for a CAPTCHA, then locks the email with its retry time', async () => {
    c = await newDevice();
    await open(c.page, '/');
    let captchas = 0;
    for (let attempt = 0; attempt < 12 && !(await c.page.isVisible('#locked')); attempt += 1) {
      const widget = c.page.locator('.captcha[data-for="login"]');
      if (await widget.isVisible()) {
        if (captchas === 0) await snap(c.page, 'captcha-required');
        captchas += 1;
        await widget.locator('.captcha-check').check();
        await c.page.locator('.captcha[data-for="login"][data-solved]').waitFor();
      }
      await logIn(c.page, 'not the password at all');
      await c.page.waitForFunction(() => !document.querySelector('#login-submit').disabled);
    }
    assert.ok(captchas > 0, 'a CAPTCHA was asked for before the lock');
    await c.page.locator('#locked').waitFor();
    assert.match(await c.page.textContent('#locked-until'), /\d{1,2}:\d{2}:\d{2}/);
    assert.ok(Number(await c.page.textContent('#locked-seconds')) > 0);
    assert.ok(await c.page.isVisible('#locked-recovery'), 'the lock offers a password reset');
    await snap(c.page, 'locked');
  });

  it('recovers the password from the mailed link, which lifts the lock', async () => {
    const seen = (await inbox(EMAIL)).length;
    await c.page.click('#locked-reset');
    await view(c.page, 'forgot');
    assert.equal(await c.page.inputValue('#forgot-email'), EMAIL);
    await c.page.click('#forgot-submit');
    await message(c.page, 'a link to reset its password is on its way');
    const link = (await nextMail(EMAIL, seen)).split('\n').find((l) => l.startsWith('http'));
    assert.ok(link?.startsWith(`${WEB}/recover?recoveryToken=rc_`), `the mail links the app's page: ${link}`);
    await open(c.page, link.slice(WEB.length));
    await view(c.page, 'recover');
    await c.page.fill('#recover-password', PASSWORDS[2]);
    await c.page.click('#recover-submit');
    await view(c.page, 'home');
    await snap(c.page, 'recovered');
    await c.page.click('#logout');
    await view(c.page, 'signed-out');
    assert.equal((await cookies(c.context))['__Host-session'], undefined);
    await c.context.close();
  });

  it('logs out by full-page redirect to the allowlisted page: the session cookie is gone', async () => {
    // Recovery ended every other session, the laptop's too: it logs in again, with the new password.
    await open(a1, '/');
    await view(a1, 'login');
    await logIn(a1, PASSWORDS[2]);
    await view(a1, 'home');
    assert.ok((await cookies(a.context))['__Host-session']);
    await Promise.all([a1.waitForURL(`${WEB}/signed-out`), a1.click('#logout-redirect')]);
    await view(a1, 'signed-out');
    const jar = await cookies(a.context);
    assert.equal(jar['__Host-session'], undefined, 'the logout page expired the session cookie');
    assert.ok(jar['__Host-device'], 'the device cookie stays: it is no credential, and keeps this device known');
    assert.equal(await a1.evaluate(() => localStorage.getItem('member-auth.tokens')), null);
    await snap(a1, 'logged-out-by-redirect');
    await a.context.close();
    await b.context.close();
  });
});
