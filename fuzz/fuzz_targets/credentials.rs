//! Credential extraction: `Authorization: Bearer` (session token, access token, API key), the
//! `__Host-session` and `__Host-device` cookies (one or two `Cookie` headers), the trusted
//! caller (IAM principal or API key, sign-on and operator rules), the client IP and the route
//! path. Parts, cut at NUL: authorization, cookie, second cookie, IAM ARN, source IP, path,
//! stage; the first byte says which optional parts are present.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::auth::Presented;
use shared::auth::trusted::{self, Allowed};
use shared::http;
use shared::lockout::{DEVICE_COOKIE, DeviceCookies};
use shared::session::{RefreshToken, SessionToken};

mod common;

/// The one API key the targets configure (only its hash is configured, as in production).
const API_KEY: &str = "sok_fuzz-only-key";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let p = common::parts(rest, 7);
    let mut headers: Vec<(&str, &[u8])> = vec![("authorization", p[0].as_bytes())];
    headers.push(("cookie", p[1].as_bytes()));
    if flags & 1 != 0 {
        headers.push(("cookie", p[2].as_bytes()));
    }
    headers.push(("content-type", b"application/json"));
    let req = shared::fuzzing::request(&shared::fuzzing::RawRequest {
        method: "POST",
        uri: &p[5],
        headers: &headers,
        body: b"{}",
        source_ip: (flags & 2 != 0).then_some(p[4].as_str()),
        iam_arn: (flags & 4 != 0).then_some(p[3].as_str()),
        stage: (flags & 8 != 0).then_some(p[6].as_str()),
    });

    let bearer = http::bearer(&req);
    if let Some(b) = &bearer {
        assert!(
            !b.is_empty() && b.trim() == b,
            "a bearer token is trimmed and not empty"
        );
    }
    let session = http::cookie(&req, http::SESSION_COOKIE);
    let presented = Presented::from_request(&req);
    assert_eq!(presented.bearer, bearer);
    assert_eq!(presented.cookie, session);
    let _ = presented.cookie_only();
    let _ = presented.cookie_beside_header();
    for raw in bearer.iter().chain(session.iter()) {
        let _ = SessionToken::parse(raw).map(|t| t.member_hint().map(str::len));
        let _ = RefreshToken::parse(raw);
    }
    if let Some(device) = http::cookie(&req, DEVICE_COOKIE) {
        let cookies = DeviceCookies::new(vec![1u8; 32].into(), 3600);
        let _ = cookies.check(&device, "ann@example.com", 1_800_000_000_000);
    }

    let hashes = vec![shared::secret::sha256_hex(API_KEY.as_bytes())];
    let matched = trusted::api_key(&hashes, &req);
    // Only the configured key opens the door, and only as its own fingerprint.
    assert_eq!(matched.is_some(), bearer.as_deref() == Some(API_KEY));
    if let Some(f) = &matched {
        assert_eq!(f, &hashes[0][..12]);
    }
    let principals = vec![
        "arn:aws:iam::123456789012:role/path/Caller".to_owned(),
        "arn:aws:iam::123456789012:user/ops".to_owned(),
    ];
    for allowed in [
        Allowed {
            principals: &[],
            api_key_hashes: &[],
        },
        Allowed {
            principals: &[],
            api_key_hashes: &hashes,
        },
        Allowed {
            principals: &principals,
            api_key_hashes: &hashes,
        },
    ] {
        let _ = trusted::identify(allowed, &req);
        let operator = trusted::identify_operator(allowed, &req);
        // Operators fail closed: with nothing configured nobody is admitted.
        if allowed.principals.is_empty() && allowed.api_key_hashes.is_empty() {
            assert!(operator.is_err());
        }
    }
    for entry in &principals {
        let _ = trusted::principal_matches(entry, &p[3]);
    }
    let _ = trusted::principal_matches(&p[3], &p[4]);
    let _ = http::client_ip(&req);
    let _ = http::route_path(&req);
    let _ = http::is_json(&req);
    let _ = shared::session::Device::from_request(&req);
});
