//! The login body, parsed into domain types at the edge: `loginId.email`, `password` and the
//! CAPTCHA tokens. It needs only the request and the configured longest password, so refused
//! input is answered before any DynamoDB request or argon2 work; every field's problem is
//! reported at once.

use lambda_http::Request;
use serde::Deserialize;

use shared::captcha::CaptchaToken;
use shared::email::{Email, LoginId};
use shared::error::{ApiError, FieldViolation, rule};
use shared::http;
use shared::password::Password;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginBody {
    #[serde(default, deserialize_with = "http::object")]
    login_id: Option<LoginId>,
    password: Option<String>,
    #[serde(default, deserialize_with = "http::objects")]
    captcha_tokens: Vec<CaptchaToken>,
}

/// A login request, parsed.
pub(super) struct Credentials {
    pub(super) email: Email,
    pub(super) password: Password,
    pub(super) captcha_tokens: Vec<CaptchaToken>,
}

/// Parses a login body; a password longer than `password_max_length` is refused unhashed.
pub(super) fn parse(req: &Request, password_max_length: usize) -> Result<Credentials, ApiError> {
    let body: LoginBody = http::parse_json(req)?;
    let email = LoginId::email(body.login_id.as_ref());
    let password = match body.password.as_deref() {
        None => Err(FieldViolation::new(
            "password",
            rule::REQUIRED_FIELD_MISSING,
            "password is required.",
        )),
        Some(p) => Password::parse(p, "password", password_max_length),
    };
    match (email, password) {
        (Ok(email), Ok(password)) => Ok(Credentials {
            email,
            password,
            captcha_tokens: body.captcha_tokens,
        }),
        (e, p) => Err(ApiError::Validation(
            [e.err(), p.err()].into_iter().flatten().collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::Request;
    use serde_json::json;
    use shared::http;
    use shared::testing::{Answer, answer, post_json};

    use super::parse;
    use crate::handler::tests::{IP, form_post, json_post, refused_bodies};

    /// `PASSWORD_MAX_LENGTH` as configured by default (DESIGN §3.6).
    const PASSWORD_MAX_LENGTH: usize = 128;

    /// The answer a refused body gets on the wire.
    fn refusal(req: &Request) -> Answer {
        let Err(e) = parse(req, PASSWORD_MAX_LENGTH) else {
            panic!("the body was accepted");
        };
        answer(http::respond(Err(e), "r"))
    }

    #[test]
    fn bad_input_gets_a_validation_error_naming_the_field_and_rule() {
        for (text, field, rule) in refused_bodies() {
            let a = refusal(&json_post(&text));
            assert_eq!(a.status, 400, "{text:.80}: {}", a.text);
            let first = a.violations().into_iter().next().unwrap_or_default();
            assert_eq!(
                (first.0.as_str(), first.1.as_str()),
                (field, rule),
                "{text:.80}"
            );
        }
        // Both missing fields are reported at once.
        let a = refusal(&post_json("/v2/login", &json!({"loginId": {}}), IP));
        assert_eq!(a.violations().len(), 2);
        // A form post (what a cross-site page can send without preflight) is refused.
        assert_eq!(refusal(&form_post()).status, 415);
    }
}
