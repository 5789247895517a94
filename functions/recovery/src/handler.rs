//! Account recovery (DESIGN §3.9): a single-use link mailed to the address, then a new password.
//!
//! `POST /v2/recovery/send-email` answers `200 {}` whatever the email, after the same DynamoDB
//! work for a member's email and for one no member has, in two sequential round trips:
//! 1. at once, the conditional counts of the request against the client IP
//!    (`RECOVERY_IP_MAX_PER_HOUR`, then 429 `THROTTLED`) and against the email
//!    (`RECOVERY_EMAIL_MAX_PER_HOUR`, then still `200 {}` and nothing more), and the member read;
//! 2. the email's recovery ticket (`shared::recovery`), written for an unknown email too.
//!
//! The mail itself is handed to the mailer's background task (`shared::mail`): the answer never
//! waits on SES, so it is not slower for a member's email. A BLOCKED member is mailed nothing.
//!
//! `POST /v2/recovery/recover` sets the new password in three sequential round trips besides
//! the argon2 hash:
//! 1. the ticket the token opens (unknown, voided, expired → 400 `INVALID_RECOVERY_TOKEN`); the
//!    password policy is applied with the names the ticket carries (400 on `newPassword`, the
//!    token still good), then one argon2id hash;
//! 2. at once: one transaction that deletes the ticket (still this secret, not expired), sets
//!    the password with the email verified (and a PENDING member ACTIVE, unless the owner must
//!    approve) for the same member unless BLOCKED (→ 403 `MEMBER_BLOCKED`), and clears the
//!    email's login counter, lifting a lock; the new session; the list of the member's sessions;
//! 3. at once: the member as it now is (for the answer) and the revocation of every other
//!    session, refresh tokens with them — whoever registered the address before its owner
//!    proved it keeps nothing (DESIGN §3.3, §7.12).

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::app::App;
use shared::config::ConfigError;
use shared::error::ApiError;
use shared::http;
use shared::lockout::{self, Attempt};
use shared::mail::Mail;
use shared::member::{Member, Status};
use shared::password::policy::{PasswordPolicy, PersonalInfo};
use shared::recovery::Redeemed;
use shared::session::{Device, NewSession};
use shared::telemetry::audit;

/// The parsers of this function for the fuzzers and property tests (issue 16).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod request;

pub const SEND_EMAIL_PATH: &str = "/v2/recovery/send-email";
pub const RECOVER_PATH: &str = "/v2/recovery/recover";

/// Recovery cannot run without a sender and a page to link to: refused at init.
pub fn check(app: &App) -> Result<(), ConfigError> {
    if app.config.email_from.is_none() {
        return Err(ConfigError {
            var: "EMAIL_FROM",
            problem: "is required: recovery mails its links".into(),
        });
    }
    if app.config.recovery.page_url.is_none() {
        return Err(ConfigError {
            var: "RECOVERY_PAGE_URL",
            problem: "is required: the page a recovery link opens".into(),
        });
    }
    Ok(())
}

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    let result = match (http::route_path(&req), req.method().as_str()) {
        (SEND_EMAIL_PATH, "POST") => send_email(app, &req, &ip).await,
        (RECOVER_PATH, "POST") => recover(app, &req, &ip).await,
        (SEND_EMAIL_PATH | RECOVER_PATH, _) => return http::method_not_allowed("POST"),
        _ => Err(ApiError::not_found()),
    };
    app.answered("recovery", result, &request_id)
}

pub async fn send_email(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let input = request::send_email(req, &app.config.recovery)
        .inspect_err(|_| audit("recovery_send", "invalid_request", None, ip))?;
    let now = app.clock.now_ms();
    let email_key = input.email.key();

    // Round trip 1: count the request by IP and by email, and read the member, at once.
    let ip_key = lockout::ip_key("recovery", ip);
    let email_counter = lockout::email_key("recovery", email_key);
    let (by_ip, by_email, member) = tokio::join!(
        app.counters.count(&ip_key, app.policies.recovery_ip, now),
        app.counters
            .count(&email_counter, app.policies.recovery_email, now),
        app.members.get(email_key),
    );
    let (by_ip, by_email, member) = (by_ip?, by_email?, member?);
    if let Attempt::Refused { retry_after, .. } = by_ip {
        audit("recovery_send", "throttled", None, ip);
        return Err(ApiError::throttled(retry_after));
    }
    // Mail goes only to a member who may use it.
    let member = member.filter(|m| m.status != Status::Blocked);
    let member_id = member.as_ref().map(|m| m.member_id.as_str());
    if let Attempt::Refused { .. } = by_email {
        audit("recovery_send", "email_limit", member_id, ip);
        return Ok(accepted());
    }

    // Round trip 2: the ticket, for a member's email and for any other alike.
    let ttl = app.config.recovery.token_ttl_seconds;
    let issued = app
        .tickets
        .issue(email_key, member.as_ref(), now, ttl)
        .await?;
    match (&member, &app.mail) {
        (Some(m), Some(mailer)) => {
            let link = link(&input.url, &issued.token);
            mailer.send_later(Mail::recovery(&m.email, &m.member_id, &link, ttl));
            audit("recovery_send", "mailed", member_id, ip);
        }
        (Some(_), None) => {
            tracing::error!(event = "mail_not_configured", kind = "recovery");
            audit("recovery_send", "not_mailed", member_id, ip);
        }
        (None, _) => audit("recovery_send", "unknown_email", None, ip),
    }
    Ok(accepted())
}

