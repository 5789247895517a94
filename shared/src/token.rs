//! Member tokens (DESIGN §3.4): signed JWT access tokens and opaque rotating refresh tokens.
//!
//! `Tokens` is what a function that mints or verifies access tokens builds once at init: the
//! token settings and the key ring. `keys` owns the Ed25519 keys and the JWKS document,
//! `access` signs access tokens and holds the one function that verifies them. Refresh tokens
//! are opaque and live in their session's item: they belong to `crate::session::refresh`.

pub mod access;
pub mod keys;

pub use access::{ACCESS_TOKEN_TYP, AccessClaims, AccessToken, Rejection};
pub use keys::Keys;

use crate::config::{ConfigError, Env, Source, number, read_secret, required};

/// The `subject_token_type` of a session token in a token exchange.
pub const SESSION_TOKEN_TYPE: &str = "urn:x-member-auth:token-type:session";
/// RFC 8693's name for what the exchange issues.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The settings of DESIGN §6 for tokens; durations in seconds.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub issuer: String,
    pub audience: String,
    pub access_ttl_seconds: i64,
    /// How long a refresh token works unused; each rotation starts it afresh. Never beyond
    /// the session's own expiry.
    pub refresh_ttl_seconds: i64,
}

impl TokenConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let day = 86_400;
        let text = |var: &'static str| -> Result<String, ConfigError> {
            let v = required(src, var)?.trim().to_owned();
            if v.len() > 512 || v.chars().any(char::is_control) {
                return Err(ConfigError {
                    var,
                    problem: "must be at most 512 printable characters".into(),
                });
            }
            Ok(v)
        };
        Ok(Self {
            issuer: text("ISSUER")?,
            audience: text("AUDIENCE")?,
            access_ttl_seconds: number(src, "ACCESS_TOKEN_TTL_SECONDS", 900i64, 60, day)?,
            refresh_ttl_seconds: number(src, "REFRESH_TOKEN_TTL_SECONDS", 30 * day, 60, 400 * day)?,
        })
    }
}

/// Token settings and keys, built once at init.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub config: TokenConfig,
    pub keys: Keys,
}

impl Tokens {
    /// From settings and the PEM text of the key ring; `var` names where the PEM came from.
    pub fn new(config: TokenConfig, pem: &str, var: &'static str) -> Result<Self, ConfigError> {
        let keys = Keys::from_pem(pem).map_err(|e| ConfigError {
            var,
            problem: e.to_string(),
        })?;
        Ok(Self { config, keys })
    }

    /// The production wiring: `None` when neither `SIGNING_KEY` nor `SIGNING_KEY_SECRET_ARN`
    /// is set (the function then neither mints nor accepts access tokens). The secret is read
    /// once, here, at init.
    pub async fn from_env() -> Result<Option<Self>, ConfigError> {
        let pem = Env.get("SIGNING_KEY");
        let arn = Env.get("SIGNING_KEY_SECRET_ARN");
        let (pem, var) = match (pem, arn) {
            (None, None) => return Ok(None),
            (Some(_), Some(_)) => {
                return Err(ConfigError {
                    var: "SIGNING_KEY",
                    problem: "set either SIGNING_KEY or SIGNING_KEY_SECRET_ARN, not both".into(),
                });
            }
            (Some(pem), None) => (pem, "SIGNING_KEY"),
            (None, Some(arn)) => {
                let var = "SIGNING_KEY_SECRET_ARN";
                (read_secret(var, arn.trim()).await?, var)
            }
        };
        Self::new(TokenConfig::from_source(&Env)?, &pem, var).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn token_settings_have_defaults_and_name_what_is_wrong() {
        let c =
            TokenConfig::from_source(&vars(&[("ISSUER", "https://a"), ("AUDIENCE", "b")])).unwrap();
        assert_eq!(c.access_ttl_seconds, 900);
        assert_eq!(c.refresh_ttl_seconds, 30 * 86_400);
        for (pairs, var) in [
            (vec![("AUDIENCE", "b")], "ISSUER"),
            (vec![("ISSUER", "a")], "AUDIENCE"),
            (
                vec![
                    ("ISSUER", "a"),
                    ("AUDIENCE", "b"),
                    ("ACCESS_TOKEN_TTL_SECONDS", "0"),
                ],
                "ACCESS_TOKEN_TTL_SECONDS",
            ),
            (
                vec![
                    ("ISSUER", "a"),
                    ("AUDIENCE", "b"),
                    ("REFRESH_TOKEN_TTL_SECONDS", "x"),
                ],
                "REFRESH_TOKEN_TTL_SECONDS",
            ),
        ] {
            let e = TokenConfig::from_source(&vars(&pairs)).unwrap_err();
            assert_eq!(e.var, var, "{e}");
        }
        let config =
            TokenConfig::from_source(&vars(&[("ISSUER", "a"), ("AUDIENCE", "b")])).unwrap();
        let e = Tokens::new(config, "garbage", "SIGNING_KEY").unwrap_err();
        assert_eq!(e.var, "SIGNING_KEY");
        assert!(!e.to_string().contains("garbage"));
    }
}
