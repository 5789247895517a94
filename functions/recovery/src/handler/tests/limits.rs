//! The limits of DESIGN §3.9: per email, still `200 {}` but nothing sent; per IP, 429.

use shared::testing::unique_email;

use super::*;

#[tokio::test]
async fn past_the_per_email_limit_nothing_is_sent_and_the_answer_is_the_same() {
    let t = app(&[]).await;
    let email = unique_email("many");
    t.active_member(&email, OLD_PASSWORD).await;
    for _ in 0..4 {
        let a = send_email(&t, &email).await;
        assert_eq!((a.status, a.text.as_str()), (200, "{}"));
    }
    // RECOVERY_EMAIL_MAX_PER_HOUR defaults to 3; the last mailed link still works.
    let inbox = t.inbox(&email).await;
    assert_eq!(inbox.len(), 3);
    let token = inbox[2].recovery_token().unwrap();
    assert_eq!(recover(&t, &token, NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn past_the_per_ip_limit_the_caller_is_throttled() {
    let t = app(&[("RECOVERY_IP_MAX_PER_HOUR", "2")]).await;
    for i in 0..2 {
        let a = send_email(&t, &unique_email(&format!("ip{i}"))).await;
        assert_eq!(a.status, 200);
    }
    let a = send_email(&t, &unique_email("ip3")).await;
    assert_eq!((a.status, a.code()), (429, "THROTTLED"));
    assert!(a.header("retry-after").is_some());
    // Another IP is not.
    let other = send_email_from(&t, &json!({"email": unique_email("ip4")}), "198.51.100.4").await;
    assert_eq!(other.status, 200);
}
