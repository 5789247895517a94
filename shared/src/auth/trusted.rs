//! Trusted servers: the callers of sign-on (and of the operators' routes), proven one of two
//! ways (DESIGN §3.3):
//!
//! - on AWS, the route's IAM authorizer has verified a SigV4 signature and put the caller's
//!   principal in the request context; when an allowed-principals list is configured
//!   (`SIGN_ON_ALLOWED_PRINCIPALS`) the principal must be in it (an IAM role entry also admits
//!   that role's assumed-role sessions);
//! - anywhere, `Authorization: Bearer <api key>` whose SHA-256 is among the configured hashes
//!   (`SIGN_ON_API_KEY_HASHES`), compared in constant time against every one. Keys are never
//!   configured.
//!
//! Fails closed: a request with no IAM principal is refused unless it carries a configured key,
//! so with neither an IAM authorizer nor any key hash configured, every call is 401. A request
//! with an IAM principal is judged by the principal alone; an API key beside it is ignored.
//! The operators' routes (`identify_operator`, with `ADMIN_ALLOWED_PRINCIPALS` and
//! `ADMIN_API_KEY_HASHES`) fail closed on principals too: an empty list admits none.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::http;
use crate::secret::{SECRET_BYTES, hashes_equal, random_b64, sha256_hex};

/// The prefix of minted sign-on API keys (any key whose hash is configured is accepted).
pub const KEY_PREFIX: &str = "sok_";

/// Longer `Authorization` values are refused without hashing.
const MAX_KEY_LEN: usize = 512;

/// Who may call: the allowed IAM principals (empty: any principal the route's IAM authorizer
/// let through) and the SHA-256 hex of each accepted API key.
#[derive(Clone, Copy, Debug)]
pub struct Allowed<'a> {
    pub principals: &'a [String],
    pub api_key_hashes: &'a [String],
}

/// A server the service trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustedServer {
    /// An IAM principal the route's authorizer verified.
    Iam { arn: String },
    /// An API key holder, known by the first 12 hex digits of its key's hash.
    ApiKey { fingerprint: String },
}

