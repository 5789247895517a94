//! Verification against DynamoDB Local and the local SES, through the handler as Lambda calls
//! it. A PENDING member and its verification state are seeded as register stores them (the
//! journey through register itself is in `tests/tests/verify_across.rs`).

use serde_json::{Value, json};
use shared::member::{Member, Status};
use shared::testing::{self, Answer, TestApp, answer, post_json, post_json_text, unique_email};

mod checks;
mod input;
mod resend;

pub(super) const IP: &str = "203.0.113.11";
const PASSWORD: &str = "correct horse battery staple";

pub(super) async fn app(more: &[(&str, &str)]) -> TestApp {
    testing::mail_app(more).await
}

/// A PENDING, unverified member with a live verification: the member, its stateToken, its code.
pub(super) async fn pending(t: &TestApp) -> (Member, String, String) {
    let m = t
        .member(&unique_email("new"), Some(PASSWORD), Status::Pending)
        .await;
    let ttl = t.app.config.verification.code_ttl_seconds;
    let s = t
        .app
        .verifications
        .start(&m, t.app.clock.now_ms(), ttl)
        .await
        .unwrap();
    t.app.requests.take();
    (m, s.token, s.code.expose().to_owned())
}

pub(super) async fn post(t: &TestApp, path: &str, body: &Value) -> Answer {
    let req = post_json(path, body, IP);
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

pub(super) async fn verify(t: &TestApp, token: &str, code: &str) -> Answer {
    post(
        t,
        super::VERIFY_PATH,
        &json!({"stateToken": token, "code": code}),
    )
    .await
}

pub(super) async fn resend(t: &TestApp, token: &str) -> Answer {
    post(t, super::RESEND_PATH, &json!({ "stateToken": token })).await
}

/// A code that is not `code`.
pub(super) fn other(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

pub(super) fn text_post(path: &str, text: &str) -> lambda_http::Request {
    post_json_text(path, text, IP)
}
