//! Every JSON request body parser: arbitrary bytes, near-valid bodies built from the fields the
//! service reads (with values of every JSON type, long Unicode strings, huge numbers), deep
//! nesting and oversize bodies. None panics; none accepts a body over 16 KiB or one that is
//! not a JSON object; valid bodies are accepted with what they say.

use proptest::prelude::*;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use shared::email::Email;
use shared::http::MAX_BODY_BYTES;

use crate::{cases, json as post};

/// The field names the service's bodies read, beside names it does not.
const FIELDS: &[&str] = &[
    "loginId",
    "email",
    "password",
    "captchaTokens",
    "profile",
    "firstName",
    "lastName",
    "birthdate",
    "newPassword",
    "currentPassword",
    "revokeOtherSessions",
    "recoveryToken",
    "redirect",
    "url",
    "clientId",
    "language",
    "stateToken",
    "code",
    "sessionId",
    "allOthers",
    "postLogoutRedirectUri",
    "verifyEmail",
    "grant_type",
    "subject_token",
    "subjectToken",
    "refresh_token",
    "token",
    "client_id",
    "__proto__",
    "",
    "loginid",
    "password\u{0}",
];

/// Numbers no parser expects: beyond u64 and f64, negative zero, exponents.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1e999999",
    "-1e-999999",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "1.7976931348623157e309",
    "0.0000000000000000000001",
    "12345678901234567890123456789012345678901234567890",
];

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        prop::sample::select(NUMBERS).prop_map(str::to_owned),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<String>().prop_map(|s| Value::String(s).to_string()),
        // Long Unicode strings, past every field's limit.
        (any::<char>(), 100usize..3000)
            .prop_map(|(c, n)| Value::String(c.to_string().repeat(n)).to_string()),
        "[a-z0-9._+-]{1,12}@[a-z0-9-]{1,10}\\.[a-z]{2,4}"
            .prop_map(|s| Value::String(s).to_string()),
    ]
}

/// JSON text (not always valid: keys may repeat) of objects keyed by the service's field names.
fn near_valid() -> impl Strategy<Value = String> {
    leaf().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(
                (prop::sample::select(FIELDS), inner)
                    .prop_map(|(k, v)| { format!("{}:{v}", Value::String(k.to_owned())) }),
                0..8
            )
            .prop_map(|v| format!("{{{}}}", v.join(","))),
        ]
    })
}

/// Nesting far past serde_json's recursion limit, closed or not; and whether it is an object.
fn deep() -> impl Strategy<Value = (String, bool)> {
    (1usize..20_000, any::<bool>(), any::<bool>()).prop_map(|(n, objects, closed)| {
        let (open, close) = if objects {
            ("{\"loginId\":", "}")
        } else {
            ("[", "]")
        };
        let n = n.min(MAX_BODY_BYTES / open.len());
        let mut s = open.repeat(n);
        if closed {
            s.push_str("null");
            s.push_str(&close.repeat(n));
        }
        (s, objects && closed)
    })
}

/// What every parser makes of one request: whether each accepted it.
fn accepted(req: &lambda_http::Request) -> Vec<(&'static str, bool)> {
    let config = super::redirects::recovery_config();
    vec![
        ("login", login::handler::fuzzing::body(req).is_some()),
        ("register", register::handler::fuzzing::body(req).is_some()),
        (
            "change-password",
            change_password::handler::fuzzing::body(req).is_some(),
        ),
        (
            "send-email",
            recovery::handler::fuzzing::send_email(req, &config).is_some(),
        ),
        (
            "recover",
            recovery::handler::fuzzing::recover(req).is_some(),
        ),
        ("verify", verify_email::handler::fuzzing::body(req, true)),
        ("resend", verify_email::handler::fuzzing::body(req, false)),
        (
            "revoke",
            shared::session::listing::parse_revocation(req).is_ok(),
        ),
        (
            "sign-on",
            sign_on::handler::fuzzing::body(&Default::default(), req).is_some(),
        ),
        ("token", token::handler::fuzzing::params(req).is_some()),
        ("admin", admin::handler::fuzzing::request(req).2),
        (
            "logout",
            logout::handler::fuzzing::logout(req, true, &[])
                != logout::handler::fuzzing::Redirect::BadRequest,
        ),
    ]
}

