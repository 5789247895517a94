//! Where the browser goes after a logout: only to an allowlist entry, byte for byte.

use super::request::loggable;

/// Where the browser goes next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Target<'a> {
    Stay,
    /// An allowlist entry, byte for byte equal to the requested URL.
    Allowed(&'a str),
    Refused,
}

/// Exact, byte-for-byte equality with an allowlist entry: no normalising, no prefix or host
/// matching, so no parser disagreement can turn a lookalike into an allowed target.
pub(super) fn target<'a>(allowlist: &'a [String], requested: Option<&str>) -> Target<'a> {
    match requested {
        None => Target::Stay,
        Some(url) => allowlist
            .iter()
            .find(|entry| entry.as_str() == url)
            .map_or(Target::Refused, |entry| Target::Allowed(entry)),
    }
}

/// Logs where a refused redirect pointed: scheme and origin only, since the rest of a URL
/// (userinfo, path, query) may carry a secret.
pub(super) fn log_refused_redirect(raw: &str) {
    let (scheme, origin) = match url::Url::parse(raw) {
        Ok(u) => (u.scheme().to_owned(), u.origin().ascii_serialization()),
        Err(_) => (String::new(), "not a URL".to_owned()),
    };
    tracing::warn!(
        event = "logout_redirect_refused",
        scheme = %loggable(&scheme),
        origin = %loggable(&origin),
        length = raw.len(),
    );
}

/// Redirect targets every web security tester tries; none equals an entry of the tests'
/// allowlist (`ALLOWLIST` below).
#[cfg(test)]
pub(super) const LOOKALIKES: &[&str] = &[
    // protocol-relative
    "//app.example.com/signed-out",
    "//evil.example/signed-out",
    "///evil.example/",
    // backslashes
    "https:\\\\app.example.com\\signed-out",
    "https://app.example.com\\@evil.example/signed-out",
    "/\\evil.example",
    "https:/\\evil.example/",
    // userinfo
    "https://app.example.com@evil.example/signed-out",
    "https://evil.example@app.example.com/signed-out",
    "https://app.example.com:pass@evil.example/signed-out",
    "http://localhost:3000@evil.example/",
    // suffix and prefix domains
    "https://app.example.com.evil.example/signed-out",
    "https://evilapp.example.com/signed-out",
    "https://app.example.community/signed-out",
    "http://localhost:3000.evil.example/",
    "https://evil.example/https://app.example.com/signed-out",
    // mixed case
    "HTTPS://APP.EXAMPLE.COM/SIGNED-OUT",
    "https://App.Example.com/signed-out",
    "https://app.example.com/Signed-Out",
    // percent-encoding (each value arrives decoded once, so these stay encoded)
    "https%3A%2F%2Fapp.example.com%2Fsigned-out",
    "https://app.example.com/signed%2Dout",
    "https://app%2Eexample.com/signed-out",
    "https://app.example.com%2F@evil.example/",
    "%2F%2Fevil.example",
    // scripts and data
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "javascript://app.example.com/signed-out%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    // whitespace and control characters
    " https://app.example.com/signed-out",
    "https://app.example.com/signed-out ",
    "\thttps://app.example.com/signed-out",
    "https://app.example.com/signed-out\r\nSet-Cookie: x=y",
    "https://app.example.com/signed-out\n",
    "https://app.example.com/signed-out\u{0}",
    "https:/\t/evil.example/",
    "https://app.example.com/signed-out\u{200b}",
    // trailing dots
    "https://app.example.com./signed-out",
    "http://localhost.:3000/",
    // fragments and extra query
    "https://app.example.com/signed-out#@evil.example",
    "https://app.example.com/signed-out?next=https://evil.example",
    "https://app.example.com/signed-out/",
    "https://app.example.com/bye?from=logout&lang=en&next=//evil.example",
    "https://app.example.com/bye?lang=en&from=logout",
    // IDN and punycode lookalikes
    "https://\u{430}pp.example.com/signed-out",
    "https://xn--pp-7kc.example.com/signed-out",
    "https://app.example.com\u{ff0f}signed-out",
    "https://app.example.com/signed\u{2010}out",
    // ports, and http for https
    "https://app.example.com:443/signed-out",
    "https://app.example.com:8443/signed-out",
    "http://app.example.com/signed-out",
    "http://localhost:3001/",
    "http://localhost:3000",
    "https://localhost:3000/",
    // path traversal
    "https://app.example.com/signed-out/../../evil",
    "https://app.example.com/../signed-out",
    "https://app.example.com/./signed-out",
    "https://app.example.com/evil/../signed-out",
];

#[cfg(test)]
mod tests {
    use super::{LOOKALIKES, Target, target};

    /// The allowlist the handler's tests configure.
    const ALLOWLIST: [&str; 3] = [
        "https://app.example.com/signed-out",
        "http://localhost:3000/",
        "https://app.example.com/bye?from=logout&lang=en",
    ];

    fn allowlist() -> Vec<String> {
        ALLOWLIST.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_allowlist_entry_is_allowed_and_no_target_means_stay() {
        let list = allowlist();
        for entry in ALLOWLIST {
            assert_eq!(target(&list, Some(entry)), Target::Allowed(entry));
        }
        assert_eq!(target(&list, None), Target::Stay);
        assert_eq!(target(&[], Some(ALLOWLIST[0])), Target::Refused);
    }

    #[test]
    fn every_open_redirect_lookalike_is_refused() {
        assert!(LOOKALIKES.len() >= 20);
        assert_eq!(LOOKALIKES.len(), 58);
        let list = allowlist();
        for lookalike in LOOKALIKES {
            assert_eq!(
                target(&list, Some(lookalike)),
                Target::Refused,
                "{lookalike:?}"
            );
        }
    }
}
