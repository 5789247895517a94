//! Logout (DESIGN §3.7): GET and POST /v1/logout end the caller's session and clear its cookie.
//!
//! Every answer — success, refusal, error, a DynamoDB outage, even a bug — expires every cookie
//! this API sets and forbids caching, so the browser side is always cleaned up.
//!
//! The session is found by `shared::auth::authenticate` (one consistent `GetItem`; an access
//! token is verified first) and revoked by one conditional `UpdateItem`, which also kills its
//! refresh tokens since they live in the session item: two sequential round trips at most. When
//! an `Authorization` header and the cookie both come, the cookie's session is looked up beside
//! the header's and revoked with it, in the same two round trips: clearing the cookie destroys
//! the browser's only handle on that session, so it must not outlive the cookie.
//!
//! Nothing reveals whether a session existed: no credential, garbage, unknown, expired and
//! already-revoked sessions all get a successful logout's answer. The session is revoked even
//! when the request is otherwise faulty (a redirect target off the allowlist, a malformed
//! body), except in the cases refused before any work, which still clear the cookie: a body
//! over 16 KiB (§7.7), and a POST whose only credential is the cookie but that lacks
//! `Content-Type: application/json` (§7.5: a cross-site form cannot send that header, so such
//! a request may be forged; GET stays the plain-link way to log out).

use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use lambda_http::http::{Method, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use shared::app::App;
use shared::auth::{self, Presented};
use shared::error::{ApiError, FieldViolation, StoreError, rule};
use shared::http;
use shared::session::Session;
use shared::telemetry::audit;

use crate::page::{self, Page};

use redirect::{Target, log_refused_redirect, target};
use request::{accepts_json, loggable, parse};

/// The parsers of this function for the fuzzers and property tests (issue 16).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod redirect;
mod request;

/// Where to send the browser afterwards: query string, or JSON body of a POST.
pub const REDIRECT_PARAM: &str = "postLogoutRedirectUri";
/// The caller's client id, logged only.
pub const CLIENT_ID_PARAM: &str = "clientId";

/// `Set-Cookie` values that expire every cookie this API sets, each with the attributes it
/// was set with (a cookie is only replaced by one of the same name, path and prefix).
pub fn expired_cookies() -> Vec<String> {
    vec![http::clear_session_cookie()]
}

/// How the caller wants the answer written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    /// A page; a redirect is a 302 after GET and a 303 after POST (followed with a GET).
    Html { after_post: bool },
    /// For single-page apps (POST with `Accept: application/json`): `{"redirectUrl"}`, or the
    /// error body every other endpoint uses.
    Json,
}

/// What happened, before it is written for the caller.
enum Outcome<'a> {
    /// Whatever session the request named is ended (or there was none).
    LoggedOut(Target<'a>),
    /// The session is ended, but the request was faulty; no redirect.
    LoggedOutDespite(ApiError),
    /// Refused or failed before the session could be ended; the cookie is still cleared.
    NotLoggedOut(ApiError),
}

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let resp = respond(app, &req, &request_id).await;
    app.log_traffic("logout");
    resp
}

/// The whole logout, from request to answer (`handle` without its traffic log line).
pub async fn respond(app: &App, req: &Request, request_id: &str) -> Response<Body> {
    let ip = http::client_ip(req);
    // A panic is caught here rather than in `http::serve`, so that it too clears the cookie.
    let outcome = AssertUnwindSafe(logout(app, req, &ip))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!(event = "panic", request_id = %request_id);
            Outcome::NotLoggedOut(ApiError::Internal)
        });
    clean_up_browser(write(reply_for(req), outcome, request_id))
}

async fn logout<'a>(app: &'a App, req: &Request, ip: &str) -> Outcome<'a> {
    let post = match *req.method() {
        Method::GET => false,
        Method::POST => true,
        _ => return Outcome::NotLoggedOut(ApiError::method_not_allowed("GET, POST")),
    };
    if let Err(e) = http::check_size(req) {
        audit("logout", "refused_oversize_body", None, ip);
        return Outcome::NotLoggedOut(e);
    }
    let presented = Presented::from_request(req);
    if post && presented.cookie_only() && !http::is_json(req) {
        audit("logout", "refused_cookie_without_json", None, ip);
        return Outcome::NotLoggedOut(ApiError::cookie_post_needs_json());
    }
    let params = parse(req, post);
    if let Err(e) = end_sessions(app, &presented, ip).await {
        return Outcome::NotLoggedOut(e.into());
    }
    let params = match params {
        Ok(p) => p,
        Err(e) => return Outcome::LoggedOutDespite(e),
    };
    let target = target(
        &app.config.logout_redirect_allowlist,
        params.redirect.as_deref(),
    );
    tracing::info!(
        event = "logout_request",
        client_id = %params.client_id.as_deref().map(loggable).unwrap_or_default(),
        redirect = match target {
            Target::Stay => "none",
            Target::Allowed(_) => "allowed",
            Target::Refused => "refused",
        },
    );
    match target {
        Target::Refused => {
            log_refused_redirect(params.redirect.as_deref().unwrap_or_default());
            Outcome::LoggedOutDespite(ApiError::violation(FieldViolation::new(
                REDIRECT_PARAM,
                rule::REDIRECT_NOT_ALLOWED,
                "postLogoutRedirectUri is not an allowed redirect target.",
            )))
        }
        target => Outcome::LoggedOut(target),
    }
}

