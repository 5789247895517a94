//! Sign-on changes no status but one: a BLOCKED or PENDING member gets no session, whether it
//! was so at the first round trip or became so before the second — except that `verifyEmail:
//! true` makes a member PENDING for its email's verification ACTIVE (DESIGN §3.10).

use serde_json::json;
use shared::auth::trusted::TrustedServer;
use shared::member::Status;

use super::{IP, PASSWORD, app, body, sign_on, stored};

#[tokio::test]
async fn a_blocked_member_is_refused_and_nothing_is_written() {
    let t = app().await;
    t.member("bad@example.com", Some(PASSWORD), Status::Blocked)
        .await;
    let before = t.items(&t.tables.members).await;
    let mut b = body("bad@example.com");
    b["profile"] = json!({"firstName": "Mallory"});
    b["verifyEmail"] = json!(true);
    let a = sign_on(&t, &b).await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_BLOCKED"));
    assert!(a.json.get("sessionToken").is_none());
    assert_eq!(
        t.items(&t.tables.members).await,
        before,
        "the member is untouched"
    );
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn a_pending_member_gets_no_session_and_nothing_is_written() {
    let t = app().await;
    t.member("wait@example.com", None, Status::Pending).await;
    let before = t.items(&t.tables.members).await;
    let mut b = body("wait@example.com");
    b["profile"] = json!({"firstName": "Wes"});
    let a = sign_on(&t, &b).await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_PENDING"));
    assert_eq!(
        a.json["details"]["applicationError"]["data"]["state"],
        "REQUIRE_EMAIL_VERIFICATION"
    );
    assert_eq!(t.items(&t.tables.members).await, before);
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn a_member_blocked_between_the_two_round_trips_is_refused_and_its_new_session_is_dead() {
    let t = app().await;
    let active = t.member("race@example.com", None, Status::Active).await;
    // Blocked after round trip 1 read it as ACTIVE.
    let mut blocked = active.clone();
    blocked.status = Status::Blocked;
    t.put_member(&blocked).await;
    let before = t.items(&t.tables.members).await;
    let caller = TrustedServer::ApiKey {
        fingerprint: "test".into(),
    };
    let audit = crate::handler::Audit {
        ip: IP,
        caller: Some(&caller),
    };
    let input = crate::handler::SignOn {
        email: shared::email::Email::parse("race@example.com", "e").unwrap(),
        patch: shared::member::ProfilePatch {
            first_name: Some("Rae".into()),
            ..Default::default()
        },
        verify_email: false,
    };
    let now = t.app.clock.now_ms();
    let device = shared::session::Device::default();
    let err = crate::handler::existing(&t.app, active, &input, &device, now, &audit)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert!(format!("{err:?}").contains("MEMBER_BLOCKED"));
    assert_eq!(
        t.items(&t.tables.members).await,
        before,
        "the profile is untouched"
    );
    let sessions = t.items(&t.tables.sessions).await;
    assert_eq!(sessions.len(), 1, "the concurrent session was stored...");
    assert_eq!(
        sessions[0]["revoked"].as_bool().ok(),
        Some(&true),
        "...and revoked before the answer"
    );
}

// DESIGN §3.10: the trusted caller's `verifyEmail: true` is the proof a member PENDING for its
// email's verification waits for; a member waiting for the owner's approval waits on.

#[tokio::test]
async fn sign_on_with_verify_email_makes_a_member_pending_for_verification_active() {
    let t = app().await;
    let pending = t
        .member("reg@example.com", Some(PASSWORD), Status::Pending)
        .await;
    let mut b = body("reg@example.com");
    b["verifyEmail"] = json!(true);
    let a = sign_on(&t, &b).await;
    assert_eq!(a.status, 200, "{}", a.json);
    assert_eq!(a.json["created"], false);
    assert_eq!(a.json["identity"]["id"], pending.member_id.as_str());
    assert_eq!(a.json["identity"]["status"]["name"], "ACTIVE");
    let m = stored(&t, "reg@example.com").await.unwrap();
    assert_eq!((m.status, m.email_verified), (Status::Active, true));
    assert!(
        m.password_hash.is_none(),
        "the password set before the proof is gone (DESIGN §3.3)"
    );
    let sessions = t.items(&t.tables.sessions).await;
    assert_eq!(sessions.len(), 1, "the answer's session, and only it");
}

#[tokio::test]
async fn sign_on_without_verify_email_leaves_a_member_pending_for_verification_pending() {
    let t = app().await;
    t.member("later@example.com", Some(PASSWORD), Status::Pending)
        .await;
    let mut b = body("later@example.com");
    b["verifyEmail"] = json!(false);
    let a = sign_on(&t, &b).await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_PENDING"));
    assert_eq!(t.status_of("later@example.com").await, Status::Pending);
}

#[tokio::test]
async fn sign_on_with_verify_email_never_activates_a_member_pending_for_the_owners_approval() {
    let t = app().await;
    let mut waiting = t.member("own@example.com", None, Status::Pending).await;
    waiting.email_verified = true;
    t.put_member(&waiting).await;
    let before = t.items(&t.tables.members).await;
    let mut b = body("own@example.com");
    b["verifyEmail"] = json!(true);
    b["profile"] = json!({"firstName": "Owen"});
    let a = sign_on(&t, &b).await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_PENDING"));
    assert_eq!(
        a.json["details"]["applicationError"]["data"]["state"],
        "REQUIRE_OWNER_APPROVAL"
    );
    assert_eq!(t.items(&t.tables.members).await, before, "nothing written");
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn with_owner_approval_required_sign_on_activates_no_pending_registrant() {
    let t = super::app_with(&[("REGISTER_REQUIRES_OWNER_APPROVAL", "true")]).await;
    t.member("queue@example.com", Some(PASSWORD), Status::Pending)
        .await;
    let before = t.items(&t.tables.members).await;
    let mut b = body("queue@example.com");
    b["verifyEmail"] = json!(true);
    let a = sign_on(&t, &b).await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_PENDING"));
    assert_eq!(t.items(&t.tables.members).await, before, "nothing written");
    assert!(t.items(&t.tables.sessions).await.is_empty());
}
