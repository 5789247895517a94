#!/usr/bin/env node
// The example single-page app (examples/web) on its own origin, and a local test CAPTCHA
// provider on another. No dependencies.
//
// The site serves index.html for each of the app's paths (/, /register, /verify, /forgot,
// /recover, /signed-out), its script and style, the browser client from clients/web/src, and
// /config.json (where the API is, which CAPTCHA widget to draw). Its Content-Security-Policy
// lets page script talk to the API and the CAPTCHA provider only: the tokens live in
// localStorage, so what runs on the page is what guards them.
//
// The test CAPTCHA provider stands in for Turnstile, hCaptcha or reCAPTCHA, which nothing here can
// reach: its widget asks `POST /challenge` for a token, and the API's CAPTCHA_VERIFY_URL points
// at its `POST /siteverify` (the providers' shared form protocol: secret, response, remoteip ->
// {"success", "hostname"}). A token is good once, for a few minutes, with the right secret.
//
//   WEB_PORT=3000 API_BASE_URL=http://localhost:9001 CAPTCHA_PORT=3001 node examples/web/serve.mjs
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** The secret the API sends to the test provider (CAPTCHA_SECRET, scripts/lib.sh test_captcha_env); not a secret of anything real. */
export const TEST_CAPTCHA_SECRET = 'local-test-captcha-secret';

const PAGES = new Set(['/', '/register', '/verify', '/forgot', '/recover', '/signed-out']);
const FILES = {
  '/app.js': [join(here, 'app.js'), 'text/javascript'],
  '/style.css': [join(here, 'style.css'), 'text/css'],
  '/client/auth-client.js': [join(root, 'clients', 'web', 'src', 'auth-client.js'), 'text/javascript'],
};

function origin(url) {
  return new URL(url).origin;
}

/**
 * The test CAPTCHA provider: `POST /challenge` -> {"token"} (the widget's click), and
 * `POST /siteverify` (form: secret, response) -> {"success", "hostname", "error-codes"}.
 */
export function startCaptchaProvider({ port = 0, host = '127.0.0.1', secret = TEST_CAPTCHA_SECRET, hostname = 'localhost' } = {}) {
  const issued = new Map(); // token -> expiry (ms)
  const server = http.createServer(async (req, res) => {
    const cors = { 'access-control-allow-origin': '*', 'cache-control': 'no-store' };
    const json = (status, body) => {
      res.writeHead(status, { ...cors, 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type' });
      res.end();
      return;
    }
    const chunks = [];
    let size = 0;
    for await (const c of req) {
      size += c.length;
      if (size > 16 * 1024) return json(413, { success: false, 'error-codes': ['bad-request'] });
      chunks.push(c);
    }
    if (req.method === 'POST' && req.url === '/challenge') {
      const token = `test.${randomBytes(18).toString('base64url')}`;
      issued.set(token, Date.now() + 300_000);
      return json(200, { token });
    }
    if (req.method === 'POST' && req.url === '/siteverify') {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (form.get('secret') !== secret) return json(200, { success: false, 'error-codes': ['invalid-input-secret'] });
      const token = form.get('response') ?? '';
      const expiry = issued.get(token);
      issued.delete(token);
      if (!expiry || expiry < Date.now()) {
        return json(200, { success: false, 'error-codes': [expiry ? 'timeout-or-duplicate' : 'invalid-input-response'] });
      }
      return json(200, { success: true, hostname, challenge_ts: new Date().toISOString() });
    }
    json(404, { success: false, 'error-codes': ['not-found'] });
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

/** The example app's site: its pages, files, the browser client and /config.json. */
export function startSite({ port = 0, host = '127.0.0.1', apiBaseUrl, captchaUrl = null }) {
  const connect = ["'self'", origin(apiBaseUrl), ...(captchaUrl ? [origin(captchaUrl)] : [])].join(' ');
  const security = {
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connect}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
  const config = { apiBaseUrl, captcha: captchaUrl ? { provider: 'test', url: captchaUrl } : null };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://site');
    const send = (status, type, body, extra = {}) => {
      res.writeHead(status, { ...security, 'content-type': type, ...extra });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n', { allow: 'GET, HEAD' });
    if (url.pathname === '/config.json') {
      // This site's own page (never taken from the Host header), an entry of LOGOUT_REDIRECT_ALLOWLIST.
      const signedOutUrl = `http://localhost:${server.address().port}/signed-out`;
      return send(200, 'application/json', JSON.stringify({ ...config, signedOutUrl }), { 'cache-control': 'no-store' });
    }
    if (PAGES.has(url.pathname)) {
      return send(200, 'text/html; charset=utf-8', await readFile(join(here, 'index.html')), { 'cache-control': 'no-store' });
    }
    const file = FILES[url.pathname];
    if (file) return send(200, `${file[1]}; charset=utf-8`, await readFile(file[0]), { 'cache-control': 'no-cache' });
    send(404, 'text/plain', 'not found\n');
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.WEB_PORT ?? 3000);
  const apiBaseUrl = process.env.API_BASE_URL ?? 'http://localhost:9001';
  let captchaUrl = null;
  if (process.env.CAPTCHA_PORT) {
    const provider = await startCaptchaProvider({ port: Number(process.env.CAPTCHA_PORT) });
    captchaUrl = `http://localhost:${provider.address().port}`;
    console.log(`test CAPTCHA provider on ${captchaUrl} (the API's CAPTCHA_VERIFY_URL: http://127.0.0.1:${provider.address().port}/siteverify)`);
  }
  const site = await startSite({ port, apiBaseUrl, captchaUrl });
  console.log(`example app on http://localhost:${site.address().port}/ (API ${apiBaseUrl})`);
}
