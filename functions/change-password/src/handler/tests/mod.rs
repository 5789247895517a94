//! Change password against DynamoDB Local, through the handler as Lambda calls it. This module
//! holds the request builders and constants the tests share; `request`'s unit tests use the
//! refused bodies too, without DynamoDB. The tests that also log in (the new password works
//! at login, a refused change leaves the old one working) are in the workspace's
//! `tests/tests/change_password_across.rs`.

use serde_json::{Value, json};
use shared::testing::{self, Answer, Auth, TestApp, answer};

mod input;
mod operations;
mod refusals;
mod sessions;

pub(super) const PASSWORD: &str = "correct horse battery staple";
pub(super) const NEW_PASSWORD: &str = "a brand new passphrase for ann";
const IP: &str = "203.0.113.7";

/// Bodies change-password refuses, each with the field and the rule of its first violation.
pub(super) fn refused_bodies() -> Vec<(String, &'static str, &'static str)> {
    let too_long = testing::emoji_password(129);
    vec![
        ("{\"newPassword\": ".into(), "body", "MALFORMED_JSON"),
        ("".into(), "body", "REQUIRED_FIELD_MISSING"),
        ("\"just a string\"".into(), "body", "INVALID_FORMAT"),
        (
            "{\"newPassword\": 12345678901234}".into(),
            "body",
            "INVALID_FORMAT",
        ),
        (
            "{\"newPassword\": \"a new passphrase\", \"revokeOtherSessions\": \"yes\"}".into(),
            "body",
            "INVALID_FORMAT",
        ),
        (huge_body(), "body", "TOO_LONG"),
        (
            json!({"currentPassword": PASSWORD}).to_string(),
            "newPassword",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            json!({"newPassword": null}).to_string(),
            "newPassword",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            json!({"newPassword": ""}).to_string(),
            "newPassword",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            json!({"newPassword": too_long, "currentPassword": PASSWORD}).to_string(),
            "newPassword",
            "TOO_LONG",
        ),
        (
            json!({"newPassword": NEW_PASSWORD, "currentPassword": "x".repeat(10_000)}).to_string(),
            "currentPassword",
            "TOO_LONG",
        ),
    ]
}

/// A body over the 16 KiB a request may have.
pub(super) fn huge_body() -> String {
    format!("{{\"newPassword\": \"{}\"}}", "a".repeat(17 * 1024))
}

/// A JSON change-password request from `IP`.
fn request(auth: Auth<'_>, body: &Value) -> lambda_http::Request {
    auth.post_json("/v2/change-password", &body.to_string(), IP)
}

async fn send(t: &TestApp, req: lambda_http::Request) -> Answer {
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

async fn change(t: &TestApp, auth: Auth<'_>, body: &Value) -> Answer {
    send(t, request(auth, body)).await
}

fn pair(field: &str, rule: &str) -> (String, String) {
    (field.to_owned(), rule.to_owned())
}
