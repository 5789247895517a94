//! One member's journey, driven over HTTP, and what the driver knows of its state afterwards.
//!
//! A member's requests run one after another (its "tabs" refresh at once), so what the service
//! must answer next follows from what it answered before. A 503 leaves the outcome of its
//! request unknown — the write may have happened, and a hung DynamoDB applies queued writes
//! when it resumes — so the member then keeps both possibilities (`Tri::Maybe`, a range of
//! counts, a password that is one of two) and allows the answers of either from then on.
//! Whatever the state, a session known to be logged out must never work again.

use serde_json::{Value, json};

use crate::client::{Answer, Api, Got, Needs};

/// Known yes, known no, or unknown since a 503.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Maybe,
}

/// A count known to lie in `lo..=hi`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub lo: u32,
    pub hi: u32,
}

impl Range {
    fn add(&mut self) {
        self.lo += 1;
        self.hi += 1;
    }
    fn maybe_add(&mut self) {
        self.hi += 1;
    }
    pub fn holds(&self, n: u32) -> bool {
        (self.lo..=self.hi).contains(&n)
    }
}

/// A refresh family as the driver knows it.
#[derive(Clone, Debug, Default)]
pub struct Family {
    /// Every refresh token the service handed out for it.
    pub seen: Vec<String>,
    /// The current token, when known (not after a 503 that may have rotated it).
    pub current: Option<String>,
    /// `refreshGeneration` of the session item (exchanges and rotations).
    pub generation: Range,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub live: Tri,
    pub family: Option<Family>,
}

impl Session {
    /// The session id the token carries (`st_<id>.<secret>`).
    pub fn id(&self) -> &str {
        session_id(&self.token)
    }
}

/// The id a session or refresh token carries (`st_<id>.<secret>`, `rt_<id>.<secret>`).
pub fn session_id(token: &str) -> &str {
    token
        .get(3..)
        .and_then(|t| t.split_once('.'))
        .map_or("", |(id, _)| id)
}

/// The stored form of a token's secret (its SHA-256, hex), as the session item holds it.
pub fn secret_hash(token: &str) -> String {
    let secret = token.split_once('.').map_or("", |(_, s)| s);
    shared::secret::sha256_hex(secret.as_bytes())
}

/// Everything the driver knows about one member.
#[derive(Clone, Debug)]
pub struct Member {
    pub email: String,
    /// The password, and the one a change answered with 503 may have set.
    pub password: String,
    pub password_maybe: Option<String>,
    pub registered: Tri,
    pub member_id: Option<String>,
    pub sessions: Vec<Session>,
    /// The email's lockout counter (`login#email#…`): failures since the last success.
    pub fails: Range,
    /// The email's hourly ceiling (`login#verify#…`): argon2 verifications.
    pub verifications: Range,
    /// `chpw#member#…`: change-password attempts that reached argon2.
    pub chpw: Range,
    /// Answers per kind, for the global counters: 401 and locked 429 logins, registrations.
    pub failed_logins: u32,
    pub locked_logins: u32,
    pub registrations: u32,
    /// Whether logins and registrations send a CAPTCHA token (a stack with a provider).
    pub captcha: Option<String>,
    /// `LOGIN_LOCK_AFTER_FAILURES`.
    pub lock_after: u32,
}

const SUCCESS: Option<&str> = Some("SUCCESS");

impl Member {
    pub fn new(email: String, password: String, captcha: Option<String>, lock_after: u32) -> Self {
        Self {
            email,
            password,
            password_maybe: None,
            registered: Tri::No,
            member_id: None,
            sessions: vec![],
            fails: Range::default(),
            verifications: Range::default(),
            chpw: Range::default(),
            failed_logins: 0,
            locked_logins: 0,
            registrations: 0,
            captcha,
            lock_after,
        }
    }

    fn needs(&self) -> Needs {
        if self.captcha.is_some() {
            Needs::Captcha
        } else {
            Needs::Dynamo
        }
    }

    fn with_captcha(&self, mut body: Value) -> Value {
        if let Some(t) = &self.captcha {
            body["captchaTokens"] = json!([{ "token": t }]);
        }
        body
    }

