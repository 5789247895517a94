//! What every answer carries: the cleared cookie, the headers, the page, and JSON for those
//! that ask for it.

use shared::testing::request;

use super::{
    ACCEPT_JSON, IP, WITH_QUERY, app, assert_browser_cleaned, assert_contains_all, assert_html,
    cookie, get, post, redirect_query, send, signed_in,
};

#[tokio::test]
async fn the_cleared_cookie_has_the_login_cookies_name_and_attributes() {
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    let login_cookie = shared::http::session_cookie(&token, t.app.config.session_ttl_seconds);
    let set = cookie::Cookie::parse(login_cookie).unwrap();
    let a = send(&t, get("", &[("cookie", &cookie(&token))])).await;
    let headers = a.all("set-cookie");
    assert_eq!(
        headers.len(),
        1,
        "one cookie is set by this API: {headers:?}"
    );
    let cleared = cookie::Cookie::parse(headers[0].clone()).unwrap();
    assert_eq!(cleared.name(), set.name());
    assert_eq!(cleared.name(), "__Host-session");
    assert_eq!(cleared.path(), set.path());
    assert_eq!(cleared.path(), Some("/"));
    assert_eq!(cleared.domain(), None, "a __Host- cookie has no Domain");
    assert_eq!(cleared.secure(), Some(true));
    assert_eq!(cleared.http_only(), Some(true));
    assert_eq!(cleared.same_site(), set.same_site());
    assert_eq!(cleared.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(cleared.max_age(), Some(cookie::time::Duration::ZERO));
    assert_eq!(cleared.value(), "");
}

#[tokio::test]
async fn the_page_is_accessible_and_loads_nothing() {
    let t = app().await;
    let a = send(&t, get(&redirect_query(WITH_QUERY), &[])).await;
    assert_eq!(a.status, 302);
    assert_html(&a);
    let csp = a.header("content-security-policy").unwrap();
    assert_contains_all(
        csp,
        &[
            "default-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ],
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_contains_all(
        &a.text,
        &[
            "<html lang=\"en\">",
            "<title>Logged out</title>",
            "<meta charset=\"utf-8\">",
            "name=\"viewport\"",
            "<main>",
            "<h1>You are logged out</h1>",
            "<a href=\"https://app.example.com/bye?from=logout&amp;lang=en\">Continue to the site</a>",
        ],
    );
    assert!(!a.text.contains("<script") && !a.text.contains("src="));
    // GET is always a page, whatever Accept says.
    let a = send(&t, get("", &[ACCEPT_JSON])).await;
    assert_eq!(a.status, 200);
    assert_html(&a);
}

#[tokio::test]
async fn only_an_accept_that_wants_json_gets_json() {
    let t = app().await;
    // Every kind of `Accept` is unit-tested with `accepts_json`; these show the wiring.
    for (accept, json) in [
        ("application/json", true),
        ("text/html, application/json;q=0.5", true),
        ("text/html", false),
        ("application/json;q=0", false),
    ] {
        let a = send(&t, post("", &[("accept", accept)], "")).await;
        assert_eq!(a.status, 200, "{accept}");
        let content_type = a.header("content-type").unwrap();
        assert_eq!(
            content_type == "application/json",
            json,
            "{accept}: {content_type}"
        );
        assert_browser_cleaned(&a);
    }
}

#[tokio::test]
async fn other_methods_are_refused_and_still_clear_the_cookie() {
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    for method in ["PUT", "DELETE", "PATCH"] {
        let a = send(
            &t,
            request(method, "/v1/logout", &[("cookie", &cookie(&token))], "", IP),
        )
        .await;
        assert_eq!((a.status, a.header("allow")), (405, Some("GET, POST")));
        assert_browser_cleaned(&a);
    }
    assert!(t.authenticates(&token).await.is_some());
}
