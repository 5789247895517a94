//! Register V2 (DESIGN §3.2): email + password (+ profile) → a new ACTIVE member and a session.
//!
//! Everything that needs only the request runs first: the body, the email, the profile (the
//! same checks as sign-on's) and the password policy, whose similarity rule reads the email's
//! local part and the names in the profile. A refused request costs no DynamoDB request and
//! does not use up the client's registration allowance. Then two sequential stages:
//! 1. the conditional count of this registration against the client IP's hourly counter
//!    (`REGISTER_IP_MAX_PER_HOUR`, then 429 `THROTTLED`, before any argon2 work); then the
//!    CAPTCHA when `REGISTER_REQUIRES_CAPTCHA` is on, and one argon2id hash;
//! 2. at once, the member `PutItem` conditional on the email being new — so concurrent
//!    registrations of one email create exactly one member — and the session `PutItem`.
//!
//! A taken email answers 409 `DUPLICATE_EMAIL`, as the contract says. That tells a caller the
//! address has an account; the per-IP limit (and the CAPTCHA, where configured) bounds how
//! fast anyone can learn it, and the refusal costs the same argon2 hash as a success, so the
//! answer is not faster either. The session stored beside the member that was not created is
//! revoked at once (a third request, on that path only); its token was never handed out.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use shared::app::App;
use shared::captcha::{self, CaptchaToken};
use shared::email::Email;
use shared::error::{ApiError, FieldViolation};
use shared::http;
use shared::lockout::{self, Attempt, Policy};
use shared::member::{CreateError, Member, ProfilePatch, Status};
use shared::password::Password;
use shared::password::policy::{PasswordPolicy, PersonalInfo};
use shared::session::NewSession;
use shared::telemetry::audit;

/// The registration counter's window: `REGISTER_IP_MAX_PER_HOUR` is per hour.
const REGISTER_WINDOW_MS: i64 = 3_600_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    login_id: Option<LoginId>,
    password: Option<String>,
    profile: Option<Value>,
    #[serde(default)]
    captcha_tokens: Vec<CaptchaToken>,
    #[allow(dead_code)]
    client_meta_data: Option<Value>,
}

#[derive(Deserialize)]
struct LoginId {
    email: Option<String>,
}

/// A registration, parsed and within policy.
struct Registration {
    email: Email,
    password: Password,
    profile: ProfilePatch,
    captcha_tokens: Vec<CaptchaToken>,
}

fn parse(app: &App, req: &Request) -> Result<Registration, ApiError> {
    let body: RegisterBody = http::parse_json(req)?;
    let raw_email = body.login_id.and_then(|l| l.email);
    let email =
        http::required(&raw_email, "loginId.email").and_then(|e| Email::parse(e, "loginId.email"));
    let today = time::OffsetDateTime::from_unix_timestamp(app.clock.now_secs())
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    let profile = sign_on::profile::parse(body.profile.as_ref(), &[], today);
    let password = match body.password.as_deref() {
        None => Err(vec![FieldViolation::new(
            "password",
            "REQUIRED_FIELD_MISSING",
            "password is required.",
        )]),
        Some(raw) => {
            let names = profile.as_ref().ok();
            let personal = PersonalInfo {
                email_local_part: email.as_ref().map(Email::local_part).unwrap_or_default(),
                first_name: names.and_then(|p| p.first_name.as_deref()),
                last_name: names.and_then(|p| p.last_name.as_deref()),
            };
            PasswordPolicy::from_config(&app.config).parse_new(raw, "password", &personal)
        }
    };
    match (email, password, profile) {
        (Ok(email), Ok(password), Ok(profile)) => Ok(Registration {
            email,
            password,
            profile,
            captcha_tokens: body.captcha_tokens,
        }),
        (email, password, profile) => {
            let mut violations: Vec<FieldViolation> = email.err().into_iter().collect();
            violations.extend(password.err().unwrap_or_default());
            violations.extend(profile.err().unwrap_or_default());
            Err(ApiError::Validation(violations))
        }
    }
}

fn ip_policy(app: &App) -> Policy {
    Policy {
        window_ms: REGISTER_WINDOW_MS,
        limit: app.config.lockout.register_ip_max_per_hour,
        lock: None,
    }
}

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    let result = register(app, &req, &ip).await;
    app.log_traffic("register");
    http::respond(result, &request_id)
}

pub async fn register(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let input = parse(app, req).inspect_err(|_| audit("register", "invalid_request", None, ip))?;
    let captcha_token = if app.config.register_requires_captcha && app.captcha.enabled() {
        let Some(token) = captcha::first_token(&input.captcha_tokens) else {
            audit("register", "captcha_required", None, ip);
            return Err(ApiError::captcha_required());
        };
        Some(token)
    } else {
        None
    };
    let now = app.clock.now_ms();

    // Stage 1: count the registration against the client IP, before any argon2 work.
    let counter = lockout::ip_key("register", ip);
    if let Attempt::Refused { retry_after, .. } =
        app.counters.count(&counter, ip_policy(app), now).await?
    {
        audit("register", "throttled", None, ip);
        return Err(ApiError::throttled(retry_after));
    }
    if let Some(token) = captcha_token
        && !app.captcha.verify(token, ip).await?
    {
        audit("register", "captcha_rejected", None, ip);
        return Err(ApiError::invalid_captcha());
    }
    let mut member = Member::new(&input.email, Status::Active, now);
    input.profile.apply_to(&mut member.profile);
    member.password_hash = Some(app.hasher.hash(&input.password).await?);

    // Stage 2: the member, if the email is new, and its session, at once.
    let ttl = app.config.session_ttl_seconds;
    let (created, session) = tokio::join!(
        app.members.create(&member),
        app.sessions.create(&member, now, ttl),
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
            app.sessions.create(&member, now, ttl).await?
        }
    };
    audit("register", "success", Some(&member.member_id), ip);
    Ok(respond(&member, &session, ttl))
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

fn respond(member: &Member, session: &NewSession, ttl: i64) -> Response<Body> {
    let body = json!({
        "state": "SUCCESS",
        "sessionToken": session.token,
        "identity": member.identity(),
    });
    http::with_header(
        http::json_response(200, &body),
        "set-cookie",
        &http::session_cookie(&session.token, ttl),
    )
}

#[cfg(test)]
mod tests;
