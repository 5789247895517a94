//! Token exchange (RFC 8693): a live session token for an access token and a refresh family.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::auth::Credential;
use shared::testing::{self, TEST_AUDIENCE, TEST_ISSUER};

use super::*;

#[tokio::test]
async fn exchange_then_two_refreshes_rotate_the_refresh_token_each_time() {
    let t = testing::app().await;
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let session = session(&t, &st).await;

    let a = exchange(&t, &st).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("pragma"), Some("no-cache"));
    assert_eq!(a.json["token_type"], "Bearer");
    assert_eq!(a.json["expires_in"], 900);
    assert_eq!(
        a.json["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let traffic = t.app.requests.take();
    assert_eq!(
        (traffic.operations, traffic.round_trips),
        (vec!["UpdateItem".to_owned(), "Query".to_owned()], 1),
        "an exchange is one conditional write, with the member's status read beside it"
    );
    let claims = claims_of(&t, &a);
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        (TEST_ISSUER, TEST_AUDIENCE)
    );
    assert_eq!(claims.sub, session.member_id);
    assert_eq!(claims.sid, session.session_id);
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(
        claims.client_id.as_deref(),
        Some("default"),
        "RFC 9068: always a client_id"
    );
    assert!(claims.jti.len() >= 16);

    let rt1 = refresh_token_of(&a);
    let secret = rt1
        .strip_prefix(&format!("rt_{}.", session.session_id))
        .expect("rt_<sessionId>.<secret>");
    assert!(URL_SAFE_NO_PAD.decode(secret).unwrap().len() * 8 >= 256);
    let item = &t.items(&t.tables.sessions).await[0];
    assert_eq!(
        item["refreshHash"].as_s().unwrap(),
        &shared::secret::sha256_hex(secret.as_bytes())
    );
    assert!(
        !format!("{item:?}").contains(secret),
        "the item holds the refresh secret"
    );

    t.app.clock.advance_secs(60);
    t.app.requests.take();
    let b = refresh(&t, &rt1).await;
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(t.app.requests.take().operations, ["UpdateItem", "Query"]);
    assert!(b.json.get("issued_token_type").is_none());
    let rt2 = refresh_token_of(&b);
    assert_ne!(rt2, rt1);
    let claims2 = claims_of(&t, &b);
    assert_eq!(claims2.sid, session.session_id);
    assert_ne!(claims2.jti, claims.jti);
    assert_eq!(claims2.iat, claims.iat + 60);

    let c = refresh(&t, &rt2).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let rt3 = refresh_token_of(&c);
    assert_ne!(rt3, rt2);
    let via_access = t.authenticates(&access_token_of(&c)).await.unwrap();
    assert_eq!(via_access.session.session_id, session.session_id);
    assert_eq!(via_access.via, Credential::BearerAccessToken);
    // Only the newest refresh token is current.
    assert_eq!(
        t.items(&t.tables.sessions).await[0]["refreshGeneration"]
            .as_n()
            .unwrap(),
        "3"
    );
}

#[tokio::test]
async fn exchange_with_an_unknown_wrong_expired_or_revoked_session_token_is_invalid_grant() {
    let t = testing::app().await;
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let live = session(&t, &st).await;
    let wrong_secret = format!("st_{}.{}", live.session_id, "A".repeat(43));
    for (case, token) in [
        (
            "unknown session",
            format!("st_nosuchsession.{}", "A".repeat(43)),
        ),
        ("wrong secret", wrong_secret),
        ("not a session token", "hello".into()),
        (
            "a refresh-token shape",
            format!("rt_{}.{}", live.session_id, "A".repeat(43)),
        ),
    ] {
        assert_oauth_error(&exchange(&t, &token).await, "invalid_grant", case);
    }
    assert!(
        t.authenticates(&st).await.is_some(),
        "failed exchanges harm nothing"
    );

    let (_, revoked_st) = t.signed_in("bo@example.com", PASSWORD).await;
    let revoked = session(&t, &revoked_st).await;
    assert!(t.revoke_session(&revoked.session_id).await);
    assert_oauth_error(&exchange(&t, &revoked_st).await, "invalid_grant", "revoked");

    t.app.clock.advance_secs(t.app.config.session_ttl_seconds);
    assert_oauth_error(&exchange(&t, &st).await, "invalid_grant", "expired");
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    let t = testing::app().await;
    for grant in [
        "password",
        "authorization_code",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "REFRESH_TOKEN",
    ] {
        let a = call(
            &t,
            post_form(TOKEN_PATH, &[("grant_type", grant), ("refresh_token", "x")]),
        )
        .await;
        assert_oauth_error(&a, "unsupported_grant_type", grant);
    }
    assert_eq!(t.app.requests.take().requests, 0);
}

#[tokio::test]
async fn a_new_exchange_replaces_the_family_without_ending_the_session() {
    let t = testing::app().await;
    let first = signed_in_and_exchanged(&t).await;
    let second = refresh_token_of(&exchange(&t, &first.st).await);
    // The first family's token was never used, so this is no replay: refused, nothing more.
    assert_refresh_refused(&t, &first.refresh, "superseded").await;
    assert!(t.authenticates(&first.st).await.is_some());
    assert_eq!(refresh(&t, &second).await.status, 200);
}
