//! What the sessions function refuses: malformed, oversize and hostile bodies, bodies not sent
//! as JSON, other methods and paths, and a DynamoDB that does not answer.

use serde_json::json;
use shared::testing::{self, Auth, FORM, assert_unavailable, request};

use super::{IP, PASSWORD, list, send};

#[tokio::test]
async fn malformed_oversize_and_hostile_revoke_bodies_are_400_and_end_nothing() {
    let t = testing::app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let other = t.session_token(&m).await;
    let huge = format!("{{\"sessionId\": \"{}\"}}", "a".repeat(17 * 1024));
    for (body, field, rule) in [
        ("{\"sessionId\": ".to_owned(), "body", "MALFORMED_JSON"),
        ("".to_owned(), "body", "REQUIRED_FIELD_MISSING"),
        ("[\"allOthers\"]".to_owned(), "body", "INVALID_FORMAT"),
        ("{\"sessionId\": 7}".to_owned(), "body", "INVALID_FORMAT"),
        (
            "{\"allOthers\": \"true\"}".to_owned(),
            "body",
            "INVALID_FORMAT",
        ),
        (huge, "body", "TOO_LONG"),
        ("{}".to_owned(), "sessionId", "REQUIRED_FIELD_MISSING"),
        (
            "{\"allOthers\": false}".to_owned(),
            "sessionId",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            json!({"sessionId": "x", "allOthers": true}).to_string(),
            "sessionId",
            "AMBIGUOUS",
        ),
        (
            json!({"sessionId": "a".repeat(65)}).to_string(),
            "sessionId",
            "TOO_LONG",
        ),
        (
            json!({"sessionId": "../sessions"}).to_string(),
            "sessionId",
            "INVALID_FORMAT",
        ),
        (
            json!({"sessionId": "a\u{0}b"}).to_string(),
            "sessionId",
            "INVALID_FORMAT",
        ),
    ] {
        let req = Auth::Bearer(&token).post_json("/v2/sessions/revoke", &body, IP);
        let a = send(&t, req).await;
        assert_eq!(a.status, 400, "{body:.60}: {}", a.text);
        assert_eq!(
            a.violations()[0],
            (field.to_owned(), rule.to_owned()),
            "{body:.60}"
        );
        assert!(
            !a.text.contains("line 1"),
            "serde's message leaks: {}",
            a.text
        );
    }
    assert_eq!(t.opening(&[&token, &other]).await, [true, true]);
    // Unknown fields are ignored, as by every parser of the service.
    let body = json!({"allOthers": true, "reason": "lost phone"}).to_string();
    let a = send(
        &t,
        Auth::Bearer(&token).post_json("/v2/sessions/revoke", &body, IP),
    )
    .await;
    assert_eq!(a.json, json!({"revokedSessions": 1}));
}

#[tokio::test]
async fn a_revoke_not_sent_as_json_is_415_and_a_cookie_alone_cannot_be_forged_cross_site() {
    let t = testing::app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let other = t.session_token(&m).await;
    let body = json!({"allOthers": true}).to_string();
    for auth in [Auth::Cookie(&token), Auth::Bearer(&token)] {
        for content_type in [
            None,
            Some("text/plain"),
            Some(FORM),
            Some("application/jsonp"),
        ] {
            let a = send(
                &t,
                auth.post_as("/v2/sessions/revoke", content_type, &body, IP),
            )
            .await;
            assert_eq!(
                (a.status, a.code()),
                (415, "UNSUPPORTED_MEDIA_TYPE"),
                "{auth:?} {content_type:?}"
            );
        }
    }
    assert_eq!(t.opening(&[&other]).await, [true], "nothing was revoked");
}

#[tokio::test]
async fn other_methods_and_paths_are_refused_without_a_dynamodb_request() {
    let t = testing::app().await;
    let (_, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let bearer = format!("Bearer {token}");
    t.app.requests.take();
    for (method, path, status, allow) in [
        ("POST", "/v2/sessions", 405, Some("GET")),
        ("DELETE", "/v2/sessions", 405, Some("GET")),
        ("GET", "/v2/sessions/revoke", 405, Some("POST")),
        ("GET", "/v2/sessions/other", 404, None),
        ("GET", "/v2/session", 404, None),
    ] {
        let req = request(method, path, &[("authorization", &bearer)], "", IP);
        let a = send(&t, req).await;
        assert_eq!(a.status, status, "{method} {path}");
        assert_eq!(a.header("allow"), allow, "{method} {path}");
    }
    assert_eq!(t.app.requests.take().requests, 0);
    // A trailing slash names the same route.
    let req = request(
        "GET",
        "/v2/sessions/",
        &[("authorization", &bearer)],
        "",
        IP,
    );
    assert_eq!(send(&t, req).await.status, 200);
}

#[tokio::test]
async fn a_dynamodb_that_does_not_answer_is_503_with_retry_after() {
    let t = testing::unreachable_app(&[]).await;
    let token = format!("st_{}.{}", "A".repeat(44), "B".repeat(43));
    assert_unavailable(&list(&t, Auth::Bearer(&token)).await);
    let req = Auth::Bearer(&token).post_json("/v2/sessions/revoke", "{\"allOthers\":true}", IP);
    assert_unavailable(&send(&t, req).await);
}
