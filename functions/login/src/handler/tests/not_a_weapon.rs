//! Lockout is not a denial-of-service tool (DESIGN §4, §7.11): attempts that solved no CAPTCHA
//! never lock an email, a request refused for its IP leaves the email's counter alone, a known
//! device (a valid `__Host-device` cookie for the email) is counted on its own, and no setting
//! lets more than the hourly ceiling of verifications through.

use serde_json::{Value, json};
use shared::lockout;
use shared::testing::{self, ACCEPTED, Answer, FakeSiteverify, TestApp, answer, request};

use super::{IP, PASSWORD, all_at_once, body, login, login_from};

const WRONG: &str = "wrong password here";

fn solved(mut b: Value) -> Value {
    b["captchaTokens"] = json!([{"Recaptcha": ACCEPTED}]);
    b
}

/// A login that presents `cookie` (`name=value`) from `ip`.
async fn login_with_cookie(t: &TestApp, b: &Value, cookie: &str, ip: &str) -> Answer {
    let req = request(
        "POST",
        "/v2/login",
        &[("content-type", "application/json"), ("cookie", cookie)],
        &b.to_string(),
        ip,
    );
    answer(crate::handler::handle(&t.app, req, "r".into()).await)
}

/// The `__Host-device=<value>` pair a successful answer sets.
fn device_cookie(a: &Answer) -> String {
    let set = a
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("__Host-device="))
        .unwrap_or_else(|| panic!("no device cookie in {:?}", a.all("set-cookie")));
    set.split(';').next().unwrap().to_owned()
}

async fn email_fails(t: &TestApp, email: &str) -> u32 {
    let key = lockout::email_key("login", email);
    t.app
        .counters
        .get(&key)
        .await
        .unwrap()
        .map_or(0, |c| c.fails)
}

#[tokio::test]
async fn twelve_captchaless_failures_do_not_keep_the_owner_out() {
    let fake = FakeSiteverify::start().await;
    let t = testing::captcha_app("recaptcha", &fake.url, &[]).await;
    t.active_member("ann@example.com", PASSWORD).await;
    let mut codes = vec![];
    for _ in 0..12 {
        codes.push(
            login(&t, &body("ann@example.com", WRONG))
                .await
                .code()
                .to_owned(),
        );
    }
    assert_eq!(codes[..3], ["INVALID_CREDENTIALS"; 3]);
    assert_eq!(codes[3..], ["CAPTCHA_TOKEN_REQUIRED"; 9]);
    assert_eq!(
        email_fails(&t, "ann@example.com").await,
        3,
        "refused attempts moved nothing"
    );
    // The owner solves the CAPTCHA and is in, no lock in the way.
    let a = login(&t, &solved(body("ann@example.com", PASSWORD))).await;
    assert_eq!(
        (a.status, a.json["state"].as_str()),
        (200, Some("SUCCESS")),
        "{}",
        a.text
    );
    // A rejected CAPTCHA moves nothing either, and costs no argon2 work.
    for _ in 0..3 {
        login(&t, &body("ann@example.com", WRONG)).await;
    }
    let before = t.app.hasher.verifications();
    let mut forged = body("ann@example.com", WRONG);
    forged["captchaTokens"] = json!([{"Recaptcha": "forged"}]);
    for _ in 0..20 {
        assert_eq!(login(&t, &forged).await.code(), "INVALID_CAPTCHA_TOKEN");
    }
    assert_eq!(email_fails(&t, "ann@example.com").await, 3);
    assert_eq!(t.app.hasher.verifications(), before);
}

