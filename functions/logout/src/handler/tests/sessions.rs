//! A logout ends the sessions it names, and only those; whatever it is given, it answers as a
//! logout does.

use lambda_http::Request;
use serde_json::json;
use shared::auth::Presented;
use shared::session::Rotation;
use shared::testing::{TestApp, answer};

use crate::handler::{handle, respond};

use super::{
    ACCEPT_JSON, ALLOWED, JSON, app, assert_browser_cleaned, assert_html, bearer, cookie,
    ends_a_fresh_session, get, post, redirect_query, send, signed_in,
};

/// Whether the token, sent as the `__Host-session` cookie, opens a session (as it does sent
/// as a Bearer header: `TestApp::authenticates`).
async fn cookie_opens_a_session(t: &TestApp, token: &str) -> bool {
    let presented = Presented {
        bearer: None,
        cookie: Some(token.to_owned()),
    };
    let signed_in = shared::auth::authenticate(&t.app, &presented)
        .await
        .unwrap();
    t.app.requests.take();
    signed_in.is_some()
}

#[tokio::test]
async fn after_logout_the_session_token_and_cookie_no_longer_authenticate() {
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    assert!(t.authenticates(&token).await.is_some());
    assert!(cookie_opens_a_session(&t, &token).await);
    let req = get("", &[("cookie", &cookie(&token))]);
    let a = answer(handle(&t.app, req, "req-test".into()).await);
    assert_eq!(a.status, 200, "{}", a.text);
    assert_browser_cleaned(&a);
    assert_html(&a);
    assert!(a.text.contains("<h1>You are logged out</h1>"));
    assert!(t.authenticates(&token).await.is_none());
    assert!(!cookie_opens_a_session(&t, &token).await);
    let items = t.items(&t.tables.sessions).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["revoked"].as_bool(), Ok(&true));
}

#[tokio::test]
async fn a_single_page_app_logs_out_with_its_bearer_session_token() {
    let t = app().await;
    let a = ends_a_fresh_session(&t, |token| {
        post(
            "",
            &[("authorization", &bearer(token)), ACCEPT_JSON, JSON],
            "{}",
        )
    })
    .await;
    assert_eq!(
        (a.status, &a.json),
        (200, &json!({"redirectUrl": null})),
        "{}",
        a.text
    );
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_browser_cleaned(&a);
}

#[tokio::test]
async fn no_session_garbage_unknown_expired_and_repeated_logouts_look_like_a_logout() {
    let t = app().await;
    let (m, token) = signed_in(&t).await;
    let short_lived = t.session_lasting(&m, 60).await;
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
        assert!(t.authenticates(&fresh).await.is_none());
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
    // None of that touched the live session whose secret was guessed, nor another one.
    assert_eq!(t.opening(&[&token, &second]).await, [true, true]);
}

#[tokio::test]
async fn logging_out_one_session_leaves_the_members_other_sessions_alone() {
    let t = app().await;
    let (m, phone) = signed_in(&t).await;
    let laptop = t.session_token(&m).await;
    let (_, someone_else) = signed_in(&t).await;
    send(&t, get("", &[("authorization", &bearer(&phone))])).await;
    assert_eq!(
        t.opening(&[&phone, &laptop, &someone_else]).await,
        [false, true, true]
    );
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
    assert_eq!(t.opening(&[&by_header, &by_cookie]).await, [false, false]);
}

#[tokio::test]
async fn a_logout_takes_at_most_two_sequential_round_trips() {
    let t = app().await;
    let respond = |req: Request| {
        let app = &t.app;
        async move {
            respond(app, &req, "req-test").await;
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
async fn an_access_token_logs_out_its_session_and_every_token_of_that_session_dies() {
    let t = app().await;
    let (_, token) = signed_in(&t).await;
    let session = t
        .authenticates(&token)
        .await
        .expect("a live session")
        .session;
    let access = t.access_token(&session);
    // A refresh family with one rotation behind it: a rotated token and the current one.
    let family = t.refresh_family(&token).await;
    assert!(
        t.authenticates(&access).await.is_some(),
        "the access token opens its session before logout"
    );

    let a = send(
        &t,
        post("", &[("authorization", &bearer(&access)), ACCEPT_JSON], ""),
    )
    .await;
    assert_eq!((a.status, &a.json), (200, &json!({"redirectUrl": null})));
    let traffic = t.app.requests.take();
    assert_eq!((traffic.requests, traffic.round_trips), (2, 2));
    assert_browser_cleaned(&a);

    assert!(
        t.authenticates(&access).await.is_none(),
        "the access token's session is over"
    );
    assert!(t.authenticates(&token).await.is_none());
    let r = t.rotate_refresh(&family.current).await;
    assert!(
        matches!(r, Rotation::Refused),
        "the current refresh token: {r:?}"
    );
    // The rotated one is recognised as a replay, which grants nothing either.
    let r = t.rotate_refresh(&family.rotated).await;
    assert!(
        !matches!(r, Rotation::Rotated(_)),
        "the rotated refresh token: {r:?}"
    );
    assert!(
        t.start_refresh_family(&token).await.is_none(),
        "the session token cannot be exchanged any more"
    );
}
