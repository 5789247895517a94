//! CAPTCHA verification over the siteverify protocol that reCAPTCHA, hCaptcha and Turnstile
//! share: POST form `secret`, `response`, `remoteip` → JSON `{"success": bool}`.
//! A verifier that does not answer fails closed: the caller gets 503, never a free pass.

use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::config::{CaptchaConfig, CaptchaProvider};
use crate::error::CaptchaUnavailable;

/// The longest token accepted; real ones are a few kilobytes at most.
const MAX_TOKEN_LEN: usize = 8192;

/// One entry of a request's `captchaTokens`: Wix's provider-named keys or a plain `token`.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CaptchaToken {
    recaptcha: Option<String>,
    invisible_recaptcha: Option<String>,
    no_captcha: Option<String>,
    #[serde(rename = "token")]
    token: Option<String>,
}

impl std::fmt::Debug for CaptchaToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaptchaToken([redacted])")
    }
}

/// The first non-empty token among those given.
pub fn first_token(tokens: &[CaptchaToken]) -> Option<&str> {
    tokens.iter().find_map(|t| {
        [
            &t.recaptcha,
            &t.invisible_recaptcha,
            &t.no_captcha,
            &t.token,
        ]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
    })
}

#[derive(Clone, Debug)]
pub struct Verifier {
    config: CaptchaConfig,
    /// Built on the first verification: its TLS setup (roots, provider) is no part of the
    /// cold start of a function that may never ask a provider (issue 13).
    http: std::sync::OnceLock<reqwest::Client>,
}

#[derive(Deserialize)]
struct SiteVerify {
    success: bool,
    /// The site the token was solved on (all three providers report it).
    #[serde(default)]
    hostname: Option<String>,
    /// reCAPTCHA v3's 0.0–1.0 likelihood of a human; absent for the other providers.
    #[serde(default)]
    score: Option<f64>,
}

impl SiteVerify {
    /// A success counts only on an expected hostname and (when bounded) with a high enough
    /// score (DESIGN §5). An answer missing what a bound asks about fails it.
    fn accepted(&self, config: &CaptchaConfig) -> bool {
        let host_ok = config.expected_hostnames.is_empty()
            || self.hostname.as_deref().is_some_and(|h| {
                config
                    .expected_hostnames
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case(h))
            });
        let score_ok = match (config.min_score, config.provider) {
            (Some(min), CaptchaProvider::Recaptcha) => {
                // v2 answers carry no score; only a v3 answer is bounded.
                self.score.is_none_or(|s| s >= min)
            }
            _ => true,
        };
        self.success && host_ok && score_ok
    }
}

