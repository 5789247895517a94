//! Bearer secrets: session tokens, refresh tokens and API keys.
//!
//! Invariant (DESIGN §7.1): every secret is 32 bytes from the OS CSPRNG, shown to its holder
//! once, and stored only as its SHA-256. A secret carries its record's id in front
//! (`st_<id>.<secret>`), so one key lookup finds the record and a constant-time comparison of
//! hashes decides; nothing usable is ever stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of entropy in every bearer secret (256 bits).
pub const SECRET_BYTES: usize = 32;

/// Random bytes from the OS CSPRNG.
pub fn random_bytes(bytes: usize) -> Vec<u8> {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    buf
}

/// Random bytes, base64url without padding.
pub fn random_b64(bytes: usize) -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// Lower-case hex SHA-256, the only form in which secrets are stored.
pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Constant-time equality of two stored-form hashes.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A bearer secret of the form `<prefix>_<id>.<secret>`. Debug never prints it.
pub struct Bearer {
    id: String,
    secret: SecretString,
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bearer({}, [redacted])", self.id)
    }
}

impl Bearer {
    /// A new secret for the record `id`.
    pub fn mint(id: String) -> Self {
        Self {
            id,
            secret: SecretString::from(random_b64(SECRET_BYTES)),
        }
    }

    /// Splits `<prefix>_<id>.<secret>`; `None` for anything of another shape.
    pub fn parse(prefix: &str, raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(prefix)?.strip_prefix('_')?;
        let (id, secret) = rest.split_once('.')?;
        let well_formed = |s: &str, max: usize| {
            !s.is_empty()
                && s.len() <= max
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !well_formed(id, 64) || !well_formed(secret, 64) {
            return None;
        }
        Some(Self {
            id: id.to_owned(),
            secret: SecretString::from(secret.to_owned()),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// A bearer for record `id` with a secret recovered elsewhere (a sealed refresh token).
    pub(crate) fn from_parts(id: String, secret: String) -> Self {
        Self {
            id,
            secret: SecretString::from(secret),
        }
    }

    /// The secret part itself, for the few derivations that need it (never stored as is).
    pub(crate) fn secret_text(&self) -> &str {
        self.secret.expose_secret()
    }

    /// The stored form of the secret part.
    pub fn hash(&self) -> String {
        sha256_hex(self.secret.expose_secret().as_bytes())
    }

    /// Whether the secret hashes to `stored`, compared in constant time.
    pub fn matches(&self, stored: &str) -> bool {
        hashes_equal(&self.hash(), stored)
    }

    /// The full token to hand to its holder, once.
    pub fn reveal(&self, prefix: &str) -> String {
        format!("{prefix}_{}.{}", self.id, self.secret.expose_secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_secret_carries_256_bits_and_round_trips() {
        let b = Bearer::mint("abc".into());
        let token = b.reveal("st");
        let parsed = Bearer::parse("st", &token).expect("parses");
        assert_eq!(parsed.id(), "abc");
        assert!(parsed.matches(&b.hash()));
        let secret = token.split_once('.').unwrap().1;
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);
    }

    #[test]
    fn two_mints_differ_and_debug_hides_the_secret() {
        let a = Bearer::mint("x".into());
        let b = Bearer::mint("x".into());
        assert_ne!(a.reveal("st"), b.reveal("st"));
        assert!(!format!("{a:?}").contains(&a.reveal("st")[5..]));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        for bad in [
            "",
            "st_",
            "st_abc",
            "rt_abc.def",
            "st_.def",
            "st_abc.",
            "st_a b.c",
            "st_abc.d\u{e9}f",
        ] {
            assert!(Bearer::parse("st", bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn sha256_is_hex_of_the_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
