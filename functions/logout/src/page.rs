//! The logout page: a small, self-contained HTML document that loads nothing (CSP
//! `default-src 'none'`); its one inline style is allowed by hash, not by `'unsafe-inline'`.
//! Everything placed in the page is HTML-escaped here, whatever its source.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The page's only style, exactly as it appears between `<style>` and `</style>`.
const STYLE: &str = "body{font:1rem/1.5 system-ui,sans-serif;margin:0;padding:2rem 1rem;\
color:#1a1a1a;background:#fff}main{max-width:34rem;margin:0 auto}a{color:#0b57d0}";

/// `Content-Security-Policy` of every HTML answer: nothing may load, run, frame the page,
/// change its base URL or submit a form from it; only the inline style above applies.
pub static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
});

/// What one page says.
pub struct Page<'a> {
    pub title: &'a str,
    pub heading: &'a str,
    pub paragraphs: &'a [&'a str],
    /// Where "Continue" leads (an allowlisted redirect target only).
    pub link: Option<&'a str>,
}

/// Text made safe for HTML element content and double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn render(page: &Page) -> String {
    let mut body = String::new();
    for p in page.paragraphs {
        body.push_str(&format!("<p>{}</p>\n", escape(p)));
    }
    if let Some(href) = page.link {
        body.push_str(&format!(
            "<p><a href=\"{}\">Continue to the site</a></p>\n",
            escape(href)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{heading}</h1>\n{body}</main>\n\
         </body>\n</html>\n",
        title = escape(page.title),
        heading = escape(page.heading),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_placed_in_the_page_is_escaped() {
        let html = render(&Page {
            title: "<t>",
            heading: "a & b",
            paragraphs: &["<script>alert(1)</script>"],
            link: Some("https://x.example/?a=1&b=\"><img src=x onerror=alert(1)>'"),
        });
        assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<t>"));
        assert!(html.contains("&lt;script&gt;") && html.contains("a &amp; b"));
        assert!(html.contains(
            "href=\"https://x.example/?a=1&amp;b=&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;\""
        ));
    }

    #[test]
    fn the_policy_allows_exactly_the_style_in_the_page() {
        let html = render(&Page {
            title: "t",
            heading: "h",
            paragraphs: &[],
            link: None,
        });
        let inline = html
            .split_once("<style>")
            .and_then(|(_, rest)| rest.split_once("</style>"))
            .map(|(style, _)| style)
            .unwrap();
        let hash = STANDARD.encode(Sha256::digest(inline.as_bytes()));
        assert!(
            CSP.contains(&format!("style-src 'sha256-{hash}'")),
            "{}",
            *CSP
        );
        assert!(CSP.starts_with("default-src 'none';"));
        assert!(!CSP.contains("unsafe"));
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(!html.contains("<script"));
    }
}
