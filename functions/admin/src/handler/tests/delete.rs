//! Erasure (GDPR): the member, its sessions and its counters; repeating it is safe.

use shared::lockout;
use shared::testing::LogCapture;

use super::{MEMBERS, PASSWORD, app, call, member_path};

#[tokio::test]
async fn erasing_a_member_removes_it_its_sessions_and_its_counters_and_no_one_elses() {
    let t = app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let family = t.refresh_family(&t.session_token(&m).await).await;
    let (bob, bobs) = t.signed_in("bob@example.com", PASSWORD).await;
    let now = t.app.clock.now_ms();
    let mut counted = lockout::member_counter_keys(&m.email_key, &m.member_id);
    let bobs_counters = lockout::member_counter_keys(&bob.email_key, &bob.member_id);
    counted.extend(bobs_counters.iter().cloned());
    for key in &counted {
        t.app
            .counters
            .count(key, t.app.policies.login_email, now)
            .await
            .unwrap();
    }
    let log = LogCapture::start();
    let a = call(&t, "DELETE", &member_path(&m.member_id, ""), "").await;
    assert_eq!((a.status, a.text.as_str()), (200, "{\"deleted\":true}"));
    assert!(t.app.members.get(&m.email_key).await.unwrap().is_none());
    let sessions = t.items(&t.tables.sessions).await;
    assert!(
        sessions
            .iter()
            .all(|s| s["memberId"].as_s().unwrap() == &bob.member_id),
        "no session item of the member is left"
    );
    assert!(!sessions.is_empty());
    for key in lockout::member_counter_keys(&m.email_key, &m.member_id) {
        assert!(t.app.counters.get(&key).await.unwrap().is_none(), "{key}");
    }
    for key in &bobs_counters {
        assert!(t.app.counters.get(key).await.unwrap().is_some(), "{key}");
    }
    assert_eq!(t.opening(&[&token, &bobs]).await, [false, true]);
    assert!(matches!(
        t.rotate_refresh(&family.current).await,
        shared::session::Rotation::Refused
    ));
    for path in [
        member_path(&m.member_id, ""),
        format!("{MEMBERS}?email=ann%40example.com"),
    ] {
        assert_eq!(call(&t, "GET", &path, "").await.status, 404, "{path}");
    }
    // Safe to repeat: nothing of the id is left, which the answer says.
    let a = call(&t, "DELETE", &member_path(&m.member_id, ""), "").await;
    assert_eq!((a.status, a.code()), (404, "MEMBER_NOT_FOUND"));
    assert_eq!(
        log.outcomes("admin_delete_member"),
        ["deleted", "not_found"]
    );
    assert!(t.app.members.get(&bob.email_key).await.unwrap().is_some());
}

#[tokio::test]
async fn an_erasure_that_finds_only_sessions_left_behind_erases_them() {
    let t = app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    // The member item went first (an erasure cut short, or the table edited by hand).
    t.delete_member(&m.email_key).await;
    let a = call(&t, "DELETE", &member_path(&m.member_id, ""), "").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(t.items(&t.tables.sessions).await.is_empty());
    assert_eq!(t.opening(&[&token]).await, [false]);
}
