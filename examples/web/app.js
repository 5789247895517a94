// The example app: every state the API answers, drawn with the browser client. No framework,
// no build step. Paths: / (log in, or the signed-in page), /register, /verify, /forgot,
// /recover?recoveryToken=..., /signed-out.
import { createAuthClient } from '/client/auth-client.js';

const config = await (await fetch('/config.json')).json();
const $ = (sel) => document.querySelector(sel);
const IDENTITY = 'example.identity';
const PENDING = 'example.verification';
let loggingOut = false; // this tab's own logout, which navigates by itself

const auth = createAuthClient({
  baseUrl: config.apiBaseUrl,
  clientId: 'example-web',
  onTokens: (t) => {
    if (t) return showExpiry(t);
    // Signed out here or in another tab, or the session was ended from another device.
    localStorage.removeItem(IDENTITY);
    if (!loggingOut && !$('#view-home').hidden) go('/', 'You have been signed out.');
  },
});

// ---- views and navigation ----

const VIEWS = { '/': null, '/register': 'register', '/verify': 'verify', '/forgot': 'forgot', '/recover': 'recover', '/signed-out': 'signed-out' };

function show(name) {
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.id !== `view-${name}`;
  document.body.dataset.view = name;
}

function say(text, kind = 'info') {
  const m = $('#message');
  m.hidden = !text;
  m.textContent = text ?? '';
  m.className = kind;
}

function go(path, message) {
  history.pushState(null, '', path);
  route(message);
}

async function route(message) {
  say(message);
  const path = location.pathname;
  const view = VIEWS[path] ?? null;
  if (view === 'recover' && !new URLSearchParams(location.search).get('recoveryToken')) return go('/forgot');
  if (view === 'verify' && !pending()) return go('/');
  if (view) {
    if (view === 'verify') $('#verify-email').textContent = pending().email;
    return show(view);
  }
  if (auth.tokens) return home();
  show('login');
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-nav]');
  if (!a) return;
  e.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', () => route());

// ---- the login state machine ----

/** Draws one LoginResult of login, register, verify or recover. */
async function result(r, { form, email }) {
  // Once a CAPTCHA was asked for, every further attempt needs one: draw a fresh widget.
  const captchaShown = !$(`.captcha[data-for="${form}"]`)?.hidden;
  captcha(form, captchaShown && r.state !== 'SUCCESS');
  $('#locked').hidden = true;
  violations(form, []);
  switch (r.state) {
    case 'SUCCESS':
      localStorage.setItem(IDENTITY, JSON.stringify(r.identity));
      sessionStorage.removeItem(PENDING);
      history.replaceState(null, '', '/');
      return home('Welcome.');
    case 'REQUIRE_EMAIL_VERIFICATION':
      sessionStorage.setItem(PENDING, JSON.stringify({ stateToken: r.stateToken, email }));
      return go('/verify', 'Check your inbox.');
    case 'REQUIRE_OWNER_APPROVAL':
      return say('Your account waits for the site owner to approve it.');
    case 'CAPTCHA_REQUIRED':
      captcha(form, true);
      return say('Please confirm you are human, then try again.', 'warn');
    case 'INVALID_CAPTCHA':
      captcha(form, true);
      return say('The CAPTCHA was not accepted; please try it again.', 'warn');
    case 'LOCKED':
      return locked(r, email);
    case 'THROTTLED':
      return say(`Too many attempts from here. Try again at ${r.retryAt.toLocaleTimeString()}.`, 'error');
    case 'INVALID_CREDENTIALS':
      return say('The email or password is incorrect.', 'error');
    case 'INVALID_INPUT':
      violations(form, r.violations);
      return say('Please fix what is listed below.', 'error');
    case 'DUPLICATE_EMAIL':
      return say('That email already has an account. Log in, or reset the password.', 'error');
    case 'BLOCKED':
      return say('This account is blocked.', 'error');
    case 'INVALID_VERIFICATION_CODE':
      return say('That code is not right; check the latest mail.', 'error');
    case 'INVALID_STATE_TOKEN':
      sessionStorage.removeItem(PENDING);
      return go('/', 'That code has expired. Log in again for a new one.');
    case 'INVALID_RECOVERY_TOKEN':
      return go('/forgot', 'That link is used or expired. Ask for a new one.');
    default:
      return say(`The service answered ${r.state}.`, 'error');
  }
}

