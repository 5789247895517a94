//! Block and unblock: a block ends every session of the member at once and says how many; an
//! unblock restores ACTIVE; both are safe to repeat.

use shared::member::Status;
use shared::testing::LogCapture;

use super::{PASSWORD, app, call, member_path, status_of};

#[tokio::test]
async fn blocking_ends_every_session_with_its_refresh_tokens_and_reports_how_many() {
    let t = app().await;
    let (m, first) = t.signed_in("ann@example.com", PASSWORD).await;
    let second = t.session_token(&m).await;
    let family = t.refresh_family(&second).await;
    let ended = t.session_token(&m).await;
    t.revoke_session(ended.split_once('.').unwrap().0.trim_start_matches("st_"))
        .await;
    let (_, bobs) = t.signed_in("bob@example.com", PASSWORD).await;
    let log = LogCapture::start();
    let a = call(&t, "POST", &member_path(&m.member_id, "/block"), "").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["revokedSessions"], 2);
    assert_eq!(status_of(&a), "BLOCKED");
    assert_eq!(a.json["identity"]["revision"], "2");
    assert_eq!(
        t.opening(&[&first, &second, &bobs]).await,
        [false, false, true]
    );
    assert!(matches!(
        t.rotate_refresh(&family.current).await,
        shared::session::Rotation::Refused
    ));
    let stored = t.app.members.get(&m.email_key).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.revision), (Status::Blocked, 2));
    assert_eq!(log.outcomes("admin_block_member"), ["blocked"]);

    // Again: already blocked, nothing left to end, nothing rewritten.
    let a = call(&t, "POST", &member_path(&m.member_id, "/block"), "").await;
    assert_eq!(
        (a.json["revokedSessions"].as_u64(), status_of(&a)),
        (Some(0), "BLOCKED")
    );
    assert_eq!(a.json["identity"]["revision"], "2");
}

#[tokio::test]
async fn a_block_that_finds_the_member_blocked_still_ends_the_sessions_left_standing() {
    let t = app().await;
    // Blocked by hand in the table: the sessions it had are still live.
    let m = t
        .member("ann@example.com", Some(PASSWORD), Status::Blocked)
        .await;
    let token = t.session_token(&m).await;
    let a = call(&t, "POST", &member_path(&m.member_id, "/block"), "").await;
    assert_eq!(a.json["revokedSessions"], 1, "{}", a.text);
    assert_eq!(t.opening(&[&token]).await, [false]);
}

#[tokio::test]
async fn unblocking_restores_active_and_leaves_any_other_status_alone() {
    let t = app().await;
    let blocked = t
        .member("ann@example.com", Some(PASSWORD), Status::Blocked)
        .await;
    let pending = t
        .member("pat@example.com", Some(PASSWORD), Status::Pending)
        .await;
    let active = t.active_member("al@example.com", PASSWORD).await;
    // (member, status after unblock, revision after)
    for (m, status, revision) in [
        (&blocked, "ACTIVE", "2"),
        (&blocked, "ACTIVE", "2"),
        (&pending, "PENDING", "1"),
        (&active, "ACTIVE", "1"),
    ] {
        let a = call(&t, "POST", &member_path(&m.member_id, "/unblock"), "").await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(
            (
                status_of(&a),
                a.json["identity"]["revision"].as_str(),
                a.json["revokedSessions"].as_u64()
            ),
            (status, Some(revision), Some(0)),
            "{}",
            m.email
        );
    }
    let stored = t
        .app
        .members
        .get(&blocked.email_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Status::Active);
}
