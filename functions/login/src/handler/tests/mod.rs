//! Login against DynamoDB Local, through the handler as Lambda calls it. This module holds the
//! request builders and constants the tests share; `request`'s unit tests use the refused
//! bodies too, without DynamoDB.

use lambda_http::Request;
use serde_json::{Value, json};
use shared::testing::{self, Answer, TestApp, answer, post_json};

mod captcha;
mod credentials;
mod input;
mod lockout;
mod not_a_weapon;
mod operations;
mod session;
mod throttled;

pub(super) const PASSWORD: &str = "correct horse battery staple";
pub(super) const IP: &str = "203.0.113.7";

pub(super) fn body(email: &str, password: &str) -> Value {
    json!({"loginId": {"email": email}, "password": password})
}

/// A POST of this text as `application/json`, from `IP`.
pub(super) fn json_post(text: &str) -> Request {
    testing::post_json_text("/v2/login", text, IP)
}

/// A form post: what a cross-site page can send without a preflight.
pub(super) fn form_post() -> Request {
    testing::form_post("/v2/login", IP)
}

/// Bodies login refuses, each with the field and the rule of its first violation.
pub(super) fn refused_bodies() -> Vec<(String, &'static str, &'static str)> {
    let long_email = format!("{}@example.com", "a".repeat(250));
    let long_password = "p".repeat(129);
    let huge = json!({"loginId": {"email": "ann@example.com"}, "password": "x".repeat(17 * 1024)});
    vec![
        ("{\"loginId\":".into(), "body", "MALFORMED_JSON"),
        ("[1,2]".into(), "body", "INVALID_FORMAT"),
        // Arrays of a struct's fields, which serde's derive alone would read as the struct.
        ("[null, null, []]".into(), "body", "INVALID_FORMAT"),
        (
            json!({"loginId": ["ann@example.com"], "password": PASSWORD}).to_string(),
            "body",
            "INVALID_FORMAT",
        ),
        (
            json!({"loginId": {"email": "ann@example.com"}, "password": PASSWORD, "captchaTokens": [["t"]]})
                .to_string(),
            "body",
            "INVALID_FORMAT",
        ),
        (
            "{\"loginId\": {\"email\": 5}}".into(),
            "body",
            "INVALID_FORMAT",
        ),
        ("{}".into(), "loginId.email", "REQUIRED_FIELD_MISSING"),
        (
            json!({"loginId": {"email": "ann@example.com"}}).to_string(),
            "password",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            body("not-an-email", PASSWORD).to_string(),
            "loginId.email",
            "INVALID_FORMAT",
        ),
        (
            body(&long_email, PASSWORD).to_string(),
            "loginId.email",
            "TOO_LONG",
        ),
        (
            body("ann@example.com", &long_password).to_string(),
            "password",
            "TOO_LONG",
        ),
        (huge.to_string(), "body", "TOO_LONG"),
    ]
}

async fn login_from(t: &TestApp, body: &Value, ip: &str) -> Answer {
    let req = post_json("/v2/login", body, ip);
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

async fn login(t: &TestApp, body: &Value) -> Answer {
    login_from(t, body, IP).await
}

/// Every request handled at once, each on a task of its own; the answers in request order.
async fn all_at_once(t: &TestApp, requests: impl IntoIterator<Item = Request>) -> Vec<Answer> {
    let tasks = requests.into_iter().map(|req| {
        let app = t.app.clone();
        tokio::spawn(async move { answer(super::handle(&app, req, "r".into()).await) })
    });
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}
