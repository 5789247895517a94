//! The CAPTCHA `REGISTER_REQUIRES_CAPTCHA` asks for, checked with the provider, failing closed
//! when the provider does not answer.

use serde_json::json;
use shared::testing::{self, ACCEPTED, FakeSiteverify};

use super::{PASSWORD, body, register};

/// The setting that makes every registration need a CAPTCHA.
const REQUIRED: [(&str, &str); 1] = [("REGISTER_REQUIRES_CAPTCHA", "true")];

#[tokio::test]
async fn a_captcha_is_required_when_configured_and_verified_with_the_provider() {
    let fake = FakeSiteverify::start().await;
    let t = testing::captcha_app("recaptcha", &fake.url, &REQUIRED).await;
    let a = register(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (401, "CAPTCHA_TOKEN_REQUIRED"));
    assert_eq!(t.app.requests.take().requests, 0);

    let mut b = body("ann@example.com", PASSWORD);
    b["captchaTokens"] = json!([{"Recaptcha": "forged"}]);
    let a = register(&t, &b).await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CAPTCHA_TOKEN"));
    assert_eq!(t.app.hasher.hash_time(), std::time::Duration::ZERO);

    b["captchaTokens"] = json!([{"InvisibleRecaptcha": ACCEPTED}]);
    let a = register(&t, &b).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(fake.calls(), 2);

    // Without REGISTER_REQUIRES_CAPTCHA, a configured provider is not asked.
    let t = testing::captcha_app("recaptcha", &fake.url, &[]).await;
    assert_eq!(
        register(&t, &body("bob@example.com", PASSWORD))
            .await
            .status,
        200
    );
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn a_captcha_provider_that_does_not_answer_fails_closed() {
    let dead = testing::dead_url().await;
    let t = testing::captcha_app("turnstile", &dead, &REQUIRED).await;
    let mut b = body("ann@example.com", PASSWORD);
    b["captchaTokens"] = json!([{"token": ACCEPTED}]);
    let a = register(&t, &b).await;
    testing::assert_unavailable(&a);
    assert!(t.items(&t.tables.members).await.is_empty());
}

#[tokio::test]
async fn an_outage_gives_back_the_registration_count_a_rejected_captcha_keeps_it() {
    let one_an_hour = [
        ("REGISTER_REQUIRES_CAPTCHA", "true"),
        ("REGISTER_IP_MAX_PER_HOUR", "1"),
    ];
    let dead = testing::dead_url().await;
    let t = testing::captcha_app("turnstile", &dead, &one_an_hour).await;
    let mut b = body("ann@example.com", PASSWORD);
    b["captchaTokens"] = json!([{"token": ACCEPTED}]);
    // Retrying through the outage is not throttled: each failed try gave its count back.
    for _ in 0..3 {
        testing::assert_unavailable(&register(&t, &b).await);
    }

    let fake = FakeSiteverify::start().await;
    let t = testing::captcha_app("turnstile", &fake.url, &one_an_hour).await;
    b["captchaTokens"] = json!([{"token": "forged"}]);
    let a = register(&t, &b).await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CAPTCHA_TOKEN"));
    // A rejected CAPTCHA is the client's answer, not an outage: it used up the hour.
    b["captchaTokens"] = json!([{"token": ACCEPTED}]);
    let a = register(&t, &b).await;
    assert_eq!((a.status, a.code()), (429, "THROTTLED"));
    assert!(t.items(&t.tables.members).await.is_empty());
}
