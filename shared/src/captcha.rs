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
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct SiteVerify {
    success: bool,
}

impl Verifier {
    pub fn new(config: CaptchaConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        Self { config, http }
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
            .http
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
        Ok(body.success)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
