//! The redirect allowlist checks (DESIGN §7.5): logout's `postLogoutRedirectUri` (query string
//! and JSON body, GET and POST) and recovery's `redirect.url`. Parts, cut at NUL: the requested
//! URL, a raw query string, one more allowlist entry. An accepted redirect is byte for byte an
//! allowlist entry; the recovery link keeps that entry's origin.

#![no_main]

use libfuzzer_sys::fuzz_target;
use logout::handler::fuzzing::{Redirect, allowed, logged, logout};
use shared::fuzzing::{RawRequest, request, with_body};

mod common;

fuzz_target!(|data: &[u8]| {
    let p = common::parts(data, 3);
    let (url, query) = (&p[0], &p[1]);
    let mut allowlist = common::logout_allowlist();
    if !p[2].is_empty() {
        allowlist.push(p[2].clone());
    }
    let _ = logged(url);

    let direct = allowed(&allowlist, url);
    assert_eq!(direct.is_some(), allowlist.contains(url));
    if let Some(entry) = direct {
        assert_eq!(entry, url.as_str());
    }
    let judge = |verdict: Redirect| match verdict {
        Redirect::Allowed(entry) => assert!(allowlist.contains(&entry)),
        Redirect::Stay | Redirect::Refused | Redirect::BadRequest => {}
    };

    let encoded: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    for (uri, names_url) in [
        (
            format!("/v1/logout?postLogoutRedirectUri={encoded}&clientId=web"),
            true,
        ),
        (format!("/v1/logout?{query}"), false),
    ] {
        let get = request(&RawRequest {
            method: "GET",
            uri: &uri,
            ..RawRequest::default()
        });
        let verdict = logout(&get, false, &allowlist);
        if names_url && !url.is_empty() {
            // The query names this URL once: allowed exactly when it is an entry.
            let expected = if allowlist.contains(url) {
                Redirect::Allowed(url.clone())
            } else {
                Redirect::Refused
            };
            assert_eq!(verdict, expected, "{url:?}");
        } else {
            judge(verdict);
        }
    }
    let body = serde_json::json!({ "postLogoutRedirectUri": url }).to_string();
    judge(logout(
        &with_body(Some("application/json"), body.as_bytes()),
        true,
        &allowlist,
    ));
    judge(logout(
        &with_body(Some("application/json"), query.as_bytes()),
        true,
        &allowlist,
    ));

    let config = common::recovery_config();
    let body = serde_json::json!({
        "email": "ann@example.com",
        "redirect": { "url": url, "clientId": "web" },
    })
    .to_string();
    let sent = recovery::handler::fuzzing::send_email(
        &with_body(Some("application/json"), body.as_bytes()),
        &config,
    );
    assert_eq!(sent.is_some(), config.allows(url), "{url:?}");
    if let Some((_, page, link)) = sent {
        assert_eq!(&page, url);
        if let Ok(page) = url::Url::parse(&page) {
            let link = url::Url::parse(&link).expect("a link to an allowed page parses");
            assert_eq!(link.origin(), page.origin());
        }
    }
});
