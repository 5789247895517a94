//! Configuration, parsed once at init from environment variables whose names are the
//! contract (DESIGN §6). A bad value fails start-up with a message naming the variable.

use std::collections::HashMap;

mod admin;
mod mail;
mod sign_on;
pub use admin::AdminConfig;
pub use mail::{RecoveryConfig, VerificationConfig};
pub use sign_on::SignOnConfig;
mod secrets;
pub use secrets::{
    FROM_SECRETS_MANAGER, WithSecrets, read_secret, resolve_secrets, resolve_secrets_with,
};

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

/// Where configuration values come from: the process environment, or a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name)
            .cloned()
            .filter(|v| !v.trim().is_empty())
    }
}

pub(crate) fn required(src: &dyn Source, var: &'static str) -> Result<String, ConfigError> {
    src.get(var).ok_or(ConfigError {
        var,
        problem: "is required".into(),
    })
}

pub(crate) fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(
    src: &dyn Source,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let Some(raw) = src.get(var) else {
        return Ok(default);
    };
    let v: T = raw.trim().parse().map_err(|_| ConfigError {
        var,
        problem: format!("{raw:?} is not a number"),
    })?;
    if v < min || v > max {
        return Err(ConfigError {
            var,
            problem: format!("{v} is outside {min}..={max}"),
        });
    }
    Ok(v)
}

pub(crate) fn list(src: &dyn Source, var: &'static str) -> Vec<String> {
    src.get(var)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A comma-separated list of API-key hashes (lower-case SHA-256 hex). Only hashes are ever
/// configured: an entry that is not one is refused without echoing it, since it may be a key
/// pasted by mistake. `minted_by` names the command that prints a key and its hash.
pub(crate) fn key_hashes(
    src: &dyn Source,
    var: &'static str,
    minted_by: &str,
) -> Result<Vec<String>, ConfigError> {
    let mut hashes = vec![];
    for (i, h) in list(src, var).into_iter().enumerate() {
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ConfigError {
                var,
                problem: format!(
                    "entry {} is not a SHA-256 hex digest (64 hex characters); configure the \
                     hash that `{minted_by}` prints, never a key",
                    i + 1
                ),
            });
        }
        hashes.push(h.to_ascii_lowercase());
    }
    Ok(hashes)
}

pub(crate) fn boolean(
    src: &dyn Source,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match src.get(var).as_deref().map(str::trim) {
        None => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(ConfigError {
            var,
            problem: format!("{other:?} is not true or false"),
        }),
    }
}

#[derive(Clone, Debug)]
pub struct TableNames {
    pub members: String,
    pub sessions: String,
    pub counters: String,
}

/// argon2id cost parameters (OWASP: m=19 MiB, t=2, p=1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Argon2Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// Thresholds of DESIGN §4; all durations in seconds.
#[derive(Clone, Debug)]
pub struct LockoutConfig {
    pub failure_window: i64,
    pub captcha_after_failures: u32,
    pub lock_after_failures: u32,
    pub lock_seconds: i64,
    pub lock_max_seconds: i64,
    pub ip_captcha_after_failures: u32,
    pub ip_max_failures: u32,
    pub register_ip_max_per_hour: u32,
    pub change_password_max_attempts: u32,
    /// Failures a known device (a valid `__Host-device` cookie) may make before it is locked.
    pub device_lock_after_failures: u32,
    /// The hard ceiling: argon2 verifications per email per hour, whatever else is set.
    pub max_verifications_per_hour: u32,
    /// `RECOVERY_EMAIL_MAX_PER_HOUR`: recovery mails per email per hour (DESIGN §3.9).
    pub recovery_email_max_per_hour: u32,
    /// `RECOVERY_IP_MAX_PER_HOUR`: recovery requests per client IP per hour.
    pub recovery_ip_max_per_hour: u32,
    /// `VERIFY_RESEND_MAX_PER_HOUR`: verification codes mailed per member per hour (DESIGN §3.10).
    pub verify_resend_max_per_hour: u32,
}

/// The hard ceiling of DESIGN §4 no other setting may lift.
pub const MAX_VERIFICATIONS_PER_HOUR: u32 = 100;

/// Device cookies (DESIGN §4): the key they are signed with and how long they last.
#[derive(Clone)]
pub struct DeviceCookieConfig {
    /// `DEVICE_COOKIE_KEY` (or the secret at `DEVICE_COOKIE_KEY_SECRET_ARN`); `None` where the
    /// function issues no device cookies (every function but login).
    pub key: Option<secrecy::SecretSlice<u8>>,
    pub ttl_seconds: i64,
}

