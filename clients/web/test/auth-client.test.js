import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthClient } from '../src/auth-client.js';

const BASE = 'http://api.test';

/** A fetch that answers from `routes` ("METHOD /path" → fn(request) → [status, body, headers]) and records calls. */
function fakeFetch(routes) {
  const calls = [];
  const fetch = async (url, init) => {
    const path = new URL(url).pathname;
    const call = { path, method: init.method, headers: init.headers, body: init.body, credentials: init.credentials };
    calls.push(call);
    const route = routes[`${init.method} ${path}`];
    if (!route) return new Response('{}', { status: 404 });
    await new Promise((r) => setTimeout(r, 5)); // the network takes a moment, so calls overlap
    const [status, body, headers = {}] = route(call);
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
  };
  return { fetch, calls };
}

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

/** One exclusive lock manager shared by several "tabs", as navigator.locks is per origin. */
function fakeLocks() {
  const tails = new Map();
  return {
    request(name, fn) {
      const prev = tails.get(name) ?? Promise.resolve();
      const run = prev.then(() => fn());
      tails.set(name, run.catch(() => {}));
      return run;
    },
  };
}

/** Channels between tabs: a message posted by one reaches every other. */
function channels(n) {
  const all = Array.from({ length: n }, () => ({ onmessage: null, postMessage(m) { for (const c of all) if (c !== this) queueMicrotask(() => c.onmessage?.({ data: m })); } }));
  return all;
}

const noTimers = { setTimer: () => 0, clearTimer: () => {} };
const client = (fetch, extra = {}) =>
  createAuthClient({ baseUrl: BASE, fetch, storage: memoryStorage(), locks: null, channel: null, ...noTimers, ...extra });

const error = (code, data = {}) => ({ message: code, details: { applicationError: { code, description: code, data } } });
const identity = { id: 'm1', email: { address: 'ann@example.com', isVerified: true }, status: { name: 'ACTIVE' } };
let issued = 0;
const tokenAnswer = () => [200, { access_token: `at${++issued}`, token_type: 'Bearer', expires_in: 900, refresh_token: `rt${issued}` }];

test('a successful login exchanges its session token and holds the tokens', async () => {
  const { fetch, calls } = fakeFetch({
    'POST /v2/login': () => [200, { state: 'SUCCESS', sessionToken: 'st_a.b', identity }],
    'POST /oauth2/token': tokenAnswer,
  });
  const c = client(fetch);
  const r = await c.login({ email: 'ann@example.com', password: 'pw' });
  assert.equal(r.state, 'SUCCESS');
  assert.equal(calls[0].headers['content-type'], 'application/json');
  assert.equal(calls[0].credentials, 'include');
  const form = new URLSearchParams(calls[1].body);
  assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');
  assert.equal(form.get('subject_token'), 'st_a.b');
  assert.equal(form.get('subject_token_type'), 'urn:x-member-auth:token-type:session');
  assert.match(c.tokens.accessToken, /^at/);
});

test('each refusal of login is its own state: CAPTCHA, lock with retry time and recovery hint, verification', async () => {
  const answers = [
    [401, error('CAPTCHA_TOKEN_REQUIRED')],
    [401, error('INVALID_CAPTCHA_TOKEN')],
    [429, error('ACCOUNT_LOCKED', { retryAfterSeconds: 120, recovery: 'PASSWORD_RESET' }), { 'retry-after': '120' }],
    [200, { state: 'REQUIRE_EMAIL_VERIFICATION', stateToken: 'vs_x', identity }],
    [401, error('INVALID_CREDENTIALS')],
    [403, error('MEMBER_BLOCKED')],
    [429, error('THROTTLED'), { 'retry-after': '30' }],
  ];
  const { fetch, calls } = fakeFetch({ 'POST /v2/login': () => answers.shift() });
  const c = client(fetch, { now: () => 1_000_000 });
  assert.deepEqual(await c.login({ email: 'a@b.c', password: 'x' }), { state: 'CAPTCHA_REQUIRED' });
  assert.deepEqual(await c.login({ email: 'a@b.c', password: 'x', captchaToken: 'tok' }), { state: 'INVALID_CAPTCHA' });
  assert.deepEqual(JSON.parse(calls[1].body).captchaTokens, [{ token: 'tok' }]);
  const locked = await c.login({ email: 'a@b.c', password: 'x' });
  assert.deepEqual(locked, { state: 'LOCKED', retryAfterSeconds: 120, retryAt: new Date(1_000_000 + 120_000), recovery: 'PASSWORD_RESET' });
  assert.deepEqual(await c.login({ email: 'a@b.c', password: 'x' }), { state: 'REQUIRE_EMAIL_VERIFICATION', stateToken: 'vs_x', identity });
  assert.deepEqual(await c.login({ email: 'a@b.c', password: 'x' }), { state: 'INVALID_CREDENTIALS' });
  assert.deepEqual(await c.login({ email: 'a@b.c', password: 'x' }), { state: 'BLOCKED' });
  assert.equal((await c.login({ email: 'a@b.c', password: 'x' })).retryAfterSeconds, 30);
  assert.equal(c.tokens, null, 'no refusal leaves tokens behind');
  assert.equal(calls.filter((x) => x.path === '/oauth2/token').length, 0);
});

