//! What operators see: an unreachable DynamoDB, the log lines of each decision, and the event
//! fixtures.

use shared::testing::{self, FakeSiteverify, LogCapture, answer, session_secret};

use super::{IP, PASSWORD, body, login};

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_with_retry_after_and_no_details() {
    let t = testing::unreachable_app(&[]).await;
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    testing::assert_unavailable(&a);
    assert_eq!(t.app.hasher.verifications(), 0);
}

#[tokio::test]
async fn logs_record_every_decision_and_no_secret() {
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    let logs = LogCapture::start();
    let ok = login(&t, &body("ann@example.com", PASSWORD)).await;
    let bad = login(&t, &body("ann@example.com", "wrong password here")).await;
    assert_eq!((ok.status, bad.status), (200, 401));
    let token = ok.json["sessionToken"].as_str().unwrap();
    logs.assert_holds_none(&[
        PASSWORD,
        "wrong password here",
        token,
        session_secret(token),
    ]);
    assert_eq!(logs.outcomes("login"), ["success", "invalid_credentials"]);
    let decisions = logs.events("login");
    assert!(
        decisions
            .iter()
            .all(|d| d["fields"]["client_ip"] == IP && d["fields"]["member_id"] != "")
    );
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say() {
    let fake = FakeSiteverify::start().await;
    let t = testing::captcha_app("recaptcha", &fake.url, &[]).await;
    t.active_member("ann@example.com", PASSWORD).await;
    let run = |name: &'static str| {
        let app = t.app.clone();
        async move { answer(crate::handler::handle(&app, testing::fixture(name), "r".into()).await) }
    };
    assert_eq!(run("login-success.json").await.json["state"], "SUCCESS");
    for _ in 0..3 {
        assert_eq!(
            run("login-wrong-password.json").await.code(),
            "INVALID_CREDENTIALS"
        );
    }
    // The fixture's token reaches the verifier, which does not know it.
    assert_eq!(
        run("login-captcha.json").await.code(),
        "INVALID_CAPTCHA_TOKEN"
    );
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn login_refuses_to_start_without_its_device_cookie_key() {
    let t = testing::app_with(&[("DEVICE_COOKIE_KEY", "")]).await;
    let e = crate::handler::check(&t.app).unwrap_err();
    assert!(e.to_string().contains("DEVICE_COOKIE_KEY"), "{e}");
    assert!(crate::handler::check(&testing::app().await.app).is_ok());
}