impl std::fmt::Debug for DeviceCookieConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCookieConfig")
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .field("ttl_seconds", &self.ttl_seconds)
            .finish()
    }
}

/// The shortest device-cookie key accepted, in bytes (HMAC-SHA-256 wants 32).
pub const DEVICE_COOKIE_KEY_MIN_LEN: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptchaProvider {
    None,
    Recaptcha,
    Hcaptcha,
    Turnstile,
}

#[derive(Clone)]
pub struct CaptchaConfig {
    pub provider: CaptchaProvider,
    pub secret: secrecy::SecretString,
    pub verify_url: String,
    /// `CAPTCHA_EXPECTED_HOSTNAMES`: when not empty, the verifier's `hostname` must be one.
    pub expected_hostnames: Vec<String>,
    /// `CAPTCHA_MIN_SCORE`: when set, a reCAPTCHA v3 `score` below it is a rejection.
    pub min_score: Option<f64>,
}

impl std::fmt::Debug for CaptchaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaConfig")
            .field("provider", &self.provider)
            .field("verify_url", &self.verify_url)
            .field("expected_hostnames", &self.expected_hostnames)
            .field("min_score", &self.min_score)
            .finish_non_exhaustive()
    }
}

/// Everything the flows read from the environment, but the signing keys (see `token`).
#[derive(Clone, Debug)]
pub struct Config {
    pub tables: TableNames,
    pub session_ttl_seconds: i64,
    pub argon2: Argon2Cost,
    pub password_min_length: usize,
    pub password_max_length: usize,
    pub reauth_window_seconds: i64,
    pub lockout: LockoutConfig,
    pub captcha: CaptchaConfig,
    pub register_requires_captcha: bool,
    pub logout_redirect_allowlist: Vec<String>,
    /// Who may call sign-on and what it may create (DESIGN §3.3).
    pub sign_on: SignOnConfig,
    pub device_cookie: DeviceCookieConfig,
    /// `MAX_SESSIONS_PER_MEMBER`: live sessions a member may hold; a new one beyond it revokes
    /// the oldest.
    pub max_sessions_per_member: u32,
    /// `SESSION_TOUCH_INTERVAL_SECONDS`: a session's last-used time is written at most once per
    /// this interval by the member's own calls (DESIGN §3.11), so reads stay reads.
    pub session_touch_interval_seconds: i64,
    /// Who may call the operators' routes (DESIGN §3.12).
    pub admin: AdminConfig,
    /// Account recovery (DESIGN §3.9).
    pub recovery: RecoveryConfig,
    /// Email verification (DESIGN §3.10).
    pub verification: VerificationConfig,
    /// `EMAIL_FROM`: the sender of every mail (DESIGN §3.13); `None` where no mail is sent.
    pub email_from: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&Env)
    }

    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let tables = TableNames {
            members: required(src, "MEMBERS_TABLE")?,
            sessions: required(src, "SESSIONS_TABLE")?,
            counters: required(src, "COUNTERS_TABLE")?,
        };
        let day = 86_400;
        let argon2 = Argon2Cost {
            memory_kib: number(src, "ARGON2_MEMORY_KIB", 19 * 1024, 8, 4 * 1024 * 1024)?,
            iterations: number(src, "ARGON2_ITERATIONS", 2, 1, 64)?,
            parallelism: number(src, "ARGON2_PARALLELISM", 1, 1, 16)?,
        };
        let password_min_length = number(src, "PASSWORD_MIN_LENGTH", 12usize, 8, 256)?;
        let password_max_length = number(src, "PASSWORD_MAX_LENGTH", 128usize, 64, 1024)?;
        if password_max_length < password_min_length {
            return Err(ConfigError {
                var: "PASSWORD_MAX_LENGTH",
                problem: "is below PASSWORD_MIN_LENGTH".into(),
            });
        }
        let lock_seconds = number(src, "LOGIN_LOCK_SECONDS", 60i64, 1, day)?;
        let lockout = LockoutConfig {
            failure_window: number(src, "LOGIN_FAILURE_WINDOW_SECONDS", 900i64, 10, day)?,
            captcha_after_failures: number(src, "LOGIN_CAPTCHA_AFTER_FAILURES", 3u32, 0, 1000)?,
            lock_after_failures: number(src, "LOGIN_LOCK_AFTER_FAILURES", 10u32, 1, 100)?,
            lock_seconds,
            lock_max_seconds: number(src, "LOGIN_LOCK_MAX_SECONDS", 900i64, lock_seconds, day)?,
            ip_captcha_after_failures: number(src, "IP_CAPTCHA_AFTER_FAILURES", 20u32, 0, 100_000)?,
            ip_max_failures: number(src, "IP_MAX_FAILURES", 100u32, 1, 1_000_000)?,
            register_ip_max_per_hour: number(src, "REGISTER_IP_MAX_PER_HOUR", 30u32, 1, 100_000)?,
            change_password_max_attempts: number(
                src,
                "CHANGE_PASSWORD_MAX_ATTEMPTS",
                5u32,
                1,
                1000,
            )?,
            device_lock_after_failures: number(
                src,
                "LOGIN_DEVICE_LOCK_AFTER_FAILURES",
                10u32,
                1,
                MAX_VERIFICATIONS_PER_HOUR,
            )?,
            max_verifications_per_hour: number(
                src,
                "LOGIN_MAX_VERIFICATIONS_PER_HOUR",
                MAX_VERIFICATIONS_PER_HOUR,
                1,
                MAX_VERIFICATIONS_PER_HOUR,
            )?,
            recovery_email_max_per_hour: number(src, "RECOVERY_EMAIL_MAX_PER_HOUR", 3u32, 1, 100)?,
            recovery_ip_max_per_hour: number(src, "RECOVERY_IP_MAX_PER_HOUR", 30u32, 1, 100_000)?,
            verify_resend_max_per_hour: number(src, "VERIFY_RESEND_MAX_PER_HOUR", 5u32, 1, 100)?,
        };
        // A lock the ceiling stops short of could never be reached: the settings contradict.
        for (var, value) in [
            ("LOGIN_LOCK_AFTER_FAILURES", lockout.lock_after_failures),
            (
                "LOGIN_DEVICE_LOCK_AFTER_FAILURES",
                lockout.device_lock_after_failures,
            ),
        ] {
            if value > lockout.max_verifications_per_hour {
                return Err(ConfigError {
                    var,
                    problem: format!(
                        "{value} is above LOGIN_MAX_VERIFICATIONS_PER_HOUR ({}), the hard ceiling \
                         of password verifications per email per hour",
                        lockout.max_verifications_per_hour
                    ),
                });
            }
        }
        let provider = match src.get("CAPTCHA_PROVIDER").as_deref().map(str::trim) {
            None | Some("none") => CaptchaProvider::None,
            Some("recaptcha") => CaptchaProvider::Recaptcha,
            Some("hcaptcha") => CaptchaProvider::Hcaptcha,
            Some("turnstile") => CaptchaProvider::Turnstile,
            Some(other) => {
                return Err(ConfigError {
                    var: "CAPTCHA_PROVIDER",
                    problem: format!(
                        "{other:?} is not one of none, recaptcha, hcaptcha, turnstile"
                    ),
                });
            }
        };
        let default_url = match provider {
            CaptchaProvider::None => "",
            CaptchaProvider::Recaptcha => "https://www.google.com/recaptcha/api/siteverify",
            CaptchaProvider::Hcaptcha => "https://api.hcaptcha.com/siteverify",
            CaptchaProvider::Turnstile => {
                "https://challenges.cloudflare.com/turnstile/v0/siteverify"
            }
        };
        let secret = match provider {
            CaptchaProvider::None => String::new(),
            _ => required(src, "CAPTCHA_SECRET")?,
        };
        let verify_url = src
            .get("CAPTCHA_VERIFY_URL")
            .unwrap_or_else(|| default_url.to_owned());
        if provider != CaptchaProvider::None && url::Url::parse(&verify_url).is_err() {
            return Err(ConfigError {
                var: "CAPTCHA_VERIFY_URL",
                problem: "is not a URL".into(),
            });
        }
        let expected_hostnames: Vec<String> = list(src, "CAPTCHA_EXPECTED_HOSTNAMES")
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let min_score = match src.get("CAPTCHA_MIN_SCORE") {
            None => None,
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(s) if (0.0..=1.0).contains(&s) => Some(s),
                _ => {
                    return Err(ConfigError {
                        var: "CAPTCHA_MIN_SCORE",
                        problem: format!("{raw:?} is not a number from 0.0 to 1.0"),
                    });
                }
            },
        };
        let logout_redirect_allowlist = list(src, "LOGOUT_REDIRECT_ALLOWLIST");
        for entry in &logout_redirect_allowlist {
            if !is_allowed_redirect(entry) {
                return Err(ConfigError {
                    var: "LOGOUT_REDIRECT_ALLOWLIST",
                    problem: format!(
                        "{entry:?} is not an absolute https URL (or http on localhost, \
                         127.0.0.1 or [::1])"
                    ),
                });
            }
        }
        let device_key = src.get("DEVICE_COOKIE_KEY");
        if let Some(k) = &device_key
            && k.len() < DEVICE_COOKIE_KEY_MIN_LEN
        {
            return Err(ConfigError {
                var: "DEVICE_COOKIE_KEY",
                problem: format!(
                    "is shorter than {DEVICE_COOKIE_KEY_MIN_LEN} bytes (generate one with \
                     `openssl rand -base64 32`)"
                ),
            });
        }
        Ok(Self {
            tables,
            session_ttl_seconds: number(src, "SESSION_TTL_SECONDS", 30 * day, 60, 400 * day)?,
            argon2,
            password_min_length,
            password_max_length,
            reauth_window_seconds: number(src, "REAUTH_WINDOW_SECONDS", 600i64, 0, day)?,
            lockout,
            captcha: CaptchaConfig {
                provider,
                secret: secret.into(),
                verify_url,
                expected_hostnames,
                min_score,
            },
            register_requires_captcha: boolean(src, "REGISTER_REQUIRES_CAPTCHA", false)?,
            logout_redirect_allowlist,
            sign_on: SignOnConfig::from_source(src)?,
            device_cookie: DeviceCookieConfig {
                key: device_key.map(|k| k.into_bytes().into()),
                ttl_seconds: number(src, "DEVICE_COOKIE_TTL_SECONDS", 180 * day, 60, 400 * day)?,
            },
            max_sessions_per_member: number(src, "MAX_SESSIONS_PER_MEMBER", 50u32, 1, 1000)?,
            session_touch_interval_seconds: number(
                src,
                "SESSION_TOUCH_INTERVAL_SECONDS",
                300i64,
                0,
                day,
            )?,
            admin: AdminConfig::from_source(src)?,
            recovery: mail::recovery(src)?,
            verification: mail::verification(src)?,
            email_from: mail::email_from(src)?,
        })
    }
}