test('a 5xx is thrown as an AuthError, not mistaken for a state', async () => {
  const { fetch } = fakeFetch({ 'POST /v2/login': () => [500, { message: 'x', requestId: 'r' }] });
  await assert.rejects(client(fetch).login({ email: 'a@b.c', password: 'x' }), { name: 'AuthError', status: 500 });
});

test('change password gives every violated rule as data', async () => {
  const rejected = {
    message: 'bad',
    details: { validationError: { fieldViolations: [
      { field: 'newPassword', description: 'short', violatedRule: 'TOO_SHORT', data: { min: 12 } },
      { field: 'newPassword', description: 'common', violatedRule: 'TOO_COMMON' },
    ] } },
  };
  const answers = [[400, rejected], [200, { revokedSessions: 2 }]];
  const { fetch, calls } = fakeFetch({ 'POST /v2/change-password': () => answers.shift() });
  const c = client(fetch);
  assert.deepEqual(await c.changePassword({ newPassword: 'abc' }), {
    ok: false,
    violations: [
      { field: 'newPassword', rule: 'TOO_SHORT', description: 'short', data: { min: 12 } },
      { field: 'newPassword', rule: 'TOO_COMMON', description: 'common', data: {} },
    ],
  });
  assert.deepEqual(await c.changePassword({ newPassword: 'long enough', currentPassword: 'old', revokeOtherSessions: true }), { ok: true, revokedSessions: 2 });
  assert.deepEqual(JSON.parse(calls[1].body), { newPassword: 'long enough', revokeOtherSessions: true, currentPassword: 'old' });
});

test('two tabs refreshing at once send one refresh, and both hold its tokens', async () => {
  issued = 0;
  const { fetch, calls } = fakeFetch({ 'POST /v2/login': () => [200, { state: 'SUCCESS', sessionToken: 's', identity }], 'POST /oauth2/token': tokenAnswer });
  const storage = memoryStorage();
  const locks = fakeLocks();
  const [ch1, ch2] = channels(2);
  const tab1 = createAuthClient({ baseUrl: BASE, fetch, storage, locks, channel: ch1, ...noTimers });
  await tab1.login({ email: 'a@b.c', password: 'x' });
  const tab2 = createAuthClient({ baseUrl: BASE, fetch, storage, locks, channel: ch2, ...noTimers });
  assert.equal(tab2.tokens.refreshToken, 'rt1', 'a new tab starts from the tokens the others hold');
  const [a, b] = await Promise.all([tab1.refresh(), tab2.refresh()]);
  const refreshes = calls.filter((x) => x.path === '/oauth2/token' && new URLSearchParams(x.body).get('grant_type') === 'refresh_token');
  assert.equal(refreshes.length, 1, 'one refresh for both tabs');
  assert.equal(new URLSearchParams(refreshes[0].body).get('refresh_token'), 'rt1');
  assert.equal(a.refreshToken, 'rt2');
  assert.equal(b.refreshToken, 'rt2');
  // within one tab too: three callers, one request
  await Promise.all([tab1.refresh(), tab1.refresh(), tab1.refresh()]);
  assert.equal(calls.filter((x) => x.path === '/oauth2/token').length, 3);
});

test('without Web Locks each tab refreshes itself (the service reuse interval covers the race)', async () => {
  issued = 0;
  const { fetch, calls } = fakeFetch({ 'POST /oauth2/token': tokenAnswer });
  const storage = memoryStorage();
  storage.setItem('member-auth.tokens', JSON.stringify({ accessToken: 'a0', refreshToken: 'rt0', expiresAt: 0 }));
  const tab1 = createAuthClient({ baseUrl: BASE, fetch, storage, locks: null, channel: null, ...noTimers });
  const tab2 = createAuthClient({ baseUrl: BASE, fetch, storage, locks: null, channel: null, ...noTimers });
  await Promise.all([tab1.refresh(), tab2.refresh()]);
  assert.equal(calls.length, 2);
});

test('the refresh is scheduled before the access token expires', async () => {
  const timers = [];
  const { fetch } = fakeFetch({ 'POST /oauth2/token': tokenAnswer });
  const c = createAuthClient({
    baseUrl: BASE, fetch, storage: memoryStorage(), locks: null, channel: null, now: () => 5_000,
    setTimer: (fn, ms) => timers.push(ms), clearTimer: () => {}, refreshLeewaySeconds: 60,
  });
  await c.exchange('st_x');
  assert.deepEqual(timers, [(900 - 60) * 1000]);
});

