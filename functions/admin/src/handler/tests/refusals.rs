//! Malformed, oversize and hostile input on the operators' routes, other methods, and a
//! DynamoDB that does not answer.

use serde_json::json;
use shared::member::Status;
use shared::testing::{self, FORM, assert_unavailable, request};

use super::{IP, KEY, MEMBERS, PASSWORD, app, call, member_path, send};

#[tokio::test]
async fn bodies_that_are_not_json_or_not_what_the_route_takes_are_refused_and_change_nothing() {
    let t = app().await;
    let (m, token) = t.signed_in("ann@example.com", PASSWORD).await;
    let auth = format!("Bearer {KEY}");
    let huge = format!("{{\"x\": \"{}\"}}", "a".repeat(17 * 1024));
    let revoke = member_path(&m.member_id, "/sessions/revoke");
    let block = member_path(&m.member_id, "/block");
    for (path, content_type, body, status, code) in [
        (
            &block,
            Some("text/plain"),
            "block please",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (&block, Some(FORM), "a=b", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (&block, None, "{}", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (&block, Some("application/json"), "{", 400, "MALFORMED_JSON"),
        (
            &block,
            Some("application/json"),
            "[]",
            400,
            "INVALID_FORMAT",
        ),
        (
            &block,
            Some("application/json"),
            huge.as_str(),
            400,
            "TOO_LONG",
        ),
        (
            &revoke,
            Some(FORM),
            "allOthers=true",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            &revoke,
            None,
            "{\"allOthers\":true}",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            &revoke,
            Some("application/json"),
            "",
            400,
            "REQUIRED_FIELD_MISSING",
        ),
        (
            &revoke,
            Some("application/json"),
            "{\"allOthers\":",
            400,
            "MALFORMED_JSON",
        ),
        (
            &revoke,
            Some("application/json"),
            "{}",
            400,
            "REQUIRED_FIELD_MISSING",
        ),
        (
            &revoke,
            Some("application/json"),
            "{\"sessionId\":\"a/b\"}",
            400,
            "INVALID_FORMAT",
        ),
        (
            &revoke,
            Some("application/json"),
            huge.as_str(),
            400,
            "TOO_LONG",
        ),
    ] {
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(ct) = content_type {
            headers.push(("content-type", ct));
        }
        let a = send(&t, request("POST", path, &headers, body, IP)).await;
        assert_eq!(
            (a.status, a.code()),
            (status, code),
            "{path} {content_type:?} {body:.40}"
        );
    }
    assert_eq!(t.opening(&[&token]).await, [true]);
    assert_eq!(t.status_of(&m.email_key).await, Status::Active);
    // An empty JSON object, and unknown fields, are no body at all for block.
    let a = call(&t, "POST", &block, &json!({"reason": "fraud"}).to_string()).await;
    assert_eq!(
        (a.status, a.json["revokedSessions"].as_u64()),
        (200, Some(1)),
        "{}",
        a.text
    );
}

#[tokio::test]
async fn other_methods_and_paths_are_refused_once_the_operator_is_known() {
    let t = app().await;
    let id = "A".repeat(22);
    for (method, path, status, allow) in [
        ("POST", MEMBERS.to_owned(), 405, Some("GET")),
        ("PUT", member_path(&id, ""), 405, Some("GET, DELETE")),
        ("PATCH", member_path(&id, ""), 405, Some("GET, DELETE")),
        ("GET", member_path(&id, "/block"), 405, Some("POST")),
        ("DELETE", member_path(&id, "/unblock"), 405, Some("POST")),
        ("POST", member_path(&id, "/sessions"), 405, Some("GET")),
        (
            "GET",
            member_path(&id, "/sessions/revoke"),
            405,
            Some("POST"),
        ),
        ("GET", "/v2/admin".to_owned(), 404, None),
        ("GET", member_path(&id, "/promote"), 404, None),
        ("GET", format!("{MEMBERS}//sessions"), 404, None),
    ] {
        t.app.requests.take();
        let a = call(&t, method, &path, "").await;
        assert_eq!(
            (a.status, a.header("allow")),
            (status, allow),
            "{method} {path}: {}",
            a.text
        );
        assert_eq!(t.app.requests.take().requests, 0, "{method} {path}");
    }
}

#[tokio::test]
async fn a_dynamodb_that_does_not_answer_is_503_with_retry_after() {
    let hash = shared::secret::sha256_hex(KEY.as_bytes());
    let t = testing::unreachable_app(&[("ADMIN_API_KEY_HASHES", &hash)]).await;
    let id = "A".repeat(22);
    for (method, tail) in [
        ("GET", ""),
        ("POST", "/block"),
        ("DELETE", ""),
        ("GET", "/sessions"),
    ] {
        assert_unavailable(&call(&t, method, &member_path(&id, tail), "").await);
    }
}
