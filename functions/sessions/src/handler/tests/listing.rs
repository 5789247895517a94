//! `GET /v2/sessions`: the member's live sessions, newest first, with what recognises each
//! device; one Query and one batched read; the last-used time written at most once per
//! `SESSION_TOUCH_INTERVAL_SECONDS`.

use shared::clock::rfc3339;
use shared::testing::{self, Auth};

use super::{PASSWORD, device, id_of, ids, list};

#[tokio::test]
async fn a_member_sees_its_live_sessions_newest_first_with_their_devices() {
    let t = testing::app().await;
    let m = t.active_member("ann@example.com", PASSWORD).await;
    let laptop = t
        .session_from(&m, &device("198.51.100.1", "Mozilla/5.0 (Macintosh)"))
        .await;
    t.app.clock.advance_secs(60);
    let ended = t.session_from(&m, &device("198.51.100.2", "curl/8")).await;
    t.revoke_session(&ended.session.session_id).await;
    let short = t.session_lasting(&m, 120).await;
    t.app.clock.advance_secs(60);
    let phone = t
        .session_from(&m, &device("2001:db8::7", "Mobile Safari"))
        .await;
    t.app.clock.advance_secs(100); // `short` has now expired
    // Another member's sessions are never listed.
    let (_, bobs) = t.signed_in("bob@example.com", PASSWORD).await;

    let metrics = testing::MetricCapture::start();
    let a = list(&t, Auth::Bearer(&laptop.token)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    metrics.assert_decisions(&[("sessions_list", "success")]);
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(
        ids(&a),
        [
            phone.session.session_id.clone(),
            laptop.session.session_id.clone()
        ]
    );
    let [newest, oldest] = a.json["sessions"].as_array().unwrap().as_slice() else {
        panic!("{}", a.text)
    };
    assert_eq!(newest["current"], false);
    assert_eq!(newest["clientIp"], "2001:db8::7");
    assert_eq!(newest["userAgent"], "Mobile Safari");
    assert_eq!(newest["createdDate"], rfc3339(phone.session.created_at));
    assert_eq!(newest["lastUsedDate"], rfc3339(phone.session.created_at));
    assert_eq!(newest["expiresDate"], rfc3339(phone.session.expires_at));
    assert_eq!(oldest["current"], true);
    assert_eq!(oldest["clientIp"], "198.51.100.1");
    assert_eq!(oldest["userAgent"], "Mozilla/5.0 (Macintosh)");
    assert!(!ids(&a).contains(&id_of(&bobs)));
    assert!(!a.text.contains(&short.session.session_id));
    // A session stored by a tool (no device known) shows the device as unknown.
    let tool = t.session_token(&m).await;
    let a = list(&t, Auth::Bearer(&tool)).await;
    assert_eq!(a.json["sessions"][0]["id"], id_of(&tool));
    assert!(a.json["sessions"][0]["clientIp"].is_null());
    assert!(a.json["sessions"][0]["userAgent"].is_null());
}

#[tokio::test]
async fn listing_is_one_query_and_one_batched_read_after_finding_the_caller() {
    let t = testing::app().await;
    let m = t.active_member("ann@example.com", PASSWORD).await;
    let mut token = String::new();
    for _ in 0..5 {
        token = t.session_token(&m).await;
    }
    t.app.requests.take();
    let a = list(&t, Auth::Bearer(&token)).await;
    assert_eq!(ids(&a).len(), 5);
    let traffic = t.app.requests.take();
    assert_eq!(
        traffic.operations,
        ["GetItem", "Query", "BatchGetItem"],
        "{traffic:?}"
    );
    assert_eq!(traffic.round_trips, 3);
}

#[tokio::test]
async fn the_last_used_date_is_written_at_most_once_per_touch_interval() {
    let t = testing::app_with(&[("SESSION_TOUCH_INTERVAL_SECONDS", "300")]).await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let created = t.app.clock.now_ms();
    let other = t.session_token(&m).await;
    let last_used = |a: &shared::testing::Answer| {
        a.json["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == true)
            .unwrap()["lastUsedDate"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // (seconds later, whether this call writes, the last-used time it shows)
    for (after, writes, shown) in [
        (0, false, created),
        (299, false, created),
        (1, true, created + 300_000),
        (120, false, created + 300_000),
        (179, false, created + 300_000),
        (1, true, created + 600_000),
    ] {
        t.app.clock.advance_secs(after);
        t.app.requests.take();
        let a = list(&t, Auth::Bearer(&token)).await;
        let ops = t.app.requests.take().operations;
        assert_eq!(
            ops.iter().any(|o| o == "UpdateItem"),
            writes,
            "{after}s later: {ops:?}"
        );
        assert_eq!(last_used(&a), rfc3339(shown), "{after}s later");
    }
    // Another session's list shows this one as last used when it was last recorded.
    let a = list(&t, Auth::Bearer(&other)).await;
    let others = &a.json["sessions"].as_array().unwrap();
    let first = others.iter().find(|s| s["id"] == id_of(&token)).unwrap();
    assert_eq!(first["lastUsedDate"], rfc3339(created + 600_000));
}

#[tokio::test]
async fn every_credential_change_password_takes_opens_the_list_and_nothing_else_does() {
    let t = testing::app().await;
    let (_, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let session = t.authenticates(&token).await.unwrap().session;
    let access = t.access_token(&session);
    let m = t.active_member("cy@example.com", PASSWORD).await;
    let revoked = t.session_token(&m).await;
    t.revoke_session(&id_of(&revoked)).await;
    let expired = t.session_lasting(&m, 60).await.token;
    t.app.clock.advance_secs(61);
    let wrong_secret = format!("st_{}.{}", id_of(&token), "A".repeat(43));
    for (name, auth, expected) in [
        ("session token", Auth::Bearer(&token), 200),
        ("cookie", Auth::Cookie(&token), 200),
        ("access token", Auth::Bearer(&access), 200),
        ("nothing", Auth::None, 401),
        ("revoked session", Auth::Bearer(&revoked), 401),
        ("expired session", Auth::Bearer(&expired), 401),
        ("wrong secret", Auth::Bearer(&wrong_secret), 401),
        ("garbage", Auth::Bearer("not-a-token"), 401),
        ("garbage cookie", Auth::Cookie("st_x"), 401),
    ] {
        let a = list(&t, auth).await;
        assert_eq!(a.status, expected, "{name}: {}", a.text);
        if expected == 401 {
            assert_eq!(a.code(), "UNAUTHENTICATED", "{name}");
        }
    }
}

#[tokio::test]
async fn the_event_fixtures_are_served_for_the_session_they_carry() {
    let t = testing::app().await;
    let m = t.active_member("ann@example.com", PASSWORD).await;
    let now = t.app.clock.now_ms();
    // The fixtures' session token, stored as login would have stored it.
    let secret = "Zml4dHVyZS1vbmx5LW5vdC1hLXJlYWwtc2Vzc2lvbg";
    let session = t.session_token(&m).await;
    let stored = t.authenticates(&session).await.unwrap().session;
    let fixture_session = shared::session::Session {
        session_id: "fixture-session-0001".into(),
        token_hash: shared::secret::sha256_hex(secret.as_bytes()),
        created_at: now,
        ..stored
    };
    t.put_session(&fixture_session).await;
    let a = super::send(&t, testing::fixture("sessions-list.json")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(ids(&a).len(), 2);
    let a = super::send(&t, testing::fixture("sessions-revoke-others.json")).await;
    assert_eq!(
        a.json,
        serde_json::json!({"revokedSessions": 1}),
        "{}",
        a.text
    );
}
