//! What an operator sees: a DynamoDB outage, the decision log, the event fixtures.

use serde_json::json;
use shared::session::SessionToken;
use shared::testing;

use super::{Auth, IP, NEW_PASSWORD, PASSWORD, change, send};

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_with_retry_after_and_no_details() {
    let t = testing::unreachable_app(&[]).await;
    let token = format!("st_{}.{}", "b".repeat(22), "A".repeat(43));
    let body = json!({"newPassword": NEW_PASSWORD});
    testing::assert_unavailable(&change(&t, Auth::Bearer(&token), &body).await);
}

#[tokio::test]
async fn logs_record_every_decision_and_no_secret() {
    let t = testing::app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let logs = testing::LogCapture::start();
    let metrics = testing::MetricCapture::start();
    let none = change(&t, Auth::None, &json!({"newPassword": NEW_PASSWORD})).await;
    let wrong = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": "a wrong guess here", "newPassword": NEW_PASSWORD}),
    )
    .await;
    let weak = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": PASSWORD, "newPassword": "password1234"}),
    )
    .await;
    let ok = change(
        &t,
        Auth::Bearer(&token),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        [none.status, wrong.status, weak.status, ok.status],
        [401, 401, 400, 200]
    );
    logs.assert_holds_none(&[
        PASSWORD,
        NEW_PASSWORD,
        "a wrong guess here",
        "password1234",
        &token,
        testing::session_secret(&token),
    ]);
    assert_eq!(
        logs.outcomes("change_password"),
        [
            "unauthenticated",
            "invalid_credentials",
            "weak_password",
            "success"
        ]
    );
    metrics.assert_decisions(&[
        ("change_password", "unauthenticated"),
        ("change_password", "invalid_credentials"),
        ("change_password", "weak_password"),
        ("change_password", "success"),
    ]);
    let decisions = logs.events("change_password");
    assert!(decisions.iter().all(|d| d["fields"]["client_ip"] == IP));
    assert!(
        decisions[1..]
            .iter()
            .all(|d| d["fields"]["member_id"] == m.member_id.as_str())
    );
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say() {
    let t = testing::app().await;
    let (m, first) = t.signed_in("ann@example.com", PASSWORD).await;
    // The fixtures carry the session token of a session this test stores for ann: a copy of
    // her first session under the fixture's id and secret.
    let req = testing::fixture("change-password.json");
    let raw = shared::http::bearer(&req).unwrap();
    let parsed = SessionToken::parse(&raw).unwrap();
    let first_id = SessionToken::parse(&first).unwrap().session_id().to_owned();
    let mut session = t.app.sessions.get(&first_id).await.unwrap().unwrap();
    session.session_id = parsed.session_id().to_owned();
    session.token_hash = shared::secret::sha256_hex(testing::session_secret(&raw).as_bytes());
    t.put_session(&session).await;
    let other = t.session_token(&m).await;

    let weak = send(&t, testing::fixture("change-password-weak.json")).await;
    assert_eq!(
        (weak.status, weak.code()),
        (400, "TOO_COMMON"),
        "{}",
        weak.text
    );
    let a = send(&t, testing::fixture("change-password.json")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["revokedSessions"], 2, "{}", a.text);
    assert!(t.authenticates(&other).await.is_none() && t.authenticates(&first).await.is_none());
}
