//! Member tokens against DynamoDB Local, through the handler as Lambda calls it. The parsing
//! of a request's path and parameters, which needs no table, is unit-tested in `request.rs`.

use lambda_http::Request;
use shared::session::Session;
use shared::testing::{self, Answer, TestApp, answer};
use shared::token::{AccessClaims, SESSION_TOKEN_TYPE};

use super::{
    JWKS_PATH, REFRESH_GRANT, REVOKE_PATH, TOKEN_EXCHANGE_GRANT, TOKEN_PATH, respond, route,
};

mod discovery;
mod exchange;
mod jwks;
mod logs_and_fixtures;
mod member_status;
mod refresh;
mod requests;
mod reuse;
mod revoke;

const IP: &str = "203.0.113.9";
const PASSWORD: &str = "correct horse battery staple";

/// The live session a session token opens.
async fn session(t: &TestApp, session_token: &str) -> Session {
    t.authenticates(session_token)
        .await
        .expect("the session is live")
        .session
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn post(path: &str, content_type: &str, body: &str) -> Request {
    testing::request("POST", path, &[("content-type", content_type)], body, IP)
}

fn post_form(path: &str, pairs: &[(&str, &str)]) -> Request {
    post(path, "application/x-www-form-urlencoded", &form(pairs))
}

/// The request through `route`, so that `t.app.requests` still holds its DynamoDB traffic.
async fn call(t: &TestApp, req: Request) -> Answer {
    answer(respond(route(&t.app, &req, IP).await, "req-test"))
}

/// `POST /oauth2/token` with the form parameters of a grant, then `extra` (a `client_id`, say).
async fn token_request(t: &TestApp, grant: &[(&str, &str)], extra: &[(&str, &str)]) -> Answer {
    let pairs: Vec<(&str, &str)> = grant.iter().chain(extra).copied().collect();
    call(t, post_form(TOKEN_PATH, &pairs)).await
}

/// The parameters of a token exchange (RFC 8693) of a session token.
fn exchange_grant(session_token: &str) -> [(&str, &str); 3] {
    [
        ("grant_type", TOKEN_EXCHANGE_GRANT),
        ("subject_token", session_token),
        ("subject_token_type", SESSION_TOKEN_TYPE),
    ]
}

/// The parameters of a refresh (RFC 6749 §6).
fn refresh_grant(refresh_token: &str) -> [(&str, &str); 2] {
    [
        ("grant_type", REFRESH_GRANT),
        ("refresh_token", refresh_token),
    ]
}

async fn exchange(t: &TestApp, session_token: &str) -> Answer {
    token_request(t, &exchange_grant(session_token), &[]).await
}

async fn refresh(t: &TestApp, refresh_token: &str) -> Answer {
    token_request(t, &refresh_grant(refresh_token), &[]).await
}

/// `POST /oauth2/revoke` of `token`, without a type hint.
async fn revoke(t: &TestApp, token: &str) -> Answer {
    call(t, post_form(REVOKE_PATH, &[("token", token)])).await
}

/// A member signed in with session token `st`, exchanged once: the first refresh token of its
/// family and an access token.
struct Exchanged {
    st: String,
    refresh: String,
    access: String,
}

async fn signed_in_and_exchanged(t: &TestApp) -> Exchanged {
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let a = exchange(t, &st).await;
    assert_eq!(a.status, 200, "{}", a.text);
    Exchanged {
        refresh: refresh_token_of(&a),
        access: access_token_of(&a),
        st,
    }
}

/// A 400 with an RFC 6749 §5.2 body carrying `error`, kept by no cache.
fn assert_oauth_error(a: &Answer, error: &str, case: &str) {
    assert_eq!(a.status, 400, "{case}: {}", a.text);
    assert_eq!(a.json["error"], error, "{case}: {}", a.text);
    assert!(
        a.json["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{case}: {}",
        a.text
    );
    assert_eq!(a.header("cache-control"), Some("no-store"), "{case}");
}

fn refresh_token_of(a: &Answer) -> String {
    a.json["refresh_token"].as_str().unwrap().to_owned()
}

fn access_token_of(a: &Answer) -> String {
    a.json["access_token"].as_str().unwrap().to_owned()
}

/// The claims of the access token in a token answer, verified by the app now.
fn claims_of(t: &TestApp, a: &Answer) -> AccessClaims {
    t.verify_access(&access_token_of(a))
        .expect("the access token verifies")
}

/// Refreshing with `refresh_token` is refused with `invalid_grant`.
async fn assert_refresh_refused(t: &TestApp, refresh_token: &str, case: &str) {
    assert_oauth_error(&refresh(t, refresh_token).await, "invalid_grant", case);
}
