//! Credential extraction: `Authorization: Bearer`, the session cookie among many cookies in one
//! or several headers, API keys and the trusted caller. Each is checked against a model of the
//! rule it implements.

use proptest::prelude::*;

use shared::auth::Presented;
use shared::auth::trusted::{self, Allowed, Refusal, TrustedServer};
use shared::fuzzing::{RawRequest, request};
use shared::http::{self, SESSION_COOKIE};

use crate::cases;

const API_KEY: &str = "sok_property-test-key";

fn with_headers(headers: &[(&str, &[u8])], iam_arn: Option<&str>) -> lambda_http::Request {
    request(&RawRequest {
        method: "POST",
        uri: "/v2/sign-on",
        headers,
        body: b"{}",
        source_ip: Some("203.0.113.9"),
        iam_arn,
        stage: None,
    })
}

/// Cookie names: the session's, its lookalikes, and others.
fn cookie_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(SESSION_COOKIE.to_owned()),
        Just("__host-session".to_owned()),
        Just("__Host-session2".to_owned()),
        Just("session".to_owned()),
        Just("__Secure-session".to_owned()),
        "[A-Za-z0-9_-]{1,12}",
    ]
}

/// Cookie values: anything a header may carry but `;` (which ends a pair).
fn cookie_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-:<-~]{0,60}",
        "st_[A-Za-z0-9_-]{1,20}\\.[A-Za-z0-9_-]{43}"
    ]
}

proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn the_session_cookie_is_the_first_pair_of_that_exact_name_however_many_there_are(
        pairs in prop::collection::vec((cookie_name(), cookie_value()), 0..150),
        split_at in any::<prop::sample::Index>(),
        spaced in any::<bool>(),
    ) {
        let join = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(if spaced { "; " } else { ";" })
        };
        // API Gateway may hand the cookies over in one header or several.
        let at = if pairs.is_empty() { 0 } else { split_at.index(pairs.len()) };
        let (first, second) = (join(&pairs[..at]), join(&pairs[at..]));
        let req = with_headers(&[("cookie", first.as_bytes()), ("cookie", second.as_bytes())], None);
        let expected = pairs.iter().find(|(k, _)| k == SESSION_COOKIE).map(|(_, v)| v.clone());
        prop_assert_eq!(http::cookie(&req, SESSION_COOKIE), expected.clone());
        prop_assert_eq!(Presented::from_request(&req).cookie, expected);
    }

    #[test]
    fn a_bearer_token_needs_the_scheme_and_comes_back_trimmed(
        scheme in prop_oneof![
            Just("Bearer"), Just("bearer"), Just("BEARER"), Just("Basic"), Just("Bearer:"),
            Just("Token"), Just(""),
        ],
        gap in prop_oneof![Just(" "), Just("  "), Just("\t"), Just("")],
        token in "[!-~]{0,80}",
        trailing in prop_oneof![Just(""), Just(" "), Just("\t ")],
    ) {
        let value = format!("{scheme}{gap}{token}{trailing}");
        let req = with_headers(&[("authorization", value.as_bytes())], None);
        // The model: split at the first space; the scheme is "bearer" in any case; the rest,
        // trimmed, is the token when not empty.
        let expected = value
            .split_once(' ')
            .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        prop_assert_eq!(http::bearer(&req), expected);
    }

    #[test]
    fn only_the_configured_api_key_identifies_a_trusted_server(
        key in prop_oneof![
            Just(API_KEY.to_owned()),
            "sok_[A-Za-z0-9_-]{0,43}",
            "[!-~]{0,600}",
            Just(format!("{API_KEY} ")),
            Just(API_KEY.to_uppercase()),
        ],
        with_principal in proptest::option::of(prop_oneof![
            Just("arn:aws:iam::123456789012:user/ops".to_owned()),
            Just("arn:aws:sts::123456789012:assumed-role/Caller/session-1".to_owned()),
            Just("arn:aws:sts::123456789012:assumed-role/Caller/".to_owned()),
            Just("arn:aws:sts::999999999999:assumed-role/Caller/s".to_owned()),
            "[ -~]{0,80}",
        ]),
    ) {
        let hashes = vec![shared::secret::sha256_hex(API_KEY.as_bytes())];
        let header = format!("Bearer {key}");
        let req = with_headers(&[("authorization", header.as_bytes())], with_principal.as_deref());
        let is_key = key.trim() == API_KEY;
        prop_assert_eq!(trusted::api_key(&hashes, &req).is_some(), is_key);
        let principals = vec!["arn:aws:iam::123456789012:role/path/Caller".to_owned()];
        let allowed = Allowed { principals: &principals, api_key_hashes: &hashes };
        let arn = with_principal.filter(|a| !a.trim().is_empty());
        let who = trusted::identify(allowed, &req);
        match &arn {
            // A principal is judged alone, the key beside it ignored.
            Some(arn) => {
                let admitted = trusted::principal_matches(&principals[0], arn);
                prop_assert_eq!(who.is_ok(), admitted);
                if !admitted {
                    prop_assert_eq!(who, Err(Refusal::NotAllowed { arn: arn.clone() }));
                }
            }
            None => prop_assert_eq!(
                matches!(who, Ok(TrustedServer::ApiKey { .. })),
                is_key
            ),
        }
        // Operators with nothing configured: nobody.
        let none = Allowed { principals: &[], api_key_hashes: &[] };
        prop_assert!(trusted::identify_operator(none, &req).is_err());
    }

    #[test]
    fn an_assumed_role_is_admitted_only_for_its_own_role_account_and_partition(
        partition in prop_oneof![Just("aws"), Just("aws-cn"), Just("aws-us-gov")],
        account in "[0-9]{12}",
        role in "[A-Za-z0-9+=,.@_-]{1,20}",
        path in "(/[a-z]{1,5}){0,2}/",
        session in "[A-Za-z0-9+=,.@_-]{0,20}",
        other_account in "[0-9]{12}",
    ) {
        let entry = format!("arn:{partition}:iam::{account}:role{path}{role}");
        let arn = format!("arn:{partition}:sts::{account}:assumed-role/{role}/{session}");
        prop_assert_eq!(trusted::principal_matches(&entry, &arn), !session.is_empty());
        let elsewhere = format!("arn:{partition}:sts::{other_account}:assumed-role/{role}/{session}");
        prop_assert_eq!(
            trusted::principal_matches(&entry, &elsewhere),
            !session.is_empty() && other_account == account
        );
    }
}
