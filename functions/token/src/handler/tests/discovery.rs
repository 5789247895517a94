//! RFC 8414 metadata and RFC 7662 introspection: what lets a client library configure itself
//! from the issuer, and a resource server see a logout or a block before `exp`.

use shared::member::Status;
use shared::secret::sha256_hex;
use shared::testing::{self, Answer, TEST_ISSUER};

use super::*;
use crate::handler::{INTROSPECT_PATH, METADATA_PATH};

const KEY: &str = "ik_test-only-introspection-key-0123456789abcdefghijklmnop";

async fn app() -> TestApp {
    testing::app_with(&[("INTROSPECTION_API_KEY_HASHES", &sha256_hex(KEY.as_bytes()))]).await
}

async fn introspect_as(t: &TestApp, key: Option<&str>, token: &str) -> Answer {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    let req = testing::request(
        "POST",
        INTROSPECT_PATH,
        &headers,
        &form(&[("token", token)]),
        IP,
    );
    call(t, req).await
}

async fn introspect(t: &TestApp, token: &str) -> Answer {
    introspect_as(t, Some(KEY), token).await
}

#[tokio::test]
async fn the_metadata_document_describes_every_endpoint_under_the_issuer() {
    let t = testing::app().await;
    let a = call(&t, testing::request("GET", METADATA_PATH, &[], "", IP)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.header("cache-control"), Some("public, max-age=3600"));
    let m = &a.json;
    assert_eq!(m["issuer"], TEST_ISSUER);
    for (field, path) in [
        ("token_endpoint", TOKEN_PATH),
        ("revocation_endpoint", REVOKE_PATH),
        ("introspection_endpoint", INTROSPECT_PATH),
        ("jwks_uri", JWKS_PATH),
    ] {
        assert_eq!(
            m[field],
            format!("{}{path}", TEST_ISSUER.trim_end_matches('/')),
            "{field}"
        );
    }
    assert_eq!(
        m["grant_types_supported"],
        serde_json::json!([TOKEN_EXCHANGE_GRANT, REFRESH_GRANT])
    );
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        serde_json::json!(["none"])
    );
    let post = call(&t, post_form(METADATA_PATH, &[])).await;
    assert_eq!((post.status, post.header("allow")), (405, Some("GET")));
}

#[tokio::test]
async fn introspection_needs_a_configured_key() {
    let t = app().await;
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let access = access_token_of(&exchange(&t, &st).await);
    for key in [None, Some("ik_wrong"), Some(&KEY[..KEY.len() - 1])] {
        let a = introspect_as(&t, key, &access).await;
        assert_eq!(
            (a.status, a.json["error"].as_str()),
            (401, Some("invalid_client")),
            "{key:?}"
        );
        assert_eq!(a.header("www-authenticate"), Some("Bearer"));
        assert!(
            a.json.get("active").is_none(),
            "nothing about the token to an unknown caller"
        );
    }
    // No key configured: nobody may introspect.
    let t = testing::app().await;
    let a = introspect_as(&t, Some(KEY), &access).await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn introspection_is_active_only_while_the_session_lives_and_the_member_is_active() {
    let t = app().await;
    let (mut member, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let e = token_request(&t, &exchange_grant(&st), &[("client_id", "spa")]).await;
    let access = access_token_of(&e);
    t.app.requests.take();
    let a = introspect(&t, &access).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.header("cache-control"), Some("no-store"));
    t.assert_traffic(2, 1, "the session and the member, at once");
    let claims = claims_of(&t, &e);
    assert_eq!(a.json["active"], true);
    assert_eq!(a.json["token_type"], "access_token");
    assert_eq!(a.json["sub"], claims.sub.as_str());
    assert_eq!(a.json["sid"], claims.sid.as_str());
    assert_eq!(a.json["client_id"], "spa");
    assert_eq!(
        (a.json["iat"].as_i64(), a.json["exp"].as_i64()),
        (Some(claims.iat), Some(claims.exp))
    );
    assert_eq!(a.json["iss"], TEST_ISSUER);

    // Not an access token, or a bad one: inactive, and nothing else said.
    let refresh_token = refresh_token_of(&e);
    for token in [
        refresh_token.as_str(),
        st.as_str(),
        "garbage",
        &access[..access.len() - 2],
    ] {
        assert_eq!(
            introspect(&t, token).await.json,
            serde_json::json!({"active": false})
        );
    }
    // Blocked (by any means): inactive at once, though the token has not expired.
    member.status = Status::Blocked;
    t.put_member(&member).await;
    assert_eq!(
        introspect(&t, &access).await.json,
        serde_json::json!({"active": false})
    );
    member.status = Status::Active;
    t.put_member(&member).await;
    assert_eq!(introspect(&t, &access).await.json["active"], true);
    // Logged out: inactive.
    assert!(t.revoke_session(&claims.sid).await);
    assert_eq!(
        introspect(&t, &access).await.json,
        serde_json::json!({"active": false})
    );
    // Expired: inactive.
    let (_, st) = t.signed_in("bob@example.com", PASSWORD).await;
    let access = access_token_of(&exchange(&t, &st).await);
    t.app.clock.advance_secs(901);
    assert_eq!(
        introspect(&t, &access).await.json,
        serde_json::json!({"active": false})
    );
    // Missing token: invalid_request.
    let a = introspect(&t, "").await;
    assert_eq!(a.json["error"], "invalid_request");
}
