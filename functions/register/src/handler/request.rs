//! The register body, parsed into domain types at the edge: `loginId.email`, `password`, the
//! profile and the CAPTCHA tokens. It needs only the request, the password policy and today's
//! date, so a refused registration costs no DynamoDB request and no argon2 work; every
//! field's problem is reported at once.

use lambda_http::Request;
use serde::Deserialize;
use serde_json::Value;
use time::Date;

use shared::captcha::CaptchaToken;
use shared::email::{Email, LoginId};
use shared::error::{ApiError, FieldViolation, rule};
use shared::http;
use shared::member::ProfilePatch;
use shared::password::Password;
use shared::password::policy::{PasswordPolicy, PersonalInfo};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    #[serde(default, deserialize_with = "http::object")]
    login_id: Option<LoginId>,
    password: Option<String>,
    profile: Option<Value>,
    #[serde(default, deserialize_with = "http::objects")]
    captcha_tokens: Vec<CaptchaToken>,
}

/// A registration, parsed and within policy.
pub(super) struct Registration {
    pub(super) email: Email,
    pub(super) password: Password,
    pub(super) profile: ProfilePatch,
    pub(super) captcha_tokens: Vec<CaptchaToken>,
}

/// Parses a registration: the profile is checked as of `today` (a birthdate is not in the
/// future) and the password against `policy` and the member's own facts.
pub(super) fn parse(
    req: &Request,
    policy: PasswordPolicy,
    today: Date,
) -> Result<Registration, ApiError> {
    let body: RegisterBody = http::parse_json(req)?;
    let email = LoginId::email(body.login_id.as_ref());
    let profile = shared::member::profile::parse(body.profile.as_ref(), &[], today);
    let password = match body.password.as_deref() {
        None => Err(vec![FieldViolation::new(
            "password",
            rule::REQUIRED_FIELD_MISSING,
            "password is required.",
        )]),
        Some(raw) => {
            let names = profile.as_ref().ok();
            let personal = PersonalInfo {
                email_local_part: email.as_ref().map(Email::local_part).unwrap_or_default(),
                first_name: names.and_then(|p| p.first_name.as_deref()),
                last_name: names.and_then(|p| p.last_name.as_deref()),
            };
            policy.parse_new(raw, "password", &personal)
        }
    };
    match (email, password, profile) {
        (Ok(email), Ok(password), Ok(profile)) => Ok(Registration {
            email,
            password,
            profile,
            captcha_tokens: body.captcha_tokens,
        }),
        (email, password, profile) => {
            let mut violations: Vec<FieldViolation> = email.err().into_iter().collect();
            violations.extend(password.err().unwrap_or_default());
            violations.extend(profile.err().unwrap_or_default());
            Err(ApiError::Validation(violations))
        }
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::Request;
    use serde_json::json;
    use shared::http;
    use shared::password::policy::PasswordPolicy;
    use shared::testing::{Answer, answer, post_json};

    use super::parse;
    use crate::handler::tests::{
        IP, WEAK, body, every_problem, form_post, margaret, refused_requests,
    };

    /// The password lengths configured by default (DESIGN §3.6).
    const POLICY: PasswordPolicy = PasswordPolicy {
        min_length: 12,
        max_length: 128,
    };

    /// The answer a refused registration gets on the wire.
    fn refusal(req: &Request) -> Answer {
        let today = time::OffsetDateTime::now_utc().date();
        let Err(e) = parse(req, POLICY, today) else {
            panic!("the registration was accepted");
        };
        answer(http::respond(Err(e), "r"))
    }

    fn post(body: &serde_json::Value) -> Request {
        post_json("/v2/register", body, IP)
    }

    #[test]
    fn a_weak_password_gets_every_violation() {
        let a = refusal(&post(&margaret()));
        assert_eq!(a.status, 400);
        assert_eq!(
            a.violations(),
            [
                ("password".into(), "TOO_SHORT".into()),
                ("password".into(), "TOO_COMMON".into()),
                ("password".into(), "TOO_SIMILAR".into()),
            ]
        );
        let violations = &a.json["details"]["validationError"]["fieldViolations"];
        assert_eq!(violations[0]["data"], json!({"min": 12}));
        assert_eq!(
            violations[2]["data"],
            json!({"similarTo": ["email", "firstName"]})
        );

        // Each rule alone, through the wire.
        for (password, rule) in WEAK {
            let a = refusal(&post(&body("margaret.lee@example.com", password)));
            assert_eq!(
                a.violations(),
                [("password".to_owned(), rule.to_owned())],
                "{password}"
            );
        }
    }

    #[test]
    fn malformed_oversize_and_hostile_bodies_name_the_rule_and_not_serde() {
        for (req, rule) in refused_requests() {
            let a = refusal(&req);
            assert_eq!((a.status, a.code()), (400, rule), "{}", a.text);
            assert!(
                !a.text.contains("line 1"),
                "serde's message leaks: {}",
                a.text
            );
        }
        // Every field's problem at once.
        let got = refusal(&post(&every_problem())).violations();
        for expected in [
            ("loginId.email", "INVALID_FORMAT"),
            ("password", "TOO_SHORT"),
            ("profile.picture", "INVALID_FORMAT"),
        ] {
            assert!(
                got.iter().any(|(f, r)| f == expected.0 && r == expected.1),
                "{expected:?} not in {got:?}"
            );
        }
        assert!(got.iter().any(|(f, _)| f == "profile.birthdate"), "{got:?}");
        // A form post, which a cross-site page can send without a preflight.
        assert_eq!(refusal(&form_post()).status, 415);
    }
}