function locked(r, email) {
  $('#locked').hidden = false;
  $('#locked-until').textContent = r.retryAt.toLocaleTimeString();
  $('#locked-seconds').textContent = String(r.retryAfterSeconds);
  $('#locked-recovery').hidden = r.recovery !== 'PASSWORD_RESET';
  $('#forgot-email').value = email;
  say('');
}

const RULES = {
  TOO_SHORT: (d) => `Use at least ${d.min} characters.`,
  TOO_LONG: (d) => `Use at most ${d.max} characters.`,
  TOO_COMMON: () => 'This password is too common or too easy to guess.',
  TOO_SIMILAR: () => 'This password is too close to your email or name.',
};

function violations(form, list) {
  const ul = $(`.violations[data-for="${form}"]`);
  if (!ul) return;
  ul.replaceChildren(
    ...list.map((v) => {
      const li = document.createElement('li');
      li.dataset.rule = v.rule;
      li.textContent = RULES[v.rule]?.(v.data) ?? v.description;
      return li;
    }),
  );
  ul.hidden = list.length === 0;
}

// ---- the CAPTCHA widget (the local test provider; a real site draws Turnstile's or hCaptcha's) ----

const captchaTokens = {};

function captcha(form, needed) {
  const box = $(`.captcha[data-for="${form}"]`);
  if (!box) return;
  delete captchaTokens[form]; // a token is good once
  box.hidden = !needed;
  if (!needed) return box.replaceChildren();
  if (!config.captcha) {
    box.textContent = 'This site has no CAPTCHA widget configured.';
    return;
  }
  const label = document.createElement('label');
  label.className = 'inline';
  const check = document.createElement('input');
  check.type = 'checkbox';
  check.className = 'captcha-check';
  check.addEventListener('change', async () => {
    if (!check.checked) return delete captchaTokens[form];
    const r = await fetch(`${config.captcha.url}/challenge`, { method: 'POST' });
    captchaTokens[form] = (await r.json()).token;
    box.dataset.solved = 'true';
  });
  label.append(check, ' I am human (local test CAPTCHA)');
  delete box.dataset.solved;
  box.replaceChildren(label);
}

function takeCaptcha(form) {
  const t = captchaTokens[form];
  delete captchaTokens[form];
  return t;
}

// ---- forms ----

function busy(fn) {
  return async (e) => {
    e.preventDefault();
    const button = e.target.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await fn(e);
    } catch (err) {
      say(`Something went wrong: ${err.message}`, 'error');
    } finally {
      button.disabled = false;
    }
  };
}

$('#login-form').addEventListener('submit', busy(async () => {
  const email = $('#login-email').value.trim();
  const r = await auth.login({ email, password: $('#login-password').value, captchaToken: takeCaptcha('login') });
  $('#login-password').value = '';
  await result(r, { form: 'login', email });
}));

$('#register-form').addEventListener('submit', busy(async () => {
  const email = $('#register-email').value.trim();
  const r = await auth.register({ email, password: $('#register-password').value, captchaToken: takeCaptcha('register') });
  await result(r, { form: 'register', email });
}));

function pending() {
  try {
    return JSON.parse(sessionStorage.getItem(PENDING));
  } catch {
    return null;
  }
}

$('#verify-form').addEventListener('submit', busy(async () => {
  const p = pending();
  const r = await auth.verify({ stateToken: p.stateToken, code: $('#verify-code').value.trim() });
  $('#verify-code').value = '';
  await result(r, { form: 'verify', email: p.email });
}));

$('#verify-resend').addEventListener('click', async () => {
  const r = await auth.resendVerification({ stateToken: pending().stateToken });
  if (r.state === 'SENT') say('A new code is on its way; the old one no longer works.');
  else await result(r, { form: 'verify', email: pending().email });
});