/// The one answer of send-email.
fn accepted() -> Response<Body> {
    http::json_response(200, &json!({}))
}

/// `<url>?recoveryToken=<token>`, keeping the allowlisted URL's own query.
fn link(url: &str, token: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut().append_pair("recoveryToken", token);
            u.to_string()
        }
        Err(_) => format!("{url}?recoveryToken={token}"),
    }
}

pub async fn recover(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let input = request::recover(req, app.config.password_max_length)
        .inspect_err(|_| audit("recovery", "invalid_request", None, ip))?;
    let Some(token) = input.token else {
        audit("recovery", "invalid_token", None, ip);
        return Err(ApiError::invalid_recovery_token());
    };
    let now = app.clock.now_ms();

    // Round trip 1: the ticket.
    let Some(ticket) = app.tickets.open(&token, now).await? else {
        audit("recovery", "invalid_token", None, ip);
        return Err(ApiError::invalid_recovery_token());
    };
    let member_id = ticket.member_id.as_str();
    let personal = PersonalInfo {
        email_local_part: ticket
            .email_key
            .rsplit_once('@')
            .map_or("", |(local, _)| local),
        first_name: ticket.first_name.as_deref(),
        last_name: ticket.last_name.as_deref(),
    };
    let violations = PasswordPolicy::from_config(&app.config).violations(
        &input.new_password,
        "newPassword",
        &personal,
    );
    if !violations.is_empty() {
        audit("recovery", "weak_password", Some(member_id), ip);
        return Err(ApiError::Validation(violations));
    }
    let new_hash = app.hasher.hash(&input.new_password).await?;

    // Round trip 2: redeem (password, verified, lockout cleared, ticket gone — or nothing),
    // the new session and the member's other sessions, at once.
    let ttl = app.config.session_ttl_seconds;
    let activate = !app.config.verification.owner_approval;
    let clear = [lockout::email_key("login", &ticket.email_key)];
    let device = Device::from_request(req);
    let (redeemed, session, others) = tokio::join!(
        app.tickets.redeem(
            &ticket,
            &app.config.tables.members,
            &new_hash,
            activate,
            &clear,
            now
        ),
        app.sessions
            .create_for(member_id, &ticket.email_key, &device, now, ttl),
        app.sessions.ids_of_member(member_id),
    );
    let redeemed = match redeemed {
        Ok(r) => r,
        Err(e) => {
            discard(app, session, now).await;
            return Err(e.into());
        }
    };
    match redeemed {
        Redeemed::Done => {}
        Redeemed::TokenRefused => {
            discard(app, session, now).await;
            audit("recovery", "invalid_token", Some(member_id), ip);
            return Err(ApiError::invalid_recovery_token());
        }
        Redeemed::MemberRefused(m) => {
            discard(app, session, now).await;
            return Err(match m {
                Some(m) if m.member_id == member_id && m.status == Status::Blocked => {
                    audit("recovery", "blocked", Some(member_id), ip);
                    ApiError::member_blocked()
                }
                _ => {
                    audit("recovery", "invalid_token", Some(member_id), ip);
                    ApiError::invalid_recovery_token()
                }
            });
        }
    }
    let session = session?;

    // Round trip 3: the member for the answer; every other session ends.
    let others = others.unwrap_or_else(|e| {
        // The index could not be read: the sessions it would have listed live on (logged).
        tracing::error!(event = "recovery_sessions_unlisted", member_id, error = %e);
        vec![]
    });
    let (member, revoked) = tokio::join!(
        app.members.get(&ticket.email_key),
        app.sessions
            .revoke_all_but(&others, &session.session.session_id, now),
    );
    let revoked = revoked?;
    tracing::info!(event = "sessions_revoked", member_id, count = revoked);
    let member = member?
        .filter(|m| m.member_id == member_id)
        .ok_or(ApiError::Unavailable)?;
    respond(app, &member, session, ip, now).await
}

/// The answer for the member as recovery left it: a session when ACTIVE, the state otherwise.
async fn respond(
    app: &App,
    member: &Member,
    session: NewSession,
    ip: &str,
    now: i64,
) -> Result<Response<Body>, ApiError> {
    let id = Some(member.member_id.as_str());
    if member.status != Status::Active {
        discard(app, Ok(session), now).await;
        audit("recovery", "pending", id, ip);
        return Ok(http::json_response(
            200,
            &json!({"state": "REQUIRE_OWNER_APPROVAL", "identity": member.identity()}),
        ));
    }
    audit("recovery", "success", id, ip);
    Ok(http::signed_in(
        &session.token,
        member.identity(),
        app.config.session_ttl_seconds,
    ))
}

/// Revokes a session stored beside a recovery that was refused after all.
async fn discard(app: &App, session: Result<NewSession, shared::error::StoreError>, now: i64) {
    if let Ok(s) = session
        && let Err(e) = app.sessions.revoke(&s.session.session_id, now).await
    {
        // Its token was never handed out; cleanup collects it when it expires.
        tracing::warn!(event = "recovery_session_not_revoked", session_id = %s.session.session_id, error = %e);
    }
}

#[cfg(test)]
mod tests;
