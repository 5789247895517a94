//! The member calling one of its own endpoints — change password (DESIGN §3.5) and its
//! sessions (§3.11) — found one way for all of them: the live session that the request's
//! credentials open (`authenticate`: `Authorization: Bearer` session or access token, else
//! the `__Host-session` cookie), recorded as used (`Sessions::touch`, at most once per
//! `SESSION_TOUCH_INTERVAL_SECONDS`).
//!
//! No live session → 401 `UNAUTHENTICATED`. A request that changes state and is
//! authenticated only by the cookie must declare `Content-Type: application/json` (DESIGN
//! §7.5): a cross-site form cannot, without a CORS preflight → else 415. Each refusal is one
//! audit line under the caller's event.

use lambda_http::Request;

use super::{Credential, Presented, SignedIn, authenticate};
use crate::app::App;
use crate::error::ApiError;
use crate::http;
use crate::telemetry::audit;

/// What the caller means to do with its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Read only (`GET /v2/sessions`): the cookie alone suffices.
    Read,
    /// Change state: authenticated by the cookie alone, the body must be declared JSON.
    Change,
}

/// The caller's live session, or the refusal to answer with (already audited as `event`).
pub async fn signed_in(
    app: &App,
    req: &Request,
    intent: Intent,
    event: &str,
    ip: &str,
) -> Result<SignedIn, ApiError> {
    let Some(SignedIn { session, via }) = authenticate(app, &Presented::from_request(req)).await?
    else {
        audit(event, "unauthenticated", None, ip);
        return Err(ApiError::unauthenticated());
    };
    if intent == Intent::Change && via == Credential::Cookie && !http::is_json(req) {
        audit(event, "cookie_without_json", Some(&session.member_id), ip);
        return Err(ApiError::unsupported_media_type());
    }
    let now = app.clock.now_ms();
    let interval_ms = app.config.session_touch_interval_seconds * 1000;
    let session = match app.sessions.touch(session.clone(), now, interval_ms).await {
        Ok(touched) => touched,
        // The caller is authenticated either way; a last-used time that lags is harmless.
        Err(e) => {
            tracing::warn!(event = "session_touch_failed", error = %e);
            session
        }
    };
    Ok(SignedIn { session, via })
}