$('#forgot-form').addEventListener('submit', busy(async () => {
  const r = await auth.sendRecoveryEmail({ email: $('#forgot-email').value.trim() });
  if (r.state === 'SENT') say('If that email has an account, a link to reset its password is on its way.');
  else await result(r, { form: 'forgot', email: '' });
}));

$('#recover-form').addEventListener('submit', busy(async () => {
  const recoveryToken = new URLSearchParams(location.search).get('recoveryToken');
  const r = await auth.recover({ recoveryToken, newPassword: $('#recover-password').value });
  await result(r, { form: 'recover', email: '' });
}));

// ---- signed in ----

function showExpiry(t) {
  $('#home-expiry').textContent = new Date(t.expiresAt).toLocaleTimeString();
}

async function home(message) {
  const identity = JSON.parse(localStorage.getItem(IDENTITY) ?? 'null');
  $('#home-email').textContent = identity?.email?.address ?? 'a member';
  if (auth.tokens) showExpiry(auth.tokens);
  show('home');
  say(message);
  await devices();
}

function when(iso) {
  return new Date(iso).toLocaleString();
}

/** Draws the member's live sessions, each with a button that ends it. */
async function devices() {
  const list = await auth.sessions();
  if (list === null) return; // signed out: onTokens took us to the login page
  const rows = list.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.session = s.id;
    if (s.current) tr.className = 'current';
    const cells = [s.current ? `This device — ${s.userAgent ?? ''}` : s.userAgent ?? 'unknown', s.clientIp ?? '', when(s.createdDate), when(s.lastUsedDate)];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    const td = document.createElement('td');
    if (!s.current) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'end-session';
      b.textContent = 'End session';
      b.addEventListener('click', async () => {
        await auth.revokeSessions({ sessionId: s.id });
        await devices();
        say('That device is signed out.');
      });
      td.append(b);
    }
    tr.append(td);
    return tr;
  });
  $('#devices tbody').replaceChildren(...rows);
  $('#devices-end-others').hidden = list.length < 2;
}

$('#devices-end-others').addEventListener('click', async () => {
  const n = await auth.revokeSessions({ allOthers: true });
  await devices();
  say(`${n} other session${n === 1 ? '' : 's'} ended.`);
});

$('#password-form').addEventListener('submit', busy(async () => {
  violations('password', []);
  const r = await auth.changePassword({
    currentPassword: $('#password-current').value || undefined,
    newPassword: $('#password-new').value,
    revokeOtherSessions: $('#password-revoke').checked,
  });
  if (r.ok) {
    $('#password-form').reset();
    await devices();
    return say(`Password changed${r.revokedSessions ? `; ${r.revokedSessions} other session(s) ended` : ''}.`);
  }
  if (r.violations) {
    violations('password', r.violations);
    return say('Please fix what is listed below.', 'error');
  }
  if (r.code === 'INVALID_CREDENTIALS' || r.code === 'REAUTHENTICATION_REQUIRED') {
    return say('Enter your current password to change it.', 'error');
  }
  say(`The service answered ${r.code}${r.retryAfterSeconds ? `; try again in ${r.retryAfterSeconds} s` : ''}.`, 'error');
}));

$('#logout').addEventListener('click', async () => {
  // The tokens are forgotten in every tab first; the session ends server-side.
  loggingOut = true;
  localStorage.removeItem(IDENTITY);
  try {
    const redirect = await auth.logout({ postLogoutRedirectUri: config.signedOutUrl });
    go(redirect ? new URL(redirect).pathname : '/signed-out');
  } catch (err) {
    go('/signed-out', `Signed out here; the service answered ${err.status ?? err.message}, so the session may outlive its cookie.`);
  } finally {
    loggingOut = false;
  }
});

$('#logout-redirect').addEventListener('click', () => {
  loggingOut = true;
  localStorage.removeItem(IDENTITY);
  auth.logoutByRedirect({ postLogoutRedirectUri: config.signedOutUrl });
});

// For the browser test and the curious: the client, from the console.
window.memberAuth = auth;
await route();
document.body.dataset.ready = 'true';
