//! A member's sessions as an operator sees and ends them (as DESIGN §3.11, with no current
//! session: `allOthers` ends every one).

use serde_json::json;
use shared::session::Device;

use super::{PASSWORD, app, call, member_path};

#[tokio::test]
async fn an_operator_lists_a_members_live_sessions_and_ends_one_or_all() {
    let t = app().await;
    let m = t.active_member("ann@example.com", PASSWORD).await;
    let device = Device {
        client_ip: Some("198.51.100.9".into()),
        user_agent: Some("Firefox".into()),
    };
    let first = t.session_from(&m, &device).await;
    t.app.clock.advance_secs(5);
    let second = t.session_token(&m).await;
    let (_, bobs) = t.signed_in("bob@example.com", PASSWORD).await;
    let bobs_id = bobs
        .trim_start_matches("st_")
        .split_once('.')
        .unwrap()
        .0
        .to_owned();

    let a = call(&t, "GET", &member_path(&m.member_id, "/sessions"), "").await;
    assert_eq!(a.status, 200, "{}", a.text);
    let listed = a.json["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["id"], first.session.session_id.as_str());
    assert_eq!(listed[1]["clientIp"], "198.51.100.9");
    assert_eq!(listed[1]["userAgent"], "Firefox");
    assert!(listed.iter().all(|s| s["current"] == false));

    // Another member's session id, through this member's route: as if it did not exist.
    let path = member_path(&m.member_id, "/sessions/revoke");
    let a = call(
        &t,
        "POST",
        &path,
        &json!({"sessionId": bobs_id}).to_string(),
    )
    .await;
    assert_eq!(a.json, json!({"revokedSessions": 0}));
    let a = call(
        &t,
        "POST",
        &path,
        &json!({"sessionId": first.session.session_id}).to_string(),
    )
    .await;
    assert_eq!(a.json, json!({"revokedSessions": 1}));
    assert_eq!(
        t.opening(&[&first.token, &second, &bobs]).await,
        [false, true, true]
    );
    let a = call(&t, "POST", &path, &json!({"allOthers": true}).to_string()).await;
    assert_eq!(a.json, json!({"revokedSessions": 1}));
    assert_eq!(t.opening(&[&second, &bobs]).await, [false, true]);
    let a = call(&t, "GET", &member_path(&m.member_id, "/sessions"), "").await;
    assert_eq!(a.json, json!({"sessions": []}));
}
