//! The hourly allowance of registrations per client IP, counted before any hashing.

use shared::testing;

use super::{PASSWORD, body, register, register_from};

#[tokio::test]
async fn registrations_per_ip_are_limited_per_hour_before_any_hashing() {
    let t = testing::app_with(&[("REGISTER_IP_MAX_PER_HOUR", "2")]).await;
    assert_eq!(
        register(&t, &body("m0@example.com", PASSWORD)).await.status,
        200
    );
    // A taken email counts too: probing for addresses is what the limit is for.
    assert_eq!(
        register(&t, &body("m0@example.com", PASSWORD)).await.status,
        409
    );
    let hashed = t.app.hasher.hash_time();
    let a = register(&t, &body("m1@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (429, "THROTTLED"));
    let retry: i64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(
        a.json["details"]["applicationError"]["data"]["retryAfterSeconds"],
        retry
    );
    assert_eq!(
        t.app.hasher.hash_time(),
        hashed,
        "a throttled request costs no argon2"
    );
    assert_eq!(t.items(&t.tables.members).await.len(), 1);

    // Another client is not affected; an hour later this one may register again.
    let other = register_from(&t, &body("m3@example.com", PASSWORD), "192.0.2.1").await;
    assert_eq!(other.status, 200);
    t.app.clock.advance_secs(3600);
    assert_eq!(
        register(&t, &body("m4@example.com", PASSWORD)).await.status,
        200
    );
}
