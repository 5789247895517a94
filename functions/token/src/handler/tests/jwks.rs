//! The JWKS document: the public keys that verify access tokens, current and previous.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shared::testing::{self, TEST_AUDIENCE, TEST_ISSUER};

use super::*;

#[tokio::test]
async fn an_access_token_verifies_with_a_standard_library_configured_only_from_jwks() {
    let t = testing::app().await;
    let Exchanged { st, access, .. } = signed_in_and_exchanged(&t).await;
    let session = session(&t, &st).await;

    let doc = call(&t, testing::request("GET", JWKS_PATH, &[], "", IP)).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(doc.header("content-type"), Some("application/json"));
    assert!(!doc.text.contains("\"d\""), "the JWKS holds a private key");
    assert_eq!(t.app.requests.take().requests, 0);

    // jsonwebtoken, given nothing but the JWKS document, the issuer and the audience.
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&doc.text).unwrap();
    let header = jsonwebtoken::decode_header(&access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[TEST_ISSUER]);
    validation.set_audience(&[TEST_AUDIENCE]);
    let data = jsonwebtoken::decode::<Value>(&access, &key, &validation).unwrap();
    assert_eq!(data.claims["sub"], session.member_id.as_str());
    assert_eq!(data.claims["sid"], session.session_id.as_str());

    // And the raw Ed25519 check, from the JWK's `x` alone.
    let doc: Value = serde_json::from_str(&doc.text).unwrap();
    let jwk = &doc["keys"][0];
    assert_eq!(
        (&jwk["kty"], &jwk["crv"], &jwk["alg"], &jwk["use"]),
        (
            &json!("OKP"),
            &json!("Ed25519"),
            &json!("EdDSA"),
            &json!("sig")
        )
    );
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let (input, sig) = access.rsplit_once('.').unwrap();
    let sig: [u8; 64] = URL_SAFE_NO_PAD.decode(sig).unwrap().try_into().unwrap();
    public
        .verify_strict(
            input.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .expect("the signature verifies with the published key");
}

#[tokio::test]
async fn the_jwks_publishes_previous_keys_until_they_are_dropped() {
    let (new, old) = (testing::signing_key_pem(), testing::signing_key_pem());
    let t = testing::app_with(&[("SIGNING_KEY", &format!("{new}{old}"))]).await;
    let doc = call(&t, testing::request("GET", JWKS_PATH, &[], "", IP)).await;
    let kids: Vec<&str> = doc.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    let keys = &t.tokens().keys;
    assert_eq!(kids, keys.verifying_kids().collect::<Vec<_>>());
    assert_eq!(kids.len(), 2);
    let access = signed_in_and_exchanged(&t).await.access;
    assert_eq!(
        jsonwebtoken::decode_header(&access).unwrap().kid.as_deref(),
        Some(kids[0]),
        "the first key signs"
    );
}
