// Shared by the targets (`mod common;`): the configurations the parsers are judged under
// and how one input is cut into parts.

#![allow(dead_code)]

use shared::config::{RecoveryConfig, SignOnConfig};

/// The input cut at NUL bytes into at most `n` parts (the last keeps the rest), each made text
/// (invalid UTF-8 replaced): header values, URLs and JSON strings are text by the time a parser
/// sees them.
pub fn parts(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .splitn(n, |&b| b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    out.resize(n, String::new());
    out
}

/// The logout allowlist the targets judge redirects against (`LOGOUT_REDIRECT_ALLOWLIST`).
pub fn logout_allowlist() -> Vec<String> {
    vec![
        "https://app.example.com/signed-out".to_owned(),
        "https://app.example.com/".to_owned(),
        "http://localhost:3000/".to_owned(),
    ]
}

/// A recovery configuration with a page and two more allowed pages.
pub fn recovery_config() -> RecoveryConfig {
    RecoveryConfig {
        page_url: Some("https://app.example.com/recover".to_owned()),
        redirect_allowlist: vec![
            "https://app.example.com/recover?lang=de".to_owned(),
            "https://other.example.org/account/recover".to_owned(),
        ],
        token_ttl_seconds: 1800,
    }
}

/// Sign-on open to any domain, and one open to two domains that needs a first name.
pub fn sign_on_configs() -> [SignOnConfig; 2] {
    let open = SignOnConfig::default();
    let mut narrow = SignOnConfig::default();
    narrow.allowed_email_domains = vec!["example.com".to_owned(), "xn--bcher-kva.de".to_owned()];
    narrow.required_profile_fields = vec!["firstName"];
    [open, narrow]
}
