//! `POST /v2/sessions/revoke`: one session of the member's own, or all the others; another
//! member's session is answered exactly as one that does not exist.

use serde_json::json;
use shared::testing::{self, Auth, LogCapture, MetricCapture, session_secret};

use super::{PASSWORD, id_of, ids, list, revoke};

#[tokio::test]
async fn a_member_ends_one_of_its_sessions_and_its_tokens_stop_working() {
    let t = testing::app().await;
    let (m, mine) = t.signed_in("ann@example.com", PASSWORD).await;
    let stolen = t.session_token(&m).await;
    let family = t.refresh_family(&stolen).await;
    let a = revoke(
        &t,
        Auth::Bearer(&mine),
        &json!({"sessionId": id_of(&stolen)}),
    )
    .await;
    assert_eq!(
        (a.status, a.json.clone()),
        (200, json!({"revokedSessions": 1})),
        "{}",
        a.text
    );
    assert!(
        a.header("set-cookie").is_none(),
        "the caller stays signed in"
    );
    assert_eq!(t.opening(&[&mine, &stolen]).await, [true, false]);
    assert!(matches!(
        t.rotate_refresh(&family.current).await,
        shared::session::Rotation::Refused
    ));
    assert_eq!(ids(&list(&t, Auth::Bearer(&mine)).await), [id_of(&mine)]);
    // Again: nothing left to end.
    let a = revoke(
        &t,
        Auth::Bearer(&mine),
        &json!({"sessionId": id_of(&stolen)}),
    )
    .await;
    assert_eq!(a.json, json!({"revokedSessions": 0}));
}

#[tokio::test]
async fn another_members_session_is_answered_as_if_it_did_not_exist() {
    let t = testing::app().await;
    let (_, ann) = t.signed_in("ann@example.com", PASSWORD).await;
    let (bob, bobs) = t.signed_in("bob@example.com", PASSWORD).await;
    let gone = t.session_token(&bob).await;
    t.revoke_session(&id_of(&gone)).await;
    let unknown = format!("{}{}", &bob.member_id, "B".repeat(22));
    let mut answers = vec![];
    for id in [
        id_of(&bobs),
        unknown,
        id_of(&gone),
        "A".repeat(44),
        "x".into(),
    ] {
        let a = revoke(&t, Auth::Bearer(&ann), &json!({"sessionId": id})).await;
        answers.push((a.status, a.text.clone(), a.all("set-cookie")));
    }
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "the answers differ: {answers:?}"
    );
    assert_eq!(answers[0].1, json!({"revokedSessions": 0}).to_string());
    assert_eq!(
        t.opening(&[&bobs]).await,
        [true],
        "bob's session is untouched"
    );
    // Nor does bob's session appear in ann's list.
    assert_eq!(ids(&list(&t, Auth::Bearer(&ann)).await), [id_of(&ann)]);
}

#[tokio::test]
async fn all_others_ends_every_session_of_the_member_but_the_callers() {
    let t = testing::app().await;
    let (m, mine) = t.signed_in("ann@example.com", PASSWORD).await;
    let mut others = vec![];
    for _ in 0..4 {
        others.push(t.session_token(&m).await);
    }
    t.revoke_session(&id_of(&others[0])).await;
    let (_, bobs) = t.signed_in("bob@example.com", PASSWORD).await;
    let a = revoke(&t, Auth::Cookie(&mine), &json!({"allOthers": true})).await;
    assert_eq!(a.json, json!({"revokedSessions": 3}), "{}", a.text);
    let mut credentials: Vec<&str> = vec![&mine, &bobs];
    credentials.extend(others.iter().map(String::as_str));
    assert_eq!(
        t.opening(&credentials).await,
        [true, true, false, false, false, false]
    );
    let a = revoke(&t, Auth::Bearer(&mine), &json!({"allOthers": true})).await;
    assert_eq!(a.json, json!({"revokedSessions": 0}));
}

#[tokio::test]
async fn revoking_the_own_session_signs_out_and_expires_the_cookie() {
    let t = testing::app().await;
    let (_, mine) = t.signed_in("ann@example.com", PASSWORD).await;
    let log = LogCapture::start();
    let metrics = MetricCapture::start();
    let a = revoke(&t, Auth::Cookie(&mine), &json!({"sessionId": id_of(&mine)})).await;
    assert_eq!(a.json, json!({"revokedSessions": 1}));
    let cookie = a.header("set-cookie").expect("the cookie is expired");
    assert!(
        cookie.starts_with("__Host-session=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    assert_eq!(t.opening(&[&mine]).await, [false]);
    assert_eq!(list(&t, Auth::Cookie(&mine)).await.status, 401);
    assert_eq!(log.outcomes("sessions_revoke"), ["own_session_revoked"]);
    assert_eq!(log.outcomes("sessions_list"), ["unauthenticated"]);
    metrics.assert_decisions(&[
        ("sessions_revoke", "own_session_revoked"),
        ("sessions_list", "unauthenticated"),
    ]);
    log.assert_holds_none(&[&mine, session_secret(&mine)]);
}
