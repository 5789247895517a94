//! Logout against DynamoDB Local, through the handler as Lambda calls it.

use lambda_http::Request;
use serde_json::{Value, json};
use shared::member::{Member, Status};
use shared::testing::{self, Answer, LogCapture, TestApp, answer, request};

const IP: &str = "203.0.113.9";
const ALLOWED: &str = "https://app.example.com/signed-out";
const LOCAL: &str = "http://localhost:3000/";
const WITH_QUERY: &str = "https://app.example.com/bye?from=logout&lang=en";
const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT_JSON: (&str, &str) = ("accept", "application/json");

async fn app() -> TestApp {
    testing::app_with(&[(
        "LOGOUT_REDIRECT_ALLOWLIST",
        &format!("{ALLOWED}, {LOCAL},{WITH_QUERY}"),
    )])
    .await
}

/// A member with a fresh session; returns the session token.
async fn signed_in(t: &TestApp) -> (Member, String) {
    let email = format!(
        "m{}@example.com",
        shared::secret::random_b64(6).to_lowercase()
    );
    let m = t.member(&email, None, Status::Active).await;
    let token = another_session(t, &m).await;
    (m, token)
}

async fn another_session(t: &TestApp, m: &Member) -> String {
    let s = t
        .app
        .sessions
        .create(m, t.app.clock.now_ms(), t.app.config.session_ttl_seconds)
        .await
        .unwrap();
    t.app.requests.take();
    s.token
}

fn cookie(token: &str) -> String {
    format!("__Host-session={token}")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `?postLogoutRedirectUri=<value>`, the value percent-encoded once, as a browser would.
fn redirect_query(value: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!("?postLogoutRedirectUri={encoded}")
}

fn get(query: &str, headers: &[(&str, &str)]) -> Request {
    request("GET", &format!("/v1/logout{query}"), headers, "", IP)
}

fn post(query: &str, headers: &[(&str, &str)], body: &str) -> Request {
    request("POST", &format!("/v1/logout{query}"), headers, body, IP)
}

/// The answer to `req`; the DynamoDB requests it made stay recorded for the test to take.
async fn send(t: &TestApp, req: Request) -> Answer {
    answer(super::respond(&t.app, &req, "req-test").await)
}

/// Whether `shared::auth::authenticate` still accepts the token, as a Bearer header and as the
/// cookie (the two must agree).
async fn opens_a_session(t: &TestApp, token: &str) -> bool {
    let by_header = get("", &[("authorization", &bearer(token))]);
    let by_cookie = get("", &[("cookie", &cookie(token))]);
    let a = shared::auth::authenticate(&t.app, &by_header)
        .await
        .unwrap();
    let b = shared::auth::authenticate(&t.app, &by_cookie)
        .await
        .unwrap();
    assert_eq!(a.is_some(), b.is_some());
    t.app.requests.take();
    a.is_some()
}

/// Every answer expires the session cookie and keeps itself out of caches.
fn assert_browser_cleaned(a: &Answer) {
    let cookies = a.all("set-cookie");
    let cleared = shared::http::clear_session_cookie();
    assert!(
        cookies.contains(&cleared),
        "status {}: {cookies:?} lacks {cleared}",
        a.status
    );
    assert_eq!(a.header("cache-control"), Some("no-store"), "{}", a.status);
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(a.header("referrer-policy"), Some("no-referrer"));
}

fn assert_html(a: &Answer) {
    assert_eq!(a.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        a.header("content-security-policy"),
        Some(crate::page::CSP.as_str())
    );
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    assert!(a.text.starts_with("<!doctype html>"), "{}", a.text);
}

#[tokio::test]
async fn after_logout_the_session_token_and_cookie_no_longer_authenticate() {
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    assert!(opens_a_session(&t, &token).await);
    let req = get("", &[("cookie", &cookie(&token))]);
    let a = answer(super::handle(&t.app, req, "req-test".into()).await);
    assert_eq!(a.status, 200, "{}", a.text);
    assert_browser_cleaned(&a);
    assert_html(&a);
    assert!(a.text.contains("<h1>You are logged out</h1>"));
    assert!(!opens_a_session(&t, &token).await);
    let items = t.items(&t.tables.sessions).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["revoked"].as_bool(), Ok(&true));
}

