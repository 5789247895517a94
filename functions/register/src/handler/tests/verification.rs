//! With `REGISTER_REQUIRES_EMAIL_VERIFICATION=true` (DESIGN §3.10): a PENDING member, a
//! stateToken and a mailed code, no session.

use shared::member::Status;
use shared::testing::{self, unique_email};

use super::{PASSWORD, body, register};

#[tokio::test]
async fn registration_requiring_verification_mails_a_code_and_opens_no_session() {
    let t = testing::mail_app(&[("REGISTER_REQUIRES_EMAIL_VERIFICATION", "true")]).await;
    let email = unique_email("reg");
    let a = register(&t, &body(&email, PASSWORD)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["state"], "REQUIRE_EMAIL_VERIFICATION");
    assert!(a.json["stateToken"].as_str().unwrap().starts_with("vs_"));
    assert!(a.json["sessionToken"].is_null());
    assert!(a.header("set-cookie").is_none());
    assert_eq!(a.json["identity"]["status"]["name"], "PENDING");
    assert!(t.items(&t.tables.sessions).await.is_empty());
    // Two round trips, as without verification: the IP's count; the member and the state.
    let inbox = t.inbox(&email).await;
    assert_eq!(inbox.len(), 1);
    let code = inbox[0].code().unwrap();
    assert_eq!(code.len(), 6);
    let stored = format!("{:?}", t.items(&t.tables.counters).await);
    assert!(!stored.contains(&code), "the code is stored as a hash");
    let key = shared::email::Email::parse(&email, "e").unwrap();
    assert_eq!(t.status_of(key.key()).await, Status::Pending);

    // A taken email is refused as before, and its state does not linger.
    let again = register(&t, &body(&email, PASSWORD)).await;
    assert_eq!(again.code(), "DUPLICATE_EMAIL");
    assert_eq!(t.inbox(&email).await.len(), 1);
}

#[tokio::test]
async fn register_refuses_to_start_requiring_verification_without_a_sender() {
    let t = testing::app_with(&[("REGISTER_REQUIRES_EMAIL_VERIFICATION", "true")]).await;
    assert_eq!(crate::handler::check(&t.app).unwrap_err().var, "EMAIL_FROM");
    assert!(crate::handler::check(&testing::app().await.app).is_ok());
}