    fn note_identity(&mut self, a: &Answer) {
        if let Some(id) = a.str("/identity/id") {
            if let Some(known) = &self.member_id
                && *known != id
            {
                self.member_id = Some(format!("CONFLICT {known} / {id}"));
                return;
            }
            self.member_id = Some(id);
        }
    }

    /// `POST /v2/register`.
    pub async fn register(&mut self, api: &Api) {
        let body =
            self.with_captcha(json!({"loginId": {"email": self.email}, "password": self.password}));
        let a = api.post_json("register", "/v2/register", &body, None).await;
        let mut allowed = vec![(200, SUCCESS)];
        if self.registered != Tri::No {
            allowed.push((409, Some("DUPLICATE_EMAIL")));
        }
        match api.check("register", &a, &allowed, self.needs()) {
            Got::Is(0) => {
                self.registered = Tri::Yes;
                self.registrations += 1;
                self.note_identity(&a);
                if let Some(token) = a.str("/sessionToken") {
                    self.sessions.push(Session {
                        token,
                        live: Tri::Yes,
                        family: None,
                    });
                }
            }
            Got::Is(_) => {
                self.registered = Tri::Yes;
                self.registrations += 1;
            }
            Got::Unavailable if self.registered == Tri::No => self.registered = Tri::Maybe,
            _ => {}
        }
    }

    /// `POST /v2/login` with the password (`right`) or a wrong one. Answers the index of the
    /// session it opened, if it did.
    pub async fn login(&mut self, api: &Api, right: bool) -> Option<usize> {
        let password = if right {
            self.password.clone()
        } else {
            format!("wrong {} guess", rand::random::<u32>())
        };
        let body =
            self.with_captcha(json!({"loginId": {"email": self.email}, "password": password}));
        let a = api.post_json("login", "/v2/login", &body, None).await;
        // A right password fails while the member may not exist or the password may have changed.
        let may_fail = !right || self.registered != Tri::Yes || self.password_maybe.is_some();
        let mut allowed = vec![];
        if right && self.registered != Tri::No {
            allowed.push((200, SUCCESS));
        }
        if may_fail && self.fails.lo < self.lock_after {
            allowed.push((401, Some("INVALID_CREDENTIALS")));
        }
        if self.fails.hi >= self.lock_after {
            allowed.push((429, Some("ACCOUNT_LOCKED")));
        }
        let got = api.check("login", &a, &allowed, self.needs());
        match got.and_then_status(&allowed) {
            Some(200) => {
                self.registered = Tri::Yes;
                self.note_identity(&a);
                self.fails = Range::default();
                self.verifications.add();
                // The password it was logged in with is the one in force.
                self.password_maybe = None;
                let token = a.str("/sessionToken")?;
                self.sessions.push(Session {
                    token,
                    live: Tri::Yes,
                    family: None,
                });
                Some(self.sessions.len() - 1)
            }
            Some(401) => {
                self.fails.add();
                self.verifications.add();
                self.failed_logins += 1;
                if right {
                    match self.password_maybe.take() {
                        // The change that answered 503 did happen.
                        Some(other) => self.password = other,
                        // The registration that answered 503 did not.
                        None => self.registered = Tri::No,
                    }
                }
                None
            }
            Some(429) => {
                self.locked_logins += 1;
                None
            }
            _ => {
                if got == Got::Unavailable {
                    // Counted, perhaps; and a right password may have reset the counter.
                    self.fails.maybe_add();
                    self.verifications.maybe_add();
                    if right {
                        self.fails.lo = 0;
                    }
                }
                None
            }
        }
    }