impl TrustedServer {
    /// How the caller appears in audit lines: the ARN, or `api-key:<hash prefix>`.
    pub fn label(&self) -> String {
        match self {
            TrustedServer::Iam { arn } => arn.clone(),
            TrustedServer::ApiKey { fingerprint } => format!("api-key:{fingerprint}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No valid credential: 401 UNAUTHENTICATED.
    Unauthenticated,
    /// A verified IAM principal that is not in the allowed list: 403 PERMISSION_DENIED.
    NotAllowed { arn: String },
}

/// The trusted server calling with this request, or why there is none.
pub fn identify(allowed: Allowed<'_>, req: &Request) -> Result<TrustedServer, Refusal> {
    if let Some(arn) = iam_principal(req) {
        let admitted = allowed.principals.is_empty()
            || allowed
                .principals
                .iter()
                .any(|entry| principal_matches(entry, &arn));
        return if admitted {
            Ok(TrustedServer::Iam { arn })
        } else {
            Err(Refusal::NotAllowed { arn })
        };
    }
    api_key(allowed.api_key_hashes, req)
        .map(|fingerprint| TrustedServer::ApiKey { fingerprint })
        .ok_or(Refusal::Unauthenticated)
}

/// `identify` for the operators' routes (DESIGN §3.12), where both ways fail closed: an IAM
/// principal is admitted only when it is in `allowed.principals` — an empty list admits no
/// principal at all (401, as for a caller with no credential) — and an API key only when its
/// hash is configured. With neither configured, every call is 401.
pub fn identify_operator(allowed: Allowed<'_>, req: &Request) -> Result<TrustedServer, Refusal> {
    if iam_principal(req).is_some() && allowed.principals.is_empty() {
        return Err(Refusal::Unauthenticated);
    }
    identify(allowed, req)
}

/// The fingerprint (first 12 hex of its SHA-256) of the `Authorization: Bearer` key, if its
/// hash is one of `hashes`. Every configured hash is compared, whatever matched before: no
/// early exit, so timing tells nothing about which entry matched.
pub fn api_key(hashes: &[String], req: &Request) -> Option<String> {
    let key = http::bearer(req).filter(|k| k.len() <= MAX_KEY_LEN)?;
    let hash = sha256_hex(key.as_bytes());
    let matched = hashes
        .iter()
        .fold(false, |found, h| found | hashes_equal(&hash, h));
    matched.then(|| hash[..12].to_owned())
}

/// The IAM principal API Gateway's IAM authorizer verified, if the route has one.
fn iam_principal(req: &Request) -> Option<String> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return None;
    };
    ctx.authorizer
        .as_ref()?
        .iam
        .as_ref()?
        .user_arn
        .clone()
        .filter(|arn| !arn.trim().is_empty())
}

/// Whether an allowed-principals entry admits `arn`: the same ARN, or a role whose
/// assumed-role session `arn` is (`arn:aws:iam::1:role/path/R` admits
/// `arn:aws:sts::1:assumed-role/R/<session>`).
pub fn principal_matches(entry: &str, arn: &str) -> bool {
    if entry == arn {
        return true;
    }
    let (Some((e_head, role_path)), Some((a_head, assumed))) =
        (entry.split_once(":role/"), arn.split_once(":assumed-role/"))
    else {
        return false;
    };
    let (Some((e_partition, e_account)), Some((a_partition, a_account))) =
        (e_head.split_once(":iam::"), a_head.split_once(":sts::"))
    else {
        return false;
    };
    let role_name = role_path.rsplit('/').next().unwrap_or_default();
    let Some((a_role, session)) = assumed.split_once('/') else {
        return false;
    };
    e_partition == a_partition
        && e_account == a_account
        && !role_name.is_empty()
        && role_name == a_role
        && !session.is_empty()
}

/// A new sign-on API key (256 bits from the OS CSPRNG) and the hash to configure for it.
pub fn mint_api_key() -> (String, String) {
    mint_key(KEY_PREFIX)
}

/// The prefix of minted operator (admin) API keys.
pub const ADMIN_KEY_PREFIX: &str = "adk_";

/// A new API key with `prefix` (which only tells a reader what the key is for) and its hash.
pub fn mint_key(prefix: &str) -> (String, String) {
    let key = format!("{prefix}{}", random_b64(SECRET_BYTES));
    let hash = sha256_hex(key.as_bytes());
    (key, hash)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    #[test]
    fn a_minted_key_carries_256_bits_and_its_hash_is_its_sha256() {
        let (key, hash) = mint_api_key();
        let secret = key.strip_prefix(KEY_PREFIX).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len() * 8, 256);
        assert_eq!(hash, sha256_hex(key.as_bytes()));
        assert_ne!(mint_api_key().0, key);
    }

    #[test]
    fn a_role_entry_admits_its_sessions_and_nothing_else() {
        let role = "arn:aws:iam::123456789012:role/service/idp-bridge";
        for (arn, expected) in [
            (
                "arn:aws:sts::123456789012:assumed-role/idp-bridge/job-7",
                true,
            ),
            ("arn:aws:iam::123456789012:role/service/idp-bridge", true),
            ("arn:aws:sts::123456789012:assumed-role/idp-bridge/", false),
            (
                "arn:aws:sts::123456789012:assumed-role/idp-bridge-2/job",
                false,
            ),
            (
                "arn:aws:sts::210987654321:assumed-role/idp-bridge/job",
                false,
            ),
            (
                "arn:aws-cn:sts::123456789012:assumed-role/idp-bridge/job",
                false,
            ),
            ("arn:aws:iam::123456789012:user/idp-bridge", false),
        ] {
            assert_eq!(principal_matches(role, arn), expected, "{arn}");
        }
        let user = "arn:aws:iam::123456789012:user/migrator";
        assert!(principal_matches(user, user));
        assert!(!principal_matches(
            user,
            "arn:aws:sts::123456789012:assumed-role/migrator/x"
        ));
    }
}
