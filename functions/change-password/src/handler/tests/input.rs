//! Refused bodies, through the handler: a 400 naming the field and rule, and no argon2 work; an
//! oversize body is refused before even the session is looked up. (The parser's cases are unit
//! tests in `request.rs`; that a refused change leaves the old password working at login is in
//! `tests/tests/change_password_across.rs`.)

use shared::testing::{self, Auth};

use super::{IP, PASSWORD, huge_body, pair, refused_bodies, send};

#[tokio::test]
async fn malformed_oversize_and_hostile_bodies_are_400_before_any_argon2_work() {
    let t = testing::app().await;
    let (_, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let hashed = t.app.hasher.hash_time();
    let post = |text: &str| Auth::Bearer(&token).post_json("/v2/change-password", text, IP);
    for (text, field, rule) in refused_bodies() {
        let a = send(&t, post(&text)).await;
        assert_eq!(a.status, 400, "{text:.80}: {}", a.text);
        assert_eq!(a.violations()[0], pair(field, rule), "{text:.80}");
        assert!(
            !a.text.contains("line 1"),
            "serde's message leaks: {}",
            a.text
        );
    }
    t.app.requests.take();
    assert_eq!(send(&t, post(&huge_body())).await.code(), "TOO_LONG");
    assert_eq!(
        t.app.requests.take().requests,
        0,
        "an oversize body costs no DynamoDB request"
    );
    assert_eq!(t.app.hasher.verifications(), 0);
    assert_eq!(t.app.hasher.hash_time(), hashed);
}
