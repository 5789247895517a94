//! Email verification (DESIGN §3.10): the 6-digit code mailed at registration (or at a login of
//! a member still unverified) proves the mailbox.
//!
//! `POST /v2/verify {"code", "stateToken"}` takes at most two sequential DynamoDB round trips:
//! 1. the check of the code, counted before it is judged (`shared::verification`): a dead
//!    stateToken (unknown, expired, `VERIFY_MAX_ATTEMPTS` used) → 400 `INVALID_STATE_TOKEN`, a
//!    wrong code → 400 `INVALID_VERIFICATION_CODE`;
//! 2. at once: the member marked verified and ACTIVE (unless `REGISTER_REQUIRES_OWNER_APPROVAL`,
//!    then it stays PENDING and gets no session) unless BLOCKED (→ 403 `MEMBER_BLOCKED`), the
//!    state ended, and the new session. Of two verifications racing with the right code one
//!    ends the state; the other's session is revoked and it is answered `INVALID_STATE_TOKEN`.
//!
//! `POST /v2/verify/resend {"stateToken"}` → `200 {}` and a new code (the old one dies): the
//! state is read, the member's count of mailed codes taken (`VERIFY_RESEND_MAX_PER_HOUR`, then
//! 429 `THROTTLED`), and the new code stored; the mail goes out after the answer.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use shared::app::App;
use shared::config::ConfigError;
use shared::error::{ApiError, FieldViolation};
use shared::http;
use shared::lockout::{self, Attempt};
use shared::mail::Mail;
use shared::member::{Status, Verified};
use shared::session::{Device, NewSession};
use shared::telemetry::audit;
use shared::verification::{Checked, Code, StateToken};

pub const VERIFY_PATH: &str = "/v2/verify";
pub const RESEND_PATH: &str = "/v2/verify/resend";

const EVENT: &str = "verify_email";

