//! Member tokens against DynamoDB Local, through the handler as Lambda calls it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::Body;
use serde_json::{Value, json};
use shared::auth::{Credential, authenticate};
use shared::member::Status;
use shared::session::{Session, SessionToken};
use shared::testing::{self, Answer, LogCapture, TEST_AUDIENCE, TEST_ISSUER, TestApp, answer};

use super::*;

const IP: &str = "203.0.113.9";

/// A member with a live session; returns the session and its token.
async fn signed_in(t: &TestApp, email: &str) -> (Session, String) {
    let m = t.member(email, None, Status::Active).await;
    let s = t
        .app
        .sessions
        .create(&m, t.app.clock.now_ms(), t.app.config.session_ttl_seconds)
        .await
        .unwrap();
    t.app.requests.take();
    (s.session, s.token)
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn post(path: &str, content_type: &str, body: &str) -> Request {
    testing::request("POST", path, &[("content-type", content_type)], body, IP)
}

fn post_form(path: &str, pairs: &[(&str, &str)]) -> Request {
    post(path, "application/x-www-form-urlencoded", &form(pairs))
}

/// The request through `route`, so that `t.app.requests` still holds its DynamoDB traffic.
async fn call(t: &TestApp, req: Request) -> Answer {
    answer(respond(route(&t.app, &req, IP).await, "req-test"))
}

async fn exchange(t: &TestApp, session_token: &str) -> Answer {
    call(
        t,
        post_form(
            TOKEN_PATH,
            &[
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("subject_token", session_token),
                ("subject_token_type", SESSION_TOKEN_TYPE),
            ],
        ),
    )
    .await
}

async fn refresh(t: &TestApp, refresh_token: &str) -> Answer {
    call(
        t,
        post_form(
            TOKEN_PATH,
            &[
                ("grant_type", REFRESH_GRANT),
                ("refresh_token", refresh_token),
            ],
        ),
    )
    .await
}

/// A 400 with an RFC 6749 §5.2 body carrying `error`, kept by no cache.
fn assert_oauth_error(a: &Answer, error: &str, case: &str) {
    assert_eq!(a.status, 400, "{case}: {}", a.text);
    assert_eq!(a.json["error"], error, "{case}: {}", a.text);
    assert!(
        a.json["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{case}: {}",
        a.text
    );
    assert_eq!(a.header("cache-control"), Some("no-store"), "{case}");
}

fn refresh_token_of(a: &Answer) -> String {
    a.json["refresh_token"].as_str().unwrap().to_owned()
}

fn access_token_of(a: &Answer) -> String {
    a.json["access_token"].as_str().unwrap().to_owned()
}

/// The caller `auth::authenticate` finds for `Authorization: Bearer <token>`.
async fn caller(t: &TestApp, token: &str) -> Option<(String, Credential)> {
    let req = testing::request(
        "POST",
        "/v2/change-password",
        &[("authorization", &format!("Bearer {token}"))],
        "",
        IP,
    );
    let c = authenticate(&t.app, &req).await.unwrap();
    t.app.requests.take();
    c.map(|c| (c.session.session_id, c.via))
}

async fn session_is_live(t: &TestApp, session_token: &str) -> bool {
    let token = SessionToken::parse(session_token).unwrap();
    let s = t
        .app
        .sessions
        .authenticate(&token, t.app.clock.now_ms())
        .await
        .unwrap();
    t.app.requests.take();
    s.is_some()
}

#[tokio::test]
async fn exchange_then_two_refreshes_rotate_the_refresh_token_each_time() {
    let t = testing::app().await;
    let (session, st) = signed_in(&t, "ann@example.com").await;

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
    assert_eq!(
        t.app.requests.take().operations,
        ["UpdateItem"],
        "an exchange is one conditional write"
    );
    let tokens = t.app.tokens.as_ref().unwrap();
    let claims = tokens
        .verify_access(&access_token_of(&a), t.app.clock.now_ms())
        .unwrap();
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        (TEST_ISSUER, TEST_AUDIENCE)
    );
    assert_eq!(claims.sub, session.member_id);
    assert_eq!(claims.sid, session.session_id);
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(claims.client_id, None);
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
    assert_eq!(t.app.requests.take().operations, ["UpdateItem"]);
    assert!(b.json.get("issued_token_type").is_none());
    let rt2 = refresh_token_of(&b);
    assert_ne!(rt2, rt1);
    let claims2 = tokens
        .verify_access(&access_token_of(&b), t.app.clock.now_ms())
        .unwrap();
    assert_eq!(claims2.sid, session.session_id);
    assert_ne!(claims2.jti, claims.jti);
    assert_eq!(claims2.iat, claims.iat + 60);

    let c = refresh(&t, &rt2).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let rt3 = refresh_token_of(&c);
    assert_ne!(rt3, rt2);
    assert!(
        caller(&t, &access_token_of(&c)).await
            == Some((session.session_id.clone(), Credential::BearerAccessToken))
    );
    // Only the newest refresh token is current.
    assert_eq!(
        t.items(&t.tables.sessions).await[0]["refreshGeneration"]
            .as_n()
            .unwrap(),
        "3"
    );
}

#[tokio::test]
async fn replaying_a_used_refresh_token_revokes_the_session_and_everything_of_it() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let a = exchange(&t, &st).await;
    let rt1 = refresh_token_of(&a);
    let b = refresh(&t, &rt1).await;
    let rt2 = refresh_token_of(&b);
    let c = refresh(&t, &rt2).await;
    let rt3 = refresh_token_of(&c);
    let access = access_token_of(&c);
    assert!(caller(&t, &access).await.is_some());

    // rt2 was used once already: presenting it again is refused and ends the session.
    let replay = refresh(&t, &rt2).await;
    assert_oauth_error(&replay, "invalid_grant", "replayed rt2");
    assert_oauth_error(
        &refresh(&t, &rt3).await,
        "invalid_grant",
        "newest after replay",
    );
    assert_oauth_error(
        &refresh(&t, &rt1).await,
        "invalid_grant",
        "oldest after replay",
    );
    assert!(
        !session_is_live(&t, &st).await,
        "the sessionToken still works"
    );
    assert_oauth_error(
        &exchange(&t, &st).await,
        "invalid_grant",
        "exchange after replay",
    );
    assert_eq!(
        caller(&t, &access).await,
        None,
        "the access token still works"
    );
    // The revoked session moved into the cleanup index's current hour.
    let item = &t.items(&t.tables.sessions).await[0];
    assert_eq!(item["revoked"].as_bool().unwrap(), &true);
    assert_eq!(
        item["gcBucket"].as_s().unwrap(),
        &shared::clock::hour_bucket(t.app.clock.now_ms())
    );
}

