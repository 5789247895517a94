//! The one error type every handler answers with, its wire form (Wix's error shape,
//! DESIGN §3), and the one vocabulary of the service: every applicationError code has a named
//! constructor on `ApiError`, every violated rule a constant in `rule`. A handler never spells
//! either as a string literal, so a UI can rely on the list below being the whole list.
//! A client error is an `Ok(response)` for the runtime; only the runtime itself fails an
//! invocation.

use serde::Serialize;
use serde_json::{Value, json};

/// The violated rules of a validationError's fieldViolations (`violatedRule`).
pub mod rule {
    /// A required field is absent, null or blank.
    pub const REQUIRED_FIELD_MISSING: &str = "REQUIRED_FIELD_MISSING";
    /// Not the type or shape the field takes (a number for a string, a bad date, …).
    pub const INVALID_FORMAT: &str = "INVALID_FORMAT";
    /// The body is not JSON at all.
    pub const MALFORMED_JSON: &str = "MALFORMED_JSON";
    /// Shorter than its minimum (`data.min`).
    pub const TOO_SHORT: &str = "TOO_SHORT";
    /// Longer than its maximum (`data.max`).
    pub const TOO_LONG: &str = "TOO_LONG";
    /// A list with more items than allowed (`data.max`).
    pub const TOO_MANY: &str = "TOO_MANY";
    /// A value outside its range (a birthdate in the future).
    pub const OUT_OF_RANGE: &str = "OUT_OF_RANGE";
    /// Two list items share a name that must be unique.
    pub const DUPLICATE_NAME: &str = "DUPLICATE_NAME";
    /// The password is in the common-passwords list or guessable (zxcvbn).
    pub const TOO_COMMON: &str = "TOO_COMMON";
    /// The password resembles the member's email or names.
    pub const TOO_SIMILAR: &str = "TOO_SIMILAR";
    /// The email's domain may not sign on (`SIGN_ON_ALLOWED_EMAIL_DOMAINS`).
    pub const DOMAIN_NOT_ALLOWED: &str = "DOMAIN_NOT_ALLOWED";
    /// A redirect target that is not an exact allowlist entry.
    pub const REDIRECT_NOT_ALLOWED: &str = "REDIRECT_NOT_ALLOWED";
    /// One parameter given twice with different values.
    pub const AMBIGUOUS: &str = "AMBIGUOUS";
}

/// One violated rule of one field, as a UI would list it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
    pub violated_rule: &'static str,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

impl FieldViolation {
    pub fn new(field: &str, rule: &'static str, description: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            description: description.into(),
            violated_rule: rule,
            data: Value::Null,
        }
    }

    /// `field` is absent, null or blank: "<field> is required."
    pub fn required(field: &str) -> Self {
        Self::new(
            field,
            rule::REQUIRED_FIELD_MISSING,
            format!("{field} is required."),
        )
    }

    /// Longer than `max`, which `data.max` gives a UI.
    pub fn too_long(field: &str, max: usize, description: impl Into<String>) -> Self {
        Self::new(field, rule::TOO_LONG, description).with_data(json!({ "max": max }))
    }

    /// Shorter than `min`, which `data.min` gives a UI.
    pub fn too_short(field: &str, min: usize, description: impl Into<String>) -> Self {
        Self::new(field, rule::TOO_SHORT, description).with_data(json!({ "min": min }))
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }
}

#[derive(Debug, PartialEq)]
pub enum ApiError {
    /// 400 with a validationError listing every violation.
    Validation(Vec<FieldViolation>),
    /// An applicationError with its code; `retry_after` also sets the `Retry-After` header.
    Application {
        status: u16,
        code: &'static str,
        message: &'static str,
        data: Value,
        retry_after: Option<i64>,
    },
    /// A dependency (DynamoDB, the CAPTCHA verifier) failed: 503, try again shortly.
    Unavailable,
    /// A bug: 500 whose body carries only the request id.
    Internal,
}

impl ApiError {
    pub fn violation(v: FieldViolation) -> Self {
        Self::Validation(vec![v])
    }

    fn app(status: u16, code: &'static str, message: &'static str) -> Self {
        Self::Application {
            status,
            code,
            message,
            data: json!({}),
            retry_after: None,
        }
    }

    fn app_with_data(status: u16, code: &'static str, message: &'static str, data: Value) -> Self {
        Self::Application {
            status,
            code,
            message,
            data,
            retry_after: None,
        }
    }

    pub fn invalid_credentials() -> Self {
        Self::app(
            401,
            "INVALID_CREDENTIALS",
            "The email or password is incorrect.",
        )
    }

    pub fn captcha_required() -> Self {
        Self::app(
            401,
            "CAPTCHA_TOKEN_REQUIRED",
            "A CAPTCHA token is required.",
        )
    }

    pub fn invalid_captcha() -> Self {
        Self::app(
            401,
            "INVALID_CAPTCHA_TOKEN",
            "The CAPTCHA token was rejected.",
        )
    }

    pub fn unauthenticated() -> Self {
        Self::app(401, "UNAUTHENTICATED", "Authentication is required.")
    }

    pub fn permission_denied() -> Self {
        Self::app(
            403,
            "PERMISSION_DENIED",
            "The caller is not allowed to do this.",
        )
    }

    pub fn member_blocked() -> Self {
        Self::app(403, "MEMBER_BLOCKED", "This member is blocked.")
    }

