//! The signing key ring: Ed25519 keys from PEM, their ids and the JWKS document.
//!
//! `SIGNING_KEY` (or the Secrets Manager secret) holds one or more concatenated PEM blocks.
//! The first must be a PKCS#8 private key (`openssl genpkey -algorithm ed25519`): it signs.
//! Every further block — a private key, or just a `PUBLIC KEY` — only verifies and stays in
//! the JWKS document, so tokens signed before a rotation keep verifying until they expire.
//! A key's id is its RFC 7638 JWK thumbprint (SHA-256): stable, derived from the key alone.

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{DecodingKey, EncodingKey};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The key that signs, by id.
#[derive(Clone)]
struct Signer {
    kid: String,
    key: EncodingKey,
}

/// A key that verifies, by id, with its public JWK.
#[derive(Clone)]
struct Verifier {
    kid: String,
    key: DecodingKey,
    jwk: Jwk,
}

/// The current signing key and every key that still verifies (the current one first).
/// `Debug` shows key ids only.
#[derive(Clone)]
pub struct Keys {
    signer: Signer,
    verifiers: Vec<Verifier>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("signing_kid", &self.signer.kid)
            .field(
                "verifying_kids",
                &self.verifiers.iter().map(|v| &v.kid).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a key ring could not be built; never carries key material.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl Keys {
    /// The ring from concatenated PEM blocks; the first must be a private key.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let blocks = pem::parse_many(text.trim().as_bytes())
            .map_err(|_| KeyError("is not PEM text".into()))?;
        let mut blocks = blocks.iter().enumerate();
        let Some((_, first)) = blocks.next() else {
            return Err(KeyError("holds no PEM block".into()));
        };
        if first.tag() != "PRIVATE KEY" {
            return Err(KeyError(format!(
                "its first PEM block is {:?}; it must be the Ed25519 PRIVATE KEY that signs",
                first.tag()
            )));
        }
        let signing = SigningKey::from_pkcs8_der(first.contents()).map_err(|_| {
            KeyError("its first PEM block is not an Ed25519 PKCS#8 private key".into())
        })?;
        // jsonwebtoken wants the 48-byte PKCS#8 v1 form; keys that also embed their public
        // half (v2) are re-encoded without it.
        let v1 = KeypairBytes {
            secret_key: signing.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_der()
        .map_err(|_| KeyError("the signing key cannot be re-encoded".into()))?;
        let current = verifier(&signing.verifying_key())?;
        let signer = Signer {
            kid: current.kid.clone(),
            key: EncodingKey::from_ed_der(v1.as_bytes()),
        };
        let mut verifiers = vec![current];
        for (i, block) in blocks {
            let public = match block.tag() {
                "PRIVATE KEY" => SigningKey::from_pkcs8_der(block.contents())
                    .map(|k| k.verifying_key())
                    .ok(),
                "PUBLIC KEY" => VerifyingKey::from_public_key_der(block.contents()).ok(),
                _ => None,
            }
            .ok_or_else(|| {
                KeyError(format!(
                    "PEM block {} is not an Ed25519 PRIVATE KEY or PUBLIC KEY",
                    i + 1
                ))
            })?;
            let v = verifier(&public)?;
            if verifiers.iter().any(|known| known.kid == v.kid) {
                return Err(KeyError(format!(
                    "PEM block {} repeats an earlier key",
                    i + 1
                )));
            }
            verifiers.push(v);
        }
        Ok(Self { signer, verifiers })
    }

    /// The id of the key that signs new tokens.
    pub fn signing_kid(&self) -> &str {
        &self.signer.kid
    }

    /// The ids of every key that verifies, the signing key's first.
    pub fn verifying_kids(&self) -> impl Iterator<Item = &str> {
        self.verifiers.iter().map(|v| v.kid.as_str())
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.signer.key
    }

    pub(crate) fn decoding_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifiers.iter().find(|v| v.kid == kid).map(|v| &v.key)
    }

    /// The JWKS document (RFC 7517) of every verifying key.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.verifiers.iter().map(|v| &v.jwk).collect::<Vec<_>>() })
    }
}

