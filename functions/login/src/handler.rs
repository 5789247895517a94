//! Login V2 (DESIGN §3.1): email + password → a session.
//!
//! A CAPTCHA token, when one is given, is checked first: only attempts that solved it may
//! count toward a lock, so lockout is not a weapon (DESIGN §4, §7.11). Then two sequential
//! stages of DynamoDB requests. Stage 1 runs at once the member read and the conditional
//! counts of this attempt: on its subject (the email's counter, or a known device's when the
//! request carries a valid `__Host-device` cookie for this email), on the email's hourly
//! ceiling of verifications, and on the client IP. An attempt that solved no CAPTCHA is
//! counted on its subject through a gate that shuts at `LOGIN_CAPTCHA_AFTER_FAILURES` and
//! never locks. A refused attempt stops there, before any argon2 work, and gives back what it
//! counted elsewhere — so a request refused for its IP leaves the email's counter as it was.
//! Then exactly one argon2 verification — against the dummy hash when there is no member or
//! no password, so the three failures look and cost alike. Stage 2, on a correct password,
//! stores the session (trimming the member's oldest beyond `MAX_SESSIONS_PER_MEMBER`), resets
//! the subject's counter, refunds the IP's attempt and, for a hash made under old parameters,
//! stores a new hash; the response sets a fresh device cookie. A PENDING member whose email is
//! not yet verified gets, beside them, a new verification state (its stateToken in the answer)
//! and, within `VERIFY_RESEND_MAX_PER_HOUR`, a new code by mail after the answer (§3.10).

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::app::App;
use shared::captcha;
use shared::config::ConfigError;
use shared::error::ApiError;
use shared::http;
use shared::lockout::{self, Attempt, DEVICE_COOKIE};
use shared::mail::Mail;
use shared::member::{Member, Status};
use shared::session::Device;
use shared::telemetry::audit;

/// The parsers of this function for the fuzzers and property tests (issue 16).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod request;

/// Login cannot run without its device-cookie key (DESIGN §4): refused at init.
pub fn check(app: &App) -> Result<(), ConfigError> {
    match app.devices {
        Some(_) => Ok(()),
        None => Err(ConfigError {
            var: "DEVICE_COOKIE_KEY_SECRET_ARN",
            problem: "is required (or DEVICE_COOKIE_KEY, locally): login signs device cookies"
                .into(),
        }),
    }
}

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    app.answered("login", login(app, &req, &ip).await, &request_id)
}

/// How long an attempt that failed on DynamoDB may spend giving its counts back: a stalled
/// table must still be answered well inside the function's timeout.
const REFUND_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);

/// One counter this attempt was counted on, to give the attempt back if it is refused later.
struct Counted<'a> {
    key: &'a str,
    attempt: Attempt,
}

impl Counted<'_> {
    fn count(&self) -> u32 {
        match self.attempt {
            Attempt::Admitted { count, .. } => count,
            Attempt::Refused { .. } => 0,
        }
    }
}

