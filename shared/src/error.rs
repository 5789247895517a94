//! The one error type every handler answers with, and its wire form (Wix's error shape,
//! DESIGN §3). A client error is an `Ok(response)` for the runtime; only the runtime itself
//! fails an invocation.

use serde::Serialize;
use serde_json::{Value, json};

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

    pub fn account_locked(retry_after: i64) -> Self {
        Self::Application {
            status: 429,
            code: "ACCOUNT_LOCKED",
            message: "Too many failed attempts; try again later.",
            data: json!({ "retryAfterSeconds": retry_after }),
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
