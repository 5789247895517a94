//! The operators' names of DESIGN §3.12: who may call `/v2/admin/...`. Both ways fail closed:
//! `ADMIN_ALLOWED_PRINCIPALS` empty admits no IAM principal, `ADMIN_API_KEY_HASHES` empty no
//! key, so with neither set every call is 401. Only hashes of keys are configured; an entry
//! that is not a SHA-256 hex digest is refused without echoing it.

use super::{ConfigError, Source, key_hashes, list, sign_on::is_principal_arn};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminConfig {
    /// `ADMIN_ALLOWED_PRINCIPALS`: IAM user, role or assumed-role ARNs (a role admits its
    /// sessions); empty = no IAM caller is an operator.
    pub allowed_principals: Vec<String>,
    /// `ADMIN_API_KEY_HASHES`: lower-case SHA-256 hex of each operator API key.
    pub api_key_hashes: Vec<String>,
}

impl AdminConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        const PRINCIPALS: &str = "ADMIN_ALLOWED_PRINCIPALS";
        let allowed_principals = list(src, PRINCIPALS);
        if let Some(p) = allowed_principals.iter().find(|p| !is_principal_arn(p)) {
            return Err(ConfigError {
                var: PRINCIPALS,
                problem: format!(
                    "{p:?} is not an IAM user, role or assumed-role ARN \
                     (arn:<partition>:iam::<account>:user/… or :role/…, or arn:<partition>:sts::<account>:assumed-role/…)"
                ),
            });
        }
        Ok(Self {
            allowed_principals,
            api_key_hashes: key_hashes(
                src,
                "ADMIN_API_KEY_HASHES",
                "cargo run -p admin --bin mint-admin-key",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<AdminConfig, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AdminConfig::from_source(&m)
    }

    #[test]
    fn nothing_configured_admits_nobody() {
        let c = parse(&[]).unwrap();
        assert!(c.allowed_principals.is_empty() && c.api_key_hashes.is_empty());
    }

    #[test]
    fn principals_and_hashes_are_parsed_and_bad_ones_name_their_variable() {
        let c = parse(&[
            (
                "ADMIN_ALLOWED_PRINCIPALS",
                "arn:aws:iam::123456789012:role/operators, arn:aws:iam::123456789012:user/oncall",
            ),
            ("ADMIN_API_KEY_HASHES", &"AB".repeat(32)),
        ])
        .unwrap();
        assert_eq!(c.allowed_principals.len(), 2);
        assert_eq!(c.api_key_hashes, ["ab".repeat(32)]);
        let key = "adk_aKeyPastedWhereItsHashBelongs0123456789abcdefghijklmn";
        for (var, value) in [
            ("ADMIN_ALLOWED_PRINCIPALS", "*"),
            ("ADMIN_ALLOWED_PRINCIPALS", "arn:aws:s3:::bucket"),
            ("ADMIN_API_KEY_HASHES", "abc"),
            ("ADMIN_API_KEY_HASHES", key),
        ] {
            let e = parse(&[(var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{value}: {e}");
            assert!(!e.to_string().contains(&key[4..24]), "{e}");
        }
    }
}
