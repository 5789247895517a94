//! Recovery against DynamoDB Local and the local SES, through the handler as Lambda calls it.
//! This module holds what the tests share: the configuration, request builders and passwords.

use serde_json::{Value, json};
use shared::testing::{self, Answer, TestApp, answer, post_json};

mod input;
mod journey;
mod limits;
mod no_enumeration;
mod operations;
mod takeover;

pub(super) const PAGE: &str = "https://app.example.com/recover";
pub(super) const OTHER_PAGE: &str = "https://other.example.com/reset?from=mail";
pub(super) const OLD_PASSWORD: &str = "correct horse battery staple";
pub(super) const NEW_PASSWORD: &str = "violet tangerine quarry lamp";
pub(super) const IP: &str = "203.0.113.9";

/// The recovery configuration every test app has.
pub(super) const VARS: [(&str, &str); 2] = [
    ("RECOVERY_PAGE_URL", PAGE),
    ("RECOVERY_REDIRECT_ALLOWLIST", OTHER_PAGE),
];

/// A fresh app mailing to the local SES, with more configuration if given.
pub(super) async fn app(more: &[(&str, &str)]) -> TestApp {
    let mut vars = VARS.to_vec();
    vars.extend_from_slice(more);
    testing::mail_app(&vars).await
}

pub(super) async fn send_email_from(t: &TestApp, body: &Value, ip: &str) -> Answer {
    let req = post_json(super::SEND_EMAIL_PATH, body, ip);
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

pub(super) async fn send_email(t: &TestApp, email: &str) -> Answer {
    send_email_from(t, &json!({ "email": email }), IP).await
}

pub(super) async fn recover(t: &TestApp, token: &str, password: &str) -> Answer {
    let body = json!({"recoveryToken": token, "newPassword": password});
    let req = post_json(super::RECOVER_PATH, &body, IP);
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

/// Asks for a link for `email` and reads its token from the newest mail.
pub(super) async fn mailed_token(t: &TestApp, email: &str) -> String {
    let a = send_email(t, email).await;
    assert_eq!((a.status, a.text.as_str()), (200, "{}"));
    let inbox = t.inbox(email).await;
    inbox
        .last()
        .and_then(|m| m.recovery_token())
        .expect("a recovery mail with a token")
}
