//! The settings of the flows that send mail (DESIGN §3.9, §3.10, §3.13): account recovery,
//! email verification, and the sender address. Their counters' limits live in `LockoutConfig`
//! with the other counters of §4.

use super::{ConfigError, Source, boolean, is_allowed_redirect, list, number};

/// Account recovery (DESIGN §3.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// `RECOVERY_PAGE_URL`: the page a recovery link opens when the request names none. The
    /// recovery function refuses to start without it.
    pub page_url: Option<String>,
    /// `RECOVERY_REDIRECT_ALLOWLIST`: the other pages a request may name (exact URLs).
    pub redirect_allowlist: Vec<String>,
    /// `RECOVERY_TOKEN_TTL_SECONDS` (1800).
    pub token_ttl_seconds: i64,
}

impl RecoveryConfig {
    /// Whether `url` may receive a recovery link: exactly the page or an allowlist entry.
    pub fn allows(&self, url: &str) -> bool {
        self.page_url.as_deref() == Some(url) || self.redirect_allowlist.iter().any(|u| u == url)
    }
}

/// Email verification (DESIGN §3.10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationConfig {
    /// `REGISTER_REQUIRES_EMAIL_VERIFICATION`: register creates PENDING members and mails a code.
    pub register_requires: bool,
    /// `REGISTER_REQUIRES_OWNER_APPROVAL`: a verified member stays PENDING for the owner.
    pub owner_approval: bool,
    /// `VERIFY_CODE_TTL_SECONDS` (600): how long a code, and its stateToken, live.
    pub code_ttl_seconds: i64,
    /// `VERIFY_MAX_ATTEMPTS` (5): codes tried before the stateToken dies.
    pub max_attempts: u32,
}

pub(super) fn recovery(src: &dyn Source) -> Result<RecoveryConfig, ConfigError> {
    let page_url = src.get("RECOVERY_PAGE_URL").map(|u| u.trim().to_owned());
    if let Some(u) = &page_url {
        check_url("RECOVERY_PAGE_URL", u)?;
    }
    let redirect_allowlist = list(src, "RECOVERY_REDIRECT_ALLOWLIST");
    for u in &redirect_allowlist {
        check_url("RECOVERY_REDIRECT_ALLOWLIST", u)?;
    }
    Ok(RecoveryConfig {
        page_url,
        redirect_allowlist,
        token_ttl_seconds: number(src, "RECOVERY_TOKEN_TTL_SECONDS", 1800i64, 60, 86_400)?,
    })
}

pub(super) fn verification(src: &dyn Source) -> Result<VerificationConfig, ConfigError> {
    Ok(VerificationConfig {
        register_requires: boolean(src, "REGISTER_REQUIRES_EMAIL_VERIFICATION", false)?,
        owner_approval: boolean(src, "REGISTER_REQUIRES_OWNER_APPROVAL", false)?,
        code_ttl_seconds: number(src, "VERIFY_CODE_TTL_SECONDS", 600i64, 60, 86_400)?,
        max_attempts: number(src, "VERIFY_MAX_ATTEMPTS", 5u32, 1, 20)?,
    })
}

/// `EMAIL_FROM`: an address (or `Name <address>`), checked for the address's shape only.
pub(super) fn email_from(src: &dyn Source) -> Result<Option<String>, ConfigError> {
    let Some(from) = src.get("EMAIL_FROM").map(|f| f.trim().to_owned()) else {
        return Ok(None);
    };
    let address = match (from.rfind('<'), from.strip_suffix('>')) {
        (Some(i), Some(_)) => &from[i + 1..from.len() - 1],
        _ => from.as_str(),
    };
    if !email_address::EmailAddress::is_valid(address) || from.chars().any(char::is_control) {
        return Err(ConfigError {
            var: "EMAIL_FROM",
            problem: format!("{from:?} is not an email address (or Name <address>)"),
        });
    }
    Ok(Some(from))
}

fn check_url(var: &'static str, url: &str) -> Result<(), ConfigError> {
    if is_allowed_redirect(url) {
        Ok(())
    } else {
        Err(ConfigError {
            var,
            problem: format!(
                "{url:?} is not an absolute https URL (or http on localhost, 127.0.0.1 or [::1])"
            ),
        })
    }
}