#[tokio::test]
async fn an_attacker_who_solves_captchas_locks_unknown_devices_but_not_the_owners_known_one() {
    let fake = FakeSiteverify::start().await;
    let t = testing::captcha_app("recaptcha", &fake.url, &[]).await;
    t.active_member("ann@example.com", PASSWORD).await;
    // The owner signed in from this browser once: it holds a device cookie for the email.
    t.active_member("bob@example.com", PASSWORD).await;
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    let known = device_cookie(&a);

    // The attacker solves every CAPTCHA and locks the email.
    for _ in 0..10 {
        let a = login_from(&t, &solved(body("ann@example.com", WRONG)), "198.51.100.9").await;
        assert_eq!(a.code(), "INVALID_CREDENTIALS");
    }
    let a = login_from(
        &t,
        &solved(body("ann@example.com", PASSWORD)),
        "198.51.100.9",
    )
    .await;
    assert_eq!((a.status, a.code()), (429, "ACCOUNT_LOCKED"));
    assert_eq!(
        a.json["details"]["applicationError"]["data"]["recovery"],
        "PASSWORD_RESET"
    );
    // A browser without a cookie, or with a cookie that is not a valid one for this email,
    // is an unknown device: locked too.
    let other = login(&t, &body("bob@example.com", PASSWORD)).await;
    let (_, known_value) = known.split_once('=').unwrap();
    for cookie in [
        String::new(),
        "__Host-device=forged.1.x".into(),
        device_cookie(&other),
        format!("__Host-device={}", known_value.replacen('.', ".9", 1)),
    ] {
        let a = login_with_cookie(&t, &body("ann@example.com", PASSWORD), &cookie, IP).await;
        assert_eq!(a.code(), "ACCOUNT_LOCKED", "cookie {cookie:?}");
    }

    // The owner's known device is counted on its own: in, without even a CAPTCHA.
    let a = login_with_cookie(&t, &body("ann@example.com", PASSWORD), &known, IP).await;
    assert_eq!(
        (a.status, a.json["state"].as_str()),
        (200, Some("SUCCESS")),
        "{}",
        a.text
    );
    // And the success hands the device a fresh cookie that works the same.
    let renewed = device_cookie(&a);
    assert_ne!(renewed, known);
    let a = login_with_cookie(&t, &body("ann@example.com", PASSWORD), &renewed, IP).await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn a_known_device_has_a_lock_of_its_own() {
    // Without a CAPTCHA provider every attempt counts; a device still locks after its own ten.
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    let known = device_cookie(&login(&t, &body("ann@example.com", PASSWORD)).await);
    for _ in 0..10 {
        let a = login_with_cookie(&t, &body("ann@example.com", WRONG), &known, IP).await;
        assert_eq!(a.code(), "INVALID_CREDENTIALS");
    }
    let a = login_with_cookie(&t, &body("ann@example.com", PASSWORD), &known, IP).await;
    assert_eq!(a.code(), "ACCOUNT_LOCKED", "the device is locked");
    assert_eq!(email_fails(&t, "ann@example.com").await, 0, "not the email");
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(
        a.status, 200,
        "another browser is not locked by the device's failures"
    );
}

#[tokio::test]
async fn no_more_verifications_per_hour_than_the_ceiling_even_concurrently_from_many_devices() {
    let t = testing::app_with(&[
        ("LOGIN_MAX_VERIFICATIONS_PER_HOUR", "6"),
        ("LOGIN_LOCK_AFTER_FAILURES", "6"),
        ("LOGIN_DEVICE_LOCK_AFTER_FAILURES", "6"),
    ])
    .await;
    t.active_member("ann@example.com", PASSWORD).await;
    let devices = t.app.devices.clone().unwrap();
    let now = t.app.clock.now_ms();
    let before = t.app.hasher.verifications();
    // Thirty devices, each with a valid cookie for the email and a fresh counter of its own.
    let attempts = (0..30).map(|i| {
        let cookie = format!("__Host-device={}", devices.issue("ann@example.com", now));
        request(
            "POST",
            "/v2/login",
            &[("content-type", "application/json"), ("cookie", &cookie)],
            &body("ann@example.com", WRONG).to_string(),
            &format!("198.51.100.{i}"),
        )
    });
    let answers = all_at_once(&t, attempts).await;
    let verified = t.app.hasher.verifications() - before;
    assert!(
        verified <= 6,
        "{verified} verifications passed a ceiling of 6"
    );
    let refused = answers
        .iter()
        .filter(|a| a.code() == "ACCOUNT_LOCKED")
        .count();
    assert_eq!(
        refused as u64 + verified,
        30,
        "every other attempt was refused unverified"
    );
    // Later in the hour, still none; an hour on, the owner is in.
    t.app.clock.advance_secs(1800);
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.code(), "ACCOUNT_LOCKED");
    t.app.clock.advance_secs(1801);
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn a_throttled_ips_requests_leave_the_email_counter_as_it_was() {
    let t = testing::app_with(&[("IP_MAX_FAILURES", "3")]).await;
    t.active_member("ann@example.com", PASSWORD).await;
    for email in ["x@example.com", "y@example.com", "z@example.com"] {
        login(&t, &body(email, WRONG)).await;
    }
    login_from(&t, &body("ann@example.com", WRONG), "198.51.100.1").await;
    for _ in 0..15 {
        let a = login(&t, &body("ann@example.com", WRONG)).await;
        assert_eq!(a.code(), "THROTTLED");
    }
    assert_eq!(
        email_fails(&t, "ann@example.com").await,
        1,
        "only the other IP's failure"
    );
    let a = login_from(&t, &body("ann@example.com", PASSWORD), "198.51.100.1").await;
    assert_eq!(a.status, 200, "the owner elsewhere is not locked");
}

#[tokio::test]
async fn a_counter_that_gives_up_under_contention_is_a_503_not_a_lock() {
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    // A counter item no conditional count can move (as under a flood of writers): each count
    // is refused while the state it sees admits it.
    let key = lockout::email_key("login", "ann@example.com");
    t.client
        .update_item()
        .table_name(&t.tables.counters)
        .key(
            "counterKey",
            aws_sdk_dynamodb::types::AttributeValue::S(key),
        )
        .update_expression("SET windowStart = :w")
        .expression_attribute_values(
            ":w",
            aws_sdk_dynamodb::types::AttributeValue::N(t.app.clock.now_ms().to_string()),
        )
        .send()
        .await
        .unwrap();
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    testing::assert_unavailable(&a);
    assert_ne!(a.code(), "ACCOUNT_LOCKED");
}
