//! Register against DynamoDB Local, through the handler as Lambda calls it. This module holds
//! the request builders and constants the tests share; `request`'s unit tests use the refused
//! bodies too, without DynamoDB. (What a registered member can then do in other flows is in
//! `tests/tests/register_across.rs`.)

use lambda_http::Request;
use serde_json::{Value, json};
use shared::testing::{self, Answer, TestApp, answer, post_json};

mod captcha;
mod duplicate;
mod input;
mod limits;
mod operations;
mod success;
mod verification;

pub(super) const PASSWORD: &str = "correct horse battery staple";
pub(super) const IP: &str = "203.0.113.7";

pub(super) fn body(email: &str, password: &str) -> Value {
    json!({"loginId": {"email": email}, "password": password})
}

/// A password that breaks three rules at once: short, common, and the member's first name.
pub(super) fn margaret() -> Value {
    let mut b = body("margaret.lee@example.com", "Margaret");
    b["profile"] = json!({"firstName": "Margaret"});
    b
}

/// Passwords for `margaret.lee@example.com` that each break one rule, with that rule.
pub(super) const WEAK: [(&str, &str); 4] = [
    ("11 chars ok", "TOO_SHORT"),
    ("kartoffelpuffer", "TOO_COMMON"),
    ("Password123!", "TOO_COMMON"),
    ("margaret rocks the boat", "TOO_SIMILAR"),
];

/// A POST of this text as `application/json`, from `IP`.
pub(super) fn json_post(text: &str) -> Request {
    testing::post_json_text("/v2/register", text, IP)
}

/// A form post, which a cross-site page can send without a preflight.
pub(super) fn form_post() -> Request {
    testing::form_post("/v2/register", IP)
}

/// Malformed, oversize and hostile registrations, each with the rule it is refused for.
pub(super) fn refused_requests() -> Vec<(Request, &'static str)> {
    vec![
        (json_post("{\"loginId\": "), "MALFORMED_JSON"),
        (json_post(""), "REQUIRED_FIELD_MISSING"),
        (json_post("[1, 2]"), "INVALID_FORMAT"),
        // Arrays of a struct's fields, which serde's derive alone would read as the struct.
        (json_post("[null, null, null, []]"), "INVALID_FORMAT"),
        (
            json_post(&format!(
                "{{\"loginId\": [\"ann@example.com\"], \"password\": \"{PASSWORD}\"}}"
            )),
            "INVALID_FORMAT",
        ),
        (
            json_post("{\"loginId\": {\"email\": 7}, \"password\": \"x\"}"),
            "INVALID_FORMAT",
        ),
        (
            json_post(&format!("{{\"password\": \"{}\"}}", "a".repeat(17 * 1024))),
            "TOO_LONG",
        ),
        (
            post_json(
                "/v2/register",
                &json!({"loginId": {"email": "ann@example.com"}}),
                IP,
            ),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            post_json("/v2/register", &json!({"password": PASSWORD}), IP),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            post_json("/v2/register", &body("not an email", PASSWORD), IP),
            "INVALID_FORMAT",
        ),
        (
            post_json(
                "/v2/register",
                &body(&format!("{}@example.com", "a".repeat(250)), PASSWORD),
                IP,
            ),
            "TOO_LONG",
        ),
        (
            post_json(
                "/v2/register",
                &body("ann@example.com", &"x".repeat(10_000)),
                IP,
            ),
            "TOO_LONG",
        ),
        (
            post_json("/v2/register", &body("ann@example.com", ""), IP),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            post_json("/v2/register", &body("a\u{0}n@example.com", PASSWORD), IP),
            "INVALID_FORMAT",
        ),
    ]
}

/// A registration with a problem in every field.
pub(super) fn every_problem() -> Value {
    json!({"loginId": {"email": "nope"}, "password": "short", "profile": {"picture": "http://x.example/p.png", "birthdate": "1990-13-40"}})
}

async fn register_from(t: &TestApp, body: &Value, ip: &str) -> Answer {
    let req = post_json("/v2/register", body, ip);
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

async fn register(t: &TestApp, body: &Value) -> Answer {
    register_from(t, body, IP).await
}
