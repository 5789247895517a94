//! Access-token verification (DESIGN §7.4) and `auth::authenticate` with an access token, on
//! DynamoDB Local: a valid token opens its live session; every forged, foreign, expired or
//! orphaned token opens nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use shared::auth::{Credential, Presented, authenticate};
use shared::member::Status;
use shared::session::Session;
use shared::testing::{self, TEST_AUDIENCE, TEST_ISSUER, TestApp};
use shared::token::Rejection;

struct Fixture {
    t: TestApp,
    session: Session,
    key: SigningKey,
}

async fn fixture() -> Fixture {
    let pem_text = testing::signing_key_pem();
    let t = testing::app_with(&[("SIGNING_KEY", &pem_text)]).await;
    let m = t.member("ann@example.com", None, Status::Active).await;
    let session = t.session_lasting(&m, 3600).await.session;
    Fixture {
        t,
        session,
        key: testing::signing_key_of(&pem_text),
    }
}

impl Fixture {
    fn kid(&self) -> String {
        self.t.tokens().keys.signing_kid().to_owned()
    }

    fn header(&self) -> Value {
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": self.kid()})
    }

    fn claims(&self) -> Value {
        let now = self.t.app.clock.now_secs();
        json!({
            "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "sub": self.session.member_id,
            "sid": self.session.session_id, "iat": now, "exp": now + 600, "jti": "j1",
        })
    }

    fn verify(&self, token: &str) -> Result<(), Rejection> {
        self.t.verify_access(token).map(|_| ())
    }

    /// `token` fails verification for `why` and opens no session.
    async fn assert_rejected(&self, token: &str, why: Rejection, case: &str) {
        assert_eq!(self.verify(token), Err(why), "{case}");
        if !token.is_empty() {
            assert_eq!(self.caller(token).await, None, "{case}");
        }
    }

