//! The sign-on names of DESIGN §3.3: who may call `POST /v2/sign-on`, and which members it may
//! create. Only hashes of API keys are ever configured; an entry that is not a SHA-256 hex
//! digest is refused without echoing it, since it may be a key pasted by mistake. Behind the IAM
//! authorizer (`SIGN_ON_IAM_AUTHORIZER`, set by template.yaml) the allowed-principals list is
//! required: empty, it would admit every principal of the account that may invoke the API.

use super::{ConfigError, Source, boolean, key_hashes, list};
use crate::member::PROFILE_FIELDS;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignOnConfig {
    /// `SIGN_ON_IAM_AUTHORIZER`: the route is behind the HTTP API's IAM authorizer.
    pub iam_authorizer: bool,
    /// `SIGN_ON_ALLOWED_PRINCIPALS`: IAM principal ARNs; never empty behind the IAM authorizer.
    /// Empty (API keys only) = any IAM principal a request carries (`auth::trusted`).
    pub allowed_principals: Vec<String>,
    /// `SIGN_ON_API_KEY_HASHES`: lower-case SHA-256 hex of each accepted API key.
    pub api_key_hashes: Vec<String>,
    /// `SIGN_ON_ALLOWED_EMAIL_DOMAINS`: domains in their ASCII (IDNA) form, as member email
    /// keys hold them; empty = any domain.
    pub allowed_email_domains: Vec<String>,
    /// `SIGN_ON_REQUIRED_PROFILE_FIELDS`: IdentityProfile field names every sign-on must give.
    pub required_profile_fields: Vec<&'static str>,
}

impl SignOnConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        const PRINCIPALS: &str = "SIGN_ON_ALLOWED_PRINCIPALS";
        let allowed_principals = list(src, PRINCIPALS);
        for p in &allowed_principals {
            if !is_principal_arn(p) {
                return Err(ConfigError {
                    var: PRINCIPALS,
                    problem: format!(
                        "{p:?} is not an IAM user, role or assumed-role ARN \
                         (arn:<partition>:iam::<account>:user/… or :role/…, or arn:<partition>:sts::<account>:assumed-role/…)"
                    ),
                });
            }
        }
        // The template sets this beside the route's IAM authorizer.
        const IAM: &str = "SIGN_ON_IAM_AUTHORIZER";
        let iam_authorizer = boolean(src, IAM, false)?;
        if iam_authorizer && allowed_principals.is_empty() {
            return Err(ConfigError {
                var: PRINCIPALS,
                problem: format!(
                    "is required when {IAM} is true: an empty list would admit every principal \
                     of the account that may invoke the API"
                ),
            });
        }

        let api_key_hashes = key_hashes(
            src,
            "SIGN_ON_API_KEY_HASHES",
            "cargo run -p sign-on --bin mint-api-key",
        )?;

        const DOMAINS: &str = "SIGN_ON_ALLOWED_EMAIL_DOMAINS";
        let mut allowed_email_domains = vec![];
        for entry in list(src, DOMAINS) {
            let entry = entry.trim_start_matches('@');
            // Compared with the domain of a member's email key, which is in ASCII form.
            let Some(d) = idna::domain_to_ascii(entry).ok().filter(|d| is_domain(d)) else {
                return Err(ConfigError {
                    var: DOMAINS,
                    problem: format!("{entry:?} is not a domain name (e.g. example.com)"),
                });
            };
            allowed_email_domains.push(d);
        }

        const REQUIRED: &str = "SIGN_ON_REQUIRED_PROFILE_FIELDS";
        let mut required_profile_fields = vec![];
        for f in list(src, REQUIRED) {
            let Some(known) = PROFILE_FIELDS.iter().find(|k| **k == f) else {
                return Err(ConfigError {
                    var: REQUIRED,
                    problem: format!(
                        "{f:?} is not an IdentityProfile field ({})",
                        PROFILE_FIELDS.join(", ")
                    ),
                });
            };
            if !required_profile_fields.contains(known) {
                required_profile_fields.push(*known);
            }
        }

        Ok(Self {
            iam_authorizer,
            allowed_principals,
            api_key_hashes,
            allowed_email_domains,
            required_profile_fields,
        })
    }
}

/// `arn:<partition>:iam::<account>:user/…|role/…` or `arn:<partition>:sts::<account>:assumed-role/…`.
pub(super) fn is_principal_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let resource_ok = match service {
        "iam" => resource.starts_with("user/") || resource.starts_with("role/"),
        "sts" => resource.starts_with("assumed-role/"),
        _ => false,
    };
    scheme == "arn"
        && partition.starts_with("aws")
        && region.is_empty()
        && account_ok
        && resource_ok
        && !arn.contains(char::is_whitespace)
}

