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
    /// `DEFAULT_CLIENT_ID`: the `client_id` claim and family binding when none is named.
    pub default_client_id: String,
    /// `REFRESH_REUSE_INTERVAL_SECONDS`: how long the token just rotated away still gets the
    /// current one back (0: never).
    pub reuse_interval_seconds: i64,
    /// `INTROSPECTION_API_KEY_HASHES`: SHA-256 hex of the keys resource servers introspect with.
    pub introspection_api_key_hashes: Vec<String>,
}

/// `DEFAULT_CLIENT_ID`'s default.
pub const DEFAULT_CLIENT_ID: &str = "default";
/// Longest `client_id` (RFC 6749 allows any printable ASCII; 128 is plenty).
pub const MAX_CLIENT_ID: usize = 128;

/// Whether `c` may be a `client_id`: 1 to 128 printable ASCII characters.
pub fn is_client_id(c: &str) -> bool {
    !c.is_empty() && c.len() <= MAX_CLIENT_ID && c.bytes().all(|b| (0x20..0x7f).contains(&b))
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
            default_client_id: match src.get("DEFAULT_CLIENT_ID") {
                None => DEFAULT_CLIENT_ID.to_owned(),
                Some(c) if is_client_id(c.trim()) => c.trim().to_owned(),
                Some(_) => {
                    return Err(ConfigError {
                        var: "DEFAULT_CLIENT_ID",
                        problem: format!("must be 1 to {MAX_CLIENT_ID} printable ASCII characters"),
                    });
                }
            },
            reuse_interval_seconds: number(src, "REFRESH_REUSE_INTERVAL_SECONDS", 10i64, 0, 300)?,
            introspection_api_key_hashes: crate::config::key_hashes(
                src,
                "INTROSPECTION_API_KEY_HASHES",
                "cargo run -p token --bin mint-introspection-key",
            )?,
        })
    }

    /// The rules a refresh family is issued and rotated under, for a request naming
    /// `client_id` (or none: the default client).
    pub fn issue<'a>(&'a self, client_id: Option<&'a str>) -> crate::session::Issue<'a> {
        crate::session::Issue {
            client_id: client_id.unwrap_or(&self.default_client_id),
            default_client: client_id.is_none_or(|c| c == self.default_client_id),
            ttl_seconds: self.refresh_ttl_seconds,
            reuse_interval_seconds: self.reuse_interval_seconds,
        }
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
    pub async fn from_env(sdk: &aws_config::SdkConfig) -> Result<Option<Self>, ConfigError> {
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
                (read_secret(sdk, var, arn.trim()).await?, var)
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