test('a dead refresh family signs every tab out', async () => {
  const { fetch } = fakeFetch({ 'POST /oauth2/token': () => [400, { error: 'invalid_grant', error_description: 'x' }] });
  const storage = memoryStorage();
  storage.setItem('member-auth.tokens', JSON.stringify({ accessToken: 'a', refreshToken: 'r', expiresAt: 0 }));
  const [ch1, ch2] = channels(2);
  const seen = [];
  const tab1 = createAuthClient({ baseUrl: BASE, fetch, storage, locks: null, channel: ch1, ...noTimers });
  const tab2 = createAuthClient({ baseUrl: BASE, fetch, storage, locks: null, channel: ch2, ...noTimers, onTokens: (t) => seen.push(t) });
  assert.equal(await tab1.refresh(), null);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(storage.getItem('member-auth.tokens'), null);
  assert.deepEqual(seen, [null]);
  assert.equal(tab2.tokens, null);
});

test('logout the SPA way posts JSON with the access token; the full-page way navigates to the logout page', async () => {
  const { fetch, calls } = fakeFetch({
    'POST /oauth2/token': tokenAnswer,
    'POST /v1/logout': () => [200, { redirectUrl: 'http://localhost:3000/signed-out.html' }],
  });
  const went = [];
  const c = client(fetch, { clientId: 'web', navigate: (u) => went.push(u) });
  await c.exchange('st_x');
  const at = c.tokens.accessToken;
  assert.equal(await c.logout({ postLogoutRedirectUri: 'http://localhost:3000/signed-out.html' }), 'http://localhost:3000/signed-out.html');
  const post = calls.find((x) => x.path === '/v1/logout');
  assert.equal(post.headers.authorization, `Bearer ${at}`);
  assert.equal(post.headers['content-type'], 'application/json');
  assert.equal(post.headers.accept, 'application/json');
  assert.deepEqual(JSON.parse(post.body), { postLogoutRedirectUri: 'http://localhost:3000/signed-out.html', clientId: 'web' });
  assert.equal(c.tokens, null);
  await c.exchange('st_y');
  c.logoutByRedirect({ postLogoutRedirectUri: 'http://localhost:3000/signed-out.html' });
  assert.deepEqual(went, ['http://api.test/v1/logout?postLogoutRedirectUri=http%3A%2F%2Flocalhost%3A3000%2Fsigned-out.html&clientId=web']);
  assert.equal(c.tokens, null);
});

test('sessions: the list, a revoke, and a 401 that signs the tab out', async () => {
  const answers = [[200, { sessions: [{ id: 's1', current: true }, { id: 's2', current: false }] }], [401, error('UNAUTHENTICATED')]];
  const { fetch, calls } = fakeFetch({
    'GET /v2/sessions': () => answers.shift(),
    'POST /v2/sessions/revoke': () => [200, { revokedSessions: 1 }],
    'POST /oauth2/token': tokenAnswer,
  });
  const c = client(fetch);
  await c.exchange('st');
  assert.deepEqual((await c.sessions()).map((s) => s.id), ['s1', 's2']);
  assert.equal(await c.revokeSessions({ sessionId: 's2' }), 1);
  assert.deepEqual(JSON.parse(calls.at(-1).body), { sessionId: 's2' });
  assert.equal(await c.sessions(), null);
  assert.equal(c.tokens, null);
});

test('recovery: send-email names the redirect page; recover gives violations or a session', async () => {
  const answers = [[400, { message: 'x', details: { validationError: { fieldViolations: [{ field: 'newPassword', violatedRule: 'TOO_SHORT', description: 'd' }] } } }], [200, { state: 'SUCCESS', sessionToken: 'st', identity }]];
  const { fetch, calls } = fakeFetch({
    'POST /v2/recovery/send-email': () => [200, {}],
    'POST /v2/recovery/recover': () => answers.shift(),
    'POST /oauth2/token': tokenAnswer,
  });
  const c = client(fetch);
  assert.deepEqual(await c.sendRecoveryEmail({ email: 'a@b.c', redirectUrl: 'http://localhost:3000/' }), { state: 'SENT' });
  assert.deepEqual(JSON.parse(calls[0].body), { email: 'a@b.c', redirect: { url: 'http://localhost:3000/' } });
  const weak = await c.recover({ recoveryToken: 'rc_x', newPassword: 'a' });
  assert.equal(weak.state, 'INVALID_INPUT');
  assert.equal(weak.violations[0].rule, 'TOO_SHORT');
  assert.equal((await c.recover({ recoveryToken: 'rc_x', newPassword: 'long one' })).state, 'SUCCESS');
  assert.ok(c.tokens);
});
