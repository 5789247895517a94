//! Requests refused before any work (malformed, oversize, the wrong method or path), the body
//! forms accepted, and a DynamoDB outage. Each kind of malformed body has one case here, so the
//! wiring stays tested; every case of the parsing is in `request.rs`'s unit tests.

use lambda_http::Body;
use serde_json::json;
use shared::http;
use shared::testing;

use super::*;

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let t = testing::app().await;
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    // A grant's parameters with `extra` after them, as a form body.
    let plus = |grant: &[(&str, &str)], extra: &[(&str, &str)]| form(&[grant, extra].concat());
    let form_type = "application/x-www-form-urlencoded";
    let json_type = "application/json";
    // The grant's own checks, then one body of each malformed kind (`request.rs` unit-tests
    // every case of the parsing).
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "no grant_type",
            form_type,
            form(&[("refresh_token", "rt_a.b")]),
        ),
        ("empty grant_type", form_type, form(&[("grant_type", "")])),
        ("an empty body", form_type, String::new()),
        (
            "exchange without subject_token",
            form_type,
            form(&[
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("subject_token_type", SESSION_TOKEN_TYPE),
            ]),
        ),
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
            plus(
                &exchange_grant(&st),
                &[(
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:refresh_token",
                )],
            ),
        ),
        (
            "an actor_token",
            form_type,
            plus(&exchange_grant(&st), &[("actor_token", "st_x.y")]),
        ),
        (
            "refresh without refresh_token",
            form_type,
            form(&[("grant_type", REFRESH_GRANT)]),
        ),
        (
            "a repeated parameter",
            form_type,
            plus(&refresh_grant("rt_a.b"), &[("refresh_token", "rt_c.d")]),
        ),
        (
            "a client_id too long",
            form_type,
            plus(&refresh_grant("rt_a.b"), &[("client_id", &"c".repeat(129))]),
        ),
        (
            "JSON that does not parse",
            json_type,
            "{\"grant_type\":".into(),
        ),
        (
            "a number where a string belongs",
            json_type,
            json!({"grant_type": "refresh_token", "refresh_token": 12345}).to_string(),
        ),
        ("text/plain", "text/plain", form(&refresh_grant("rt_a.b"))),
    ];
    for (case, content_type, body) in cases {
        let req = post(TOKEN_PATH, content_type, &body);
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
    assert!(t.authenticates(&st).await.is_some());
}

#[tokio::test]
async fn an_oversize_body_is_refused_before_any_work() {
    let t = testing::app().await;
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let padding = "x".repeat(http::MAX_BODY_BYTES);
    for path in [TOKEN_PATH, REVOKE_PATH] {
        let extra = [("token", st.as_str()), ("padding", &padding)];
        let req = post_form(path, &[&exchange_grant(&st)[..], &extra].concat());
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
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
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
            &json!({"grant_type": "refresh_token", "refresh_token": refresh_token_of(&a), "client_id": "spa", "scope": null}),
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
                ("client_id", "spa"),
                ("scope", "ignored"),
            ]),
        ),
    )
    .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(claims_of(&t, &c).client_id.as_deref(), Some("spa"));
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
        revoke(&t, &rt).await,
    ] {
        assert_eq!(a.status, 503, "{}", a.text);
        assert_eq!(a.header("retry-after"), Some("2"));
        assert!(!a.text.contains("AAAA"));
    }
    // The JWKS needs no table.
    let doc = call(&t, testing::request("GET", JWKS_PATH, &[], "", IP)).await;
    assert_eq!(doc.status, 200);
}