/// Bodies that no parser may accept: over the limit, or not a JSON object.
fn refused_by_all(body: &[u8]) {
    for (parser, ok) in accepted(&post(body)) {
        let blank = body.iter().all(u8::is_ascii_whitespace);
        // Logout and block/unblock take an empty body as no body.
        let may = blank && body.len() <= MAX_BODY_BYTES && matches!(parser, "logout" | "admin");
        assert!(
            !ok || may,
            "{parser} accepted {:.120}",
            String::from_utf8_lossy(body)
        );
    }
}

/// Whether `body` is one JSON object, read as the parsers read what they ignore (a number past
/// f64's range is still a number).
fn is_object(body: &[u8]) -> bool {
    serde_json::from_slice::<std::collections::BTreeMap<String, IgnoredAny>>(body).is_ok()
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn arbitrary_bytes_panic_no_parser_and_only_json_objects_are_accepted(
        body in prop::collection::vec(any::<u8>(), 0..512),
        content_type in prop::sample::select(vec![
            Some("application/json"), None, Some("text/plain"),
            Some("application/x-www-form-urlencoded"), Some("application/json; charset=utf-8"),
        ]),
    ) {
        let req = shared::fuzzing::with_body(content_type, &body);
        for (parser, ok) in accepted(&req) {
            // The token endpoint also reads forms; everything else reads only JSON objects.
            if ok && parser != "token" && !body.iter().all(u8::is_ascii_whitespace) {
                prop_assert!(is_object(&body), "{parser} accepted a body that is no JSON object");
            }
        }
    }

    #[test]
    fn near_valid_bodies_panic_no_parser_and_accepted_ones_hold_canonical_values(
        body in near_valid(),
    ) {
        let req = post(body.as_bytes());
        let results = accepted(&req);
        for (parser, ok) in &results {
            if *ok && *parser != "logout" && *parser != "admin" {
                prop_assert!(is_object(body.as_bytes()), "{parser} accepted {body:.200}");
            }
        }
        for (key, length) in [
            login::handler::fuzzing::body(&req),
            register::handler::fuzzing::body(&req),
        ].into_iter().flatten() {
            prop_assert_eq!(Email::parse(&key, "email").map(|e| e.key().to_owned()).ok(), Some(key));
            prop_assert!((1..=128).contains(&length));
        }
    }

    #[test]
    fn deep_nesting_overflows_no_stack_and_only_an_object_is_accepted(
        (body, object) in deep(),
    ) {
        if object {
            let _ = accepted(&post(body.as_bytes()));
        } else {
            refused_by_all(body.as_bytes());
        }
    }

    #[test]
    fn a_body_over_16_kib_is_refused_by_every_parser_however_valid_it_is(
        pad in (MAX_BODY_BYTES - 40)..(MAX_BODY_BYTES + 64),
        email in "[a-z]{1,10}@example\\.com",
    ) {
        let body = json!({
            "loginId": {"email": email}, "email": email, "password": "x".repeat(pad),
        })
        .to_string();
        if body.len() > MAX_BODY_BYTES {
            refused_by_all(body.as_bytes());
        }
    }

    #[test]
    fn a_valid_login_is_accepted_with_its_canonical_email_and_password(
        local in "[A-Za-z0-9._+-]{1,30}",
        domain in "[A-Za-z0-9]{1,20}\\.(com|de|org)",
        password in "[ -~]{1,128}",
    ) {
        prop_assume!(!local.starts_with('.') && !local.ends_with('.') && !local.contains(".."));
        let email = format!("{local}@{domain}");
        let body = json!({"loginId": {"email": email}, "password": password}).to_string();
        let got = login::handler::fuzzing::body(&post(body.as_bytes()));
        prop_assert_eq!(got, Some((email.to_lowercase(), password.chars().count())));
    }
}

/// serde reads a struct from a JSON array too, element by element; the service's bodies are
/// objects (openapi.yaml), and nothing else may stand in for one.
#[test]
fn a_body_that_is_an_array_is_refused_even_when_its_elements_would_fill_the_fields() {
    for body in [
        r#"[{"email": "ann@example.com"}, "correct horse battery staple"]"#,
        r#"[{"email": "ann@example.com"}, "correct horse battery staple", {}, []]"#,
        r#"["a new password of some length", null, true]"#,
        r#"["ann@example.com", null, null]"#,
        r#"[null, true]"#,
        r#"["st_state.token", "123456"]"#,
        r#"["https://app.example.com/", "web"]"#,
    ] {
        refused_by_all(body.as_bytes());
    }
}
