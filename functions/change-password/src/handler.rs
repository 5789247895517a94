//! Change Password (DESIGN §3.5): an authenticated member sets a new password.
//!
//! Three sequential stages of DynamoDB requests besides the argon2 work, and a fourth to revoke:
//! 1. the caller's session, from `Authorization: Bearer` (session token or access token) or the
//!    `__Host-session` cookie (`shared::auth::caller`, shared with the sessions function; it
//!    also records the session as used, at most once per `SESSION_TOUCH_INTERVAL_SECONDS`).
//!    No live session → 401 `UNAUTHENTICATED`. A cookie-authenticated call must declare
//!    `Content-Type: application/json`, which a cross-site form cannot send without a CORS
//!    preflight (DESIGN §7.5) → else 415.
//! 2. at once: the conditional count of this attempt against the member's counter
//!    (`CHANGE_PASSWORD_MAX_ATTEMPTS` per `LOGIN_FAILURE_WINDOW_SECONDS`, then 429 `THROTTLED`,
//!    before any argon2 work), the member read, and — for `revokeOtherSessions` — the list of
//!    the member's sessions.
//!
//! Then the decision: `currentPassword` is required unless the session is younger than
//! `REAUTH_WINDOW_SECONDS` or the member has no password; the new password must pass the
//! policy (its similarity rule reads the member's email and names). Both are checked before
//! any argon2 work, and a request refused there gives its attempt back, so a member choosing
//! among weak passwords is not locked out of the form. A `currentPassword` that is given is
//! always verified (one argon2 verification; wrong → 401 `INVALID_CREDENTIALS`, and the attempt
//! stays counted). Then one argon2id hash of the new password, and
//! 3. the new hash, stored conditionally on the member still holding the hash that was
//!    verified (so of two concurrent changes exactly one wins, and the loser gets 409), with
//!    `revision` and `updatedAt` advanced;
//! 4. only once that write has won, with `revokeOtherSessions`: the revocation of every other
//!    session of the member, concurrently (a change that lost ends no session). The calling
//!    session stays valid. Refresh tokens live in their session's item, so revoking a session
//!    ends them too.

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::app::App;
use shared::auth::SignedIn;
use shared::auth::caller::{self, Intent};
use shared::error::{ApiError, FieldViolation, rule};
use shared::http;
use shared::lockout::{self, Attempt};
use shared::member::{Member, PasswordChange, Status};
use shared::password::policy::{PasswordPolicy, PersonalInfo};
use shared::telemetry::audit;

use request::parse;

/// The parsers of this function for the fuzzers and property tests (issue 16).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod request;

const EVENT: &str = "change_password";

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    app.answered(
        "change-password",
        change_password(app, &req, &ip).await,
        &request_id,
    )
}

pub async fn change_password(
    app: &App,
    req: &Request,
    ip: &str,
) -> Result<Response<Body>, ApiError> {
    http::check_size(req).inspect_err(|_| audit(EVENT, "invalid_request", None, ip))?;

    // Stage 1: who is calling (the one way every member endpoint finds it, `auth::caller`).
    let SignedIn { session, .. } = caller::signed_in(app, req, Intent::Change, EVENT, ip).await?;
    let member_id = session.member_id.as_str();
    let change = parse(req, app.config.password_max_length)
        .inspect_err(|_| audit(EVENT, "invalid_request", Some(member_id), ip))?;
    let now = app.clock.now_ms();

    // Stage 2: count the attempt, read the member and, if asked, list its sessions, at once.
    let counter = lockout::member_key("chpw", member_id);
    let sessions = async {
        if change.revoke_other_sessions {
            app.sessions.ids_of_member(member_id).await
        } else {
            Ok(vec![])
        }
    };
    let (attempt, member, sessions) = tokio::join!(
        app.counters
            .count(&counter, app.policies.change_password, now),
        app.members.get(&session.email_key),
        sessions,
    );
    let (attempt, member, sessions) = (attempt?, member?, sessions?);
    let member = match member {
        // The email may since belong to another member (deleted and registered again).
        Some(m) if m.member_id == member_id => m,
        _ => {
            audit(EVENT, "unauthenticated", Some(member_id), ip);
            return Err(ApiError::unauthenticated());
        }
    };
    let window_start = match attempt {
        Attempt::Refused { retry_after, .. } => {
            audit(EVENT, "throttled", Some(member_id), ip);
            return Err(ApiError::throttled(retry_after));
        }
        Attempt::Admitted { window_start, .. } => window_start,
    };
    if member.status != Status::Active {
        audit(EVENT, "not_active", Some(member_id), ip);
        return Err(match member.status {
            Status::Blocked => ApiError::member_blocked(),
            _ => ApiError::permission_denied(),
        });
    }

    // The decision that needs no argon2: is the current password required, is the new one good.
    let mut violations = vec![];
    let recent = now - session.created_at < app.config.reauth_window_seconds * 1000;
    if change.current_password.is_none() && member.password_hash.is_some() && !recent {
        violations.push(FieldViolation::new(
            "currentPassword",
            rule::REQUIRED_FIELD_MISSING,
            "currentPassword is required: this session was not created recently.",
        ));
    }
    violations.extend(PasswordPolicy::from_config(&app.config).violations(
        &change.new_password,
        "newPassword",
        &personal_info(&member),
    ));
    if !violations.is_empty() {
        if let Err(e) = app.counters.refund(&counter, window_start).await {
            tracing::warn!(event = "change_password_refund_failed", error = %e);
        }
        let outcome = if violations.iter().any(|v| v.field == "newPassword") {
            "weak_password"
        } else {
            "reauthentication_required"
        };
        audit(EVENT, outcome, Some(member_id), ip);
        return Err(ApiError::Validation(violations));
    }
    if let Some(current) = &change.current_password {
        let verified = app
            .hasher
            .verify(current, member.password_hash.as_deref())
            .await;
        if !verified.matches {
            audit(EVENT, "invalid_credentials", Some(member_id), ip);
            return Err(ApiError::invalid_credentials());
        }
    }
    let new_hash = app.hasher.hash(&change.new_password).await?;

    // Stage 3: store the new hash. Stage 4, only once that write has won: revoke the other
    // sessions. A change that loses the race (409) must not end sessions on its way out.
    match app
        .members
        .change_password_hash(&member, &new_hash, now)
        .await?
    {
        PasswordChange::Changed(_) => {
            let revoked = app
                .sessions
                .revoke_all_but(&sessions, &session.session_id, now)
                .await?;
            audit(EVENT, "success", Some(member_id), ip);
            tracing::info!(event = "sessions_revoked", member_id, count = revoked);
            Ok(http::json_response(
                200,
                &json!({ "revokedSessions": revoked }),
            ))
        }
        PasswordChange::Stale => {
            audit(EVENT, "conflict", Some(member_id), ip);
            Err(ApiError::concurrent_modification())
        }
    }
}

/// The member's facts the new password must not be built from.
fn personal_info(member: &Member) -> PersonalInfo<'_> {
    PersonalInfo {
        email_local_part: member
            .email_key
            .rsplit_once('@')
            .map_or("", |(local, _)| local),
        first_name: member.profile.first_name.as_deref(),
        last_name: member.profile.last_name.as_deref(),
    }
}

#[cfg(test)]
mod tests;
