//! Recovery benchmark against DynamoDB Local and the local SES (run by `scripts/bench`).
//!
//! For send-email (a member's email and an unknown one) and for recover, it reports the
//! handler's wall time, the argon2 hash time, the time spent waiting on DynamoDB, the DynamoDB
//! requests and sequential round trips (recorded by the SDK interceptor), and what is left: the
//! service's own compute. The mail itself is sent after the answer and is not timed.

use serde_json::json;
use shared::testing::stats::{measure, report};
use shared::testing::{self, post_json};

const RUNS: usize = 50;
const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "violet tangerine quarry lamp";

#[tokio::main]
async fn main() {
    let t = testing::mail_app(&[("RECOVERY_PAGE_URL", "https://app.example.com/recover")]).await;
    let mut emails = vec![];
    for i in 0..RUNS {
        let email = testing::unique_email(&format!("bench{i}"));
        t.active_member(&email, PASSWORD).await;
        emails.push(email);
    }
    for (name, known) in [("send-email known", true), ("send-email unknown", false)] {
        let mut samples = vec![];
        for (i, email) in emails.iter().enumerate() {
            let email = if known {
                email.clone()
            } else {
                testing::unique_email("nobody")
            };
            let ip = format!("10.9.{}.{}", known as u8, i);
            let req = post_json("/v2/recovery/send-email", &json!({ "email": email }), &ip);
            let (result, sample) =
                measure(&t.app, recovery::handler::send_email(&t.app, &req, &ip)).await;
            assert!(result.is_ok());
            samples.push(sample);
        }
        report("recovery", name, &samples);
    }
    let mut samples = vec![];
    for (i, email) in emails.iter().enumerate() {
        let token = t.inbox(email).await[0].recovery_token().unwrap();
        let ip = format!("10.9.2.{i}");
        let body = json!({"recoveryToken": token, "newPassword": NEW_PASSWORD});
        let req = post_json("/v2/recovery/recover", &body, &ip);
        let (result, sample) = measure(&t.app, recovery::handler::recover(&t.app, &req, &ip)).await;
        assert!(result.is_ok());
        samples.push(sample);
    }
    report("recovery", "recover", &samples);
}