/// Revokes every live session the request names; finding none is not an error.
async fn end_sessions(app: &App, presented: &Presented, ip: &str) -> Result<(), StoreError> {
    let now = app.clock.now_ms();
    // `authenticate` takes the Authorization header over the cookie; a cookie sent beside the
    // header is looked up at the same time.
    let cookie_beside_header = async {
        match presented.cookie_beside_header() {
            Some(token) => app.sessions.authenticate(&token, now).await,
            None => Ok(None),
        }
    };
    let (caller, beside) = tokio::join!(auth::authenticate(app, presented), cookie_beside_header);
    let caller = caller.inspect_err(|_| audit("logout", "unavailable", None, ip))?;
    let beside = beside.inspect_err(|_| audit("logout", "unavailable", None, ip))?;
    let mut sessions: Vec<Session> = caller.map(|c| c.session).into_iter().collect();
    if let Some(s) = beside
        && sessions
            .iter()
            .all(|known| known.session_id != s.session_id)
    {
        sessions.push(s);
    }
    if sessions.is_empty() {
        audit("logout", "no_session", None, ip);
        return Ok(());
    }
    let revoked = futures::future::join_all(
        sessions
            .iter()
            .map(|s| app.sessions.revoke(&s.session_id, now)),
    )
    .await;
    let mut failure = None;
    for (session, result) in sessions.iter().zip(revoked) {
        let member = Some(session.member_id.as_str());
        match result {
            Ok(true) => audit("logout", "revoked", member, ip),
            // Revoked or expired between the read and the write: already over.
            Ok(false) => audit("logout", "already_ended", member, ip),
            Err(e) => {
                audit("logout", "unavailable", member, ip);
                failure = Some(e);
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

fn reply_for(req: &Request) -> Reply {
    match *req.method() {
        Method::POST if accepts_json(req) => Reply::Json,
        Method::POST => Reply::Html { after_post: true },
        _ => Reply::Html { after_post: false },
    }
}

fn write(reply: Reply, outcome: Outcome, request_id: &str) -> Response<Body> {
    let after_post = match reply {
        Reply::Json => {
            return match outcome {
                Outcome::LoggedOut(Target::Allowed(url)) => {
                    http::json_response(200, &json!({ "redirectUrl": url }))
                }
                Outcome::LoggedOut(_) => http::json_response(200, &json!({ "redirectUrl": null })),
                Outcome::LoggedOutDespite(e) | Outcome::NotLoggedOut(e) => {
                    http::error_response(&e, request_id)
                }
            };
        }
        Reply::Html { after_post } => after_post,
    };
    let signed_out = "You have been signed out.";
    match outcome {
        Outcome::LoggedOut(Target::Allowed(url)) => {
            let page = logged_out_page(&[signed_out], Some(url));
            let status = if after_post { 303 } else { 302 };
            http::with_header(html(status, &page), "location", url)
        }
        Outcome::LoggedOut(_) => html(200, &logged_out_page(&[signed_out], None)),
        Outcome::LoggedOutDespite(e) => {
            let problem = format!(
                "You were not sent on, because the request had a problem: {}",
                describe(&e, request_id)
            );
            html(e.status(), &logged_out_page(&[signed_out, &problem], None))
        }
        Outcome::NotLoggedOut(e) => {
            let problem = describe(&e, request_id);
            let page = page::render(&Page {
                title: "Logout not completed",
                heading: "Logout not completed",
                paragraphs: &[
                    &problem,
                    "The session cookie has been removed from this browser.",
                ],
                link: None,
            });
            let mut resp = html(e.status(), &page);
            if let Some(secs) = e.retry_after() {
                resp = http::with_header(resp, "retry-after", &secs.to_string());
            }
            if e.status() == 405 {
                resp = http::with_header(resp, "allow", "GET, POST");
            }
            resp
        }
    }
}

fn logged_out_page(paragraphs: &[&str], link: Option<&str>) -> String {
    page::render(&Page {
        title: "Logged out",
        heading: "You are logged out",
        paragraphs,
        link,
    })
}

/// An error in words for the page.
fn describe(e: &ApiError, request_id: &str) -> String {
    match e {
        ApiError::Validation(violations) => violations
            .iter()
            .map(|v| v.description.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        ApiError::Application { message, .. } => (*message).to_owned(),
        ApiError::Unavailable => {
            "The service is temporarily unavailable; try again shortly.".to_owned()
        }
        ApiError::Internal => format!("Internal error (request id {request_id})."),
    }
}

fn html(status: u16, page: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_SECURITY_POLICY, page::CSP.as_str())
        .header(header::X_FRAME_OPTIONS, "DENY")
        .body(Body::Text(page.to_owned()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// What every answer carries: the expired cookies, and headers that keep it out of caches,
/// out of content sniffing and out of `Referer`.
fn clean_up_browser(mut resp: Response<Body>) -> Response<Body> {
    let headers = resp.headers_mut();
    for cookie in expired_cookies() {
        if let Ok(v) = header::HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
    resp
}

#[cfg(test)]
mod tests;