#[tokio::test]
async fn ten_concurrent_refreshes_with_one_token_give_exactly_one_success() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let rt = refresh_token_of(&exchange(&t, &st).await);
    let answers = futures::future::join_all((0..10).map(|_| refresh(&t, &rt))).await;
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != 200) {
        assert_oauth_error(a, "invalid_grant", "a losing concurrent refresh");
    }
    // The nine losers presented a token that had just been rotated: indistinguishable from a
    // thief racing the client, so the family is ended (RFC 9700 §4.14.2).
    assert!(!session_is_live(&t, &st).await);
    assert_oauth_error(
        &refresh(&t, &refresh_token_of(ok[0])).await,
        "invalid_grant",
        "the winner's token after the race",
    );
}

#[tokio::test]
async fn an_access_token_verifies_with_a_standard_library_configured_only_from_jwks() {
    let t = testing::app().await;
    let (session, st) = signed_in(&t, "ann@example.com").await;
    let access = access_token_of(&exchange(&t, &st).await);
    t.app.requests.take();

    let doc = call(&t, testing::request("GET", JWKS_PATH, &[], "", IP)).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(doc.header("content-type"), Some("application/json"));
    assert!(!doc.text.contains("\"d\""), "the JWKS holds a private key");
    assert_eq!(t.app.requests.take().requests, 0);

    // jsonwebtoken, given nothing but the JWKS document, the issuer and the audience.
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&doc.text).unwrap();
    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[TEST_ISSUER]);
    validation.set_audience(&[TEST_AUDIENCE]);
    let data = jsonwebtoken::decode::<Value>(&access, &key, &validation).unwrap();
    assert_eq!(data.claims["sub"], session.member_id.as_str());
    assert_eq!(data.claims["sid"], session.session_id.as_str());

    // And the raw Ed25519 check, from the JWK's `x` alone.
    let doc: Value = serde_json::from_str(&doc.text).unwrap();
    let jwk = &doc["keys"][0];
    assert_eq!(
        (&jwk["kty"], &jwk["crv"], &jwk["alg"], &jwk["use"]),
        (
            &json!("OKP"),
            &json!("Ed25519"),
            &json!("EdDSA"),
            &json!("sig")
        )
    );
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let (input, sig) = access.rsplit_once('.').unwrap();
    let sig: [u8; 64] = URL_SAFE_NO_PAD.decode(sig).unwrap().try_into().unwrap();
    public
        .verify_strict(
            input.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .expect("the signature verifies with the published key");
}

