//! The README's resource-server example, compiled and run: the code between the markers is
//! the README's Rust block, byte for byte, and verifies a real access token from the JWKS
//! alone — and refuses what it must.

mod common;

use shared::testing::{self, TEST_AUDIENCE, TEST_ISSUER, answer};

// README:begin
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
    sid: String,
    client_id: String,
    exp: i64,
}

fn verify(token: &str, jwks: &JwkSet, issuer: &str, audience: &str) -> Option<Claims> {
    let header = decode_header(token).ok()?;
    if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some("at+jwt") {
        return None; // pin the algorithm and the RFC 9068 type
    }
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref()?)?).ok()?;
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_issuer(&[issuer]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    decode::<Claims>(token, &key, &v).ok().map(|d| d.claims)
}
// README:end

#[test]
fn the_readme_shows_this_example_as_it_is_tested() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let this = std::fs::read_to_string(file!()).unwrap_or_else(|_| {
        std::fs::read_to_string(root.join("tests/tests/resource_server.rs")).unwrap()
    });
    let example = this
        .split("// README:begin\n")
        .nth(1)
        .and_then(|s| s.split("// README:end").next())
        .unwrap();
    assert!(
        readme.contains(&format!("```rust\n{example}```")),
        "README's resource-server example differs from tests/tests/resource_server.rs"
    );
}

#[tokio::test]
async fn the_example_verifies_a_real_access_token_and_refuses_others() {
    let t = testing::app().await;
    let (member, st) = t
        .signed_in("ann@example.com", "correct horse battery staple")
        .await;
    let a = common::exchange(&t, &st).await;
    let access = a.json["access_token"].as_str().unwrap().to_owned();
    let req = testing::request("GET", "/.well-known/jwks.json", &[], "", common::IP);
    let jwks = answer(token::handler::handle(&t.app, req, "r".into()).await);
    let jwks: JwkSet = serde_json::from_str(&jwks.text).unwrap();

    let claims = verify(&access, &jwks, TEST_ISSUER, TEST_AUDIENCE).expect("verifies");
    assert_eq!(claims.sub, member.member_id);
    assert_eq!(claims.client_id, "default");
    assert!(!claims.sid.is_empty() && claims.exp > 0);
    assert!(verify(&access, &jwks, TEST_ISSUER, "another-api").is_none());
    assert!(verify(&access, &jwks, "https://evil.example", TEST_AUDIENCE).is_none());
    assert!(
        verify(
            &access[..access.len() - 3],
            &jwks,
            TEST_ISSUER,
            TEST_AUDIENCE
        )
        .is_none()
    );
    assert!(verify(&st, &jwks, TEST_ISSUER, TEST_AUDIENCE).is_none());
}
