//! Who is calling. Two kinds of caller, each proven its own way:
//!
//! - a member, by the credentials a browser or app presents (`Presented`: the
//!   `Authorization: Bearer` header — a session token or an access token — and the
//!   `__Host-session` cookie). `authenticate` turns them into the caller's live session
//!   (`SignedIn`). An explicit `Authorization` header wins over the cookie; a credential that
//!   does not open a live session gives `None`, never a fallback. An access token opens its
//!   `sid` session only while that session is live and belongs to its `sub`.
//! - a trusted server (sign-on, and the operators' routes), by an IAM principal or an API key:
//!   `trusted`.
//!
//! `caller` is the one way a member's own endpoints (change password, its sessions) find the
//! caller's session and refuse a request without one.
//!
//! Credentials are read from the request once, at the edge (`Presented::from_request`), and
//! handed on; nothing past this module looks at the headers again.

use lambda_http::Request;

use crate::app::App;
use crate::clock::Millis;
use crate::error::StoreError;
use crate::http;
use crate::session::{Session, SessionToken};

pub mod caller;
pub mod trusted;

/// How the caller proved who they are. Cookie-authenticated state changes must also carry
/// `Content-Type: application/json` (DESIGN §7.5), which the handler checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Cookie,
    BearerSession,
    BearerAccessToken,
}

/// The member credentials a request carries, read once. `Debug` shows only which are present.
#[derive(Default)]
pub struct Presented {
    /// The token of an `Authorization: Bearer` header (a session or an access token).
    pub bearer: Option<String>,
    /// The `__Host-session` cookie's value.
    pub cookie: Option<String>,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("bearer", &self.bearer.is_some())
            .field("cookie", &self.cookie.is_some())
            .finish()
    }
}

impl Presented {
    pub fn from_request(req: &Request) -> Self {
        Self {
            bearer: http::bearer(req),
            cookie: http::cookie(req, http::SESSION_COOKIE),
        }
    }

    /// Only the cookie: the credential a cross-site request can carry without the page's help.
    pub fn cookie_only(&self) -> bool {
        self.bearer.is_none() && self.cookie.is_some()
    }

    /// The cookie's session token when a header is given too (the header is the one that
    /// authenticates; the cookie's session is the browser's, and logout ends both).
    pub fn cookie_beside_header(&self) -> Option<SessionToken> {
        self.bearer.as_ref()?;
        self.cookie.as_deref().and_then(SessionToken::parse)
    }
}

/// A member's live session, and the credential that opened it.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub session: Session,
    pub via: Credential,
}

/// The caller's live session, if the presented credentials open one.
pub async fn authenticate(
    app: &App,
    presented: &Presented,
) -> Result<Option<SignedIn>, StoreError> {
    let now = app.clock.now_ms();
    if let Some(raw) = &presented.bearer {
        if let Some(token) = SessionToken::parse(raw) {
            return session_of(app, &token, Credential::BearerSession, now).await;
        }
        return access_token_session(app, raw, now).await;
    }
    match presented.cookie.as_deref().and_then(SessionToken::parse) {
        Some(token) => session_of(app, &token, Credential::Cookie, now).await,
        None => Ok(None),
    }
}

async fn session_of(
    app: &App,
    token: &SessionToken,
    via: Credential,
    now: Millis,
) -> Result<Option<SignedIn>, StoreError> {
    let session = app.sessions.authenticate(token, now).await?;
    Ok(session.map(|session| SignedIn { session, via }))
}

/// The live session named by a valid access token's `sid`: the token must pass
/// `Tokens::verify_access` and its session must still be live and belong to its `sub`.
async fn access_token_session(
    app: &App,
    raw: &str,
    now: Millis,
) -> Result<Option<SignedIn>, StoreError> {
    let Some(tokens) = &app.tokens else {
        return Ok(None);
    };
    let claims = match tokens.verify_access(raw, now) {
        Ok(claims) => claims,
        Err(why) => {
            tracing::info!(event = "access_token_rejected", reason = ?why);
            return Ok(None);
        }
    };
    let session = app.sessions.get(&claims.sid).await?;
    Ok(session
        .filter(|s| s.is_live(now) && s.member_id == claims.sub)
        .map(|session| SignedIn {
            session,
            via: Credential::BearerAccessToken,
        }))
}
