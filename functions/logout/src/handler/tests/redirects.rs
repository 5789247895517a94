//! Redirects after logout: an allowlisted target is followed exactly; a lookalike, or a
//! target given twice, is refused, and the session ends all the same. (Every lookalike is
//! checked against the allowlist match in `redirect.rs`; a representative set here goes
//! through the handler.)

use serde_json::json;

use crate::handler::redirect::LOOKALIKES;

use super::{
    ACCEPT_JSON, ALLOWED, JSON, LOCAL, WITH_QUERY, app, assert_browser_cleaned, assert_html,
    bearer, cookie, ends_a_fresh_session, get, post, redirect_query,
};

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
        let a = ends_a_fresh_session(&t, |token| get(&query, &[("cookie", &cookie(token))])).await;
        assert_eq!(a.status, 302, "{query}: {}", a.text);
        assert_eq!(a.header("location"), Some(expected));
        assert_browser_cleaned(&a);
        assert_html(&a);
        let href = format!("href=\"{}\"", expected.replace('&', "&amp;"));
        assert!(a.text.contains(&href), "the page links {expected}");
    }
    // A page POST is answered with 303, so the browser follows with a GET.
    let a = ends_a_fresh_session(&t, |token| {
        let auth = bearer(token);
        post(&redirect_query(ALLOWED), &[("authorization", &auth)], "")
    })
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
        let a = ends_a_fresh_session(&t, |token| {
            post(
                &query,
                &[("cookie", &cookie(token)), JSON, ACCEPT_JSON],
                &body,
            )
        })
        .await;
        assert_eq!(
            (a.status, &a.json),
            (200, &json!({"redirectUrl": ALLOWED})),
            "{query} {body}"
        );
        assert_eq!(a.header("location"), None);
        assert_browser_cleaned(&a);
    }
}

/// One open-redirect lookalike of each kind in `redirect::LOOKALIKES` (all of which are
/// checked against the allowlist match there).
const REPRESENTATIVE_LOOKALIKES: &[&str] = &[
    "//evil.example/signed-out",
    "https://app.example.com\\@evil.example/signed-out",
    "https://app.example.com@evil.example/signed-out",
    "https://app.example.com.evil.example/signed-out",
    "HTTPS://APP.EXAMPLE.COM/SIGNED-OUT",
    "https%3A%2F%2Fapp.example.com%2Fsigned-out",
    "javascript:alert(1)",
    "https://app.example.com/signed-out\r\nSet-Cookie: x=y",
    "https://app.example.com/signed-out\u{0}",
    "https://app.example.com./signed-out",
    "https://app.example.com/signed-out#@evil.example",
    "https://\u{430}pp.example.com/signed-out",
    "https://app.example.com:443/signed-out",
    "https://app.example.com/../signed-out",
];

#[tokio::test]
async fn open_redirect_lookalikes_are_refused_and_the_session_still_ends() {
    let t = app().await;
    for target in REPRESENTATIVE_LOOKALIKES {
        assert!(LOOKALIKES.contains(target), "{target:?}");
        let a = ends_a_fresh_session(&t, |token| {
            get(&redirect_query(target), &[("cookie", &cookie(token))])
        })
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

        let body = json!({ "postLogoutRedirectUri": target }).to_string();
        let a = ends_a_fresh_session(&t, |token| {
            let auth = bearer(token);
            post("", &[("authorization", &auth), JSON, ACCEPT_JSON], &body)
        })
        .await;
        assert_eq!(a.status, 400, "{target:?}");
        let v = &a.json["details"]["validationError"]["fieldViolations"][0];
        assert_eq!(v["field"], "postLogoutRedirectUri", "{target:?}");
        assert_eq!(v["violatedRule"], "REDIRECT_NOT_ALLOWED");
        assert!(a.json.get("redirectUrl").is_none());
        assert_browser_cleaned(&a);
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
    let a = ends_a_fresh_session(&t, |token| get(&twice, &[("cookie", &cookie(token))])).await;
    assert_eq!((a.status, a.header("location")), (400, None));

    let body = json!({ "postLogoutRedirectUri": LOCAL }).to_string();
    let a = ends_a_fresh_session(&t, |token| {
        let c = cookie(token);
        post(
            &redirect_query(ALLOWED),
            &[("cookie", &c), JSON, ACCEPT_JSON],
            &body,
        )
    })
    .await;
    assert_eq!((a.status, a.code()), (400, "AMBIGUOUS"));

    // The same value twice is not ambiguous.
    let same = format!(
        "{}&{}",
        redirect_query(ALLOWED),
        &redirect_query(ALLOWED)[1..]
    );
    let a = ends_a_fresh_session(&t, |token| get(&same, &[("cookie", &cookie(token))])).await;
    assert_eq!((a.status, a.header("location")), (302, Some(ALLOWED)));
}
