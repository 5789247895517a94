//! Pre-account-takeover (DESIGN §3.3, §7.12): whoever registered the address before its owner
//! proved it keeps nothing once the owner recovers it.

use shared::member::Status;
use shared::testing::unique_email;

use super::*;

#[tokio::test]
async fn recovering_an_account_an_attacker_registered_ends_the_attackers_sessions() {
    let t = app(&[]).await;
    let email = unique_email("victim");
    // The attacker registered the victim's address with a password of their own.
    let (member, attacker) = t.signed_in(&email, "attacker's own passphrase").await;
    assert!(!member.email_verified);
    let attacker_again = t.session_token(&member).await;

    let token = mailed_token(&t, &email).await;
    let a = recover(&t, &token, NEW_PASSWORD).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(t.authenticates(&attacker).await.is_none());
    assert!(t.authenticates(&attacker_again).await.is_none());
    let stored = t.app.members.get(&member.email_key).await.unwrap().unwrap();
    assert!(stored.email_verified);
    assert_eq!(stored.status, Status::Active);
}

#[tokio::test]
async fn a_member_pending_verification_is_verified_and_active_after_recovery() {
    let t = app(&[]).await;
    let email = unique_email("pen");
    let member = t.member(&email, Some(OLD_PASSWORD), Status::Pending).await;
    let token = mailed_token(&t, &email).await;
    let a = recover(&t, &token, NEW_PASSWORD).await;
    assert_eq!(a.json["state"], "SUCCESS", "{}", a.text);
    assert_eq!(t.status_of(&member.email_key).await, Status::Active);

    // With the owner's approval required, the member stays PENDING and gets no session.
    let t = app(&[("REGISTER_REQUIRES_OWNER_APPROVAL", "true")]).await;
    let email = unique_email("pen");
    let member = t.member(&email, Some(OLD_PASSWORD), Status::Pending).await;
    let token = mailed_token(&t, &email).await;
    let a = recover(&t, &token, NEW_PASSWORD).await;
    assert_eq!(a.json["state"], "REQUIRE_OWNER_APPROVAL", "{}", a.text);
    assert!(a.json["sessionToken"].is_null());
    assert_eq!(a.json["identity"]["email"]["isVerified"], true);
    assert_eq!(t.status_of(&member.email_key).await, Status::Pending);
}
