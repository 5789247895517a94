// A browser client of the member-auth API (DESIGN §3, openapi.yaml). No runtime dependencies.
// Every call that can fail the way a UI must show answers with data (a state), not a throw:
// login and register give the login state machine, change password gives each violated rule.
// Tokens: a sessionToken is exchanged for an access + refresh token (RFC 8693); the refresh is
// single-flight within a tab and, through the Web Locks API, across the tabs of one origin
// (without Web Locks, tabs may refresh at once and the service's reuse interval keeps that
// safe); it is scheduled before the access token expires. Tabs learn of new tokens and of a
// logout through a BroadcastChannel.

/** @typedef {{id: string, email: {address: string, isVerified: boolean}, status: {name: string}}} Identity */
/** @typedef {{field: string, rule: string, description: string, data: object}} Violation */
/**
 * @typedef {{state: 'SUCCESS', sessionToken: string, identity: Identity}
 *  | {state: 'REQUIRE_EMAIL_VERIFICATION', stateToken: string, identity: Identity}
 *  | {state: 'REQUIRE_OWNER_APPROVAL', identity: Identity}
 *  | {state: 'CAPTCHA_REQUIRED'} | {state: 'INVALID_CAPTCHA'}
 *  | {state: 'LOCKED', retryAfterSeconds: number, retryAt: Date, recovery: string | null}
 *  | {state: 'THROTTLED', retryAfterSeconds: number, retryAt: Date}
 *  | {state: 'INVALID_CREDENTIALS'} | {state: 'BLOCKED'} | {state: 'DUPLICATE_EMAIL'}
 *  | {state: 'INVALID_INPUT', violations: Violation[]}} LoginResult
 */
/** @typedef {{accessToken: string, refreshToken: string, expiresAt: number}} Tokens */

