//! The calling session and the member's others: `revokeOtherSessions`, and what a change
//! costs in DynamoDB round trips.

use serde_json::json;
use shared::session::{RefreshToken, Rotation, SessionToken};
use shared::testing;

use crate::handler::change_password;

use super::{Auth, IP, NEW_PASSWORD, PASSWORD, change, request};

#[tokio::test]
async fn revoke_other_sessions_ends_every_other_session_and_its_refresh_tokens() {
    let t = testing::app().await;
    let (m, mine) = t.signed_in("ann@example.com", PASSWORD).await;
    let other = t.session_token(&m).await;
    let third = t.session_token(&m).await;
    // A session already revoked is not counted again.
    let gone = t.session_token(&m).await;
    let gone_id = SessionToken::parse(&gone).unwrap().session_id().to_owned();
    t.app
        .sessions
        .revoke(&gone_id, t.app.clock.now_ms())
        .await
        .unwrap();
    // Another member's session is not touched.
    let bob = t.active_member("bob@example.com", PASSWORD).await;
    let bobs = t.session_token(&bob).await;
    // The other session holds a refresh token (token exchange).
    let now = t.app.clock.now_ms();
    let grant = t
        .app
        .sessions
        .start_refresh_family(&SessionToken::parse(&other).unwrap(), None, now, 3600)
        .await
        .unwrap()
        .unwrap();

    let a = change(
        &t,
        Auth::Bearer(&mine),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "revokeOtherSessions": true}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json, json!({"revokedSessions": 2}));
    assert!(
        t.authenticates(&mine).await.is_some(),
        "the calling session stays valid"
    );
    assert!(t.authenticates(&other).await.is_none() && t.authenticates(&third).await.is_none());
    assert!(t.authenticates(&bobs).await.is_some());
    let refreshed = t
        .app
        .sessions
        .rotate_refresh(
            &RefreshToken::parse(&grant.refresh_token).unwrap(),
            None,
            t.app.clock.now_ms(),
            3600,
        )
        .await
        .unwrap();
    assert!(matches!(refreshed, Rotation::Refused), "{refreshed:?}");
    // The revoked session's token is refused here too.
    let b = change(
        &t,
        Auth::Bearer(&other),
        &json!({"newPassword": "whatever comes next 42"}),
    )
    .await;
    assert_eq!((b.status, b.code()), (401, "UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_change_takes_three_round_trips_besides_argon2() {
    let t = testing::app().await;
    let (m, mine) = t.signed_in("ann@example.com", PASSWORD).await;
    for _ in 0..3 {
        t.session_token(&m).await;
    }
    let req = request(
        Auth::Bearer(&mine),
        &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "revokeOtherSessions": true}),
    );
    assert!(change_password(&t.app, &req, IP).await.is_ok());
    // Session read; count + member read + sessions query; hash write + 3 revocations.
    t.assert_traffic(8, 3, "revoking three other sessions");

    let req = request(
        Auth::Bearer(&mine),
        &json!({"currentPassword": NEW_PASSWORD, "newPassword": PASSWORD}),
    );
    assert!(change_password(&t.app, &req, IP).await.is_ok());
    t.assert_traffic(4, 3, "keeping the other sessions");
}
