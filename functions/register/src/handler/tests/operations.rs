//! What operators see: an unreachable DynamoDB, the log lines of each decision, and the event
//! fixture.

use shared::testing::{self, answer};

use super::{IP, PASSWORD, body, register};

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_with_retry_after_and_no_details() {
    let t = testing::unreachable_app(&[]).await;
    let a = register(&t, &body("ann@example.com", PASSWORD)).await;
    testing::assert_unavailable(&a);
    assert_eq!(t.app.hasher.hash_time(), std::time::Duration::ZERO);
}

#[tokio::test]
async fn logs_record_every_decision_and_no_secret() {
    let t = testing::app().await;
    let logs = testing::LogCapture::start();
    let metrics = testing::MetricCapture::start();
    let ok = register(&t, &body("ann@example.com", PASSWORD)).await;
    let dup = register(&t, &body("ann@example.com", "another long passphrase 7")).await;
    let weak = register(&t, &body("bob@example.com", "password1234")).await;
    assert_eq!((ok.status, dup.status, weak.status), (200, 409, 400));
    let token = ok.json["sessionToken"].as_str().unwrap();
    logs.assert_holds_none(&[
        PASSWORD,
        "another long passphrase 7",
        "password1234",
        token,
        testing::session_secret(token),
    ]);
    assert_eq!(
        logs.outcomes("register"),
        ["success", "duplicate_email", "invalid_request"]
    );
    metrics.assert_decisions(&[
        ("register", "success"),
        ("register", "duplicate_email"),
        ("register", "invalid_request"),
    ]);
    let decisions = logs.events("register");
    assert!(decisions.iter().all(|d| d["fields"]["client_ip"] == IP));
    assert_eq!(
        decisions[0]["fields"]["member_id"],
        ok.json["identity"]["id"]
    );
}

#[tokio::test]
async fn the_event_fixture_registers_once_and_then_finds_the_email_taken() {
    let t = testing::app().await;
    let run = || async {
        answer(crate::handler::handle(&t.app, testing::fixture("register.json"), "r".into()).await)
    };
    let a = run().await;
    assert_eq!(a.json["state"], "SUCCESS", "{}", a.text);
    assert_eq!(run().await.code(), "DUPLICATE_EMAIL");
}