#[tokio::test]
async fn a_single_page_app_logs_out_with_its_bearer_session_token() {
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    let auth = bearer(&token);
    let a = send(
        &t,
        post("", &[("authorization", &auth), ACCEPT_JSON, JSON], "{}"),
    )
    .await;
    assert_eq!(
        (a.status, &a.json),
        (200, &json!({"redirectUrl": null})),
        "{}",
        a.text
    );
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_browser_cleaned(&a);
    assert!(!opens_a_session(&t, &token).await);
}

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
async fn an_allowlisted_redirect_is_followed_exactly() {
    let t = app().await;
    for (query, expected) in [
        (redirect_query(ALLOWED), ALLOWED),
        // Unencoded, as a hand-written link might send it.
        (
            format!("?postLogoutRedirectUri={ALLOWED}&clientId=web"),
            ALLOWED,
        ),
        (redirect_query(LOCAL), LOCAL),
        (redirect_query(WITH_QUERY), WITH_QUERY),
    ] {
        let (_, token) = signed_in(&t).await;
        let a = send(&t, get(&query, &[("cookie", &cookie(&token))])).await;
        assert_eq!(a.status, 302, "{query}: {}", a.text);
        assert_eq!(a.header("location"), Some(expected));
        assert_browser_cleaned(&a);
        assert_html(&a);
        let href = format!("href=\"{}\"", expected.replace('&', "&amp;"));
        assert!(a.text.contains(&href), "the page links {expected}");
        assert!(!opens_a_session(&t, &token).await);
    }
    // A page POST is answered with 303, so the browser follows with a GET.
    let (_, token) = signed_in(&t).await;
    let a = send(
        &t,
        post(
            &redirect_query(ALLOWED),
            &[("authorization", &bearer(&token))],
            "",
        ),
    )
    .await;
    assert_eq!((a.status, a.header("location")), (303, Some(ALLOWED)));
    // A single-page app gets the URL to navigate to, from the query or the body.
    for (query, body) in [
        (redirect_query(ALLOWED), String::new()),
        (
            String::new(),
            json!({"postLogoutRedirectUri": ALLOWED}).to_string(),
        ),
        (
            redirect_query(ALLOWED),
            json!({"postLogoutRedirectUri": ALLOWED, "clientId": "spa"}).to_string(),
        ),
    ] {
        let (_, token) = signed_in(&t).await;
        let a = send(
            &t,
            post(
                &query,
                &[("cookie", &cookie(&token)), JSON, ACCEPT_JSON],
                &body,
            ),
        )
        .await;
        assert_eq!(
            (a.status, &a.json),
            (200, &json!({"redirectUrl": ALLOWED})),
            "{query} {body}"
        );
        assert_eq!(a.header("location"), None);
        assert_browser_cleaned(&a);
        assert!(!opens_a_session(&t, &token).await);
    }
}