/// Refunds the admitted ones, concurrently; a refund that fails is logged only (the attempt
/// is refused either way, and the counter forgets it when its window ends).
async fn give_back(app: &App, counted: &[&Counted<'_>]) {
    let refunds = counted.iter().filter_map(|c| match c.attempt {
        Attempt::Admitted { window_start, .. } => Some(app.counters.refund(c.key, window_start)),
        Attempt::Refused { .. } => None,
    });
    for result in futures::future::join_all(refunds).await {
        if let Err(e) = result {
            tracing::warn!(event = "login_refund_failed", error = %e);
        }
    }
}

pub async fn login(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let creds = request::parse(req, app.config.password_max_length)
        .inspect_err(|_| audit("login", "invalid_request", None, ip))?;
    let now = app.clock.now_ms();
    let email_key = creds.email.key();
    let device = app
        .devices
        .as_ref()
        .and_then(|d| http::cookie(req, DEVICE_COOKIE).and_then(|v| d.check(&v, email_key, now)));

    // A CAPTCHA given is checked before anything is counted: a rejected one moves nothing.
    let solved = match captcha::first_token(&creds.captcha_tokens) {
        Some(token) if app.captcha.enabled() => {
            if !app.captcha.verify(token, ip).await? {
                audit("login", "captcha_rejected", None, ip);
                return Err(ApiError::invalid_captcha());
            }
            true
        }
        _ => false,
    };
    let lo = &app.config.lockout;
    let (subject_key, policy) = match &device {
        Some(d) => (lockout::device_key(&d.id), app.policies.login_device),
        None => (
            lockout::email_key("login", email_key),
            app.policies.login_email,
        ),
    };
    let policy = if app.captcha.enabled() && !solved {
        if lo.captcha_after_failures == 0 {
            audit("login", "captcha_required", None, ip);
            return Err(ApiError::captcha_required());
        }
        policy.gate(lo.captcha_after_failures)
    } else {
        policy
    };
    let ceiling_key = lockout::verifications_key(email_key);
    let ip_key = lockout::ip_key("login", ip);

    // Stage 1: count the attempt and read the member, concurrently.
    let (subject, ceiling, by_ip, member) = tokio::join!(
        app.counters.count(&subject_key, policy, now),
        app.counters
            .count(&ceiling_key, app.policies.login_verifications, now),
        app.counters.count(&ip_key, app.policies.login_ip, now),
        app.members.get(email_key),
    );
    // A table that fails one of these (unreachable, or throttled: one NAT's IP counter past
    // DynamoDB's writes per key) fails the attempt before any verification, with a 503. What
    // the others did count is given back, so an outage or a hot key costs no member an attempt
    // and an attacker no allowance: every count stands for a verification (issue 17).
    let (subject, ceiling, by_ip, member) = match (subject, ceiling, by_ip, member) {
        (Ok(subject), Ok(ceiling), Ok(by_ip), Ok(member)) => (subject, ceiling, by_ip, member),
        (subject, ceiling, by_ip, member) => {
            let counted: Vec<Counted> = [
                (&subject_key, &subject),
                (&ceiling_key, &ceiling),
                (&ip_key, &by_ip),
            ]
            .into_iter()
            .filter_map(|(key, result)| {
                Some(Counted {
                    key,
                    attempt: *result.as_ref().ok()?,
                })
            })
            .collect();
            let error = [subject.err(), ceiling.err(), by_ip.err(), member.err()]
                .into_iter()
                .flatten()
                .next()
                .expect("one of them failed");
            let counted: Vec<&Counted> = counted.iter().collect();
            if tokio::time::timeout(REFUND_BUDGET, give_back(app, &counted))
                .await
                .is_err()
            {
                tracing::warn!(event = "login_refund_failed", error = "timed out");
            }
            return Err(error.into());
        }
    };
    let subject = Counted {
        key: &subject_key,
        attempt: subject,
    };
    let ceiling = Counted {
        key: &ceiling_key,
        attempt: ceiling,
    };
    let member_id = member.as_ref().map(|m| m.member_id.clone());
    let member_id = member_id.as_deref();

    let refusal = match (subject.attempt, by_ip, ceiling.attempt) {
        (
            Attempt::Refused {
                retry_after,
                locked: true,
            },
            _,
            _,
        ) => Some((
            "locked",
            ApiError::account_locked(retry_after),
            vec![&ceiling],
        )),
        (_, Attempt::Refused { retry_after, .. }, _) => Some((
            "throttled",
            ApiError::throttled(retry_after),
            vec![&subject, &ceiling],
        )),
        (Attempt::Refused { locked: false, .. }, _, _) => Some((
            "captcha_required",
            ApiError::captcha_required(),
            vec![&ceiling],
        )),
        (_, _, Attempt::Refused { retry_after, .. }) => Some((
            "verification_ceiling",
            ApiError::account_locked(retry_after),
            vec![&subject],
        )),
        (_, Attempt::Admitted { count, .. }, _)
            if app.captcha.enabled() && !solved && count > lo.ip_captcha_after_failures =>
        {
            Some((
                "captcha_required",
                ApiError::captcha_required(),
                vec![&subject, &ceiling],
            ))
        }
        _ => None,
    };
    if let Some((outcome, error, to_give_back)) = refusal {
        audit("login", outcome, member_id, ip);
        give_back(app, &to_give_back).await;
        return Err(error);
    }
    let ip_window = match by_ip {
        Attempt::Admitted { window_start, .. } => window_start,
        Attempt::Refused { .. } => unreachable!("a refused IP count was answered above"),
    };
    tracing::debug!(
        event = "login_counted",
        known_device = device.is_some(),
        captcha_solved = solved,
        subject_count = subject.count(),
        verifications = ceiling.count()
    );

    let stored = member.as_ref().and_then(|m| m.password_hash.clone());
    let verified = app.hasher.verify(&creds.password, stored.as_deref()).await;
    let member = match member {
        Some(m) if verified.matches => m,
        _ => {
            audit("login", "invalid_credentials", member_id, ip);
            return Err(ApiError::invalid_credentials());
        }
    };

    // Stage 2: the password is right. Counters and a stale hash are settled beside the session.
    let session = async {
        match member.status {
            Status::Active => app
                .sessions
                .create_capped(
                    &member,
                    &Device::from_request(req),
                    now,
                    app.config.session_ttl_seconds,
                    app.config.max_sessions_per_member,
                )
                .await
                .map(Some),
            _ => Ok(None),
        }
    };
    let rehash = async {
        if !verified.needs_rehash {
            return Ok(());
        }
        let Ok(new_hash) = app.hasher.hash(&creds.password).await else {
            return Ok(());
        };
        app.members
            .replace_password_hash(
                &member.email_key,
                stored.as_deref().unwrap_or_default(),
                &new_hash,
            )
            .await
            .map(|replaced| {
                if replaced {
                    tracing::info!(event = "password_rehashed", member_id = %member.member_id);
                }
            })
    };
    // A member still proving its email gets a new stateToken and code (DESIGN §3.10).
    let verification = async {
        if member.status != Status::Pending || member.email_verified || app.mail.is_none() {
            return Ok(None);
        }
        let ttl = app.config.verification.code_ttl_seconds;
        let resend_key = lockout::verify_resend_key(&member.member_id);
        let (started, mailed) = tokio::join!(
            app.verifications.start(&member, now, ttl),
            app.counters
                .count(&resend_key, app.policies.verify_resend, now),
        );
        let started = started?;
        match (mailed, &app.mail) {
            (Ok(Attempt::Admitted { .. }), Some(mailer)) => mailer.send_later(Mail::verification(
                &member.email,
                &member.member_id,
                started.code.expose(),
                ttl,
            )),
            // Past VERIFY_RESEND_MAX_PER_HOUR the mailbox is left alone; the state still stands.
            _ => {
                tracing::info!(event = "verification_code_not_mailed", member_id = %member.member_id)
            }
        }
        Ok::<_, shared::error::StoreError>(Some(started.token))
    };
    let (session, reset, refund, rehash, verification) = tokio::join!(
        session,
        app.counters.reset(&subject_key, now),
        app.counters.refund(&ip_key, ip_window),
        rehash,
        verification,
    );
    for side in [reset, refund, rehash] {
        // The member is authenticated; a counter or rehash that failed to settle is logged only.
        if let Err(e) = side {
            tracing::warn!(event = "login_side_effect_failed", error = %e);
        }
    }
    let session = session?;
    let state_token = verification?;
    let resp = respond(
        &member,
        session,
        state_token,
        ip,
        app.config.session_ttl_seconds,
    )?;
    Ok(match (&app.devices, member.status) {
        (Some(d), Status::Active) => http::with_header(
            resp,
            "set-cookie",
            &d.set_cookie(&d.issue(&member.email_key, now)),
        ),
        _ => resp,
    })
}

fn respond(
    member: &Member,
    session: Option<shared::session::NewSession>,
    state_token: Option<String>,
    ip: &str,
    ttl: i64,
) -> Result<Response<Body>, ApiError> {
    let id = Some(member.member_id.as_str());
    match (member.status, session) {
        (Status::Blocked, _) => {
            audit("login", "blocked", id, ip);
            Err(ApiError::member_blocked())
        }
        (Status::Pending, _) => {
            let state = if member.email_verified {
                "REQUIRE_OWNER_APPROVAL"
            } else {
                "REQUIRE_EMAIL_VERIFICATION"
            };
            audit("login", "pending", id, ip);
            let mut body = json!({"state": state, "identity": member.identity()});
            if let Some(token) = state_token {
                body["stateToken"] = json!(token);
            }
            Ok(http::json_response(200, &body))
        }
        (Status::Active, Some(s)) => {
            audit("login", "success", id, ip);
            Ok(http::signed_in(&s.token, member.identity(), ttl))
        }
        (Status::Active, None) => Err(ApiError::Internal),
    }
}

#[cfg(test)]
mod tests;