/// Whether `entry` may be an allowlisted redirect target. Entries are compared byte for byte
/// and sent back to browsers: printable ASCII only, https, or http on a loopback host for
/// development (RFC 8252 §7.3).
pub(crate) fn is_allowed_redirect(entry: &str) -> bool {
    match url::Url::parse(entry) {
        Ok(u) => {
            entry.bytes().all(|b| b.is_ascii_graphic())
                && (u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u)))
        }
        Err(_) => false,
    }
}

/// An http URL on a loopback host: `localhost`, `127.0.0.1` or `[::1]`.
fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = [
            ("MEMBERS_TABLE", "m"),
            ("SESSIONS_TABLE", "s"),
            ("COUNTERS_TABLE", "c"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            m.insert(k.to_string(), v.to_string());
        }
        m
    }

    #[test]
    fn defaults_follow_the_design() {
        let c = Config::from_source(&vars(&[])).unwrap();
        assert_eq!(c.session_ttl_seconds, 30 * 86_400);
        assert_eq!(c.lockout.lock_after_failures, 10);
        assert_eq!(c.lockout.captcha_after_failures, 3);
        assert_eq!(c.lockout.failure_window, 900);
        assert_eq!(c.password_min_length, 12);
        assert_eq!(c.password_max_length, 128);
        assert_eq!(c.argon2.memory_kib, 19 * 1024);
        assert_eq!(c.captcha.provider, CaptchaProvider::None);
        assert_eq!(c.session_touch_interval_seconds, 300);
        assert_eq!(c.admin, AdminConfig::default());
    }

    #[test]
    fn errors_name_the_variable() {
        let mut v = vars(&[]);
        v.remove("SESSIONS_TABLE");
        let e = Config::from_source(&v).unwrap_err().to_string();
        assert!(e.contains("SESSIONS_TABLE"), "{e}");
        for (var, value) in [
            ("LOGIN_LOCK_SECONDS", "soon"),
            ("CAPTCHA_PROVIDER", "recaptcha"),
            ("CAPTCHA_PROVIDER", "geetest"),
            ("PASSWORD_MIN_LENGTH", "4"),
            ("LOGOUT_REDIRECT_ALLOWLIST", "http://evil.example"),
            (
                "LOGOUT_REDIRECT_ALLOWLIST",
                "javascript://localhost/%0aalert(1)",
            ),
            ("LOGOUT_REDIRECT_ALLOWLIST", "https://ex\u{e4}mple.com/"),
            ("REGISTER_REQUIRES_CAPTCHA", "maybe"),
            ("LOGOUT_REDIRECT_ALLOWLIST", "http://127.0.0.2/"),
            (
                "LOGOUT_REDIRECT_ALLOWLIST",
                "http://localhost.evil.example/",
            ),
            ("LOGIN_MAX_VERIFICATIONS_PER_HOUR", "101"),
            ("LOGIN_DEVICE_LOCK_AFTER_FAILURES", "0"),
            ("DEVICE_COOKIE_KEY", "short"),
            ("MAX_SESSIONS_PER_MEMBER", "0"),
            ("CAPTCHA_MIN_SCORE", "1.5"),
            ("SESSION_TOUCH_INTERVAL_SECONDS", "-1"),
            ("SESSION_TOUCH_INTERVAL_SECONDS", "often"),
            ("ADMIN_API_KEY_HASHES", "not-a-hash"),
            ("RECOVERY_PAGE_URL", "http://evil.example/reset"),
            ("RECOVERY_REDIRECT_ALLOWLIST", "javascript:alert(1)"),
            ("RECOVERY_TOKEN_TTL_SECONDS", "0"),
            ("VERIFY_MAX_ATTEMPTS", "0"),
            ("REGISTER_REQUIRES_EMAIL_VERIFICATION", "maybe"),
            ("EMAIL_FROM", "not an address"),
            ("RECOVERY_EMAIL_MAX_PER_HOUR", "0"),
        ] {
            let e = Config::from_source(&vars(&[(var, value)])).unwrap_err();
            let expected = if value == "recaptcha" {
                "CAPTCHA_SECRET"
            } else {
                var
            };
            assert_eq!(e.var, expected, "{var}={value}: {e}");
        }
    }

    #[test]
    fn loopback_hosts_may_use_http_in_the_logout_allowlist() {
        let c = Config::from_source(&vars(&[(
            "LOGOUT_REDIRECT_ALLOWLIST",
            "http://localhost:3000/,http://127.0.0.1:5173/out,http://[::1]:8080/",
        )]))
        .unwrap();
        assert_eq!(c.logout_redirect_allowlist.len(), 3);
    }

    #[test]
    fn no_setting_lifts_the_verification_ceiling() {
        let c = Config::from_source(&vars(&[])).unwrap();
        assert_eq!(c.lockout.max_verifications_per_hour, 100);
        // A lock the ceiling would stop short of contradicts it: refused, naming both.
        for (vars_set, named) in [
            (
                vec![
                    ("LOGIN_MAX_VERIFICATIONS_PER_HOUR", "20"),
                    ("LOGIN_LOCK_AFTER_FAILURES", "30"),
                ],
                "LOGIN_LOCK_AFTER_FAILURES",
            ),
            (
                vec![
                    ("LOGIN_MAX_VERIFICATIONS_PER_HOUR", "5"),
                    ("LOGIN_LOCK_AFTER_FAILURES", "5"),
                    ("LOGIN_DEVICE_LOCK_AFTER_FAILURES", "6"),
                ],
                "LOGIN_DEVICE_LOCK_AFTER_FAILURES",
            ),
        ] {
            let e = Config::from_source(&vars(&vars_set)).unwrap_err();
            assert_eq!(e.var, named);
            assert!(
                e.to_string().contains("LOGIN_MAX_VERIFICATIONS_PER_HOUR"),
                "{e}"
            );
        }
    }

    #[test]
    fn captcha_provider_gets_its_siteverify_url_unless_overridden() {
        let c = Config::from_source(&vars(&[
            ("CAPTCHA_PROVIDER", "turnstile"),
            ("CAPTCHA_SECRET", "s"),
        ]))
        .unwrap();
        assert!(c.captcha.verify_url.contains("turnstile"));
        let c = Config::from_source(&vars(&[
            ("CAPTCHA_PROVIDER", "hcaptcha"),
            ("CAPTCHA_SECRET", "s"),
            ("CAPTCHA_VERIFY_URL", "http://127.0.0.1:1/siteverify"),
        ]))
        .unwrap();
        assert_eq!(c.captcha.verify_url, "http://127.0.0.1:1/siteverify");
    }
}
