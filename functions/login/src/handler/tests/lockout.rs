//! Failures lock the email (for longer each time) and throttle the client IP; successes do not
//! count against a shared IP.

use shared::testing::{self, post_json};

use super::{PASSWORD, all_at_once, body, login, login_from};

#[tokio::test]
async fn ten_failures_lock_the_email_and_the_next_lock_lasts_twice_as_long() {
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    for email in ["ann@example.com", "ghost@example.com"] {
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
    let unauthorized = answers.iter().filter(|a| a.status == 401).count();
    let locked = answers
        .iter()
        .filter(|a| a.code() == "ACCOUNT_LOCKED")
        .count();
    assert_eq!(verified, 10);
    assert_eq!((unauthorized, locked), (10, 40));
    let key = shared::lockout::email_key("login", "ann@example.com");
    let counter = t.app.counters.get(&key).await.unwrap().unwrap();
    assert_eq!((counter.fails, counter.lock_count), (10, 1), "{counter:?}");
}

#[tokio::test]
async fn one_ip_failing_across_many_emails_is_throttled() {
    let t = testing::app_with(&[("IP_MAX_FAILURES", "5")]).await;
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
