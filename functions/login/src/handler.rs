//! Login V2 (DESIGN §3.1): email + password → a session.
//!
//! Two sequential stages of DynamoDB requests. Stage 1 runs at once the conditional counts of
//! this attempt against the email's and the client IP's counters and the member read; a
//! locked or throttled attempt stops there, before any argon2 work. Then the CAPTCHA (when the
//! counters ask for one) and exactly one argon2 verification — against the dummy hash when
//! there is no member or no password, so the three failures look and cost alike. Stage 2, on a
//! correct password, stores the session, resets the email counter, refunds the IP's attempt
//! and, for a hash made under old parameters, stores a new hash.

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::app::App;
use shared::captcha;
use shared::error::ApiError;
use shared::http;
use shared::lockout::{self, Attempt};
use shared::member::{Member, Status};
use shared::telemetry::audit;

mod request;

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    app.answered("login", login(app, &req, &ip).await, &request_id)
}

pub async fn login(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let creds = request::parse(req, app.config.password_max_length)
        .inspect_err(|_| audit("login", "invalid_request", None, ip))?;
    let now = app.clock.now_ms();
    let email_counter = lockout::email_key("login", creds.email.key());
    let ip_counter = lockout::ip_key("login", ip);

    // Stage 1: count the attempt on both counters and read the member, concurrently.
    let (by_email, by_ip, member) = tokio::join!(
        app.counters
            .count(&email_counter, app.policies.login_email, now),
        app.counters.count(&ip_counter, app.policies.login_ip, now),
        app.members.get(creds.email.key()),
    );
    let (by_email, by_ip, member) = (by_email?, by_ip?, member?);
    let member_id = member.as_ref().map(|m| m.member_id.clone());
    let member_id = member_id.as_deref();
    let (email_count, ip_window) = match (by_email, by_ip) {
        (Attempt::Refused { retry_after, .. }, _) => {
            audit("login", "locked", member_id, ip);
            return Err(ApiError::account_locked(retry_after));
        }
        (_, Attempt::Refused { retry_after, .. }) => {
            audit("login", "throttled", member_id, ip);
            return Err(ApiError::throttled(retry_after));
        }
        (
            Attempt::Admitted { count, .. },
            Attempt::Admitted {
                count: ip_count,
                window_start,
            },
        ) => ((count, ip_count), window_start),
    };

    let lo = &app.config.lockout;
    let captcha_needed = app.captcha.enabled()
        && (email_count.0 > lo.captcha_after_failures
            || email_count.1 > lo.ip_captcha_after_failures);
    if captcha_needed {
        let Some(token) = captcha::first_token(&creds.captcha_tokens) else {
            audit("login", "captcha_required", member_id, ip);
            return Err(ApiError::captcha_required());
        };
        if !app.captcha.verify(token, ip).await? {
            audit("login", "captcha_rejected", member_id, ip);
            return Err(ApiError::invalid_captcha());
        }
    }

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
                .create(&member, now, app.config.session_ttl_seconds)
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
    let (session, reset, refund, rehash) = tokio::join!(
        session,
        app.counters.reset(&email_counter, now),
        app.counters.refund(&ip_counter, ip_window),
        rehash,
    );
    for side in [reset, refund, rehash] {
        // The member is authenticated; a counter or rehash that failed to settle is logged only.
        if let Err(e) = side {
            tracing::warn!(event = "login_side_effect_failed", error = %e);
        }
    }
    let session = session?;
    respond(&member, session, ip, app.config.session_ttl_seconds)
}

fn respond(
    member: &Member,
    session: Option<shared::session::NewSession>,
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
            Ok(http::json_response(
                200,
                &json!({"state": state, "identity": member.identity()}),
            ))
        }
        (Status::Active, Some(s)) => {
            audit("login", "success", id, ip);
            let body = json!({
                "state": "SUCCESS",
                "sessionToken": s.token,
                "identity": member.identity(),
            });
            Ok(http::with_header(
                http::json_response(200, &body),
                "set-cookie",
                &http::session_cookie(&s.token, ttl),
            ))
        }
        (Status::Active, None) => Err(ApiError::Internal),
    }
}

#[cfg(test)]
mod tests;