/// Redirect targets every web security tester tries; none equals an allowlist entry.
const LOOKALIKES: &[&str] = &[
    // protocol-relative
    "//app.example.com/signed-out",
    "//evil.example/signed-out",
    "///evil.example/",
    // backslashes
    "https:\\\\app.example.com\\signed-out",
    "https://app.example.com\\@evil.example/signed-out",
    "/\\evil.example",
    "https:/\\evil.example/",
    // userinfo
    "https://app.example.com@evil.example/signed-out",
    "https://evil.example@app.example.com/signed-out",
    "https://app.example.com:pass@evil.example/signed-out",
    "http://localhost:3000@evil.example/",
    // suffix and prefix domains
    "https://app.example.com.evil.example/signed-out",
    "https://evilapp.example.com/signed-out",
    "https://app.example.community/signed-out",
    "http://localhost:3000.evil.example/",
    "https://evil.example/https://app.example.com/signed-out",
    // mixed case
    "HTTPS://APP.EXAMPLE.COM/SIGNED-OUT",
    "https://App.Example.com/signed-out",
    "https://app.example.com/Signed-Out",
    // percent-encoding (each value arrives decoded once, so these stay encoded)
    "https%3A%2F%2Fapp.example.com%2Fsigned-out",
    "https://app.example.com/signed%2Dout",
    "https://app%2Eexample.com/signed-out",
    "https://app.example.com%2F@evil.example/",
    "%2F%2Fevil.example",
    // scripts and data
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "javascript://app.example.com/signed-out%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    // whitespace and control characters
    " https://app.example.com/signed-out",
    "https://app.example.com/signed-out ",
    "\thttps://app.example.com/signed-out",
    "https://app.example.com/signed-out\r\nSet-Cookie: x=y",
    "https://app.example.com/signed-out\n",
    "https://app.example.com/signed-out\u{0}",
    "https:/\t/evil.example/",
    "https://app.example.com/signed-out\u{200b}",
    // trailing dots
    "https://app.example.com./signed-out",
    "http://localhost.:3000/",
    // fragments and extra query
    "https://app.example.com/signed-out#@evil.example",
    "https://app.example.com/signed-out?next=https://evil.example",
    "https://app.example.com/signed-out/",
    "https://app.example.com/bye?from=logout&lang=en&next=//evil.example",
    "https://app.example.com/bye?lang=en&from=logout",
    // IDN and punycode lookalikes
    "https://\u{430}pp.example.com/signed-out",
    "https://xn--pp-7kc.example.com/signed-out",
    "https://app.example.com\u{ff0f}signed-out",
    "https://app.example.com/signed\u{2010}out",
    // ports, and http for https
    "https://app.example.com:443/signed-out",
    "https://app.example.com:8443/signed-out",
    "http://app.example.com/signed-out",
    "http://localhost:3001/",
    "http://localhost:3000",
    "https://localhost:3000/",
    // path traversal
    "https://app.example.com/signed-out/../../evil",
    "https://app.example.com/../signed-out",
    "https://app.example.com/./signed-out",
    "https://app.example.com/evil/../signed-out",
];

#[tokio::test]
async fn open_redirect_lookalikes_are_refused_and_the_session_still_ends() {
    let t = app().await;
    assert!(LOOKALIKES.len() >= 20);
    for target in LOOKALIKES {
        let (_, token) = signed_in(&t).await;
        let a = send(
            &t,
            get(&redirect_query(target), &[("cookie", &cookie(&token))]),
        )
        .await;
        assert_eq!(a.status, 400, "{target:?} was not refused: {}", a.text);
        assert_eq!(a.header("location"), None, "{target:?}");
        assert_browser_cleaned(&a);
        assert_html(&a);
        assert!(a.text.contains("You are logged out"), "{target:?}");
        assert!(
            !a.text.contains("href=") && !a.text.contains("evil"),
            "{target:?}: the page links or echoes the refused target"
        );
        assert!(!opens_a_session(&t, &token).await, "{target:?}");

        let (_, token) = signed_in(&t).await;
        let a = send(
            &t,
            post(
                "",
                &[("authorization", &bearer(&token)), JSON, ACCEPT_JSON],
                &json!({ "postLogoutRedirectUri": target }).to_string(),
            ),
        )
        .await;
        assert_eq!(a.status, 400, "{target:?}");
        let v = &a.json["details"]["validationError"]["fieldViolations"][0];
        assert_eq!(v["field"], "postLogoutRedirectUri", "{target:?}");
        assert_eq!(v["violatedRule"], "REDIRECT_NOT_ALLOWED");
        assert!(a.json.get("redirectUrl").is_none());
        assert_browser_cleaned(&a);
        assert!(!opens_a_session(&t, &token).await, "{target:?}");
    }
}

