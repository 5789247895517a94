//! The recovery bodies, parsed into domain types at the edge. Only the request and the
//! configuration are needed, so a refused body costs no DynamoDB request and no argon2 work;
//! every field's problem is reported at once.

use lambda_http::Request;
use serde::Deserialize;

use shared::config::RecoveryConfig;
use shared::email::Email;
use shared::error::{ApiError, FieldViolation, rule};
use shared::http;
use shared::password::Password;
use shared::recovery::RecoveryToken;

/// Longest `language` (a BCP 47 tag) and `redirect.clientId` accepted.
const LANGUAGE_MAX: usize = 35;
const CLIENT_ID_MAX: usize = 128;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendEmailBody {
    email: Option<String>,
    #[serde(default, deserialize_with = "http::object")]
    redirect: Option<RedirectBody>,
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedirectBody {
    url: Option<String>,
    client_id: Option<String>,
}

/// A send-email request, parsed: whom to mail and which page the link opens.
pub(super) struct SendEmail {
    pub(super) email: Email,
    pub(super) url: String,
}

pub(super) fn send_email(req: &Request, config: &RecoveryConfig) -> Result<SendEmail, ApiError> {
    let body: SendEmailBody = http::parse_json(req)?;
    let mut violations = vec![];
    let email = match http::required(&body.email, "email") {
        Ok(raw) => Email::parse(raw, "email")
            .map_err(|v| violations.push(v))
            .ok(),
        Err(v) => {
            violations.push(v);
            None
        }
    };
    let default_url = config.page_url.clone().unwrap_or_default();
    let url = match body.redirect {
        None => default_url,
        Some(r) => {
            if r.client_id
                .as_deref()
                .is_some_and(|c| c.len() > CLIENT_ID_MAX)
            {
                violations.push(FieldViolation::too_long(
                    "redirect.clientId",
                    CLIENT_ID_MAX,
                    format!("redirect.clientId has at most {CLIENT_ID_MAX} characters."),
                ));
            }
            match r.url {
                None => default_url,
                Some(u) if config.allows(&u) => u,
                Some(_) => {
                    violations.push(FieldViolation::new(
                        "redirect.url",
                        rule::REDIRECT_NOT_ALLOWED,
                        "redirect.url is not an allowed recovery page.",
                    ));
                    String::new()
                }
            }
        }
    };
    if body
        .language
        .as_deref()
        .is_some_and(|l| l.len() > LANGUAGE_MAX)
    {
        violations.push(FieldViolation::too_long(
            "language",
            LANGUAGE_MAX,
            format!("language has at most {LANGUAGE_MAX} characters."),
        ));
    }
    match email {
        Some(email) if violations.is_empty() => Ok(SendEmail { email, url }),
        _ => Err(ApiError::Validation(violations)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecoverBody {
    recovery_token: Option<String>,
    new_password: Option<String>,
}

/// A recover request, parsed. A token of the wrong shape is `None`: it is answered as an
/// unknown one (`INVALID_RECOVERY_TOKEN`), without any DynamoDB request.
pub(super) struct Recover {
    pub(super) token: Option<RecoveryToken>,
    pub(super) new_password: Password,
}

pub(super) fn recover(req: &Request, password_max_length: usize) -> Result<Recover, ApiError> {
    let body: RecoverBody = http::parse_json(req)?;
    let token = http::required(&body.recovery_token, "recoveryToken");
    let password = match body.new_password.as_deref() {
        None => Err(FieldViolation::required("newPassword")),
        Some(p) => Password::parse(p, "newPassword", password_max_length),
    };
    match (token, password) {
        (Ok(raw), Ok(new_password)) => Ok(Recover {
            token: RecoveryToken::parse(raw),
            new_password,
        }),
        (t, p) => Err(ApiError::Validation(
            [t.err(), p.err()].into_iter().flatten().collect(),
        )),
    }
}
