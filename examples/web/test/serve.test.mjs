// The example's server: the site's pages and headers, and the test CAPTCHA provider's rules
// (a token is good once, with the right secret), which the browser journey relies on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { TEST_CAPTCHA_SECRET, startCaptchaProvider, startSite } from '../serve.mjs';

let provider;
let site;
let P;
let S;

before(async () => {
  provider = await startCaptchaProvider();
  P = `http://127.0.0.1:${provider.address().port}`;
  site = await startSite({ apiBaseUrl: 'http://localhost:9001', captchaUrl: 'http://localhost:3001' });
  S = `http://127.0.0.1:${site.address().port}`;
});
after(() => {
  provider.close();
  site.close();
});

const verify = (form) =>
  fetch(`${P}/siteverify`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  }).then((r) => r.json());

const challenge = async () => (await (await fetch(`${P}/challenge`, { method: 'POST' })).json()).token;

describe('the test CAPTCHA provider', () => {
  it('accepts a token it issued once, with the right secret, naming the hostname', async () => {
    const token = await challenge();
    const first = await verify({ secret: TEST_CAPTCHA_SECRET, response: token, remoteip: '127.0.0.1' });
    assert.equal(first.success, true);
    assert.equal(first.hostname, 'localhost');
    const again = await verify({ secret: TEST_CAPTCHA_SECRET, response: token });
    assert.deepEqual(again, { success: false, 'error-codes': ['invalid-input-response'] });
  });

  it('refuses a wrong secret, a made-up token and an empty form', async () => {
    const token = await challenge();
    assert.deepEqual(await verify({ secret: 'guess', response: token }), { success: false, 'error-codes': ['invalid-input-secret'] });
    assert.equal((await verify({ secret: TEST_CAPTCHA_SECRET, response: token })).success, true, 'a refused secret spends no token');
    assert.equal((await verify({ secret: TEST_CAPTCHA_SECRET, response: 'test.made-up' })).success, false);
    assert.equal((await verify({})).success, false);
  });

  it('refuses an oversize body and unknown paths', async () => {
    const r = await fetch(`${P}/siteverify`, { method: 'POST', body: 'x'.repeat(20_000) });
    assert.equal(r.status, 413);
    assert.equal((await fetch(`${P}/nothing`, { method: 'POST' })).status, 404);
  });
});

describe('the example site', () => {
  it('serves the app on each of its paths, with a CSP that reaches only itself, the API and the provider', async () => {
    for (const path of ['/', '/register', '/verify', '/forgot', '/recover?recoveryToken=rc_x', '/signed-out']) {
      const r = await fetch(S + path);
      assert.equal(r.status, 200, path);
      assert.match(await r.text(), /<script type="module" src="\/app.js">/);
      const csp = r.headers.get('content-security-policy');
      assert.match(csp, /connect-src 'self' http:\/\/localhost:9001 http:\/\/localhost:3001;/);
      assert.match(csp, /script-src 'self';/);
      assert.match(csp, /frame-ancestors 'none'/);
    }
  });

  it('serves the browser client and a config naming the API and this site\'s signed-out page', async () => {
    const client = await fetch(`${S}/client/auth-client.js`);
    assert.match(client.headers.get('content-type'), /^text\/javascript/);
    assert.match(await client.text(), /export function createAuthClient/);
    const config = await (await fetch(`${S}/config.json`)).json();
    assert.equal(config.apiBaseUrl, 'http://localhost:9001');
    assert.deepEqual(config.captcha, { provider: 'test', url: 'http://localhost:3001' });
    assert.equal(config.signedOutUrl, `http://localhost:${site.address().port}/signed-out`);
  });

  it('answers 404 for other paths (no files outside the app) and 405 for writes', async () => {
    for (const path of ['/../../Cargo.toml', '/%2e%2e/%2e%2e/dev.env', '/serve.mjs', '/test/serve.test.mjs']) {
      assert.equal((await fetch(S + path)).status, 404, path);
    }
    assert.equal((await fetch(S, { method: 'POST', body: '{}' })).status, 405);
  });
});