/// Verification cannot resend codes without a sender: refused at init.
pub fn check(app: &App) -> Result<(), ConfigError> {
    match app.config.email_from {
        Some(_) => Ok(()),
        None => Err(ConfigError {
            var: "EMAIL_FROM",
            problem: "is required: verify-email mails new codes".into(),
        }),
    }
}

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    let result = match (http::route_path(&req), req.method().as_str()) {
        (VERIFY_PATH, "POST") => verify(app, &req, &ip).await,
        (RESEND_PATH, "POST") => resend(app, &req, &ip).await,
        (VERIFY_PATH | RESEND_PATH, _) => return http::method_not_allowed("POST"),
        _ => Err(ApiError::not_found()),
    };
    app.answered("verify-email", result, &request_id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyBody {
    code: Option<String>,
    state_token: Option<String>,
}

/// The body's stateToken and code; a token or code of the wrong shape is answered as a dead
/// token or a wrong code, without any DynamoDB request.
fn parse(req: &Request, with_code: bool) -> Result<(StateToken, Option<Code>), ApiError> {
    let body: VerifyBody = http::parse_json(req)?;
    let mut violations: Vec<FieldViolation> = vec![];
    let token = http::required(&body.state_token, "stateToken").map_err(|v| violations.push(v));
    let code = if with_code {
        http::required(&body.code, "code")
            .map(Some)
            .map_err(|v| violations.push(v))
    } else {
        Ok(None)
    };
    let (Ok(token), Ok(code)) = (token, code) else {
        return Err(ApiError::Validation(violations));
    };
    let token = StateToken::parse(token).ok_or_else(ApiError::invalid_state_token)?;
    let code = match code {
        Some(raw) => Some(Code::parse(raw).ok_or_else(ApiError::invalid_verification_code)?),
        None => None,
    };
    Ok((token, code))
}

pub async fn verify(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let (token, code) =
        parse(req, true).inspect_err(|_| audit(EVENT, "invalid_request", None, ip))?;
    let code = code.ok_or(ApiError::Internal)?;
    let now = app.clock.now_ms();
    let v = &app.config.verification;

    // Round trip 1: count the check, then judge it.
    let state = match app
        .verifications
        .check(&token, &code, now, v.max_attempts)
        .await?
    {
        Checked::Dead => {
            audit(EVENT, "invalid_state_token", None, ip);
            return Err(ApiError::invalid_state_token());
        }
        Checked::Wrong => {
            audit(EVENT, "wrong_code", None, ip);
            return Err(ApiError::invalid_verification_code());
        }
        Checked::Right(state) => state,
    };
    let member_id = state.member_id.as_str();

    // Round trip 2: the member verified, the state ended and the session, at once.
    let activate = !v.owner_approval;
    let ttl = app.config.session_ttl_seconds;
    let device = Device::from_request(req);
    let session = async {
        if activate {
            app.sessions
                .create_for(member_id, &state.email_key, &device, now, ttl)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (marked, finished, session) = tokio::join!(
        app.members
            .mark_verified(&state.email_key, member_id, activate, now),
        app.verifications.finish(&token),
        session,
    );
    let refusal = match (&marked, &finished) {
        (Err(_), _) | (_, Err(_)) => None,
        (Ok(Verified::Refused(Some(m))), _)
            if m.member_id == member_id && m.status == Status::Blocked =>
        {
            audit(EVENT, "blocked", Some(member_id), ip);
            Some(ApiError::member_blocked())
        }
        (Ok(Verified::Refused(_)), _) | (_, Ok(false)) => {
            audit(EVENT, "invalid_state_token", Some(member_id), ip);
            Some(ApiError::invalid_state_token())
        }
        _ => None,
    };
    if refusal.is_some() || marked.is_err() || finished.is_err() {
        discard(app, session, now).await;
        return Err(match (refusal, marked, finished) {
            (Some(e), _, _) => e,
            (None, Err(e), _) | (None, _, Err(e)) => e.into(),
            (None, Ok(_), Ok(_)) => ApiError::Internal,
        });
    }
    let Verified::Marked(member) = marked? else {
        return Err(ApiError::Internal);
    };
    match (member.status, session?) {
        (Status::Active, Some(s)) => {
            audit(EVENT, "success", Some(member_id), ip);
            Ok(http::signed_in(&s.token, member.identity(), ttl))
        }
        (_, s) => {
            discard(app, Ok(s), now).await;
            audit(EVENT, "pending", Some(member_id), ip);
            Ok(http::json_response(
                200,
                &json!({"state": "REQUIRE_OWNER_APPROVAL", "identity": member.identity()}),
            ))
        }
    }
}

pub async fn resend(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let (token, _) =
        parse(req, false).inspect_err(|_| audit("verify_resend", "invalid_request", None, ip))?;
    let now = app.clock.now_ms();
    let v = &app.config.verification;
    let Some(state) = app.verifications.open(&token, now, v.max_attempts).await? else {
        audit("verify_resend", "invalid_state_token", None, ip);
        return Err(ApiError::invalid_state_token());
    };
    let member_id = state.member_id.as_str();
    let counter = lockout::verify_resend_key(member_id);
    if let Attempt::Refused { retry_after, .. } = app
        .counters
        .count(&counter, app.policies.verify_resend, now)
        .await?
    {
        audit("verify_resend", "throttled", Some(member_id), ip);
        return Err(ApiError::throttled(retry_after));
    }
    let Some(code) = app
        .verifications
        .renew(&token, now, v.code_ttl_seconds, v.max_attempts)
        .await?
    else {
        audit("verify_resend", "invalid_state_token", Some(member_id), ip);
        return Err(ApiError::invalid_state_token());
    };
    match &app.mail {
        Some(mailer) => mailer.send_later(Mail::verification(
            &state.email,
            member_id,
            code.expose(),
            v.code_ttl_seconds,
        )),
        None => tracing::error!(event = "mail_not_configured", kind = "verification"),
    }
    audit("verify_resend", "mailed", Some(member_id), ip);
    Ok(http::json_response(200, &json!({})))
}

/// Revokes a session stored beside a verification that was refused after all.
async fn discard(
    app: &App,
    session: Result<Option<NewSession>, shared::error::StoreError>,
    now: i64,
) {
    if let Ok(Some(s)) = session
        && let Err(e) = app.sessions.revoke(&s.session.session_id, now).await
    {
        tracing::warn!(event = "verify_session_not_revoked", session_id = %s.session.session_id, error = %e);
    }
}

/// The parsers of this function for the fuzzers and property tests (issue 16).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod tests;