/** An answer the client has no state for (5xx, an unexpected code): status, code and body. */
export class AuthError extends Error {
  /** @param {number} status @param {string | null} code @param {unknown} body */
  constructor(status, code, body) {
    super(`member-auth answered ${status}${code ? ` ${code}` : ''}`);
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** The application error code of an error body, or null. */
export function errorCode(body) {
  return body?.details?.applicationError?.code ?? null;
}

/** Each fieldViolation of a validationError body, as data a UI can list. */
export function violations(body) {
  const list = body?.details?.validationError?.fieldViolations ?? [];
  return list.map((v) => ({
    field: v.field,
    rule: v.violatedRule,
    description: v.description,
    data: v.data ?? {},
  }));
}

const APPLICATION_STATES = {
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  CAPTCHA_TOKEN_REQUIRED: 'CAPTCHA_REQUIRED',
  INVALID_CAPTCHA_TOKEN: 'INVALID_CAPTCHA',
  MEMBER_BLOCKED: 'BLOCKED',
  DUPLICATE_EMAIL: 'DUPLICATE_EMAIL',
};

/**
 * The login state machine from one answer of login, register, verify or recover.
 * @param {number} status @param {any} body @param {Headers} headers @param {number} now
 * @returns {LoginResult}
 */
export function loginResult(status, body, headers, now) {
  if (status === 200) {
    if (body.state === 'SUCCESS') {
      return { state: 'SUCCESS', sessionToken: body.sessionToken, identity: body.identity };
    }
    if (body.state === 'REQUIRE_EMAIL_VERIFICATION') {
      return { state: body.state, stateToken: body.stateToken, identity: body.identity };
    }
    if (body.state === 'REQUIRE_OWNER_APPROVAL') {
      return { state: body.state, identity: body.identity };
    }
  }
  if (status === 400 && body?.details?.validationError) {
    return { state: 'INVALID_INPUT', violations: violations(body) };
  }
  const code = errorCode(body);
  if (status === 429 && (code === 'ACCOUNT_LOCKED' || code === 'THROTTLED')) {
    const data = body.details.applicationError.data ?? {};
    const header = Number(headers?.get?.('retry-after'));
    const retryAfterSeconds = Number(data.retryAfterSeconds ?? (header || 0));
    const retryAt = new Date(now + retryAfterSeconds * 1000);
    return code === 'ACCOUNT_LOCKED'
      ? { state: 'LOCKED', retryAfterSeconds, retryAt, recovery: data.recovery ?? null }
      : { state: 'THROTTLED', retryAfterSeconds, retryAt };
  }
  if (code && APPLICATION_STATES[code]) return { state: APPLICATION_STATES[code] };
  if (code) return { state: code };
  throw new AuthError(status, code, body);
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const SESSION_TOKEN_TYPE = 'urn:x-member-auth:token-type:session';

/**
 * @param {{
 *   baseUrl: string, clientId?: string,
 *   fetch?: typeof fetch, storage?: Storage, locks?: LockManager | null,
 *   channel?: {postMessage(m: unknown): void, onmessage: ((e: {data: any}) => void) | null} | null,
 *   now?: () => number, setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout,
 *   refreshLeewaySeconds?: number, storageKey?: string,
 *   navigate?: (url: string) => void, onTokens?: (t: Tokens | null) => void,
 * }} options
 */
export function createAuthClient(options) {
  const base = options.baseUrl.replace(/\/$/, '');
  const http = options.fetch ?? globalThis.fetch.bind(globalThis);
  const storage = options.storage ?? globalThis.localStorage;
  const locks = options.locks === undefined ? globalThis.navigator?.locks ?? null : options.locks;
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? setTimeout;
  const clearTimer = options.clearTimer ?? clearTimeout;
  const leewayMs = (options.refreshLeewaySeconds ?? 60) * 1000;
  const key = options.storageKey ?? 'member-auth.tokens';
  const clientId = options.clientId;
  const navigate = options.navigate ?? ((url) => globalThis.location.assign(url));
  const onTokens = options.onTokens ?? (() => {});
  let channel = options.channel;
  if (channel === undefined) {
    channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(key) : null;
  }

  /** @type {Tokens | null} */
  let tokens = read();
  /** @type {Promise<Tokens | null> | null} */
  let inflight = null;
  let timer = null;

  function read() {
    try {
      const raw = storage.getItem(key);
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  }

  /** Holds `t` in this tab (and storage, when `persist`), tells the other tabs, reschedules. */
  function adopt(t, persist) {
    tokens = t;
    if (persist) {
      if (t) storage.setItem(key, JSON.stringify(t));
      else storage.removeItem(key);
      channel?.postMessage({ type: t ? 'tokens' : 'signed-out' });
    }
    schedule();
    onTokens(t);
    return t;
  }

  function schedule() {
    if (timer) clearTimer(timer);
    timer = null;
    if (!tokens) return;
    const delay = Math.max(0, tokens.expiresAt - leewayMs - now());
    timer = setTimer(() => {
      refresh().catch(() => {});
    }, delay);
  }

  if (channel) {
    channel.onmessage = (e) => {
      if (e.data?.type === 'tokens') adopt(read(), false);
      if (e.data?.type === 'signed-out') adopt(null, false);
    };
  }
  if (tokens) schedule();

  async function call(method, path, body, { bearer } = {}) {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const r = await http(base + path, {
      method,
      headers,
      credentials: 'include',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: r.status, body: json, headers: r.headers };
  }

  async function tokenRequest(form) {
    const params = new URLSearchParams(form);
    if (clientId) params.set('client_id', clientId);
    const r = await http(`${base}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      credentials: 'include',
      body: params.toString(),
    });
    const body = await r.json().catch(() => null);
    if (r.status !== 200) {
      throw new AuthError(r.status, body?.error ?? null, body);
    }
    return {
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      expiresAt: now() + body.expires_in * 1000,
    };
  }

  /** Exchanges the sessionToken of a SUCCESS for tokens, held for every tab. */
  async function exchange(sessionToken) {
    const t = await tokenRequest({
      grant_type: TOKEN_EXCHANGE,
      subject_token: sessionToken,
      subject_token_type: SESSION_TOKEN_TYPE,
    });
    return adopt(t, true);
  }

  async function withSession(status, body, headers) {
    const result = loginResult(status, body, headers, now());
    if (result.state === 'SUCCESS') await exchange(result.sessionToken);
    return result;
  }

  const lockName = `${key}.refresh`;

  /**
   * One refresh at a time in this tab, and (with Web Locks) across tabs: a tab that waited for
   * the lock and finds tokens other than the ones it set out to replace takes those instead of
   * refreshing again. A dead refresh family (invalid_grant) signs every tab out.
   * @returns {Promise<Tokens | null>}
   */
  function refresh() {
    if (inflight) return inflight;
    const stale = tokens?.refreshToken ?? null;
    const run = async () => {
      const current = read();
      if (!current) return adopt(null, false);
      if (current.refreshToken !== stale) return adopt(current, false);
      try {
        const t = await tokenRequest({ grant_type: 'refresh_token', refresh_token: current.refreshToken });
        return adopt(t, true);
      } catch (e) {
        if (e instanceof AuthError && e.status === 400 && e.code === 'invalid_grant') {
          return adopt(null, true);
        }
        throw e;
      }
    };
    inflight = (locks ? locks.request(lockName, run) : run()).finally(() => {
      inflight = null;
    });
    return inflight;
  }

  /** A valid access token (refreshed first when within the leeway of its expiry), or null. */
  async function accessToken() {
    if (!tokens) return null;
    if (tokens.expiresAt - leewayMs <= now()) return (await refresh())?.accessToken ?? null;
    return tokens.accessToken;
  }

  async function member(method, path, body) {
    const r = await call(method, path, body, { bearer: await accessToken() });
    if (r.status === 401 && errorCode(r.body) === 'UNAUTHENTICATED') {
      adopt(null, true);
    }
    return r;
  }

  const captcha = (token) => (token ? { captchaTokens: [{ token }] } : {});

  return {
    /** @returns {Tokens | null} */
    get tokens() {
      return tokens;
    },
    /** @returns {Promise<LoginResult>} */
    async login({ email, password, captchaToken }) {
      const r = await call('POST', '/v2/login', { loginId: { email }, password, ...captcha(captchaToken) });
      return withSession(r.status, r.body, r.headers);
    },
    /** @returns {Promise<LoginResult>} */
    async register({ email, password, profile, captchaToken }) {
      const body = { loginId: { email }, password, ...captcha(captchaToken) };
      if (profile) body.profile = profile;
      const r = await call('POST', '/v2/register', body);
      return withSession(r.status, r.body, r.headers);
    },
    /** @returns {Promise<LoginResult>} wrong code: state INVALID_VERIFICATION_CODE; dead: INVALID_STATE_TOKEN */
    async verify({ stateToken, code }) {
      const r = await call('POST', '/v2/verify', { stateToken, code });
      return withSession(r.status, r.body, r.headers);
    },
    async resendVerification({ stateToken }) {
      const r = await call('POST', '/v2/verify/resend', { stateToken });
      if (r.status !== 200) return loginResult(r.status, r.body, r.headers, now());
      return { state: 'SENT' };
    },
    /** Always `{state: 'SENT'}` for any email (the service never says whether it has a member). */
    async sendRecoveryEmail({ email, redirectUrl }) {
      const body = { email };
      if (redirectUrl) body.redirect = { url: redirectUrl, ...(clientId ? { clientId } : {}) };
      const r = await call('POST', '/v2/recovery/send-email', body);
      if (r.status !== 200) return loginResult(r.status, r.body, r.headers, now());
      return { state: 'SENT' };
    },
    /** @returns {Promise<LoginResult>} a used or expired link: state INVALID_RECOVERY_TOKEN */
    async recover({ recoveryToken, newPassword }) {
      const r = await call('POST', '/v2/recovery/recover', { recoveryToken, newPassword });
      return withSession(r.status, r.body, r.headers);
    },
    exchange,
    refresh,
    accessToken,
    /**
     * @returns {Promise<{ok: true, revokedSessions: number} | {ok: false, violations: Violation[]}
     *   | {ok: false, code: string, retryAfterSeconds?: number}>}
     */
    async changePassword({ newPassword, currentPassword, revokeOtherSessions = false }) {
      const body = { newPassword, revokeOtherSessions };
      if (currentPassword) body.currentPassword = currentPassword;
      const r = await member('POST', '/v2/change-password', body);
      if (r.status === 200) return { ok: true, revokedSessions: r.body.revokedSessions };
      if (r.status === 400 && r.body?.details?.validationError) {
        return { ok: false, violations: violations(r.body) };
      }
      const code = errorCode(r.body);
      if (!code) throw new AuthError(r.status, null, r.body);
      const retry = r.body.details.applicationError.data?.retryAfterSeconds;
      return retry === undefined ? { ok: false, code } : { ok: false, code, retryAfterSeconds: retry };
    },
    /** This member's live sessions (newest first), or null when signed out. */
    async sessions() {
      const r = await member('GET', '/v2/sessions');
      if (r.status === 401) return null;
      if (r.status !== 200) throw new AuthError(r.status, errorCode(r.body), r.body);
      return r.body.sessions;
    },
    /** Ends one session (`{sessionId}`) or every other one (`{allOthers: true}`). */
    async revokeSessions(which) {
      const r = await member('POST', '/v2/sessions/revoke', which);
      if (r.status !== 200) throw new AuthError(r.status, errorCode(r.body), r.body);
      return r.body.revokedSessions;
    },
    /** The SPA way: POST with JSON; every tab is signed out. @returns {Promise<string | null>} */
    async logout({ postLogoutRedirectUri } = {}) {
      const body = {};
      if (postLogoutRedirectUri) body.postLogoutRedirectUri = postLogoutRedirectUri;
      if (clientId) body.clientId = clientId;
      const bearer = tokens?.accessToken;
      adopt(null, true);
      const r = await call('POST', '/v1/logout', body, { bearer });
      if (r.status !== 200) throw new AuthError(r.status, errorCode(r.body), r.body);
      return r.body.redirectUrl;
    },
    /** The logout page's URL, for a link or a full-page navigation. */
    logoutUrl({ postLogoutRedirectUri } = {}) {
      const url = new URL(`${base}/v1/logout`);
      if (postLogoutRedirectUri) url.searchParams.set('postLogoutRedirectUri', postLogoutRedirectUri);
      if (clientId) url.searchParams.set('clientId', clientId);
      return url.toString();
    },
    /** The full-page way: forget the tokens in every tab, then navigate to the logout page. */
    logoutByRedirect({ postLogoutRedirectUri } = {}) {
      adopt(null, true);
      navigate(this.logoutUrl({ postLogoutRedirectUri }));
    },
  };
}
