//! Revoke (RFC 7009): a refresh token of the family, or an access token, ends its session;
//! the answer is 200 whatever the token.

use serde_json::json;
use shared::testing;

use super::*;

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    let r = call(
        &t,
        post_form(
            REVOKE_PATH,
            &[
                ("token", &ann.refresh),
                ("token_type_hint", "refresh_token"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_refresh_refused(&t, &ann.refresh, "revoked token").await;
    assert!(t.authenticates(&ann.st).await.is_none());
    assert!(t.authenticates(&ann.access).await.is_none());
    // Revoking again, or anything unknown, is still 200 (RFC 7009 §2.2).
    for token in [
        ann.refresh.as_str(),
        "rt_nosuchsession.AAAA",
        "garbage",
        "eyJhbGciOiJub25lIn0.e30.",
    ] {
        let r = revoke(&t, token).await;
        assert_eq!(r.status, 200, "{token}: {}", r.text);
    }
}

#[tokio::test]
async fn revoking_needs_a_real_token_of_the_family() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    let s = session(&t, &ann.st).await;
    let guessed = format!("rt_{}.{}", s.session_id, "A".repeat(43));
    assert_eq!(revoke(&t, &guessed).await.status, 200);
    assert!(
        t.authenticates(&ann.st).await.is_some(),
        "a guessed token revoked the session"
    );
    // A token rotated earlier is of the family too.
    let rt2 = refresh_token_of(&refresh(&t, &ann.refresh).await);
    assert!(t.authenticates(&ann.st).await.is_some());
    let r = call(
        &t,
        testing::post_json(
            REVOKE_PATH,
            &json!({"token": ann.refresh, "tokenTypeHint": "refresh_token"}),
            IP,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(t.authenticates(&ann.st).await.is_none());
    assert_refresh_refused(&t, &rt2, "after revoke").await;
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_session() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    assert_eq!(revoke(&t, &ann.access).await.status, 200);
    assert!(t.authenticates(&ann.st).await.is_none());
}

#[tokio::test]
async fn revoke_without_a_token_is_invalid_request() {
    let t = testing::app().await;
    for (case, req) in [
        (
            "no token",
            post_form(REVOKE_PATH, &[("token_type_hint", "refresh_token")]),
        ),
        ("empty token", post_form(REVOKE_PATH, &[("token", "")])),
        ("bad JSON", post(REVOKE_PATH, "application/json", "{")),
        ("text/plain", post(REVOKE_PATH, "text/plain", "token=x")),
    ] {
        assert_oauth_error(&call(&t, req).await, "invalid_request", case);
    }
}