    async fn caller(&self, token: &str) -> Option<(String, Credential)> {
        // Not `TestApp::authenticates`, which resets the request log a test below reads.
        let presented = Presented {
            bearer: Some(token.to_owned()),
            cookie: None,
        };
        authenticate(&self.t.app, &presented)
            .await
            .unwrap()
            .map(|c| (c.session.session_id, c.via))
    }
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A JWT with exactly this header and these claims, signed with Ed25519 by `key`.
fn forge(header: &Value, claims: &Value, key: &SigningKey) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn with(base: &Value, field: &str, value: Value) -> Value {
    let mut v = base.clone();
    v[field] = value;
    v
}

fn without(base: &Value, field: &str) -> Value {
    let mut v = base.clone();
    v.as_object_mut().unwrap().remove(field);
    v
}

#[tokio::test]
async fn a_valid_access_token_opens_its_live_session() {
    let f = fixture().await;
    let minted = f.t.access_token(&f.session);
    assert_eq!(
        f.caller(&minted).await,
        Some((f.session.session_id.clone(), Credential::BearerAccessToken))
    );
    // The test's own forgery, with correct header and claims, passes too: so each rejection
    // below is due to the one thing it changes.
    let forged = forge(&f.header(), &f.claims(), &f.key);
    assert_eq!(f.verify(&forged), Ok(()));
    assert!(f.caller(&forged).await.is_some());
    // Verification plus one session read.
    f.caller(&minted).await;
    assert_eq!(
        f.t.app.requests.take().operations,
        vec!["GetItem", "GetItem", "GetItem"]
    );
}

#[tokio::test]
async fn an_access_token_stops_working_when_its_session_is_revoked() {
    let f = fixture().await;
    let token = f.t.access_token(&f.session);
    assert!(f.caller(&token).await.is_some());
    assert!(f.t.revoke_session(&f.session.session_id).await);
    // The token itself is still well signed and unexpired; the session is what died.
    assert_eq!(f.verify(&token), Ok(()));
    assert_eq!(f.caller(&token).await, None);
}

#[tokio::test]
async fn an_access_token_for_an_unknown_session_or_another_member_opens_nothing() {
    let f = fixture().await;
    // Well signed and unexpired, so they verify; but no live session of that member has that id.
    for (claim, value) in [("sid", "no-such-session"), ("sub", "someone-else")] {
        let token = forge(&f.header(), &with(&f.claims(), claim, json!(value)), &f.key);
        assert_eq!(f.verify(&token), Ok(()), "{claim}");
        assert_eq!(f.caller(&token).await, None, "{claim}");
    }
}

#[tokio::test]
async fn an_access_token_expires_on_the_app_clock() {
    let f = fixture().await;
    let token = f.t.access_token(&f.session);
    let exp: i64 = {
        let payload = token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims["exp"].as_i64().unwrap()
    };
    assert_eq!(
        exp - f.t.app.clock.now_secs(),
        900,
        "ACCESS_TOKEN_TTL_SECONDS defaults to 900"
    );
    f.t.app.clock.advance_secs(899);
    assert!(f.caller(&token).await.is_some());
    f.t.app.clock.advance_secs(1);
    assert_eq!(f.verify(&token), Err(Rejection::Expired));
    assert_eq!(f.caller(&token).await, None);
}

#[tokio::test]
async fn every_kind_of_bad_token_is_rejected() {
    let f = fixture().await;
    let (h, c) = (f.header(), f.claims());
    let now = f.t.app.clock.now_secs();
    let stranger = SigningKey::from_bytes(&[42u8; 32]);
    let stranger_kid = {
        let pem_text = pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            ed25519_dalek::pkcs8::EncodePrivateKey::to_pkcs8_der(&stranger)
                .unwrap()
                .as_bytes()
                .to_vec(),
        ));
        shared::token::Keys::from_pem(&pem_text)
            .unwrap()
            .signing_kid()
            .to_owned()
    };
    let public = f.key.verifying_key().to_bytes();
    let hs256 = |secret: &[u8]| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(f.kid());
        jsonwebtoken::encode(&header, &c, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap()
    };
    let valid = forge(&h, &c, &f.key);
    // Valid tokens with one field of the header or the claims changed, signed by the ring's key.
    let header_with = |field: &str, value: Value| forge(&with(&h, field, value), &c, &f.key);
    let header_without = |field: &str| forge(&without(&h, field), &c, &f.key);
    let claims_with = |field: &str, value: Value| forge(&h, &with(&c, field, value), &f.key);
    let cases: Vec<(&str, String, Rejection)> = vec![
        (
            "alg none, unsigned",
            format!("{}.{}.", b64(&with(&h, "alg", json!("none"))), b64(&c)),
            Rejection::Malformed,
        ),
        (
            "alg none, with the real signature",
            format!(
                "{}.{}.{}",
                b64(&with(&h, "alg", json!("none"))),
                b64(&c),
                valid.rsplit('.').next().unwrap()
            ),
            Rejection::Malformed,
        ),
        (
            "HS256 keyed with the raw public key",
            hs256(&public),
            Rejection::Algorithm,
        ),
        (
            "HS256 keyed with the JWK x",
            hs256(URL_SAFE_NO_PAD.encode(public).as_bytes()),
            Rejection::Algorithm,
        ),
        (
            "signed by a key the ring does not hold, under its own kid",
            forge(&with(&h, "kid", json!(stranger_kid)), &c, &stranger),
            Rejection::UnknownKey,
        ),
        (
            "signed by a stranger, claiming the ring's kid",
            forge(&h, &c, &stranger),
            Rejection::Signature,
        ),
        ("no kid", header_without("kid"), Rejection::UnknownKey),
        ("typ JWT", header_with("typ", json!("JWT")), Rejection::Type),
        ("typ missing", header_without("typ"), Rejection::Type),
        (
            "an unknown critical header",
            header_with("crit", json!(["exp"])),
            Rejection::Malformed,
        ),
        (
            "wrong aud",
            claims_with("aud", json!("another-api")),
            Rejection::Claims,
        ),
        (
            "wrong iss",
            claims_with("iss", json!("https://evil.example")),
            Rejection::Claims,
        ),
        (
            "expired",
            claims_with("exp", json!(now - 1)),
            Rejection::Expired,
        ),
        (
            "expiring this very second",
            claims_with("exp", json!(now)),
            Rejection::Expired,
        ),
        (
            "exp: never",
            claims_with("exp", json!("never")),
            Rejection::Claims,
        ),
        (
            "exp as a numeric string",
            claims_with("exp", json!((now + 600).to_string())),
            Rejection::Claims,
        ),
        (
            "issued an hour in the future",
            claims_with("iat", json!(now + 3600)),
            Rejection::Claims,
        ),
        (
            "claims altered after signing",
            {
                let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
                parts[1] = b64(&with(&c, "sub", json!("someone-else")));
                parts.join(".")
            },
            Rejection::Signature,
        ),
        (
            "not a JWT",
            "eyJhbGciOi.garbage".into(),
            Rejection::Malformed,
        ),
        ("empty", String::new(), Rejection::Malformed),
        (
            "oversized",
            format!("{valid}{}", "A".repeat(5000)),
            Rejection::Malformed,
        ),
    ];
    for (case, token, why) in cases {
        f.assert_rejected(&token, why, case).await;
    }
    // Every claim verification relies on, missing.
    for claim in ["aud", "iss", "exp", "sid", "sub"] {
        let token = forge(&h, &without(&c, claim), &f.key);
        f.assert_rejected(&token, Rejection::Claims, &format!("{claim} missing"))
            .await;
    }
}

#[tokio::test]
async fn a_token_signed_before_a_rotation_verifies_until_the_old_key_is_dropped() {
    let old_pem = testing::signing_key_pem();
    let new_pem = testing::signing_key_pem();
    let before = testing::app_with(&[("SIGNING_KEY", &old_pem)]).await;
    let m = before.member("bo@example.com", None, Status::Active).await;
    let session = before.session_lasting(&m, 3600).await.session;
    let old_token = before.access_token(&session);
    let now = before.app.clock.now_ms();

    // The same tables, now with the new key first and the old one still verifying.
    let rotated = shared::token::Tokens::new(
        before.tokens().config.clone(),
        &format!("{new_pem}{old_pem}"),
        "SIGNING_KEY",
    )
    .unwrap();
    assert!(rotated.verify_access(&old_token, now).is_ok());
    let new_token = rotated
        .mint_access(
            &session.member_id,
            &session.session_id,
            session.expires_at,
            None,
            now,
        )
        .unwrap();
    assert_ne!(
        jsonwebtoken::decode_header(&new_token.token).unwrap().kid,
        jsonwebtoken::decode_header(&old_token).unwrap().kid
    );
    // After ACCESS_TOKEN_TTL the old key is dropped: its tokens no longer verify.
    let dropped =
        shared::token::Tokens::new(rotated.config.clone(), &new_pem, "SIGNING_KEY").unwrap();
    assert_eq!(
        dropped.verify_access(&old_token, now),
        Err(Rejection::UnknownKey)
    );
    assert!(dropped.verify_access(&new_token.token, now).is_ok());
}
