//! The secrets a test client handled, and the scan that proves none of them was kept
//! (DESIGN §7.1, §7.8).
//!
//! A client over HTTP (the end-to-end tests, the load and fault drivers) hands every request
//! and answer it exchanged to [`note`]: the values of secret-bearing fields (passwords, session,
//! access and refresh tokens, recovery tokens, verification codes, API keys in `Authorization`,
//! the session cookie) are appended to the file `SECRETS_OUT` names, one `kind<TAB>value` per
//! line. After the run, [`Scan`] reads those files beside the service's own secrets from the
//! environment (the signing key, the device-cookie key, the CAPTCHA secret) and looks for every
//! one of them in what the service kept: every item of every table and every log line. It also
//! flags anything shaped like a JWT there, which catches an access token that no client noted.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::Value;

/// Secrets shorter than this are not noted (nothing the service issues is).
const MIN_LEN: usize = 6;
/// Below this length a secret only matches as a whole word, so that a 6-digit code is not
/// "found" inside a timestamp.
const WORD_LEN: usize = 16;

/// Notes the secrets in one exchange: the request's body and headers, the answer's body and
/// headers (any of them may be empty). Does nothing unless `SECRETS_OUT` is set.
pub fn note(
    request_headers: &[(&str, &str)],
    request_body: &str,
    answer_headers: &[(&str, &str)],
    answer_body: &str,
) {
    let Some(path) = std::env::var_os("SECRETS_OUT") else {
        return;
    };
    let mut found = vec![];
    for (name, value) in request_headers.iter().chain(answer_headers) {
        from_header(name, value, &mut found);
    }
    for body in [request_body, answer_body] {
        from_body(body, &mut found);
    }
    if found.is_empty() {
        return;
    }
    let lines: String = found.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect();
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(lines.as_bytes()));
    if let Err(e) = written {
        panic!("SECRETS_OUT {}: {e}", path.to_string_lossy());
    }
}

/// The kind of secret a field of this name carries, if any: `password`, `newPassword`,
/// `sessionToken`, `refresh_token`, `subject_token`, `recoveryToken`, `code` and the like;
/// not `token_type` or `expires_in`.
fn secret_kind(field: &str) -> Option<String> {
    let f = field.to_ascii_lowercase().replace(['_', '-'], "");
    let secret = f.contains("password") || f == "code" || f == "apikey" || f.ends_with("token");
    (secret && !f.ends_with("type")).then(|| field.to_string())
}

fn push(kind: &str, value: &str, found: &mut Vec<(String, String)>) {
    let value = value.trim();
    if value.len() >= MIN_LEN && !value.contains(['\t', '\n']) {
        found.push((kind.to_string(), value.to_string()));
    }
}

fn from_header(name: &str, value: &str, found: &mut Vec<(String, String)>) {
    match name.to_ascii_lowercase().as_str() {
        "authorization" => {
            let credential = value.split_once(' ').map_or(value, |(_, c)| c);
            push("authorization", credential, found);
        }
        "x-api-key" => push("x-api-key", value, found),
        "cookie" | "set-cookie" => {
            for pair in value.split(';') {
                if let Some((k, v)) = pair.trim().split_once('=')
                    && k.starts_with("__Host-")
                    && k != "__Host-device"
                {
                    push(k, v, found);
                }
            }
        }
        _ => {}
    }
}

/// A JSON body (walked to any depth) or a form body.
fn from_body(body: &str, found: &mut Vec<(String, String)>) {
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        walk(&json, found);
        return;
    }
    if body.contains('=') {
        for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
            if let Some(kind) = secret_kind(&k) {
                push(&kind, &v, found);
            }
        }
    }
}

fn walk(v: &Value, found: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (secret_kind(k), v) {
                    (Some(kind), Value::String(s)) => push(&kind, s, found),
                    _ => walk(v, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, found)),
        _ => {}
    }
}

/// One finding: where, and which kind of secret (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub place: String,
    pub kind: String,
}

/// The secrets to look for: each with its kind and its URL-encoded form (as a form body or a
/// query string would carry it), encoded once when it is added.
#[derive(Debug, Default)]
pub struct Scan {
    secrets: BTreeMap<String, (String, String)>,
}

impl Scan {
    /// Adds the lines of a `SECRETS_OUT` file (`kind<TAB>value`; a line without a tab is a
    /// secret of kind `secret`).
    pub fn add_file(&mut self, text: &str) {
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (kind, value) = line.split_once('\t').unwrap_or(("secret", line));
            self.add(kind, value);
        }
    }

    pub fn add(&mut self, kind: &str, value: &str) {
        if value.len() >= MIN_LEN {
            let encoded = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            self.secrets
                .insert(value.to_string(), (kind.to_string(), encoded));
        }
    }

    /// The service's own secrets as the environment gives them: the signing key's PEM lines,
    /// `DEVICE_COOKIE_KEY`, `CAPTCHA_SECRET`.
    pub fn add_service_secrets(&mut self, env: impl Fn(&str) -> Option<String>) {
        if let Some(pem) = env("SIGNING_KEY") {
            for line in pem.lines().filter(|l| !l.starts_with("-----")) {
                self.add("private key", line.trim());
            }
        }
        for var in ["DEVICE_COOKIE_KEY", "CAPTCHA_SECRET"] {
            if let Some(v) = env(var) {
                self.add(var, &v);
            }
        }
    }

    /// How many secrets of each kind there are to look for.
    pub fn kinds(&self) -> BTreeMap<&str, usize> {
        let mut kinds = BTreeMap::new();
        for (kind, _) in self.secrets.values() {
            *kinds.entry(kind.as_str()).or_insert(0) += 1;
        }
        kinds
    }

    /// What `text` (one table item, one log line) holds, named `place` in the findings.
    pub fn check(&self, place: &str, text: &str, findings: &mut Vec<Finding>) {
        let mut hit = |kind: &str| {
            findings.push(Finding {
                place: place.to_string(),
                kind: kind.to_string(),
            })
        };
        if looks_like_jwt(text) {
            hit("JWT-shaped string");
        }
        for (secret, (kind, encoded)) in &self.secrets {
            if contains(text, secret) || contains(text, encoded) {
                hit(kind);
            }
        }
    }
}