#[tokio::test]
async fn the_jwks_publishes_previous_keys_until_they_are_dropped() {
    let (new, old) = (testing::signing_key_pem(), testing::signing_key_pem());
    let t = testing::app_with(&[("SIGNING_KEY", &format!("{new}{old}"))]).await;
    let doc = call(&t, testing::request("GET", JWKS_PATH, &[], "", IP)).await;
    let kids: Vec<&str> = doc.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    let keys = &t.app.tokens.as_ref().unwrap().keys;
    assert_eq!(kids, keys.verifying_kids().collect::<Vec<_>>());
    assert_eq!(kids.len(), 2);
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let access = access_token_of(&exchange(&t, &st).await);
    assert_eq!(
        jsonwebtoken::decode_header(&access).unwrap().kid.as_deref(),
        Some(kids[0]),
        "the first key signs"
    );
}

#[tokio::test]
async fn exchange_with_an_unknown_wrong_expired_or_revoked_session_token_is_invalid_grant() {
    let t = testing::app().await;
    let (live, st) = signed_in(&t, "ann@example.com").await;
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
        session_is_live(&t, &st).await,
        "failed exchanges harm nothing"
    );

    let (revoked, revoked_st) = signed_in(&t, "bo@example.com").await;
    t.app
        .sessions
        .revoke(&revoked.session_id, t.app.clock.now_ms())
        .await
        .unwrap();
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
async fn malformed_requests_are_invalid_request() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let ex = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT),
            ("subject_token_type", SESSION_TOKEN_TYPE),
        ];
        pairs.extend_from_slice(extra);
        pairs
    };
    let with_subject = |extra: &[(&'static str, &'static str)]| {
        let mut pairs: Vec<(&str, &str)> = ex(extra);
        pairs.push(("subject_token", st.as_str()));
        form(&pairs)
    };
    let form_type = "application/x-www-form-urlencoded";
    let json_type = "application/json";
    let cases: Vec<(&str, &str, String)> = vec![
        ("no grant_type", form_type, form(&[("refresh_token", "rt_a.b")])),
        ("empty grant_type", form_type, form(&[("grant_type", "")])),
        ("an empty body", form_type, String::new()),
        ("exchange without subject_token", form_type, form(&ex(&[]))),
        (
            "exchange without subject_token_type",
            form_type,
            form(&[("grant_type", TOKEN_EXCHANGE_GRANT), ("subject_token", &st)]),
        ),
        (
            "another subject_token_type",
            form_type,
            form(&[
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("subject_token", &st),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ]),
        ),
        (
            "another requested_token_type",
            form_type,
            with_subject(&[(
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:refresh_token",
            )]),
        ),
        (
            "an actor_token",
            form_type,
            with_subject(&[("actor_token", "st_x.y")]),
        ),
        (
            "refresh without refresh_token",
            form_type,
            form(&[("grant_type", REFRESH_GRANT)]),
        ),
        (
            "a repeated parameter",
            form_type,
            form(&[
                ("grant_type", REFRESH_GRANT),
                ("refresh_token", "rt_a.b"),
                ("refresh_token", "rt_c.d"),
            ]),
        ),
        (
            "a client_id too long",
            form_type,
            form(&[
                ("grant_type", REFRESH_GRANT),
                ("refresh_token", "rt_a.b"),
                ("client_id", &"c".repeat(129)),
            ]),
        ),
        (
            "a client_id with a control character",
            form_type,
            form(&[
                ("grant_type", REFRESH_GRANT),
                ("refresh_token", "rt_a.b"),
                ("client_id", "app\n"),
            ]),
        ),
        ("JSON that does not parse", json_type, "{\"grant_type\":".into()),
        ("a JSON array", json_type, "[\"refresh_token\"]".into()),
        ("a JSON string", json_type, "\"refresh_token\"".into()),
        (
            "a number where a string belongs",
            json_type,
            json!({"grant_type": "refresh_token", "refresh_token": 12345}).to_string(),
        ),
        (
            "an object where a string belongs",
            json_type,
            json!({"grantType": {"$ne": null}}).to_string(),
        ),
        (
            "a parameter and its camelCase twin",
            json_type,
            json!({"grant_type": "refresh_token", "refreshToken": "rt_a.b", "refresh_token": "rt_c.d"})
                .to_string(),
        ),
        (
            "no content type",
            "",
            form(&[("grant_type", REFRESH_GRANT), ("refresh_token", "rt_a.b")]),
        ),
        (
            "text/plain",
            "text/plain",
            form(&[("grant_type", REFRESH_GRANT), ("refresh_token", "rt_a.b")]),
        ),
        (
            "multipart",
            "multipart/form-data; boundary=x",
            "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nrefresh_token\r\n--x--"
                .into(),
        ),
    ];
    for (case, content_type, body) in cases {
        let headers: Vec<(&str, &str)> = if content_type.is_empty() {
            vec![]
        } else {
            vec![("content-type", content_type)]
        };
        let req = testing::request("POST", TOKEN_PATH, &headers, &body, IP);
        assert_oauth_error(&call(&t, req).await, "invalid_request", case);
    }
    // Bytes that are not UTF-8.
    let mut req = post(TOKEN_PATH, form_type, "");
    *req.body_mut() = Body::Binary(b"grant_type=refresh_token&refresh_token=\xff\xfe".to_vec());
    assert_oauth_error(&call(&t, req).await, "invalid_request", "not UTF-8");
    assert_eq!(
        t.app.requests.take().requests,
        0,
        "no malformed request reached DynamoDB"
    );
    assert!(session_is_live(&t, &st).await);
}