    /// `n` wrong passwords at once (an attacker's burst): exactly the attempts that find the
    /// counter under `LOGIN_LOCK_AFTER_FAILURES` are counted (401), the rest are refused
    /// locked (429) before any argon2 work.
    pub async fn guess_burst(&mut self, api: &Api, n: usize) {
        let body = |i: usize| {
            self.with_captcha(
                json!({"loginId": {"email": self.email}, "password": format!("burst guess {i}")}),
            )
        };
        let bodies: Vec<Value> = (0..n).map(body).collect();
        let answers = futures::future::join_all(
            bodies
                .iter()
                .map(|b| api.post_json("login", "/v2/login", b, None)),
        )
        .await;
        let allowed = [
            (401, Some("INVALID_CREDENTIALS")),
            (429, Some("ACCOUNT_LOCKED")),
        ];
        let (mut failed, mut locked, mut unknown) = (0, 0, 0);
        for a in &answers {
            match api.check("login", a, &allowed, self.needs()) {
                Got::Is(0) => failed += 1,
                Got::Is(_) => locked += 1,
                Got::Unavailable => unknown += 1,
                Got::Wrong => {}
            }
        }
        let room = self.lock_after.saturating_sub(self.fails.lo);
        if unknown == 0 && self.fails.lo == self.fails.hi && failed != room.min(n as u32) {
            api.rec.violation(format!(
                "[{}] login: a burst of {n} wrong passwords with room for {room} failures got {failed} 401s and {locked} locked",
                api.rec.phase()
            ));
        }
        for _ in 0..failed {
            self.fails.add();
            self.verifications.add();
        }
        for _ in 0..unknown {
            self.fails.maybe_add();
            self.verifications.maybe_add();
        }
        self.failed_logins += failed;
        self.locked_logins += locked;
    }

    /// `POST /oauth2/token`, a token exchange of session `i`: starts its refresh family.
    pub async fn exchange(&mut self, api: &Api, i: usize) {
        let s = &self.sessions[i];
        let a = api.exchange(&s.token).await;
        let allowed = allowed_for(s.live);
        let got = api.check("token-exchange", &a, &allowed, Needs::Dynamo);
        let s = &mut self.sessions[i];
        let family = s.family.get_or_insert_with(Family::default);
        match got.and_then_status(&allowed) {
            Some(200) => {
                s.live = Tri::Yes;
                family.generation.add();
                if let Some(rt) = a.str("/refresh_token") {
                    family.seen.push(rt.clone());
                    family.current = Some(rt);
                }
            }
            Some(400) => s.live = Tri::No,
            _ if got == Got::Unavailable => {
                // Each of the SDK's two attempts may have started the family afresh: the same
                // token, one generation each.
                family.generation.maybe_add();
                family.generation.maybe_add();
                family.current = None;
            }
            _ => {}
        }
    }

    /// `tabs` refreshes of session `i`'s family at once, with the one token they share: all
    /// that succeed must end holding one token (the reuse interval), and the family rotates once.
    pub async fn refresh_tabs(&mut self, api: &Api, i: usize, tabs: usize) {
        let s = &self.sessions[i];
        let Some(family) = &s.family else { return };
        let Some(token) = family
            .current
            .clone()
            .or_else(|| family.seen.last().cloned())
        else {
            return;
        };
        let certain = family.current.is_some() && s.live == Tri::Yes;
        let pairs = [
            ("grant_type", "refresh_token"),
            ("refresh_token", token.as_str()),
        ];
        let answers =
            futures::future::join_all((0..tabs).map(|_| api.token("refresh", &pairs))).await;
        let allowed = if certain {
            vec![(200, None)]
        } else {
            allowed_for(if s.live == Tri::No {
                Tri::No
            } else {
                Tri::Maybe
            })
        };
        let mut new_tokens: Vec<String> = vec![];
        let mut unavailable = false;
        let mut refused = false;
        for a in &answers {
            let got = api.check("refresh", a, &allowed, Needs::Dynamo);
            match got.and_then_status(&allowed) {
                Some(200) => new_tokens.extend(a.str("/refresh_token")),
                Some(400) => refused = true,
                _ => unavailable |= got == Got::Unavailable,
            }
        }
        new_tokens.dedup();
        if new_tokens.len() > 1 {
            api.rec.violation(format!(
                "[{}] refresh: {tabs} tabs racing with one token were handed {} different refresh tokens: the family is in two states",
                api.rec.phase(),
                new_tokens.len()
            ));
        }
        let s = &mut self.sessions[i];
        let family = s.family.as_mut().expect("checked above");
        if let Some(next) = new_tokens.into_iter().next() {
            s.live = Tri::Yes;
            family.generation.add();
            if unavailable || !certain {
                // A lost answer may hide a second rotation (a tab past the reuse interval).
                family.generation.maybe_add();
            }
            family.seen.push(next.clone());
            family.current = Some(next);
        } else if unavailable {
            family.generation.maybe_add();
            family.current = None;
        } else if refused && s.live != Tri::Yes {
            s.live = Tri::No;
        }
    }