fn verifier(public: &VerifyingKey) -> Result<Verifier, KeyError> {
    let x = URL_SAFE_NO_PAD.encode(public.as_bytes());
    let mut jwk = Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: x.clone(),
        }),
    };
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| KeyError("a key thumbprint cannot be computed".into()))?;
    jwk.common = CommonParameters {
        public_key_use: Some(PublicKeyUse::Signature),
        key_algorithm: Some(KeyAlgorithm::EdDSA),
        key_id: Some(kid.clone()),
        ..CommonParameters::default()
    };
    let key = DecodingKey::from_ed_components(&x)
        .map_err(|_| KeyError("a public key cannot be decoded".into()))?;
    Ok(Verifier { kid, key, jwk })
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::pkcs8::EncodePublicKey;

    use super::*;

    /// RFC 8037 appendix A.1: the Ed25519 key whose thumbprint is given in A.3.
    const RFC8037_SEED: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const RFC8037_KID: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    fn pem_of(seed: &[u8; 32]) -> String {
        let der = KeypairBytes {
            secret_key: *seed,
            public_key: None,
        }
        .to_pkcs8_der()
        .unwrap();
        pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_bytes().to_vec()))
    }

    fn rfc_seed() -> [u8; 32] {
        URL_SAFE_NO_PAD
            .decode(RFC8037_SEED)
            .unwrap()
            .try_into()
            .unwrap()
    }

    #[test]
    fn the_key_id_is_the_rfc7638_thumbprint() {
        let keys = Keys::from_pem(&pem_of(&rfc_seed())).unwrap();
        assert_eq!(keys.signing_kid(), RFC8037_KID);
        let jwks = keys.jwks();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(jwk["kid"], RFC8037_KID);
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(jwk["use"], "sig");
        assert!(
            jwk.get("d").is_none(),
            "the JWKS must not carry the private key"
        );
    }

    #[test]
    fn the_openssl_form_and_the_v2_form_load_alike() {
        // `openssl genpkey -algorithm ed25519` output for the RFC 8037 key (PKCS#8 v1).
        let openssl = "-----BEGIN PRIVATE KEY-----\n\
                       MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
                       -----END PRIVATE KEY-----\n";
        assert_eq!(Keys::from_pem(openssl).unwrap().signing_kid(), RFC8037_KID);
        let signing = SigningKey::from_bytes(&rfc_seed());
        let v2 = signing.to_pkcs8_der().unwrap();
        let v2 = pem::encode(&pem::Pem::new("PRIVATE KEY", v2.as_bytes().to_vec()));
        assert_eq!(Keys::from_pem(&v2).unwrap().signing_kid(), RFC8037_KID);
    }

    fn public_pem(seed: &[u8; 32]) -> String {
        let der = SigningKey::from_bytes(seed)
            .verifying_key()
            .to_public_key_der()
            .unwrap();
        pem::encode(&pem::Pem::new("PUBLIC KEY", der.as_bytes().to_vec()))
    }

    #[test]
    fn later_blocks_only_verify_and_are_published() {
        let old = pem_of(&rfc_seed());
        let new = pem_of(&[7u8; 32]);
        let public = public_pem(&[9u8; 32]);
        let keys = Keys::from_pem(&format!("{new}{old}\n{public}")).unwrap();
        assert_ne!(keys.signing_kid(), RFC8037_KID);
        let kids: Vec<&str> = keys.verifying_kids().collect();
        assert_eq!(kids.len(), 3);
        assert_eq!(kids[0], keys.signing_kid());
        assert_eq!(kids[1], RFC8037_KID);
        assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 3);
        assert!(keys.decoding_key(RFC8037_KID).is_some());
        assert!(keys.decoding_key("nope").is_none());
        assert!(!format!("{keys:?}").contains("PRIVATE"));
    }

    #[test]
    fn bad_key_text_is_refused_with_a_reason() {
        let public_first = public_pem(&[9u8; 32]);
        let key = pem_of(&[1u8; 32]);
        for (text, why) in [
            ("", "no PEM block"),
            ("not a key", "no PEM block"),
            (public_first.as_str(), "first PEM block"),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "not an Ed25519",
            ),
            (&format!("{key}{key}"), "repeats"),
            (
                &format!("{key}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                "PEM block 2",
            ),
        ] {
            let e = Keys::from_pem(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }
}