#[tokio::test]
async fn an_oversize_body_is_refused_before_any_work() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let padding = "x".repeat(http::MAX_BODY_BYTES);
    for path in [TOKEN_PATH, REVOKE_PATH] {
        let req = post_form(
            path,
            &[
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("subject_token", &st),
                ("subject_token_type", SESSION_TOKEN_TYPE),
                ("token", &st),
                ("padding", &padding),
            ],
        );
        let a = call(&t, req).await;
        assert_oauth_error(&a, "invalid_request", path);
        assert!(
            a.json["error_description"]
                .as_str()
                .unwrap()
                .contains("16384")
        );
    }
    assert_eq!(t.app.requests.take().requests, 0);
}

#[tokio::test]
async fn json_bodies_work_with_snake_case_or_camel_case_names() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let a = call(
        &t,
        testing::post_json(
            TOKEN_PATH,
            &json!({
                "grantType": TOKEN_EXCHANGE_GRANT,
                "subjectToken": st,
                "subjectTokenType": SESSION_TOKEN_TYPE,
                "clientId": "spa",
                "unknownField": 1,
            }),
            IP,
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let b = call(
        &t,
        testing::post_json(
            TOKEN_PATH,
            &json!({"grant_type": "refresh_token", "refresh_token": refresh_token_of(&a), "scope": null}),
            IP,
        ),
    )
    .await;
    assert_eq!(b.status, 200, "{}", b.text);
    let c = call(
        &t,
        post(
            TOKEN_PATH,
            "Application/X-WWW-Form-URLEncoded; charset=UTF-8",
            &form(&[
                ("grant_type", REFRESH_GRANT),
                ("refresh_token", &refresh_token_of(&b)),
                ("scope", "ignored"),
            ]),
        ),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.text);
    let claims = t
        .app
        .tokens
        .as_ref()
        .unwrap()
        .verify_access(&access_token_of(&c), t.app.clock.now_ms())
        .unwrap();
    assert_eq!(claims.client_id.as_deref(), Some("spa"));
}

#[tokio::test]
async fn a_refresh_family_stays_with_the_client_it_was_issued_to() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let a = call(
        &t,
        post_form(
            TOKEN_PATH,
            &[
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("subject_token", &st),
                ("subject_token_type", SESSION_TOKEN_TYPE),
                ("client_id", "app-a"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let rt = refresh_token_of(&a);
    let other_client = call(
        &t,
        post_form(
            TOKEN_PATH,
            &[
                ("grant_type", REFRESH_GRANT),
                ("refresh_token", &rt),
                ("client_id", "app-b"),
            ],
        ),
    )
    .await;
    assert_oauth_error(&other_client, "invalid_grant", "another client_id");
    assert!(session_is_live(&t, &st).await);
    // The rightful client, with or without repeating its client_id, carries on.
    let b = refresh(&t, &rt).await;
    assert_eq!(b.status, 200, "{}", b.text);
    let claims = t
        .app
        .tokens
        .as_ref()
        .unwrap()
        .verify_access(&access_token_of(&b), t.app.clock.now_ms())
        .unwrap();
    assert_eq!(claims.client_id.as_deref(), Some("app-a"));
}

#[tokio::test]
async fn a_new_exchange_replaces_the_family_without_ending_the_session() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let first = refresh_token_of(&exchange(&t, &st).await);
    let second = refresh_token_of(&exchange(&t, &st).await);
    // The first family's token was never used, so this is no replay: refused, nothing more.
    assert_oauth_error(&refresh(&t, &first).await, "invalid_grant", "superseded");
    assert!(session_is_live(&t, &st).await);
    assert_eq!(refresh(&t, &second).await.status, 200);
}

#[tokio::test]
async fn refresh_tokens_die_with_their_session() {
    let t = testing::app().await;
    // Logout (or any revocation) of the session.
    let (s, st) = signed_in(&t, "ann@example.com").await;
    let rt = refresh_token_of(&exchange(&t, &st).await);
    t.app
        .sessions
        .revoke(&s.session_id, t.app.clock.now_ms())
        .await
        .unwrap();
    assert_oauth_error(&refresh(&t, &rt).await, "invalid_grant", "after logout");

    // Expiry of the session, though the refresh TTL (30 days) would allow more.
    let m = t.member("bo@example.com", None, Status::Active).await;
    let short = t
        .app
        .sessions
        .create(&m, t.app.clock.now_ms(), 3600)
        .await
        .unwrap();
    let a = exchange(&t, &short.token).await;
    assert_eq!(a.status, 200);
    // The access token does not outlive the session either.
    assert!(a.json["expires_in"].as_i64().unwrap() <= 900);
    t.app.clock.advance_secs(3599);
    let b = refresh(&t, &refresh_token_of(&a)).await;
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(b.json["expires_in"], 1, "capped by the session's end");
    t.app.clock.advance_secs(1);
    assert_oauth_error(
        &refresh(&t, &refresh_token_of(&b)).await,
        "invalid_grant",
        "after the session expired",
    );
}

#[tokio::test]
async fn an_unused_refresh_token_expires_after_its_ttl_and_each_use_renews_it() {
    let t = testing::app_with(&[("REFRESH_TOKEN_TTL_SECONDS", "600")]).await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let rt1 = refresh_token_of(&exchange(&t, &st).await);
    t.app.clock.advance_secs(599);
    let rt2 = refresh_token_of(&refresh(&t, &rt1).await);
    t.app.clock.advance_secs(599);
    let rt3 = refresh_token_of(&refresh(&t, &rt2).await);
    t.app.clock.advance_secs(600);
    assert_oauth_error(
        &refresh(&t, &rt3).await,
        "invalid_grant",
        "idle past the TTL",
    );
    // An expired refresh token ends only itself: the session and a new exchange still work.
    assert!(session_is_live(&t, &st).await);
    assert_eq!(exchange(&t, &st).await.status, 200);
}

#[tokio::test]
async fn replay_memory_stays_bounded_and_still_catches_recent_tokens() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let mut used = vec![refresh_token_of(&exchange(&t, &st).await)];
    let mut most_round_trips = 0;
    for _ in 0..(3 * shared::token::refresh::REPLAY_MEMORY + 3) {
        let a = refresh(&t, used.last().unwrap()).await;
        assert_eq!(a.status, 200, "{}", a.text);
        most_round_trips = most_round_trips.max(t.app.requests.take().round_trips);
        used.push(refresh_token_of(&a));
    }
    assert_eq!(
        most_round_trips, 2,
        "a new replay epoch costs one more write"
    );
    let item = &t.items(&t.tables.sessions).await[0];
    for set in ["usedRefreshHashes", "usedRefreshHashesPrev"] {
        let n = item[set].as_ss().unwrap().len();
        assert!(
            n <= shared::token::refresh::REPLAY_MEMORY,
            "{set} holds {n}"
        );
    }
    // A token rotated REPLAY_MEMORY uses ago is still recognised as a replay.
    let current = used.len() - 1;
    let old = &used[current - shared::token::refresh::REPLAY_MEMORY];
    assert_oauth_error(&refresh(&t, old).await, "invalid_grant", "old replay");
    assert!(!session_is_live(&t, &st).await);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let a = exchange(&t, &st).await;
    let (rt, access) = (refresh_token_of(&a), access_token_of(&a));
    let r = call(
        &t,
        post_form(
            REVOKE_PATH,
            &[("token", &rt), ("token_type_hint", "refresh_token")],
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_oauth_error(&refresh(&t, &rt).await, "invalid_grant", "revoked token");
    assert!(!session_is_live(&t, &st).await);
    assert_eq!(caller(&t, &access).await, None);
    // Revoking again, or anything unknown, is still 200 (RFC 7009 §2.2).
    for token in [
        rt.as_str(),
        "rt_nosuchsession.AAAA",
        "garbage",
        "eyJhbGciOiJub25lIn0.e30.",
    ] {
        let r = call(&t, post_form(REVOKE_PATH, &[("token", token)])).await;
        assert_eq!(r.status, 200, "{token}: {}", r.text);
    }
}

#[tokio::test]
async fn revoking_needs_a_real_token_of_the_family() {
    let t = testing::app().await;
    let (s, st) = signed_in(&t, "ann@example.com").await;
    let rt = refresh_token_of(&exchange(&t, &st).await);
    let guessed = format!("rt_{}.{}", s.session_id, "A".repeat(43));
    let r = call(&t, post_form(REVOKE_PATH, &[("token", &guessed)])).await;
    assert_eq!(r.status, 200);
    assert!(
        session_is_live(&t, &st).await,
        "a guessed token revoked the session"
    );
    // A token rotated earlier is of the family too.
    let rt2 = refresh_token_of(&refresh(&t, &rt).await);
    assert!(session_is_live(&t, &st).await);
    let r = call(
        &t,
        testing::post_json(
            REVOKE_PATH,
            &json!({"token": rt, "tokenTypeHint": "refresh_token"}),
            IP,
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!session_is_live(&t, &st).await);
    assert_oauth_error(&refresh(&t, &rt2).await, "invalid_grant", "after revoke");
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_session() {
    let t = testing::app().await;
    let (_, st) = signed_in(&t, "ann@example.com").await;
    let access = access_token_of(&exchange(&t, &st).await);
    let r = call(&t, post_form(REVOKE_PATH, &[("token", &access)])).await;
    assert_eq!(r.status, 200);
    assert!(!session_is_live(&t, &st).await);
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

#[tokio::test]
async fn each_route_answers_only_its_method() {
    let t = testing::app().await;
    for (method, path, status, allow) in [
        ("GET", TOKEN_PATH, 405, Some("POST")),
        ("PUT", REVOKE_PATH, 405, Some("POST")),
        ("POST", JWKS_PATH, 405, Some("GET")),
        ("GET", "/oauth2/authorize", 404, None),
        ("GET", "/", 404, None),
    ] {
        let a = call(&t, testing::request(method, path, &[], "", IP)).await;
        assert_eq!(a.status, status, "{method} {path}");
        assert_eq!(a.header("allow"), allow, "{method} {path}");
    }
    let a = call(
        &t,
        testing::request("GET", "/.well-known/jwks.json/", &[], "", IP),
    )
    .await;
    assert_eq!(a.status, 200, "a trailing slash is the same path");
}

#[tokio::test]
async fn a_dynamodb_outage_is_a_503_with_retry_after() {
    let dead = testing::dead_url().await.replace("/siteverify", "");
    let t = testing::app_at(&dead, &[("SKIP_TABLES", "1")]).await;
    let st = format!("st_abc.{}", "A".repeat(43));
    let rt = format!("rt_abc.{}", "A".repeat(43));
    for a in [
        exchange(&t, &st).await,
        refresh(&t, &rt).await,
        call(&t, post_form(REVOKE_PATH, &[("token", &rt)])).await,
    ] {
        assert_eq!(a.status, 503, "{}", a.text);
        assert_eq!(a.header("retry-after"), Some("2"));
        assert!(!a.text.contains("AAAA"));
    }
    // The JWKS needs no table.
    let doc = call(&t, testing::request("GET", JWKS_PATH, &[], "", IP)).await;
    assert_eq!(doc.status, 200);
}

#[tokio::test]
async fn logs_record_every_decision_and_no_token() {
    let t = testing::app().await;
    let (s, st) = signed_in(&t, "ann@example.com").await;
    let logs = LogCapture::start();

    let a = exchange(&t, &st).await;
    let rt1 = refresh_token_of(&a);
    let b = refresh(&t, &rt1).await;
    let replay = refresh(&t, &rt1).await;
    let bad = exchange(&t, "st_nosuch.AAAA").await;
    let r = call(
        &t,
        post_form(REVOKE_PATH, &[("token", &refresh_token_of(&b))]),
    )
    .await;
    assert_eq!(
        (a.status, b.status, replay.status, bad.status, r.status),
        (200, 200, 400, 400, 200)
    );
    let text = logs.text();
    let mut secrets = vec![st.clone(), access_token_of(&a), access_token_of(&b)];
    for rt in [rt1, refresh_token_of(&b)] {
        secrets.push(rt.split_once('.').unwrap().1.to_owned());
        secrets.push(rt);
    }
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a log line holds a token");
    }
    let decisions: Vec<Value> = logs
        .lines()
        .into_iter()
        .filter(|v| v["fields"]["message"] == "auth")
        .collect();
    let outcomes: Vec<(&str, &str)> = decisions
        .iter()
        .map(|d| {
            (
                d["fields"]["event"].as_str().unwrap(),
                d["fields"]["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("token_exchange", "success"),
            ("token_refresh", "success"),
            ("token_refresh", "replay_session_revoked"),
            ("token_exchange", "invalid_grant"),
            ("token_revoke", "nothing_revoked"),
        ]
    );
    assert!(decisions.iter().all(|d| d["fields"]["client_ip"] == IP));
    assert_eq!(decisions[0]["fields"]["member_id"], s.member_id.as_str());
    assert_eq!(decisions[2]["fields"]["member_id"], s.member_id.as_str());
}

/// The session the token fixtures' tokens belong to, stored as login would have stored it.
async fn fixture_session(t: &TestApp, session_token: &str, refresh_token: &str) {
    let m = t.member("ann@example.com", None, Status::Active).await;
    let (id, secret) = session_token
        .strip_prefix("st_")
        .unwrap()
        .split_once('.')
        .unwrap();
    let now = t.app.clock.now_ms();
    let session = Session {
        session_id: id.to_owned(),
        member_id: m.member_id.clone(),
        email_key: m.email_key.clone(),
        token_hash: shared::secret::sha256_hex(secret.as_bytes()),
        created_at: now,
        expires_at: now + 3_600_000,
        revoked: false,
        gc_bucket: shared::clock::hour_bucket(now + 3_600_000),
        gc_at: now + 3_600_000,
        ttl: now / 1000 + 7200,
    };
    let mut item: std::collections::HashMap<_, _> = serde_dynamo::to_item(&session).unwrap();
    let refresh_secret = refresh_token.split_once('.').unwrap().1;
    item.insert(
        "refreshHash".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(shared::secret::sha256_hex(
            refresh_secret.as_bytes(),
        )),
    );
    item.insert(
        "refreshClientId".into(),
        aws_sdk_dynamodb::types::AttributeValue::S("fixture-spa".into()),
    );
    item.insert(
        "refreshGeneration".into(),
        aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
    );
    item.insert(
        "refreshExpiresAt".into(),
        aws_sdk_dynamodb::types::AttributeValue::N((now + 3_600_000).to_string()),
    );
    t.client
        .put_item()
        .table_name(&t.tables.sessions)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say() {
    let t = testing::app().await;
    let body = |name: &str| -> Value {
        let req = testing::fixture(name);
        let text = std::str::from_utf8(http::body_bytes(&req))
            .unwrap()
            .to_owned();
        if let Ok(v) = serde_json::from_str(&text) {
            return v;
        }
        Value::Object(
            url::form_urlencoded::parse(text.as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    };
    let st = body("token-exchange.json")["subject_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rt = body("token-refresh.json")["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    fixture_session(&t, &st, &rt).await;
    // Through `handle`, exactly as the Lambda runtime calls it.
    let run = |name: &'static str| {
        let app = t.app.clone();
        async move { answer(handle(&app, testing::fixture(name), "r".into()).await) }
    };
    let refreshed = run("token-refresh.json").await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let exchanged = run("token-exchange.json").await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.text);
    let jwks = run("jwks.json").await;
    assert_eq!(jwks.status, 200);
    assert!(jwks.json["keys"][0]["kid"].is_string());
}