impl Verifier {
    pub fn new(config: CaptchaConfig) -> Self {
        Self {
            config,
            http: std::sync::OnceLock::new(),
        }
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default()
        })
    }

    /// Whether a provider is configured at all (with `none`, CAPTCHA is never required).
    pub fn enabled(&self) -> bool {
        self.config.provider != CaptchaProvider::None
    }

    /// Asks the provider about `token`: `Ok(true)` accepted, `Ok(false)` rejected,
    /// `Err(CaptchaUnavailable)` (a 503 for the caller) when the provider could not be asked.
    pub async fn verify(&self, token: &str, remote_ip: &str) -> Result<bool, CaptchaUnavailable> {
        if token.len() > MAX_TOKEN_LEN {
            return Ok(false);
        }
        let mut form = vec![
            ("secret", self.config.secret.expose_secret()),
            ("response", token),
        ];
        if remote_ip != "unknown" {
            form.push(("remoteip", remote_ip));
        }
        let resp = self
            .http()
            .post(&self.config.verify_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                tracing::error!(event = "captcha_unavailable", error = %e.without_url());
                CaptchaUnavailable
            })?;
        if !resp.status().is_success() {
            tracing::error!(
                event = "captcha_unavailable",
                status = resp.status().as_u16()
            );
            return Err(CaptchaUnavailable);
        }
        let body: SiteVerify = resp.json().await.map_err(|_| {
            tracing::error!(event = "captcha_unavailable", error = "unreadable answer");
            CaptchaUnavailable
        })?;
        let accepted = body.accepted(&self.config);
        if body.success && !accepted {
            tracing::warn!(
                event = "captcha_rejected_by_policy",
                hostname = body.hostname.as_deref().unwrap_or("-"),
                score = body.score.unwrap_or(-1.0)
            );
        }
        Ok(accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(j: &str) -> SiteVerify {
        serde_json::from_str(j).unwrap()
    }

    fn config(provider: CaptchaProvider, hosts: &[&str], min_score: Option<f64>) -> CaptchaConfig {
        CaptchaConfig {
            provider,
            secret: String::from("s").into(),
            verify_url: "http://127.0.0.1:1/".into(),
            expected_hostnames: hosts.iter().map(|h| h.to_string()).collect(),
            min_score,
        }
    }

    #[test]
    fn a_success_counts_only_on_an_expected_hostname_and_with_enough_score() {
        use CaptchaProvider as P;
        let cases = [
            // (provider, hosts, min score, answer, accepted)
            (P::Turnstile, &[][..], None, r#"{"success":true}"#, true),
            (P::Turnstile, &[][..], None, r#"{"success":false}"#, false),
            (
                P::Turnstile,
                &["app.example.com"][..],
                None,
                r#"{"success":true,"hostname":"app.example.com"}"#,
                true,
            ),
            (
                P::Turnstile,
                &["app.example.com"][..],
                None,
                r#"{"success":true,"hostname":"APP.example.com"}"#,
                true,
            ),
            (
                P::Turnstile,
                &["app.example.com"][..],
                None,
                r#"{"success":true,"hostname":"evil.example"}"#,
                false,
            ),
            (
                P::Turnstile,
                &["app.example.com"][..],
                None,
                r#"{"success":true}"#,
                false,
            ),
            (
                P::Hcaptcha,
                &["a.example", "b.example"][..],
                None,
                r#"{"success":true,"hostname":"b.example"}"#,
                true,
            ),
            (
                P::Recaptcha,
                &[][..],
                Some(0.5),
                r#"{"success":true,"score":0.9}"#,
                true,
            ),
            (
                P::Recaptcha,
                &[][..],
                Some(0.5),
                r#"{"success":true,"score":0.5}"#,
                true,
            ),
            (
                P::Recaptcha,
                &[][..],
                Some(0.5),
                r#"{"success":true,"score":0.1}"#,
                false,
            ),
            // A v2 answer has no score to bound.
            (
                P::Recaptcha,
                &[][..],
                Some(0.5),
                r#"{"success":true}"#,
                true,
            ),
            (
                P::Recaptcha,
                &[][..],
                Some(0.5),
                r#"{"success":false,"score":0.9}"#,
                false,
            ),
            // hCaptcha Enterprise scores mean the opposite (risk); the bound is reCAPTCHA's only.
            (
                P::Hcaptcha,
                &[][..],
                Some(0.5),
                r#"{"success":true,"score":0.1}"#,
                true,
            ),
        ];
        for (provider, hosts, min, json, expected) in cases {
            let c = config(provider, hosts, min);
            assert_eq!(
                answer(json).accepted(&c),
                expected,
                "{provider:?} {hosts:?} {min:?} {json}"
            );
        }
    }

    #[test]
    fn any_provider_key_carries_the_token() {
        let parse = |j: &str| serde_json::from_str::<Vec<CaptchaToken>>(j).unwrap();
        assert_eq!(first_token(&parse(r#"[{"Recaptcha":"a"}]"#)), Some("a"));
        assert_eq!(
            first_token(&parse(r#"[{"InvisibleRecaptcha":"b"}]"#)),
            Some("b")
        );
        assert_eq!(
            first_token(&parse(r#"[{"NoCaptcha":""},{"token":"c"}]"#)),
            Some("c")
        );
        assert_eq!(first_token(&parse(r#"[{"Other":"x"}]"#)), None);
        assert_eq!(first_token(&[]), None);
    }
}
