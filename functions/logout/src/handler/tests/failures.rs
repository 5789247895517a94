//! Bad input and failures: an unreachable DynamoDB, a cookie-only POST that a cross-site form
//! could forge, an oversize body, a malformed one. Each still clears the cookie.

use shared::testing::{self, request};

use super::{
    ACCEPT_JSON, ALLOWED, IP, JSON, app, assert_browser_cleaned, assert_html, bearer, cookie,
    ends_a_fresh_session, get, post, redirect_query, send, signed_in,
};

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_and_still_clears_the_cookie() {
    let dead = testing::dead_url().await;
    let endpoint = dead.trim_end_matches("/siteverify");
    let t = testing::app_at(
        endpoint,
        &[("SKIP_TABLES", "1"), ("LOGOUT_REDIRECT_ALLOWLIST", ALLOWED)],
    )
    .await;
    let token = format!("st_{}.{}", "A".repeat(22), "b".repeat(43));
    let c = cookie(&token);
    for req in [
        get("", &[("cookie", &c)]),
        get(&redirect_query(ALLOWED), &[("cookie", &c)]),
        post("", &[("authorization", &bearer(&token))], ""),
    ] {
        let a = send(&t, req).await;
        assert_eq!(a.status, 503, "{}", a.text);
        assert_eq!(a.header("retry-after"), Some("2"));
        assert_eq!(
            a.header("location"),
            None,
            "no redirect: the session may be live"
        );
        assert_browser_cleaned(&a);
        assert_html(&a);
        assert!(a.text.contains("Logout not completed"));
        assert!(!a.text.contains("127.0.0.1") && !a.text.contains("dispatch"));
    }
    let a = send(
        &t,
        post(
            &redirect_query(ALLOWED),
            &[("cookie", &c), JSON, ACCEPT_JSON],
            "",
        ),
    )
    .await;
    assert_eq!((a.status, a.code()), (503, "SERVICE_UNAVAILABLE"));
    assert_eq!(a.header("retry-after"), Some("2"));
    assert_browser_cleaned(&a);
    // Without a credential there is nothing to look up, so nothing fails.
    let a = send(&t, get("", &[])).await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn a_cookie_only_post_without_json_content_type_clears_the_cookie_but_keeps_the_session() {
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    let c = cookie(&token);
    for (headers, body) in [
        (vec![("cookie", c.as_str())], ""),
        (
            vec![
                ("cookie", c.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "postLogoutRedirectUri=https%3A%2F%2Fapp.example.com%2Fsigned-out",
        ),
        (
            vec![("cookie", c.as_str()), ("content-type", "text/plain")],
            "{}",
        ),
        (
            vec![
                ("cookie", c.as_str()),
                ("content-type", "multipart/form-data; boundary=x"),
                ACCEPT_JSON,
            ],
            "--x--",
        ),
    ] {
        let a = send(&t, post("", &headers, body)).await;
        assert_eq!(a.status, 415, "{headers:?}: {}", a.text);
        assert_eq!(a.header("location"), None);
        assert_browser_cleaned(&a);
        assert_eq!(t.app.requests.take().requests, 0, "refused before any work");
        assert!(t.authenticates(&token).await.is_some(), "{headers:?}");
    }
    let a = send(
        &t,
        post("", &[("cookie", &c), ("accept", "application/json")], ""),
    )
    .await;
    assert_eq!((a.status, a.code()), (415, "UNSUPPORTED_MEDIA_TYPE"));
    // With the JSON content type (which a cross-site form cannot send) it ends the session.
    let a = send(
        &t,
        post(
            "",
            &[
                ("cookie", &c),
                ("content-type", "application/json; charset=utf-8"),
            ],
            "",
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(t.authenticates(&token).await.is_none());
    // A Bearer credential cannot be forged cross-site, so it needs no content type.
    let a = ends_a_fresh_session(&t, |token| {
        post("", &[("authorization", &bearer(token))], "")
    })
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn an_oversize_body_is_refused_before_any_work_but_the_cookie_is_cleared() {
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    let big = format!(
        "{{\"postLogoutRedirectUri\": \"{ALLOWED}\", \"pad\": \"{}\"}}",
        "x".repeat(16 * 1024)
    );
    let auth = bearer(&token);
    for req in [
        post("", &[("authorization", &auth), JSON, ACCEPT_JSON], &big),
        post("", &[("authorization", &auth), JSON], &big),
        request("GET", "/v1/logout", &[("authorization", &auth)], &big, IP),
    ] {
        let a = send(&t, req).await;
        assert_eq!(a.status, 400, "{}", a.text);
        assert!(a.code() == "TOO_LONG" || a.text.contains("larger than"));
        assert_eq!(a.header("location"), None);
        assert_browser_cleaned(&a);
        assert_eq!(t.app.requests.take().requests, 0, "refused before any work");
    }
    assert!(t.authenticates(&token).await.is_some());
}

#[tokio::test]
async fn a_malformed_body_is_reported_and_the_session_still_ends() {
    let t = app().await;
    // Every malformed body `parse` refuses is unit-tested there; these show the wiring.
    for (body, rule) in [
        ("{", "MALFORMED_JSON"),
        ("\u{0}\u{1}", "MALFORMED_JSON"),
        ("[]", "INVALID_FORMAT"),
        ("{\"postLogoutRedirectUri\": 5}", "INVALID_FORMAT"),
    ] {
        let a = ends_a_fresh_session(&t, |token| {
            post("", &[("cookie", &cookie(token)), JSON, ACCEPT_JSON], body)
        })
        .await;
        assert_eq!((a.status, a.code()), (400, rule), "{body:?}: {}", a.text);
        assert!(a.json.get("redirectUrl").is_none());
        assert_browser_cleaned(&a);

        let a = ends_a_fresh_session(&t, |token| {
            post("", &[("cookie", &cookie(token)), JSON], body)
        })
        .await;
        assert_eq!(a.status, 400, "{body:?}");
        assert_html(&a);
        assert!(a.text.contains("You are logged out") && a.header("location").is_none());
    }
    // A Bearer request with a body in another format: 415, but the session is over.
    let a = ends_a_fresh_session(&t, |token| {
        let auth = bearer(token);
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "text/plain"),
            ACCEPT_JSON,
        ];
        post("", &headers, "postLogoutRedirectUri=x")
    })
    .await;
    assert_eq!((a.status, a.code()), (415, "UNSUPPORTED_MEDIA_TYPE"));
}
