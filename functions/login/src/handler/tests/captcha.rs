//! The CAPTCHA the counters ask for after a few failures, checked with the provider, failing
//! closed when the provider does not answer.

use serde_json::json;
use shared::testing::{self, ACCEPTED, FakeSiteverify, MetricCapture};

use super::{PASSWORD, body, login};

#[tokio::test]
async fn after_three_failures_a_captcha_is_required_and_checked() {
    let fake = FakeSiteverify::start().await;
    let t = testing::captcha_app("recaptcha", &fake.url, &[]).await;
    t.active_member("ann@example.com", PASSWORD).await;
    let metrics = MetricCapture::start();
    for _ in 0..3 {
        let a = login(&t, &body("ann@example.com", "wrong password here")).await;
        assert_eq!(a.code(), "INVALID_CREDENTIALS");
    }
    assert_eq!(fake.calls(), 0, "no CAPTCHA before the threshold");
    let before = t.app.hasher.verifications();
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (401, "CAPTCHA_TOKEN_REQUIRED"));
    let mut with_token = body("ann@example.com", PASSWORD);
    with_token["captchaTokens"] = json!([{"Recaptcha": "forged"}]);
    let a = login(&t, &with_token).await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CAPTCHA_TOKEN"));
    assert_eq!(
        t.app.hasher.verifications(),
        before,
        "no argon2 work without a good CAPTCHA"
    );
    with_token["captchaTokens"] = json!([{"InvisibleRecaptcha": ACCEPTED}]);
    let a = login(&t, &with_token).await;
    assert_eq!(
        (a.status, a.json["state"].as_str()),
        (200, Some("SUCCESS")),
        "{}",
        a.text
    );
    assert_eq!(fake.calls(), 2);
    // Success reset the email's counter: no CAPTCHA next time.
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.status, 200);
    let failed = ("login", "invalid_credentials");
    metrics.assert_decisions(&[
        failed,
        failed,
        failed,
        ("login", "captcha_required"),
        ("login", "captcha_rejected"),
        ("login", "success"),
        ("login", "success"),
    ]);
}

#[tokio::test]
async fn an_unreachable_captcha_verifier_fails_closed_with_503() {
    let dead = testing::dead_url().await;
    let always = [("LOGIN_CAPTCHA_AFTER_FAILURES", "0")];
    let t = testing::captcha_app("turnstile", &dead, &always).await;
    t.active_member("ann@example.com", PASSWORD).await;
    let mut b = body("ann@example.com", PASSWORD);
    b["captchaTokens"] = json!([{"token": ACCEPTED}]);
    let a = login(&t, &b).await;
    testing::assert_unavailable(&a);
    assert!(a.json.get("sessionToken").is_none());
}

#[tokio::test]
async fn a_captcha_solved_on_another_site_or_with_a_low_score_is_rejected() {
    let fake = FakeSiteverify::start().await;
    let t = testing::captcha_app(
        "recaptcha",
        &fake.url,
        &[
            (
                "CAPTCHA_EXPECTED_HOSTNAMES",
                "app.example.com,www.example.com",
            ),
            ("CAPTCHA_MIN_SCORE", "0.5"),
        ],
    )
    .await;
    t.active_member("ann@example.com", PASSWORD).await;
    let with = |token: String| {
        let mut b = body("ann@example.com", PASSWORD);
        b["captchaTokens"] = json!([{ "Recaptcha": token }]);
        b
    };
    for (token, code) in [
        (format!("{ACCEPTED}@evil.example"), "INVALID_CAPTCHA_TOKEN"),
        (format!("{ACCEPTED}~0.1"), "INVALID_CAPTCHA_TOKEN"),
        (format!("{ACCEPTED}@www.example.com"), ""),
        (format!("{ACCEPTED}~0.7"), ""),
        (ACCEPTED.to_owned(), ""),
    ] {
        let a = login(&t, &with(token.clone())).await;
        if code.is_empty() {
            assert_eq!(a.status, 200, "{token}: {}", a.text);
        } else {
            assert_eq!((a.status, a.code()), (401, code), "{token}");
        }
    }
}
