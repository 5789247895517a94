//! Register V2 (DESIGN §3.2): email + password (+ profile) → a new ACTIVE member and a session.
//!
//! Everything that needs only the request runs first: the body, the email, the profile (the
//! same checks as sign-on's, `shared::member::profile`) and the password policy, whose similarity rule reads the email's
//! local part and the names in the profile. A refused request costs no DynamoDB request and
//! does not use up the client's registration allowance. Then two sequential stages:
//! 1. the conditional count of this registration against the client IP's hourly counter
//!    (`REGISTER_IP_MAX_PER_HOUR`, then 429 `THROTTLED`, before any argon2 work); then the
//!    CAPTCHA when `REGISTER_REQUIRES_CAPTCHA` is on, and one argon2id hash. A registration
//!    the service fails to finish (a 5xx: the CAPTCHA verifier or DynamoDB unavailable) gives
//!    the count back, so retrying through an outage does not use up the hour; a refused
//!    CAPTCHA or a taken email keeps it;
//! 2. at once, the member `PutItem` conditional on the email being new — so concurrent
//!    registrations of one email create exactly one member — and the session `PutItem`.
//!
//! With `REGISTER_REQUIRES_EMAIL_VERIFICATION=true` (DESIGN §3.10) the member is PENDING and
//! stage 2 stores its verification state instead of a session; the 6-digit code is mailed after
//! the answer (`shared::mail`), which carries the stateToken and no session.
//!
//! A taken email answers 409 `DUPLICATE_EMAIL`, as the contract says. That tells a caller the
//! address has an account; the per-IP limit (and the CAPTCHA, where configured) bounds how
//! fast anyone can learn it, and the refusal costs the same argon2 hash as a success, so the
//! answer is not faster either. The session stored beside the member that was not created is
//! revoked at once (a third request, on that path only); its token was never handed out.

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::app::App;
use shared::captcha;
use shared::error::ApiError;
use shared::http;
use shared::lockout::{self, Attempt};
use shared::mail::Mail;
use shared::member::{CreateError, Member, Status};
use shared::password::policy::PasswordPolicy;
use shared::session::{Device, NewSession};
use shared::telemetry::audit;

/// The parsers of this function for the fuzzers and property tests (issue 16).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod request;

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    app.answered("register", register(app, &req, &ip).await, &request_id)
}

pub async fn register(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let today = time::OffsetDateTime::from_unix_timestamp(app.clock.now_secs())
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    let policy = PasswordPolicy::from_config(&app.config);
    let input = request::parse(req, policy, today)
        .inspect_err(|_| audit("register", "invalid_request", None, ip))?;
    let captcha_token = if app.config.register_requires_captcha && app.captcha.enabled() {
        let Some(token) = captcha::first_token(&input.captcha_tokens) else {
            audit("register", "captcha_required", None, ip);
            return Err(ApiError::captcha_required());
        };
        Some(token.to_owned())
    } else {
        None
    };
    let now = app.clock.now_ms();

    // Stage 1: count the registration against the client IP, before any argon2 work.
    let counter = lockout::ip_key("register", ip);
    let window_start = match app
        .counters
        .count(&counter, app.policies.register_ip, now)
        .await?
    {
        Attempt::Refused { retry_after, .. } => {
            audit("register", "throttled", None, ip);
            return Err(ApiError::throttled(retry_after));
        }
        Attempt::Admitted { window_start, .. } => window_start,
    };
    let answer = admitted(app, req, ip, input, captcha_token, now).await;
    // A registration the service failed to finish (CAPTCHA verifier down, DynamoDB
    // unavailable) gives its count back: a client retrying through an outage keeps its hourly
    // allowance. Refusals for the request itself (a rejected CAPTCHA, a taken email) keep it.
    // The give-back has a second at most: against a DynamoDB that has just stopped answering
    // it would otherwise add a whole operation timeout and take the answer past the
    // function's (found by the fault drill); then the count stays, costing one allowance.
    if let Err(e) = &answer
        && e.status() >= 500
    {
        match tokio::time::timeout(REFUND_BUDGET, app.counters.refund(&counter, window_start)).await
        {
            Ok(Ok(())) => {}
            Ok(Err(refund)) => tracing::warn!(event = "register_refund_failed", error = %refund),
            Err(_) => tracing::warn!(event = "register_refund_failed", error = "timed out"),
        }
    }
    answer
}

/// How long a failed registration may spend giving its count back.
const REFUND_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);

