//! What a member needs to recognise a session in the list of their devices (DESIGN §3.11):
//! the client IP and user agent it was created from. Both are recorded once, when the session
//! is created, and shown back only to the member and to operators; neither is a secret, and
//! neither is trusted for anything. The user agent is the caller's to choose, so it is kept
//! short and printable: at most `USER_AGENT_MAX_CHARS` characters, control characters dropped.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::http;

/// The longest user agent kept, in characters: enough to tell a browser and its platform
/// apart, not enough to turn the sessions table into a store for whatever a caller sends.
pub const USER_AGENT_MAX_CHARS: usize = 256;

/// Where a session was created from; unknown parts are `None` (sessions minted by tools, or
/// before sessions recorded it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Device {
    /// The caller of `req`: the source IP API Gateway saw and the `User-Agent` header (or the
    /// one API Gateway recorded), truncated.
    pub fn from_request(req: &Request) -> Self {
        let ip = http::client_ip(req);
        let header = req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let from_context = || match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.user_agent.clone(),
            _ => None,
        };
        Self {
            client_ip: (ip != "unknown").then_some(ip),
            user_agent: header.or_else(from_context).and_then(|ua| truncated(&ua)),
        }
    }
}

/// `raw` without control characters, trimmed, cut to `USER_AGENT_MAX_CHARS` characters;
/// `None` when nothing is left.
pub fn truncated(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_MAX_CHARS)
        .collect();
    let kept = kept.trim();
    (!kept.is_empty()).then(|| kept.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_kept_short_and_printable() {
        let long = "Mozilla/5.0 ".repeat(100);
        for (raw, kept) in [
            (
                "Mozilla/5.0 (X11; Linux x86_64)",
                Some("Mozilla/5.0 (X11; Linux x86_64)"),
            ),
            ("  curl/8.5.0 \t", Some("curl/8.5.0")),
            ("evil\r\nSet-Cookie: x=1", Some("evilSet-Cookie: x=1")),
            ("\u{7}\u{0}", None),
            ("", None),
        ] {
            assert_eq!(truncated(raw).as_deref(), kept, "{raw:?}");
        }
        let cut = truncated(&long).unwrap();
        assert!(cut.chars().count() <= USER_AGENT_MAX_CHARS);
        assert!(long.starts_with(&cut));
        // Counted in characters, so a multi-byte agent is never cut inside a character.
        let wide = "é".repeat(1000);
        assert_eq!(
            truncated(&wide).unwrap().chars().count(),
            USER_AGENT_MAX_CHARS
        );
    }
}
