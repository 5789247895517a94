//! What operators see: an unreachable or throttling DynamoDB, the log lines and metrics of
//! each decision, and the event fixtures.

use shared::testing::{
    self, FakeSiteverify, LogCapture, MetricCapture, answer, post_json, session_secret,
};

use super::{IP, PASSWORD, body, login};

/// A login as the runtime serves it (`http::serve`, where 5xx answers are counted).
async fn served_login(t: &testing::TestApp) -> testing::Answer {
    let req = post_json("/v2/login", &body("ann@example.com", PASSWORD), IP);
    let resp = crate::handler::handle(&t.app, req, "req-test".into());
    answer(shared::http::serve("req-test".into(), resp).await.unwrap())
}

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_with_retry_after_and_no_details() {
    let t = testing::unreachable_app(&[]).await;
    let metrics = MetricCapture::start();
    let a = served_login(&t).await;
    testing::assert_unavailable(&a);
    assert_eq!(t.app.hasher.verifications(), 0);
    assert_eq!(metrics.values("http_5xx"), [1]);
    assert_eq!(metrics.values("http_503"), [1]);
    assert_eq!(metrics.count("dynamodb_throttled", ""), 0, "not a throttle");
    metrics.assert_decisions(&[]);
}

#[tokio::test]
async fn a_throttling_dynamodb_gives_503_and_each_throttled_request_is_counted() {
    let (t, dynamo) = testing::throttle::throttled_app(&[]).await;
    let logs = LogCapture::start();
    let metrics = MetricCapture::start();
    let a = served_login(&t).await;
    testing::assert_unavailable(&a);
    // The requests the flow made, as its traffic line reports them; each was throttled.
    let traffic = logs.events("dynamodb_traffic");
    let requests = traffic[0]["fields"]["dynamodb_requests"].as_u64().unwrap();
    assert!(requests >= 1 && dynamo.requests() as u64 >= requests);
    assert_eq!(metrics.count("dynamodb_throttled", ""), requests);
    assert_eq!(metrics.values("http_503"), [1]);
}

#[tokio::test]
async fn logs_record_every_decision_and_no_secret() {
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    let logs = LogCapture::start();
    let metrics = MetricCapture::start();
    let ok = login(&t, &body("ann@example.com", PASSWORD)).await;
    let bad = login(&t, &body("ann@example.com", "wrong password here")).await;
    assert_eq!((ok.status, bad.status), (200, 401));
    metrics.assert_decisions(&[("login", "success"), ("login", "invalid_credentials")]);
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
