//! Every JSON request body parser of the service, on one arbitrary body: the first byte picks
//! the declared Content-Type, the rest is the body (up to and past the 16 KiB limit).

#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

const CONTENT_TYPES: [Option<&str>; 8] = [
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("APPLICATION/JSON"),
    None,
    Some("application/x-www-form-urlencoded"),
    Some("text/plain"),
    Some("application/json"),
    Some("application/jsonp"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let req = shared::fuzzing::with_body(CONTENT_TYPES[usize::from(selector % 8)], body);
    let oversize = body.len() > shared::http::MAX_BODY_BYTES;

    let _ = shared::http::parse_json::<serde_json::Value>(&req);
    let accepted = [
        login::handler::fuzzing::body(&req).is_some(),
        register::handler::fuzzing::body(&req).is_some(),
        change_password::handler::fuzzing::body(&req).is_some(),
        recovery::handler::fuzzing::send_email(&req, &common::recovery_config()).is_some(),
        recovery::handler::fuzzing::recover(&req).is_some(),
        verify_email::handler::fuzzing::body(&req, true),
        verify_email::handler::fuzzing::body(&req, false),
        shared::session::listing::parse_revocation(&req).is_ok(),
    ];
    // DESIGN §7.7: nothing over 16 KiB is read.
    assert!(
        !oversize || !accepted.contains(&true),
        "an oversize body was accepted"
    );
    for config in common::sign_on_configs() {
        let accepted = sign_on::handler::fuzzing::body(&config, &req);
        assert!(!oversize || accepted.is_none());
    }
    let _ = logout::handler::fuzzing::logout(&req, true, &common::logout_allowlist());
    let token = token::handler::fuzzing::params(&req);
    assert!(!oversize || token.is_none());
    let (_, _, admin_body) = admin::handler::fuzzing::request(&req);
    assert!(!oversize || !admin_body);
});
