//! A member's own sessions (DESIGN §3.11): `GET /v2/sessions` lists them, newest first, so a
//! member can recognise their devices; `POST /v2/sessions/revoke` ends one of them
//! (`{"sessionId"}`) or every one but the caller's (`{"allOthers": true}`).
//!
//! The caller is found exactly as change password finds it (`shared::auth::caller`): a
//! session or access token as `Authorization: Bearer`, or the `__Host-session` cookie; no live
//! session → 401 `UNAUTHENTICATED`; a revoke authenticated by the cookie alone must be sent as
//! `application/json` (415), like every JSON POST. Finding the caller is one `GetItem` (and,
//! at most once per `SESSION_TOUCH_INTERVAL_SECONDS`, the write that records it as used).
//!
//! - List: one `Query` of the `byMember` index and one batched read of the items
//!   (`Sessions::live_of_member`). The index lags a moment behind a new session; the caller's
//!   own session is always in the list, since it is known already.
//! - Revoke one: a single `UpdateItem` conditional on the session being the caller's member's,
//!   so another member's session id is answered exactly as one that does not exist:
//!   `{"revokedSessions": 0}`. Revoking the caller's own session logs it out, and the answer
//!   expires the session cookie as logout does.
//! - Revoke all others: the `byMember` query, then one conditional write per session.
//!
//! Refresh tokens live in their session's item, so a revoked session's tokens die with it.

use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::app::App;
use shared::auth::SignedIn;
use shared::auth::caller::{self, Intent};
use shared::error::ApiError;
use shared::http;
use shared::session::listing::{self, Revocation};
use shared::telemetry::audit;

pub const LIST_PATH: &str = "/v2/sessions";
pub const REVOKE_PATH: &str = "/v2/sessions/revoke";

const LIST_EVENT: &str = "sessions_list";
const REVOKE_EVENT: &str = "sessions_revoke";

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    app.answered("sessions", route(app, &req, &ip).await, &request_id)
}

/// Serves one request by method and path.
pub async fn route(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    match (http::route_path(req), req.method().as_str()) {
        (LIST_PATH, "GET") => list(app, req, ip).await,
        (REVOKE_PATH, "POST") => revoke(app, req, ip).await,
        (LIST_PATH, _) => Ok(http::method_not_allowed("GET")),
        (REVOKE_PATH, _) => Ok(http::method_not_allowed("POST")),
        _ => Err(ApiError::not_found()),
    }
}

async fn list(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    http::check_size(req).inspect_err(|_| audit(LIST_EVENT, "invalid_request", None, ip))?;
    let SignedIn { session, .. } =
        caller::signed_in(app, req, Intent::Read, LIST_EVENT, ip).await?;
    let now = app.clock.now_ms();
    let mut sessions = app.sessions.live_of_member(&session.member_id, now).await?;
    match sessions
        .iter_mut()
        .find(|s| s.session_id == session.session_id)
    {
        // The list's read is the later one, but the touch may have been refused to a racer.
        Some(listed) => listed.last_used_at = listed.last_used_at.max(session.last_used_at),
        // Created a moment ago, not yet in the index: it is the caller's, so it is shown.
        None => {
            let at = sessions
                .iter()
                .position(|s| {
                    (s.created_at, &s.session_id) < (session.created_at, &session.session_id)
                })
                .unwrap_or(sessions.len());
            sessions.insert(at, session.clone());
        }
    }
    // `telemetry::audit`'s line with the count beside it, so also its metric.
    shared::metrics::decision(LIST_EVENT, "success");
    tracing::info!(
        event = LIST_EVENT,
        outcome = "success",
        member_id = %session.member_id,
        client_ip = ip,
        listed = sessions.len(),
        "auth"
    );
    Ok(http::json_response(
        200,
        &listing::body(&sessions, Some(&session.session_id)),
    ))
}

async fn revoke(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    http::check_size(req).inspect_err(|_| audit(REVOKE_EVENT, "invalid_request", None, ip))?;
    let SignedIn { session, .. } =
        caller::signed_in(app, req, Intent::Change, REVOKE_EVENT, ip).await?;
    let member_id = session.member_id.as_str();
    let asked = listing::parse_revocation(req)
        .inspect_err(|_| audit(REVOKE_EVENT, "invalid_request", Some(member_id), ip))?;
    let now = app.clock.now_ms();
    let revoked = app
        .sessions
        .revoke_as_asked(member_id, &asked, Some(&session.session_id), now)
        .await?;
    let own = matches!(&asked, Revocation::One(id) if *id == session.session_id);
    let outcome = match (revoked, own) {
        (0, _) => "nothing_revoked",
        (_, true) => "own_session_revoked",
        _ => "revoked",
    };
    shared::metrics::decision(REVOKE_EVENT, outcome);
    tracing::info!(
        event = REVOKE_EVENT,
        outcome,
        member_id,
        client_ip = ip,
        revoked,
        "auth"
    );
    let resp = http::json_response(200, &json!({ "revokedSessions": revoked }));
    Ok(if own && revoked > 0 {
        http::with_header(resp, "set-cookie", &http::clear_session_cookie())
    } else {
        resp
    })
}

#[cfg(test)]
mod tests;
