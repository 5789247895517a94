//! The redirect allowlist checks (DESIGN §7.5): logout's `postLogoutRedirectUri` and recovery's
//! `redirect.url`, against URLs that try every trick (userinfo, backslashes, percent-encoding,
//! IDN and lookalike hosts, other schemes, `javascript:`). A redirect is allowed exactly when it
//! is byte for byte an allowlist entry, and then its origin is an allowed one.

use proptest::prelude::*;
use serde_json::json;

use logout::handler::fuzzing::{Redirect, allowed, logout};
use shared::config::RecoveryConfig;
use shared::fuzzing::{RawRequest, request, with_body};

use crate::cases;

pub fn logout_allowlist() -> Vec<String> {
    vec![
        "https://app.example.com/signed-out".to_owned(),
        "https://app.example.com/".to_owned(),
        "http://localhost:3000/".to_owned(),
    ]
}

pub fn recovery_config() -> RecoveryConfig {
    RecoveryConfig {
        page_url: Some("https://app.example.com/recover".to_owned()),
        redirect_allowlist: vec!["https://app.example.com/recover?lang=de".to_owned()],
        token_ttl_seconds: 1800,
    }
}

/// URLs near the allowed ones.
fn hostile_url() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "https://",
        "http://",
        "HTTPS://",
        "//",
        "https:/",
        "https:\\\\",
        "\\\\",
        "javascript:",
        "data:text/html,",
        "https:",
        " https://",
        "\thttps://",
        "",
    ]);
    let userinfo = prop::sample::select(vec![
        "",
        "",
        "user:pass@",
        "app.example.com@",
        "app.example.com:443@",
        "%40@",
    ]);
    let host = prop::sample::select(vec![
        "app.example.com",
        "app.example.com",
        "APP.EXAMPLE.COM",
        "app.example.com.",
        "app.example.com.evil.test",
        "evil.test",
        "аpp.example.com",
        "xn--pp-8cd.example.com",
        "app.example.com:443",
        "app.example.com:8443",
        "localhost:3000",
        "127.0.0.1:3000",
        "[::1]:3000",
        "app%2eexample.com",
        "app.example.com%00",
        "app。example。com",
    ]);
    let path = prop::sample::select(vec![
        "/signed-out",
        "/",
        "",
        "/signed-out/",
        "/%73igned-out",
        "/SIGNED-OUT",
        "\\evil.test",
        "/signed-out?next=//evil.test",
        "/signed-out#",
        "//evil.test",
        "/./signed-out",
        "/signed-out%0d%0aSet-Cookie:x",
        "/recover",
        "/recover?lang=de",
        "/recover?lang=fr",
    ]);
    let tail = "[ -~]{0,3}";
    prop_oneof![
        4 => (scheme, userinfo, host, path, prop_oneof![Just(String::new()), tail.prop_map(|t| t)])
            .prop_map(|(s, u, h, p, t)| format!("{s}{u}{h}{p}{t}")),
        1 => prop::sample::select(logout_allowlist()),
        1 => Just("javascript:alert(document.cookie)".to_owned()),
        1 => any::<String>(),
    ]
}

fn origin(u: &str) -> Option<url::Origin> {
    url::Url::parse(u).ok().map(|u| u.origin())
}

proptest! {
    #![proptest_config(cases(500))]

    #[test]
    fn a_logout_redirect_is_allowed_exactly_when_it_is_an_allowlist_entry(url in hostile_url()) {
        let list = logout_allowlist();
        let expected = list.contains(&url);
        prop_assert_eq!(allowed(&list, &url), list.iter().find(|e| **e == url).map(String::as_str));

        let query: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
        let get = request(&RawRequest {
            method: "GET",
            uri: &format!("/v1/logout?postLogoutRedirectUri={query}"),
            ..RawRequest::default()
        });
        let body = json!({ "postLogoutRedirectUri": url }).to_string();
        let post = with_body(Some("application/json"), body.as_bytes());
        for verdict in [logout(&get, false, &list), logout(&post, true, &list)] {
            match verdict {
                Redirect::Allowed(entry) => {
                    prop_assert!(expected && entry == url);
                    let allowed_origins: Vec<_> = list.iter().filter_map(|e| origin(e)).collect();
                    prop_assert!(origin(&entry).is_some_and(|o| allowed_origins.contains(&o)));
                }
                Redirect::Stay => prop_assert!(url.is_empty()),
                Redirect::Refused => prop_assert!(!expected),
                Redirect::BadRequest => prop_assert!(false, "a single redirect is no bad request"),
            }
        }
    }

    #[test]
    fn a_redirect_given_twice_with_different_values_is_refused(a in hostile_url(), b in hostile_url()) {
        prop_assume!(!a.is_empty() && !b.is_empty() && a != b);
        let q = |u: &str| url::form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>();
        let body = json!({ "postLogoutRedirectUri": b }).to_string();
        let req = request(&RawRequest {
            method: "POST",
            uri: &format!("/v1/logout?postLogoutRedirectUri={}", q(&a)),
            headers: &[("content-type", b"application/json")],
            body: body.as_bytes(),
            ..RawRequest::default()
        });
        prop_assert_eq!(logout(&req, true, &logout_allowlist()), Redirect::BadRequest);
    }

    #[test]
    fn a_recovery_link_opens_only_an_allowed_page_and_keeps_its_origin(url in hostile_url()) {
        let config = recovery_config();
        let body = json!({"email": "ann@example.com", "redirect": {"url": url}}).to_string();
        let sent = recovery::handler::fuzzing::send_email(
            &with_body(Some("application/json"), body.as_bytes()),
            &config,
        );
        prop_assert_eq!(sent.is_some(), config.allows(&url));
        prop_assert_eq!(
            config.allows(&url),
            config.page_url.as_deref() == Some(url.as_str()) || config.redirect_allowlist.contains(&url)
        );
        if let Some((_, page, link)) = sent {
            prop_assert_eq!(&page, &url);
            prop_assert_eq!(origin(&link), origin(&page));
            prop_assert!(link.starts_with("https://app.example.com/recover?"));
        }
    }
}