#[tokio::test]
async fn a_redirect_target_given_twice_with_different_values_is_refused() {
    let t = app().await;
    let evil = "https://evil.example/";
    let encoded: String = url::form_urlencoded::byte_serialize(evil.as_bytes()).collect();
    let twice = format!(
        "{}&postLogoutRedirectUri={encoded}",
        redirect_query(ALLOWED)
    );
    let (_, token) = signed_in(&t).await;
    let a = send(&t, get(&twice, &[("cookie", &cookie(&token))])).await;
    assert_eq!((a.status, a.header("location")), (400, None));
    assert!(!opens_a_session(&t, &token).await);

    let (_, token) = signed_in(&t).await;
    let a = send(
        &t,
        post(
            &redirect_query(ALLOWED),
            &[("cookie", &cookie(&token)), JSON, ACCEPT_JSON],
            &json!({ "postLogoutRedirectUri": LOCAL }).to_string(),
        ),
    )
    .await;
    assert_eq!((a.status, a.code()), (400, "AMBIGUOUS"));
    assert!(!opens_a_session(&t, &token).await);

    // The same value twice is not ambiguous.
    let (_, token) = signed_in(&t).await;
    let same = format!(
        "{}&{}",
        redirect_query(ALLOWED),
        &redirect_query(ALLOWED)[1..]
    );
    let a = send(&t, get(&same, &[("cookie", &cookie(&token))])).await;
    assert_eq!((a.status, a.header("location")), (302, Some(ALLOWED)));
}

