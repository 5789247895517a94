//! Access-token verification (DESIGN §7.4), three ways, by the first byte:
//! 0. the input as a token;
//! 1. a token the service minted, with bytes changed where the input says: never accepted;
//! 2. a header and claims of the input's choosing (cut at NUL), signed with the service's own
//!    key: accepted only with `alg: EdDSA`, `typ: at+jwt`, a known `kid`, this `iss` and `aud`
//!    and an `exp` still ahead.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::fuzzing::{AUDIENCE, ISSUER};
use shared::token::{AccessClaims, Tokens};
use std::sync::LazyLock;

mod common;

const NOW: i64 = 1_800_000_000_000;

static TOKENS: LazyLock<Tokens> = LazyLock::new(shared::fuzzing::tokens);

/// What an accepted token must be, read from its own header and claims.
fn check_accepted(token: &str, claims: &AccessClaims) {
    let header = token.split('.').next().unwrap_or_default();
    let header: Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .expect("an accepted token has a JSON header");
    assert_eq!(header["alg"], "EdDSA");
    let typ = header["typ"].as_str().unwrap_or_default();
    assert!(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt"));
    assert!(header.get("crit").is_none());
    let kid = header["kid"].as_str().unwrap_or_default();
    assert!(TOKENS.keys.verifying_kids().any(|k| k == kid));
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, AUDIENCE);
    assert!(claims.exp > NOW / 1000);
    assert!(!claims.sub.is_empty() && !claims.sid.is_empty() && !claims.jti.is_empty());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            let raw = String::from_utf8_lossy(rest);
            if let Ok(claims) = TOKENS.verify_access(&raw, NOW) {
                check_accepted(&raw, &claims);
            }
        }
        1 => {
            let minted = TOKENS
                .mint_access("m_1", "s_1", NOW + 3_600_000, Some("web"), NOW)
                .expect("the fixed key signs");
            let mut bytes = minted.token.clone().into_bytes();
            for pair in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % bytes.len();
                bytes[at] ^= pair[2];
            }
            let changed = String::from_utf8_lossy(&bytes).into_owned();
            let verdict = TOKENS.verify_access(&changed, NOW);
            if changed == minted.token {
                assert_eq!(verdict, Ok(minted.claims));
            } else {
                assert!(
                    verdict.is_err(),
                    "a token with a byte changed verified: {changed}"
                );
            }
        }
        _ => {
            let p = common::parts(rest, 2);
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(&p[0]),
                URL_SAFE_NO_PAD.encode(&p[1])
            );
            let signature = SigningKey::from_bytes(&[7; 32]).sign(input.as_bytes());
            let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
            if let Ok(claims) = TOKENS.verify_access(&token, NOW) {
                check_accepted(&token, &claims);
            }
        }
    }
});