    pub fn duplicate_email() -> Self {
        Self::app(
            409,
            "DUPLICATE_EMAIL",
            "A member with this email already exists.",
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::app(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "The request body must be sent as application/json.",
        )
    }

    /// 415 for a logout POST whose only credential is the cookie (DESIGN §3.7, §7.5).
    pub fn cookie_post_needs_json() -> Self {
        Self::app(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "A logout POST authenticated by the session cookie must be sent with \
             Content-Type: application/json; a plain link can use GET.",
        )
    }

    /// 403 for a member that awaits the owner's approval or email verification; `state` says
    /// which (`REQUIRE_OWNER_APPROVAL` or `REQUIRE_EMAIL_VERIFICATION`).
    pub fn member_pending(state: &str) -> Self {
        Self::app_with_data(
            403,
            "MEMBER_PENDING",
            "This member awaits approval or email verification.",
            json!({ "state": state }),
        )
    }

    /// 409: the password changed between this request's read and its write.
    pub fn concurrent_modification() -> Self {
        Self::app(
            409,
            "CONCURRENT_MODIFICATION",
            "The password was changed by another request; try again.",
        )
    }

    /// 404 for a member id or email no member has (the operators' lookups, DESIGN §3.12).
    pub fn member_not_found() -> Self {
        Self::app(404, "MEMBER_NOT_FOUND", "No member has this id or email.")
    }

    /// 404 for a path no route of the function serves.
    pub fn not_found() -> Self {
        Self::app(404, "NOT_FOUND", "No such path.")
    }

    /// 405; `allow` lists the methods the path takes (also sent as the `Allow` header).
    pub fn method_not_allowed(allow: &str) -> Self {
        Self::app_with_data(
            405,
            "METHOD_NOT_ALLOWED",
            "This method is not allowed on this path.",
            json!({ "allow": allow }),
        )
    }

    /// 400 for a recovery token that is unknown, used, voided by a newer one, or expired
    /// (DESIGN §3.9): one answer for all, so a token tells nothing about its email.
    pub fn invalid_recovery_token() -> Self {
        Self::app(
            400,
            "INVALID_RECOVERY_TOKEN",
            "The recovery link is invalid or has expired; ask for a new one.",
        )
    }

    /// 400 for a wrong verification code (DESIGN §3.10).
    pub fn invalid_verification_code() -> Self {
        Self::app(
            400,
            "INVALID_VERIFICATION_CODE",
            "The verification code is incorrect.",
        )
    }

    /// 400 for a stateToken that is unknown, expired or out of attempts (DESIGN §3.10).
    pub fn invalid_state_token() -> Self {
        Self::app(
            400,
            "INVALID_STATE_TOKEN",
            "The verification has expired or failed too often; log in again for a new code.",
        )
    }

    pub fn account_locked(retry_after: i64) -> Self {
        Self::Application {
            status: 429,
            code: "ACCOUNT_LOCKED",
            message: "Too many failed attempts; try again later.",
            // The way back in that needs no password (DESIGN §4): recovery by email.
            data: json!({ "retryAfterSeconds": retry_after, "recovery": "PASSWORD_RESET" }),
            retry_after: Some(retry_after),
        }
    }

    pub fn throttled(retry_after: i64) -> Self {
        Self::Application {
            status: 429,
            code: "THROTTLED",
            message: "Too many requests; try again later.",
            data: json!({ "retryAfterSeconds": retry_after }),
            retry_after: Some(retry_after),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Validation(_) => 400,
            Self::Application { status, .. } => *status,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    /// The seconds a client should wait before retrying, when there is such a thing.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            Self::Application { retry_after, .. } => *retry_after,
            Self::Unavailable => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        }
    }

    /// The wire body. `request_id` appears only in 5xx bodies, which carry nothing else.
    pub fn body(&self, request_id: &str) -> Value {
        match self {
            Self::Validation(violations) => json!({
                "message": violations.first().map(|v| v.description.as_str()).unwrap_or("Invalid request."),
                "details": {"validationError": {"fieldViolations": violations}},
            }),
            Self::Application {
                code,
                message,
                data,
                ..
            } => json!({
                "message": message,
                "details": {"applicationError": {"code": code, "description": message, "data": data}},
            }),
            Self::Unavailable => json!({
                "message": "The service is temporarily unavailable; try again shortly.",
                "details": {"applicationError": {
                    "code": "SERVICE_UNAVAILABLE",
                    "description": "A dependency did not answer.",
                    "data": {"requestId": request_id, "retryAfterSeconds": UNAVAILABLE_RETRY_AFTER},
                }},
            }),
            Self::Internal => json!({
                "message": "Internal error.",
                "details": {"applicationError": {
                    "code": "INTERNAL",
                    "description": "Internal error.",
                    "data": {"requestId": request_id},
                }},
            }),
        }
    }
}

/// What a 503 asks a client to wait, in seconds.
pub const UNAVAILABLE_RETRY_AFTER: i64 = 2;

/// A DynamoDB or other dependency failure; the context says which call, never a secret.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct StoreError {
    pub context: &'static str,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    pub fn new(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            context,
            source: source.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(event = "dependency_failure", error = %e);
        ApiError::Unavailable
    }
}

/// argon2 could not hash (a bug or an exhausted blocking pool, never the caller's fault): 500.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

impl From<HashError> for ApiError {
    fn from(_: HashError) -> Self {
        tracing::error!(event = "password_hashing_failed");
        ApiError::Internal
    }
}

/// The CAPTCHA provider could not be asked: the request fails closed with 503.
#[derive(Debug, thiserror::Error)]
#[error("the CAPTCHA verifier did not answer")]
pub struct CaptchaUnavailable;

impl From<CaptchaUnavailable> for ApiError {
    fn from(_: CaptchaUnavailable) -> Self {
        ApiError::Unavailable
    }
}
