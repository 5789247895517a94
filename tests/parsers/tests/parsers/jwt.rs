//! Access-token verification (DESIGN §7.4) against a model of what it must accept: a token the
//! service minted with any byte changed never verifies; JWT-shaped strings with random segments
//! never verify; and tokens of any header and claims, signed with the service's own key, verify
//! exactly when the header says EdDSA, `at+jwt` and the signing key's `kid`, and the claims
//! carry this `iss` and `aud`, a numeric `exp` ahead, `iat` not ahead, and `sub`, `sid`, `jti`.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use shared::fuzzing::{AUDIENCE, ISSUER};
use shared::token::Tokens;

use crate::cases;

const NOW: i64 = 1_800_000_000_000;
const NOW_SECS: i64 = NOW / 1000;

static TOKENS: LazyLock<Tokens> = LazyLock::new(shared::fuzzing::tokens);

fn minted() -> String {
    TOKENS
        .mint_access("m_1", "s_1", NOW + 3_600_000, Some("web"), NOW)
        .expect("the fixed key signs")
        .token
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// `header.claims` signed with the service's signing key, whatever they say.
fn signed(header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = SigningKey::from_bytes(&[7; 32]).sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

/// An optional field: absent, or one of `values`.
fn field(values: Vec<Value>) -> impl Strategy<Value = Option<Value>> {
    proptest::option::weighted(0.85, prop::sample::select(values))
}

fn header() -> impl Strategy<Value = Map<String, Value>> {
    let kid = TOKENS.keys.signing_kid().to_owned();
    let older = TOKENS
        .keys
        .verifying_kids()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (
        field(vec![
            json!("EdDSA"),
            json!("EdDSA"),
            json!("none"),
            json!("HS256"),
            json!("RS256"),
            json!("ES256"),
            json!("eddsa"),
            json!(1),
        ]),
        field(vec![
            json!("at+jwt"),
            json!("AT+JWT"),
            json!("application/at+jwt"),
            json!("JWT"),
            json!("jwt"),
            json!(""),
            json!(null),
        ]),
        field(vec![
            json!(kid.clone()),
            json!(kid),
            json!(older),
            json!("unknown"),
            json!(7),
        ]),
        proptest::option::weighted(0.1, Just(json!(["exp"]))),
    )
        .prop_map(|(alg, typ, kid, crit)| {
            let mut h = Map::new();
            for (k, v) in [("alg", alg), ("typ", typ), ("kid", kid), ("crit", crit)] {
                if let Some(v) = v {
                    h.insert(k.to_owned(), v);
                }
            }
            h
        })
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    let time = |around: i64| {
        prop_oneof![
            ((around - 1000)..(around + 1000)).prop_map(|t| json!(t)),
            Just(json!("never")),
            Just(json!(1.8e9)),
            Just(json!(u64::MAX)),
            Just(json!(i64::MIN)),
            Just(json!(null)),
        ]
    };
    (
        field(vec![
            json!(ISSUER),
            json!(ISSUER),
            json!("https://evil.example"),
            json!([ISSUER]),
        ]),
        field(vec![
            json!(AUDIENCE),
            json!(AUDIENCE),
            json!("other"),
            json!([AUDIENCE]),
            json!(1),
        ]),
        field(vec![json!("m_1"), json!("m_1"), json!(""), json!(5)]),
        field(vec![json!("s_1"), json!("s_1"), json!("")]),
        field(vec![json!("j"), json!("j"), json!("")]),
        proptest::option::weighted(0.85, time(NOW_SECS)),
        proptest::option::weighted(0.85, time(NOW_SECS + 60)),
        field(vec![json!("web"), json!(3)]),
    )
        .prop_map(|(iss, aud, sub, sid, jti, iat, exp, client_id)| {
            let mut c = Map::new();
            for (k, v) in [
                ("iss", iss),
                ("aud", aud),
                ("sub", sub),
                ("sid", sid),
                ("jti", jti),
                ("iat", iat),
                ("exp", exp),
                ("client_id", client_id),
            ] {
                if let Some(v) = v {
                    c.insert(k.to_owned(), v);
                }
            }
            c
        })
}

/// The model of DESIGN §7.4 for a token signed with the signing key.
fn should_verify(h: &Map<String, Value>, c: &Map<String, Value>) -> bool {
    let s = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let n = |k: &str| c.get(k).and_then(Value::as_i64);
    let typ = s(h, "typ").unwrap_or_default().to_ascii_lowercase();
    h.get("alg") == Some(&json!("EdDSA"))
        && (typ == "at+jwt" || typ == "application/at+jwt")
        && s(h, "kid").as_deref() == Some(TOKENS.keys.signing_kid())
        && !h.contains_key("crit")
        && s(c, "iss").as_deref() == Some(ISSUER)
        && s(c, "aud").as_deref() == Some(AUDIENCE)
        && n("exp").is_some_and(|e| e > NOW_SECS)
        && n("iat").is_some_and(|i| i <= NOW_SECS + 60)
        && ["sub", "sid", "jti"]
            .iter()
            .all(|k| s(c, k).is_some_and(|v| !v.is_empty()))
        && c.get("client_id").is_none_or(Value::is_string)
}

proptest! {
    #![proptest_config(cases(200))]

    #[test]
    fn a_minted_token_with_any_byte_changed_never_verifies(
        at in any::<prop::sample::Index>(),
        to in any::<u8>(),
    ) {
        let token = minted();
        prop_assert!(TOKENS.verify_access(&token, NOW).is_ok());
        let mut bytes = token.clone().into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != to);
        bytes[i] = to;
        let changed = String::from_utf8_lossy(&bytes);
        prop_assert!(TOKENS.verify_access(&changed, NOW).is_err(), "{changed}");
    }

    #[test]
    fn jwt_shaped_strings_with_random_segments_never_verify(
        segments in prop::collection::vec("[A-Za-z0-9_=+/-]{0,200}", 0..5),
        keep in prop::collection::vec(any::<bool>(), 3),
    ) {
        // Random segments, some replaced by the real token's own.
        let real: Vec<String> = minted().split('.').map(str::to_owned).collect();
        let mut parts = segments.clone();
        for (i, k) in keep.iter().enumerate() {
            if *k && i < parts.len() && i < 2 {
                parts[i] = real[i].clone();
            }
        }
        let token = parts.join(".");
        prop_assert!(TOKENS.verify_access(&token, NOW).is_err(), "{token}");
    }

    #[test]
    fn a_token_signed_with_our_key_verifies_exactly_when_header_and_claims_are_right(
        h in header(),
        c in claims(),
    ) {
        let token = signed(&Value::Object(h.clone()), &Value::Object(c.clone()));
        let verdict = TOKENS.verify_access(&token, NOW);
        prop_assert_eq!(
            verdict.is_ok(),
            should_verify(&h, &c),
            "{:?} for {:?} {:?}", verdict, h, c
        );
    }
}
