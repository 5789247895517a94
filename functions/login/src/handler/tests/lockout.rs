//! Failures lock the email (for longer each time) and throttle the client IP; successes do not
//! count against a shared IP.

use shared::testing::{self, MetricCapture, post_json};

use super::{PASSWORD, all_at_once, body, login, login_from};

#[tokio::test]
async fn ten_failures_lock_the_email_and_the_next_lock_lasts_twice_as_long() {
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    let metrics = MetricCapture::start();
    for email in ["ann@example.com", "ghost@example.com"] {
        metrics.clear();
        for i in 0..10 {
            let a = login(&t, &body(email, "wrong password here")).await;
            assert_eq!(a.code(), "INVALID_CREDENTIALS", "{email} attempt {i}");
        }
        let before = t.app.hasher.verifications();
        // Even the right password is refused while locked, before any argon2 work.
        let a = login(&t, &body(email, PASSWORD)).await;
        assert_eq!((a.status, a.code()), (429, "ACCOUNT_LOCKED"), "{email}");
        assert_eq!(a.header("retry-after"), Some("60"));
        assert_eq!(
            a.json["details"]["applicationError"]["data"]["retryAfterSeconds"],
            60
        );
        assert_eq!(t.app.hasher.verifications(), before);
        // What the lockout-rate alarm counts, for a member and a stranger alike.
        assert_eq!(metrics.count("login", "invalid_credentials"), 10, "{email}");
        assert_eq!(metrics.count("login", "locked"), 1, "{email}");
    }

    t.app.clock.advance_secs(61);
    for _ in 0..10 {
        let a = login(&t, &body("ann@example.com", "wrong password here")).await;
        assert_eq!(a.code(), "INVALID_CREDENTIALS");
    }
    let a = login(&t, &body("ann@example.com", "wrong password here")).await;
    assert_eq!((a.status, a.header("retry-after")), (429, Some("120")));
    t.app.clock.advance_secs(121);
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.status, 200, "the lock ends and the right password works");
}

#[tokio::test]
async fn fifty_concurrent_wrong_passwords_let_exactly_ten_verifications_through() {
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    let before = t.app.hasher.verifications();
    let attempts = (0..50).map(|i| {
        post_json(
            "/v2/login",
            &body("ann@example.com", "wrong password here"),
            &format!("198.51.100.{i}"),
        )
    });
    let answers = all_at_once(&t, attempts).await;
    let verified = t.app.hasher.verifications() - before;
    let count = |code: &str| answers.iter().filter(|a| a.code() == code).count();
    let (unauthorized, locked) = (count("INVALID_CREDENTIALS"), count("ACCOUNT_LOCKED"));
    // A request whose counter write lost six races in a row gives up with a 503 (and is not
    // counted): on a loaded machine a few may; none may get past the limit.
    let gave_up: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    gave_up.iter().for_each(|a| testing::assert_unavailable(a));
    let codes: Vec<_> = answers.iter().map(|a| (a.status, a.code())).collect();
    assert_eq!(unauthorized + locked + gave_up.len(), 50, "{codes:?}");
    assert_eq!(unauthorized as u64, verified, "{codes:?}");
    let key = shared::lockout::email_key("login", "ann@example.com");
    let counter = t.app.counters.get(&key).await.unwrap().unwrap();
    if gave_up.is_empty() {
        assert_eq!(verified, 10, "{codes:?}");
        assert_eq!((counter.fails, counter.lock_count), (10, 1), "{counter:?}");
    } else {
        assert!(verified <= 10, "{verified} verifications");
        assert!(
            counter.fails <= 10 && counter.lock_count <= 1,
            "{counter:?}"
        );
    }
}

#[tokio::test]
async fn one_ip_failing_across_many_emails_is_throttled() {
    let t = testing::app_with(&[("IP_MAX_FAILURES", "5")]).await;
    let metrics = MetricCapture::start();
    for i in 0..5 {
        let a = login(
            &t,
            &body(&format!("user{i}@example.com"), "wrong password here"),
        )
        .await;
        assert_eq!(a.code(), "INVALID_CREDENTIALS");
    }
    let a = login(&t, &body("user9@example.com", "wrong password here")).await;
    assert_eq!((a.status, a.code()), (429, "THROTTLED"));
    assert_eq!(a.header("retry-after"), Some("900"));
    assert_eq!(metrics.count("login", "throttled"), 1);
    let a = login_from(
        &t,
        &body("user9@example.com", "wrong password here"),
        "192.0.2.1",
    )
    .await;
    assert_eq!(
        a.code(),
        "INVALID_CREDENTIALS",
        "another IP is not affected"
    );
}

#[tokio::test]
async fn successes_from_a_shared_ip_do_not_count_against_it() {
    let t = testing::app_with(&[("IP_MAX_FAILURES", "3")]).await;
    t.active_member("ann@example.com", PASSWORD).await;
    for _ in 0..6 {
        let a = login(&t, &body("ann@example.com", PASSWORD)).await;
        assert_eq!(a.status, 200);
    }
}
