//! A hot key: DynamoDB throttles one counter item (one NAT's IP counter past DynamoDB's writes
//! per key), played by a proxy in front of DynamoDB Local. The attempt is answered 503 with
//! `Retry-After` before any verification, and no counter keeps a count for it; a throttle the
//! SDK's retry gets past is counted exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use shared::lockout::{email_key, ip_key, verifications_key};
use shared::testing::throttle::Throttler;
use shared::testing::{self, TestApp};

use super::{IP, PASSWORD, body, login};

const EMAIL: &str = "ann@example.com";

/// What one counter holds now: its failures (0 when absent).
async fn fails(t: &TestApp, key: &str) -> u32 {
    t.app
        .counters
        .get(key)
        .await
        .unwrap()
        .map_or(0, |c| c.fails)
}

#[tokio::test]
async fn a_throttled_ip_counter_is_a_503_that_costs_the_member_no_attempt() {
    let hot = Arc::new(AtomicBool::new(true));
    let is_hot = hot.clone();
    let ip_counter = ip_key("login", IP);
    let throttler = Throttler::start(&testing::endpoint(), move |seen| {
        is_hot.load(Ordering::SeqCst)
            && seen.operation == "UpdateItem"
            && seen.body.contains(&format!("\"{ip_counter}\""))
    })
    .await;
    let t = testing::app_at(&throttler.url, &[]).await;
    t.active_member(EMAIL, PASSWORD).await;

    let before = t.app.hasher.verifications();
    let a = login(&t, &body(EMAIL, PASSWORD)).await;
    testing::assert_unavailable(&a);
    assert_eq!(t.app.hasher.verifications(), before, "no verification");
    // The SDK retried the throttled write once (nothing is applied on a throttle)...
    assert_eq!(throttler.throttled(), 2);
    // ...and the counts that did go through were given back.
    assert_eq!(fails(&t, &email_key("login", EMAIL)).await, 0);
    assert_eq!(fails(&t, &verifications_key(EMAIL)).await, 0);
    assert_eq!(fails(&t, &ip_key("login", IP)).await, 0);

    hot.store(false, Ordering::SeqCst);
    let a = login(&t, &body(EMAIL, PASSWORD)).await;
    assert_eq!(
        a.status, 200,
        "the key cools down and the member signs in: {}",
        a.text
    );
}

#[tokio::test]
async fn a_throttle_the_sdk_retry_gets_past_is_counted_once() {
    let email_counter = email_key("login", EMAIL);
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    let key = email_counter.clone();
    let throttler = Throttler::start(&testing::endpoint(), move |s| {
        s.operation == "UpdateItem"
            && s.body.contains(&format!("\"{key}\""))
            && counted.fetch_add(1, Ordering::SeqCst) == 0
    })
    .await;
    let t = testing::app_at(&throttler.url, &[]).await;
    t.active_member(EMAIL, PASSWORD).await;

    let before = t.app.hasher.verifications();
    let a = login(&t, &body(EMAIL, "wrong password here")).await;
    assert_eq!(a.code(), "INVALID_CREDENTIALS", "{}", a.text);
    assert_eq!(throttler.throttled(), 1);
    assert_eq!(t.app.hasher.verifications() - before, 1);
    assert_eq!(fails(&t, &email_counter).await, 1, "one attempt, one count");
}
