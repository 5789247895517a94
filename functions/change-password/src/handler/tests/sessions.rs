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
        .start_refresh_family(
            &SessionToken::parse(&other).unwrap(),
            t.tokens().config.issue(None),
            now,
        )
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
            t.tokens().config.issue(None),
            t.app.clock.now_ms(),
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
async fn a_change_takes_three_round_trips_besides_argon2_and_a_fourth_to_revoke() {
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
    // Session read; count + member read + sessions query; hash write; then 3 revocations.
    t.assert_traffic(8, 4, "revoking three other sessions");

    let req = request(
        Auth::Bearer(&mine),
        &json!({"currentPassword": NEW_PASSWORD, "newPassword": PASSWORD}),
    );
    assert!(change_password(&t.app, &req, IP).await.is_ok());
    t.assert_traffic(4, 3, "keeping the other sessions");
}

#[tokio::test]
async fn a_change_that_loses_the_race_revokes_no_session() {
    // Two changes at once: one that revokes (and verifies the current password first, so it
    // is the slower and usually loses) and one that keeps the other sessions. Whenever the one
    // that revokes gets 409, the other sessions must all still be live.
    for _ in 0..10 {
        let t = testing::app().await;
        let (m, mine) = t.signed_in("ann@example.com", PASSWORD).await;
        let others = [t.session_token(&m).await, t.session_token(&m).await];
        let revoking = json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "revokeOtherSessions": true});
        let keeping = json!({"newPassword": NEW_PASSWORD});
        let (r, k) = tokio::join!(
            change(&t, Auth::Bearer(&mine), &revoking),
            change(&t, Auth::Bearer(&mine), &keeping),
        );
        if r.status != 409 {
            assert_eq!((r.status, k.status), (200, 409), "{} / {}", r.text, k.text);
            continue;
        }
        assert_eq!((r.code(), k.status), ("CONCURRENT_MODIFICATION", 200));
        for s in &others {
            assert!(
                t.authenticates(s).await.is_some(),
                "the losing change revoked a session"
            );
        }
        return;
    }
    panic!("the revoking change never lost the race in ten tries");
}