/// Everything after the IP's allowance admitted the registration: the CAPTCHA, the hash and
/// stage 2.
async fn admitted(
    app: &App,
    req: &Request,
    ip: &str,
    input: request::Registration,
    captcha_token: Option<String>,
    now: i64,
) -> Result<Response<Body>, ApiError> {
    if let Some(token) = captcha_token
        && !app.captcha.verify(&token, ip).await?
    {
        audit("register", "captcha_rejected", None, ip);
        return Err(ApiError::invalid_captcha());
    }
    let verify = app.config.verification.register_requires;
    let status = if verify {
        Status::Pending
    } else {
        Status::Active
    };
    let mut member = Member::new(&input.email, status, now);
    input.profile.apply_to(&mut member.profile);
    member.password_hash = Some(app.hasher.hash(&input.password).await?);

    if verify {
        return register_pending(app, &member, ip, now).await;
    }

    // Stage 2: the member, if the email is new, and its session, at once.
    let ttl = app.config.session_ttl_seconds;
    let device = Device::from_request(req);
    let (created, session) = tokio::join!(
        app.members.create(&member),
        app.sessions.create_on(&member, &device, now, ttl),
    );
    if let Err(refusal) = created {
        discard(app, session, now).await;
        return Err(match refusal {
            CreateError::Exists(_) => {
                audit("register", "duplicate_email", None, ip);
                ApiError::duplicate_email()
            }
            CreateError::Store(e) => e.into(),
        });
    }
    let session = match session {
        Ok(s) => s,
        // The member exists now; without a session the caller could only log in, so try once more.
        Err(e) => {
            tracing::warn!(event = "register_session_retry", error = %e);
            app.sessions.create_on(&member, &device, now, ttl).await?
        }
    };
    audit("register", "success", Some(&member.member_id), ip);
    Ok(http::signed_in(&session.token, member.identity(), ttl))
}

/// Stage 2 with `REGISTER_REQUIRES_EMAIL_VERIFICATION` (DESIGN §3.10): the PENDING member, if
/// the email is new, and its verification state at once; then the code is mailed after the
/// answer, which carries the stateToken and no session.
async fn register_pending(
    app: &App,
    member: &Member,
    ip: &str,
    now: i64,
) -> Result<Response<Body>, ApiError> {
    let ttl = app.config.verification.code_ttl_seconds;
    let (created, started) = tokio::join!(
        app.members.create(member),
        app.verifications.start(member, now, ttl),
    );
    if let Err(refusal) = created {
        if let Ok(s) = &started
            && let Err(e) = app.verifications.discard(&s.state_id).await
        {
            tracing::warn!(event = "register_verification_not_discarded", error = %e);
        }
        return Err(match refusal {
            CreateError::Exists(_) => {
                audit("register", "duplicate_email", None, ip);
                ApiError::duplicate_email()
            }
            CreateError::Store(e) => e.into(),
        });
    }
    let started = started?;
    match &app.mail {
        Some(mailer) => mailer.send_later(Mail::verification(
            &member.email,
            &member.member_id,
            started.code.expose(),
            ttl,
        )),
        None => tracing::error!(event = "mail_not_configured", kind = "verification"),
    }
    audit(
        "register",
        "verification_required",
        Some(&member.member_id),
        ip,
    );
    Ok(http::json_response(
        200,
        &json!({
            "state": "REQUIRE_EMAIL_VERIFICATION",
            "stateToken": started.token,
            "identity": member.identity(),
        }),
    ))
}

/// With `REGISTER_REQUIRES_EMAIL_VERIFICATION`, register mails codes: refused at init without
/// a sender.
pub fn check(app: &App) -> Result<(), shared::config::ConfigError> {
    if app.config.verification.register_requires && app.config.email_from.is_none() {
        return Err(shared::config::ConfigError {
            var: "EMAIL_FROM",
            problem: "is required with REGISTER_REQUIRES_EMAIL_VERIFICATION=true: register mails \
                      the verification code"
                .into(),
        });
    }
    Ok(())
}

/// Revokes the session stored beside a member that was not created.
async fn discard(app: &App, session: Result<NewSession, shared::error::StoreError>, now: i64) {
    if let Ok(s) = session
        && let Err(e) = app.sessions.revoke(&s.session.session_id, now).await
    {
        // Harmless: its token was never handed out, and cleanup collects it when it expires.
        tracing::warn!(event = "register_session_not_revoked", session_id = %s.session.session_id, error = %e);
    }
}

#[cfg(test)]
mod tests;
