//! Logout against DynamoDB Local, through the handler as Lambda calls it. The pure parts are
//! unit-tested beside them: the redirect allowlist match and the open-redirect lookalikes in
//! `redirect.rs`, the query and body parsing, `Accept` and log bounding in `request.rs`. The
//! tests that also call the token and change-password functions are in the workspace's
//! `tests/tests/logout_across.rs`.

use lambda_http::Request;
use shared::member::{Member, Status};
use shared::testing::{self, Answer, TestApp, answer, request};

mod failures;
mod logs;
mod page;
mod redirects;
mod sessions;

const IP: &str = "203.0.113.9";
const ALLOWED: &str = "https://app.example.com/signed-out";
const LOCAL: &str = "http://localhost:3000/";
const WITH_QUERY: &str = "https://app.example.com/bye?from=logout&lang=en";
const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT_JSON: (&str, &str) = ("accept", "application/json");

async fn app() -> TestApp {
    testing::app_with(&[(
        "LOGOUT_REDIRECT_ALLOWLIST",
        &format!("{ALLOWED}, {LOCAL},{WITH_QUERY}"),
    )])
    .await
}

/// A member (without a password: logout never asks for one) with a fresh session; returns
/// the member and the session token.
async fn signed_in(t: &TestApp) -> (Member, String) {
    let email = format!(
        "m{}@example.com",
        shared::secret::random_b64(6).to_lowercase()
    );
    let m = t.member(&email, None, Status::Active).await;
    let token = t.session_token(&m).await;
    (m, token)
}

/// Signs a member in, sends the request `req` builds from the new session token, and checks
/// that the session is over (whatever else a logout refuses, it ends the sessions it names).
async fn ends_a_fresh_session(t: &TestApp, req: impl FnOnce(&str) -> Request) -> Answer {
    let (_, token) = signed_in(t).await;
    let req = req(&token);
    let asked = format!("{} {}", req.method(), req.uri());
    let a = send(t, req).await;
    assert!(
        t.authenticates(&token).await.is_none(),
        "{asked} answered {} and left the session live: {}",
        a.status,
        a.text
    );
    a
}

fn cookie(token: &str) -> String {
    format!("__Host-session={token}")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `?postLogoutRedirectUri=<value>`, the value percent-encoded once, as a browser would.
fn redirect_query(value: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!("?postLogoutRedirectUri={encoded}")
}

fn get(query: &str, headers: &[(&str, &str)]) -> Request {
    request("GET", &format!("/v1/logout{query}"), headers, "", IP)
}

fn post(query: &str, headers: &[(&str, &str)], body: &str) -> Request {
    request("POST", &format!("/v1/logout{query}"), headers, body, IP)
}

/// The answer to `req`; the DynamoDB requests it made stay recorded for the test to take.
async fn send(t: &TestApp, req: Request) -> Answer {
    answer(super::respond(&t.app, &req, "req-test").await)
}

/// Every answer expires the session cookie and keeps itself out of caches.
fn assert_browser_cleaned(a: &Answer) {
    let cookies = a.all("set-cookie");
    let cleared = shared::http::clear_session_cookie();
    assert!(
        cookies.contains(&cleared),
        "status {}: {cookies:?} lacks {cleared}",
        a.status
    );
    assert_eq!(a.header("cache-control"), Some("no-store"), "{}", a.status);
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(a.header("referrer-policy"), Some("no-referrer"));
}

/// Fails unless `text` contains every one of `parts`.
fn assert_contains_all(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{text} lacks {part}");
    }
}

fn assert_html(a: &Answer) {
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        a.header("content-security-policy"),
        Some(crate::page::CSP.as_str())
    );
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    assert!(a.text.starts_with("<!doctype html>"), "{}", a.text);
}