#[tokio::test]
async fn no_session_garbage_unknown_expired_and_repeated_logouts_look_like_a_logout() {
    let t = app().await;
    let (m, token) = signed_in(&t).await;
    let short_lived = t
        .app
        .sessions
        .create(&m, t.app.clock.now_ms(), 60)
        .await
        .unwrap();
    let (_, second) = signed_in(&t).await;
    let unknown = format!("st_{}.{}", "A".repeat(22), "b".repeat(43));
    let wrong_secret = format!("{}.{}", token.split_once('.').unwrap().0, "c".repeat(43));
    let long = "x".repeat(5000);

    for (reply, extra) in [
        ("page", vec![]),
        ("spa", vec![JSON, ACCEPT_JSON]),
        ("redirect", vec![]),
    ] {
        let query = if reply == "redirect" {
            redirect_query(ALLOWED)
        } else {
            String::new()
        };
        let send_with = |header: Option<(&'static str, String)>| {
            let mut headers: Vec<(&str, String)> =
                extra.iter().map(|(k, v)| (*k, v.to_string())).collect();
            headers.extend(header);
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if reply == "spa" {
                post(&query, &headers, "")
            } else {
                get(&query, &headers)
            }
        };
        let (_, fresh) = signed_in(&t).await;
        let reference = send(&t, send_with(Some(("cookie", cookie(&fresh))))).await;
        assert!(!opens_a_session(&t, &fresh).await);
        assert_browser_cleaned(&reference);
        let expected_status = if reply == "redirect" { 302 } else { 200 };
        assert_eq!(
            reference.status, expected_status,
            "{reply}: {}",
            reference.text
        );
        if reply == "page" {
            t.app.clock.advance_secs(61); // the short-lived session has now expired
        }
        let cases: Vec<(&str, Option<(&'static str, String)>)> = vec![
            ("no credentials", None),
            ("the same cookie again", Some(("cookie", cookie(&fresh)))),
            (
                "garbage cookie",
                Some(("cookie", "__Host-session=garbage".into())),
            ),
            ("empty cookie", Some(("cookie", "__Host-session=".into()))),
            ("oversized cookie", Some(("cookie", cookie(&long)))),
            ("unknown session", Some(("cookie", cookie(&unknown)))),
            (
                "wrong secret",
                Some(("authorization", bearer(&wrong_secret))),
            ),
            (
                "garbage bearer",
                Some(("authorization", bearer("not-a-token"))),
            ),
            ("basic auth", Some(("authorization", "Basic YTpi".into()))),
            (
                "expired session",
                Some(("cookie", cookie(&short_lived.token))),
            ),
            ("revoked by bearer", Some(("authorization", bearer(&fresh)))),
        ];
        for (name, header) in cases {
            let a = send(&t, send_with(header)).await;
            assert_eq!(
                (a.status, &a.text, &a.headers),
                (reference.status, &reference.text, &reference.headers),
                "{reply}, {name}: the answer differs from a real logout's"
            );
        }
    }
    // None of that touched the live session whose secret was guessed.
    assert!(opens_a_session(&t, &token).await);
    assert!(opens_a_session(&t, &second).await);
}

#[tokio::test]
async fn logging_out_one_session_leaves_the_members_other_sessions_alone() {
    let t = app().await;
    let (m, phone) = signed_in(&t).await;
    let laptop = another_session(&t, &m).await;
    let (_, someone_else) = signed_in(&t).await;
    send(&t, get("", &[("authorization", &bearer(&phone))])).await;
    assert!(!opens_a_session(&t, &phone).await);
    assert!(opens_a_session(&t, &laptop).await);
    assert!(opens_a_session(&t, &someone_else).await);
}

#[tokio::test]
async fn a_header_and_a_cookie_naming_different_sessions_both_end() {
    let t = app().await;
    let (_, by_header) = signed_in(&t).await;
    let (_, by_cookie) = signed_in(&t).await;
    let a = send(
        &t,
        post(
            "",
            &[
                ("authorization", &bearer(&by_header)),
                ("cookie", &cookie(&by_cookie)),
            ],
            "",
        ),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(!opens_a_session(&t, &by_header).await);
    assert!(!opens_a_session(&t, &by_cookie).await);
}

#[tokio::test]
async fn a_logout_takes_at_most_two_sequential_round_trips() {
    let t = app().await;
    let respond = |req: Request| {
        let app = &t.app;
        async move {
            super::respond(app, &req, "req-test").await;
            app.requests.take()
        }
    };
    let (_, token) = signed_in(&t).await;
    let traffic = respond(get("", &[("cookie", &cookie(&token))])).await;
    assert_eq!(
        (traffic.requests, traffic.round_trips),
        (2, 2),
        "{traffic:?}"
    );
    assert_eq!(traffic.operations, ["GetItem", "UpdateItem"]);

    let (_, a) = signed_in(&t).await;
    let (_, b) = signed_in(&t).await;
    let (ah, bc) = (bearer(&a), cookie(&b));
    let traffic = respond(get("", &[("authorization", &ah), ("cookie", &bc)])).await;
    assert_eq!(
        (traffic.requests, traffic.round_trips),
        (4, 2),
        "{traffic:?}"
    );

    let traffic = respond(get("", &[("cookie", &cookie(&token))])).await;
    assert_eq!(
        (traffic.requests, traffic.round_trips),
        (1, 1),
        "a dead session needs no write"
    );
    let traffic = respond(get("", &[])).await;
    assert_eq!(traffic.requests, 0, "no credential, no DynamoDB request");
    let traffic = respond(get("", &[("cookie", "__Host-session=garbage")])).await;
    assert_eq!(traffic.requests, 0, "a malformed token is not looked up");
}

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
        assert!(opens_a_session(&t, &token).await, "{headers:?}");
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
    assert!(!opens_a_session(&t, &token).await);
    // A Bearer credential cannot be forged cross-site, so it needs no content type.
    let (_, token) = signed_in(&t).await;
    let a = send(&t, post("", &[("authorization", &bearer(&token))], "")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(!opens_a_session(&t, &token).await);
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
    assert!(opens_a_session(&t, &token).await);
}

#[tokio::test]
async fn a_malformed_body_is_reported_and_the_session_still_ends() {
    let t = app().await;
    for (body, rule) in [
        ("{", "MALFORMED_JSON"),
        ("{\"postLogoutRedirectUri\": \"", "MALFORMED_JSON"),
        ("\u{0}\u{1}", "MALFORMED_JSON"),
        ("[]", "INVALID_FORMAT"),
        ("null", "INVALID_FORMAT"),
        ("\"https://app.example.com/signed-out\"", "INVALID_FORMAT"),
        ("{\"postLogoutRedirectUri\": 5}", "INVALID_FORMAT"),
        (
            "{\"postLogoutRedirectUri\": [\"https://app.example.com/signed-out\"]}",
            "INVALID_FORMAT",
        ),
        ("{\"clientId\": {\"$ne\": 1}}", "INVALID_FORMAT"),
    ] {
        let (_, token) = signed_in(&t).await;
        let a = send(
            &t,
            post("", &[("cookie", &cookie(&token)), JSON, ACCEPT_JSON], body),
        )
        .await;
        assert_eq!((a.status, a.code()), (400, rule), "{body:?}: {}", a.text);
        assert!(a.json.get("redirectUrl").is_none());
        assert_browser_cleaned(&a);
        assert!(!opens_a_session(&t, &token).await, "{body:?}");

        let (_, token) = signed_in(&t).await;
        let a = send(&t, post("", &[("cookie", &cookie(&token)), JSON], body)).await;
        assert_eq!(a.status, 400, "{body:?}");
        assert_html(&a);
        assert!(a.text.contains("You are logged out") && a.header("location").is_none());
        assert!(!opens_a_session(&t, &token).await);
    }
    // A Bearer request with a body in another format: 415, but the session is over.
    let (_, token) = signed_in(&t).await;
    let a = send(
        &t,
        post(
            "",
            &[
                ("authorization", &bearer(&token)),
                ("content-type", "text/plain"),
                ACCEPT_JSON,
            ],
            "postLogoutRedirectUri=x",
        ),
    )
    .await;
    assert_eq!((a.status, a.code()), (415, "UNSUPPORTED_MEDIA_TYPE"));
    assert!(!opens_a_session(&t, &token).await);
}

#[tokio::test]
async fn the_page_is_accessible_and_loads_nothing() {
    let t = app().await;
    let a = send(&t, get(&redirect_query(WITH_QUERY), &[])).await;
    assert_eq!(a.status, 302);
    assert_html(&a);
    let csp = a.header("content-security-policy").unwrap();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(directive), "{csp} lacks {directive}");
    }
    assert!(!csp.contains("unsafe-inline"));
    for part in [
        "<html lang=\"en\">",
        "<title>Logged out</title>",
        "<meta charset=\"utf-8\">",
        "name=\"viewport\"",
        "<main>",
        "<h1>You are logged out</h1>",
        "<a href=\"https://app.example.com/bye?from=logout&amp;lang=en\">Continue to the site</a>",
    ] {
        assert!(a.text.contains(part), "the page lacks {part}: {}", a.text);
    }
    assert!(!a.text.contains("<script") && !a.text.contains("src="));
    // GET is always a page, whatever Accept says.
    let a = send(&t, get("", &[ACCEPT_JSON])).await;
    assert_eq!(a.status, 200);
    assert_html(&a);
}