/// `secret` in `text`; a short one only as a whole word (not inside a longer run of letters
/// and digits).
fn contains(text: &str, secret: &str) -> bool {
    if secret.len() >= WORD_LEN {
        return text.contains(secret);
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(secret).any(|(at, _)| {
        !word(text[..at].chars().next_back()) && !word(text[at + secret.len()..].chars().next())
    })
}

/// Three base64url segments whose first two decode to JSON objects: `eyJ…` `.` `eyJ…` `.`.
fn looks_like_jwt(text: &str) -> bool {
    text.match_indices("eyJ").any(|(at, _)| {
        let rest = &text[at..];
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        let parts: Vec<&str> = token.split('.').collect();
        parts.len() >= 3
            && parts[1].starts_with("eyJ")
            && parts[0].len() > 10
            && parts[1].len() > 10
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(lines: &str) -> Scan {
        let mut s = Scan::default();
        s.add_file(lines);
        s
    }

    fn kinds_found(s: &Scan, text: &str) -> Vec<String> {
        let mut f = vec![];
        s.check("here", text, &mut f);
        f.into_iter().map(|f| f.kind).collect()
    }

    #[test]
    fn a_secret_kept_anywhere_in_a_line_is_found_also_url_encoded() {
        let s = scan(
            "password\tcorrect horse battery staple\nsessionToken\tJ9x0_abcdefghijklmnopqrstuvwxyz012345\n",
        );
        assert_eq!(
            kinds_found(&s, r#"{"msg":"hi","pw":"correct horse battery staple"}"#),
            ["password"]
        );
        assert_eq!(
            kinds_found(&s, "body=correct+horse+battery+staple"),
            ["password"]
        );
        assert_eq!(
            kinds_found(&s, "x=J9x0_abcdefghijklmnopqrstuvwxyz012345y"),
            ["sessionToken"]
        );
        assert!(kinds_found(&s, r#"{"event":"login","outcome":"success"}"#).is_empty());
    }

    #[test]
    fn a_short_code_matches_only_as_a_whole_word() {
        let s = scan("code\t482913\n");
        assert_eq!(kinds_found(&s, r#"{"code":"482913"}"#), ["code"]);
        assert!(kinds_found(&s, r#"{"at_ms":1764748291300}"#).is_empty());
    }

    #[test]
    fn anything_shaped_like_a_jwt_is_flagged_noted_or_not() {
        let s = Scan::default();
        let jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJtZW1iZXIifQ.c2lnbmF0dXJlX2J5dGVz";
        assert_eq!(
            kinds_found(&s, &format!("token={jwt} end")),
            ["JWT-shaped string"]
        );
        assert!(kinds_found(&s, "eyJ alone is not a token").is_empty());
    }

    #[test]
    fn the_secret_fields_of_bodies_headers_and_cookies_are_noted() {
        let mut found = vec![];
        from_body(
            r#"{"loginId":{"email":"a@b.c"},"password":"pw-123456","sessionToken":"st-abcdef","state":"SUCCESS"}"#,
            &mut found,
        );
        from_body(
            "grant_type=refresh_token&refresh_token=rt-abcdef&subject_token_type=urn%3Ax",
            &mut found,
        );
        from_header("Authorization", "Bearer snk_dev-key-1", &mut found);
        from_header(
            "set-cookie",
            "__Host-session=cookie-value-1; Path=/; Secure",
            &mut found,
        );
        from_header(
            "set-cookie",
            "__Host-device=not-a-secret-1; Path=/",
            &mut found,
        );
        let kinds: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "password",
                "sessionToken",
                "refresh_token",
                "authorization",
                "__Host-session"
            ]
        );
    }

    #[test]
    fn the_service_secrets_come_from_the_environment() {
        let mut s = Scan::default();
        s.add_service_secrets(|v| match v {
            "SIGNING_KEY" => Some("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIOabc\n-----END PRIVATE KEY-----\n".into()),
            "DEVICE_COOKIE_KEY" => Some("device-key-0123456789".into()),
            _ => None,
        });
        assert_eq!(
            s.kinds().into_iter().collect::<Vec<_>>(),
            [("DEVICE_COOKIE_KEY", 1), ("private key", 1)]
        );
    }
}
