//! Who may sign on: a configured API key (each revocable alone) or an IAM principal in the
//! allowed list; everyone else is refused before any DynamoDB request. And the event fixtures
//! with the development configuration.

use serde_json::json;
use shared::auth::trusted;
use shared::testing;

use super::{
    IP, KEY, PASSWORD, ROLE, ROLE_SESSION, app, app_with, body, call, key_hash, outcome, stored,
    with_iam, with_key,
};

#[tokio::test]
async fn callers_without_a_configured_api_key_are_unauthenticated_and_nothing_is_written() {
    let t = app().await;
    let (unconfigured, _) = trusted::mint_api_key();
    let b = body("ann@example.com").to_string();
    let long = format!("Bearer {}", "k".repeat(600));
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no credential", vec![]),
        ("wrong key", vec![("authorization", "Bearer sok_wrong")]),
        ("minted but not configured", vec![]),
        (
            "key without the Bearer scheme",
            vec![("authorization", KEY)],
        ),
        ("basic auth", vec![("authorization", "Basic c29rOnNvaw==")]),
        ("empty bearer", vec![("authorization", "Bearer ")]),
        (
            "a session token",
            vec![("authorization", "Bearer st_abc.def")],
        ),
        ("the key's hash instead of the key", vec![]),
        ("an oversize key", vec![("authorization", long.as_str())]),
        ("the key in a cookie", vec![("cookie", "__Host-session=x")]),
    ];
    let hash_auth = format!("Bearer {}", key_hash());
    let unconfigured_auth = format!("Bearer {unconfigured}");
    for (name, mut headers) in cases {
        if name == "minted but not configured" {
            headers.push(("authorization", unconfigured_auth.as_str()));
        }
        if name == "the key's hash instead of the key" {
            headers.push(("authorization", hash_auth.as_str()));
        }
        headers.push(("content-type", "application/json"));
        let req = testing::request("POST", "/v2/sign-on", &headers, &b, IP);
        let a = call(&t, req).await;
        assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"), "{name}");
    }
    assert_eq!(
        t.app.requests.take().requests,
        0,
        "refused before any DynamoDB request"
    );
    assert!(t.items(&t.tables.members).await.is_empty());
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn any_configured_key_is_accepted_and_each_can_be_revoked_alone() {
    let (k1, h1) = trusted::mint_api_key();
    let (k2, h2) = trusted::mint_api_key();
    let both = format!("{},{h2}", h1.to_uppercase());
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &both)]).await;
    for k in [&k1, &k2] {
        let a = call(&t, with_key(&body("ann@example.com").to_string(), Some(k))).await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &h2)]).await;
    let a = call(
        &t,
        with_key(&body("ann@example.com").to_string(), Some(&k1)),
    )
    .await;
    assert_eq!(a.status, 401, "a key whose hash was removed stops working");
}

#[tokio::test]
async fn with_neither_key_hashes_nor_an_iam_authorizer_every_call_is_refused() {
    let t = testing::app().await;
    for key in [None, Some(KEY), Some("")] {
        let a = call(&t, with_key(&body("ann@example.com").to_string(), key)).await;
        assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    }
    assert!(t.items(&t.tables.members).await.is_empty());
}

#[tokio::test]
async fn an_iam_principal_must_be_in_the_allowed_list_when_there_is_one() {
    // No list: the route's IAM authorizer (and the caller's IAM policy) decided.
    let t = testing::app().await;
    let a = call(
        &t,
        with_iam(&body("a@example.com"), ROLE_SESSION, json!({})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);

    let user = "arn:aws:iam::123456789012:user/migrator";
    let allowed = format!("{ROLE},{user}");
    let t = app_with(&[("SIGN_ON_ALLOWED_PRINCIPALS", &allowed)]).await;
    for arn in [ROLE_SESSION, user] {
        let a = call(&t, with_iam(&body("b@example.com"), arn, json!({}))).await;
        assert_eq!(a.status, 200, "{arn}: {}", a.text);
    }
    for arn in [
        "arn:aws:sts::123456789012:assumed-role/other-role/job-1",
        "arn:aws:iam::123456789012:user/intern",
        "arn:aws:sts::999999999999:assumed-role/idp-bridge/job-1",
    ] {
        let a = call(&t, with_iam(&body("c@example.com"), arn, json!({}))).await;
        assert_eq!((a.status, a.code()), (403, "PERMISSION_DENIED"), "{arn}");
    }
    // A refused principal does not fall back to an API key carried beside it.
    let auth = json!({"authorization": format!("Bearer {KEY}")});
    let a = call(
        &t,
        with_iam(
            &body("c@example.com"),
            "arn:aws:iam::123456789012:user/intern",
            auth,
        ),
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(
        stored(&t, "c@example.com").await.is_none(),
        "nothing written"
    );
}

/// `SIGN_ON_API_KEY_HASHES` as `dev.env` sets it for local development.
fn dev_key_hashes() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../dev.env");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("SIGN_ON_API_KEY_HASHES="))
        .expect("dev.env sets SIGN_ON_API_KEY_HASHES")
        .to_owned()
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say_with_the_development_configuration() {
    let hashes = dev_key_hashes();
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &hashes)]).await;
    t.active_member("ann@example.com", PASSWORD).await;
    let a = call(&t, testing::fixture("sign-on-new.json")).await;
    assert_eq!(outcome(&a), (200, Some(true)), "{}", a.text);
    assert_eq!(a.json["identity"]["email"]["isVerified"], true);
    let a = call(&t, testing::fixture("sign-on-existing.json")).await;
    assert_eq!(outcome(&a), (200, Some(false)), "{}", a.text);
    assert_eq!(a.json["identity"]["identityProfile"]["nickname"], "annie");
    let a = call(&t, testing::fixture("sign-on-unauthorized.json")).await;
    assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    // The IAM fixture's principal is refused once a list leaves it out.
    let t = app_with(&[("SIGN_ON_ALLOWED_PRINCIPALS", ROLE)]).await;
    let a = call(&t, testing::fixture("sign-on-new.json")).await;
    assert_eq!((a.status, a.code()), (403, "PERMISSION_DENIED"));
}
