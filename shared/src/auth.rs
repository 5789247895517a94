//! Who is calling: the caller's live session, from `Authorization: Bearer <sessionToken>`,
//! `Authorization: Bearer <access token>` (its `sid` session must still be live), or the
//! `__Host-session` cookie. An explicit `Authorization` header wins over the cookie; a
//! credential that does not open a live session gives `None`, never a fallback.

use lambda_http::Request;

use crate::app::App;
use crate::error::StoreError;
use crate::http;
use crate::session::{Session, SessionToken};

/// How the caller proved who they are. Cookie-authenticated state changes must also carry
/// `Content-Type: application/json` (DESIGN §7.5), which the handler checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    Cookie,
    BearerSession,
    BearerAccessToken,
}

#[derive(Clone, Debug)]
pub struct Caller {
    pub session: Session,
    pub via: Credential,
}

/// The caller's live session, if the request carries a credential for one.
pub async fn authenticate(app: &App, req: &Request) -> Result<Option<Caller>, StoreError> {
    let now = app.clock.now_ms();
    if let Some(raw) = http::bearer(req) {
        if let Some(token) = SessionToken::parse(&raw) {
            let session = app.sessions.authenticate(&token, now).await?;
            return Ok(session.map(|session| Caller {
                session,
                via: Credential::BearerSession,
            }));
        }
        return access_token_session(app, &raw, now).await;
    }
    let Some(raw) = http::cookie(req, http::SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(token) = SessionToken::parse(&raw) else {
        return Ok(None);
    };
    let session = app.sessions.authenticate(&token, now).await?;
    Ok(session.map(|session| Caller {
        session,
        via: Credential::Cookie,
    }))
}

/// The live session named by a valid access token's `sid`: the token must pass
/// `Tokens::verify_access` and its session must still be live and belong to its `sub`.
async fn access_token_session(
    app: &App,
    raw: &str,
    now: crate::clock::Millis,
) -> Result<Option<Caller>, StoreError> {
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
        .map(|session| Caller {
            session,
            via: Credential::BearerAccessToken,
        }))
}
