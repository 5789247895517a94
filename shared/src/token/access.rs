//! Access tokens: JWTs (RFC 9068 profile) signed with Ed25519, and the one function that
//! verifies them.
//!
//! Invariant (DESIGN §7.4): a token is accepted only if its header says `alg: EdDSA`,
//! `typ: at+jwt` and the `kid` of a key in the ring, its signature verifies with that key,
//! and its claims carry this service's `iss` and `aud`, a numeric `exp` still in the future
//! on the app's clock, `sub`, `sid`, `iat` and `jti`. Everything else is refused before the
//! claims are trusted. Whether the `sid` session is still live is the caller's second check
//! (`auth::authenticate`), since that needs the sessions table.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::secret::random_b64;

use super::Tokens;

/// The `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Longer strings are not looked at (a JWT of ours is about 400 bytes).
const MAX_TOKEN_BYTES: usize = 4096;

/// Seconds an `iat` may lie in the future before a token is taken for forged.
const IAT_LEEWAY_SECONDS: i64 = 60;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The member id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A freshly signed access token. `Debug` hides the token.
pub struct AccessToken {
    pub token: String,
    pub claims: AccessClaims,
    /// Seconds until `exp`, for the `expires_in` of the token response.
    pub expires_in: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

/// Why a presented token was refused, for the audit log (never shown to the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Not a JWT, oversized, an unreadable header or an algorithm jsonwebtoken does not know
    /// (`none` among them).
    Malformed,
    /// A known algorithm other than EdDSA (HS256 keyed with the public key, RS256, ...).
    Algorithm,
    /// `typ` missing or not `at+jwt`.
    Type,
    /// No `kid`, or one not in the key ring.
    UnknownKey,
    /// The signature does not verify with the named key.
    Signature,
    /// A claim missing, of the wrong type (`"exp": "never"`), or with a wrong `iss`/`aud`.
    Claims,
    /// `exp` has passed.
    Expired,
}

/// Failure to sign: only a broken key ring can cause it.
#[derive(Debug, thiserror::Error)]
#[error("signing an access token failed: {0}")]
pub struct SignError(jsonwebtoken::errors::Error);

impl Tokens {
    /// Signs an access token for `session` that expires after the access TTL, or with the
    /// session if that comes first.
    pub fn mint_access(
        &self,
        member_id: &str,
        session_id: &str,
        session_expires_at: Millis,
        client_id: Option<&str>,
        now: Millis,
    ) -> Result<AccessToken, SignError> {
        let iat = now.div_euclid(1000);
        let exp = (iat + self.config.access_ttl_seconds)
            .min(session_expires_at.div_euclid(1000))
            .max(iat);
        let claims = AccessClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: member_id.to_owned(),
            sid: session_id.to_owned(),
            iat,
            exp,
            jti: random_b64(16),
            client_id: client_id.map(str::to_owned),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
        header.kid = Some(self.keys.signing_kid().to_owned());
        let token =
            jsonwebtoken::encode(&header, &claims, self.keys.encoding_key()).map_err(SignError)?;
        Ok(AccessToken {
            token,
            expires_in: exp - iat,
            claims,
        })
    }

    /// The one verification of access tokens. `now` is the app's clock.
    pub fn verify_access(&self, raw: &str, now: Millis) -> Result<AccessClaims, Rejection> {
        if raw.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::Malformed);
        }
        let header = jsonwebtoken::decode_header(raw).map_err(|_| Rejection::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(Rejection::Algorithm);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(Rejection::Type);
        }
        if header.crit.is_some() {
            // No extension is understood here, so none may be critical.
            return Err(Rejection::Malformed);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.decoding_key(kid))
            .ok_or(Rejection::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        // Expiry is checked below against the app's clock, the one every flow uses.
        validation.validate_exp = false;
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<AccessClaims>(raw, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature => Rejection::Signature,
                K::InvalidAlgorithm | K::InvalidAlgorithmName => Rejection::Algorithm,
                K::InvalidToken | K::Base64(_) | K::Utf8(_) => Rejection::Malformed,
                _ => Rejection::Claims,
            }
        })?;
        let claims = data.claims;
        let now_secs = now.div_euclid(1000);
        if claims.exp <= now_secs {
            return Err(Rejection::Expired);
        }
        if claims.iat > now_secs + IAT_LEEWAY_SECONDS
            || claims.sub.is_empty()
            || claims.sid.is_empty()
            || claims.jti.is_empty()
        {
            return Err(Rejection::Claims);
        }
        Ok(claims)
    }
}