fn is_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<SignOnConfig, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SignOnConfig::from_source(&m)
    }

    #[test]
    fn nothing_configured_means_no_key_no_principal_list_and_no_restriction() {
        assert_eq!(parse(&[]).unwrap(), SignOnConfig::default());
    }

    #[test]
    fn lists_are_parsed_and_normalized() {
        let hash = "AB".repeat(32);
        let c = parse(&[
            (
                "SIGN_ON_ALLOWED_PRINCIPALS",
                "arn:aws:iam::123456789012:role/idp-bridge, arn:aws:iam::123456789012:user/migrator",
            ),
            ("SIGN_ON_API_KEY_HASHES", &format!("{hash} ,{}", "0".repeat(64))),
            ("SIGN_ON_ALLOWED_EMAIL_DOMAINS", "Example.COM,@corp.example.org"),
            ("SIGN_ON_REQUIRED_PROFILE_FIELDS", "firstName,lastName,firstName"),
        ])
        .unwrap();
        assert_eq!(c.allowed_principals.len(), 2);
        assert_eq!(c.api_key_hashes, ["ab".repeat(32), "0".repeat(64)]);
        assert_eq!(c.allowed_email_domains, ["example.com", "corp.example.org"]);
        assert!(!c.iam_authorizer);
        assert_eq!(c.required_profile_fields, ["firstName", "lastName"]);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("SIGN_ON_ALLOWED_PRINCIPALS", "*"),
            ("SIGN_ON_ALLOWED_PRINCIPALS", "arn:aws:iam::123:role/x"),
            ("SIGN_ON_ALLOWED_PRINCIPALS", "arn:aws:s3:::bucket"),
            ("SIGN_ON_API_KEY_HASHES", "abc"),
            ("SIGN_ON_API_KEY_HASHES", &"g".repeat(64)),
            ("SIGN_ON_ALLOWED_EMAIL_DOMAINS", "localhost"),
            ("SIGN_ON_ALLOWED_EMAIL_DOMAINS", "a b.com"),
            ("SIGN_ON_ALLOWED_EMAIL_DOMAINS", "xn--zz.example"),
            ("SIGN_ON_REQUIRED_PROFILE_FIELDS", "first_name"),
        ] {
            let e = parse(&[(var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{value}: {e}");
        }
    }

    #[test]
    fn email_domains_are_kept_in_the_ascii_form_of_member_email_keys() {
        for (configured, kept) in [
            ("bücher.de", "xn--bcher-kva.de"),
            ("BÜCHER.de", "xn--bcher-kva.de"),
            ("@bücher.de", "xn--bcher-kva.de"),
            ("xn--bcher-kva.de", "xn--bcher-kva.de"),
            ("Xn--Bcher-Kva.DE", "xn--bcher-kva.de"),
            ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
            ("corp.example", "corp.example"),
        ] {
            let c = parse(&[("SIGN_ON_ALLOWED_EMAIL_DOMAINS", configured)]).unwrap();
            assert_eq!(c.allowed_email_domains, [kept], "{configured}");
        }
    }

    #[test]
    fn behind_the_iam_authorizer_an_allowed_principals_list_is_required() {
        let role = "arn:aws:iam::123456789012:role/idp-bridge";
        for (iam, principals, outcome) in [
            ("true", "", Err("SIGN_ON_ALLOWED_PRINCIPALS")),
            ("true", " , ", Err("SIGN_ON_ALLOWED_PRINCIPALS")),
            ("true", role, Ok(true)),
            ("false", "", Ok(false)),
            ("", "", Ok(false)),
            ("sometimes", role, Err("SIGN_ON_IAM_AUTHORIZER")),
        ] {
            let got = parse(&[
                ("SIGN_ON_IAM_AUTHORIZER", iam),
                ("SIGN_ON_ALLOWED_PRINCIPALS", principals),
            ]);
            match (got, outcome) {
                (Ok(c), Ok(iam_on)) => assert_eq!(c.iam_authorizer, iam_on, "{iam} {principals:?}"),
                (Err(e), Err(var)) => {
                    assert_eq!(e.var, var, "{iam} {principals:?}: {e}");
                    if iam == "true" {
                        assert!(e.to_string().contains("SIGN_ON_IAM_AUTHORIZER"), "{e}");
                    }
                }
                (got, outcome) => panic!("{iam} {principals:?}: {got:?}, expected {outcome:?}"),
            }
        }
    }

    #[test]
    fn a_key_configured_by_mistake_is_not_echoed_in_the_error() {
        let key = "sok_4nOtAHashButAKeyThatSomeonePastedHere0123456789abcdef";
        let e = parse(&[("SIGN_ON_API_KEY_HASHES", key)]).unwrap_err();
        assert!(!e.to_string().contains(key), "{e}");
        assert!(!e.to_string().contains(&key[4..20]), "{e}");
    }
}
