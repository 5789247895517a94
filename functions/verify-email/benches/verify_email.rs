//! Verify-email benchmark against DynamoDB Local and the local SES (run by `scripts/bench`):
//! for a wrong code, the right code and a resend, the handler's wall time, the time spent
//! waiting on DynamoDB, the DynamoDB requests and sequential round trips, and the service's own
//! compute. The resend's mail is sent after the answer and is not timed.

use serde_json::json;
use shared::member::Status;
use shared::testing::stats::{measure, report};
use shared::testing::{self, post_json};

const RUNS: usize = 50;

#[tokio::main]
async fn main() {
    let t = testing::mail_app(&[]).await;
    let states = fresh_states(&t, RUNS).await;
    let verify = |token: &str, code: &str| {
        post_json(
            "/v2/verify",
            &json!({"stateToken": token, "code": code}),
            "10.8.0.1",
        )
    };
    let mut samples = vec![];
    for (token, code) in &states {
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        let (result, sample) = measure(
            &t.app,
            verify_email::handler::verify(&t.app, &verify(token, &wrong), "10.8.0.1"),
        )
        .await;
        assert!(result.is_err());
        samples.push(sample);
    }
    report("verify-email", "wrong code", &samples);
    let mut samples = vec![];
    for (token, _) in &states {
        let req = post_json(
            "/v2/verify/resend",
            &json!({ "stateToken": token }),
            "10.8.0.1",
        );
        let (result, sample) = measure(
            &t.app,
            verify_email::handler::resend(&t.app, &req, "10.8.0.1"),
        )
        .await;
        assert!(result.is_ok());
        samples.push(sample);
    }
    report("verify-email", "resend", &samples);
    t.flush_mail().await;
    let mut samples = vec![];
    for (token, code) in fresh_states(&t, RUNS).await {
        let (result, sample) = measure(
            &t.app,
            verify_email::handler::verify(&t.app, &verify(&token, &code), "10.8.0.1"),
        )
        .await;
        assert!(result.is_ok());
        samples.push(sample);
    }
    report("verify-email", "right code", &samples);
}

/// `n` new PENDING members with a live state each: their stateTokens and codes.
async fn fresh_states(t: &testing::TestApp, n: usize) -> Vec<(String, String)> {
    let mut out = vec![];
    for i in 0..n {
        let m = t
            .member(
                &testing::unique_email(&format!("bench{i}")),
                None,
                Status::Pending,
            )
            .await;
        let s = t
            .app
            .verifications
            .start(&m, t.app.clock.now_ms(), 600)
            .await
            .unwrap();
        out.push((s.token, s.code.expose().to_owned()));
    }
    t.app.requests.take();
    out
}