#[tokio::test]
async fn only_an_accept_that_wants_json_gets_json() {
    let t = app().await;
    for (accept, json) in [
        ("application/json", true),
        ("Application/JSON; charset=utf-8", true),
        ("text/html, application/json;q=0.5", true),
        ("text/html", false),
        ("*/*", false),
        ("application/json;q=0", false),
        ("application/json; q=0.0", false),
        ("application/jsonp", false),
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
    assert!(opens_a_session(&t, &token).await);
}

#[tokio::test]
async fn logs_record_the_decision_and_a_bounded_client_id_but_no_secret() {
    let t = app().await;
    let (m, token) = signed_in(&t).await;
    let logs = LogCapture::start();

    let client_id = format!("web\r\n{{\"event\":\"forged\"}}\u{7}{}", "z".repeat(10_000));
    let encoded: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let a = send(
        &t,
        get(
            &format!("?clientId={encoded}"),
            &[("cookie", &cookie(&token))],
        ),
    )
    .await;
    assert_eq!(a.status, 200, "a long client id does not fail a logout");
    let refused = "https://user:hunter2@evil.example/path?token=s3cret";
    send(&t, get(&redirect_query(refused), &[])).await;
    send(&t, get("", &[])).await;

    let text = logs.text();
    for secret in [
        token.as_str(),
        token.split_once('.').unwrap().1,
        "hunter2",
        "s3cret",
    ] {
        assert!(!text.contains(secret), "a log line holds {secret}");
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line is one JSON object"))
        .collect();
    let field = |event: &str, name: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["fields"]["event"] == event)
            .map(|l| l["fields"][name].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        field("logout", "outcome"),
        ["revoked", "no_session", "no_session"]
    );
    assert_eq!(field("logout", "member_id")[0], m.member_id);
    assert!(field("logout", "client_ip").iter().all(|ip| ip == IP));
    let logged = &field("logout_request", "client_id")[0];
    assert_eq!(logged.chars().count(), 128);
    assert!(
        logged.starts_with("web??{\"event\":\"forged\"}?zzz"),
        "{logged}"
    );
    assert!(logged.chars().all(|c| c.is_ascii_graphic()));
    assert_eq!(
        field("logout_redirect_refused", "origin"),
        ["https://evil.example"]
    );
    assert_eq!(
        field("logout_request", "redirect"),
        ["none", "refused", "none"]
    );
}

/// The fixture in events/, with its placeholder token swapped for a live session's.
fn fixture(name: &str, token: &str) -> Request {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/").to_owned() + name;
    let text = std::fs::read_to_string(&path).unwrap();
    let placeholder = "st_fixtureSessionId000000.fixture-secret-not-a-real-token-000000000";
    assert!(text.contains(placeholder), "{name}");
    lambda_http::request::from_str(&text.replace(placeholder, token)).unwrap()
}

#[tokio::test]
async fn the_event_fixtures_log_out_as_documented() {
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    let a = send(&t, fixture("logout-redirect.json", &token)).await;
    assert_eq!((a.status, a.header("location")), (302, Some(ALLOWED)));
    assert_browser_cleaned(&a);
    assert!(!opens_a_session(&t, &token).await);

    let (_, token) = signed_in(&t).await;
    let a = send(&t, fixture("logout-spa.json", &token)).await;
    assert_eq!(
        (a.status, &a.json),
        (200, &json!({ "redirectUrl": ALLOWED }))
    );
    assert_browser_cleaned(&a);
    assert!(!opens_a_session(&t, &token).await);
}

#[tokio::test]
async fn an_access_token_logs_out_its_session_and_every_token_of_that_session_dies() {
    use shared::session::SessionToken;
    use shared::token::{RefreshToken, Rotation};
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    let session_token = SessionToken::parse(&token).unwrap();
    let session = t
        .app
        .sessions
        .get(session_token.session_id())
        .await
        .unwrap()
        .unwrap();
    let access = t.access_token(&session);
    // A refresh family with one rotation behind it: a rotated token and the current one.
    let (now, ttl) = (t.app.clock.now_ms(), 3600);
    let first = t
        .app
        .sessions
        .start_refresh_family(&session_token, None, now, ttl)
        .await
        .unwrap()
        .expect("the live session starts a family")
        .refresh_token;
    let first = RefreshToken::parse(&first).unwrap();
    let Rotation::Rotated(grant) = t
        .app
        .sessions
        .rotate_refresh(&first, None, now, ttl)
        .await
        .unwrap()
    else {
        panic!("the current refresh token rotates");
    };
    let current = RefreshToken::parse(&grant.refresh_token).unwrap();
    let by_access = |auth: String| get("", &[("authorization", &auth)]);
    let caller = shared::auth::authenticate(&t.app, &by_access(bearer(&access)))
        .await
        .unwrap();
    assert!(
        caller.is_some(),
        "the access token opens its session before logout"
    );
    t.app.requests.take();

    let a = send(
        &t,
        post("", &[("authorization", &bearer(&access)), ACCEPT_JSON], ""),
    )
    .await;
    assert_eq!((a.status, &a.json), (200, &json!({"redirectUrl": null})));
    let traffic = t.app.requests.take();
    assert_eq!((traffic.requests, traffic.round_trips), (2, 2));
    assert_browser_cleaned(&a);

    let caller = shared::auth::authenticate(&t.app, &by_access(bearer(&access)))
        .await
        .unwrap();
    assert!(caller.is_none(), "the access token's session is over");
    assert!(!opens_a_session(&t, &token).await);
    let later = t.app.clock.now_ms();
    let r = t
        .app
        .sessions
        .rotate_refresh(&current, None, later, ttl)
        .await
        .unwrap();
    assert!(
        matches!(r, Rotation::Refused),
        "the current refresh token: {r:?}"
    );
    // The rotated one is recognised as a replay, which grants nothing either.
    let r = t
        .app
        .sessions
        .rotate_refresh(&first, None, later, ttl)
        .await
        .unwrap();
    assert!(
        !matches!(r, Rotation::Rotated(_)),
        "the rotated refresh token: {r:?}"
    );
    let exchange = t
        .app
        .sessions
        .start_refresh_family(&session_token, None, later, ttl)
        .await
        .unwrap();
    assert!(
        exchange.is_none(),
        "the session token cannot be exchanged any more"
    );
}

#[tokio::test]
async fn after_logout_the_token_endpoint_and_change_password_refuse_every_credential_of_it() {
    use token::handler::{REFRESH_GRANT, TOKEN_EXCHANGE_GRANT, TOKEN_PATH};
    let t = app().await;
    let (_, session_token) = signed_in(&t).await;
    let token_endpoint = |pairs: Vec<(&str, String)>| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let req = request(
            "POST",
            TOKEN_PATH,
            &[("content-type", "application/x-www-form-urlencoded")],
            &body,
            IP,
        );
        let app = &t.app;
        async move { answer(token::handler::handle(app, req, "req-test".into()).await) }
    };
    let exchange = || {
        token_endpoint(vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT.into()),
            ("subject_token", session_token.clone()),
            (
                "subject_token_type",
                shared::token::SESSION_TOKEN_TYPE.into(),
            ),
        ])
    };
    let refresh = |rt: &str| {
        token_endpoint(vec![
            ("grant_type", REFRESH_GRANT.into()),
            ("refresh_token", rt.to_owned()),
        ])
    };
    let change_password = |auth: (&str, String)| {
        let req = request(
            "POST",
            "/v2/change-password",
            &[(auth.0, auth.1.as_str()), JSON],
            &json!({"newPassword": "a brand new passphrase for ann"}).to_string(),
            IP,
        );
        let app = &t.app;
        async move { answer(change_password::handler::handle(app, req, "req-test".into()).await) }
    };

    // Before: an exchange, then a refresh, so the session has a rotated and a current token.
    let granted = exchange().await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    let access = granted.json["access_token"].as_str().unwrap().to_owned();
    let rotated = granted.json["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = refresh(&rotated).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let current = refreshed.json["refresh_token"].as_str().unwrap().to_owned();

    let a = send(&t, get("", &[("cookie", &cookie(&session_token))])).await;
    assert_eq!(a.status, 200);

    let a = exchange().await;
    assert_eq!((a.status, &a.json["error"]), (400, &json!("invalid_grant")));
    for rt in [&current, &rotated] {
        let a = refresh(rt).await;
        assert_eq!(
            (a.status, &a.json["error"]),
            (400, &json!("invalid_grant")),
            "{}",
            a.text
        );
    }
    for auth in [
        ("authorization", bearer(&session_token)),
        ("cookie", cookie(&session_token)),
        ("authorization", bearer(&access)),
    ] {
        let a = change_password(auth.clone()).await;
        assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"), "{auth:?}");
    }
}