    /// `POST /v2/change-password` authenticated by session `i`, to `new`.
    pub async fn change_password(&mut self, api: &Api, i: usize, new: String, revoke_others: bool) {
        let s = &self.sessions[i];
        let body = json!({
            "currentPassword": self.password,
            "newPassword": new,
            "revokeOtherSessions": revoke_others,
        });
        let a = api
            .post_json(
                "change-password",
                "/v2/change-password",
                &body,
                Some(&s.token),
            )
            .await;
        let mut allowed = vec![];
        if s.live != Tri::No {
            allowed.push((200, None));
        }
        if s.live != Tri::Yes {
            allowed.push((401, Some("UNAUTHENTICATED")));
        }
        if self.password_maybe.is_some() {
            allowed.push((401, Some("INVALID_CREDENTIALS")));
        }
        let got = api.check("change-password", &a, &allowed, Needs::Dynamo);
        match (got.and_then_status(&allowed), a.code()) {
            (Some(200), _) => {
                self.chpw.add();
                self.password = new;
                self.password_maybe = None;
                if revoke_others {
                    for (j, other) in self.sessions.iter_mut().enumerate() {
                        if j != i && other.live != Tri::No {
                            other.live = Tri::No;
                        }
                    }
                }
            }
            (Some(401), Some("INVALID_CREDENTIALS")) => {
                self.chpw.add();
                if let Some(other) = self.password_maybe.take() {
                    self.password = other;
                }
            }
            (Some(401), _) => self.sessions[i].live = Tri::No,
            _ if got == Got::Unavailable => {
                self.chpw.maybe_add();
                self.password_maybe = Some(new);
                if revoke_others {
                    for (j, other) in self.sessions.iter_mut().enumerate() {
                        if j != i && other.live == Tri::Yes {
                            other.live = Tri::Maybe;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// `POST /v1/logout` (the SPA way) with session `i`'s token.
    pub async fn logout(&mut self, api: &Api, i: usize) {
        let token = self.sessions[i].token.clone();
        let a = api
            .post_json("logout", "/v1/logout", &json!({}), Some(&token))
            .await;
        let allowed = [(200, None)];
        match api.check("logout", &a, &allowed, Needs::Dynamo) {
            Got::Is(_) => self.sessions[i].live = Tri::No,
            Got::Unavailable if self.sessions[i].live == Tri::Yes => {
                self.sessions[i].live = Tri::Maybe
            }
            _ => {}
        }
    }

    /// After a logout: session `i`'s token and every refresh token it had must be refused.
    pub async fn probe_dead(&mut self, api: &Api, i: usize) {
        let s = self.sessions[i].clone();
        if s.live != Tri::No {
            return;
        }
        let dead = [(400, Some("invalid_grant"))];
        let a = api.exchange(&s.token).await;
        api.check("token-exchange", &a, &dead, Needs::Dynamo);
        if let Some(rt) = s.family.as_ref().and_then(|f| f.seen.last()) {
            let a = api
                .token(
                    "refresh",
                    &[("grant_type", "refresh_token"), ("refresh_token", rt)],
                )
                .await;
            api.check("refresh", &a, &dead, Needs::Dynamo);
        }
    }

    /// `POST /v2/recovery/send-email` for this member's email: always `200 {}`.
    pub async fn send_recovery(&mut self, api: &Api) {
        let a = api
            .post_json(
                "recovery-send",
                "/v2/recovery/send-email",
                &json!({ "email": self.email }),
                None,
            )
            .await;
        api.check("recovery-send", &a, &[(200, None)], Needs::Dynamo);
    }
}

/// What a token request with a session (or its family) in state `live` may answer.
fn allowed_for(live: Tri) -> Vec<(u16, Option<&'static str>)> {
    match live {
        Tri::Yes => vec![(200, None)],
        Tri::No => vec![(400, Some("invalid_grant"))],
        Tri::Maybe => vec![(200, None), (400, Some("invalid_grant"))],
    }
}

impl Got {
    /// The status of the allowed outcome it is, if it is one.
    fn and_then_status(self, allowed: &[(u16, Option<&str>)]) -> Option<u16> {
        match self {
            Got::Is(i) => Some(allowed[i].0),
            _ => None,
        }
    }
}
